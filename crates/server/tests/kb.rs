//! The knowledge base as served: manifest and immutable files under /index/, server-side search,
//! and a rebuild on change announced to connected widgets.

use futures_util::{SinkExt, StreamExt};
use protocol::{IndexManifest, ServerFrame};
use std::sync::Arc;
use std::time::Duration;
use store::SqliteStore;
use tokio_tungstenite::tungstenite::protocol::Message;

fn write(dir: &std::path::Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn index_is_served_searched_and_rebuilt_live() {
    let data = tempfile::tempdir().unwrap();
    let kb = tempfile::tempdir().unwrap();
    write(
        kb.path(),
        "en/refunds.md",
        "---\ntitle: How do I refund a payment?\nlang: en\ntags: [payments, Refunds]\n---\nOpen **Payments**, pick the payment and click Refund.\n",
    );
    write(
        kb.path(),
        "pt/pix.md",
        "---\ntitle: Como receber via PIX?\nlang: pt-BR\n---\nAtive o PIX em Configurações.\n",
    );
    write(kb.path(), "en/broken.md", "no front matter here\n");
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

    let response = reqwest::get(format!("{base}/index/manifest.json"))
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let manifest: IndexManifest = response.json().await.unwrap();
    assert_eq!(manifest.languages.keys().collect::<Vec<_>>(), ["en", "pt"]);
    assert_eq!(
        manifest.languages["en"].documents, 1,
        "the broken article is skipped, not fatal"
    );
    let file = reqwest::get(format!("{base}/index/{}", manifest.languages["en"].index))
        .await
        .unwrap();
    assert!(
        file.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let bytes = file.bytes().await.unwrap();
    assert!(search_engine::Engine::from_bytes(&bytes).is_ok());

    // A rendered article opened on its own is locked down like the apps.
    let articles: std::collections::BTreeMap<String, String> = reqwest::get(format!(
        "{base}/index/{}",
        manifest.languages["en"].articles
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let (_, path) = articles.iter().next().expect("an article");
    let article = reqwest::get(format!("{base}/index/{path}")).await.unwrap();
    assert_eq!(
        article.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let csp = article.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    assert_eq!(article.headers()["x-content-type-options"], "nosniff");

    // Every file of the build goes out compressed as the client accepts, the same bytes once
    // decoded (the index, the article map, each rendered article, in both languages).
    let mut names = Vec::new();
    for lang in manifest.languages.values() {
        names.push(lang.index.clone());
        names.push(lang.articles.clone());
        let map: std::collections::BTreeMap<String, String> =
            reqwest::get(format!("{base}/index/{}", lang.articles))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        names.extend(map.into_values());
    }
    let client = reqwest::Client::new();
    let mut compressed = Vec::new();
    for name in &names {
        let get = |accept: &'static str| {
            client
                .get(format!("{base}/index/{name}"))
                .header("accept-encoding", accept)
                .send()
        };
        let plain = get("identity").await.unwrap();
        assert_eq!(plain.headers()["vary"], "accept-encoding", "{name}");
        assert!(plain.headers().get("content-encoding").is_none(), "{name}");
        let plain = plain.bytes().await.unwrap();
        let br = get("gzip, deflate, br").await.unwrap();
        if plain.len() < 100 {
            // Too small to shrink (a one-line article): sent as it is.
            assert!(br.headers().get("content-encoding").is_none(), "{name}");
            continue;
        }
        assert_eq!(
            br.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            Some("br"),
            "{name} ({} bytes)",
            plain.len()
        );
        let br = br.bytes().await.unwrap();
        assert!(
            br.len() < plain.len(),
            "{name}: {} of {}",
            br.len(),
            plain.len()
        );
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut decoded).unwrap();
        assert_eq!(decoded, plain, "{name}");
        let gz = get("gzip").await.unwrap();
        assert_eq!(gz.headers()["content-encoding"], "gzip", "{name}");
        let gz = gz.bytes().await.unwrap();
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut decoded)
            .unwrap();
        assert_eq!(decoded, plain, "{name}");
        let refused = get("br;q=0, gzip;q=0").await.unwrap();
        assert!(
            refused.headers().get("content-encoding").is_none(),
            "{name}"
        );
        compressed.push(name.clone());
    }
    for lang in manifest.languages.values() {
        assert!(compressed.contains(&lang.index), "{compressed:?}");
    }

    let hits: serde_json::Value =
        reqwest::get(format!("{base}/api/search?q=reembolso%20pix&lang=pt-BR"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(hits[0]["id"], "pt/pix", "{hits}");
    let too_long = reqwest::get(format!("{base}/api/search?q={}", "a".repeat(300)))
        .await
        .unwrap();
    assert_eq!(too_long.status(), 400);

    // A widget is connected; an article changes; the widget hears about the new index.
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{addr}/ws/visitor"),
    )
    .unwrap();
    req.headers_mut().insert("origin", base.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::text(r#"{"type":"hello","v":1,"site":"demo"}"#))
        .await
        .unwrap();
    let _welcome = ws.next().await;
    write(
        kb.path(),
        "en/vat.md",
        "---\ntitle: How do I charge VAT?\nlang: en\n---\nSet tax rates under Settings.\n",
    );
    let changed = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(Ok(Message::Text(text))) = ws.next().await {
            if let Ok(ServerFrame::IndexChanged { version }) = protocol::decode_server(&text) {
                return version;
            }
        }
        panic!("socket closed");
    })
    .await
    .expect("index_changed within 15 s");
    assert_ne!(changed, manifest.version);
    let fresh: IndexManifest = reqwest::get(format!("{base}/index/manifest.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fresh.version, changed);
    assert_eq!(fresh.languages["en"].documents, 2);
    // The previous build's files stay available for widgets still holding the old manifest.
    let old = reqwest::get(format!("{base}/index/{}", manifest.languages["en"].index))
        .await
        .unwrap();
    assert_eq!(old.status(), 200);

    // Asking for a human after reading an article: its tags become the conversation's topics.
    ws.send(Message::text(
        r#"{"type":"send","id":"q1","body":"The refund did not arrive","context":{"query":"refund","opened":[{"id":"en/refunds","title":"How do I refund a payment?"}]}}"#,
    ))
    .await
    .unwrap();
    let conversation = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(Message::Text(text))) = ws.next().await {
            if let Ok(ServerFrame::Ack { conversation, .. }) = protocol::decode_server(&text) {
                return conversation;
            }
        }
        panic!("socket closed");
    })
    .await
    .expect("ack");
    let reader = SqliteStore::open(&data.path().join("db")).await.unwrap();
    use store::Store;
    let c = reader.conversation(conversation).await.unwrap().unwrap();
    assert_eq!(c.labels, ["payments", "refunds"]);

    // Asking without opening an article: the topics come from the best article for the
    // question as finally typed, not from the first suggestion shown (for the first keystroke).
    let (mut other, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/visitor"))
        .await
        .unwrap();
    other
        .send(Message::text(r#"{"type":"hello","v":1,"site":"demo"}"#))
        .await
        .unwrap();
    other.send(Message::text(
        r#"{"type":"send","id":"q2","body":"Where is my money?","context":{"query":"how do I refund a payment","shown":[{"id":"en/vat","title":"How do I charge VAT?"},{"id":"en/refunds","title":"How do I refund a payment?"}]}}"#,
    ))
    .await
    .unwrap();
    let conversation = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(Message::Text(text))) = other.next().await {
            if let Ok(ServerFrame::Ack { conversation, .. }) = protocol::decode_server(&text) {
                return conversation;
            }
        }
        panic!("socket closed");
    })
    .await
    .expect("ack");
    let c = reader.conversation(conversation).await.unwrap().unwrap();
    assert_eq!(c.labels, ["payments", "refunds"]);
}
