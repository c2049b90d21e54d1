use super::*;

#[derive(Deserialize)]
struct File {
    rules: Vec<Rule>,
}

const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

fn parse(text: &str) -> Vec<Rule> {
    toml::from_str::<File>(text).unwrap().rules
}

const LOW_CSAT: &str = r#"
[[rules]]
name = "Low rating: the account manager follows up"
on = "csat.submitted"
if = { rating_at_most = 2 }
then = [
  { note = "Rated {{rating}}/5 by {{contact}}: call them back." },
  { email = { to = "account_manager", subject = "Low rating from {{contact}}", body = "{{comment}} {{link}}" } },
  { webhook = "csat.low" },
]
"#;

#[test]
fn the_low_rating_rule_reads_and_matches_ratings_of_two_or_less() {
    let rules = parse(LOW_CSAT);
    validate(&rules, &PRIORITIES).unwrap();
    let rule = &rules[0];
    assert_eq!(rule.then.len(), 3);
    assert_eq!(rule.then[2], Action::Webhook("csat.low".into()));
    let facts = |rating| Facts {
        event: "csat.submitted",
        site: "demo",
        priority: "normal",
        rating,
        ..Facts::default()
    };
    assert!(rule.matches(&facts(Some(1))));
    assert!(rule.matches(&facts(Some(2))));
    assert!(!rule.matches(&facts(Some(3))));
    assert!(!rule.matches(&facts(None)));
    assert!(!rule.matches(&Facts {
        event: "message.created",
        ..facts(Some(1))
    }));
}

#[test]
fn every_condition_must_hold() {
    let rules = parse(
        r#"
[[rules]]
name = "Enterprise refunds in Portuguese"
on = "message.created"
if = { site = "shop", language = "pt", label = "billing", priority = "high", contact = { plan = "enterprise" }, sla_breached = false, keywords = ["reembolso", "Estorno"] }
then = [{ assign_team = "billing" }, { set_priority = "urgent" }, { add_label = "refund" }]
"#,
    );
    validate(&rules, &PRIORITIES).unwrap();
    let labels = vec!["billing".to_owned()];
    let plan: BTreeMap<String, String> = [("plan".to_owned(), "enterprise".to_owned())].into();
    let free: BTreeMap<String, String> = [("plan".to_owned(), "free".to_owned())].into();
    let base = Facts {
        event: "message.created",
        site: "shop",
        locale: Some("pt-BR"),
        labels: &labels,
        priority: "high",
        contact: Some(&plan),
        text: "Quero um ESTORNO, por favor",
        ..Facts::default()
    };
    let rule = &rules[0];
    assert!(rule.matches(&base));
    let no_labels: Vec<String> = Vec::new();
    for other in [
        Facts {
            site: "blog",
            ..base.clone()
        },
        Facts {
            locale: Some("en-US"),
            ..base.clone()
        },
        Facts {
            locale: None,
            ..base.clone()
        },
        Facts {
            labels: &no_labels,
            ..base.clone()
        },
        Facts {
            priority: "normal",
            ..base.clone()
        },
        Facts {
            contact: Some(&free),
            ..base.clone()
        },
        Facts {
            contact: None,
            ..base.clone()
        },
        Facts {
            breached: true,
            ..base.clone()
        },
        Facts {
            text: "Obrigada!",
            ..base.clone()
        },
    ] {
        assert!(!rule.matches(&other), "{other:?}");
    }
}

#[test]
fn bad_rules_are_refused_with_the_reason() {
    let bad = |text: &str| validate(&parse(text), &PRIORITIES).unwrap_err();
    let rule = |on: &str, cond: &str, then: &str| {
        format!("[[rules]]\nname = \"r\"\non = \"{on}\"\nif = {{ {cond} }}\nthen = [{then}]\n")
    };
    assert!(bad(&rule("csat.given", "", "{ note = \"x\" }")).contains("is not one of"));
    assert!(
        bad(&rule(
            "csat.submitted",
            "rating_at_most = 9",
            "{ note = \"x\" }"
        ))
        .contains("1 to 5")
    );
    assert!(bad(&rule("csat.submitted", "", "")).contains("1 to 20 actions"));
    assert!(
        bad(&rule("csat.submitted", "", "{ note = \"{{ratting}}\" }")).contains("not a variable")
    );
    assert!(
        bad(&rule("csat.submitted", "", "{ set_priority = \"asap\" }")).contains("not a priority")
    );
    assert!(bad(&rule("csat.submitted", "", "{ webhook = \"Low CSAT!\" }")).contains("event name"));
    assert!(
        bad(&rule(
            "csat.submitted",
            "",
            "{ email = { to = \"boss\", subject = \"s\", body = \"b\" } }"
        ))
        .contains("account_manager, assignee or an address")
    );
    let twice = format!(
        "{}{}",
        rule("csat.submitted", "", "{ note = \"x\" }"),
        rule("sla.breached", "", "{ note = \"y\" }")
    );
    assert!(bad(&twice).contains("two rules"));
    // Unknown fields are errors, not silently ignored conditions.
    assert!(
        toml::from_str::<File>(&rule(
            "csat.submitted",
            "rating_below = 2",
            "{ note = \"x\" }"
        ))
        .is_err()
    );
}

#[test]
fn templates_fill_known_values() {
    let out = render(
        "Rated {{rating}}/5 by {{ contact }} ({{comment}}) {{open",
        &[("rating", "1".into()), ("contact", "Rita".into())],
    );
    assert_eq!(out, "Rated 1/5 by Rita (–) {{open");
}
