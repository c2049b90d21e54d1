//! Reply addresses and Message-IDs that lead back to a conversation.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key a deployment signs its reply addresses with (every node the same: derived from the
/// cluster key) and the domain they live in.
#[derive(Clone)]
pub struct ReplyKey {
    key: Vec<u8>,
    domain: String,
}

impl std::fmt::Debug for ReplyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyKey")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// Hex characters of the signature: 64 bits, enough that guessing one costs more than any
/// rate limit allows.
const SIG_HEX: usize = 16;

impl ReplyKey {
    pub fn new(secret: &[u8], domain: &str) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"frontdesk reply addresses");
        ReplyKey {
            key: mac.finalize().into_bytes().to_vec(),
            domain: domain.trim().to_ascii_lowercase(),
        }
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    fn sig(&self, conversation: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(conversation.to_string().as_bytes());
        let bytes = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(SIG_HEX);
        for b in &bytes[..SIG_HEX / 2] {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    }

    /// The address a conversation's emails come from and answers go to.
    pub fn address(&self, conversation: i64) -> String {
        format!(
            "reply+{conversation}.{}@{}",
            self.sig(conversation),
            self.domain
        )
    }

    /// The Message-ID of the email that carried the conversation up to message `seq`
    /// (without the angle brackets).
    pub fn message_id(&self, conversation: i64, seq: u64) -> String {
        format!(
            "fd.{conversation}.{seq}.{}@{}",
            self.sig(conversation),
            self.domain
        )
    }

    /// The conversation a reply address or one of our Message-IDs names, when its signature
    /// holds (angle brackets, case and a display name around the address are allowed).
    pub fn conversation_of(&self, text: &str) -> Option<i64> {
        let text = text.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, domain) = text.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let local = local.to_ascii_lowercase();
        let (id, sig) = if let Some(rest) = local.strip_prefix("reply+") {
            rest.split_once('.')?
        } else {
            let rest = local.strip_prefix("fd.")?;
            let (id, rest) = rest.split_once('.')?;
            let (seq, sig) = rest.split_once('.')?;
            seq.parse::<u64>().ok()?;
            (id, sig)
        };
        let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
        let expected = self.sig(id);
        // Compared in constant time: a guess learns nothing from how long the refusal took.
        let same = expected.len() == sig.len()
            && expected
                .bytes()
                .zip(sig.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_ids_lead_back_only_when_signed() {
        let key = ReplyKey::new(b"cluster secret", "Mail.Example.com");
        let address = key.address(42);
        assert!(address.starts_with("reply+42."), "{address}");
        assert!(address.ends_with("@mail.example.com"));
        assert_eq!(key.conversation_of(&address), Some(42));
        assert_eq!(
            key.conversation_of(&format!("<{}>", address.to_uppercase())),
            Some(42)
        );
        let id = key.message_id(42, 7);
        assert_eq!(key.conversation_of(&format!("<{id}>")), Some(42));
        // Another conversation's number with this signature, another key, another domain,
        // a truncated signature: nothing.
        assert_eq!(
            key.conversation_of(&address.replace("reply+42.", "reply+43.")),
            None
        );
        let other = ReplyKey::new(b"another secret", "mail.example.com");
        assert_eq!(other.conversation_of(&address), None);
        assert_eq!(
            key.conversation_of(&address.replace("example.com", "example.org")),
            None
        );
        let short = address.replacen('.', ".x", 1);
        assert_eq!(key.conversation_of(&short), None);
        for junk in [
            "",
            "@",
            "reply+@mail.example.com",
            "fd.1.x.y@mail.example.com",
            "reply+-1.00@mail.example.com",
        ] {
            assert_eq!(key.conversation_of(junk), None, "{junk}");
        }
    }

    #[test]
    fn the_key_is_not_printed() {
        let key = ReplyKey::new(b"cluster secret", "mail.example.com");
        assert!(!format!("{key:?}").contains("secret"));
    }
}
