//! Text hygiene shared by every client and the server: what a name, an email or a message may
//! hold. Bidirectional overrides and invisible characters let one string show as another
//! ("Mallory \u{202e}evil" reads "Mallory live"), or a blank message pass as text.

/// Characters that change how text is shown without showing themselves: bidirectional
/// embeddings, overrides, isolates and marks, zero-width characters, the BOM, soft hyphen,
/// and other invisible format characters that are abused for spoofing.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                  // soft hyphen
        | '\u{034F}'                // combining grapheme joiner
        | '\u{061C}'                // Arabic letter mark
        | '\u{115F}' | '\u{1160}'   // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'   // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'   // Mongolian variation selectors and vowel separator
        | '\u{200B}'..='\u{200F}'   // zero-width space, (non-)joiner, LRM, RLM
        | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates
        | '\u{3164}'                // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'   // variation selectors
        | '\u{FEFF}'                // byte order mark
        | '\u{FFA0}'                // halfwidth Hangul filler
        | '\u{1D173}'..='\u{1D17A}' // musical formatting
        | '\u{E0000}'..='\u{E007F}' // tags
    )
}

/// A one-line name as it may be stored and shown: invisible and control characters removed,
/// runs of white space folded to one space, trimmed. May come out empty.
pub fn clean_name(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .map(|w| w.chars().filter(|c| !is_invisible(*c)).collect::<String>())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

/// Whether a message shows nothing once invisible characters and white space are set aside.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || is_invisible(c))
}

/// The first control character a message may not hold (anything but newline and tab).
pub fn forbidden_control(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
}

/// An email address: a local part of letters, digits and `!#$%&'*+/=?^_`{|}~.-` (no leading,
/// trailing or doubled dot; letters of any script allowed), `@`, and a domain of at least two
/// labels of letters, digits and inner hyphens, the last one alphabetic. Nothing invisible,
/// no spaces, no quotes or comments, at most 254 bytes.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && find(local, "..").is_none()
        && local.chars().all(|c| {
            c.is_alphanumeric() || c.is_ascii() && b"!#$%&'*+/=?^_`{|}~.-".contains(&(c as u8))
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
    email.len() <= 254 && local_ok && domain_ok
}

/// Where `needle` first occurs in `hay`, by bytes (a UTF-8 needle only matches at character
/// boundaries). For the browser apps: the standard library's `&str` pattern searcher (Two-Way)
/// costs the widget ~3.5 KB of wasm, and their needles are a few bytes long.
pub fn find(hay: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_matches_bytes_at_character_boundaries() {
        assert_eq!(find("see http://x", "http"), Some(4));
        assert_eq!(find("**bold**", "**"), Some(0));
        assert_eq!(find("a](b", "]("), Some(1));
        assert_eq!(find("no", "nope"), None);
        assert_eq!(find("", "x"), None);
        assert_eq!(find("abc", ""), Some(0));
        // A UTF-8 needle is found where it starts, never inside another character ("©" ends in
        // the byte that ends "é").
        assert_eq!(find("ção é", "é"), Some(6));
        assert_eq!(find("привет", "вет"), Some(6));
        assert_eq!(find("é", "\u{a9}"), None);
    }

    #[test]
    fn bidi_overrides_and_invisible_characters_leave_names() {
        assert_eq!(clean_name("Mallory \u{202e}evil"), "Mallory evil");
        assert_eq!(clean_name("  Ana\u{200b} \t Lima\u{feff} "), "Ana Lima");
        assert_eq!(clean_name("Rita\u{0}\u{7}"), "Rita");
        assert_eq!(clean_name("\u{2066}\u{200d}"), "");
        assert_eq!(clean_name("Çağrı Öztürk"), "Çağrı Öztürk");
        assert_eq!(clean_name("Юлия"), "Юлия");
        assert_eq!(
            clean_name("مريم"),
            "مريم",
            "right-to-left text itself stays"
        );
    }

    #[test]
    fn emails_are_validated_properly() {
        for ok in [
            "ana@example.com",
            "ana.lima+tag@mail.example.co.uk",
            "joão@exemplo.com.br",
            "o'brien@example.ie",
            "user@xn--80ak6aa92e.com",
        ] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "ana",
            "ana@localhost",
            "a na@example.com",
            "admin\u{200b}@example.com",
            "admin@exa\u{202e}mple.com",
            ".ana@example.com",
            "ana..lima@example.com",
            "ana@-example.com",
            "ana@example.c0m",
            "ana@example.c",
            "\"ana\"@example.com",
            "ana@example..com",
            "ana@@example.com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn blank_and_control_characters_in_messages() {
        assert!(is_blank(" \u{200b}\u{200b}\n\u{2060} "));
        assert!(!is_blank("hi\u{200b}"));
        assert_eq!(forbidden_control("a\u{0}b"), Some('\u{0}'));
        assert_eq!(forbidden_control("line\r\n"), Some('\r'));
        assert_eq!(forbidden_control("line one\nline two\tcolumn"), None);
    }
}
