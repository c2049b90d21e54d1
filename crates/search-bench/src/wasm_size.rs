//! Measures a wasm file the way it ships: custom sections (names, producers) dropped, then brotli.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::Path;

/// Prints raw, gzip and brotli sizes of a wasm module without its custom sections.
pub fn report(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let stripped = strip_custom_sections(&bytes)?;
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
        w.write_all(&stripped)?;
    }
    println!(
        "{}: {} bytes raw, {} without custom sections, {} gzip, {} brotli (budget 60 KB brotli)",
        path.display(),
        bytes.len(),
        stripped.len(),
        crate::gzip_len(&stripped),
        br.len()
    );
    Ok(())
}

fn strip_custom_sections(b: &[u8]) -> Result<Vec<u8>> {
    if b.len() < 8 || &b[..4] != b"\0asm" {
        bail!("not a wasm module");
    }
    let mut out = b[..8].to_vec();
    let mut i = 8;
    while i < b.len() {
        let id = b[i];
        let (size, start) = leb128(b, i + 1).context("bad section header")?;
        let end = start + size;
        if end > b.len() {
            bail!("truncated section");
        }
        if id != 0 {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    Ok(out)
}

fn leb128(b: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let mut v = 0usize;
    let mut shift = 0;
    loop {
        let x = *b.get(i)?;
        i += 1;
        v |= usize::from(x & 0x7f) << shift;
        shift += 7;
        if x < 0x80 {
            return Some((v, i));
        }
    }
}
