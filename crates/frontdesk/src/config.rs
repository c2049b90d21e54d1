//! Server settings: defaults, then a TOML file, then `FRONTDESK_*` environment variables, then
//! command-line flags (clap reads the environment and the flags; this file merges the layers).

use anyhow::{Context, bail};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The `[server]` table of `frontdesk.toml`. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    pub public_url: Option<String>,
    pub session_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Root {
    #[serde(default)]
    server: FileConfig,
}

pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    parse(&text).with_context(|| format!("invalid config file {}", path.display()))
}

fn parse(text: &str) -> anyhow::Result<FileConfig> {
    let root: Root = toml::from_str(text)?;
    if let Some(url) = &root.server.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        bail!("server.public_url must start with http:// or https://, got {url:?}");
    }
    if root.server.session_days == Some(0) {
        bail!("server.session_days must be at least 1");
    }
    Ok(root.server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let c = parse("[server]\nlisten = \"127.0.0.1:9000\"\nsession_days = 7\n").unwrap();
        assert_eq!(c.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(c.session_days, Some(7));
        assert!(
            parse("[server]\nlisen = \"x\"\n")
                .unwrap_err()
                .to_string()
                .contains("unknown field")
        );
        assert!(parse("[server]\npublic_url = \"ftp://x\"\n").is_err());
        assert!(parse("").unwrap().listen.is_none());
    }
}
