//! Server-side article search over the sample knowledge base.

use server_search::{ArticleSearch, Boosts};
use std::path::Path;

#[test]
fn server_search_finds_articles_in_their_language() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../index");
    let articles = kb_content::load_dir(&root).articles;
    let search = ArticleSearch::build(&articles, true).unwrap();
    let hits = search
        .search(
            Some("pt-BR"),
            "receber pagamentos pelo pix",
            3,
            Boosts::default(),
        )
        .unwrap();
    assert_eq!(hits[0].id, "pt/receber-pagamentos-via-pix");
    let hits = search
        .search(
            Some("en"),
            "two-factor authentication",
            3,
            Boosts::default(),
        )
        .unwrap();
    assert_eq!(hits[0].id, "en/enable-two-factor-authentication");
    assert!(
        search
            .search(Some("en"), "the of and", 3, Boosts::default())
            .unwrap()
            .is_empty()
    );
}
