//! `cargo xtask bench realtime`: builds `frontdesk` and `realtime-bench` in release and runs the
//! bench against that server binary (scenarios and sizes in the extra ARGS).

use crate::util;

pub fn bench(extra: &[String]) -> anyhow::Result<()> {
    let root = util::root();
    util::step("cargo build --release -p frontdesk -p realtime-bench");
    util::run(
        util::cargo()
            .args([
                "build",
                "--release",
                "-p",
                "frontdesk",
                "-p",
                "realtime-bench",
            ])
            .current_dir(&root),
    )?;
    let release = util::target_dir()?.join("release");
    util::step("realtime-bench");
    util::run(
        std::process::Command::new(release.join("realtime-bench"))
            .arg("--frontdesk")
            .arg(release.join("frontdesk"))
            .args(extra)
            .current_dir(&root),
    )
}
