//! How to reach Temporal. Temporal's own environment configuration (`TEMPORAL_ADDRESS`,
//! `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, TLS settings, `temporal.toml` profiles) applies
//! unless `temporal_env_config` is off, and orderflow's `temporal_address` and
//! `temporal_namespace` override it. The API key and TLS always come from Temporal's
//! configuration, so secrets stay out of orderflow's file.

use crate::Settings;
use std::collections::HashMap;
use temporalio_client::envconfig::{ClientConfigProfile, LoadClientConfigProfileOptions};
use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions};
use temporalio_common::envconfig::load_client_config_profile;

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
    Ok((connection, ClientOptions::new(namespace).build()))
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
}
