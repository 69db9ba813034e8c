//! Configuration in one typed place, shared by the worker, the API, the CLI and `orderflow dev`,
//! so that every process reads the same settings the same way.
//!
//! Sources, later wins: built-in dev defaults (tenants `acme` and `globex`, the operator token
//! and supplier `sim` of the local dev stack), the JSON file named by `ORDERFLOW_CONFIG`, then
//! `ORDERFLOW_DATABASE_URL`. A configuration file never inherits the dev credentials. The
//! Temporal endpoint comes from Temporal's own environment configuration
//! ([`temporal_options`]).

use anyhow::Context;
use orderflow_domain::WorkflowSettings;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The task queue order workflows and their activities run on unless `task_queue` says
/// otherwise.
pub const TASK_QUEUE: &str = "orderflow-orders";

mod temporal;
pub use temporal::{temporal_client, temporal_options};

/// A supplier orderflow can place orders with.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SupplierSettings {
    pub id: String,
    pub base_url: String,
    /// Shared secret the supplier signs its callbacks with.
    pub secret: String,
}

/// A tenant's API key, stored as the hex SHA-256 of the key, never the key itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TenantKey {
    pub tenant_id: String,
    pub key_sha256: String,
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
    /// `orderflow_store::secrets`). Empty: webhooks are disabled. Like the other credentials,
    /// a config file never inherits the dev key.
    pub webhook_key: String,
    /// How long a webhook delivery is retried after its first attempt before it is `FAILED`.
    pub webhook_retry_hours: f64,
    // Webhook egress (issue 14; docs/security-egress.md). Both `allow` switches are on only
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

/// Hex SHA-256, the form keys and tokens are stored in.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub const DEV_SIM_SECRET: &str = "dev-sim-secret";

/// The webhook encryption key of the dev defaults. It is public (it is in this file): for
/// `orderflow dev` and tests only, never for real secrets.
pub const DEV_WEBHOOK_KEY: &str =
    "6f72646572666c6f772d6465762d6b65792d6e6f742d666f722d70726f642121";

impl Default for Settings {
    /// The dev stack of `orderflow dev`: tenants `acme` / `globex`, supplier `sim`.
    fn default() -> Self {
        Settings {
            database_url: "sqlite://orderflow.db".into(),
            temporal_address: None,
            temporal_namespace: None,
            temporal_env_config: true,
            task_queue: TASK_QUEUE.into(),
            suppliers: vec![SupplierSettings {
                id: "sim".into(),
                base_url: "http://127.0.0.1:8090".into(),
                secret: DEV_SIM_SECRET.into(),
            }],
            tenants: vec![
                TenantKey {
                    tenant_id: "acme".into(),
                    key_sha256: sha256_hex("dev-acme-key"),
                },
                TenantKey {
                    tenant_id: "globex".into(),
                    key_sha256: sha256_hex("dev-globex-key"),
                },
            ],
            operator_token_sha256: sha256_hex("dev-operator-token"),
            workflow: WorkflowSettings::default(),
            max_cached_workflows: 2_000,
            max_concurrent_workflow_tasks: 100,
            max_concurrent_activities: 200,
            webhook_key: DEV_WEBHOOK_KEY.into(),
            webhook_retry_hours: 24.0,
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
    /// Defaults, then `ORDERFLOW_CONFIG`, then `ORDERFLOW_DATABASE_URL`.
    pub fn load() -> anyhow::Result<Settings> {
        let mut settings = match std::env::var("ORDERFLOW_CONFIG") {
            Ok(path) if !path.is_empty() => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading ORDERFLOW_CONFIG file {path}"))?;
                Settings::from_json(&text)
                    .with_context(|| format!("parsing ORDERFLOW_CONFIG file {path} as JSON"))?
            }
            _ => Settings::default(),
        };
        if let Ok(url) = std::env::var("ORDERFLOW_DATABASE_URL")
            && !url.is_empty()
        {
            settings.database_url = url;
        }
        Ok(settings)
    }

    /// Parses a configuration file. Credentials are never inherited from the dev defaults:
    /// a file without `tenants` or `operator_token_sha256` has none.
    pub fn from_json(text: &str) -> anyhow::Result<Settings> {
        let mut value: serde_json::Value = serde_json::from_str(text)?;
        if let Some(object) = value.as_object_mut() {
            object.entry("tenants").or_insert(serde_json::json!([]));
            object
                .entry("operator_token_sha256")
                .or_insert(serde_json::json!(""));
            object.entry("webhook_key").or_insert(serde_json::json!(""));
        }
        Ok(serde_json::from_value(value)?)
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
    fn dev_credentials_authenticate() {
        let s = Settings::default();
        assert_eq!(
            s.authenticate("dev-acme-key"),
            Some(Caller::Tenant("acme".into()))
        );
        assert_eq!(
            s.authenticate("dev-globex-key"),
            Some(Caller::Tenant("globex".into()))
        );
        assert_eq!(s.authenticate("dev-operator-token"), Some(Caller::Operator));
        assert_eq!(s.authenticate("dev-acme-key "), None);
        assert_eq!(s.authenticate(""), None);
    }

    #[test]
    fn a_config_file_never_inherits_dev_credentials() {
        let s = Settings::from_json(r#"{"database_url": "sqlite://x.db"}"#).unwrap();
        assert_eq!(s.database_url, "sqlite://x.db");
        assert_eq!(s.authenticate("dev-acme-key"), None);
        assert_eq!(s.authenticate("dev-operator-token"), None);
        assert_eq!(s.authenticate(""), None);
        assert_eq!(s.webhook_key, "");
        assert_eq!(s.webhook_retry_hours, 24.0);
    }

    #[test]
    fn keys_are_not_stored_in_clear() {
        let text = serde_json::to_string(&Settings::default()).unwrap();
        assert!(!text.contains("dev-acme-key"));
        assert!(!text.contains("dev-operator-token"));
    }
}
