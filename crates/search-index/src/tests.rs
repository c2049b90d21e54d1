//! Format tests: roundtrip, version check, determinism and the golden file.

use super::*;
use expect_test::{expect, expect_file};

pub(crate) fn tiny_builder() -> IndexBuilder {
    let mut b = IndexBuilder::new("en");
    b.add(DocInput {
        id: "reset-password".into(),
        title: "How do I reset my password?".into(),
        body: "Open Settings and choose Reset password. Passwords expire yearly.".into(),
        tags: vec!["account".into()],
        url: "/kb/reset-password".into(),
        snippet: "Open Settings and choose Reset password.".into(),
        ..DocInput::default()
    });
    b.add(DocInput {
        id: "invoices".into(),
        title: "Where are my invoices?".into(),
        headings: "Billing".into(),
        body: "Invoices are under Billing.".into(),
        lang: "en".into(),
        weight: 2.5,
        ..DocInput::default()
    });
    b
}

fn tiny() -> Vec<u8> {
    tiny_builder().build()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|c| {
            c.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn golden_tiny_index() {
    // A format change shows up here as a diff; bump FORMAT_VERSION when it does.
    expect_file!["../tests/golden/tiny-v4.hex"].assert_eq(&hex(&tiny()));
}

#[test]
fn golden_header() {
    let bytes = tiny();
    expect!["46 44 53 58 04 00 00 00 02 65 6e 02 00 00 00"].assert_eq(&hex(&bytes[..15]));
}

#[test]
fn same_input_same_bytes() {
    assert_eq!(tiny(), tiny());
}

#[test]
fn roundtrip() {
    let bytes = tiny();
    let index = Index::from_bytes(&bytes).unwrap();
    assert_eq!(index.len(), 2);
    let d = index.doc(1);
    expect![[r#"StoredDoc { id: "invoices", title: "Where are my invoices?", url: "", lang: "en", tags: [], snippet: "", weight: 2.5 }"#]]
        .assert_eq(&format!("{d:?}"));
    let show = |key: &str| -> String {
        match index.term(key) {
            None => format!("{key}: -"),
            Some(t) => {
                let list: Vec<String> = index
                    .postings(t)
                    .unwrap()
                    .map(|p| format!("{:?}", p.unwrap()))
                    .collect();
                format!(
                    "{key}{}: {}",
                    if t.is_stop { "*" } else { "" },
                    list.join(", ")
                )
            }
        }
    };
    let out: Vec<String> = [
        "password",
        "passwords",
        "passwor",
        "how",
        "my",
        "invoic",
        "billing",
        "account",
        "the",
        "nothing",
    ]
    .iter()
    .map(|k| show(k))
    .collect();
    expect![[r#"
        password: Posting { doc: 0, tf: [1, 0, 2, 0, 0] }
        passwords: -
        passwor: -
        how*: Posting { doc: 0, tf: [1, 0, 0, 0, 0] }
        my*: Posting { doc: 0, tf: [1, 0, 0, 0, 0] }, Posting { doc: 1, tf: [1, 0, 0, 0, 0] }
        invoic: Posting { doc: 1, tf: [1, 0, 1, 0, 0] }
        billing: Posting { doc: 1, tf: [0, 1, 1, 0, 0] }
        account: Posting { doc: 0, tf: [0, 0, 0, 1, 0] }
        the*: 
        nothing: -"#]]
    .assert_eq(&out.join("\n"));
}

#[test]
fn version_mismatch_is_a_typed_error_with_advice() {
    let mut bytes = tiny();
    bytes[4] = 9;
    let err = Index::from_bytes(&bytes).err().unwrap();
    assert_eq!(
        err,
        IndexError::IncompatibleVersion {
            found: 9,
            expected: FORMAT_VERSION
        }
    );
    expect!["search index format version 9 is not supported (this runtime reads version 4); rebuild the index with the same Frontdesk release as the widget, or reload the page to get a matching widget"]
        .assert_eq(&err.to_string());
}

#[test]
fn version_1_indexes_are_refused_with_a_typed_error() {
    // The first bytes of an index written by format version 1 (before 2026-11-22).
    let v1 = [
        0x46, 0x44, 0x53, 0x58, 0x01, 0x00, 0x00, 0x00, 0x02, 0x65, 0x6e,
    ];
    assert_eq!(
        Index::from_bytes(&v1).err(),
        Some(IndexError::IncompatibleVersion {
            found: 1,
            expected: FORMAT_VERSION
        })
    );
}

#[test]
fn garbage_and_truncation_are_errors_not_panics() {
    assert_eq!(
        Index::from_bytes(b"<html>").err(),
        Some(IndexError::BadMagic)
    );
    let bytes = tiny();
    for cut in [6, 10, 20, bytes.len() / 2, bytes.len() - 1] {
        assert!(Index::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn guessable_inflections_are_left_out_of_the_vocabulary() {
    let mut b = IndexBuilder::new("en");
    b.add(DocInput {
        id: "a".into(),
        title: "Configuring printers".into(),
        body: "Configure the printer. Configuring is easy; reconfigured printers work. Organization matters.".into(),
        ..DocInput::default()
    });
    let full = b.build();
    let mut b = IndexBuilder::new("en").keep_full_vocabulary();
    b.add(DocInput {
        id: "a".into(),
        title: "Configuring printers".into(),
        body: "Configure the printer. Configuring is easy; reconfigured printers work. Organization matters.".into(),
        ..DocInput::default()
    });
    let unpruned_bytes = b.build();
    assert!(full.len() < unpruned_bytes.len());
    let (pruned, unpruned) = (
        Index::from_bytes(&full).unwrap(),
        Index::from_bytes(&unpruned_bytes).unwrap(),
    );
    let show = |index: &Index<'_>| -> String {
        [
            "configure",
            "configuring",
            "configur",
            "printer",
            "printers",
            "reconfigured",
            "organization",
            "matters",
        ]
        .iter()
        .map(|w| {
            format!(
                "{w}:{}{}",
                if index.term(w).is_some() { "key" } else { "-" },
                match index.resolve(w) {
                    Some(t) => format!("->{}", t.list),
                    None => "".into(),
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
    };
    // Title words stay; body-only inflections resolve through the stem guess to the same lists.
    expect![[r#"
        configure:-->28 configuring:key->28 configur:key->28 printer:key->115 printers:key->115 reconfigured:-->117 organization:key->107 matters:-->84
        configure:key->28 configuring:key->28 configur:key->28 printer:key->115 printers:key->115 reconfigured:key->117 organization:key->107 matters:key->84"#]].assert_eq(&format!("{}\n{}", show(&pruned), show(&unpruned)));
}

/// Found by `cargo xtask fuzz` (target `index_from_bytes`): a term dictionary whose FST claims
/// more keys than the table has bytes sized a `Vec` with that count (capacity overflow).
#[test]
fn regression_fuzz_terms_count_larger_than_the_table_is_corrupt_not_an_allocation() {
    let crash: &[u8] = &[
        70, 68, 83, 88, 2, 0, 0, 50, 0, 70, 68, 83, 0, 88, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 61, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128,
        237, 136, 0, 0, 0, 164, 255, 255, 255, 255, 255, 255, 255, 255, 10, 68, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 83,
    ];
    assert!(Index::from_bytes(crash).is_err());
}

/// Found by `cargo xtask fuzz` (target `index_from_bytes`): a damaged FST passed `Set::new` and
/// walking it panicked inside `fst`; its checksum is now verified at load.
#[test]
fn regression_fuzz_a_damaged_term_dictionary_fails_its_checksum_instead_of_panicking() {
    let crash: &[u8] = &[
        70, 68, 83, 88, 2, 0, 0, 50, 0, 70, 68, 83, 0, 88, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 61, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 73, 73, 73, 73, 73, 73, 73,
        73, 73, 73, 73, 73, 73, 73, 73, 73, 73, 73, 73, 73, 73, 73, 73, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 128, 237, 136, 0, 0, 0, 164, 255, 255, 255, 255, 255, 255, 255, 255,
        10, 68, 255, 0, 164, 255, 255, 255, 255, 255, 255, 255, 255, 10, 68, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 4, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 83,
    ];
    assert!(Index::from_bytes(crash).is_err());
    // A real index still loads (its checksum holds).
    assert!(Index::from_bytes(&tiny()).is_ok());
}

/// Found by `cargo xtask fuzz` (target `index_from_bytes`) after the checksum check: a damaged
/// FST with a matching checksum still panicked inside `fst`; the loader turns that into an error.
#[test]
fn regression_fuzz_a_damaged_term_dictionary_with_a_valid_checksum_is_an_error() {
    let crash: &[u8] = &[
        70, 68, 83, 88, 2, 0, 0, 49, 0, 70, 68, 83, 0, 72, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 71, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 10, 255, 61, 105, 89, 224, 0, 0, 0, 0, 0, 0, 0, 213, 0, 0, 0, 0,
        128, 0, 255, 255, 255, 255, 255, 255, 255, 95, 218, 255, 204, 153, 0, 255, 255, 255, 255,
        255, 255, 0, 0, 0, 10, 255, 222, 255, 191, 255, 255, 255, 0, 83, 255, 1, 0, 0, 0, 0, 0, 0,
        6, 255, 255, 255, 195, 255, 0, 0, 101,
    ];
    assert!(Index::from_bytes(crash).is_err());
}
