//! `cargo xtask bench realtime`: builds `frontdesk` and `realtime-bench` in release and runs the
//! bench against that server binary (scenarios and sizes in the extra ARGS).
//!
//! With `--nodes N` (N > 1) and no `--database`/`--redis`, it starts the private PostgreSQL and
//! Redis of `cargo xtask services` (or uses `FRONTDESK_TEST_DATABASE_URL` /
//! `FRONTDESK_TEST_REDIS_URL` when set), passes them to the bench, and stops them afterwards.

use crate::services::{self, Given};
use crate::util;
use anyhow::bail;

/// The flags of the bench xtask needs to know about.
#[derive(Debug, Default, PartialEq)]
struct Flags {
    nodes: usize,
    database: Option<String>,
    redis: Option<String>,
}

impl Flags {
    /// Reads `--nodes N`, `--database URL`, `--redis URL` (or `--flag=value`) among `args`.
    fn read(args: &[String]) -> anyhow::Result<Flags> {
        let mut flags = Flags {
            nodes: 1,
            ..Flags::default()
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            if !matches!(name, "--nodes" | "--database" | "--redis") {
                continue;
            }
            let Some(value) = inline.or_else(|| args.next().cloned()) else {
                bail!("{name} needs a value");
            };
            match name {
                "--nodes" => match value.parse() {
                    Ok(n) => flags.nodes = n,
                    Err(_) => bail!("--nodes takes a number, not {value:?}"),
                },
                "--database" => flags.database = Some(value),
                _ => flags.redis = Some(value),
            }
        }
        Ok(flags)
    }
}

pub fn bench(extra: &[String]) -> anyhow::Result<()> {
    let root = util::root();
    let flags = Flags::read(extra)?;
    // Built one after the other, not together: built together, cargo unifies the features of
    // their shared dependencies and the server benched is not the one `cargo build -p frontdesk`
    // ships (measured: 10.1 KiB per idle connection built together, 8.75 KiB alone).
    for package in ["realtime-bench", "frontdesk"] {
        util::step(&format!("cargo build --release -p {package}"));
        util::run(
            util::cargo()
                .args(["build", "--release", "-p", package])
                .current_dir(&root),
        )?;
    }
    let release = util::target_dir()?.join("release");
    let mut args = extra.to_vec();
    // Several nodes need PostgreSQL and Redis: private ones unless given (stopped on drop, also
    // when the bench fails).
    let _services = if flags.nodes > 1 && (flags.database.is_none() || flags.redis.is_none()) {
        let services = services::start_given(Given {
            database: flags
                .database
                .clone()
                .or_else(|| services::given(services::DATABASE_URL)),
            redis: flags
                .redis
                .clone()
                .or_else(|| services::given(services::REDIS_URL)),
            nginx: None,
            want_nginx: false,
        })?;
        if flags.database.is_none() {
            args.extend(["--database".into(), services.database_url.clone()]);
        }
        if flags.redis.is_none() {
            args.extend(["--redis".into(), services.redis_url.clone()]);
        }
        Some(services)
    } else {
        None
    };
    util::step("realtime-bench");
    // Not util::run: its error would print the arguments, database password included.
    let status = std::process::Command::new(release.join("realtime-bench"))
        .arg("--frontdesk")
        .arg(release.join("frontdesk"))
        .args(&args)
        .current_dir(&root)
        .status()?;
    if !status.success() {
        bail!("realtime-bench failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Flags;

    fn read(args: &[&str]) -> Flags {
        Flags::read(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn the_deployment_flags_are_found_among_the_bench_arguments() {
        assert_eq!(read(&["chat", "--rate", "400"]).nodes, 1);
        let flags = read(&["--nodes", "2", "chat", "--redis=redis://r", "--runs", "3"]);
        assert_eq!(flags.nodes, 2);
        assert_eq!(flags.redis.as_deref(), Some("redis://r"));
        assert_eq!(flags.database, None);
        assert_eq!(
            read(&["--database", "postgres://d", "--nodes=3"]),
            Flags {
                nodes: 3,
                database: Some("postgres://d".into()),
                redis: None
            }
        );
    }
}
