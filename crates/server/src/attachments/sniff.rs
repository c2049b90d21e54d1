//! What a file is, from its bytes: the four image types, PDF, ZIP and plain text, with the
//! pixels of an image when its header says them. The name is never trusted for the type; it
//! only picks `text/csv` over `text/plain` for a file that is text anyway.
//!
//! Markup (HTML, SVG, XML) is text: it is kept as `text/plain` and served as a download in
//! a sandbox (`mod.rs`), so it can never run script in our origin.

/// A file's type as found in its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub content_type: &'static str,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl Sniffed {
    fn plain(content_type: &'static str) -> Self {
        Sniffed {
            content_type,
            width: None,
            height: None,
        }
    }
}

/// The type of `data`, or `None` when it is none of those we take.
pub fn sniff(data: &[u8], name: &str) -> Option<Sniffed> {
    let image = |content_type, dims: Option<(u32, u32)>| Sniffed {
        content_type,
        width: dims.map(|d| d.0),
        height: dims.map(|d| d.1),
    };
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(image("image/png", png_size(data)));
    }
    if data.starts_with(b"\xff\xd8\xff") {
        return Some(image("image/jpeg", jpeg_size(data)));
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        return Some(image("image/gif", gif_size(data)));
    }
    if data.len() >= 16 && data.starts_with(b"RIFF") && &data[8..12] == b"WEBP" {
        return Some(image("image/webp", webp_size(data)));
    }
    if data.starts_with(b"%PDF-") {
        return Some(Sniffed::plain("application/pdf"));
    }
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        return Some(Sniffed::plain("application/zip"));
    }
    if is_text(data) {
        let csv = name.to_ascii_lowercase().ends_with(".csv");
        return Some(Sniffed::plain(if csv { "text/csv" } else { "text/plain" }));
    }
    None
}

/// UTF-8 (a byte-order mark allowed) without NUL or control characters other than tab,
/// newlines and form feed: what a text editor writes.
fn is_text(data: &[u8]) -> bool {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

fn be16(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        d.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le16(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        d.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le24(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

fn png_size(d: &[u8]) -> Option<(u32, u32)> {
    if d.get(12..16)? != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(d.get(16..20)?.try_into().ok()?);
    let h = u32::from_be_bytes(d.get(20..24)?.try_into().ok()?);
    Some((w, h))
}

fn gif_size(d: &[u8]) -> Option<(u32, u32)> {
    Some((le16(d, 6)?, le16(d, 8)?))
}

/// Walks the segments to the first start-of-frame marker (SOF0–SOF15 but DHT, JPG, DAC).
fn jpeg_size(d: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    while at + 4 <= d.len() {
        if d[at] != 0xff {
            return None;
        }
        let marker = d[at + 1];
        if marker == 0xff {
            at += 1; // fill byte
            continue;
        }
        let len = be16(d, at + 2)? as usize;
        if (0xc0..=0xcf).contains(&marker) && !matches!(marker, 0xc4 | 0xc8 | 0xcc) {
            return Some((be16(d, at + 7)?, be16(d, at + 5)?));
        }
        at += 2 + len;
    }
    None
}

fn webp_size(d: &[u8]) -> Option<(u32, u32)> {
    match d.get(12..16)? {
        b"VP8 " => Some((le16(d, 26)? & 0x3fff, le16(d, 28)? & 0x3fff)),
        b"VP8L" => {
            let b = u32::from_le_bytes(d.get(21..25)?.try_into().ok()?);
            Some(((b & 0x3fff) + 1, ((b >> 14) & 0x3fff) + 1))
        }
        b"VP8X" => Some((le24(d, 24)? + 1, le24(d, 27)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(data: &[u8], name: &str, expect: Expect) {
        expect.assert_eq(&format!("{:?}", sniff(data, name)));
    }

    /// A 3×2 PNG's first bytes (signature and IHDR).
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x03\0\0\0\x02\x08\x02\0\0\0";

    #[test]
    fn types_come_from_the_content_never_the_name() {
        check(
            PNG,
            "notes.txt",
            expect![[
                r#"Some(Sniffed { content_type: "image/png", width: Some(3), height: Some(2) })"#
            ]],
        );
        check(
            b"GIF89a\x05\x00\x04\x00\x80\x00\x00",
            "a.gif",
            expect![[
                r#"Some(Sniffed { content_type: "image/gif", width: Some(5), height: Some(4) })"#
            ]],
        );
        // SOI, an APP0 segment, then SOF0 with height 0x0102 and width 0x0304.
        check(
            b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x01\x02\x03\x04\x03",
            "photo",
            expect![[
                r#"Some(Sniffed { content_type: "image/jpeg", width: Some(772), height: Some(258) })"#
            ]],
        );
        check(
            b"RIFF\x24\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0\x7f\x02\0\xdf\x01\0",
            "x.webp",
            expect![[
                r#"Some(Sniffed { content_type: "image/webp", width: Some(640), height: Some(480) })"#
            ]],
        );
        check(
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
            "invoice.png",
            expect![[
                r#"Some(Sniffed { content_type: "application/pdf", width: None, height: None })"#
            ]],
        );
        check(
            b"PK\x03\x04\x14\0\0\0",
            "logs.zip",
            expect![[
                r#"Some(Sniffed { content_type: "application/zip", width: None, height: None })"#
            ]],
        );
        check(
            "name,amount\nAna,3\n".as_bytes(),
            "Report.CSV",
            expect![[r#"Some(Sniffed { content_type: "text/csv", width: None, height: None })"#]],
        );
        check(
            "\u{feff}Olá\r\n\tçava".as_bytes(),
            "a.csv.exe",
            expect![[r#"Some(Sniffed { content_type: "text/plain", width: None, height: None })"#]],
        );
    }

    #[test]
    fn markup_is_kept_as_plain_text() {
        check(
            b"<!doctype html><script>alert(1)</script>",
            "page.html",
            expect![[r#"Some(Sniffed { content_type: "text/plain", width: None, height: None })"#]],
        );
        check(
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            "logo.svg",
            expect![[r#"Some(Sniffed { content_type: "text/plain", width: None, height: None })"#]],
        );
    }

    #[test]
    fn anything_else_is_refused() {
        check(b"MZ\x90\0\x03\0\0\0", "setup.png", expect!["None"]);
        check(b"\x7fELF\x02\x01\x01", "run.txt", expect!["None"]);
        check(b"", "empty.txt", expect!["None"]);
        check(b"caf\xe9", "latin1.txt", expect!["None"]);
        check(b"a\0b", "nul.txt", expect!["None"]);
        // A PNG signature without its header still is a PNG; its size is unknown.
        check(
            b"\x89PNG\r\n\x1a\n",
            "x",
            expect![[r#"Some(Sniffed { content_type: "image/png", width: None, height: None })"#]],
        );
    }
}
