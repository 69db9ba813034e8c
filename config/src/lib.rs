//! Configuration in one typed place, shared by the worker, the API, the CLI and `orderflow dev`,
//! so that every process reads the same settings the same way.
//!
//! Sources, later wins: the built-in defaults (which hold no credential at all), the JSON file
//! named by `ORDERFLOW_CONFIG`, then `ORDERFLOW_DATABASE_URL`. `orderflow serve` and
//! `orderflow-worker` need the file ([`Settings::load`]) and refuse the public dev
//! credentials; only `orderflow dev` starts from [`Settings::dev`] ([`Settings::load_dev`]).
//! The Temporal endpoint comes from Temporal's own environment configuration
//! ([`temporal_options`]).

use anyhow::Context;
use orderflow_domain::WorkflowSettings;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The task queue order workflows and their activities run on unless `task_queue` says
/// otherwise.
pub const TASK_QUEUE: &str = "orderflow-orders";

mod dev;
mod overrides;
mod secret;
mod temporal;
pub use dev::{DEV_SIM_SECRET, DEV_WEBHOOK_KEY};
pub use overrides::Override;
pub use secret::Secret;
pub use temporal::{temporal_client, temporal_options};

/// A supplier orderflow can place orders with.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SupplierSettings {
    pub id: String,
    pub base_url: String,
    /// Shared secret the supplier signs its callbacks with.
    pub secret: Secret,
    /// The supplier decides several PATCH amendments of an order at once (seed 000's
    /// gateway); false: one at a time, a second is refused 409 `REQUEST_IN_PROGRESS` (seed
    /// 001). Orders keep the value they were placed under.
    #[serde(default)]
    pub concurrent_amendments: bool,
    /// The supplier as a Peppol party, which the Peppol dialect's UBL documents name as the
    /// seller. None: orders with it have no Peppol documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peppol: Option<PeppolParty>,
}

/// A party of Peppol's UBL documents.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeppolParty {
    /// `scheme:value`, e.g. `0088:7300010000001` (the scheme is an ISO 6523 ICD code).
    pub participant_id: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `NL`.
    pub country: String,
}

impl PeppolParty {
    /// The simulator of `orderflow dev` and the tests.
    pub fn dev_sim() -> PeppolParty {
        PeppolParty {
            participant_id: "9915:sim".into(),
            country: "NL".into(),
        }
    }
}

/// A tenant's API key, stored as the hex SHA-256 of the key, never the key itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TenantKey {
    pub tenant_id: String,
    pub key_sha256: String,
    /// Suppliers that may raise an unsolicited cease (a cease the tenant did not order) of
    /// this tenant's services. None unless listed.
    #[serde(default)]
    pub unsolicited_cease_from: Vec<String>,
    /// The tenant's Peppol participant id (`scheme:value`, e.g. `9915:acme`): the `partyId`
    /// of the Peppol dialect's paths. None: the tenant has no Peppol interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peppol_participant_id: Option<String>,
    /// The supplier of an order that names none (TMF622's `relatedParty` may leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_supplier: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `sqlite://path` (created if missing) or `postgres://…`.
    pub database_url: String,
    /// `host:port` (or a URL) of Temporal's frontend; overrides `TEMPORAL_ADDRESS`.
    pub temporal_address: Option<String>,
    /// Temporal namespace; overrides `TEMPORAL_NAMESPACE` (default `default`).
    pub temporal_namespace: Option<String>,
    /// Whether Temporal's environment configuration applies (`TEMPORAL_*` variables and the
    /// `temporal.toml` profile: address, namespace, API key, TLS, gRPC headers). `orderflow
    /// dev` and the tests turn it off: they talk to their own local dev server, whatever the
    /// shell points at.
    pub temporal_env_config: bool,
    pub task_queue: String,
    pub suppliers: Vec<SupplierSettings>,
    pub tenants: Vec<TenantKey>,
    /// Hex SHA-256 of the operator token.
    pub operator_token_sha256: String,
    /// Retry policy for supplier calls, given to each new order workflow.
    pub workflow: WorkflowSettings,
    /// Worker tuning: workflows kept in the worker's cache (sticky execution), and the fixed
    /// slot counts for workflow tasks and for activities (supplier calls and, separately,
    /// the `store.record` local activities).
    pub max_cached_workflows: usize,
    pub max_concurrent_workflow_tasks: usize,
    pub max_concurrent_activities: usize,
    /// Hex of the 32-byte key webhook secrets are encrypted under (ChaCha20-Poly1305, see
    /// `orderflow_store::secrets`). Empty: webhooks are disabled.
    pub webhook_key: Secret,
    /// How often a worker looks for orders whose workflow was ended outside orderflow (from
    /// the Web UI, say) and records them as TERMINATED.
    pub reconcile_interval_secs: u64,
    /// How long a webhook delivery is retried after its first attempt before it is `FAILED`.
    pub webhook_retry_hours: f64,
    /// What one API instance takes before it refuses: per-tenant request rate, requests at
    /// once, and how long one request may take.
    pub api: ApiLimits,
    // Webhook egress (docs/security.md). Both `allow` switches are on only
    // in `orderflow dev` and the test and bench stacks, whose receivers are plain http on
    // 127.0.0.1.
    /// Whether webhook URLs may be plain `http://` (otherwise `https://` is required).
    pub webhook_allow_http: bool,
    /// Whether webhooks may go to loopback, RFC 1918, CGNAT (100.64/10) and unique-local
    /// (fc00::/7) addresses. Link-local (the metadata services), unspecified, multicast and
    /// reserved addresses are refused whatever this says.
    pub webhook_allow_private_networks: bool,
    /// Webhooks one tenant may have; `POST /v1/webhooks` over it is 409 `LIMIT_REACHED`.
    pub max_webhooks_per_tenant: usize,
    /// Deliveries one dispatcher (worker) sends at once, over all tenants.
    pub webhook_max_in_flight: usize,
    /// Deliveries one dispatcher sends at once for one tenant, so that a tenant whose
    /// receivers hang cannot take every slot.
    pub webhook_max_in_flight_per_tenant: usize,
    /// `metrics_address`, `otlp_endpoint`, `log_format` (docs/operations.md).
    #[serde(flatten)]
    pub telemetry: orderflow_telemetry::TelemetrySettings,
}

/// The API's abuse limits (per instance).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiLimits {
    /// Sustained requests per second per tenant (a token bucket refilled at this rate).
    pub tenant_requests_per_second: u32,
    /// Requests a tenant may send at once above the rate (the bucket's size).
    pub tenant_burst: u32,
    /// Requests this instance handles at once, all callers together; more get 503 at once.
    pub max_concurrent_requests: usize,
    /// A request still running after this gets 503 `REQUEST_TIMEOUT` (longer than the 30 s
    /// an API waits for an order's workflow).
    pub request_timeout_secs: u64,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            tenant_requests_per_second: 50,
            tenant_burst: 100,
            max_concurrent_requests: 512,
            request_timeout_secs: 40,
        }
    }
}

/// Hex SHA-256, the form keys and tokens are stored in.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Default for Settings {
    /// What a configuration file does not say: no tenant, no supplier, no operator token and
    /// no webhook key, so that nothing is reachable until the file grants it.
    fn default() -> Self {
        Settings {
            database_url: "sqlite://orderflow.db".into(),
            temporal_address: None,
            temporal_namespace: None,
            temporal_env_config: true,
            task_queue: TASK_QUEUE.into(),
            suppliers: Vec::new(),
            tenants: Vec::new(),
            operator_token_sha256: String::new(),
            workflow: WorkflowSettings::default(),
            max_cached_workflows: 2_000,
            max_concurrent_workflow_tasks: 100,
            max_concurrent_activities: 200,
            webhook_key: Secret::default(),
            webhook_retry_hours: 24.0,
            reconcile_interval_secs: 60,
            api: ApiLimits::default(),
            webhook_allow_http: false,
            webhook_allow_private_networks: false,
            max_webhooks_per_tenant: 20,
            webhook_max_in_flight: 32,
            webhook_max_in_flight_per_tenant: 4,
            telemetry: Default::default(),
        }
    }
}

/// Who is calling the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Tenant(String),
    Operator,
}

impl Settings {
    /// The settings of `orderflow serve` and `orderflow-worker`: the file named by
    /// `ORDERFLOW_CONFIG` (required), then `ORDERFLOW_DATABASE_URL`. Refuses the public dev
    /// credentials ([`Settings::refuse_dev_credentials`]).
    pub fn load() -> anyhow::Result<Settings> {
        let path = std::env::var("ORDERFLOW_CONFIG").unwrap_or_default();
        if path.is_empty() {
            anyhow::bail!(
                "ORDERFLOW_CONFIG is not set: name the JSON configuration file (tenants, \
                 suppliers, operator token, database) in ORDERFLOW_CONFIG, see the README's \
                 \"Configuration\"; for a local stack with dev credentials run `orderflow dev`"
            );
        }
        let settings = Settings::from_file(&path)?.with_env();
        settings.refuse_dev_credentials()?;
        Ok(settings)
    }

    /// The settings of `orderflow dev`: the file in `ORDERFLOW_CONFIG` if one is named (used
    /// as it is, never merged with the dev credentials), else [`Settings::dev`]; then
    /// `ORDERFLOW_DATABASE_URL`.
    pub fn load_dev() -> anyhow::Result<Settings> {
        let settings = match std::env::var("ORDERFLOW_CONFIG") {
            Ok(path) if !path.is_empty() => Settings::from_file(&path)?,
            _ => Settings::dev(),
        };
        Ok(settings.with_env())
    }

    fn from_file(path: &str) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading ORDERFLOW_CONFIG file {path}"))?;
        Settings::from_json(&text)
            .with_context(|| format!("parsing ORDERFLOW_CONFIG file {path} as JSON"))
    }

    fn with_env(mut self) -> Settings {
        if let Ok(url) = std::env::var("ORDERFLOW_DATABASE_URL")
            && !url.is_empty()
        {
            self.database_url = url;
        }
        self
    }

    /// Parses a configuration file. What it leaves out takes the credential-free defaults:
    /// a file without `tenants`, `suppliers`, `operator_token_sha256` or `webhook_key` has
    /// none.
    pub fn from_json(text: &str) -> anyhow::Result<Settings> {
        Ok(serde_json::from_str(text)?)
    }

    /// May `supplier_id` raise an unsolicited cease for `tenant_id`?
    pub fn allows_unsolicited_cease(&self, tenant_id: &str, supplier_id: &str) -> bool {
        self.tenants.iter().any(|t| {
            t.tenant_id == tenant_id && t.unsolicited_cease_from.iter().any(|s| s == supplier_id)
        })
    }

    /// The supplier of `tenant_id`'s orders that name none, if it has one.
    pub fn default_supplier(&self, tenant_id: &str) -> Option<&str> {
        self.tenants
            .iter()
            .find(|t| t.tenant_id == tenant_id)
            .and_then(|t| t.default_supplier.as_deref())
    }

    /// The Peppol participant id of `tenant_id`, if it has one.
    pub fn peppol_participant_id(&self, tenant_id: &str) -> Option<&str> {
        self.tenants
            .iter()
            .find(|t| t.tenant_id == tenant_id)
            .and_then(|t| t.peppol_participant_id.as_deref())
    }

    pub fn supplier(&self, id: &str) -> Option<&SupplierSettings> {
        self.suppliers.iter().find(|s| s.id == id)
    }

    /// Resolves a bearer token to its caller, comparing hashes in constant time.
    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        let hash = sha256_hex(token);
        let eq = |stored: &str| bool::from(stored.as_bytes().ct_eq(hash.as_bytes()));
        if eq(&self.operator_token_sha256) {
            return Some(Caller::Operator);
        }
        self.tenants
            .iter()
            .find(|t| eq(&t.key_sha256))
            .map(|t| Caller::Tenant(t.tenant_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_never_inherits_dev_credentials() {
        let s = Settings::from_json(r#"{"database_url": "sqlite://x.db"}"#).unwrap();
        assert_eq!(s.database_url, "sqlite://x.db");
        assert_eq!(s.authenticate("dev-acme-key"), None);
        assert_eq!(s.authenticate("dev-operator-token"), None);
        assert_eq!(s.authenticate(""), None);
        assert!(s.suppliers.is_empty());
        assert!(s.webhook_key.is_empty());
        assert_eq!(s.webhook_retry_hours, 24.0);
    }

    #[test]
    fn keys_are_not_stored_in_clear() {
        let text = serde_json::to_string(&Settings::dev()).unwrap();
        assert!(!text.contains("dev-acme-key"));
        assert!(!text.contains("dev-operator-token"));
    }

    #[test]
    fn secrets_never_print() {
        let text = format!("{:?}", Settings::dev());
        assert!(!text.contains(DEV_SIM_SECRET), "{text}");
        assert!(!text.contains(DEV_WEBHOOK_KEY), "{text}");
    }
}
