//! Edits of a built wasm module and its JS glue, on the bytes: custom sections browsers never
//! read, and the names of the module's imports.

use anyhow::{Context, bail};

/// Reads a LEB128 number at `at`; returns it and the position after it.
pub fn leb128(bytes: &[u8], mut at: usize) -> anyhow::Result<(usize, usize)> {
    let (mut value, mut shift) = (0usize, 0);
    loop {
        let byte = *bytes.get(at).context("truncated wasm")?;
        at += 1;
        value |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok((value, at));
        }
        shift += 7;
        if shift > 35 {
            bail!("bad LEB128 number in the wasm");
        }
    }
}

/// The module without its `target_features` custom section: a note for linkers that browsers
/// never read (148 bytes raw in the widget, about 100 brotli).
pub fn strip_target_features(wasm: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = wasm.get(..8).context("not a wasm module")?.to_vec();
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        let (len, body) = leb128(wasm, at + 1)?;
        let end = body.checked_add(len).filter(|e| *e <= wasm.len());
        let end = end.context("truncated wasm section")?;
        let custom_name = (id == 0)
            .then(|| leb128(wasm, body).ok())
            .flatten()
            .and_then(|(n, name)| wasm.get(name..name + n));
        if custom_name != Some(b"target_features".as_slice()) {
            out.extend_from_slice(&wasm[at..end]);
        }
        at = end;
    }
    Ok(out)
}

/// Appends `value` as unsigned LEB128.
fn put_leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A short name for the `n`th import: `$0`, `$1`, … `$z`, `$10`, … (base 36). `$` keeps them
/// apart from every name the glue writes itself.
fn short_name(mut n: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut digits = Vec::new();
    loop {
        digits.push(DIGITS[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    format!("${}", String::from_utf8(digits).expect("ASCII"))
}

/// Whether `b` can be part of a JS identifier as wasm-bindgen writes them (ASCII).
fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Renames the imports the module takes from `module` (the glue's import object) to short
/// names, in the wasm's import section and in the glue, where each must appear exactly once
/// as a whole identifier (the key of the import object; a name found elsewhere or not at all
/// is left as it is). wasm-bindgen names them after the function and a 16-digit hash
/// (`__wbg_setAttribute_4c6f2a1b9e0d7c35`), which brotli cannot compress and which both files
/// carry: about 3.9 KB of the widget's brotli bytes.
pub fn shorten_imports(wasm: &[u8], glue: &str, module: &str) -> anyhow::Result<(Vec<u8>, String)> {
    // Find the import section.
    let mut at = 8;
    let mut section = None;
    while at < wasm.len() {
        let id = wasm[at];
        let (len, body) = leb128(wasm, at + 1)?;
        let end = body.checked_add(len).filter(|e| *e <= wasm.len());
        let end = end.context("truncated wasm section")?;
        if id == 2 {
            section = Some((at, body, end));
            break;
        }
        at = end;
    }
    let Some((start, body, end)) = section else {
        return Ok((wasm.to_vec(), glue.to_owned()));
    };
    // Every whole identifier of the glue, with where it is.
    let bytes = glue.as_bytes();
    let mut spots: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    let mut i = 0;
    while i < bytes.len() {
        if ident_byte(bytes[i]) {
            let j = (i..bytes.len())
                .find(|&j| !ident_byte(bytes[j]))
                .unwrap_or(bytes.len());
            spots.entry(&glue[i..j]).or_default().push(i);
            i = j;
        } else {
            i += 1;
        }
    }
    let (count, mut p) = leb128(wasm, body)?;
    let mut entries = Vec::new();
    put_leb128(&mut entries, count);
    let mut renames: Vec<(usize, usize, String)> = Vec::new();
    for _ in 0..count {
        let (n, m) = leb128(wasm, p)?;
        let module_name = wasm.get(m..m + n).context("truncated import")?;
        let (n, f) = leb128(wasm, m + n)?;
        let field = std::str::from_utf8(wasm.get(f..f + n).context("truncated import")?)?;
        // The import's description: kind and type (function, table, memory, global, tag).
        let kind_at = f + n;
        let mut q = kind_at + 1;
        match wasm.get(kind_at).context("truncated import")? {
            0 | 4 => q = leb128(wasm, q + usize::from(wasm[kind_at] == 4))?.1,
            1 => {
                let flags = *wasm.get(q + 1).context("truncated import")?;
                q = leb128(wasm, q + 2)?.1;
                if flags & 1 == 1 {
                    q = leb128(wasm, q)?.1;
                }
            }
            2 => {
                let flags = *wasm.get(q).context("truncated import")?;
                q = leb128(wasm, q + 1)?.1;
                if flags & 1 == 1 {
                    q = leb128(wasm, q)?.1;
                }
            }
            3 => q += 2,
            other => bail!("unknown import kind {other} in the wasm"),
        }
        let once = spots.get(field).filter(|s| s.len() == 1);
        let name = match once {
            Some(s) if module_name == module.as_bytes() => {
                let short = short_name(renames.len());
                renames.push((s[0], field.len(), short.clone()));
                short
            }
            _ => field.to_owned(),
        };
        put_leb128(&mut entries, module_name.len());
        entries.extend_from_slice(module_name);
        put_leb128(&mut entries, name.len());
        entries.extend_from_slice(name.as_bytes());
        entries.extend_from_slice(wasm.get(kind_at..q).context("truncated import")?);
        p = q;
    }
    if p != end {
        bail!("the wasm's import section has {} unread bytes", end - p);
    }
    let mut out = wasm[..start].to_vec();
    out.push(2);
    put_leb128(&mut out, entries.len());
    out.extend_from_slice(&entries);
    out.extend_from_slice(&wasm[end..]);
    renames.sort_by_key(|r| r.0);
    let mut js = String::with_capacity(glue.len());
    let mut last = 0;
    for (at, len, short) in renames {
        js.push_str(&glue[last..at]);
        js.push_str(&short);
        last = at + len;
    }
    js.push_str(&glue[last..]);
    Ok((out, js))
}

/// The glue with each line's indentation, blank lines and whole-line `//` comments removed
/// (0.8 KB of the widget's brotli bytes). Line breaks stay, so statements end where they did;
/// a glue with a template literal or a string that spans lines is returned as it is.
pub fn tidy_glue(glue: &str) -> String {
    let spans_lines = glue
        .lines()
        .any(|l| l.matches('`').count() % 2 == 1 || l.trim_end().ends_with('\\'));
    if spans_lines {
        return glue.to_owned();
    }
    let mut out = String::with_capacity(glue.len());
    for line in glue.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing two functions from "./app_bg.js" and one from "env".
    fn module() -> Vec<u8> {
        let mut imports = Vec::new();
        put_leb128(&mut imports, 3);
        for (module, field) in [
            ("./app_bg.js", "__wbg_log_0123456789abcdef"),
            ("env", "__wbg_log_0123456789abcdef"),
            ("./app_bg.js", "__wbg_now_fedcba9876543210"),
        ] {
            put_leb128(&mut imports, module.len());
            imports.extend_from_slice(module.as_bytes());
            put_leb128(&mut imports, field.len());
            imports.extend_from_slice(field.as_bytes());
            imports.extend_from_slice(&[0, 0]); // a function of type 0
        }
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]); // type section: () -> ()
        wasm.push(2);
        put_leb128(&mut wasm, imports.len());
        wasm.extend_from_slice(&imports);
        wasm
    }

    #[test]
    fn imports_get_short_names_in_the_module_and_the_glue() {
        let glue = "const imports = { __wbg_log_0123456789abcdef: function(a) { log(a) },\n\
                    __wbg_now_fedcba9876543210: function() { return Date.now() } };";
        let (wasm, js) = shorten_imports(&module(), glue, "./app_bg.js").unwrap();
        assert_eq!(
            js,
            "const imports = { $0: function(a) { log(a) },\n$1: function() { return Date.now() } };"
        );
        let text = String::from_utf8_lossy(&wasm);
        assert!(text.contains("./app_bg.js\u{2}$0"), "{text:?}");
        assert!(text.contains("./app_bg.js\u{2}$1"), "{text:?}");
        // Another module's import keeps its name.
        assert!(
            text.contains("env\u{1a}__wbg_log_0123456789abcdef"),
            "{text:?}"
        );
        assert!(wasm.len() < module().len());
    }

    #[test]
    fn a_name_the_glue_uses_twice_or_never_keeps_its_name() {
        let glue = "__wbg_log_0123456789abcdef; __wbg_log_0123456789abcdef;";
        let (wasm, js) = shorten_imports(&module(), glue, "./app_bg.js").unwrap();
        assert_eq!(js, glue);
        assert_eq!(wasm, module());
    }

    #[test]
    fn the_glue_loses_indentation_blank_lines_and_comment_lines_only() {
        let glue = "function f(a) {\n    // a comment\n\n    return `${a}`; // kept\n}\n";
        assert_eq!(
            tidy_glue(glue),
            "function f(a) {\nreturn `${a}`; // kept\n}\n"
        );
        let spanning = "const s = `one\n    two`;\n";
        assert_eq!(tidy_glue(spanning), spanning);
        let continued = "const s = 'one \\\n    two';\n";
        assert_eq!(tidy_glue(continued), continued);
    }

    #[test]
    fn short_names_count_in_base_36() {
        assert_eq!(short_name(0), "$0");
        assert_eq!(short_name(35), "$z");
        assert_eq!(short_name(36), "$10");
    }
}
