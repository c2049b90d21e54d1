//! `cargo xtask bench messages`: agent search over 100,000 stored messages (budget: answer in
//! <= 50 ms). Messages are generated deterministically from the sample knowledge base's
//! sentences in four languages; queries are one to three words drawn from the same text.

use server_search::messages::{Kind, MessageSearch};
use std::time::Instant;

/// A small deterministic PRNG (SplitMix64): the same messages on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn main() {
    let messages: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../index");
    let articles = kb_content::load_dir(&root).articles;
    let sentences: Vec<String> = articles
        .iter()
        .flat_map(|a| {
            a.body
                .split(['.', '!', '?', '\n'])
                .map(|s| s.trim().to_owned())
                .filter(|s| s.split_whitespace().count() >= 4)
                .collect::<Vec<_>>()
        })
        .collect();
    let words: Vec<&str> = sentences
        .iter()
        .flat_map(|s| s.split_whitespace())
        .filter(|w| w.chars().count() >= 5 && w.chars().all(char::is_alphanumeric))
        .collect();
    assert!(!sentences.is_empty(), "no sentences in {}", root.display());

    let dir = std::env::temp_dir().join(format!("frontdesk-message-bench-{}", std::process::id()));
    let search = MessageSearch::open(&dir).expect("index folder");
    let mut rng = Rng(42);
    let started = Instant::now();
    for i in 0..messages {
        let conversation = (i / 5) as i64; // five messages per conversation
        let n = 1 + rng.below(3);
        let text: Vec<&str> = (0..n)
            .map(|_| sentences[rng.below(sentences.len())].as_str())
            .collect();
        let kind = if i % 10 == 9 {
            Kind::Note
        } else {
            Kind::Message
        };
        search
            .add(conversation, kind, &text.join(". "))
            .expect("add");
    }
    search.commit().expect("commit");
    let build = started.elapsed();

    let mut latencies = Vec::new();
    for _ in 0..500 {
        let n = 1 + rng.below(3);
        let query: Vec<&str> = (0..n).map(|_| words[rng.below(words.len())]).collect();
        let query = query.join(" ");
        let t = Instant::now();
        let hits = search.search(&query, 20).expect("search");
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(hits);
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "agent search over {} stored messages ({} documents): indexed in {:.1} s",
        messages,
        search.documents(),
        build.as_secs_f64()
    );
    println!(
        "  500 queries of 1-3 words: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms (budget 50 ms)",
        pct(0.5),
        pct(0.95),
        latencies[latencies.len() - 1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
