//! Helpers: locating the workspace and target folder, running commands, installing test tools.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const CHROMIUM: &str = "/usr/bin/chromium";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}

pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{:?} failed ({status})", cmd);
    }
    Ok(())
}

pub fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed: {}",
            cmd,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The target folder cargo uses (honours CARGO_TARGET_DIR and config files).
pub fn target_dir() -> anyhow::Result<PathBuf> {
    let json = output(
        cargo()
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(root()),
    )?;
    let meta: serde_json::Value = serde_json::from_str(&json)?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

/// Adds the wasm32 target through rustup when it is missing.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("rustup is needed to add the wasm32-unknown-unknown target")?;
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        step("rustup target add wasm32-unknown-unknown");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// Installs Debian's chromium and chromium-driver when missing (never downloads a browser).
pub fn ensure_chromium() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])?;
    if !Path::new(CHROMIUM).exists() {
        bail!("{CHROMIUM} is still missing after installing Debian's chromium");
    }
    Ok(())
}

/// `apt-get install` of Debian packages, non-interactive (through sudo when not root). Packages
/// that ship a daemon (postgresql, redis-server, nginx) are kept from starting it: as root, a
/// `policy-rc.d` that denies every start is put in place for the install when there is none.
pub fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    step(&format!("apt-get install {}", packages.join(" ")));
    let sudo = !is_root();
    let apt = |args: &[&str]| {
        let mut cmd = if sudo {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        } else {
            Command::new("apt-get")
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    let _no_daemons = (!sudo).then(NoDaemonStarts::install).transpose()?;
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq"];
    install.extend(packages);
    if apt(&install).is_err() {
        // Unpacking occasionally fails on a busy machine; one retry is enough in practice.
        apt(&install).with_context(|| format!("installing {} failed twice", packages.join(" ")))?;
    }
    Ok(())
}

/// A `/usr/sbin/policy-rc.d` answering 101 ("action forbidden") while it lives, so installing a
/// package does not start its system service; removed on drop. Does nothing when one exists.
struct NoDaemonStarts(Option<&'static Path>);

impl NoDaemonStarts {
    fn install() -> anyhow::Result<Self> {
        let path = Path::new("/usr/sbin/policy-rc.d");
        if path.exists() {
            return Ok(Self(None));
        }
        std::fs::write(
            path,
            "#!/bin/sh\n# written by cargo xtask for one apt-get install\nexit 101\n",
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        Ok(Self(Some(path)))
    }
}

impl Drop for NoDaemonStarts {
    fn drop(&mut self) {
        if let Some(path) = self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_ok_and(|s| s.trim() == "0")
}

/// `npm ci` in the browser tests' folder when its node_modules is missing or stale.
pub fn ensure_npm_packages(dir: &Path) -> anyhow::Result<()> {
    let lock = dir.join("package-lock.json");
    let marker = dir.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&marker)) {
        (Ok(l), Ok(m)) => m.modified()? >= l.modified()?,
        _ => false,
    };
    if !fresh {
        step("npm ci (tests/e2e)");
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir))?;
    }
    Ok(())
}

/// The wasm-bindgen version pinned in the workspace Cargo.toml (`wasm-bindgen = "=x.y.z"`).
pub fn pinned_wasm_bindgen() -> anyhow::Result<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml"))?;
    manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("wasm-bindgen = \"="))
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
        .context("Cargo.toml must pin wasm-bindgen as `wasm-bindgen = \"=x.y.z\"`")
}

/// `wasm-bindgen-test-runner` at the pinned version, installed with cargo when missing.
/// (It is the one tool Cargo.lock cannot pin for us; `--locked` does not build, see design.md.)
pub fn ensure_wasm_test_runner() -> anyhow::Result<()> {
    let version = pinned_wasm_bindgen()?;
    let current =
        output(Command::new("wasm-bindgen-test-runner").arg("--version")).unwrap_or_default();
    if !current.contains(&version) {
        step(&format!(
            "cargo install wasm-bindgen-cli --version ={version} (once per machine)"
        ));
        run(cargo().args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &format!("={version}"),
        ]))?;
    }
    Ok(())
}

/// The Python packages the tests' helpers import, pinned: the webhook receiver verifies
/// signatures with the independent `standardwebhooks` implementation; the email tests send to
/// aiosmtpd's SMTP server.
pub const PYTHON_PACKAGES: &[&str] = &["standardwebhooks==1.1.0", "aiosmtpd==1.4.6"];

/// A virtual environment with `PYTHON_PACKAGES`, in the user's cache folder (made, or
/// completed, when the pinned set changed); returns its `python`.
pub fn ensure_python_venv() -> anyhow::Result<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set")?;
    let venv = cache.join("frontdesk/python-tests");
    let python = venv.join("bin/python");
    let marker = venv.join("frontdesk-packages.txt");
    let wanted = PYTHON_PACKAGES.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) && python.exists() {
        return Ok(python);
    }
    step(&format!("python venv for the tests ({})", venv.display()));
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PYTHON_PACKAGES))?;
    std::fs::write(&marker, wanted)?;
    Ok(python)
}
