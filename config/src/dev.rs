//! The dev credentials of `orderflow dev`, and the check that keeps them out of everything
//! else.
//!
//! They are public (they are in this file and the README), so a process that serves real
//! tenants must never accept them: [`Settings::refuse_dev_credentials`] runs at the start of
//! `orderflow serve` and `orderflow-worker`.

use crate::{PeppolParty, Secret, Settings, SupplierSettings, TenantKey, sha256_hex};

pub const DEV_SIM_SECRET: &str = "dev-sim-secret";

/// The webhook encryption key of the dev stack.
pub const DEV_WEBHOOK_KEY: &str =
    "6f72646572666c6f772d6465762d6b65792d6e6f742d666f722d70726f642121";

const DEV_TENANT_KEYS: [(&str, &str); 2] = [("acme", "dev-acme-key"), ("globex", "dev-globex-key")];
const DEV_OPERATOR_TOKEN: &str = "dev-operator-token";

impl Settings {
    /// The local stack of `orderflow dev`: tenants `acme` / `globex`, the operator token,
    /// supplier `sim` at its default port, the dev webhook key, and webhook receivers allowed
    /// on this machine.
    pub fn dev() -> Settings {
        Settings {
            suppliers: vec![SupplierSettings {
                id: "sim".into(),
                base_url: "http://127.0.0.1:8090".into(),
                secret: DEV_SIM_SECRET.into(),
                concurrent_amendments: false,
                peppol: Some(PeppolParty::dev_sim()),
            }],
            tenants: DEV_TENANT_KEYS
                .iter()
                .map(|(tenant, key)| TenantKey {
                    tenant_id: (*tenant).into(),
                    key_sha256: sha256_hex(key),
                    unsolicited_cease_from: vec!["sim".into()],
                    peppol_participant_id: Some(format!("9915:{tenant}")),
                    default_supplier: Some("sim".into()),
                })
                .collect(),
            operator_token_sha256: sha256_hex(DEV_OPERATOR_TOKEN),
            webhook_key: Secret::new(DEV_WEBHOOK_KEY),
            // Receivers on this machine, over plain http.
            webhook_allow_http: true,
            webhook_allow_private_networks: true,
            ..Settings::default()
        }
    }

    /// Refuses to start on any public dev credential: a tenant key, the operator token, a
    /// supplier secret or the webhook key of [`Settings::dev`]. The message names each one
    /// found, so the operator knows what to replace.
    pub fn refuse_dev_credentials(&self) -> anyhow::Result<()> {
        let dev_hashes: Vec<String> = DEV_TENANT_KEYS
            .iter()
            .map(|(_, key)| *key)
            .chain([DEV_OPERATOR_TOKEN])
            .map(sha256_hex)
            .collect();
        let mut found: Vec<String> = self
            .tenants
            .iter()
            .filter(|t| dev_hashes.contains(&t.key_sha256.to_ascii_lowercase()))
            .map(|t| format!("the API key of tenant '{}'", t.tenant_id))
            .collect();
        if dev_hashes.contains(&self.operator_token_sha256.to_ascii_lowercase()) {
            found.push("operator_token_sha256".into());
        }
        found.extend(
            self.suppliers
                .iter()
                .filter(|s| s.secret.expose() == DEV_SIM_SECRET)
                .map(|s| format!("the secret of supplier '{}'", s.id)),
        );
        if self
            .webhook_key
            .expose()
            .trim()
            .eq_ignore_ascii_case(DEV_WEBHOOK_KEY)
        {
            found.push("webhook_key".into());
        }
        if found.is_empty() {
            return Ok(());
        }
        anyhow::bail!(
            "the configuration uses public dev credentials, which only `orderflow dev` \
             accepts: {}. Generate new ones (e.g. `openssl rand -hex 32`) and store keys and \
             tokens as their SHA-256",
            found.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Caller;

    #[test]
    fn dev_credentials_authenticate() {
        let s = Settings::dev();
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
    fn every_dev_credential_is_refused_by_name() {
        let e = Settings::dev()
            .refuse_dev_credentials()
            .unwrap_err()
            .to_string();
        for part in [
            "tenant 'acme'",
            "tenant 'globex'",
            "operator_token_sha256",
            "supplier 'sim'",
            "webhook_key",
        ] {
            assert!(e.contains(part), "{part} missing from: {e}");
        }
    }

    #[test]
    fn each_dev_credential_alone_is_refused() {
        let own = Settings {
            tenants: vec![TenantKey {
                tenant_id: "acme".into(),
                key_sha256: sha256_hex("a-real-key"),
                unsolicited_cease_from: Vec::new(),
                peppol_participant_id: None,
                default_supplier: None,
            }],
            operator_token_sha256: sha256_hex("a-real-token"),
            suppliers: vec![SupplierSettings {
                id: "s1".into(),
                base_url: "https://s1.example".into(),
                secret: "a-real-secret".into(),
                concurrent_amendments: false,
                peppol: None,
            }],
            webhook_key: Secret::new("00".repeat(32)),
            ..Settings::default()
        };
        own.refuse_dev_credentials().unwrap();
        let dev = Settings::dev();
        let variants = [
            Settings {
                tenants: dev.tenants[1..].to_vec(),
                ..own.clone()
            },
            Settings {
                operator_token_sha256: dev.operator_token_sha256.to_uppercase(),
                ..own.clone()
            },
            Settings {
                suppliers: dev.suppliers.clone(),
                ..own.clone()
            },
            Settings {
                webhook_key: dev.webhook_key.clone(),
                ..own.clone()
            },
        ];
        for s in variants {
            assert!(s.refuse_dev_credentials().is_err(), "{s:?}");
        }
    }
}
