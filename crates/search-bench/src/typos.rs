//! Deterministic typo injection: one random edit in one word of five letters or more.

/// A small deterministic PRNG (SplitMix64), so every run injects the same typos.
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Applies one edit (delete, insert, substitute or transpose) inside one word of >= 5 letters.
/// Returns the query unchanged when it has no such word.
pub fn inject(query: &str, rng: &mut SplitMix) -> String {
    let words: Vec<(usize, &str)> = text_analysis::words(query)
        .filter(|(_, w)| w.chars().filter(|c| c.is_alphabetic()).count() >= 5)
        .collect();
    if words.is_empty() {
        return query.to_string();
    }
    let (start, word) = words[rng.below(words.len())];
    let mut chars: Vec<char> = word.chars().collect();
    // Replacement letters come from the word itself, so the typo stays in the word's script.
    let pool: Vec<char> = chars
        .iter()
        .copied()
        .filter(|c| c.is_alphabetic())
        .collect();
    let pos = rng.below(chars.len());
    match rng.below(4) {
        0 => {
            chars.remove(pos);
        }
        1 => chars.insert(pos, pool[rng.below(pool.len())]),
        2 => {
            let original = chars[pos];
            let mut c = pool[rng.below(pool.len())];
            for _ in 0..8 {
                if c != original {
                    break;
                }
                c = pool[rng.below(pool.len())];
            }
            chars[pos] = c;
        }
        _ => {
            let p = pos.min(chars.len() - 2);
            chars.swap(p, p + 1);
        }
    }
    let edited: String = chars.into_iter().collect();
    format!(
        "{}{}{}",
        &query[..start],
        edited,
        &query[start + word.len()..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_in_a_long_word_same_every_run() {
        let mut rng = SplitMix::new(7);
        let out: Vec<String> = [
            "How do I reset my password?",
            "Как настроить принтер",
            "Wi-Fi off",
        ]
        .iter()
        .map(|q| inject(q, &mut rng))
        .collect();
        expect_test::expect!["How do I reset my passsord? | Как насьроить принтер | Wi-Fi off"]
            .assert_eq(&out.join(" | "));
    }
}
