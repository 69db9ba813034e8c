//! Fresh credentials for a stack whose processes run as in production (`orderflow serve`,
//! `orderflow-worker`): the test and benchmark stacks. Those processes refuse the public dev
//! credentials, so each stack makes its own, drawn at random when it starts.

use orderflow_config::{Secret, Settings, TenantKey, sha256_hex};

/// The clear-text credentials of one stack (its configuration file holds only hashes of the
/// keys and the token).
#[derive(Clone, Debug)]
pub struct StackCredentials {
    pub acme_key: String,
    pub globex_key: String,
    pub operator_token: String,
    /// The simulator's callback secret (supplier `sim`).
    pub sim_secret: String,
}

/// 32 hex digits from a random (v4) UUID: 122 random bits, plenty for a throwaway stack.
fn random_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl StackCredentials {
    pub fn generate() -> StackCredentials {
        StackCredentials {
            acme_key: format!("acme-{}", random_hex()),
            globex_key: format!("globex-{}", random_hex()),
            operator_token: format!("operator-{}", random_hex()),
            sim_secret: random_hex(),
        }
    }

    /// `settings` with these tenants (`acme`, `globex`), this operator token, and a fresh
    /// webhook key; the supplier secrets are the caller's (see [`StackCredentials::sim_secret`]).
    pub fn apply(&self, settings: Settings) -> Settings {
        Settings {
            tenants: [("acme", &self.acme_key), ("globex", &self.globex_key)]
                .into_iter()
                .map(|(tenant, key)| TenantKey {
                    tenant_id: tenant.into(),
                    key_sha256: sha256_hex(key),
                    unsolicited_cease_from: vec!["sim".into()],
                    peppol_participant_id: Some(format!("9915:{tenant}")),
                    default_supplier: Some("sim".into()),
                })
                .collect(),
            operator_token_sha256: sha256_hex(&self.operator_token),
            webhook_key: Secret::new(random_hex() + &random_hex()),
            ..settings
        }
    }
}
