//! Standard Webhooks signatures: the secret (`whsec_` + base64 of the key bytes) and the
//! `webhook-signature` value, `v1,` + base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;

/// An endpoint's signing key. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Shortest key accepted, in bytes (the specification recommends 24 to 64).
pub const MIN_SECRET_BYTES: usize = 16;

impl Secret {
    /// Reads `whsec_<base64>`, as the specification writes secrets.
    pub fn parse(text: &str) -> Result<Secret, String> {
        let Some(encoded) = text.strip_prefix("whsec_") else {
            return Err("must start with whsec_ (then the key in base64)".into());
        };
        let key = STANDARD
            .decode(encoded)
            .map_err(|e| format!("the part after whsec_ is not base64: {e}"))?;
        if key.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the key is {} bytes; use at least {MIN_SECRET_BYTES} random bytes (24 to 64 \
                 recommended), e.g. whsec_$(head -c 32 /dev/urandom | base64)",
                key.len()
            ));
        }
        Ok(Secret(key))
    }

    /// The `webhook-signature` header value for message `id` sent at `timestamp` (seconds).
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0)
            .expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example the Standard Webhooks reference libraries test against (svix/standard-
    /// webhooks, `libraries/*`: secret, message id, timestamp, payload and signature).
    #[test]
    fn signs_the_specifications_example() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // Any change to the id, the time or the body changes the signature.
        let other = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_331,
            r#"{"test": 2432232314}"#,
        );
        assert_ne!(other, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_whsec_base64_keys_of_16_bytes_or_more() {
        assert!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(Secret::parse("whsec_not base64!").is_err());
        assert!(
            Secret::parse("whsec_c2hvcnQ=")
                .unwrap_err()
                .contains("5 bytes")
        );
        assert!(
            !format!(
                "{:?}",
                Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
            )
            .contains("MfK")
        );
    }
}
