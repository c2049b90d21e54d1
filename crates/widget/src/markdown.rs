//! Light Markdown for chat messages: `**bold**`, `` `code` ``, `[text](https://…)` and bare
//! `https://` links. Parsed into segments the view turns into Yew nodes — never into HTML
//! strings — so nothing a person types can inject markup.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Bold(String),
    Code(String),
    /// Only `http` and `https` targets become links.
    Link {
        text: String,
        href: String,
    },
}

fn safe_href(href: &str) -> bool {
    (href.starts_with("https://") || href.starts_with("http://"))
        && href.len() <= 2048
        && !href
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
}

fn push_text(out: &mut Vec<Segment>, text: &str) {
    if text.is_empty() {
        return;
    }
    // Bare links inside plain text.
    let mut rest = text;
    while let Some(start) = protocol::find(rest, "http") {
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| c.is_whitespace())
            .unwrap_or(candidate.len());
        let mut url = &candidate[..end];
        url = url.trim_end_matches(['.', ',', ')', '!', '?', ';', ':']);
        if safe_href(url) && url.len() > "https://".len() {
            if start > 0 {
                merge_text(out, &rest[..start]);
            }
            out.push(Segment::Link {
                text: url.to_owned(),
                href: url.to_owned(),
            });
            rest = &rest[start + url.len()..];
        } else {
            merge_text(out, &rest[..start + 4]);
            rest = &rest[start + 4..];
        }
    }
    merge_text(out, rest);
}

fn merge_text(out: &mut Vec<Segment>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Segment::Text(prev)) = out.last_mut() {
        prev.push_str(text);
    } else {
        out.push(Segment::Text(text.to_owned()));
    }
}

/// Splits a message into segments. Unclosed markers stay literal text.
pub fn parse(input: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut plain_start = 0;
    let mut i = 0;
    let bytes = input.as_bytes();
    while i < bytes.len() {
        let rest = &input[i..];
        let found = if let Some(inner) = rest.strip_prefix("**") {
            protocol::find(inner, "**")
                .filter(|&e| e > 0)
                .map(|e| (Segment::Bold(inner[..e].to_owned()), e + 4))
        } else if let Some(inner) = rest.strip_prefix('`') {
            inner
                .find('`')
                .filter(|&e| e > 0)
                .map(|e| (Segment::Code(inner[..e].to_owned()), e + 2))
        } else if rest.starts_with('[') {
            protocol::find(rest, "](").and_then(|mid| {
                let close = rest[mid + 2..].find(')')? + mid + 2;
                let text = &rest[1..mid];
                let href = &rest[mid + 2..close];
                (!text.is_empty() && !text.contains('[') && safe_href(href)).then(|| {
                    (
                        Segment::Link {
                            text: text.to_owned(),
                            href: href.to_owned(),
                        },
                        close + 1,
                    )
                })
            })
        } else {
            None
        };
        match found {
            Some((segment, len)) => {
                push_text(&mut out, &input[plain_start..i]);
                out.push(segment);
                i += len;
                plain_start = i;
            }
            None => {
                i += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    push_text(&mut out, &input[plain_start..]);
    out
}

#[cfg(test)]
mod tests {
    //! Run natively by `cargo test` and as wasm by `cargo xtask test` (wasm-bindgen-test-runner).
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn t(s: &str) -> Segment {
        Segment::Text(s.into())
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn bold_code_and_links() {
        assert_eq!(
            parse("Go to **Billing** and run `export` — see [the guide](https://help.example/x)."),
            vec![
                t("Go to "),
                Segment::Bold("Billing".into()),
                t(" and run "),
                Segment::Code("export".into()),
                t(" — see "),
                Segment::Link {
                    text: "the guide".into(),
                    href: "https://help.example/x".into()
                },
                t("."),
            ]
        );
        assert_eq!(
            parse("Open https://app.example/billing, then retry"),
            vec![
                t("Open "),
                Segment::Link {
                    text: "https://app.example/billing".into(),
                    href: "https://app.example/billing".into()
                },
                t(", then retry"),
            ]
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn hostile_input_stays_text() {
        assert_eq!(
            parse("[x](javascript:alert(1))"),
            vec![t("[x](javascript:alert(1))")]
        );
        assert_eq!(
            parse("<img src=x onerror=alert(1)>"),
            vec![t("<img src=x onerror=alert(1)>")]
        );
        assert_eq!(
            parse("**unclosed and `also"),
            vec![t("**unclosed and `also")]
        );
        assert_eq!(
            parse("Olá 👋 **ç**"),
            vec![t("Olá 👋 "), Segment::Bold("ç".into())]
        );
        assert_eq!(parse("http://"), vec![t("http://")]);
    }
}
