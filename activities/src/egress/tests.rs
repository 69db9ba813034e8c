use super::*;
use AddressClass::{Forbidden, Private, Public};

/// The settings of `orderflow dev` and the tests.
const DEV: EgressPolicy = EgressPolicy {
    allow_http: true,
    allow_private_networks: true,
};

/// Every range the policy names, with addresses at and around its edges.
const TABLE: &[(&str, AddressClass)] = &[
    // Public IPv4.
    ("1.1.1.1", Public),
    ("8.8.8.8", Public),
    ("93.184.216.34", Public),
    ("9.255.255.255", Public),
    ("11.0.0.0", Public),
    ("100.63.255.255", Public),
    ("100.128.0.0", Public),
    ("126.255.255.255", Public),
    ("128.0.0.0", Public),
    ("169.253.255.255", Public),
    ("169.255.0.0", Public),
    ("172.15.255.255", Public),
    ("172.32.0.0", Public),
    ("192.167.255.255", Public),
    ("192.169.0.0", Public),
    ("198.17.255.255", Public),
    ("198.20.0.0", Public),
    ("223.255.255.255", Public),
    // Loopback, RFC 1918, CGNAT.
    ("127.0.0.1", Private),
    ("127.255.255.254", Private),
    ("10.0.0.1", Private),
    ("10.255.255.255", Private),
    ("172.16.0.1", Private),
    ("172.31.255.255", Private),
    ("192.168.0.1", Private),
    ("192.168.255.255", Private),
    ("100.64.0.1", Private),
    ("100.127.255.255", Private),
    // Unspecified / this network, link-local (metadata), multicast, reserved, broadcast,
    // documentation, benchmarking, protocol assignments.
    ("0.0.0.0", Forbidden),
    ("0.1.2.3", Forbidden),
    ("169.254.169.254", Forbidden),
    ("169.254.0.1", Forbidden),
    ("224.0.0.1", Forbidden),
    ("239.255.255.255", Forbidden),
    ("240.0.0.1", Forbidden),
    ("255.255.255.255", Forbidden),
    ("192.0.2.1", Forbidden),
    ("198.51.100.7", Forbidden),
    ("203.0.113.9", Forbidden),
    ("198.18.0.1", Forbidden),
    ("198.19.255.255", Forbidden),
    ("192.0.0.8", Forbidden),
    ("192.88.99.1", Forbidden),
    // Public IPv6.
    ("2606:4700:4700::1111", Public),
    ("2a00:1450:4001:82b::200e", Public),
    ("3fff:ffff::1", Public),
    // Loopback and unique-local.
    ("::1", Private),
    ("fc00::1", Private),
    ("fd12:3456:789a::1", Private),
    // AWS's IPv6 metadata address is unique-local, but refused anyway.
    ("fd00:ec2::254", Forbidden),
    ("fd00:ec2::253", Private),
    // Unspecified, link-local, site-local, multicast, documentation, discard, Teredo,
    // outside global unicast.
    ("::", Forbidden),
    ("fe80::1", Forbidden),
    ("febf:ffff::1", Forbidden),
    ("fec0::1", Forbidden),
    ("ff02::1", Forbidden),
    ("ff0e::1", Forbidden),
    ("2001:db8::1", Forbidden),
    ("100::1", Forbidden),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Forbidden),
    ("4000::1", Forbidden),
    // IPv4-mapped forms take the class of their IPv4 address.
    ("::ffff:127.0.0.1", Private),
    ("::ffff:10.1.2.3", Private),
    ("::ffff:169.254.169.254", Forbidden),
    ("::ffff:0.0.0.0", Forbidden),
    ("::ffff:255.255.255.255", Forbidden),
    ("::ffff:8.8.8.8", Public),
    // IPv4-compatible (deprecated) forms.
    ("::127.0.0.1", Private),
    ("::169.254.169.254", Forbidden),
    ("::8.8.8.8", Public),
    ("::0.0.0.2", Forbidden),
    // NAT64.
    ("64:ff9b::127.0.0.1", Private),
    ("64:ff9b::169.254.169.254", Forbidden),
    ("64:ff9b::8.8.8.8", Public),
    ("64:ff9b:1::8.8.8.8", Private),
    ("64:ff9b:1::169.254.169.254", Forbidden),
    // 6to4.
    ("2002:7f00:1::1", Private),
    ("2002:a9fe:a9fe::1", Forbidden),
    ("2002:0808:0808::1", Public),
];

#[test]
fn every_address_has_its_class() {
    for (text, expected) in TABLE {
        let ip: IpAddr = text.parse().unwrap();
        assert_eq!(classify(ip), *expected, "{text}");
    }
}

#[test]
fn private_networks_pass_only_when_allowed_and_forbidden_ones_never() {
    let strict = EgressPolicy::default();
    let dev = DEV;
    for (text, class) in TABLE {
        let ip: IpAddr = text.parse().unwrap();
        let (strict_ok, dev_ok) = match class {
            Public => (true, true),
            Private => (false, true),
            Forbidden => (false, false),
        };
        assert_eq!(strict.allows(ip), strict_ok, "strict: {text}");
        assert_eq!(dev.allows(ip), dev_ok, "dev: {text}");
    }
}

#[test]
fn literal_hosts_and_schemes_are_checked_without_dns() {
    let strict = EgressPolicy::default();
    let dev = DEV;
    let refused = |policy: &EgressPolicy, url: &str| policy.check_literal(url).unwrap_err();
    assert_eq!(
        refused(&strict, "http://example.com/h"),
        Refusal::HttpNotAllowed
    );
    assert_eq!(refused(&strict, "ftp://example.com/h"), Refusal::NotAUrl);
    assert_eq!(refused(&strict, "not a url"), Refusal::NotAUrl);
    let all_refused = |policy: &EgressPolicy, urls: &[&str]| {
        for url in urls {
            let refusal = refused(policy, url);
            assert!(
                matches!(refusal, Refusal::Address { .. }),
                "{url}: {refusal}"
            );
        }
    };
    all_refused(
        &strict,
        &[
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:169.254.169.254]/",
            "https://[fd00:ec2::254]/",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            // The URL parser reads these as 127.0.0.1.
            "https://0x7f.1/",
            "https://2130706433/",
        ],
    );
    all_refused(
        &dev,
        &[
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:169.254.169.254]/",
            "http://[fd00:ec2::254]/",
            "http://0.0.0.0/",
            "http://224.0.0.1/",
        ],
    );
    assert_eq!(dev.check_literal("http://127.0.0.1:9/h"), Ok(None));
    assert_eq!(strict.check_literal("https://8.8.8.8/h"), Ok(None));
    assert_eq!(
        strict.check_literal("https://hooks.example.com/h"),
        Ok(Some(("hooks.example.com".to_string(), 443)))
    );
}

#[tokio::test]
async fn names_are_checked_by_the_addresses_they_resolve_to() {
    let strict = EgressPolicy::default();
    let dev = DEV;
    assert!(matches!(
        strict.check("https://localhost:9/h").await,
        Err(Refusal::Address { .. })
    ));
    assert_eq!(dev.check("http://localhost:9/h").await, Ok(()));
    assert!(matches!(
        strict.check("https://no-such-host.invalid/h").await,
        Err(Refusal::DoesNotResolve { .. })
    ));
}

#[tokio::test]
async fn the_guarded_client_connects_to_no_refused_address() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = guarded_client(EgressPolicy::default()).build().unwrap();
    let error = client
        .get(format!("http://localhost:{port}/"))
        .send()
        .await
        .unwrap_err();
    assert!(caused_by::<AddressRefused>(&error), "{error:?}");
}
