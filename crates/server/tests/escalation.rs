//! Escalation to Jira against a stand-in Jira written here (axum on 127.0.0.1:0) that
//! implements exactly the REST v3 calls the server makes, checking them as Jira would: create
//! issue (`POST /rest/api/3/issue`: basic auth, project, issue type, label, an Atlassian
//! Document Format description) and get issue (`GET /rest/api/3/issue/{key}?fields=status,…`).
//! An agent escalates a conversation (the issue carries the transcript and the link back),
//! links an existing issue, is told clearly about an unknown key and about Jira refusing the
//! account (without the token); Jira's webhook is refused without the secret, and a Done
//! status updates the escalation, adds a note and reopens the resolved conversation, once.

mod common;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use store::{ConversationContext, NewAgent, NewMessage, SqliteStore, Status, Store};

const JIRA_EMAIL: &str = "bot@acme.example";
const JIRA_TOKEN: &str = "jira-api-token-0123456789";
const WEBHOOK_SECRET: &str = "webhook-secret-0123456789";
const CONSOLE: &str = "https://support.acme.example";

/// Standard base64 (the basic auth header), written out to need no crate.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What the stand-in Jira holds: issues by key (status name, status category), and every
/// create request it accepted.
#[derive(Default)]
struct Jira {
    issues: BTreeMap<String, (String, String)>,
    created: Vec<Value>,
}

type Shared = Arc<Mutex<Jira>>;

fn refused(status: StatusCode, messages: &[&str], errors: Value) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({ "errorMessages": messages, "errors": errors })),
    )
}

fn signed_in(headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64(format!("{JIRA_EMAIL}:{JIRA_TOKEN}").as_bytes())
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn adf_texts(node: &Value, out: &mut Vec<String>) {
    if let Some(t) = node.get("text").and_then(Value::as_str) {
        out.push(t.to_owned());
    }
    if let Some(children) = node.get("content").and_then(Value::as_array) {
        for c in children {
            adf_texts(c, out);
        }
    }
}

async fn create_issue(
    State(jira): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !signed_in(&headers) {
        return refused(
            StatusCode::UNAUTHORIZED,
            &["Client must be authenticated"],
            json!({}),
        );
    }
    let fields = &body["fields"];
    if fields["project"]["key"] != "SUP" {
        return refused(
            StatusCode::BAD_REQUEST,
            &[],
            json!({ "project": "valid project is required" }),
        );
    }
    if fields["issuetype"]["name"] != "Task" {
        return refused(
            StatusCode::BAD_REQUEST,
            &[],
            json!({ "issuetype": "valid issue type is required" }),
        );
    }
    let summary = fields["summary"].as_str().unwrap_or_default();
    if summary.is_empty() || summary.contains('\n') || summary.chars().count() > 255 {
        return refused(
            StatusCode::BAD_REQUEST,
            &[],
            json!({ "summary": "Summary must be less than 255 characters and one line." }),
        );
    }
    let description = &fields["description"];
    let mut texts = Vec::new();
    adf_texts(description, &mut texts);
    if description["type"] != "doc"
        || description["version"] != 1
        || texts.iter().any(String::is_empty)
    {
        return refused(
            StatusCode::BAD_REQUEST,
            &[],
            json!({ "description": "Operation value must be an Atlassian Document." }),
        );
    }
    let mut jira = jira.lock().unwrap();
    jira.created.push(body.clone());
    let key = format!("SUP-{}", jira.created.len());
    jira.issues
        .insert(key.clone(), ("To Do".into(), "new".into()));
    (
        StatusCode::CREATED,
        Json(
            json!({ "id": "10001", "key": key, "self": format!("http://jira/rest/api/3/issue/{key}") }),
        ),
    )
}

async fn get_issue(
    State(jira): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    if !signed_in(&headers) {
        return refused(
            StatusCode::UNAUTHORIZED,
            &["Client must be authenticated"],
            json!({}),
        );
    }
    let wanted = query.get("fields").cloned().unwrap_or_default();
    assert!(wanted.split(',').any(|f| f == "status"), "{wanted}");
    let jira = jira.lock().unwrap();
    match jira.issues.get(&key) {
        Some((name, category)) => (
            StatusCode::OK,
            Json(json!({
                "id": "10002", "key": key, "self": "http://jira/rest/api/3/issue/10002",
                "fields": {
                    "summary": "An issue",
                    "status": { "name": name, "statusCategory": { "key": category } },
                },
            })),
        ),
        None => refused(
            StatusCode::NOT_FOUND,
            &["Issue does not exist or you do not have permission to see it."],
            json!({}),
        ),
    }
}

async fn stand_in_jira(jira: Shared) -> String {
    let app = axum::Router::new()
        .route("/rest/api/3/issue", post(create_issue))
        .route("/rest/api/3/issue/{key}", get(get_issue))
        .with_state(jira);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn frontdesk(store: Arc<SqliteStore>, jira_url: &str, token: &str) -> String {
    let settings = server::Settings {
        escalation: Some(server::escalation::Escalation {
            jira_url: jira_url.into(),
            jira_email: JIRA_EMAIL.into(),
            jira_token: token.into(),
            jira_project: "SUP".into(),
            jira_issue_type: "Task".into(),
            webhook_secret: WEBHOOK_SECRET.into(),
            console_url: Some(CONSOLE.into()),
        }),
        ..server::Settings::default()
    };
    let state = server::AppState::new(store, settings);
    state.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    base
}

fn hmac_hex(body: &[u8], secret: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn webhook(key: &str, status: &str, category: &str) -> String {
    json!({
        "timestamp": 1_764_561_600_000_i64,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": { "displayName": "Dev" },
        "issue": {
            "id": "10001", "key": key,
            "fields": {
                "summary": "Refund stuck",
                "status": { "name": status, "statusCategory": { "key": category, "name": status } },
            },
        },
        "changelog": { "items": [{ "field": "status", "toString": status }] },
    })
    .to_string()
}

#[tokio::test]
async fn conversations_are_escalated_to_jira_and_its_webhook_brings_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("f.db")).await.unwrap());
    let agent = store
        .create_agent(
            NewAgent {
                email: "ada@example.com".into(),
                name: "Ada".into(),
                password_hash: server::hash_password("agent-password").unwrap(),
                admin: false,
            },
            1,
        )
        .await
        .unwrap();
    let jira: Shared = Arc::default();
    jira.lock().unwrap().issues.insert(
        "SUP-42".into(),
        ("In Progress".into(), "indeterminate".into()),
    );
    let jira_url = stand_in_jira(jira.clone()).await;
    let base = frontdesk(store.clone(), &jira_url, JIRA_TOKEN).await;
    let cookie = common::cookie(&base, "ada@example.com", "agent-password").await;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut conversations = Vec::new();
    for (i, name) in ["Rita", "Oscar"].into_iter().enumerate() {
        let v = store
            .create_visitor(&format!("vt-{i}"), "demo", now)
            .await
            .unwrap();
        let c = store
            .open_or_create_conversation(&v, &ConversationContext::default(), now)
            .await
            .unwrap();
        store.set_contact(c.id, Some(name), None).await.unwrap();
        for (id, agent_id, body) in [
            ("q", None, "My refund never arrived.\nOrder 1234."),
            ("a", Some(agent.id), "Sorry! Checking with billing."),
        ] {
            store
                .append_message(NewMessage {
                    conversation_id: c.id,
                    client_id: id,
                    agent_id,
                    body,
                    at: now,
                    attachments: &[],
                })
                .await
                .unwrap();
        }
        conversations.push(c.id);
    }
    let (rita, oscar) = (conversations[0], conversations[1]);

    let http = reqwest::Client::new();
    let escalate = |conversation: i64, body: Value, cookie: Option<String>| {
        let mut r = http
            .post(format!("{base}/api/conversations/{conversation}/escalate"))
            .json(&body);
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.send()
    };
    let message = |v: &Value| v["message"].as_str().unwrap_or_default().to_owned();

    // Signed-in agents only.
    let r = escalate(rita, json!({ "summary": "Refund stuck" }), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(jira.lock().unwrap().created.is_empty());

    // A new issue with the transcript and the link back.
    let r = escalate(
        rita,
        json!({ "summary": "Refund  stuck\n" }),
        Some(cookie.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["key"], "SUP-1");
    assert_eq!(e["tracker"], "jira");
    assert_eq!(e["status"], "To Do");
    assert_eq!(e["done"], false);
    assert_eq!(e["url"], format!("{jira_url}/browse/SUP-1"));
    let created = jira.lock().unwrap().created.clone();
    assert_eq!(created.len(), 1);
    let fields = &created[0]["fields"];
    assert_eq!(fields["summary"], "Refund stuck");
    assert_eq!(fields["labels"], json!(["frontdesk"]));
    let mut texts = Vec::new();
    adf_texts(&fields["description"], &mut texts);
    let text = texts.join("|");
    assert!(
        text.contains(
            "Rita: |My refund never arrived.|Order 1234.|Ada: |Sorry! Checking with billing."
        ),
        "{text}"
    );
    let link = format!("{CONSOLE}/console#conversation={rita}");
    assert!(
        fields["description"]
            .to_string()
            .contains(&format!(r#""href":"{link}""#))
    );
    assert!(text.contains("Escalated by Ada"), "{text}");
    let notes = store.notes(rita).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0].body,
        format!("Escalated to SUP-1: {jira_url}/browse/SUP-1")
    );
    let shown: Value = http
        .get(format!("{base}/api/conversations/{rita}/escalation"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown, e);

    // Once per conversation: Jira is not asked again.
    let r = escalate(rita, json!({ "summary": "Again" }), Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(message(&r.json().await.unwrap()).contains("SUP-1"));
    assert_eq!(jira.lock().unwrap().created.len(), 1);

    // Unknown and malformed keys are explained; nothing is stored.
    let r = escalate(oscar, json!({ "link": "SUP-999" }), Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let said = message(&r.json().await.unwrap());
    assert!(said.contains("Jira has no issue SUP-999"), "{said}");
    let r = escalate(oscar, json!({ "link": "not a key" }), Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(message(&r.json().await.unwrap()).contains("SUP-123"));
    assert_eq!(store.escalation(oscar).await.unwrap(), None);

    // Jira refusing the account: a 502 that says so, never with the token.
    let wrong = frontdesk(store.clone(), &jira_url, "a-wrong-token-0123456789").await;
    let wrong_cookie = common::cookie(&wrong, "ada@example.com", "agent-password").await;
    let r = http
        .post(format!("{wrong}/api/conversations/{oscar}/escalate"))
        .header("cookie", wrong_cookie)
        .json(&json!({ "link": "SUP-42" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let said = r.text().await.unwrap();
    assert!(said.contains("Jira refused the account"), "{said}");
    assert!(said.contains("Client must be authenticated"), "{said}");
    assert!(!said.contains("a-wrong-token"), "{said}");

    // Linking an existing issue reads its status.
    let r = escalate(oscar, json!({ "link": "sup-42" }), Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        (e["key"].clone(), e["status"].clone()),
        (json!("SUP-42"), json!("In Progress"))
    );
    assert_eq!(
        store.notes(oscar).await.unwrap()[0].body,
        format!("Escalated to SUP-42: {jira_url}/browse/SUP-42")
    );

    // Jira's webhook: refused without the secret, by bearer token or by HMAC.
    let hook = |body: String, header: Option<(&'static str, String)>| {
        let mut r = http
            .post(format!("{base}/api/escalation/jira-webhook"))
            .header("content-type", "application/json")
            .body(body);
        if let Some((name, value)) = header {
            r = r.header(name, value);
        }
        r.send()
    };
    let done = webhook("SUP-1", "Done", "done");
    assert_eq!(hook(done.clone(), None).await.unwrap().status(), 401);
    let wrong_bearer = Some((
        "authorization",
        "Bearer webhook-secret-wrong-000".to_owned(),
    ));
    assert_eq!(
        hook(done.clone(), wrong_bearer).await.unwrap().status(),
        403
    );
    let wrong_hmac = Some((
        "x-hub-signature",
        format!(
            "sha256={}",
            hmac_hex(done.as_bytes(), "another-secret-0123456")
        ),
    ));
    assert_eq!(hook(done.clone(), wrong_hmac).await.unwrap().status(), 403);
    assert_eq!(
        store.escalation(rita).await.unwrap().unwrap().status,
        "To Do"
    );

    // Done while the conversation is resolved: the status, a note, and the conversation open
    // again for the agent to tell the customer.
    store.set_status(rita, Status::Resolved, now).await.unwrap();
    let signed = Some((
        "x-hub-signature",
        format!("sha256={}", hmac_hex(done.as_bytes(), WEBHOOK_SECRET)),
    ));
    let r = hook(done.clone(), signed.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["updated"], 1);
    let e = store.escalation(rita).await.unwrap().unwrap();
    assert_eq!((e.status.as_str(), e.done), ("Done", true));
    let notes = store.notes(rita).await.unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[1].body, "SUP-1 moved to Done");
    assert_eq!(
        store.conversation(rita).await.unwrap().unwrap().status,
        Status::Open
    );
    // Jira repeating itself changes nothing.
    store.set_status(rita, Status::Resolved, now).await.unwrap();
    let r = hook(done, signed).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["updated"], 0);
    assert_eq!(store.notes(rita).await.unwrap().len(), 2);
    assert_eq!(
        store.conversation(rita).await.unwrap().unwrap().status,
        Status::Resolved
    );

    // A bearer-authenticated change of an issue linked to an open conversation: noted; an
    // issue no conversation links is not an error.
    let bearer = Some(("authorization", format!("Bearer {WEBHOOK_SECRET}")));
    let r = hook(
        webhook("SUP-42", "In Review", "indeterminate"),
        bearer.clone(),
    )
    .await
    .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["updated"], 1);
    assert_eq!(
        store.notes(oscar).await.unwrap().last().unwrap().body,
        "SUP-42 moved to In Review"
    );
    assert!(!store.escalation(oscar).await.unwrap().unwrap().done);
    let r = hook(webhook("OPS-7", "Done", "done"), bearer)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["updated"], 0);
}
