//! Embeds every file under `<workspace>/dist/files` (written by `cargo xtask build`).
//!
//! Without a `dist/` the crate still builds, with no files, and the server answers 503 with
//! advice to run `cargo xtask build`. `FRONTDESK_DIST` overrides the folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            out.push((rel, path));
        }
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=FRONTDESK_DIST");
    let dist = match std::env::var_os("FRONTDESK_DIST") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../dist"),
    };
    let files_dir = dist.join("files");
    // A stamp the xtask rewrites after every build; watching it (not the whole folder) keeps
    // no-op builds fast and still re-embeds after `cargo xtask build`.
    println!("cargo:rerun-if-changed={}", dist.join("stamp").display());

    let mut files = Vec::new();
    walk(&files_dir, &files_dir, &mut files);
    files.sort();

    let mut code = String::from("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        let abs = path.canonicalize().unwrap();
        writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("files.rs");
    std::fs::write(out, code).unwrap();
}
