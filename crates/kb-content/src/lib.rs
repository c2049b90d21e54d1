//! Loads knowledge-base articles: Markdown with YAML front matter, split into fields for indexing
//! and rendered to sanitized HTML for display.
//!
//! A broken article is reported (file and line) and skipped; the others still load.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// One loaded article.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Path relative to the content root, with `/` separators.
    pub path: String,
    /// Stable id: front matter `id`, or the path without its extension.
    pub id: String,
    /// Title (required).
    pub title: String,
    /// BCP 47 language tag from `lang` or `language`, if any.
    pub lang: Option<String>,
    /// Tags (a YAML list or a comma-separated string).
    pub tags: Vec<String>,
    /// Link to the published article.
    pub url: Option<String>,
    /// One-line summary.
    pub description: Option<String>,
    /// Ranking weight (default 1.0).
    pub weight: f32,
    /// The Markdown body (after the front matter).
    pub markdown: String,
    /// Plain text of the headings, one per line.
    pub headings: String,
    /// Plain text of everything else in the body.
    pub body: String,
    /// The first sentence of the body (at most 40 words): a summary worth its own field.
    pub lead: String,
    /// The body rendered to sanitized HTML.
    pub html: String,
}

/// Why an article was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {kind}")]
pub struct LoadError {
    /// The file, as given to the loader.
    pub path: PathBuf,
    /// 1-based line of the problem.
    pub line: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// The kinds of article errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Io(String),
    /// The file does not start with a `---` front matter block.
    MissingFrontMatter,
    /// The front matter block is never closed by `---`.
    UnterminatedFrontMatter,
    /// The front matter is not valid YAML or has a field of the wrong type.
    Yaml(String),
    /// The front matter has no `title`.
    MissingTitle,
    /// Two articles have the same id.
    DuplicateId(String),
    /// A link, image or the front matter's `url` uses a scheme that runs code or embeds
    /// content (`javascript:`, `vbscript:`, `data:`, `file:`).
    ActiveUrl(String),
    /// Raw HTML opens an element whose content is not Markdown (`<style>`, `<script>`,
    /// `<textarea>`…) and never closes it: the rest of the article would vanish.
    UnclosedHtml(String),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io(e) => write!(f, "cannot read file: {e}"),
            ErrorKind::MissingFrontMatter => write!(
                f,
                "missing front matter: start the file with a `---` line, then `title: ...`"
            ),
            ErrorKind::UnterminatedFrontMatter => {
                write!(f, "front matter is not closed: add a `---` line after it")
            }
            ErrorKind::Yaml(e) => write!(f, "invalid front matter: {e}"),
            ErrorKind::MissingTitle => write!(f, "front matter has no `title`"),
            ErrorKind::DuplicateId(id) => write!(
                f,
                "duplicate article id `{id}` (already used by another file); set a unique `id`"
            ),
            ErrorKind::ActiveUrl(url) => write!(
                f,
                "unsafe URL `{url}`: use an http(s), mailto or relative link"
            ),
            ErrorKind::UnclosedHtml(tag) => write!(
                f,
                "raw HTML `<{tag}>` is never closed: the rest of the article would be swallowed; \
                 add `</{tag}>` or remove it"
            ),
        }
    }
}

/// The result of loading a directory: the good articles and one error per skipped file.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Articles in path order.
    pub articles: Vec<Article>,
    /// Problems, in path order.
    pub errors: Vec<LoadError>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FrontMatter {
    id: Option<String>,
    title: Option<String>,
    lang: Option<String>,
    language: Option<String>,
    tags: Option<Tags>,
    keywords: Option<Tags>,
    url: Option<String>,
    description: Option<String>,
    weight: Option<f32>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Tags {
    List(Vec<String>),
    Text(String),
}

impl Tags {
    fn into_vec(self) -> Vec<String> {
        match self {
            Tags::List(v) => v,
            Tags::Text(s) => s
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        }
    }
}

/// Loads every `*.md` file under `root` (recursively, `README.md` files excepted), sorted by path.
pub fn load_dir(root: &Path) -> Loaded {
    let mut files = Vec::new();
    let mut loaded = Loaded::default();
    if let Err(e) = collect(root, &mut files) {
        loaded.errors.push(LoadError {
            path: root.to_path_buf(),
            line: 0,
            kind: ErrorKind::Io(e.to_string()),
        });
    }
    files.sort();
    let mut seen = std::collections::BTreeMap::<String, PathBuf>::new();
    for file in files {
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let result = std::fs::read_to_string(&file)
            .map_err(|e| LoadError {
                path: file.clone(),
                line: 0,
                kind: ErrorKind::Io(e.to_string()),
            })
            .and_then(|src| {
                parse_article(&rel, &src).map_err(|(line, kind)| LoadError {
                    path: file.clone(),
                    line,
                    kind,
                })
            });
        match result {
            Ok(a) if seen.contains_key(&a.id) => {
                loaded.errors.push(LoadError {
                    path: file.clone(),
                    line: 1,
                    kind: ErrorKind::DuplicateId(a.id),
                });
            }
            Ok(a) => {
                seen.insert(a.id.clone(), file.clone());
                loaded.articles.push(a);
            }
            Err(e) => loaded.errors.push(e),
        }
    }
    loaded
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "md")
            // A folder's README documents the folder; it is not an article.
            && !path
                .file_name()
                .is_some_and(|n| n.eq_ignore_ascii_case("README.md"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one article. `rel_path` (with `/`) gives the default id. Errors carry a 1-based line.
pub fn parse_article(rel_path: &str, source: &str) -> Result<Article, (usize, ErrorKind)> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut lines = source.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("---") {
        return Err((1, ErrorKind::MissingFrontMatter));
    }
    let mut yaml_len = 0;
    let mut closed = false;
    for line in lines.by_ref() {
        if line.trim_end() == "---" {
            closed = true;
            break;
        }
        yaml_len += line.len();
    }
    if !closed {
        return Err((1, ErrorKind::UnterminatedFrontMatter));
    }
    let yaml_start = source.find('\n').map_or(source.len(), |i| i + 1);
    let yaml = &source[yaml_start..yaml_start + yaml_len];
    let markdown: String = lines.collect();
    let fm: FrontMatter = if yaml.trim().is_empty() {
        FrontMatter::default()
    } else {
        serde_yaml::from_str(yaml).map_err(|e| {
            // YAML line 1 is file line 2.
            let line = e.location().map_or(1, |l| l.line() + 1);
            // serde_yaml counts lines from the front matter; we report file lines only.
            let mut message = e.to_string();
            if let Some(at) = message.rfind(" at line ") {
                message.truncate(at);
            }
            (line, ErrorKind::Yaml(message))
        })?
    };
    let title = fm
        .title
        .filter(|t| !t.trim().is_empty())
        .ok_or((1, ErrorKind::MissingTitle))?;
    let id = fm
        .id
        .unwrap_or_else(|| rel_path.strip_suffix(".md").unwrap_or(rel_path).to_string());
    let mut tags = fm.tags.map(Tags::into_vec).unwrap_or_default();
    tags.extend(fm.keywords.map(Tags::into_vec).unwrap_or_default());
    // The Markdown starts after the front matter's two `---` lines.
    let first_line = source[..yaml_start + yaml_len].matches('\n').count() + 2;
    if let Some(url) = fm.url.as_deref().filter(|u| is_active_url(u)) {
        let line = yaml
            .lines()
            .position(|l| l.trim_start().starts_with("url:"))
            .map_or(1, |i| i + 2);
        return Err((line, ErrorKind::ActiveUrl(url.to_owned())));
    }
    check_markdown(&markdown, first_line)?;
    let (headings, body) = split_text(&markdown);
    let html = render_html(&markdown);
    let lead = lead_of(&body);
    Ok(Article {
        path: rel_path.to_string(),
        id,
        title,
        lang: fm.lang.or(fm.language),
        tags,
        url: fm.url,
        description: fm.description,
        weight: fm.weight.unwrap_or(1.0),
        markdown,
        headings,
        body,
        lead,
        html,
    })
}

/// Whether a URL would run code or embed content when followed: `javascript:`, `vbscript:`,
/// `data:`, `file:` (case and leading spaces ignored, as browsers do).
pub fn is_active_url(url: &str) -> bool {
    let folded: String = url
        .trim_start()
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(12)
        .collect::<String>()
        .to_ascii_lowercase();
    ["javascript:", "vbscript:", "data:", "file:"]
        .iter()
        .any(|s| folded.starts_with(s))
}

/// Elements whose content is raw text: left open, they swallow the rest of the page.
const RAW_TEXT_ELEMENTS: [&str; 8] = [
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];

/// Links and images with active URLs, and raw-text HTML elements left open, with the line
/// (`first_line` is the file line of the Markdown's first line).
fn check_markdown(markdown: &str, first_line: usize) -> Result<(), (usize, ErrorKind)> {
    let line_of = |offset: usize| first_line + markdown[..offset].matches('\n').count();
    let mut open: Vec<(String, usize)> = Vec::new();
    for (event, range) in Parser::new_ext(markdown, Options::all()).into_offset_iter() {
        match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. })
                if is_active_url(&dest_url) =>
            {
                return Err((
                    line_of(range.start),
                    ErrorKind::ActiveUrl(dest_url.to_string()),
                ));
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                // Attribute values (`href=…`, `src=…`, …) with active URLs.
                for (at, _) in html.match_indices('=') {
                    let value = html[at + 1..].trim_start_matches([' ', '"', '\'']);
                    if is_active_url(value) {
                        let url: String = value
                            .chars()
                            .take_while(|c| !matches!(c, '"' | '\'' | '>' | ' '))
                            .collect();
                        return Err((line_of(range.start), ErrorKind::ActiveUrl(url)));
                    }
                }
                let lower = html.to_ascii_lowercase();
                for tag in RAW_TEXT_ELEMENTS {
                    let opens = lower.matches(&format!("<{tag}")).count();
                    let closes = lower.matches(&format!("</{tag}")).count();
                    for _ in 0..opens.saturating_sub(closes) {
                        open.push((tag.to_owned(), line_of(range.start)));
                    }
                    for _ in 0..closes.saturating_sub(opens) {
                        if let Some(i) = open.iter().rposition(|(t, _)| t == tag) {
                            open.remove(i);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    match open.into_iter().next() {
        Some((tag, line)) => Err((line, ErrorKind::UnclosedHtml(tag))),
        None => Ok(()),
    }
}

/// Splits Markdown into heading text and body text (plain, for indexing).
pub fn split_text(markdown: &str) -> (String, String) {
    let mut headings = String::new();
    let mut body = String::new();
    let mut in_heading = false;
    for event in Parser::new_ext(markdown, Options::all()) {
        let target = if in_heading { &mut headings } else { &mut body };
        match event {
            Event::Start(Tag::Heading { .. }) => in_heading = true,
            Event::End(TagEnd::Heading(_)) => {
                in_heading = false;
                headings.push('\n');
            }
            Event::Text(t) | Event::Code(t) => target.push_str(&t),
            Event::SoftBreak | Event::HardBreak => target.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Item | TagEnd::CodeBlock | TagEnd::TableCell,
            ) => target.push('\n'),
            _ => {}
        }
    }
    (headings.trim().to_string(), body.trim().to_string())
}

/// The first sentence of a text, at most 40 words.
pub fn lead_of(text: &str) -> String {
    let mut end = text.len();
    for (i, c) in text.char_indices() {
        let next = text[i + c.len_utf8()..].chars().next();
        if c == '\n'
            || (matches!(c, '.' | '?' | '!' | '。') && next.is_none_or(char::is_whitespace))
        {
            end = i + c.len_utf8();
            break;
        }
    }
    text[..end]
        .split_whitespace()
        .take(40)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Renders Markdown to HTML and removes anything unsafe (scripts, event handlers, `javascript:` links).
pub fn render_html(markdown: &str) -> String {
    let mut raw = String::new();
    pulldown_cmark::html::push_html(&mut raw, Parser::new_ext(markdown, Options::all()));
    ammonia::clean(&raw)
}

#[cfg(test)]
mod tests;
