//! The signatures orderflow sends and checks.
//!
//! - orderflow's own, for supplier callbacks (checked by the API) and every webhook delivery:
//!   `orderflow-signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
//! - [Standard Webhooks](https://www.standardwebhooks.com/), on every webhook delivery beside
//!   it, so that receivers can verify with any Standard Webhooks library:
//!   `webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of the parts, joined by nothing: the callers put the `.` separators in.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Lower-case hex of HMAC-SHA256(`secret`, `"{timestamp}.{body}"`). The timestamp is signed
/// so that a captured request cannot be replayed later under a fresh timestamp.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    hex::encode(hmac_sha256(
        secret.as_bytes(),
        &[timestamp.as_bytes(), b".", body],
    ))
}

/// The Standard Webhooks key of a secret: a `whsec_` secret is base64 (the format Standard
/// Webhooks libraries generate), any other secret is used as its bytes.
fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|encoded| BASE64.decode(encoded).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` header value of Standard Webhooks for message `id`.
pub fn standard_signature_header(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let mac = hmac_sha256(
        &standard_key(secret),
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    format!("v1,{}", BASE64.encode(mac))
}

/// The `orderflow-signature` header value for a body.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1={}", sign(secret, timestamp, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_documented_format() {
        // printf %s '1700000000.{}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            sign("secret", 1_700_000_000, b"{}"),
            "b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
        assert_ne!(sign("secret", 1, b"{}"), sign("secret", 2, b"{}"));
        assert_ne!(sign("a", 1, b"{}"), sign("b", 1, b"{}"));
        assert_eq!(
            signature_header("s", 1, b"x"),
            format!("v1={}", sign("s", 1, b"x"))
        );
    }

    #[test]
    fn passes_the_standard_webhooks_test_vector() {
        // The test vector published with the Standard Webhooks specification.
        assert_eq!(
            standard_signature_header(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#,
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_that_is_not_whsec_base64_is_used_as_its_bytes() {
        // printf %s 'id.1.{}' | openssl dgst -sha256 -hmac plain-secret-0001 -binary | base64
        let plain = standard_signature_header("plain-secret-0001", "id", 1, b"{}");
        assert_eq!(plain, "v1,/w16k93df57SHsYaQ/UN0OSEhTWfqMaalaKsPyGWZRM=");
        // A whsec_ prefix that is not base64 is part of the key, not an error.
        assert_ne!(
            standard_signature_header("whsec_not base64!", "id", 1, b"{}"),
            standard_signature_header("not base64!", "id", 1, b"{}")
        );
    }
}
