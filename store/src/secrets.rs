//! Webhook secrets at rest. A webhook secret is needed in clear to compute HMAC signatures, so
//! it cannot be hashed; it is stored encrypted with ChaCha20-Poly1305 under `webhook_key`
//! (32 bytes, hex, from the settings). Each secret has a fresh random 96-bit nonce, and the
//! webhook id is the associated data, so a stored secret only opens for its own webhook.
//! Stored form: hex of `nonce || ciphertext+tag`.

use anyhow::Context;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

const NONCE_LEN: usize = 12;

/// The key webhook secrets are encrypted under.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl SecretBox {
    /// From 64 hex digits (32 bytes).
    pub fn from_hex(key: &str) -> anyhow::Result<SecretBox> {
        let bytes = hex::decode(key.trim()).context("webhook_key is not hex")?;
        anyhow::ensure!(
            bytes.len() == 32,
            "webhook_key must be 32 bytes (64 hex digits), got {}",
            bytes.len()
        );
        Ok(SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        })
    }

    /// Encrypts `secret`, binding it to `webhook_id`.
    pub fn seal(&self, webhook_id: &str, secret: &str) -> anyhow::Result<String> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.as_bytes(),
                    aad: webhook_id.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("encrypting a webhook secret"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(hex::encode(out))
    }

    /// Decrypts what [`SecretBox::seal`] produced for the same webhook under the same key.
    pub fn open(&self, webhook_id: &str, stored: &str) -> anyhow::Result<String> {
        let bytes = hex::decode(stored).context("stored webhook secret is not hex")?;
        anyhow::ensure!(
            bytes.len() > NONCE_LEN,
            "stored webhook secret is too short"
        );
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: webhook_id.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!("cannot decrypt the secret of webhook {webhook_id}: wrong webhook_key or tampered row")
            })?;
        String::from_utf8(plain).context("webhook secret is not UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orderflow_config::DEV_WEBHOOK_KEY;

    #[test]
    fn a_sealed_secret_opens_only_for_its_webhook_and_key() {
        let keys = SecretBox::from_hex(DEV_WEBHOOK_KEY).unwrap();
        let stored = keys.seal("w1", "a-very-secret-value").unwrap();
        assert!(!stored.contains(&hex::encode("a-very-secret-value")));
        assert_eq!(keys.open("w1", &stored).unwrap(), "a-very-secret-value");
        // Fresh nonce every time.
        assert_ne!(stored, keys.seal("w1", "a-very-secret-value").unwrap());
        // Bound to the webhook id.
        assert!(keys.open("w2", &stored).is_err());
        // Another key does not open it.
        let other = SecretBox::from_hex(&"11".repeat(32)).unwrap();
        assert!(other.open("w1", &stored).is_err());
        // Tampering is detected.
        let mut bytes = hex::decode(&stored).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(keys.open("w1", &hex::encode(bytes)).is_err());
        assert!(keys.open("w1", "00").is_err());
    }

    #[test]
    fn keys_must_be_32_bytes_of_hex() {
        assert!(SecretBox::from_hex("").is_err());
        assert!(SecretBox::from_hex("zz").is_err());
        assert!(SecretBox::from_hex(&"ab".repeat(31)).is_err());
        assert!(SecretBox::from_hex(&"ab".repeat(32)).is_ok());
    }
}
