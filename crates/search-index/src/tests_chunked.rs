//! Chunked layout tests: golden bytes, old versions refused, chunks that hold every key and
//! list of the single file, adaptive sizes, prefix lookup, bundles.

use super::*;
use crate::tests::{hex, tiny_builder};
use expect_test::expect_file;

fn unhex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// A few hundred documents with a shared vocabulary, enough for many chunks.
fn many(n: usize) -> IndexBuilder {
    let words = [
        "password", "reset", "invoice", "billing", "account", "login", "email", "refund",
        "payment", "export", "import", "team", "member", "invite", "delete", "archive", "search",
        "widget", "language", "mobile", "sync", "backup", "restore", "token", "webhook",
    ];
    let mut b = IndexBuilder::new("en");
    for i in 0..n {
        let w = |k: usize| words[(i * 7 + k * 3 + i / 5) % words.len()];
        b.add(DocInput {
            id: format!("doc-{i}"),
            title: format!("How do I {} my {} {}?", w(0), w(1), i % 13),
            body: format!(
                "To {} the {}, open {} settings. {} and {} work with {}{}.",
                w(2),
                w(3),
                w(4),
                w(5),
                w(6),
                w(7),
                i % 97
            ),
            tags: vec![w(8).into()],
            snippet: format!("Open {} settings.", w(4)),
            weight: if i % 50 == 0 { 2.0 } else { 1.0 },
            ..DocInput::default()
        });
    }
    b
}

#[test]
fn golden_tiny_chunked_index() {
    // A format change shows up here as a diff; bump FORMAT_VERSION when it does.
    let c = tiny_builder().build_chunked(48);
    let mut out = format!("entry\n{}\n", hex(&c.entry));
    for (name, bytes) in &c.chunks {
        out.push_str(&format!("{name}\n{}\n", hex(bytes)));
    }
    expect_file!["../tests/golden/tiny-v4-chunked.hex"].assert_eq(&out);
    expect_file!["../tests/golden/tiny-v4-bundle.hex"].assert_eq(&hex(&c.bundle()));
}

#[test]
fn the_version_3_golden_file_is_refused_with_a_typed_error() {
    // Written by the release of 2026-12-01 (one-byte field lengths in chunks, no bundles).
    let old = unhex(include_str!("../tests/golden/tiny-v3-old.hex"));
    let refused = IndexError::IncompatibleVersion {
        found: 3,
        expected: FORMAT_VERSION,
    };
    assert_eq!(Index::from_bytes(&old).err(), Some(refused.clone()));
    assert_eq!(Bundle::from_bytes(&old).err(), Some(refused.clone()));
    let message = refused.to_string();
    assert!(
        message.contains("version 3") && message.contains("rebuild"),
        "{message}"
    );
}

#[test]
fn a_bundle_holds_the_entry_and_every_chunk() {
    let b = many(400);
    let c = b.build_chunked(2048);
    let bundle_bytes = c.bundle();
    let bundle = Bundle::from_bytes(&bundle_bytes).unwrap();
    let entry = Entry::from_bytes(&c.entry).unwrap();
    assert_eq!(bundle.entry.len(), 400);
    let names: Vec<String> = (0..entry.n_term_chunks())
        .map(|i| entry.term_chunk(i).name)
        .chain((0..entry.n_doc_chunks()).map(|i| entry.doc_chunk(i).name))
        .collect();
    assert_eq!(bundle.chunks.len(), names.len());
    for (file, name) in bundle.chunks.iter().zip(&names) {
        assert_eq!(*file, c.chunks[name].as_slice(), "{name}");
    }
    // Every chunk, nothing else: the bundle is the entry and the chunks with a few lengths.
    let overhead = bundle_bytes.len() - c.len();
    assert!(overhead < 16 + 4 * (names.len() + 1), "{overhead}");
    // An entry file alone is read the same way, with no chunk.
    let alone = Bundle::from_bytes(&c.entry).unwrap();
    assert_eq!(alone.entry.n_term_chunks(), entry.n_term_chunks());
    assert!(alone.chunks.is_empty());
}

#[test]
fn a_bundle_with_a_chunk_the_entry_does_not_name_is_refused() {
    let c = many(400).build_chunked(2048);
    let other = many(401).build_chunked(2048);
    let entry = Entry::from_bytes(&c.entry).unwrap();
    // The first term chunk swapped for another index's (same layout, other content).
    let other_entry = Entry::from_bytes(&other.entry).unwrap();
    let mut swapped = c.clone();
    let name = entry.term_chunk(1).name;
    swapped
        .chunks
        .insert(name, other.chunks[&other_entry.term_chunk(1).name].clone());
    assert_ne!(swapped.bundle(), c.bundle());
    assert_eq!(
        Bundle::from_bytes(&swapped.bundle()).err(),
        Some(IndexError::Corrupt { section: "bundle" })
    );
    // A bundle cut short, or with bytes after its last chunk.
    let bundle = c.bundle();
    assert!(Bundle::from_bytes(&bundle[..bundle.len() - 1]).is_err());
    let mut longer = bundle.clone();
    longer.push(0);
    assert!(Bundle::from_bytes(&longer).is_err());
    // A chunk is not a bundle.
    assert_eq!(
        Bundle::from_bytes(&c.chunks[&entry.doc_chunk(0).name]).err(),
        Some(IndexError::WrongKind)
    );
}

#[test]
fn the_version_2_golden_file_is_refused_with_a_typed_error() {
    let old = unhex(include_str!("../tests/golden/tiny-v2-old.hex"));
    assert_eq!(
        Index::from_bytes(&old).err(),
        Some(IndexError::IncompatibleVersion {
            found: 2,
            expected: FORMAT_VERSION
        })
    );
    assert!(matches!(
        Entry::from_bytes(&old),
        Err(IndexError::IncompatibleVersion { found: 2, .. })
    ));
}

#[test]
fn a_file_of_another_kind_is_a_typed_error() {
    let c = tiny_builder().build_chunked(48);
    assert_eq!(
        Index::from_bytes(&c.entry).err(),
        Some(IndexError::WrongKind)
    );
    let single = tiny_builder().build();
    assert!(matches!(
        Entry::from_bytes(&single),
        Err(IndexError::WrongKind)
    ));
}

#[test]
fn chunks_hold_every_key_and_list_of_the_single_file() {
    let b = many(400);
    let single = b.build();
    let index = Index::from_bytes(&single).unwrap();
    let c = b.build_chunked(2048);
    let entry = Entry::from_bytes(&c.entry).unwrap();
    assert_eq!(entry.len(), 400);
    assert!(entry.n_term_chunks() > 3, "{}", entry.n_term_chunks());
    assert!(entry.n_doc_chunks() > 3, "{}", entry.n_doc_chunks());
    assert_eq!(entry.weight(0), 2.0);
    assert_eq!(entry.weight(1), 1.0);
    for (a, b) in entry
        .avg_field_lengths()
        .iter()
        .zip(index.avg_field_lengths())
    {
        assert!((a - b).abs() < 1e-3, "{a} {b}");
    }
    let terms: Vec<TermChunk> = (0..entry.n_term_chunks())
        .map(|i| TermChunk::from_bytes(c.chunks[&entry.term_chunk(i).name].clone()).unwrap())
        .collect();
    let mut stream = index.terms().stream();
    let mut keys = 0;
    while let Some(key) = fst::Streamer::next(&mut stream) {
        keys += 1;
        let k = std::str::from_utf8(key).unwrap();
        let want = index.term(k).unwrap();
        let chunk = &terms[entry.term_chunk_of(k)];
        assert_eq!(chunk.term_bytes(key), Some(want), "{k}");
        let got = chunk.postings(want.list, entry.tf_table()).unwrap();
        let expected: Vec<Posting> = index.postings(want).unwrap().flatten().collect();
        assert_eq!(got.len(), expected.len(), "{k}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!((g.doc, g.tf), (e.doc, e.tf), "{k}");
            let lens = index.field_lengths(e.doc);
            for (f, &len) in lens.iter().enumerate() {
                let expected = if e.tf[f] > 0 { len } else { 0 };
                assert_eq!(g.lengths[f], expected, "{k}: lengths are exact");
            }
            if e.tf[0] > 0 {
                assert_ne!(g.title_mask, 0, "{k} is in the title of {}", e.doc);
            }
        }
    }
    let in_chunks: usize = terms.iter().map(|t| t.terms().len()).sum();
    assert_eq!(in_chunks, keys, "each key in exactly one chunk");
    for d in 0..400u32 {
        let chunk =
            DocChunk::from_bytes(&c.chunks[&entry.doc_chunk(entry.doc_chunk_of(d)).name]).unwrap();
        assert_eq!(chunk.doc(d).as_ref(), Some(index.doc(d)));
    }
}

#[test]
fn chunks_stay_near_the_target_unless_one_list_is_bigger() {
    let b = many(2000);
    let c = b.build_chunked(4096);
    let entry = Entry::from_bytes(&c.entry).unwrap();
    for i in 0..entry.n_term_chunks() {
        let bytes = &c.chunks[&entry.term_chunk(i).name];
        let chunk = TermChunk::from_bytes(bytes.clone()).unwrap();
        assert!(
            bytes.len() <= 4096 + 64 || chunk.terms().len() <= 2,
            "chunk {i}: {} bytes, {} keys",
            bytes.len(),
            chunk.terms().len()
        );
    }
    assert_eq!(b.build_chunked(4096), c, "same input, same bytes");
}

#[test]
fn prefix_lookup_names_every_chunk_with_keys_of_the_prefix() {
    let b = many(1000);
    let single = b.build();
    let index = Index::from_bytes(&single).unwrap();
    let c = b.build_chunked(1024);
    let entry = Entry::from_bytes(&c.entry).unwrap();
    for prefix in ["", "p", "pa", "passw", "re", "zzz", "a", "how"] {
        let range = entry.term_chunks_for_prefix(prefix);
        let mut stream = index.terms().stream();
        while let Some(key) = fst::Streamer::next(&mut stream) {
            let k = std::str::from_utf8(key).unwrap();
            if k.starts_with(prefix) {
                assert!(range.contains(&entry.term_chunk_of(k)), "{prefix}: {k}");
            }
        }
    }
}

#[test]
fn damaged_chunked_files_are_errors_not_panics() {
    // What the widget reads from the network: every prefix of a bundle, and every file of the
    // chunked form with each byte flipped, loads or fails with an error (never a panic), and a
    // term chunk that loads decodes its lists or fails with an error.
    let c = tiny_builder().build_chunked(48);
    let bundle = c.bundle();
    for cut in 0..bundle.len() {
        assert!(Bundle::from_bytes(&bundle[..cut]).is_err(), "cut at {cut}");
    }
    let entry = Entry::from_bytes(&c.entry).unwrap();
    let flipped = |bytes: &[u8], at: usize| {
        let mut b = bytes.to_vec();
        b[at] ^= 0x5a;
        b
    };
    for at in 0..bundle.len() {
        let _ = Bundle::from_bytes(&flipped(&bundle, at));
    }
    for at in 0..c.entry.len() {
        let _ = Entry::from_bytes(&flipped(&c.entry, at));
    }
    for (name, bytes) in &c.chunks {
        for at in 0..bytes.len() {
            let b = flipped(bytes, at);
            if name.contains("-d") {
                let _ = DocChunk::from_bytes(&b);
            } else if let Ok(chunk) = TermChunk::from_bytes(b) {
                for list in chunk.lists().collect::<Vec<_>>() {
                    let _ = chunk.postings(list, entry.tf_table());
                }
            }
        }
    }
}

#[test]
fn an_entry_counting_more_documents_than_a_chunked_index_may_hold_is_refused() {
    // The engine sizes its per-document tables from this count: a damaged one must not ask for
    // gigabytes. One document chunk that claims them all keeps the entry otherwise consistent.
    let entry = |n_docs: u32| {
        let mut e = Vec::new();
        crate::write::put_header(&mut e, Kind::Entry, "en");
        e.extend_from_slice(&n_docs.to_le_bytes());
        for _ in 0..N_FIELDS {
            e.extend_from_slice(&1f32.to_le_bytes());
        }
        for table in [0, 0, 0] {
            crate::codec::put_varint(&mut e, table); // tf codes, weights, term chunks
        }
        crate::codec::put_varint(&mut e, 1);
        crate::codec::put_varint(&mut e, u64::from(n_docs));
        e.extend_from_slice(&7u64.to_le_bytes());
        e
    };
    assert_eq!(
        Entry::from_bytes(&entry(MAX_DOCS)).unwrap().len(),
        MAX_DOCS as usize
    );
    assert_eq!(
        Entry::from_bytes(&entry(MAX_DOCS + 1)).err(),
        Some(IndexError::Corrupt { section: "entry" })
    );
    assert!(Entry::from_bytes(&entry(u32::MAX)).is_err());
}
