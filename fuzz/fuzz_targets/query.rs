//! The query engine on arbitrary queries against a real index (the sample knowledge base):
//! planning, prefix and typo expansion, tag and language filters, snippets.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn index() -> &'static [u8] {
    static INDEX: OnceLock<Vec<u8>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../index");
        let loaded = kb_content::load_dir(&root);
        let built = kb_build::build(&loaded.articles);
        let en = built
            .files
            .iter()
            .find(|(name, _)| name.starts_with("en-") && name.ends_with(".fdx"))
            .map(|(_, bytes)| bytes.clone())
            .expect("the sample knowledge base has English articles");
        en
    })
}

fuzz_target!(|input: (&str, Option<&str>, Vec<&str>, u8)| {
    let (text, lang, tags, limit) = input;
    let engine = search_engine::Engine::from_bytes(index()).expect("a real index loads");
    let query = search_engine::Query {
        text,
        lang,
        tags: tags.into_iter().take(4).collect(),
        limit: usize::from(limit % 32),
    };
    let plan = engine.plan(text);
    for hit in engine.search_plan(&plan, &query) {
        let _ = engine.snippet(&plan, hit.doc, 200);
        let _ = engine.title_highlights(&plan, hit.doc);
    }
});
