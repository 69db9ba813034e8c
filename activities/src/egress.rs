//! Where orderflow may send a tenant's webhooks (issue 14, SSRF).
//!
//! A webhook URL is chosen by a tenant, so without a policy the dispatcher is a proxy into
//! the network it runs in: the cloud metadata service, the database, the simulator's admin
//! routes. [`EgressPolicy`] decides on the *addresses* a destination resolves to, not on its
//! name, and is applied twice: when the webhook is registered ([`EgressPolicy::check`], so a
//! tenant learns at once) and at every send, through [`GuardedResolver`], the DNS resolver of
//! the dispatcher's HTTP client. The resolver drops every refused address from what the
//! system resolver answers, so a name that resolved to a public address at registration and
//! to 127.0.0.1 later (DNS rebinding) connects nowhere. reqwest does not call a resolver
//! for an IP literal, so [`EgressPolicy::check_literal`] checks those before each send.
//!
//! The address table ([`classify`]) is pure and tested exhaustively below.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// How long a registration waits for the destination's name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// What an address is, as far as egress is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// Routable on the internet: always allowed.
    Public,
    /// Loopback, RFC 1918, CGNAT, unique-local: allowed only with
    /// `webhook_allow_private_networks` (the dev stack and the tests).
    Private,
    /// Link-local (and so the metadata services), unspecified, multicast, broadcast,
    /// documentation and reserved ranges: refused whatever the settings say.
    Forbidden,
}

/// The metadata service of AWS on IPv6 (Nitro). It is in fc00::/7 (unique-local), so the
/// private-networks setting would otherwise let it through.
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

/// Classifies an IPv4 address.
pub fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    let forbidden = a == 0 // "this network", 0.0.0.0 included
        || (a == 169 && b == 254) // link-local, 169.254.169.254 metadata
        || a >= 224 // multicast 224/4, reserved 240/4, broadcast 255.255.255.255
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18/15
        || (a == 192 && b == 88 && c == 99); // 6to4 relay anycast (deprecated)
    let private = a == 127 // loopback
        || a == 10
        || (a == 172 && (b & 0xf0) == 16)
        || (a == 192 && b == 168)
        || (a == 100 && (b & 0xc0) == 64); // CGNAT 100.64/10
    if forbidden {
        AddressClass::Forbidden
    } else if private {
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

/// Classifies an IPv6 address; forms that embed an IPv4 address (mapped, compatible, NAT64,
/// 6to4) are classified by that address, so `::ffff:127.0.0.1` is what `127.0.0.1` is.
pub fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| classify_v4(Ipv4Addr::from(((hi as u32) << 16) | lo as u32));
    if ip.is_unspecified() {
        return AddressClass::Forbidden;
    }
    if ip.is_loopback() {
        return AddressClass::Private;
    }
    if ip == AWS_METADATA_V6 {
        return AddressClass::Forbidden;
    }
    match s {
        // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d (deprecated).
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => embedded(hi, lo),
        // NAT64, well-known prefix 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => embedded(hi, lo),
        // NAT64, local-use 64:ff9b:1::/48: at least private.
        [0x64, 0xff9b, 1, _, _, _, hi, lo] => match embedded(hi, lo) {
            AddressClass::Public => AddressClass::Private,
            other => other,
        },
        // 6to4 2002:a.b.c.d::/48.
        [0x2002, hi, lo, ..] => embedded(hi, lo),
        // Teredo 2001::/32 hides its IPv4 addresses: refused.
        [0x2001, 0, ..] => AddressClass::Forbidden,
        // Documentation 2001:db8::/32.
        [0x2001, 0x0db8, ..] => AddressClass::Forbidden,
        // Unique-local fc00::/7.
        [x, ..] if (x & 0xfe00) == 0xfc00 => AddressClass::Private,
        // Global unicast 2000::/3; everything else (link-local fe80::/10, site-local,
        // multicast ff00::/8, discard 100::/64, reserved) is refused.
        [x, ..] if (x & 0xe000) == 0x2000 => AddressClass::Public,
        _ => AddressClass::Forbidden,
    }
}

/// Classifies an address.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Why a destination is refused. The `Display` text is for the tenant: it says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the URL must be an absolute https:// URL with a host")]
    NotAUrl,
    #[error("the URL must use https://; plain http:// receivers are not allowed here")]
    HttpNotAllowed,
    #[error(
        "{host} is {ip}, an address webhooks may not be sent to (loopback, private, link-local, \
         metadata, multicast or reserved); use a publicly reachable receiver"
    )]
    Address { host: String, ip: IpAddr },
    #[error("{host} does not resolve to any address; use a host name that resolves publicly")]
    DoesNotResolve { host: String },
}

/// The egress rules of one process, from its settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    /// `webhook_allow_http`.
    pub allow_http: bool,
    /// `webhook_allow_private_networks`.
    pub allow_private_networks: bool,
}

impl EgressPolicy {
    pub fn from_settings(settings: &orderflow_config::Settings) -> EgressPolicy {
        EgressPolicy {
            allow_http: settings.webhook_allow_http,
            allow_private_networks: settings.webhook_allow_private_networks,
        }
    }

    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        match classify(ip) {
            AddressClass::Public => true,
            AddressClass::Private => self.allow_private_networks,
            AddressClass::Forbidden => false,
        }
    }

    /// The scheme and, for an IP literal host, the address: what can be decided without DNS.
    /// Returns the host name to resolve, `None` for a literal (already checked).
    pub fn check_literal(&self, url: &str) -> Result<Option<(String, u16)>, Refusal> {
        let url = url::Url::parse(url).map_err(|_| Refusal::NotAUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(Refusal::HttpNotAllowed),
            _ => return Err(Refusal::NotAUrl),
        }
        let port = url.port_or_known_default().ok_or(Refusal::NotAUrl)?;
        let refuse = |ip: IpAddr| Refusal::Address {
            host: url.host_str().unwrap_or_default().to_string(),
            ip,
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) if !self.allows(ip.into()) => Err(refuse(ip.into())),
            Some(url::Host::Ipv6(ip)) if !self.allows(ip.into()) => Err(refuse(ip.into())),
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => Ok(None),
            Some(url::Host::Domain(name)) => Ok(Some((name.to_string(), port))),
            None => Err(Refusal::NotAUrl),
        }
    }

    /// The registration check: the scheme, then every address the host resolves to. Stricter
    /// than a send, which only drops the refused addresses: a host with any refused address is
    /// refused, so that a tenant is not surprised later.
    pub async fn check(&self, url: &str) -> Result<(), Refusal> {
        let Some((host, port)) = self.check_literal(url)? else {
            return Ok(());
        };
        let dns_failed = || Refusal::DoesNotResolve { host: host.clone() };
        let resolved = tokio::time::timeout(
            RESOLVE_TIMEOUT,
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .map_err(|_| dns_failed())?
        .map_err(|e| {
            tracing::info!(%host, error = %e, "webhook host does not resolve");
            dns_failed()
        })?;
        let mut any = false;
        for address in resolved {
            any = true;
            if !self.allows(address.ip()) {
                return Err(Refusal::Address {
                    host: host.clone(),
                    ip: address.ip(),
                });
            }
        }
        if any { Ok(()) } else { Err(dns_failed()) }
    }
}

/// A resolver error: the name resolved, but to no allowed address.
#[derive(Debug, thiserror::Error)]
#[error("every address of the host is refused by the egress policy")]
pub struct AddressRefused;

/// A resolver error: the name did not resolve.
#[derive(Debug, thiserror::Error)]
#[error("the host does not resolve")]
pub struct DnsFailed;

/// The system resolver with [`EgressPolicy::allows`] applied to its answers: the only way
/// the dispatcher's client turns a name into addresses.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    pub policy: EgressPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| {
                    tracing::info!(%host, error = %e, "webhook host does not resolve");
                    Box::new(DnsFailed) as Box<dyn std::error::Error + Send + Sync>
                })?;
            let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                resolved.partition(|a| policy.allows(a.ip()));
            if !refused.is_empty() {
                tracing::warn!(%host, ?refused, "refused webhook addresses dropped");
            }
            if allowed.is_empty() {
                return Err(Box::new(AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client builder whose every name resolution goes through [`GuardedResolver`].
/// It ignores `HTTP_PROXY`/`HTTPS_PROXY`: through a proxy, the proxy would resolve the name
/// and connect, out of the policy's reach.
pub fn guarded_client(policy: EgressPolicy) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
}

/// Whether `error` (or what caused it) is of type `E`.
pub fn caused_by<E: std::error::Error + 'static>(
    error: &(dyn std::error::Error + 'static),
) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<E>() {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests;
