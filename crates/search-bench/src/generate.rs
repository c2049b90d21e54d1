//! Deterministic synthetic knowledge bases for latency and size at scale (`--generated N`).
//!
//! Articles are stitched from runs of words of the corpus articles of one language (so word
//! frequencies, stop words and common phrases are realistic) plus a growing share of new words
//! (so the vocabulary keeps growing with the number of articles, as real knowledge bases do).
//! Titles reuse the corpus titles' shapes with some words swapped, so the corpus title queries and
//! their keystroke prefixes exercise the same code paths as on a real index.

use crate::corpus::Suite;
use crate::typos::SplitMix;
use kb_content::Article;

/// Word streams drawn from the corpus: what generated articles are made of.
pub struct Vocabulary {
    /// Body words in reading order (runs of them keep phrases and word frequencies realistic).
    body: Vec<String>,
    /// Titles, as word lists.
    titles: Vec<Vec<String>>,
    /// Title words, with repetition (so frequent title words are drawn more often).
    title_words: Vec<String>,
    /// The language tag of the source articles.
    pub lang: String,
}

impl Vocabulary {
    /// The words of every suite in `lang` (primary subtag match).
    pub fn from_suites(suites: &[Suite], lang: &str) -> Vocabulary {
        let mut v = Vocabulary {
            body: Vec::new(),
            titles: Vec::new(),
            title_words: Vec::new(),
            lang: lang.to_string(),
        };
        for s in suites
            .iter()
            .filter(|s| s.lang.split('-').next() == Some(lang))
        {
            for a in &s.articles {
                v.body.extend(words(&a.body));
                v.body.extend(words(&a.headings));
                let t = words(&a.title);
                v.title_words.extend(t.iter().cloned());
                v.titles.push(t);
            }
        }
        v
    }

    /// Whether there is enough text to generate from.
    pub fn is_empty(&self) -> bool {
        self.body.len() < 100 || self.titles.is_empty()
    }
}

fn words(text: &str) -> Vec<String> {
    text_analysis::words(text)
        .map(|(_, w)| w.to_string())
        .collect()
}

const SYLLABLES: [&str; 16] = [
    "ra", "to", "ni", "vel", "con", "ex", "or", "ia", "mo", "tri", "an", "sel", "du", "pho", "ke",
    "lin",
];

/// Generates `n` articles; the same seed gives the same articles.
pub fn articles(v: &Vocabulary, n: usize, seed: u64) -> Vec<Article> {
    let mut rng = SplitMix::new(seed);
    (0..n).map(|i| article(v, i, n, &mut rng)).collect()
}

/// A word that did not exist in the corpus: a corpus word with a made-up ending. The pool of
/// new words grows with the number of articles (Heaps' law), so big indexes get big vocabularies.
fn new_word(v: &Vocabulary, rng: &mut SplitMix, n: usize) -> String {
    let base = &v.body[rng.below(v.body.len())];
    let pool = (n * 4).max(16);
    let mut k = rng.below(pool);
    let mut out = base.to_lowercase();
    loop {
        out.push_str(SYLLABLES[k % SYLLABLES.len()]);
        k /= SYLLABLES.len();
        if k == 0 {
            break;
        }
    }
    out
}

/// A run of `len` corpus words starting at a random place, sometimes with a new word mixed in.
fn run(v: &Vocabulary, rng: &mut SplitMix, len: usize, n: usize) -> String {
    let start = rng.below(v.body.len() - len.min(v.body.len() - 1));
    let mut out = String::new();
    for i in 0..len {
        if !out.is_empty() {
            out.push(' ');
        }
        if rng.below(100) < 3 {
            out.push_str(&new_word(v, rng, n));
        } else {
            out.push_str(&v.body[(start + i) % v.body.len()]);
        }
    }
    out
}

fn sentence(v: &Vocabulary, rng: &mut SplitMix, n: usize) -> String {
    let len = 6 + rng.below(14);
    let mut s = run(v, rng, len, n);
    if let Some(first) = s.get(..1) {
        let upper = first.to_uppercase();
        s.replace_range(..1, &upper);
    }
    s.push('.');
    s
}

fn article(v: &Vocabulary, i: usize, n: usize, rng: &mut SplitMix) -> Article {
    // Title: a corpus title with about a third of its words swapped for other title words.
    let mut title_words = v.titles[rng.below(v.titles.len())].clone();
    for w in title_words.iter_mut().skip(1) {
        match rng.below(6) {
            0 | 1 => *w = v.title_words[rng.below(v.title_words.len())].clone(),
            2 if rng.below(4) == 0 => *w = new_word(v, rng, n),
            _ => {}
        }
    }
    let title = title_words.join(" ");
    let description = sentence(v, rng, n);
    let n_headings = rng.below(4);
    let headings: Vec<String> = (0..n_headings)
        .map(|_| {
            let len = 2 + rng.below(4);
            run(v, rng, len, n)
        })
        .collect();
    // Bodies of 2 to 12 paragraphs of 1 to 5 sentences (about 20 to 700 words).
    let paragraphs = 2 + rng.below(11);
    let mut body_parts = Vec::new();
    for _ in 0..paragraphs {
        let sentences = 1 + rng.below(5);
        let p: Vec<String> = (0..sentences).map(|_| sentence(v, rng, n)).collect();
        body_parts.push(p.join(" "));
    }
    let body = body_parts.join("\n\n");
    let lead = body_parts[0]
        .split_inclusive('.')
        .next()
        .unwrap_or("")
        .to_string();
    Article {
        path: format!("generated/{i:06}.md"),
        id: format!("generated/{}/{i:06}", v.lang),
        title,
        lang: Some(v.lang.clone()),
        tags: Vec::new(),
        url: None,
        description: Some(description),
        weight: 1.0,
        markdown: String::new(),
        headings: headings.join("\n"),
        body,
        lead,
        html: String::new(),
    }
}

/// Every keystroke of `text`: its prefixes ending on a character boundary, shortest first.
pub fn keystrokes(text: &str) -> impl Iterator<Item = &str> {
    text.char_indices()
        .skip(1)
        .map(|(i, _)| &text[..i])
        .chain(std::iter::once(text))
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystrokes_are_char_prefixes() {
        assert_eq!(keystrokes("añb").collect::<Vec<_>>(), ["a", "añ", "añb"]);
    }
}
