//! The built web assets, embedded at compile time so one binary serves everything.
//!
//! *Architecture invariant*: this crate only holds bytes; which URL serves which file, and with
//! which headers, is the server's business.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/files.rs"));
}

/// An embedded file, with its brotli-compressed twin when the build wrote one.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub brotli: Option<&'static [u8]>,
}

fn raw(name: &str) -> Option<&'static [u8]> {
    generated::FILES
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| generated::FILES[i].1)
}

/// Looks up a file by its path under `dist/files`, e.g. `widget.js` or `assets/widget-1a2b.wasm`.
pub fn get(name: &str) -> Option<Asset> {
    if name.ends_with(".br") {
        return None;
    }
    let bytes = raw(name)?;
    let brotli = raw(&format!("{name}.br"));
    Some(Asset { bytes, brotli })
}

/// True when the build embedded the web assets (i.e. `cargo xtask build` ran first).
pub fn built() -> bool {
    raw("widget.js").is_some()
}

/// Every embedded file name (brotli twins excluded).
pub fn names() -> impl Iterator<Item = &'static str> {
    generated::FILES
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !n.ends_with(".br"))
}
