//! Configuration in one typed place, shared by the worker, the API and `orderflow dev`.
//!
//! Sources, later wins: built-in dev defaults (the credentials of SPEC §10), the JSON file
//! named by `ORDERFLOW_CONFIG`, then `ORDERFLOW_DATABASE_URL`. The Temporal endpoint comes from
//! Temporal's own environment configuration (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
//! `TEMPORAL_API_KEY`, TLS settings, `temporal.toml` profiles), which `temporal_address` and
//! `temporal_namespace` override.

use anyhow::Context;
use orderflow_workflows::{TASK_QUEUE, WorkflowSettings};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use subtle::ConstantTimeEq;
use temporalio_client::envconfig::{ClientConfigProfile, LoadClientConfigProfileOptions};
use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions};
use temporalio_common::envconfig::load_client_config_profile;

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
    /// `secrets.rs`). Empty: webhooks are disabled. Like the other credentials, a config file
    /// never inherits the dev key.
    pub webhook_key: String,
    /// How long a webhook delivery is retried after its first attempt before it is `FAILED`.
    pub webhook_retry_hours: f64,
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

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// How long a process keeps trying to reach Temporal at start-up.
const CONNECT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// How to reach Temporal: Temporal's environment configuration (unless
/// `temporal_env_config` is off), with `temporal_address` and `temporal_namespace` on top.
/// The API key and TLS settings always come from Temporal's configuration, so secrets stay
/// out of orderflow's file. `env` replaces the process environment (for tests).
pub fn temporal_options(
    settings: &Settings,
    env: Option<&HashMap<String, String>>,
) -> anyhow::Result<(ConnectionOptions, ClientOptions)> {
    let mut profile = if settings.temporal_env_config {
        load_client_config_profile(LoadClientConfigProfileOptions::default(), env)
            .map_err(|e| anyhow::anyhow!("loading Temporal's client configuration: {e}"))?
    } else {
        ClientConfigProfile::default()
    };
    if let Some(address) = &settings.temporal_address {
        profile.address = Some(address.clone());
    }
    if let Some(namespace) = &settings.temporal_namespace {
        profile.namespace = Some(namespace.clone());
    }
    let namespace = profile
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let connection = ConnectionOptions::try_from(profile)
        .map_err(|e| anyhow::anyhow!("Temporal client configuration: {e}"))?;
    let client = ClientOptions::new(namespace).plugins(orderflow_telemetry::temporal_plugins());
    Ok((connection, client.build()))
}

/// Connects to Temporal as [`temporal_options`] says.
pub async fn temporal_client(settings: &Settings) -> anyhow::Result<Client> {
    let (mut connection, client) = temporal_options(settings, None)?;
    // gzip costs CPU on both ends and saves nothing on the loopback interface (orderflow dev,
    // tests, benchmarks); elsewhere it saves bandwidth.
    if connection.target.host_str().is_some_and(is_loopback) {
        connection.grpc_compression = temporalio_client::GrpcCompression::None;
    }
    let target = connection.target.to_string();
    let namespace = client.namespace.clone();
    // A server that was just started (or restarted) accepts connections a moment before its
    // frontend is ready: keep trying for a while rather than exit on the first refusal.
    let start = std::time::Instant::now();
    let connection = loop {
        match Connection::connect(connection.clone()).await {
            Ok(connection) => break connection,
            Err(e) if start.elapsed() < CONNECT_PATIENCE => {
                tracing::warn!(error = %e, "Temporal not reachable yet; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => anyhow::bail!(
                "cannot reach Temporal at {target} (namespace {namespace}): {e}; start it \
                 (`orderflow dev`) or set TEMPORAL_ADDRESS"
            ),
        }
    };
    Client::new(connection, client).map_err(|e| anyhow::anyhow!("Temporal client: {e}"))
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

    fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
        // No temporal.toml unless a test names one: the developer's own must not leak in.
        let mut env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.entry("TEMPORAL_CONFIG_FILE".into())
            .or_insert_with(|| "/nonexistent/temporal.toml".into());
        env
    }

    #[test]
    fn temporal_defaults_to_a_local_server_in_plain_text() {
        let (conn, client) = temporal_options(&Settings::default(), Some(&env(&[]))).unwrap();
        assert_eq!(conn.target.as_str(), "http://localhost:7233/");
        assert_eq!(client.namespace, "default");
        assert!(conn.tls_options.is_none() && conn.api_key.is_none());
    }

    #[test]
    fn temporal_cloud_from_the_environment_uses_tls_and_the_api_key() {
        let vars = env(&[
            ("TEMPORAL_ADDRESS", "acme.a1b2c.tmprl.cloud:7233"),
            ("TEMPORAL_NAMESPACE", "acme.a1b2c"),
            ("TEMPORAL_API_KEY", "key-123"),
        ]);
        let (conn, client) = temporal_options(&Settings::default(), Some(&vars)).unwrap();
        assert_eq!(conn.target.as_str(), "https://acme.a1b2c.tmprl.cloud:7233/");
        assert_eq!(client.namespace, "acme.a1b2c");
        assert_eq!(conn.api_key.as_deref(), Some("key-123"));
        assert!(conn.tls_options.is_some());
    }

    #[test]
    fn the_config_file_overrides_address_and_namespace_and_keeps_tls_and_the_key() {
        let settings = Settings {
            temporal_address: Some("temporal.internal:7233".into()),
            temporal_namespace: Some("orders".into()),
            ..Settings::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not checked until connecting").unwrap();
        let vars = env(&[
            ("TEMPORAL_ADDRESS", "elsewhere:7233"),
            ("TEMPORAL_NAMESPACE", "elsewhere"),
            ("TEMPORAL_TLS", "true"),
            ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", ca.to_str().unwrap()),
            ("TEMPORAL_TLS_SERVER_NAME", "temporal.internal"),
            ("TEMPORAL_GRPC_META_X_TENANT", "orderflow"),
        ]);
        let (conn, client) = temporal_options(&settings, Some(&vars)).unwrap();
        assert_eq!(conn.target.as_str(), "https://temporal.internal:7233/");
        assert_eq!(client.namespace, "orders");
        let tls = conn.tls_options.expect("TLS from the environment");
        assert_eq!(tls.domain.as_deref(), Some("temporal.internal"));
        assert!(tls.server_root_ca_cert.is_some());
        assert_eq!(
            conn.headers.unwrap().get("x-tenant").map(String::as_str),
            Some("orderflow")
        );
    }

    #[test]
    fn a_temporal_toml_profile_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("temporal.toml");
        std::fs::write(
            &file,
            "[profile.prod]\naddress = \"prod.tmprl.cloud:7233\"\nnamespace = \"prod\"\napi_key = \"k\"\n",
        )
        .unwrap();
        let vars = env(&[
            ("TEMPORAL_CONFIG_FILE", file.to_str().unwrap()),
            ("TEMPORAL_PROFILE", "prod"),
        ]);
        let (conn, client) = temporal_options(&Settings::default(), Some(&vars)).unwrap();
        assert_eq!(conn.target.as_str(), "https://prod.tmprl.cloud:7233/");
        assert_eq!(client.namespace, "prod");
    }

    #[test]
    fn without_env_config_the_shell_is_ignored() {
        let settings = Settings {
            temporal_address: Some("127.0.0.1:7233".into()),
            temporal_env_config: false,
            ..Settings::default()
        };
        let vars = env(&[
            ("TEMPORAL_NAMESPACE", "prod"),
            ("TEMPORAL_API_KEY", "key-123"),
        ]);
        let (conn, client) = temporal_options(&settings, Some(&vars)).unwrap();
        assert_eq!(conn.target.as_str(), "http://127.0.0.1:7233/");
        assert_eq!(client.namespace, "default");
        assert!(conn.tls_options.is_none() && conn.api_key.is_none());
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && is_loopback("[::1]"));
        assert!(!is_loopback("temporal.example.com") && !is_loopback("10.0.0.7"));
    }

    #[test]
    fn keys_are_not_stored_in_clear() {
        let text = serde_json::to_string(&Settings::default()).unwrap();
        assert!(!text.contains("dev-acme-key"));
        assert!(!text.contains("dev-operator-token"));
    }
}
