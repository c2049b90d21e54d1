//! The Markdown + front-matter loader (articles written by content teams, rendered into every
//! widget): no panic; what loads renders sanitized HTML without script.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &str| {
    if let Ok(article) = kb_content::parse_article("fuzz.md", source) {
        let html = article.html.to_ascii_lowercase();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }
});
