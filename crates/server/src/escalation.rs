//! Escalation to Jira: from a conversation, an agent creates a Jira issue (REST v3: summary,
//! the transcript and a link back to the console in the description, label `frontdesk`) or
//! links an existing one; the conversation keeps its key and status (`Store::escalate`), and a
//! private note says so on every console. Jira's webhook (`POST /api/escalation/jira-webhook`,
//! authenticated by `[escalation] webhook_secret` as a bearer token or Jira's `X-Hub-Signature`
//! HMAC) updates the status, adds a note, and reopens a resolved conversation when the issue is
//! done, so the agent can tell the customer.
//!
//! Jira is called with a bounded client: timeouts, no redirects, response bodies read up to
//! [`MAX_JIRA_BYTES`]. Its refusals reach the agent as a 502 naming what Jira said; the token
//! is only ever in the `Authorization` header of those calls.

use crate::actions;
use crate::auth::{check_origin, require_agent};
use crate::error::AppError;
use crate::{AppState, now_millis};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use protocol::EscalateRequest;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;
use store::{MessageAuthor, NewEscalation, Status, StoreError};

/// The tracker's name in the store.
const JIRA: &str = "jira";
/// Messages of the conversation the issue's description carries (the newest).
const TRANSCRIPT_MESSAGES: u64 = 50;
/// The largest answer read from Jira.
pub const MAX_JIRA_BYTES: usize = 256 * 1024;
/// The largest webhook payload taken (Jira sends the whole issue).
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

/// `[escalation]` settings.
#[derive(Clone)]
pub struct Escalation {
    /// `https://acme.atlassian.net` (no trailing slash).
    pub jira_url: String,
    /// The Jira account the issues are created as (basic auth `email:token`).
    pub jira_email: String,
    /// That account's API token.
    pub jira_token: String,
    /// The project's key (`SUP`).
    pub jira_project: String,
    /// The type of the issues created (`Task`).
    pub jira_issue_type: String,
    /// What Jira's webhook proves itself with (bearer token or HMAC key).
    pub webhook_secret: String,
    /// Where the issue's link back points (`https://support.example.com`); else the server's
    /// `public_url`, else the origin of the agent's console.
    pub console_url: Option<String>,
}

impl std::fmt::Debug for Escalation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token and the webhook secret are secrets.
        f.debug_struct("Escalation")
            .field("jira_url", &self.jira_url)
            .field("jira_email", &self.jira_email)
            .field("jira_project", &self.jira_project)
            .field("jira_issue_type", &self.jira_issue_type)
            .field("console_url", &self.console_url)
            .finish_non_exhaustive()
    }
}

fn web_origin(what: &str, url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{what} {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(format!(
            "{what} {url:?} must be an https:// (or http://) address"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.query().is_some() {
        return Err(format!(
            "{what} must not carry credentials or a query (the token goes in jira_token)"
        ));
    }
    Ok(())
}

impl Escalation {
    /// Checks what the settings name: the addresses, the project key, the account.
    pub fn validate(&self) -> Result<(), String> {
        web_origin("jira_url", &self.jira_url)?;
        if let Some(url) = &self.console_url {
            web_origin("console_url", url)?;
        }
        if !self.jira_email.contains('@') {
            return Err(format!(
                "jira_email {:?} is not the email of a Jira account",
                self.jira_email
            ));
        }
        if self.jira_token.trim().is_empty() {
            return Err("jira_token is empty".into());
        }
        if normalize_issue_key(&format!("{}-1", self.jira_project)).as_deref()
            != Some(format!("{}-1", self.jira_project).as_str())
        {
            return Err(format!(
                "jira_project {:?} is not a Jira project key (upper-case letters, digits, _)",
                self.jira_project
            ));
        }
        if self.jira_issue_type.trim().is_empty() {
            return Err("jira_issue_type is empty".into());
        }
        if self.webhook_secret.len() < 16 {
            return Err(
                "webhook_secret must be at least 16 characters (use a random string)".into(),
            );
        }
        Ok(())
    }

    fn browse_url(&self, key: &str) -> String {
        format!("{}/browse/{key}", self.jira_url)
    }
}

/// Why an escalation did not happen: ours (`AppError`), or Jira's (502, what Jira said).
pub enum EscalateError {
    App(AppError),
    Jira(String),
}

impl From<AppError> for EscalateError {
    fn from(e: AppError) -> Self {
        EscalateError::App(e)
    }
}

impl From<StoreError> for EscalateError {
    fn from(e: StoreError) -> Self {
        EscalateError::App(e.into())
    }
}

impl IntoResponse for EscalateError {
    fn into_response(self) -> Response {
        match self {
            EscalateError::App(e) => e.into_response(),
            EscalateError::Jira(message) => {
                tracing::warn!(message = %message, "a call to Jira failed");
                let body = json!({ "error": "bad_gateway", "message": message });
                (StatusCode::BAD_GATEWAY, Json(body)).into_response()
            }
        }
    }
}

fn settings(state: &AppState) -> Result<&Escalation, AppError> {
    state
        .settings
        .escalation
        .as_ref()
        .ok_or_else(|| AppError::NotFound("escalation is not configured on this server".into()))
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            // Credentials are never carried to wherever a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Frontdesk")
            .build()
            .expect("the HTTP client's settings are valid")
    })
}

/// One call to Jira's REST API: the status and at most `MAX_JIRA_BYTES` of the answer.
async fn call(
    jira: &Escalation,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Vec<u8>), EscalateError> {
    let mut request = client()
        .request(method, format!("{}{path}", jira.jira_url))
        .basic_auth(&jira.jira_email, Some(&jira.jira_token))
        .header("accept", "application/json");
    if let Some(body) = body {
        request = request.json(body);
    }
    let unreachable = |e: reqwest::Error| {
        let why = if e.is_timeout() {
            "did not answer in time"
        } else {
            "could not be reached"
        };
        EscalateError::Jira(format!("Jira at {} {why}", jira.jira_url))
    };
    let mut response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if bytes.len() + chunk.len() > MAX_JIRA_BYTES {
            return Err(EscalateError::Jira(format!(
                "Jira's answer is larger than {MAX_JIRA_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, bytes))
}

/// What Jira said when it refused (its `errorMessages` and per-field `errors`), briefly.
fn refusal(status: u16, body: &[u8]) -> String {
    #[derive(Deserialize, Default)]
    struct Errors {
        #[serde(default, rename = "errorMessages")]
        messages: Vec<String>,
        #[serde(default)]
        errors: std::collections::BTreeMap<String, String>,
    }
    let e: Errors = serde_json::from_slice(body).unwrap_or_default();
    let mut said: Vec<String> = e.messages;
    said.extend(
        e.errors
            .into_iter()
            .map(|(field, m)| format!("{field}: {m}")),
    );
    let said: String = said.join("; ").chars().take(300).collect();
    let what = match status {
        401 => "Jira refused the account ([escalation] jira_email and jira_token)".to_owned(),
        403 => "the Jira account may not do this".to_owned(),
        _ => format!("Jira answered {status}"),
    };
    if said.is_empty() {
        what
    } else {
        format!("{what}: {said}")
    }
}

#[derive(Deserialize)]
struct JiraStatus {
    name: String,
    #[serde(default, rename = "statusCategory")]
    category: Option<JiraCategory>,
}

#[derive(Deserialize)]
struct JiraCategory {
    key: String,
}

impl JiraStatus {
    fn done(&self) -> bool {
        self.category.as_ref().is_some_and(|c| c.key == "done")
    }
}

#[derive(Deserialize)]
struct JiraIssue {
    key: String,
    #[serde(default)]
    fields: Option<JiraFields>,
}

#[derive(Deserialize)]
struct JiraFields {
    #[serde(default)]
    status: Option<JiraStatus>,
}

/// `GET /rest/api/3/issue/{key}`: the issue's key (as Jira writes it) and status; `None` when
/// Jira has no such issue (or the account cannot see it).
async fn fetch_issue(
    jira: &Escalation,
    key: &str,
) -> Result<Option<(String, JiraStatus)>, EscalateError> {
    let (status, body) = call(
        jira,
        reqwest::Method::GET,
        &format!("/rest/api/3/issue/{key}?fields=status,summary"),
        None,
    )
    .await?;
    if status == 404 {
        return Ok(None);
    }
    if status != 200 {
        return Err(EscalateError::Jira(refusal(status, &body)));
    }
    let issue: JiraIssue = serde_json::from_slice(&body)
        .map_err(|e| EscalateError::Jira(format!("Jira's issue is not what REST v3 says: {e}")))?;
    let status = issue
        .fields
        .and_then(|f| f.status)
        .ok_or_else(|| EscalateError::Jira("Jira's issue has no status".into()))?;
    Ok(Some((issue.key, status)))
}

/// Text as Atlassian Document Format inline nodes: a line break between lines, no empty text
/// node (ADF refuses them).
fn adf_text(text: &str, marks: Option<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push(json!({ "type": "hardBreak" }));
        }
        let line = line.trim_end_matches('\r');
        if !line.is_empty() {
            let mut node = json!({ "type": "text", "text": line });
            if let Some(marks) = &marks {
                node["marks"] = marks.clone();
            }
            out.push(node);
        }
    }
    out
}

/// The issue's description: who escalated, the link back, and the transcript.
pub(crate) fn description(
    agent: &str,
    conversation: i64,
    link: &str,
    transcript: &[(String, String)],
) -> Value {
    let mut intro = adf_text(
        &format!("Escalated by {agent} from Frontdesk conversation #{conversation}: "),
        None,
    );
    intro.extend(adf_text(
        link,
        Some(json!([{ "type": "link", "attrs": { "href": link } }])),
    ));
    let mut content = vec![
        json!({ "type": "paragraph", "content": intro }),
        json!({
            "type": "heading",
            "attrs": { "level": 3 },
            "content": [{ "type": "text", "text": "Transcript" }],
        }),
    ];
    for (author, text) in transcript {
        let mut line = adf_text(&format!("{author}: "), Some(json!([{ "type": "strong" }])));
        line.extend(adf_text(text, None));
        content.push(json!({ "type": "paragraph", "content": line }));
    }
    json!({ "type": "doc", "version": 1, "content": content })
}

/// Where the console is, for the issue's link back.
fn console_base(state: &AppState, jira: &Escalation, headers: &HeaderMap) -> String {
    jira.console_url
        .clone()
        .or_else(|| state.settings.public_url.clone())
        .or_else(|| {
            headers
                .get(axum::http::header::ORIGIN)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned()
}

fn wire(e: store::Escalation) -> protocol::Escalation {
    protocol::Escalation {
        tracker: e.tracker,
        key: e.issue_key,
        url: e.url,
        status: e.status,
        done: e.done,
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

/// `GET /api/conversations/{id}/escalation` (agents): the conversation's issue, or `null`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<Option<protocol::Escalation>>, AppError> {
    require_agent(&state, &headers).await?;
    settings(&state)?;
    Ok(Json(state.store.escalation(id).await?.map(wire)))
}

/// `POST /api/conversations/{id}/escalate` (agents): `{"summary": "…"}` creates a Jira issue,
/// `{"link": "KEY-123"}` links an existing one.
pub async fn escalate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(request): Json<EscalateRequest>,
) -> Result<Json<protocol::Escalation>, EscalateError> {
    check_origin(&state, &headers)?;
    let agent = require_agent(&state, &headers).await?;
    let jira = settings(&state)?;
    let c = state
        .store
        .conversation(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no conversation {id}")))?;
    if let Some(e) = state.store.escalation(id).await? {
        return Err(AppError::Conflict(format!(
            "this conversation is already escalated to {}",
            e.issue_key
        ))
        .into());
    }
    let (key, status) = match request {
        EscalateRequest::Link(key) => {
            let key = normalize_issue_key(&key).ok_or_else(|| {
                AppError::BadRequest(format!("{key:?} is not an issue key like SUP-123"))
            })?;
            fetch_issue(jira, &key).await?.ok_or_else(|| {
                AppError::BadRequest(format!(
                    "Jira has no issue {key} (or the account {} cannot see it)",
                    jira.jira_email
                ))
            })?
        }
        EscalateRequest::Summary(summary) => {
            let summary = summary.split_whitespace().collect::<Vec<_>>().join(" ");
            if summary.is_empty() {
                return Err(AppError::BadRequest("the summary is empty".into()).into());
            }
            if summary.chars().count() > protocol::MAX_ESCALATION_SUMMARY_CHARS {
                return Err(AppError::BadRequest(format!(
                    "the summary is limited to {} characters",
                    protocol::MAX_ESCALATION_SUMMARY_CHARS
                ))
                .into());
            }
            let messages = state
                .store
                .messages_after(
                    id,
                    c.last_seq.saturating_sub(TRANSCRIPT_MESSAGES),
                    TRANSCRIPT_MESSAGES as u32,
                )
                .await?;
            let customer = c.contact_name.clone().unwrap_or_else(|| "Customer".into());
            let transcript: Vec<(String, String)> = messages
                .into_iter()
                .map(|m| match m.author {
                    MessageAuthor::Visitor => (customer.clone(), m.body),
                    MessageAuthor::Agent { name, .. } => (name, m.body),
                })
                .collect();
            let link = format!(
                "{}/console#conversation={id}",
                console_base(&state, jira, &headers)
            );
            let fields = json!({ "fields": {
                "project": { "key": jira.jira_project },
                "summary": summary,
                "issuetype": { "name": jira.jira_issue_type },
                "labels": ["frontdesk"],
                "description": description(&agent.name, id, &link, &transcript),
            }});
            let (code, body) = call(
                jira,
                reqwest::Method::POST,
                "/rest/api/3/issue",
                Some(&fields),
            )
            .await?;
            if code != 201 && code != 200 {
                return Err(EscalateError::Jira(refusal(code, &body)));
            }
            #[derive(Deserialize)]
            struct Created {
                key: String,
            }
            let created: Created = serde_json::from_slice(&body)
                .map_err(|e| EscalateError::Jira(format!("Jira's answer has no issue key: {e}")))?;
            // The issue exists now: its status is read, and when that fails it is kept as
            // created (Jira's webhook tells the next change).
            match fetch_issue(jira, &created.key).await {
                Ok(Some(found)) => found,
                _ => (
                    created.key.clone(),
                    JiraStatus {
                        name: "Created".into(),
                        category: None,
                    },
                ),
            }
        }
    };
    let url = jira.browse_url(&key);
    let stored = state
        .store
        .escalate(&NewEscalation {
            conversation_id: id,
            tracker: JIRA,
            issue_key: &key,
            url: &url,
            status: &status.name,
            done: status.done(),
            escalated_by: agent.id,
            at: now_millis(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                AppError::Conflict("this conversation was escalated meanwhile".into())
            }
            e => e.into(),
        })?;
    actions::note(
        &state,
        agent.id,
        id,
        &format!("escalation-{key}"),
        &format!("Escalated to {key}: {url}"),
    )
    .await
    .map_err(action_error)?;
    tracing::info!(conversation = id, issue = %key, agent = agent.id, "escalated to Jira");
    Ok(Json(wire(stored)))
}

fn action_error(e: actions::ActionError) -> AppError {
    match e {
        actions::ActionError::NotFound(m) => AppError::NotFound(m),
        actions::ActionError::Invalid(m) => AppError::Conflict(m),
        actions::ActionError::Store(e) => e.into(),
    }
}

/// The webhook's caller proved the secret: as a bearer token, or as Jira's `X-Hub-Signature:
/// sha256=<hex HMAC-SHA256 of the body>`. `None` when it offered neither.
fn authorized(secret: &str, headers: &HeaderMap, body: &[u8]) -> Option<bool> {
    use hmac::{Hmac, Mac};
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(token) = header("authorization").and_then(|v| v.strip_prefix("Bearer ")) {
        return Some(crate::auth::same_secret(
            token.trim().as_bytes(),
            secret.as_bytes(),
        ));
    }
    let signature = header("x-hub-signature")?;
    let Some(Ok(given)) = signature.trim().strip_prefix("sha256=").map(hex::decode) else {
        return Some(false);
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return Some(false);
    };
    mac.update(body);
    Some(mac.verify_slice(&given).is_ok())
}

#[derive(Deserialize)]
struct Hook {
    #[serde(default, rename = "webhookEvent")]
    event: String,
    #[serde(default)]
    issue: Option<JiraIssue>,
}

/// `POST /api/escalation/jira-webhook`: Jira tells an issue changed. Answers how many
/// conversations changed (an issue no conversation links is not an error: Jira sends every
/// issue of the project).
pub async fn jira_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let jira = settings(&state)?;
    match authorized(&jira.webhook_secret, &headers, &body) {
        None => return Err(AppError::Unauthenticated),
        Some(false) => return Err(AppError::Forbidden("wrong webhook secret".into())),
        Some(true) => {}
    }
    let hook: Hook = serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest(format!("not a Jira webhook payload: {e}")))?;
    let Some(issue) = hook.issue else {
        return Ok(Json(json!({ "updated": 0 })));
    };
    let Some(status) = issue.fields.and_then(|f| f.status) else {
        return Ok(Json(json!({ "updated": 0 })));
    };
    let Some(key) = normalize_issue_key(&issue.key) else {
        return Err(AppError::BadRequest(format!(
            "{:?} is not an issue key",
            issue.key
        )));
    };
    let done = status.done();
    let now = now_millis();
    let mut updated = 0;
    for e in state.store.escalations_of_issue(JIRA, &key).await? {
        let conversation = e.conversation_id;
        if !state
            .store
            .set_escalation_status(conversation, &status.name, done, now)
            .await?
        {
            continue;
        }
        updated += 1;
        actions::note(
            &state,
            e.escalated_by,
            conversation,
            &format!("escalation-{key}-{now}"),
            &format!("{key} moved to {}", status.name),
        )
        .await
        .map_err(action_error)?;
        if done && !e.done {
            let resolved = matches!(
                state.store.conversation(conversation).await?,
                Some(c) if c.status == Status::Resolved
            );
            if resolved
                && let Err(err) = actions::set_status(&state, conversation, Status::Open).await
            {
                // The customer chats in another conversation: the note is there all the same.
                tracing::warn!(conversation, error = %err, "could not reopen after the issue was done");
            }
        }
        tracing::info!(conversation, issue = %key, status = %status.name, event = %hook.event, "escalation status changed");
    }
    Ok(Json(json!({ "updated": updated })))
}

/// An issue key as trackers write it (kept out of `protocol`: the widget's build must not
/// change) (`ABC-123`), upper-cased; `None` when it is not one.
pub(crate) fn normalize_issue_key(key: &str) -> Option<String> {
    let key = key.trim().to_ascii_uppercase();
    let (project, number) = key.rsplit_once('-')?;
    let project_ok = project.len() <= 50
        && project.starts_with(|c: char| c.is_ascii_uppercase())
        && project
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    let number_ok = (1..=12).contains(&number.len())
        && number.chars().all(|c| c.is_ascii_digit())
        && !number.starts_with('0');
    (project_ok && number_ok).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_keys_are_recognized() {
        assert_eq!(normalize_issue_key(" sup-12 ").as_deref(), Some("SUP-12"));
        assert_eq!(normalize_issue_key("A_B2-7").as_deref(), Some("A_B2-7"));
        for bad in [
            "SUP", "SUP-", "-12", "SUP-012", "1SUP-3", "SUP-1x", "S P-1", "",
        ] {
            assert_eq!(normalize_issue_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_description_carries_the_link_and_each_line_of_the_transcript() {
        let d = description(
            "Ada",
            7,
            "https://support.example.com/console#conversation=7",
            &[
                ("Rita".into(), "The refund\nnever came".into()),
                ("Ada".into(), "Checking".into()),
            ],
        );
        let text = d.to_string();
        assert!(text.contains(r#""href":"https://support.example.com/console#conversation=7""#));
        assert!(text.contains(r#"{"text":"The refund","type":"text"},{"type":"hardBreak"},{"text":"never came","type":"text"}"#), "{text}");
        assert!(!text.contains(r#""text":"""#), "no empty text node: {text}");
        assert_eq!(d["content"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn the_webhook_secret_is_a_bearer_token_or_the_body_s_hmac() {
        let secret = "webhook-secret-0123456789";
        let with = |name: &str, value: String| {
            let mut h = HeaderMap::new();
            h.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
            h
        };
        let body = br#"{"webhookEvent":"jira:issue_updated"}"#;
        assert_eq!(authorized(secret, &HeaderMap::new(), body), None);
        let bearer = |s: &str| with("authorization", format!("Bearer {s}"));
        assert_eq!(authorized(secret, &bearer(secret), body), Some(true));
        assert_eq!(
            authorized(secret, &bearer("webhook-secret-0123456780"), body),
            Some(false)
        );
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        let signature = hex::encode(mac.finalize().into_bytes());
        let signed = with("x-hub-signature", format!("sha256={signature}"));
        assert_eq!(authorized(secret, &signed, body), Some(true));
        assert_eq!(
            authorized(secret, &signed, b"{}"),
            Some(false),
            "another body"
        );
        let odd = with("x-hub-signature", "sha1=abc".into());
        assert_eq!(authorized(secret, &odd, body), Some(false));
    }
}
