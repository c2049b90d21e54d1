//! Rules, the triggers support teams run their routine on: *when* an event about a conversation
//! happens, *if* its facts match every condition, *then* do the actions, in order.
//!
//! ```toml
//! [[rules]]
//! name = "Low rating: the account manager follows up"
//! on = "csat.submitted"
//! if = { rating_at_most = 2 }
//! then = [
//!   { note = "Rated {{rating}}/5 by {{contact}}: call them back." },
//!   { email = { to = "account_manager", subject = "Low rating from {{contact}}", body = "…" } },
//!   { webhook = "csat.low" },
//! ]
//! ```
//!
//! Pure: [`Rule::matches`] reads [`Facts`] the server gathered; the server performs the
//! [`Action`]s (through the same functions agents' actions use) and renders templates with
//! [`render`].

use serde::Deserialize;
use std::collections::BTreeMap;

/// The events a rule can run on: a conversation's first message, a customer's message (in the
/// widget or by email), a rating, an SLA deadline breached.
pub const EVENTS: [&str; 4] = [
    "conversation.created",
    "message.created",
    "csat.submitted",
    "sla.breached",
];

/// The variables templates may use.
pub const VARIABLES: [&str; 7] = [
    "conversation",
    "contact",
    "email",
    "rating",
    "comment",
    "site",
    "link",
];

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    /// The event (one of [`EVENTS`]).
    pub on: String,
    #[serde(default, rename = "if")]
    pub conditions: Conditions,
    pub then: Vec<Action>,
}

/// Every condition set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    pub site: Option<String>,
    /// A primary language (`pt`) or a locale (`pt-BR`).
    pub language: Option<String>,
    /// The conversation carries this label.
    pub label: Option<String>,
    pub priority: Option<String>,
    /// The contact's attributes have these values (what the site passes, e.g. `plan`).
    #[serde(default)]
    pub contact: BTreeMap<String, String>,
    /// The rating given is at most this (1–5); a conversation without one does not match.
    pub rating_at_most: Option<u8>,
    /// An SLA deadline of the conversation was breached (or not).
    pub sla_breached: Option<bool>,
    /// The message (or, for other events, the conversation's preview) contains one of these
    /// words, in any case.
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// Who an email action writes to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailAction {
    /// `account_manager`, `assignee`, or an address.
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Action {
    /// Assign to the agent with this email.
    AssignAgent(String),
    AssignTeam(String),
    SetPriority(String),
    AddLabel(String),
    /// A private note (a template).
    Note(String),
    Email(EmailAction),
    /// A webhook event of this name to the site's endpoints subscribed to it.
    Webhook(String),
}

/// What the server knows about the conversation when the event happens.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    pub event: &'a str,
    pub site: &'a str,
    pub locale: Option<&'a str>,
    pub labels: &'a [String],
    pub priority: &'a str,
    pub contact: Option<&'a BTreeMap<String, String>>,
    pub rating: Option<u8>,
    pub breached: bool,
    pub text: &'a str,
}

fn primary(locale: &str) -> String {
    locale
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

impl Rule {
    pub fn matches(&self, f: &Facts) -> bool {
        let c = &self.conditions;
        if self.on != f.event {
            return false;
        }
        if c.site.as_deref().is_some_and(|s| s != f.site) {
            return false;
        }
        if let Some(want) = &c.language {
            let Some(locale) = f.locale else {
                return false;
            };
            let ok = if want.contains(['-', '_']) {
                want.eq_ignore_ascii_case(locale)
            } else {
                primary(locale) == want.to_ascii_lowercase()
            };
            if !ok {
                return false;
            }
        }
        if c.label.as_ref().is_some_and(|l| !f.labels.contains(l)) {
            return false;
        }
        if c.priority.as_deref().is_some_and(|p| p != f.priority) {
            return false;
        }
        for (key, value) in &c.contact {
            if f.contact.and_then(|a| a.get(key)) != Some(value) {
                return false;
            }
        }
        if let Some(most) = c.rating_at_most
            && f.rating.is_none_or(|r| r > most)
        {
            return false;
        }
        if c.sla_breached.is_some_and(|b| b != f.breached) {
            return false;
        }
        if !c.keywords.is_empty() {
            let text = f.text.to_lowercase();
            if !c.keywords.iter().any(|k| text.contains(&k.to_lowercase())) {
                return false;
            }
        }
        true
    }
}

/// Checks rules as loaded from the settings: known events and variables, sane values, an action
/// each, unique names. `priorities` are the valid priorities.
pub fn validate(rules: &[Rule], priorities: &[&str]) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    for r in rules {
        let at = format!("rule {:?}", r.name);
        if r.name.trim().is_empty() || r.name.chars().count() > 100 {
            return Err("a rule's name must be 1 to 100 characters".into());
        }
        if !names.insert(r.name.as_str()) {
            return Err(format!("{at}: two rules have this name"));
        }
        if !EVENTS.contains(&r.on.as_str()) {
            return Err(format!(
                "{at}: on = {:?} is not one of {}",
                r.on,
                EVENTS.join(", ")
            ));
        }
        if r.then.is_empty() || r.then.len() > 20 {
            return Err(format!("{at}: then must hold 1 to 20 actions"));
        }
        let c = &r.conditions;
        if c.rating_at_most.is_some_and(|n| !(1..=5).contains(&n)) {
            return Err(format!("{at}: rating_at_most must be 1 to 5"));
        }
        if let Some(p) = &c.priority
            && !priorities.contains(&p.as_str())
        {
            return Err(format!(
                "{at}: priority {p:?} is not one of {}",
                priorities.join(", ")
            ));
        }
        if c.keywords.iter().any(|k| k.trim().is_empty()) || c.keywords.len() > 50 {
            return Err(format!("{at}: keywords must be at most 50 non-empty words"));
        }
        for a in &r.then {
            let templates: Vec<&str> = match a {
                Action::Note(t) => vec![t],
                Action::Email(e) => {
                    let to = e.to.as_str();
                    if to != "account_manager" && to != "assignee" && !to.contains('@') {
                        return Err(format!(
                            "{at}: email to = {to:?} must be account_manager, assignee or an address"
                        ));
                    }
                    vec![&e.subject, &e.body]
                }
                Action::SetPriority(p) if !priorities.contains(&p.as_str()) => {
                    return Err(format!("{at}: set_priority {p:?} is not a priority"));
                }
                Action::Webhook(name)
                    if name.is_empty()
                        || name.len() > 64
                        || !name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_') =>
                {
                    return Err(format!(
                        "{at}: webhook {name:?} must be an event name like csat.low"
                    ));
                }
                Action::AssignAgent(s) | Action::AssignTeam(s) | Action::AddLabel(s)
                    if s.trim().is_empty() =>
                {
                    return Err(format!("{at}: an action's value is empty"));
                }
                _ => vec![],
            };
            for t in templates {
                if t.chars().count() > 4_000 {
                    return Err(format!("{at}: a template is longer than 4000 characters"));
                }
                for name in variables(t) {
                    if !VARIABLES.contains(&name) {
                        return Err(format!(
                            "{at}: {{{{{name}}}}} is not a variable ({})",
                            VARIABLES.join(", ")
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `{{name}}`s of a template.
fn variables(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    out
}

/// The template with each `{{name}}` replaced by its value (absent values as "–").
pub fn render(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        match values.iter().find(|(n, _)| *n == name) {
            Some((_, v)) => out.push_str(v),
            None => out.push('–'),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
