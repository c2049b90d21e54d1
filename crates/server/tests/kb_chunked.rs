//! A knowledge base big enough to be chunked, as served: the manifest names the whole index and
//! the entry (what the widget fetches), the entry names its chunks, and every one of them goes
//! out brotli-compressed and immutable.

use protocol::IndexManifest;
use std::sync::Arc;
use store::SqliteStore;

#[tokio::test]
async fn every_chunk_of_a_chunked_index_is_served_compressed_and_immutable() {
    let data = tempfile::tempdir().unwrap();
    let kb = tempfile::tempdir().unwrap();
    let words = [
        "password", "invoice", "billing", "account", "login", "email", "refund", "export", "team",
        "member", "invite", "archive", "widget", "mobile", "backup", "webhook",
    ];
    std::fs::create_dir_all(kb.path().join("en")).unwrap();
    for i in 0..700usize {
        let w = |k: usize| words[(i * 7 + k * 5 + i / 3) % words.len()];
        std::fs::write(
            kb.path().join(format!("en/a{i}.md")),
            format!(
                "---\ntitle: How do I {} my {} {i}?\nlang: en\n---\n{} and {} with {} in {}{i}. \
                 The {} settings keep every {} of the {} for {} days.\n",
                w(0),
                w(1),
                w(2),
                w(3),
                w(4),
                w(5),
                w(6),
                w(7),
                w(8),
                i % 90
            ),
        )
        .unwrap();
    }
    let store = SqliteStore::open(&data.path().join("db")).await.unwrap();
    let settings = server::Settings {
        knowledge_base: Some(kb.path().to_path_buf()),
        ..server::Settings::default()
    };
    let state = server::AppState::new(Arc::new(store), settings);
    state.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    let base = format!("http://{addr}");

    let manifest: IndexManifest = reqwest::get(format!("{base}/index/manifest.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let en = &manifest.languages["en"];
    assert_eq!(en.documents, 700);
    // The whole index for the CLI and other whole-index readers, and the chunked form beside it.
    let whole = reqwest::get(format!("{base}/index/{}", en.index))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(search_index::Index::from_bytes(&whole).unwrap().len(), 700);
    let entry_name = &en.chunked;
    assert!(
        entry_name.ends_with(".entry.fdx"),
        "a knowledge base this big is an entry and chunks, not a bundle: {entry_name}"
    );
    let entry = reqwest::get(format!("{base}/index/{entry_name}"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        search_index::Index::from_bytes(&entry).err(),
        Some(search_index::IndexError::WrongKind),
        "the entry is not a whole index"
    );
    let entry = search_index::Entry::from_bytes(&entry).unwrap();
    assert!(entry.n_term_chunks() > 2, "{}", entry.n_term_chunks());
    let chunks: Vec<search_index::ChunkRef> = (0..entry.n_term_chunks())
        .map(|i| entry.term_chunk(i))
        .chain((0..entry.n_doc_chunks()).map(|i| entry.doc_chunk(i)))
        .collect();
    let client = reqwest::Client::new();
    for chunk in &chunks {
        let get = |accept: &'static str| {
            client
                .get(format!("{base}/index/{}", chunk.name))
                .header("accept-encoding", accept)
                .send()
        };
        let plain = get("identity").await.unwrap();
        assert_eq!(plain.status(), 200, "{}", chunk.name);
        let plain = plain.bytes().await.unwrap();
        let br = get("gzip, deflate, br").await.unwrap();
        assert_eq!(br.headers()["content-encoding"], "br", "{}", chunk.name);
        assert_eq!(br.headers()["vary"], "accept-encoding", "{}", chunk.name);
        assert!(
            br.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable"),
            "{}",
            chunk.name
        );
        let br = br.bytes().await.unwrap();
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut decoded).unwrap();
        assert_eq!(decoded, plain, "{}", chunk.name);
        if chunk.docs {
            search_index::DocChunk::from_bytes(&decoded).unwrap();
        } else {
            search_index::TermChunk::from_bytes(decoded).unwrap();
        }
    }
}
