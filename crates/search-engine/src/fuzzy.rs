//! A Damerau-Levenshtein automaton over UTF-8 bytes, for typo search on the FST term dictionary.
//!
//! Why our own: fst's `Levenshtein` finds nothing for Cyrillic keys (measured on this corpus), and it
//! counts a swap of two letters as two edits, while typists make it as one.

use fst::Automaton;

/// The dictionary searches the engine runs, as one automaton type: fst's stream code is generic
/// over the automaton, and each type searched with got its own copy in the widget's wasm
/// (measured: see the commit). The states are the wrapped automata's own, so each search
/// behaves exactly as with the automaton alone.
#[derive(Clone)]
pub enum Keys<'a> {
    /// Keys starting with a prefix.
    Prefix(fst::automaton::StartsWith<fst::automaton::Str<'a>>),
    /// Keys within the edit budget of a word.
    Near(Typo),
    /// Keys starting with something within the edit budget of a word.
    NearPrefix(fst::automaton::StartsWith<Typo>),
}

pub enum KeysState<'a> {
    Prefix(<fst::automaton::StartsWith<fst::automaton::Str<'a>> as Automaton>::State),
    Near(<Typo as Automaton>::State),
    NearPrefix(<fst::automaton::StartsWith<Typo> as Automaton>::State),
}

impl<'a> Automaton for Keys<'a> {
    type State = KeysState<'a>;

    fn start(&self) -> KeysState<'a> {
        match self {
            Keys::Prefix(a) => KeysState::Prefix(a.start()),
            Keys::Near(a) => KeysState::Near(a.start()),
            Keys::NearPrefix(a) => KeysState::NearPrefix(a.start()),
        }
    }

    fn is_match(&self, state: &KeysState<'a>) -> bool {
        match (self, state) {
            (Keys::Prefix(a), KeysState::Prefix(s)) => a.is_match(s),
            (Keys::Near(a), KeysState::Near(s)) => a.is_match(s),
            (Keys::NearPrefix(a), KeysState::NearPrefix(s)) => a.is_match(s),
            _ => false,
        }
    }

    fn can_match(&self, state: &KeysState<'a>) -> bool {
        match (self, state) {
            (Keys::Prefix(a), KeysState::Prefix(s)) => a.can_match(s),
            (Keys::Near(a), KeysState::Near(s)) => a.can_match(s),
            (Keys::NearPrefix(a), KeysState::NearPrefix(s)) => a.can_match(s),
            _ => false,
        }
    }

    fn will_always_match(&self, state: &KeysState<'a>) -> bool {
        match (self, state) {
            (Keys::Prefix(a), KeysState::Prefix(s)) => a.will_always_match(s),
            (Keys::Near(a), KeysState::Near(s)) => a.will_always_match(s),
            (Keys::NearPrefix(a), KeysState::NearPrefix(s)) => a.will_always_match(s),
            _ => false,
        }
    }

    fn accept(&self, state: &KeysState<'a>, byte: u8) -> KeysState<'a> {
        match (self, state) {
            (Keys::Prefix(a), KeysState::Prefix(s)) => KeysState::Prefix(a.accept(s, byte)),
            (Keys::Near(a), KeysState::Near(s)) => KeysState::Near(a.accept(s, byte)),
            (Keys::NearPrefix(a), KeysState::NearPrefix(s)) => {
                KeysState::NearPrefix(a.accept(s, byte))
            }
            // A state always comes from the same automaton's `start`.
            _ => self.start(),
        }
    }

    fn accept_eof(&self, state: &KeysState<'a>) -> Option<KeysState<'a>> {
        match (self, state) {
            (Keys::Prefix(a), KeysState::Prefix(s)) => a.accept_eof(s).map(KeysState::Prefix),
            (Keys::Near(a), KeysState::Near(s)) => a.accept_eof(s).map(KeysState::Near),
            (Keys::NearPrefix(a), KeysState::NearPrefix(s)) => {
                a.accept_eof(s).map(KeysState::NearPrefix)
            }
            _ => None,
        }
    }
}

/// Matches keys within `max` edits (insert, delete, substitute, swap adjacent) of a word.
#[derive(Clone)]
pub struct Typo {
    word: Vec<char>,
    max: u8,
    min_prefix: usize,
}

impl Typo {
    /// An automaton for `word` (already folded) allowing `max` edits.
    pub fn new(word: &str, max: u8) -> Typo {
        let word: Vec<char> = word.chars().collect();
        let min_prefix = word.len();
        Typo {
            word,
            max,
            min_prefix,
        }
    }

    /// Also match keys within the edit budget of a prefix of the word at least `len` characters
    /// long ("configurng" matches the stem key "configur").
    pub fn matching_prefixes_from(mut self, len: usize) -> Typo {
        self.min_prefix = len.min(self.word.len());
        self
    }
}

/// The dynamic-programming rows after the key's characters seen so far.
#[derive(Clone, Debug)]
pub struct TypoState {
    row: Vec<u8>,
    prev_row: Vec<u8>,
    prev_char: Option<char>,
    pending: [u8; 4],
    pending_len: u8,
}

impl Automaton for Typo {
    type State = Option<TypoState>;

    fn start(&self) -> Self::State {
        let row = (0..=self.word.len()).map(|i| i.min(255) as u8).collect();
        Some(TypoState {
            row,
            prev_row: Vec::new(),
            prev_char: None,
            pending: [0; 4],
            pending_len: 0,
        })
    }

    fn is_match(&self, state: &Self::State) -> bool {
        state.as_ref().is_some_and(|s| {
            s.pending_len == 0 && s.row[self.min_prefix..].iter().any(|&d| d <= self.max)
        })
    }

    fn can_match(&self, state: &Self::State) -> bool {
        state.as_ref().is_some_and(|s| {
            let best = s.row.iter().min().copied().unwrap_or(u8::MAX);
            let swap = s
                .prev_row
                .iter()
                .min()
                .map_or(u8::MAX, |m| m.saturating_add(1));
            best.min(swap) <= self.max
        })
    }

    fn accept(&self, state: &Self::State, byte: u8) -> Self::State {
        let s = state.as_ref()?;
        let mut next = s.clone();
        next.pending[usize::from(next.pending_len)] = byte;
        next.pending_len += 1;
        let need = match next.pending[0] {
            b if b < 0x80 => 1,
            b if b >> 5 == 0b110 => 2,
            b if b >> 4 == 0b1110 => 3,
            b if b >> 3 == 0b11110 => 4,
            _ => return None,
        };
        if usize::from(next.pending_len) < need {
            return Some(next);
        }
        let c = std::str::from_utf8(&next.pending[..need])
            .ok()?
            .chars()
            .next()?;
        next.pending_len = 0;
        let cap = self.max + 1;
        let w = &self.word;
        let mut row = Vec::with_capacity(w.len() + 1);
        row.push(s.row[0].saturating_add(1).min(cap));
        for j in 1..=w.len() {
            let mut d = (s.row[j] + 1)
                .min(row[j - 1] + 1)
                .min(s.row[j - 1] + u8::from(w[j - 1] != c));
            if j > 1 && s.prev_char == Some(w[j - 1]) && w[j - 2] == c && !s.prev_row.is_empty() {
                d = d.min(s.prev_row[j - 2] + 1);
            }
            row.push(d.min(cap));
        }
        next.prev_row = std::mem::replace(&mut next.row, row);
        next.prev_char = Some(c);
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fst::{IntoStreamer, Streamer};

    fn find(keys: &[&str], word: &str, max: u8, prefix: bool) -> Vec<String> {
        let mut keys = keys.to_vec();
        keys.sort();
        let set = fst::Set::from_iter(keys).unwrap();
        let mut out = Vec::new();
        let aut = Typo::new(word, max);
        if prefix {
            let mut s = set.search(aut.starts_with()).into_stream();
            while let Some(k) = s.next() {
                out.push(String::from_utf8_lossy(k).into_owned());
            }
        } else {
            let mut s = set.search(aut).into_stream();
            while let Some(k) = s.next() {
                out.push(String::from_utf8_lossy(k).into_owned());
            }
        }
        out
    }

    #[test]
    fn edits_and_swaps_count_one() {
        let keys = ["password", "passport", "pasta", "word"];
        assert_eq!(find(&keys, "pasword", 1, false), ["password"]);
        assert_eq!(find(&keys, "passowrd", 1, false), ["password"]);
        assert_eq!(find(&keys, "passwordd", 1, false), ["password"]);
        assert_eq!(find(&keys, "pasport", 1, false), ["passport"]);
    }

    #[test]
    fn cyrillic_typos_are_found() {
        let keys = ["такое", "устроиство", "настроика"];
        let prefix_keys = ["такое", "настроика"];
        assert_eq!(find(&keys, "ткое", 1, false), ["такое"]);
        assert_eq!(find(&keys, "усртоиство", 1, false), ["устроиство"]);
        assert_eq!(find(&prefix_keys, "нстрои", 1, true), ["настроика"]);
    }
}
