//! Email continuity against a real SMTP server (aiosmtpd, from PyPI, in the tests' Python):
//! an agent's reply the customer left unread is emailed once, in the customer's language,
//! threaded and signed; the customer's answer posted to the inbound endpoint joins the same
//! conversation (once, however often it is posted), and every wrong caller or forged email is
//! refused with a clear status.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::{ConversationContext, NewAgent, NewMessage, SqliteStore, Store};

const SECRET: &str = "inbound-secret-0123456789";

/// The tests' Python (`cargo xtask test` exports it; `cargo xtask services` prints it).
fn python() -> Option<PathBuf> {
    match std::env::var_os("FRONTDESK_TEST_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("FRONTDESK_REQUIRE_SERVICES").is_some() => {
            panic!("FRONTDESK_TEST_PYTHON is not set (cargo xtask test sets it)")
        }
        None => {
            eprintln!("skipped: FRONTDESK_TEST_PYTHON is not set (run through cargo xtask test)");
            None
        }
    }
}

/// A real SMTP server writing what it receives into a Maildir; killed when dropped.
struct Sink {
    child: std::process::Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sink(python: &Path, dir: &Path) -> Sink {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let maildir = dir.join("maildir");
    let child = std::process::Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .spawn()
        .expect("aiosmtpd starts");
    // Killed and waited for when dropped, on every path.
    let sink = Sink {
        child,
        port,
        maildir,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return sink;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("aiosmtpd did not listen on {port}");
}

/// Every email the sink received, raw.
fn received(maildir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
            for e in entries.flatten() {
                out.push(std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

async fn wait_for_mail(maildir: &Path, n: usize) -> Vec<Vec<u8>> {
    for _ in 0..150 {
        let mails = received(maildir);
        if mails.len() >= n {
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected {n} emails, got {}", received(maildir).len());
}

#[tokio::test]
async fn unread_replies_are_emailed_and_answers_come_back() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let smtp = sink(&python, dir.path());
    let store = Arc::new(SqliteStore::open(&dir.path().join("f.db")).await.unwrap());
    let agent = store
        .create_agent(
            NewAgent {
                email: "ada@example.com".into(),
                name: "Ada".into(),
                password_hash: server::hash_password("agent-password").unwrap(),
                admin: true,
            },
            1,
        )
        .await
        .unwrap();
    let settings = server::Settings {
        email: Some(server::email::Email {
            smtp_url: format!("smtp://127.0.0.1:{}", smtp.port),
            from: "Brightbill Support <support@brightbill.example>".into(),
            reply_domain: "reply.brightbill.example".into(),
            inbound_secret: SECRET.into(),
            away: Duration::from_secs(1),
            every: Duration::from_millis(300),
        }),
        ..server::Settings::default()
    };
    let state = server::AppState::new(store.clone(), settings);
    state.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, state, std::future::pending()));

    // A Portuguese-speaking customer asked, left an address, and left; Ada answered twice.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let v = store.create_visitor("vt-rita", "demo", now).await.unwrap();
    let context = ConversationContext {
        locale: Some("pt-BR".into()),
        ..ConversationContext::default()
    };
    let c = store
        .open_or_create_conversation(&v, &context, now)
        .await
        .unwrap();
    store
        .set_contact(c.id, Some("Rita"), Some("rita@example.com"))
        .await
        .unwrap();
    let say = |agent_id: Option<i64>, id: &'static str, body: &'static str| NewMessage {
        conversation_id: c.id,
        client_id: id,
        agent_id,
        body,
        at: now,
        attachments: &[],
    };
    store
        .append_message(say(None, "q", "Onde está meu reembolso?"))
        .await
        .unwrap();
    store
        .append_message(say(Some(agent.id), "a1", "Olá Rita, estou verificando."))
        .await
        .unwrap();
    store
        .append_message(say(Some(agent.id), "a2", "Seu reembolso sai hoje."))
        .await
        .unwrap();

    // One email for both replies, in Portuguese, from the site with a signed Reply-To.
    let mails = wait_for_mail(&smtp.maildir, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(received(&smtp.maildir).len(), 1, "emailed once");
    let mail = mail_parser::MessageParser::default()
        .parse(&mails[0])
        .unwrap();
    assert_eq!(mail.subject(), Some("Nova resposta de Brightbill"));
    let to = mail
        .to()
        .unwrap()
        .first()
        .unwrap()
        .address()
        .unwrap()
        .to_owned();
    assert_eq!(to, "rita@example.com");
    let reply_to = mail
        .reply_to()
        .unwrap()
        .first()
        .unwrap()
        .address()
        .unwrap()
        .to_owned();
    assert!(
        reply_to.starts_with(&format!("reply+{}.", c.id)),
        "{reply_to}"
    );
    assert!(reply_to.ends_with("@reply.brightbill.example"));
    let text = mail.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.contains("Ada:\nOlá Rita, estou verificando."),
        "{text}"
    );
    assert!(text.contains("Ada:\nSeu reembolso sai hoje."), "{text}");
    assert!(text.contains("Você: Onde está meu reembolso?"), "{text}");
    let our_id = mail.message_id().unwrap().to_owned();

    // Rita answers from her mail program.
    let answer = |from: &str, to: &str, id: &str| {
        format!(
            "From: Rita <{from}>\r\nTo: {to}\r\nSubject: Re: Nova resposta de Brightbill\r\n\
             Message-ID: <{id}>\r\nIn-Reply-To: <{our_id}>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n\
             Chegou, obrigada!\r\n\r\nEm ter., 1 de dez. de 2026, Brightbill escreveu:\r\n\
             > Seu reembolso sai hoje.\r\n"
        )
    };
    let http = reqwest::Client::new();
    let post = |body: String, secret: Option<&'static str>| {
        let mut request = http.post(format!("{base}/api/email/inbound")).body(body);
        if let Some(s) = secret {
            request = request.header("authorization", format!("Bearer {s}"));
        }
        request.send()
    };
    let good = answer("rita@example.com", &reply_to, "r1@mail.example.com");
    let r = post(good.clone(), Some(SECRET)).await.unwrap();
    assert_eq!(r.status(), 200);
    let got: serde_json::Value = r.json().await.unwrap();
    assert_eq!(got["conversation"], c.id);
    assert_eq!(got["seq"], 4);
    assert_eq!(got["duplicate"], false);
    let messages = store.messages_after(c.id, 3, 10).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body, "Chegou, obrigada!");
    assert_eq!(messages[0].author, store::MessageAuthor::Visitor);
    // The provider posts it again: stored once.
    let again: serde_json::Value = post(good.clone(), Some(SECRET))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (again["seq"].clone(), again["duplicate"].clone()),
        (4.into(), true.into())
    );

    // Refusals: no secret, a wrong one, someone else writing, a forged address, not an email.
    assert_eq!(post(good.clone(), None).await.unwrap().status(), 401);
    assert_eq!(
        post(good.clone(), Some("wrong-secret-0123456789"))
            .await
            .unwrap()
            .status(),
        403
    );
    let stranger = answer("mallory@example.com", &reply_to, "m1@example.com");
    assert_eq!(post(stranger, Some(SECRET)).await.unwrap().status(), 403);
    let forged = answer(
        "rita@example.com",
        &format!("reply+{}.0000000000000000@reply.brightbill.example", c.id),
        "f1@example.com",
    )
    .replace(&format!("In-Reply-To: <{our_id}>\r\n"), "");
    let r = post(forged, Some(SECRET)).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("signed reply address"));
    assert_eq!(
        post("hello".into(), Some(SECRET)).await.unwrap().status(),
        400
    );
    assert_eq!(store.messages_after(c.id, 4, 10).await.unwrap().len(), 0);

    // Ada answers again; Rita reads it in the widget this time: no second email.
    store
        .append_message(say(Some(agent.id), "a3", "De nada!"))
        .await
        .unwrap();
    store
        .mark_read(c.id, store::ReadBy::Visitor, 5)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(received(&smtp.maildir).len(), 1);
}
