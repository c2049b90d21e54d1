//! Article parsing tests: fields, defaults, text split, sanitizing, and errors with file and line.

use super::*;
use expect_test::{Expect, expect};

fn check(source: &str, expect: Expect) {
    let shown = match parse_article("guides/reset.md", source) {
        Ok(a) => format!(
            "id={} title={:?} lang={:?} tags={:?} weight={} desc={:?}\nheadings={:?}\nbody={:?}\nhtml={}",
            a.id,
            a.title,
            a.lang,
            a.tags,
            a.weight,
            a.description,
            a.headings,
            a.body,
            a.html.trim()
        ),
        Err((line, kind)) => format!("line {line}: {kind}"),
    };
    expect.assert_eq(&shown);
}

#[test]
fn full_front_matter_and_unknown_fields() {
    check(
        "---\nid: \"kb/reset\"\ntitle: \"Reset your password\"\nlanguage: pt\nslug: x\nparent: y\ntags: [account, security]\nweight: 2\ndescription: One line.\n---\n\nIntro **bold**.\n\n## Steps\n\n1. Open *Settings*\n",
        expect![[r#"
            id=kb/reset title="Reset your password" lang=Some("pt") tags=["account", "security"] weight=2 desc=Some("One line.")
            headings="Steps"
            body="Intro bold.\nOpen Settings"
            html=<p>Intro <strong>bold</strong>.</p>
            <h2>Steps</h2>
            <ol>
            <li>Open <em>Settings</em></li>
            </ol>"#]],
    );
}

#[test]
fn defaults_and_comma_tags() {
    check(
        "---\ntitle: Hi\ntags: a, b\n---\nText",
        expect![[r#"
        id=guides/reset title="Hi" lang=None tags=["a", "b"] weight=1 desc=None
        headings=""
        body="Text"
        html=<p>Text</p>"#]],
    );
}

#[test]
fn html_is_sanitized() {
    // `index check` refuses active URLs; the renderer still strips them (defense in depth).
    assert_eq!(
        render_html(
            "<script>alert(1)</script>\n\n<a href=\"javascript:alert(1)\">link</a> [md](javascript:alert(2)) <img src=x onerror=alert(1)>"
        )
        .trim(),
        r#"<p><a rel="noopener noreferrer">link</a> <a rel="noopener noreferrer">md</a> <img src="x"></p>"#
    );
}

#[test]
fn errors_name_the_line() {
    check(
        "no front matter",
        expect![
            "line 1: missing front matter: start the file with a `---` line, then `title: ...`"
        ],
    );
    check(
        "---\ntitle: X\n",
        expect!["line 1: front matter is not closed: add a `---` line after it"],
    );
    check(
        "---\nid: a\n---\nbody",
        expect!["line 1: front matter has no `title`"],
    );
    check(
        "---\nid: a\ntitle: [unclosed\n---\nbody",
        expect!["line 3: invalid front matter: title: invalid type: sequence, expected a string"],
    );
    check(
        "---\ntitle: T\nweight: heavy\n---\nbody",
        expect![[
            r#"line 3: invalid front matter: weight: invalid type: string "heavy", expected f32"#
        ]],
    );
}

#[test]
fn active_urls_and_unclosed_raw_html_are_refused_with_their_line() {
    check(
        "---\ntitle: T\nurl: \"JavaScript:alert(1)\"\n---\nbody",
        expect![
            "line 3: unsafe URL `JavaScript:alert(1)`: use an http(s), mailto or relative link"
        ],
    );
    check(
        "---\ntitle: T\n---\nfirst\n\nsee [here](javascript:alert(1)) now",
        expect![
            "line 6: unsafe URL `javascript:alert(1)`: use an http(s), mailto or relative link"
        ],
    );
    check(
        "---\ntitle: T\n---\n![x](data:image/svg+xml;base64,PHN2Zz4=)",
        expect![
            "line 4: unsafe URL `data:image/svg+xml;base64,PHN2Zz4=`: use an http(s), mailto or relative link"
        ],
    );
    check(
        "---\ntitle: T\n---\nintro\n\n<style>\np { color: red }\n\nthe rest of the article",
        expect![
            "line 6: raw HTML `<style>` is never closed: the rest of the article would be swallowed; add `</style>` or remove it"
        ],
    );
    check(
        "---\ntitle: T\n---\n<a href = 'vbscript:msgbox(1)'>x</a>",
        expect!["line 4: unsafe URL `vbscript:msgbox(1)`: use an http(s), mailto or relative link"],
    );
    // Closed raw HTML and safe links are fine.
    let ok = crate::parse_article(
        "ok.md",
        "---\ntitle: T\nurl: https://help.example/t\n---\n<style>p{}</style>\n\n[a](https://x.example) [b](/rel) [c](mailto:a@b.example)",
    );
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn a_bad_article_is_skipped_and_reported() {
    let dir = std::env::temp_dir().join(format!("kb-content-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("b.md"), "---\ntitle: B\n---\nb").unwrap();
    std::fs::write(dir.join("sub/a.md"), "---\ntitle: A\n---\na").unwrap();
    std::fs::write(dir.join("broken.md"), "---\ntitle: [\n---\n").unwrap();
    std::fs::write(dir.join("dup.md"), "---\ntitle: D\nid: b\n---\n").unwrap();
    let loaded = load_dir(&dir);
    let ids: Vec<&str> = loaded.articles.iter().map(|a| a.id.as_str()).collect();
    let errors: Vec<String> = loaded
        .errors
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e.path.strip_prefix(&dir).unwrap().display(),
                e.line
            )
        })
        .collect();
    std::fs::remove_dir_all(&dir).unwrap();
    expect![[r#"["b", "sub/a"] ["broken.md:2", "dup.md:1"]"#]]
        .assert_eq(&format!("{ids:?} {errors:?}"));
}

#[test]
fn lead_is_the_first_sentence() {
    let leads: Vec<String> = [
        "Debian 12.1 is out. More text.",
        "Use apt-get (see apt.conf). Then reboot!",
        "One line without a stop\nsecond line",
    ]
    .iter()
    .map(|t| lead_of(t))
    .collect();
    expect!["Debian 12.1 is out. | Use apt-get (see apt.conf). | One line without a stop"]
        .assert_eq(&leads.join(" | "));
}
