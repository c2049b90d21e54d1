//! The console's shell: sign-in over `fetch`, the agent WebSocket, and rendering of `ConsoleState`.

use crate::reports;
use crate::state::{Action, Connection, ConsoleState, Effect, Line, View};
use gloo_events::EventListener;
use protocol::{AgentInfo, Author, decode_server};
use protocol::{PresenceStatus, Priority};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    HtmlInputElement, HtmlTextAreaElement, Request, RequestCredentials, RequestInit, Response,
};
use yew::prelude::*;

mod conversation;
mod escalation;
mod files;
mod inbox;
mod io;

pub fn mount() {
    yew::Renderer::<App>::with_root(web_client::app_root()).render();
}

// Messages are handled one at a time; boxing the action would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    Act(Action),
    Connect,
    Opened(u32),
    Text(u32, String),
    Closed(u32),
    Login,
    LoginFailed(String),
    Logout,
    Draft(String),
    /// No keystroke in the composer for a while, maybe.
    TypingIdle,
    SendReply,
    /// Once a second: SLA countdowns and auto-away.
    Tick,
    /// Any keyboard or pointer activity (auto-away resets).
    Activity,
    /// A key pressed outside text fields (keyboard shortcuts).
    Shortcut(String),
    SetMode(bool),
    UseCanned(String),
    Search(String),
    SearchResults(String, Vec<protocol::ConversationSummary>),
    History(i64, Vec<protocol::ConversationSummary>),
    /// The contact of the selected conversation.
    Profile(protocol::ContactProfile),
    ProfileError(String),
    /// Choose (or clear) the selected contact's account manager.
    SetManager(i64, Option<i64>),
    /// Merge contact `.0` into contact `.1`.
    Merge(i64, i64),
    /// Erase a contact and all its data (admins; asks first).
    EraseContact(i64),
    /// The contact was erased.
    ContactErased(i64),
    /// Text to insert in the composer (a knowledge-base link found by `/kb query`).
    Insert(String),
    ToggleAdmin,
    Accounts(Vec<protocol::AgentAccount>),
    SetDisabled(i64, bool),
    /// An admin edited an agent's routing skills (comma-separated languages and teams).
    SetSkills(i64),
    /// The admin typed in an agent's languages (0) or teams (1) field.
    SkillsDraft(i64, u8, String),
    /// The answer to a skills save for this agent.
    SkillsSaved(i64, Result<protocol::AgentAccount, String>),
    AddAgent,
    AdminError(String),
    LogoutAll,
    /// Show or leave the Reports page (admins and leads).
    ToggleReports,
    /// Open a conversation from the Reports page.
    OpenConversation(i64),
    /// Show or hide the webhooks panel (admins).
    ToggleWebhooks,
    /// Attachments: files added, their upload's progress and end (`app/files.rs`).
    Files(files::FilesMsg),
}

pub struct App {
    state: ConsoleState,
    socket: Option<web_client::Socket>,
    generation: u32,
    /// Still asking the server whether a session exists.
    booting: bool,
    checking: bool,
    login_error: Option<String>,
    email: NodeRef,
    password: NodeRef,
    draft: String,
    thread: NodeRef,
    reply_box: NodeRef,
    /// Composer writes a private note instead of a reply.
    note_mode: bool,
    now: i64,
    last_activity: i64,
    /// Away because of inactivity (not chosen by the agent).
    auto_away: bool,
    show_help: bool,
    /// Focus the composer after the next render.
    focus_pending: bool,
    base_title: String,
    search: String,
    /// Results of the full-text search for `search` (server-side, tantivy).
    results: Option<Vec<protocol::ConversationSummary>>,
    /// The selected conversation's customer's other conversations.
    history: Option<(i64, Vec<protocol::ConversationSummary>)>,
    /// Skills saves in flight, and the newest edit made meanwhile (sent once the first answers:
    /// two saves racing could land in the wrong order).
    skills_busy: std::collections::HashSet<i64>,
    /// Whether the customer was told this agent types, and in which conversation.
    typing: web_client::Typing,
    typing_in: Option<i64>,
    skills_next: std::collections::HashSet<i64>,
    /// What the admin's skills fields hold (languages, teams) and what was last sent.
    skills_draft: std::collections::HashMap<i64, (String, String)>,
    skills_sent: std::collections::HashMap<i64, (String, String)>,
    /// The contact shown beside the selected conversation, and the last one asked for.
    profile: Option<protocol::ContactProfile>,
    profile_requested: Option<i64>,
    profile_error: Option<String>,
    /// A one-line confirmation of what was just done (a contact erased).
    notice: Option<String>,
    /// The admin panel (accounts), when open.
    accounts: Option<Vec<protocol::AgentAccount>>,
    admin_error: Option<String>,
    new_email: NodeRef,
    new_name: NodeRef,
    new_password: NodeRef,
    new_admin: NodeRef,
    /// The Reports page is shown instead of the inbox.
    reports: bool,
    /// Kept, so the Reports page is not re-rendered by every tick of the console.
    open_from_reports: Callback<i64>,
    /// The webhooks panel is shown (in the agents panel's place).
    webhooks: bool,
    /// Files uploaded (or uploading) for the next reply.
    staged: Vec<files::Staged>,
    upload_key: u32,
    upload_error: Option<String>,
}

/// Minutes of inactivity before the console sets the agent away.
const AUTO_AWAY_MS: i64 = 5 * 60_000;

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

fn countdown(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A desktop notification, tagged by conversation so several console tabs show it once.
fn notify(conversation: i64, body: &str) {
    if web_sys::Notification::permission() != web_sys::NotificationPermission::Granted {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(body);
    options.set_tag(&format!("frontdesk-{conversation}"));
    let _ =
        web_sys::Notification::new_with_options(&format!("Conversation #{conversation}"), &options);
}

/// The `message` of an error answer, or a generic sentence.
pub(crate) fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "the request failed".into())
}

/// A same-origin JSON call; returns (status, body).
pub(crate) async fn api(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<(u16, String), String> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = &body {
        init.set_body(&JsValue::from_str(body));
    }
    let request =
        Request::new_with_str_and_init(path, &init).map_err(|_| "bad request".to_owned())?;
    if body.is_some() {
        let _ = request.headers().set("Content-Type", "application/json");
    }
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| "the server cannot be reached".to_owned())?
        .unchecked_into();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok((response.status(), text))
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        // A tick every second and the activity listeners, for as long as the page lives.
        let link = ctx.link().clone();
        gloo_timers::callback::Interval::new(1000, move || link.send_message(Msg::Tick)).forget();
        if let Some(window) = web_sys::window() {
            let link = ctx.link().clone();
            EventListener::new(&window, "keydown", move |e| {
                let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
                    return;
                };
                link.send_message(Msg::Activity);
                let typing = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .is_some_and(|el| {
                        matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                    });
                if !typing && !e.ctrl_key() && !e.meta_key() && !e.alt_key() {
                    let key = e.key();
                    if matches!(
                        key.as_str(),
                        "j" | "k" | "r" | "n" | "e" | "a" | "?" | "1" | "2" | "3" | "4" | "5"
                    ) {
                        e.prevent_default();
                        link.send_message(Msg::Shortcut(key));
                    }
                }
            })
            .forget();
            let link = ctx.link().clone();
            EventListener::new(&window, "pointerdown", move |_| {
                link.send_message(Msg::Activity)
            })
            .forget();
        }
        let link = ctx.link().clone();
        wasm_bindgen_futures::spawn_local(async move {
            match api("GET", "/api/me", None).await {
                Ok((200, body)) => match serde_json::from_str::<AgentInfo>(&body) {
                    Ok(agent) => link.send_message(Msg::Act(Action::SignedIn(agent))),
                    Err(_) => link.send_message(Msg::LoginFailed(String::new())),
                },
                _ => link.send_message(Msg::LoginFailed(String::new())),
            }
        });
        App {
            state: escalation::opened_from_link(),
            socket: None,
            generation: 0,
            booting: true,
            checking: false,
            login_error: None,
            email: NodeRef::default(),
            password: NodeRef::default(),
            draft: String::new(),
            thread: NodeRef::default(),
            reply_box: NodeRef::default(),
            note_mode: false,
            now: now_ms(),
            last_activity: now_ms(),
            auto_away: false,
            show_help: false,
            focus_pending: false,
            search: String::new(),
            results: None,
            history: None,
            skills_busy: Default::default(),
            typing: web_client::Typing::default(),
            typing_in: None,
            skills_next: Default::default(),
            skills_draft: Default::default(),
            skills_sent: Default::default(),
            profile: None,
            profile_requested: None,
            profile_error: None,
            notice: None,
            accounts: None,
            admin_error: None,
            new_email: NodeRef::default(),
            new_name: NodeRef::default(),
            new_password: NodeRef::default(),
            new_admin: NodeRef::default(),
            reports: false,
            open_from_reports: ctx.link().callback(Msg::OpenConversation),
            webhooks: false,
            staged: Vec::new(),
            upload_key: 0,
            upload_error: None,
            base_title: web_sys::window()
                .and_then(|w| w.document())
                .map(|d| d.title())
                .unwrap_or_default(),
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Files(m) => return self.on_files(ctx, m),
            Msg::Act(action) => {
                if matches!(action, Action::SignedIn(_)) {
                    self.booting = false;
                    self.checking = false;
                    self.login_error = None;
                    self.state.last_error = None; // "signed out" belonged to the sign-in form
                }
                self.apply(ctx, action);
            }
            Msg::Connect => {
                if self.state.agent.is_some() && self.state.connection != Connection::Online {
                    self.connect(ctx);
                }
            }
            Msg::Opened(g) if g == self.generation => self.apply(ctx, Action::Opened),
            Msg::Text(g, text) if g == self.generation => match decode_server(&text) {
                Ok(frame) => self.apply(ctx, Action::Frame(frame)),
                Err(_) => return false,
            },
            Msg::Closed(g) if g == self.generation => {
                self.socket = None;
                self.apply(
                    ctx,
                    Action::Closed {
                        jitter: js_sys::Math::random(),
                    },
                );
            }
            Msg::Opened(_) | Msg::Text(..) | Msg::Closed(_) => return false,
            Msg::Login => {
                let email = self
                    .email
                    .cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default();
                let password = self
                    .password
                    .cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default();
                let body = serde_json::json!({ "email": email, "password": password }).to_string();
                self.checking = true;
                let link = ctx.link().clone();
                wasm_bindgen_futures::spawn_local(async move {
                    match api("POST", "/api/login", Some(body)).await {
                        Ok((200, body)) => match serde_json::from_str::<AgentInfo>(&body) {
                            Ok(agent) => link.send_message(Msg::Act(Action::SignedIn(agent))),
                            Err(_) => link.send_message(Msg::LoginFailed(
                                "Unexpected answer from the server.".into(),
                            )),
                        },
                        Ok((401, _)) => link
                            .send_message(Msg::LoginFailed("Email or password is wrong.".into())),
                        Ok((429, body)) => {
                            link.send_message(Msg::LoginFailed(error_message(&body)))
                        }
                        Ok((status, _)) => link.send_message(Msg::LoginFailed(format!(
                            "Sign-in failed (HTTP {status})."
                        ))),
                        Err(e) => link.send_message(Msg::LoginFailed(e)),
                    }
                });
            }
            Msg::LoginFailed(error) => {
                self.booting = false;
                self.checking = false;
                self.login_error = (!error.is_empty()).then_some(error);
            }
            Msg::History(id, list) => self.history = Some((id, list)),
            Msg::Profile(p) => {
                self.profile_requested = Some(p.contact.id);
                self.profile = Some(p);
                self.profile_error = None;
            }
            Msg::ProfileError(e) => self.profile_error = Some(e),
            Msg::SetManager(contact, agent) => self.contact_request(
                ctx,
                format!("/api/contacts/{contact}/account-manager"),
                serde_json::json!({ "agent": agent }),
            ),
            Msg::Merge(from, into) => self.contact_request(
                ctx,
                format!("/api/contacts/{from}/merge"),
                serde_json::json!({ "into": into }),
            ),
            Msg::EraseContact(contact) => {
                let question = format!(
                    "Delete contact #{contact} with every conversation, message and note? \
                     This cannot be undone."
                );
                let confirmed = web_sys::window()
                    .and_then(|w| w.confirm_with_message(&question).ok())
                    .unwrap_or(false);
                if confirmed {
                    let link = ctx.link().clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        match api("DELETE", &format!("/api/contacts/{contact}"), None).await {
                            Ok((200, _)) => link.send_message(Msg::ContactErased(contact)),
                            Ok((_, body)) => link.send_message(Msg::ProfileError(
                                serde_json::from_str::<serde_json::Value>(&body)
                                    .ok()
                                    .and_then(|v| v["message"].as_str().map(str::to_owned))
                                    .unwrap_or(body),
                            )),
                            Err(e) => link.send_message(Msg::ProfileError(e)),
                        }
                    });
                }
            }
            Msg::ContactErased(contact) => {
                if self
                    .profile
                    .as_ref()
                    .is_some_and(|p| p.contact.id == contact)
                {
                    self.profile = None;
                }
                self.profile_error = None;
                self.notice = Some(format!("Contact #{contact} and all its data were deleted."));
            }
            Msg::Insert(text) => {
                self.draft = text;
                self.focus_reply();
            }
            Msg::ToggleWebhooks => {
                self.webhooks = !self.webhooks;
                self.accounts = None;
            }
            Msg::ToggleAdmin => {
                self.webhooks = false;
                if self.accounts.take().is_none() {
                    self.load_accounts(ctx);
                }
            }
            Msg::Accounts(list) => {
                self.skills_draft.clear();
                self.accounts = Some(list);
                self.admin_error = None;
            }
            Msg::AdminError(e) => self.admin_error = Some(e),
            Msg::SetDisabled(id, disabled) => {
                let link = ctx.link().clone();
                let path = format!(
                    "/api/agents/{id}/{}",
                    if disabled { "disable" } else { "enable" }
                );
                wasm_bindgen_futures::spawn_local(async move {
                    match api("POST", &path, None).await {
                        Ok((200, _)) => link.send_message(Msg::ToggleAdmin),
                        Ok((_, body)) => link.send_message(Msg::AdminError(error_message(&body))),
                        Err(e) => link.send_message(Msg::AdminError(e)),
                    }
                });
                self.accounts = None; // reopened with fresh data on success
                return false;
            }
            Msg::SkillsDraft(id, field, value) => {
                let current = self.skills_current(id);
                let entry = self.skills_draft.entry(id).or_insert(current);
                if field == 0 {
                    entry.0 = value;
                } else {
                    entry.1 = value;
                }
                return false; // the field already shows it
            }
            Msg::SetSkills(id) => {
                if !self.skills_busy.insert(id) {
                    self.skills_next.insert(id);
                    return false;
                }
                let (languages, teams) = self
                    .skills_draft
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| self.skills_current(id));
                self.skills_sent
                    .insert(id, (languages.clone(), teams.clone()));
                let list = |text: &str| {
                    text.split(',')
                        .map(|t| t.trim().to_owned())
                        .filter(|t| !t.is_empty())
                        .collect::<Vec<_>>()
                };
                let body =
                    serde_json::json!({ "languages": list(&languages), "teams": list(&teams) });
                let link = ctx.link().clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let path = format!("/api/agents/{id}/skills");
                    let result = match api("POST", &path, Some(body.to_string())).await {
                        Ok((200, body)) => serde_json::from_str::<protocol::AgentAccount>(&body)
                            .map_err(|e| e.to_string()),
                        Ok((_, body)) => Err(error_message(&body)),
                        Err(e) => Err(e),
                    };
                    link.send_message(Msg::SkillsSaved(id, result));
                });
                return false;
            }
            Msg::SkillsSaved(id, result) => {
                self.skills_busy.remove(&id);
                let sent = self.skills_sent.remove(&id);
                match result {
                    Ok(account) => {
                        // Fields still holding what was sent show the saved form; a field
                        // edited since keeps the edit.
                        let saved = (account.languages.join(", "), account.teams.join(", "));
                        if let (Some(draft), Some(sent)) = (self.skills_draft.get_mut(&id), sent) {
                            if draft.0 == sent.0 {
                                draft.0 = saved.0;
                            }
                            if draft.1 == sent.1 {
                                draft.1 = saved.1;
                            }
                        }
                        if let Some(list) = &mut self.accounts
                            && let Some(slot) = list.iter_mut().find(|a| a.id == account.id)
                        {
                            *slot = account;
                        }
                        self.admin_error = None;
                    }
                    Err(e) => self.admin_error = Some(e),
                }
                if self.skills_next.remove(&id) {
                    Component::update(self, ctx, Msg::SetSkills(id));
                }
            }
            Msg::AddAgent => {
                let value = |r: &NodeRef| {
                    r.cast::<HtmlInputElement>()
                        .map(|i| i.value())
                        .unwrap_or_default()
                };
                let admin = self
                    .new_admin
                    .cast::<HtmlInputElement>()
                    .is_some_and(|i| i.checked());
                let body = serde_json::json!({
                    "email": value(&self.new_email),
                    "name": value(&self.new_name),
                    "password": value(&self.new_password),
                    "admin": admin,
                })
                .to_string();
                let link = ctx.link().clone();
                wasm_bindgen_futures::spawn_local(async move {
                    match api("POST", "/api/agents", Some(body)).await {
                        Ok((201, _)) => {
                            link.send_message(Msg::ToggleAdmin);
                            link.send_message(Msg::ToggleAdmin);
                        }
                        Ok((_, body)) => link.send_message(Msg::AdminError(error_message(&body))),
                        Err(e) => link.send_message(Msg::AdminError(e)),
                    }
                });
                return false;
            }
            Msg::ToggleReports => self.reports = !self.reports,
            Msg::OpenConversation(id) => {
                self.reports = false;
                self.apply(ctx, Action::Select(id));
            }
            Msg::LogoutAll => {
                self.socket = None;
                self.apply(ctx, Action::SignedOut);
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = api("POST", "/api/logout-all", None).await;
                });
            }
            Msg::Logout => {
                self.socket = None;
                self.apply(ctx, Action::SignedOut);
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = api("POST", "/api/logout", None).await;
                });
            }
            Msg::Draft(text) => {
                // Notes are private: the customer sees no typing for them.
                let has_text = !self.note_mode && !text.trim().is_empty();
                self.draft = text;
                if let Some(on) = self.typing.input(has_text, js_sys::Date::now()) {
                    self.send_typing(on);
                }
                if has_text {
                    let link = ctx.link().clone();
                    web_client::after(web_client::TYPING_IDLE_MS, move || {
                        link.send_message(Msg::TypingIdle)
                    });
                }
                return false;
            }
            Msg::TypingIdle => {
                if let Some(on) = self.typing.idle(js_sys::Date::now()) {
                    self.send_typing(on);
                }
                return false;
            }
            Msg::SendReply => {
                if let Some(query) = self
                    .draft
                    .trim()
                    .strip_prefix("/kb ")
                    .map(str::trim)
                    .filter(|q| !q.is_empty())
                {
                    // Find an article with the server's search and insert its link.
                    let lang = self
                        .state
                        .selected
                        .and_then(|id| self.state.conversations.iter().find(|c| c.id == id))
                        .and_then(|c| c.locale.clone())
                        .unwrap_or_default();
                    let url = format!(
                        "/api/search?limit=1&q={}&lang={}",
                        String::from(js_sys::encode_uri_component(query)),
                        String::from(js_sys::encode_uri_component(&lang))
                    );
                    let link = ctx.link().clone();
                    let query = query.to_owned();
                    wasm_bindgen_futures::spawn_local(async move {
                        let hit = match api("GET", &url, None).await {
                            Ok((200, body)) => serde_json::from_str::<serde_json::Value>(&body)
                                .ok()
                                .and_then(|v| v.get(0).cloned()),
                            _ => None,
                        };
                        let text = match hit {
                            Some(h) => {
                                let title = h["title"].as_str().unwrap_or_default();
                                match h["url"].as_str().filter(|u| !u.is_empty()) {
                                    Some(url) => format!("[{title}]({url})"),
                                    None => title.to_owned(),
                                }
                            }
                            None => format!("/kb {query}"), // nothing found: leave it for editing
                        };
                        link.send_message(Msg::Insert(text));
                    });
                    return false;
                }
                if let Some(text) = self.expand_canned(&self.draft) {
                    self.draft = text; // expand first; Enter again sends
                    return true;
                }
                self.typing.reset();
                self.typing_in = None;
                // Files go with replies only; a note keeps them staged.
                let files = if self.note_mode {
                    Vec::new()
                } else {
                    self.take_staged()
                };
                let body = std::mem::take(&mut self.draft);
                if body.trim().is_empty() && files.is_empty() {
                    return self.uploading();
                }
                self.state.last_error = None;
                self.upload_error = None;
                if self.note_mode {
                    self.apply(
                        ctx,
                        Action::Note {
                            id: web_client::new_id(),
                            body,
                        },
                    );
                } else {
                    self.apply(
                        ctx,
                        Action::Reply {
                            id: web_client::new_id(),
                            body,
                            attachments: files,
                        },
                    );
                }
            }
            Msg::SetMode(note) => self.note_mode = note,
            Msg::Search(q) => {
                self.search = q.clone();
                if q.trim().is_empty() {
                    self.results = None;
                    return true;
                }
                let link = ctx.link().clone();
                let url = format!(
                    "/api/conversations/search?q={}",
                    String::from(js_sys::encode_uri_component(&q))
                );
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok((200, body)) = api("GET", &url, None).await
                        && let Ok(hits) =
                            serde_json::from_str::<Vec<protocol::ConversationSummary>>(&body)
                    {
                        link.send_message(Msg::SearchResults(q, hits));
                    }
                });
                return false;
            }
            Msg::SearchResults(q, hits) => {
                if q != self.search {
                    return false; // an older query's answer
                }
                for c in &hits {
                    self.state
                        .apply(Action::Frame(protocol::ServerFrame::Conversation(
                            c.clone(),
                        )));
                }
                self.results = Some(hits);
            }
            Msg::UseCanned(shortcut) => {
                if let Some(text) = self.expand_canned(&format!("/{shortcut}")) {
                    self.draft = text;
                }
                self.focus_reply();
            }
            Msg::Tick => {
                self.now = now_ms();
                let idle = self.now - self.last_activity > AUTO_AWAY_MS;
                if idle
                    && self.state.status == PresenceStatus::Online
                    && self.state.connection == Connection::Online
                {
                    self.auto_away = true;
                    self.apply(ctx, Action::SetStatus(PresenceStatus::Away));
                }
                self.update_title();
            }
            Msg::Activity => {
                self.last_activity = now_ms();
                if self.auto_away && self.state.status == PresenceStatus::Away {
                    self.auto_away = false;
                    self.apply(ctx, Action::SetStatus(PresenceStatus::Online));
                    return true;
                }
                return false;
            }
            // The inbox is not on screen: a key must not resolve or move what is not seen.
            Msg::Shortcut(_) if self.reports => return false,
            Msg::Shortcut(key) => match key.as_str() {
                "j" => self.apply(ctx, Action::Move(1)),
                "k" => self.apply(ctx, Action::Move(-1)),
                "r" => {
                    self.note_mode = false;
                    self.focus_reply();
                }
                "n" => {
                    self.note_mode = true;
                    self.focus_reply();
                }
                "e" => {
                    if let Some(id) = self.state.selected {
                        self.apply(ctx, Action::Resolve(id));
                        self.apply(ctx, Action::Move(1));
                    }
                }
                "a" => {
                    if let (Some(id), Some(me)) =
                        (self.state.selected, self.state.agent.as_ref().map(|a| a.id))
                    {
                        self.apply(
                            ctx,
                            Action::Assign {
                                conversation: id,
                                agent: Some(me),
                            },
                        );
                    }
                }
                "?" => self.show_help = !self.show_help,
                digit => {
                    if let Some(view) = digit
                        .parse::<usize>()
                        .ok()
                        .and_then(|d| View::ALL.get(d - 1))
                    {
                        self.apply(ctx, Action::SetView(*view));
                    }
                }
            },
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        if self.focus_pending
            && let Some(area) = self.reply_box.cast::<HtmlTextAreaElement>()
        {
            self.focus_pending = false;
            let _ = area.focus();
        }
        if let Some(list) = self.thread.cast::<web_sys::Element>() {
            list.set_scroll_top(list.scroll_height());
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        match &self.state.agent {
            Some(agent) => self.view_inbox(ctx, agent),
            None if self.booting => {
                html! { <p class="muted loading">{ "Loading…" }</p> }
            }
            None => self.view_login(ctx),
        }
    }
}
