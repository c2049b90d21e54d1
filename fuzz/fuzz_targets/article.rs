//! The Markdown + front-matter loader (articles written by content teams, rendered into every
//! widget): no panic; what loads renders sanitized HTML without script.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &str| {
    if let Ok(article) = kb_content::parse_article("fuzz.md", source) {
        // Text may say "javascript:"; no element or attribute may run it.
        let html = article.html.to_ascii_lowercase();
        assert!(!html.contains("<script"), "{html}");
        for attribute in ["href=\"javascript:", "src=\"javascript:", " on"] {
            let found = html.match_indices(attribute).any(|(at, _)| {
                // ` on…=` inside a tag is an event handler; in text it is a word.
                attribute != " on" || inside_tag(&html, at)
            });
            assert!(!found, "{attribute} in {html}");
        }
    }
});

/// Whether byte `at` of `html` is inside a tag (after a `<` not yet closed by `>`), and the
/// word there is an attribute (followed by `=`).
fn inside_tag(html: &str, at: usize) -> bool {
    let before = &html[..at];
    let in_tag = before.rfind('<') > before.rfind('>');
    let word: String = html[at + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    in_tag && html[at + 1 + word.len()..].starts_with('=')
}
