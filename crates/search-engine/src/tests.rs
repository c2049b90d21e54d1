//! Data-driven engine tests: each case is a small knowledge base, a query, and the ranked ids.

use super::*;
use expect_test::{Expect, expect};
use search_index::{DocInput, IndexBuilder};

fn kb() -> Vec<u8> {
    let docs = [
        (
            "reset-password",
            "How do I reset my password?",
            "Open Settings, choose Security and press Reset password.",
            "en",
            "account",
        ),
        (
            "change-email",
            "How do I change my email address?",
            "Your email address is under Settings, Profile.",
            "en",
            "account",
        ),
        (
            "invoices",
            "Where are my invoices?",
            "Invoices are listed under Billing. Download them as PDF.",
            "en",
            "billing",
        ),
        (
            "refund",
            "Can I get a refund?",
            "Refunds are possible within 30 days of payment.",
            "en",
            "billing",
        ),
        (
            "printer",
            "Configure a printer",
            "Printers and printing: add a printer in Settings.",
            "en",
            "devices",
        ),
        (
            "senha",
            "Como altero minha senha?",
            "Abra Configurações e escolha Segurança.",
            "pt",
            "account",
        ),
        (
            "passport",
            "Passport photos",
            "Bring two passport photos to the desk.",
            "en",
            "travel",
        ),
        (
            "form",
            "Contact form",
            "Fill in the form and we answer within a day.",
            "en",
            "support",
        ),
        (
            "from-home",
            "Working remotely",
            "You can work from home on Fridays.",
            "en",
            "support",
        ),
    ];
    let mut b = IndexBuilder::new("en");
    for (id, title, body, lang, tag) in docs {
        b.add(DocInput {
            id: id.into(),
            title: title.into(),
            body: body.into(),
            lang: lang.into(),
            tags: vec![tag.into()],
            snippet: body.into(),
            ..DocInput::default()
        });
    }
    b.build()
}

fn run(q: Query<'_>) -> String {
    let bytes = kb();
    let engine = Engine::from_bytes(&bytes).unwrap();
    let hits = engine.search(&q);
    hits.iter()
        .map(|h| {
            format!(
                "{}{}",
                engine.index().doc(h.doc).id,
                if h.tier > 0 { "^" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn check(text: &str, expect: Expect) {
    expect.assert_eq(&run(Query {
        text,
        ..Query::default()
    }));
}

#[test]
fn whole_question() {
    check(
        "how can I download my invoices?",
        expect!["invoices refund reset-password change-email"],
    );
}

#[test]
fn prefix_of_title_ranks_first() {
    check(
        "How do I",
        expect!["reset-password^ change-email^ refund invoices"],
    );
    check(
        "How do I ch",
        expect!["change-email^ reset-password refund"],
    );
    check(
        "Where are my inv",
        expect!["invoices^ reset-password change-email"],
    );
}

#[test]
fn unfinished_word_completes() {
    check("print", expect!["printer"]);
    check("refu", expect!["refund"]);
}

#[test]
fn finished_word_does_not_complete() {
    // "pass " with a space is a whole word: it must not match "password" or "passport".
    check("pass ", expect![[r#""#]]);
}

#[test]
fn typo_is_corrected() {
    check("pasword reset", expect!["reset-password"]);
    check("invioces", expect!["invoices"]);
    check(
        "Where are my invoce",
        expect!["invoices^ reset-password change-email"],
    );
}

#[test]
fn exact_beats_typo() {
    // "passport" and "form" are words of the index: their neighbours one edit away ("password",
    // "from") must never outrank them; a misspelling finds the word it was meant to be.
    check("passport", expect!["passport^"]);
    check("form ", expect!["form"]);
    check("from ", expect![[r#""#]]);
    check("fomr ", expect!["form"]);
    check("pasport ", expect!["passport^"]);
}

#[test]
fn filters_by_language_and_tag() {
    expect!["senha"].assert_eq(&run(Query {
        text: "senha",
        lang: Some("pt"),
        ..Query::default()
    }));
    expect![[r#""#]].assert_eq(&run(Query {
        text: "settings",
        lang: Some("pt"),
        ..Query::default()
    }));
    expect!["change-email reset-password"].assert_eq(&run(Query {
        text: "settings",
        tags: vec!["account"],
        ..Query::default()
    }));
}

#[test]
fn snippet_highlights_stems_and_prefixes() {
    let bytes = kb();
    let engine = Engine::from_bytes(&bytes).unwrap();
    let plan = engine.plan("printing printe");
    let s = engine.snippet(&plan, 4, 200);
    let text = engine.index().doc(4).snippet;
    let marked: Vec<&str> = s.highlights.iter().map(|r| &text[r.clone()]).collect();
    expect![[r#"["Printers", "printing", "printer"]"#]].assert_eq(&format!("{marked:?}"));
}

#[test]
fn document_weight_reorders_equal_matches() {
    let mut b = IndexBuilder::new("en");
    for (id, weight) in [("old-guide", 1.0), ("new-guide", 3.0)] {
        b.add(DocInput {
            id: id.into(),
            title: "Export your data".into(),
            body: "Use the export button.".into(),
            weight,
            ..DocInput::default()
        });
    }
    let bytes = b.build();
    let engine = Engine::from_bytes(&bytes).unwrap();
    let ids: Vec<&str> = engine
        .search(&Query {
            text: "export data",
            ..Query::default()
        })
        .iter()
        .map(|h| engine.index().doc(h.doc).id)
        .collect();
    expect![[r#"["new-guide", "old-guide"]"#]].assert_eq(&format!("{ids:?}"));
}

#[test]
fn unaccented_query_finds_accented_words_through_the_vocabulary() {
    // Snowball stems "configuracao" and "configuração" differently; the index vocabulary maps the
    // folded surface form to the stem of the accented original, so both spellings match.
    let mut b = IndexBuilder::new("pt");
    b.add(DocInput {
        id: "a".into(),
        body: "A configuração da impressora.".into(),
        ..DocInput::default()
    });
    b.add(DocInput {
        id: "b".into(),
        body: "Configurar a rede.".into(),
        ..DocInput::default()
    });
    let bytes = b.build();
    let engine = Engine::from_bytes(&bytes).unwrap().with_params(Params {
        query_stemming: false,
        ..Params::default()
    });
    let ids: Vec<&str> = engine
        .search(&Query {
            text: "CONFIGURACAO ",
            ..Query::default()
        })
        .iter()
        .map(|h| engine.index().doc(h.doc).id)
        .collect();
    expect![[r#"["a", "b"]"#]].assert_eq(&format!("{ids:?}"));
}

#[test]
fn pruned_top_k_equals_the_full_ranking_and_reused_accumulators_leave_no_trace() {
    let bytes = kb();
    let engine = Engine::from_bytes(&bytes).unwrap();
    let queries = [
        "How do I",
        "how do i reset my password",
        "Where are my invoices?",
        "printer settings",
        "p",
        "Can I get a refund",
        "passwrod",
    ];
    for text in queries {
        let all = engine.search(&Query {
            text,
            limit: 1000,
            ..Query::default()
        });
        for limit in 1..=3 {
            let top = engine.search(&Query {
                text,
                limit,
                ..Query::default()
            });
            let want: Vec<_> = all.iter().take(limit).cloned().collect();
            assert_eq!(top, want, "{text:?} limit {limit}");
        }
        // A fresh engine agrees with one that ran other queries before.
        let fresh = Engine::from_bytes(&bytes).unwrap();
        assert_eq!(
            fresh.search(&Query {
                text,
                limit: 1000,
                ..Query::default()
            }),
            all,
            "{text:?}"
        );
    }
}
