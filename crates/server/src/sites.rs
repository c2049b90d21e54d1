//! Site configuration (what a site owner sets); its office hours are a `calendar::Calendar`.

use calendar::Calendar;
use protocol::SiteConfig;
use std::collections::BTreeMap;

/// One site served by this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub config: SiteConfig,
    /// Origins allowed to embed the widget (`https://shop.example`); empty allows any.
    pub allowed_origins: Vec<String>,
    /// Opening hours in the site's time zone, with holidays; `None` means always open.
    pub office_hours: Option<Calendar>,
    /// The team new conversations of this site are routed to; `None` means anyone.
    pub team: Option<String>,
    /// Secret shared with the site's own server, which signs its user ids with it
    /// (`user_hash` = hex HMAC-SHA256(secret, user_id)); `None` accepts no user ids.
    pub identity_secret: Option<String>,
}

impl Site {
    /// Whether `user_hash` is the site's signature of `user_id` (compared in constant time).
    pub fn verifies(&self, user_id: &str, user_hash: &str) -> bool {
        use hmac::Mac;
        let Some(secret) = &self.identity_secret else {
            return false;
        };
        let Ok(signature) = hex::decode(user_hash.trim()) else {
            return false;
        };
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(user_id.as_bytes());
        mac.verify_slice(&signature).is_ok()
    }
}

/// The demo site every server knows, always open.
pub fn demo_site() -> Site {
    let mut greeting = BTreeMap::new();
    greeting.insert(
        "en".into(),
        "Hi! Search our help center or chat with us.".into(),
    );
    greeting.insert(
        "pt".into(),
        "Olá! Pesquise na central de ajuda ou fale com a gente.".into(),
    );
    greeting.insert(
        "tr".into(),
        "Merhaba! Yardım merkezinde arayın veya bizimle yazışın.".into(),
    );
    greeting.insert(
        "ru".into(),
        "Здравствуйте! Найдите ответ в справке или напишите нам.".into(),
    );
    Site {
        config: SiteConfig {
            site: "demo".into(),
            name: "Brightbill".into(),
            color: "#2f5bea".into(),
            position: "right".into(),
            greeting,
            languages: vec!["en".into(), "pt".into(), "tr".into(), "ru".into()],
            prechat_name: false,
            prechat_email: false,
            // The demo shows the customer effort question after the rating.
            ask_effort: true,
        },
        allowed_origins: Vec::new(),
        office_hours: None,
        team: None,
        identity_secret: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_signatures_are_checked_against_the_site_secret() {
        let mut site = demo_site();
        // Computed independently: HMAC-SHA256("a site secret, 16+ chars", "user-42").
        let good = "d5d10f16a9b2aeb6791ff7147c394716b848e3a3e225d6ea1838aedb0b801ddb";
        assert!(
            !site.verifies("user-42", good),
            "no secret: nothing verifies"
        );
        site.identity_secret = Some("a site secret, 16+ chars".into());
        assert!(site.verifies("user-42", good));
        assert!(site.verifies("user-42", &good.to_uppercase()));
        assert!(!site.verifies("user-43", good), "another user");
        assert!(!site.verifies("user-42", &good[..62]), "truncated");
        assert!(!site.verifies("user-42", "not hex"));
    }
}
