//! `[[rules]]`: what happens when events match conditions (see the `rules` crate and
//! `docs/rules.md`), checked when the file is read.

use anyhow::bail;

/// The rules, validated: events, conditions, actions, templates, and webhook events a site's
/// endpoints can subscribe to.
pub(super) fn rules(rules: Vec<rules::Rule>) -> anyhow::Result<Vec<rules::Rule>> {
    if rules.len() > 200 {
        bail!("at most 200 rules");
    }
    let priorities: Vec<&str> = protocol::Priority::ALL.iter().map(|p| p.as_str()).collect();
    rules::validate(&rules, &priorities).map_err(|e| anyhow::anyhow!("rules: {e}"))?;
    for r in &rules {
        for a in &r.then {
            if let rules::Action::Webhook(name) = a
                && protocol::webhooks::EventType::parse(name).is_none()
            {
                let known: Vec<&str> = protocol::webhooks::EventType::ALL
                    .iter()
                    .map(|e| e.as_str())
                    .collect();
                bail!(
                    "rules: rule {:?}: webhook {name:?} is not an event endpoints can subscribe to ({})",
                    r.name,
                    known.join(", ")
                );
            }
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_seed_rule_loads_and_bad_ones_say_why() {
        let ok = super::super::parse(
            "[[rules]]\nname = \"Low rating\"\non = \"csat.submitted\"\nif = { rating_at_most = 2 }\n\
             then = [{ note = \"Rated {{rating}}\" }, { webhook = \"csat.low\" }]\n",
        )
        .unwrap();
        assert_eq!(ok.rules.len(), 1);
        let bad = |text: &str| super::super::parse(text).unwrap_err().to_string();
        assert!(
            bad("[[rules]]\nname = \"x\"\non = \"csat.submitted\"\nthen = [{ webhook = \"crm.poke\" }]\n")
                .contains("not an event endpoints can subscribe to")
        );
        assert!(
            bad("[[rules]]\nname = \"x\"\non = \"csat.submitted\"\nthen = [{ set_priority = \"asap\" }]\n")
                .contains("not a priority")
        );
    }
}
