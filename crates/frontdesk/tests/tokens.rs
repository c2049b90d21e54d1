//! `frontdesk token create | list | revoke` with the real binary, against a running server:
//! the secret is printed once and works, a revocation from the CLI is refused by the running
//! server at once, bad input is a one-line error, and the server's own log (at `trace`) never
//! holds the secret, not even when a client put it in a URL.

mod common;

use common::cli;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The server, stopped when the test ends, however it ends (a failed assertion too).
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status(addr: &str, path: &str, token: &str) -> u16 {
    common::http_status(
        addr,
        &format!("GET {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\n"),
        "",
    )
}

#[test]
fn a_token_is_shown_once_works_until_revoked_and_is_never_logged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let d = ["--data", data.as_str()];
    cli(
        &[
            &[
                "agent",
                "add",
                "--email",
                "ana@example.com",
                "--admin",
                "--password-stdin",
            ][..],
            &d,
        ]
        .concat(),
        "a-long-password\n",
    );
    let create = |scope: &str| {
        cli(
            &[
                &["token", "create", "--name", "CRM sync", "--scope", scope][..],
                &["--agent", "ana@example.com"],
                &d,
            ]
            .concat(),
            "",
        )
        .trim()
        .to_owned()
    };
    let secret = create("read");
    assert!(secret.starts_with("fdk_") && secret.len() == 68, "{secret}");
    let listed = cli(&[&["token", "list"][..], &d].concat(), "");
    assert!(listed.contains(&secret[..12]), "{listed}");
    assert!(
        listed.contains("read\tactive\tlast used never\tCRM sync"),
        "{listed}"
    );
    assert!(
        !listed.contains(&secret[12..]),
        "the list shows only the prefix"
    );

    let log = dir.path().join("server.log");
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_frontdesk"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data", &data])
            .env("FRONTDESK_LOG", "trace")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("listening on http://") {
            break rest.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    assert_eq!(status(&addr, "/api/v1/agents", &secret), 200);
    // In a URL: refused, and not logged either.
    assert_eq!(
        status(&addr, &format!("/api/v1/agents?access_token={secret}"), "x"),
        400
    );
    let listed = cli(&[&["token", "list"][..], &d].concat(), "");
    assert!(!listed.contains("last used never"), "{listed}");
    let id = listed.split('\t').next().unwrap().to_owned();
    let revoked = cli(&[&["token", "revoke", id.as_str()][..], &d].concat(), "");
    assert!(revoked.contains("revoked"), "{revoked}");
    // The running server refuses it from the next request on.
    assert_eq!(status(&addr, "/api/v1/agents", &secret), 401);
    let listed = cli(&[&["token", "list"][..], &d].concat(), "");
    assert!(listed.contains("read\trevoked "), "{listed}");

    // Bad input: one line, exit code 2.
    let fails = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
            .args(args)
            .args(d)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(fails(&["token", "revoke", "999"]).contains("no token 999"));
    let blank = fails(&["token", "create", "--name", " ", "--scope", "read"]);
    assert!(blank.contains("the name must be"), "{blank}");
    let nobody = fails(&[
        "token",
        "create",
        "--name",
        "x",
        "--scope",
        "read",
        "--agent",
        "no@example.com",
    ]);
    assert!(nobody.contains("no@example.com"), "{nobody}");

    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("TRACE") || logged.contains("DEBUG"),
        "the log is captured"
    );
    assert!(!logged.contains(&secret[4..]), "the secret was logged");
}
