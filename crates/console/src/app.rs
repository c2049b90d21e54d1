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
fn error_message(body: &str) -> String {
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

impl App {
    /// Tells the customer of the selected conversation (or, for "stopped", of the one the agent
    /// typed in) whether this agent types.
    fn send_typing(&mut self, on: bool) {
        let conversation = if on {
            self.state.selected
        } else {
            self.typing_in.take()
        };
        self.typing_in = if on { conversation } else { None };
        if let (Some(conversation), Some(socket)) = (conversation, &self.socket) {
            socket.send(&protocol::AgentFrame::Typing { conversation, on }.to_json());
        }
    }

    fn connect(&mut self, ctx: &Context<Self>) {
        self.socket = None;
        self.generation += 1;
        let generation = self.generation;
        let (opened, text, closed) = (ctx.link().clone(), ctx.link().clone(), ctx.link().clone());
        self.socket = web_client::Socket::open(
            "/ws/agent",
            move || opened.send_message(Msg::Opened(generation)),
            move |t| text.send_message(Msg::Text(generation, t)),
            move || closed.send_message(Msg::Closed(generation)),
        );
        if self.socket.is_none() {
            ctx.link().send_message(Msg::Closed(generation));
        }
    }

    /// Loads the selected conversation's contact when it is not the one shown (a new selection,
    /// or the conversation's contact changed: identified, merged).
    fn load_profile(&mut self, ctx: &Context<Self>) {
        let wanted = self.state.selected.and_then(|id| {
            self.state
                .conversations
                .iter()
                .find(|c| c.id == id)
                .and_then(|c| c.contact_id)
        });
        let Some(contact) = wanted else {
            self.profile = None;
            self.profile_requested = None;
            return;
        };
        if self.profile_requested == Some(contact) {
            return;
        }
        self.profile_requested = Some(contact);
        self.profile_error = None;
        let link = ctx.link().clone();
        wasm_bindgen_futures::spawn_local(async move {
            match api("GET", &format!("/api/contacts/{contact}"), None).await {
                Ok((200, body)) => match serde_json::from_str(&body) {
                    Ok(p) => link.send_message(Msg::Profile(p)),
                    Err(e) => link.send_message(Msg::ProfileError(e.to_string())),
                },
                Ok((status, _)) => link.send_message(Msg::ProfileError(format!("HTTP {status}"))),
                Err(e) => link.send_message(Msg::ProfileError(e)),
            }
        });
    }

    /// POSTs a contact change; the answer is the updated profile.
    fn contact_request(&self, ctx: &Context<Self>, path: String, body: serde_json::Value) {
        let link = ctx.link().clone();
        wasm_bindgen_futures::spawn_local(async move {
            match api("POST", &path, Some(body.to_string())).await {
                Ok((200, body)) => match serde_json::from_str(&body) {
                    Ok(p) => link.send_message(Msg::Profile(p)),
                    Err(e) => link.send_message(Msg::ProfileError(e.to_string())),
                },
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

    fn apply(&mut self, ctx: &Context<Self>, action: Action) {
        let before = self.state.selected;
        self.apply_effects(ctx, action);
        self.load_profile(ctx);
        // Left the conversation typed in (click, shortcut, resolve…): its customer stops
        // seeing "typing".
        if self.state.selected != before
            && self.typing_in.is_some()
            && let Some(on) = self.typing.reset()
        {
            self.send_typing(on);
        }
        if self.state.selected != before
            && let Some(id) = self.state.selected
        {
            let link = ctx.link().clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok((200, body)) =
                    api("GET", &format!("/api/conversations/{id}/history"), None).await
                    && let Ok(list) = serde_json::from_str(&body)
                {
                    link.send_message(Msg::History(id, list));
                }
            });
        }
    }

    fn apply_effects(&mut self, ctx: &Context<Self>, action: Action) {
        for effect in self.state.apply(action) {
            match effect {
                Effect::Notify { conversation, body } => {
                    web_client::chime(&[660.0]);
                    let hidden = web_sys::window()
                        .and_then(|w| w.document())
                        .is_some_and(|d| d.hidden());
                    if hidden {
                        notify(conversation, &body);
                    }
                }
                Effect::Connect => self.connect(ctx),
                Effect::Send(frame) => {
                    if let Some(socket) = &self.socket {
                        socket.send(&frame.to_json());
                    }
                }
                Effect::ReconnectAfter { ms } => {
                    let link = ctx.link().clone();
                    web_client::after(ms, move || link.send_message(Msg::Connect));
                }
            }
        }
    }

    fn load_accounts(&self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        wasm_bindgen_futures::spawn_local(async move {
            match api("GET", "/api/agents", None).await {
                Ok((200, body)) => match serde_json::from_str(&body) {
                    Ok(list) => link.send_message(Msg::Accounts(list)),
                    Err(_) => link.send_message(Msg::AdminError("unexpected answer".into())),
                },
                Ok((_, body)) => link.send_message(Msg::AdminError(error_message(&body))),
                Err(e) => link.send_message(Msg::AdminError(e)),
            }
        });
    }

    fn view_admin(&self, ctx: &Context<Self>) -> Html {
        let Some(accounts) = &self.accounts else {
            return Html::default();
        };
        let me = self.state.agent.as_ref().map(|a| a.id);
        let rows = accounts.iter().map(|a| {
            let (id, disabled) = (a.id, a.disabled);
            let onclick = ctx.link().callback(move |_| Msg::SetDisabled(id, !disabled));
            // The fields show the admin's draft (kept in step on every keystroke, so a save
            // answered meanwhile never overwrites typing); saved when a field is left.
            let (languages, teams) = self.skills_draft.get(&id).cloned().unwrap_or_else(|| {
                (a.languages.join(", "), a.teams.join(", "))
            });
            let draft = |field: u8| {
                ctx.link().callback(move |e: InputEvent| {
                    let value = e.target_unchecked_into::<HtmlInputElement>().value();
                    Msg::SkillsDraft(id, field, value)
                })
            };
            let skills = ctx.link().callback(move |_: Event| Msg::SetSkills(id));
            html! {
                <tr key={a.id} class={classes!("account", disabled.then_some("disabled"))}>
                    <td>{ a.name.clone() }</td><td>{ a.email.clone() }</td>
                    <td>{ if a.admin { "admin" } else { "agent" } }</td>
                    <td><input name="languages" value={languages} placeholder="languages: en, pt"
                        aria-label={format!("Languages {} answers in", a.name)} maxlength="100"
                        oninput={draft(0)} onchange={skills.clone()} /></td>
                    <td><input name="teams" value={teams} placeholder="teams: billing"
                        aria-label={format!("Teams of {}", a.name)} maxlength="400"
                        oninput={draft(1)} onchange={skills} /></td>
                    <td>
                        if Some(a.id) != me {
                            <button class="toggle-account" {onclick}>{ if disabled { "Enable" } else { "Disable" } }</button>
                        }
                    </td>
                </tr>
            }
        });
        let on_add = ctx.link().callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::AddAgent
        });
        html! {
            <section class="admin" aria-label="Agents">
                <h2>{ "Agents" }</h2>
                if let Some(e) = &self.admin_error { <p class="error" role="alert">{ e }</p> }
                <table><tbody>{ for rows }</tbody></table>
                <form class="add-agent" onsubmit={on_add}>
                    <input ref={self.new_email.clone()} name="new-email" type="email" placeholder="Email" required=true maxlength="254" />
                    <input ref={self.new_name.clone()} name="new-name" placeholder="Name" required=true maxlength="100" />
                    <input ref={self.new_password.clone()} name="new-password" type="password" placeholder="Password (8+ characters)" required=true minlength="8" autocomplete="new-password" />
                    <label><input ref={self.new_admin.clone()} name="new-admin" type="checkbox" />{ " admin" }</label>
                    <button type="submit">{ "Add agent" }</button>
                </form>
            </section>
        }
    }

    /// An agent's saved skills as the fields show them.
    fn skills_current(&self, id: i64) -> (String, String) {
        self.accounts
            .iter()
            .flatten()
            .find(|a| a.id == id)
            .map(|a| (a.languages.join(", "), a.teams.join(", ")))
            .unwrap_or_default()
    }

    /// `/shortcut` typed as the whole draft, filled in for the selected customer and this agent.
    fn expand_canned(&self, draft: &str) -> Option<String> {
        let me = self.state.agent.as_ref().map_or("", |a| a.name.as_str());
        crate::state::expand_canned(
            draft,
            &self.state.canned,
            self.selected_contact_name().as_deref(),
            me,
        )
    }

    fn selected_contact_name(&self) -> Option<String> {
        let id = self.state.selected?;
        self.state
            .conversations
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.contact_name.clone())
    }

    /// Focuses the composer now, or after the next render if it is not on screen yet (a
    /// shortcut pressed right after `j` must not be lost).
    fn focus_reply(&mut self) {
        match self.reply_box.cast::<HtmlTextAreaElement>() {
            Some(area) => {
                let _ = area.focus();
            }
            None => self.focus_pending = true,
        }
    }

    fn update_title(&self) {
        let unseen: u32 = self.state.unseen.values().sum();
        if let Some(d) = web_sys::window().and_then(|w| w.document()) {
            let title = if unseen > 0 {
                format!("({unseen}) {}", self.base_title)
            } else {
                self.base_title.clone()
            };
            if d.title() != title {
                d.set_title(&title);
            }
        }
    }

    /// The earliest pending deadline: a countdown, or how long ago it passed.
    fn sla_badge(&self, c: &protocol::ConversationSummary) -> Html {
        let Some((kind, due)) = c.next_deadline() else {
            return Html::default();
        };
        let (what, short) = match kind {
            protocol::SlaKind::FirstResponse => ("first reply", "reply"),
            protocol::SlaKind::NextResponse => ("next reply", "next reply"),
            protocol::SlaKind::Resolution => ("resolution", "resolve"),
        };
        let kind_attr = match kind {
            protocol::SlaKind::FirstResponse => "first_response",
            protocol::SlaKind::NextResponse => "next_response",
            protocol::SlaKind::Resolution => "resolution",
        };
        let left = due - self.now;
        if left <= 0 {
            let recorded = c
                .sla_breached_at
                .map(|at| format!(" (recorded {})", web_client::time_of(at)))
                .unwrap_or_default();
            return html! {
                <span class="sla breached" data-kind={kind_attr}
                    title={format!("SLA breached: the {what} was due at {}{recorded}", web_client::time_of(due))}>
                    { format!("{short} overdue {}", countdown(-left)) }
                </span>
            };
        }
        let class = if left < 60_000 { "sla soon" } else { "sla" };
        html! {
            <span class={class} data-kind={kind_attr} title={format!("Time left for the {what}")}>
                { format!("{short} in {}", countdown(left)) }
            </span>
        }
    }

    /// Labels and team of a conversation, as chips.
    fn chips(c: &protocol::ConversationSummary) -> Html {
        html! {
            <>
                if let Some(t) = &c.team { <span class="chip team" title="Team">{ t.clone() }</span> }
                { for c.labels.iter().map(|l| html! { <span class="chip label">{ l.clone() }</span> }) }
            </>
        }
    }

    fn view_login(&self, ctx: &Context<Self>) -> Html {
        let on_submit = ctx.link().callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::Login
        });
        html! {
            <main class="login">
                <form class="login-form" onsubmit={on_submit} aria-labelledby="login-title">
                    <h1 id="login-title">{ "Frontdesk" }</h1>
                    <p class="muted">{ "Sign in to answer your customers." }</p>
                    <label>{ "Email" }
                        <input ref={self.email.clone()} name="email" type="email" autocomplete="username" required=true maxlength="254" />
                    </label>
                    <label>{ "Password" }
                        <input ref={self.password.clone()} name="password" type="password" autocomplete="current-password" required=true maxlength="1024" />
                    </label>
                    if let Some(error) = self.login_error.as_ref().or(self.state.last_error.as_ref()) {
                        <p class="error" role="alert">{ error }</p>
                    }
                    <button type="submit" disabled={self.checking}>{ "Sign in" }</button>
                </form>
            </main>
        }
    }

    fn view_line(&self, line: &Line) -> Html {
        let (who, class) = match &line.author {
            Author::Visitor => ("Customer".to_owned(), "visitor"),
            Author::Agent { name, .. } => (name.clone(), "agent"),
        };
        html! {
            <li class={classes!("msg", class)} data-author={class} data-state={if line.pending() { "pending" } else { "sent" }} key={format!("{class}-{}", line.id)}>
                <span class="who">{ who }</span>
                <p class="body">{ line.body.clone() }</p>
                <span class="meta">{ line.at.map(web_client::time_of).unwrap_or_else(|| "sending…".into()) }</span>
            </li>
        }
    }

    fn view_inbox(&self, ctx: &Context<Self>, agent: &AgentInfo) -> Html {
        let conn = match self.state.connection {
            Connection::Online => ("online", "Online"),
            Connection::Offline => ("offline", "Reconnecting…"),
            Connection::Connecting | Connection::SignedOut => ("connecting", "Connecting…"),
        };
        let selected = self.state.selected;
        let tabs = View::ALL.iter().enumerate().map(|(i, &view)| {
            let onclick = ctx.link().callback(move |_| Msg::Act(Action::SetView(view)));
            let count = self.state.listed(view).len();
            let current = self.state.view == view;
            html! {
                <button class={classes!("view-tab", current.then_some("current"))} role="tab"
                    aria-selected={current.to_string()} data-view={view.label().to_lowercase().replace(' ', "-")}
                    title={format!("Shortcut: {}", i + 1)} {onclick}>
                    { format!("{} ({count})", view.label()) }
                </button>
            }
        });
        let list = self.state.visible().into_iter().map(|c| {
            let id = c.id;
            let onclick = ctx.link().callback(move |_| Msg::Act(Action::Select(id)));
            let unseen = self.state.unseen.get(&id).copied().unwrap_or(0);
            html! {
                <li key={id}>
                    <button class={classes!("conv", (selected == Some(id)).then_some("selected"))}
                        data-id={id.to_string()} aria-current={(selected == Some(id)).then_some("true")} {onclick}>
                        <span class="conv-title">
                            { format!("#{id} · {}", c.contact_name.clone().unwrap_or_else(|| c.site.clone())) }
                            if unseen > 0 { <span class="unseen" aria-label="new messages">{ unseen }</span> }
                        </span>
                        <span class="conv-time">{ self.sla_badge(c) }</span>
                        <span class="conv-preview">{ c.preview.clone().unwrap_or_default() }</span>
                        <span class="conv-meta">
                            <span class={classes!("prio", c.priority.as_str())}>{ c.priority.as_str() }</span>
                            <span class="conv-assignee">{ c.assignee.as_ref().map(|a| a.name.clone()).unwrap_or_else(|| "Unassigned".into()) }</span>
                            { Self::chips(c) }
                        </span>
                    </button>
                </li>
            }
        });
        let on_logout = ctx.link().callback(|_| Msg::Logout);
        let on_logout_all = ctx.link().callback(|_| Msg::LogoutAll);
        let on_admin = ctx.link().callback(|_| Msg::ToggleAdmin);
        let on_status = ctx.link().callback(|e: Event| {
            let value = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            Msg::Act(Action::SetStatus(if value == "away" {
                PresenceStatus::Away
            } else {
                PresenceStatus::Online
            }))
        });
        let team = self.state.agents.iter().map(|a| {
            let status = match a.status {
                PresenceStatus::Online => "online",
                PresenceStatus::Away => "away",
                PresenceStatus::Offline => "offline",
            };
            let teams = if a.teams.is_empty() {
                String::new()
            } else {
                format!(" · {}", a.teams.join(", "))
            };
            html! { <li class={classes!("teammate", status)} key={a.id}>{ format!("{} · {status} · {}{teams}", a.name, a.open) }</li> }
        });
        html! {
            <div class="shell">
                <header class="top">
                    <strong>{ "Frontdesk" }</strong>
                    <span class={classes!("conn", conn.0)} role="status">{ conn.1 }</span>
                    <label class="status">{ "Status " }
                        <select name="status" onchange={on_status}>
                            <option value="online" selected={self.state.status == PresenceStatus::Online}>{ "Online" }</option>
                            <option value="away" selected={self.state.status == PresenceStatus::Away}>{ "Away" }</option>
                        </select>
                    </label>
                    <span class="me">{ &agent.name }</span>
                    if agent.admin || agent.lead {
                        <button class="link reports-toggle" aria-pressed={self.reports.to_string()}
                            onclick={ctx.link().callback(|_| Msg::ToggleReports)}>
                            { if self.reports { reports::page::browser_strings().back_to_inbox } else { reports::page::browser_strings().nav } }
                        </button>
                    }
                    if agent.admin {
                        <button class="link admin-toggle" onclick={on_admin}>{ "Agents" }</button>
                    }
                    <button class="link" onclick={on_logout}>{ "Sign out" }</button>
                    <button class="link" onclick={on_logout_all} title="End every session of this account">{ "Sign out everywhere" }</button>
                </header>
                { self.view_admin(ctx) }
                if self.reports {
                    <main class="reports-main">
                        <reports::page::ReportsPage agents={self.state.agents.iter().map(|a| (a.id, a.name.clone())).collect::<Vec<_>>()}
                            teams={self.state.teams.clone()} on_open={self.open_from_reports.clone()} />
                    </main>
                } else {
                <nav class="inbox" aria-label="Conversations">
                    <div class="search">
                        <input type="search" name="search" placeholder="Search messages, notes, contacts…"
                            aria-label="Search conversations" maxlength="200" value={self.search.clone()}
                            oninput={ctx.link().callback(|e: InputEvent| Msg::Search(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                    </div>
                    if let Some(results) = &self.results {
                        <h2>{ format!("Search results ({})", results.len()) }</h2>
                        <ul class="results">
                            { for results.iter().map(|c| {
                                let id = c.id;
                                let onclick = ctx.link().callback(move |_| Msg::Act(Action::Select(id)));
                                html! {
                                    <li key={id}>
                                        <button class={classes!("conv", (selected == Some(id)).then_some("selected"))} data-id={id.to_string()} {onclick}>
                                            <span class="conv-title">{ format!("#{id} · {}", c.contact_name.clone().unwrap_or_else(|| c.site.clone())) }</span>
                                            <span class="conv-time">{ web_client::time_of(c.updated_at) }</span>
                                            <span class="conv-preview">{ c.preview.clone().unwrap_or_default() }</span>
                                        </button>
                                    </li>
                                }
                            }) }
                        </ul>
                    } else {
                        <div class="tabs" role="tablist">{ for tabs }</div>
                        { self.view_label_filter(ctx) }
                        if self.state.visible().is_empty() { <p class="muted empty">{ "Nothing here." }</p> }
                        <ul>{ for list }</ul>
                    }
                    <h2>{ "Agents" }</h2>
                    <ul class="team">{ for team }</ul>
                    <p class="muted shortcuts">{ "Shortcuts: j/k next/previous · r reply · n note · a assign to me · e resolve · 1-5 views · ? help" }</p>
                </nav>
                <main class="thread">{ self.view_thread(ctx) }</main>
                }
                if self.show_help {
                    <div class="help" role="dialog" aria-label="Keyboard shortcuts">
                        <p>{ "j / k: next / previous conversation. r: reply. n: private note. a: assign to me. e: resolve and go to the next. 1-5: views. Enter sends, Shift+Enter adds a line, /shortcut + Enter inserts a canned response, Escape leaves the composer." }</p>
                    </div>
                }
            </div>
        }
    }

    /// Narrows the inbox to one label (the labels of the conversations loaded).
    fn view_label_filter(&self, ctx: &Context<Self>) -> Html {
        let labels: std::collections::BTreeSet<&String> = self
            .state
            .conversations
            .iter()
            .flat_map(|c| &c.labels)
            .collect();
        if labels.is_empty() && self.state.label_filter.is_none() {
            return Html::default();
        }
        let current = self.state.label_filter.clone();
        let onchange = ctx.link().callback(|e: Event| {
            let value = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            Msg::Act(Action::FilterLabel((!value.is_empty()).then_some(value)))
        });
        html! {
            <label class="label-filter">{ "Label " }
                <select name="label-filter" {onchange}>
                    <option value="" selected={current.is_none()}>{ "Any" }</option>
                    { for labels.iter().map(|l| html! {
                        <option value={(*l).clone()} selected={current.as_ref() == Some(*l)}>{ (*l).clone() }</option>
                    }) }
                </select>
            </label>
        }
    }

    /// The selected conversation's labels: chips with a remove button, and a field to add one.
    fn view_labels(&self, ctx: &Context<Self>, c: &protocol::ConversationSummary) -> Html {
        let id = c.id;
        let chips = c.labels.iter().map(|l| {
            let rest: Vec<String> = c.labels.iter().filter(|x| *x != l).cloned().collect();
            let onclick = ctx.link().callback(move |_| {
                Msg::Act(Action::SetLabels {
                    conversation: id,
                    labels: rest.clone(),
                })
            });
            html! {
                <span class="chip label">{ l.clone() }
                    <button type="button" class="chip-remove" aria-label={format!("Remove label {l}")} {onclick}>{ "×" }</button>
                </span>
            }
        });
        let current = c.labels.clone();
        let onkeydown = ctx.link().batch_callback(move |e: KeyboardEvent| {
            if e.key() != "Enter" {
                return None;
            }
            e.prevent_default();
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let label = protocol::normalize_label(&input.value())?;
            input.set_value("");
            let mut labels = current.clone();
            if labels.contains(&label) || labels.len() >= protocol::MAX_LABELS {
                return None;
            }
            labels.push(label);
            Some(Msg::Act(Action::SetLabels {
                conversation: id,
                labels,
            }))
        });
        html! {
            <div class="labels">
                { for chips }
                <input name="label" placeholder="Add label…" aria-label="Add a label (Enter)"
                    maxlength={protocol::MAX_LABEL_CHARS.to_string()} {onkeydown} />
            </div>
        }
    }

    /// The customer's record: identity, custom attributes, account manager, likely duplicates.
    fn view_profile(&self, ctx: &Context<Self>, c: &protocol::ConversationSummary) -> Html {
        let Some(p) = self
            .profile
            .as_ref()
            .filter(|p| Some(p.contact.id) == c.contact_id)
        else {
            return match &self.profile_error {
                Some(e) if c.contact_id.is_some() => html! {
                    <p class="muted profile-error" role="alert">{ format!("Contact not loaded: {e}") }</p>
                },
                _ => Html::default(),
            };
        };
        let contact = p.contact.id;
        let manager = p.account_manager.as_ref().map(|a| a.id);
        let on_manager = ctx.link().callback(move |e: Event| {
            let value = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            Msg::SetManager(contact, value.parse().ok())
        });
        // The current manager stays listed even when not connected.
        let mut choices: Vec<(i64, String)> = self
            .state
            .agents
            .iter()
            .map(|a| (a.id, a.name.clone()))
            .collect();
        if let Some(m) = &p.account_manager
            && !choices.iter().any(|(id, _)| *id == m.id)
        {
            choices.push((m.id, m.name.clone()));
        }
        html! {
            <section class="profile" aria-label="Contact">
                <h3>{ "Contact" }
                    if let Some(ext) = &p.contact.external_id {
                        <span class="verified" title="The site verified this user id">{ format!("✓ verified · {ext}") }</span>
                    } else {
                        <span class="muted unverified">{ "not verified" }</span>
                    }
                </h3>
                <dl>
                    { for p.attributes.iter().map(|(k, v)| html! {
                        <><dt class="attr-name">{ k.clone() }</dt><dd class="attr-value">{ v.clone() }</dd></>
                    }) }
                    <dt>{ "Conversations" }</dt><dd>{ p.conversations.len() }</dd>
                </dl>
                <label>{ "Account manager " }
                    <select name="account-manager" onchange={on_manager} key={format!("manager-{contact}-{manager:?}")}>
                        <option value="" selected={manager.is_none()}>{ "None" }</option>
                        { for choices.iter().map(|(id, name)| html! {
                            <option value={id.to_string()} selected={manager == Some(*id)}>{ name.clone() }</option>
                        }) }
                    </select>
                </label>
                if !p.duplicates.is_empty() {
                    <div class="duplicates">
                        <p>{ "Possibly the same person:" }</p>
                        <ul>
                            { for p.duplicates.iter().map(|d| {
                                let other = d.id;
                                // A verified identity is never merged onto a contact that did
                                // not prove it (anyone can type a customer's email): then this
                                // contact goes into the verified one.
                                let (from, into, label) = if d.external_id.is_some() && p.contact.external_id.is_none() {
                                    (contact, other, format!("Merge this contact into #{other} (verified)"))
                                } else {
                                    (other, contact, "Merge into this contact".to_owned())
                                };
                                let onclick = ctx.link().callback(move |_| Msg::Merge(from, into));
                                let who = [d.name.clone(), d.email.clone(), d.external_id.clone()]
                                    .into_iter()
                                    .flatten()
                                    .collect::<Vec<_>>()
                                    .join(" · ");
                                html! {
                                    <li key={other}>
                                        { format!("#{other} {who} ") }
                                        <button type="button" class="merge" {onclick}>{ label }</button>
                                    </li>
                                }
                            }) }
                        </ul>
                    </div>
                }
                <div class="data-rights">
                    // A same-origin download with the session cookie: nothing secret in the URL.
                    <a class="export" href={format!("/api/contacts/{contact}/export")} download={format!("contact-{contact}.json")}>
                        { "Download this contact's data (JSON)" }
                    </a>
                    if self.state.agent.as_ref().is_some_and(|a| a.admin) {
                        <button type="button" class="erase danger" onclick={ctx.link().callback(move |_| Msg::EraseContact(contact))}>
                            { "Delete contact and all data…" }
                        </button>
                    }
                </div>
                if let Some(e) = &self.profile_error { <p class="error" role="alert">{ e.clone() }</p> }
            </section>
        }
    }

    fn view_context(&self, ctx: &Context<Self>, c: &protocol::ConversationSummary) -> Html {
        let id = c.id;
        let resolved = c.status == protocol::ConversationStatus::Resolved;
        let toggle = ctx.link().callback(move |_| {
            Msg::Act(if resolved {
                Action::Reopen(id)
            } else {
                Action::Resolve(id)
            })
        });
        let refs = |list: &[protocol::ArticleRef]| {
            list.iter()
                .map(|a| a.title.clone())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let on_assign = ctx.link().callback(move |e: Event| {
            let value = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            Msg::Act(Action::Assign {
                conversation: id,
                agent: value.parse().ok(),
            })
        });
        let on_priority = ctx.link().callback(move |e: Event| {
            let value = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            Msg::Act(Action::SetPriority {
                conversation: id,
                priority: Priority::parse(&value).unwrap_or_default(),
            })
        });
        let on_team = ctx.link().callback(move |e: Event| {
            let value = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            Msg::Act(Action::SetTeam {
                conversation: id,
                team: (!value.is_empty()).then_some(value),
            })
        });
        let assignee = c.assignee.as_ref().map(|a| a.id);
        // The selects are keyed by their value: once the agent has used one, the browser keeps
        // showing the agent's choice whatever `selected` says, so a change from elsewhere (a
        // transfer by a teammate, routing) must render a fresh element.
        html! {
            <div class="context">
                <div class="controls">
                    if !self.state.teams.is_empty() {
                        <label title="Moving to a team routes the conversation to one of its members">{ "Team " }
                            <select name="team" onchange={on_team} key={format!("team-{id}-{:?}", c.team)}>
                                <option value="" selected={c.team.is_none()}>{ "Anyone" }</option>
                                { for self.state.teams.iter().map(|t| html! {
                                    <option value={t.clone()} selected={c.team.as_ref() == Some(t)}>{ t.clone() }</option>
                                }) }
                            </select>
                        </label>
                    }
                    <label>{ "Assignee " }
                        <select name="assignee" onchange={on_assign} key={format!("assignee-{id}-{assignee:?}")}>
                            <option value="" selected={assignee.is_none()}>{ "Unassigned" }</option>
                            { for self.state.agents.iter().map(|a| html! {
                                <option value={a.id.to_string()} selected={assignee == Some(a.id)}>{ a.name.clone() }</option>
                            }) }
                        </select>
                    </label>
                    <label>{ "Priority " }
                        <select name="priority" onchange={on_priority} key={format!("priority-{id}-{}", c.priority.as_str())}>
                            { for Priority::ALL.iter().map(|p| html! {
                                <option value={p.as_str()} selected={c.priority == *p}>{ p.as_str() }</option>
                            }) }
                        </select>
                    </label>
                    { self.sla_badge(c) }
                    <button class="resolve" onclick={toggle}>{ if resolved { "Reopen" } else { "Resolve" } }</button>
                </div>
                { self.view_labels(ctx, c) }
                <dl>
                    if let Some(u) = &c.page_url { <dt>{ "Page" }</dt><dd>{ u.clone() }</dd> }
                    if let Some(l) = &c.locale { <dt>{ "Language" }</dt><dd>{ l.clone() }</dd> }
                    if let Some(n) = &c.contact_name { <dt>{ "Name" }</dt><dd>{ n.clone() }</dd> }
                    if let Some(e) = &c.contact_email { <dt>{ "Email" }</dt><dd>{ e.clone() }</dd> }
                    if let Some(h) = &c.context {
                        if let Some(q) = &h.query { <dt>{ "Searched" }</dt><dd class="ctx-query">{ q.clone() }</dd> }
                        if !h.shown.is_empty() { <dt>{ "Suggested" }</dt><dd class="ctx-shown">{ refs(&h.shown) }</dd> }
                        if !h.opened.is_empty() { <dt>{ "Read" }</dt><dd class="ctx-opened">{ refs(&h.opened) }</dd> }
                        if let Some(ua) = &h.user_agent { <dt>{ "Browser" }</dt><dd>{ ua.clone() }</dd> }
                    }
                    if let Some(r) = c.rating {
                        <dt>{ "Rating" }</dt>
                        <dd class="ctx-rating">{ format!("{r}/5 {}", c.rating_comment.clone().unwrap_or_default()) }</dd>
                    }
                    if let Some((_, earlier)) = self.history.as_ref().filter(|(h, list)| *h == c.id && !list.is_empty()) {
                        <dt>{ "Earlier" }</dt>
                        <dd class="ctx-history">
                            { for earlier.iter().map(|e| {
                                let eid = e.id;
                                let onclick = ctx.link().callback(move |_| Msg::Act(Action::Select(eid)));
                                html! {
                                    <button class="link earlier" {onclick}>
                                        { format!("#{eid} · {} · {}", web_client::time_of(e.updated_at), e.preview.clone().unwrap_or_default()) }
                                    </button>
                                }
                            }) }
                        </dd>
                    }
                </dl>
                { self.view_profile(ctx, c) }
            </div>
        }
    }

    fn view_thread(&self, ctx: &Context<Self>) -> Html {
        let Some(id) = self.state.selected else {
            return html! {
                <>
                    if let Some(n) = &self.notice { <p class="notice" role="status">{ n.clone() }</p> }
                    <p class="muted empty">{ "Pick a conversation (j / k)." }</p>
                </>
            };
        };
        let summary = self.state.conversations.iter().find(|c| c.id == id);
        let lines = self
            .state
            .thread(id)
            .map(|t| t.lines.as_slice())
            .unwrap_or(&[]);
        let notes = self.state.notes.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        // Messages and notes in time order; notes look different and never reach the customer.
        let mut items: Vec<(i64, Html)> = lines
            .iter()
            .map(|l| (l.at.unwrap_or(i64::MAX), self.view_line(l)))
            .collect();
        items.extend(notes.iter().map(|n| {
            (n.at, html! {
                <li class="msg note" data-author="note" key={format!("note-{}-{}", n.agent.id, n.id)}>
                    <span class="who">{ format!("{} · private note", n.agent.name) }</span>
                    <p class="body">{ n.body.clone() }</p>
                    <span class="meta">{ web_client::time_of(n.at) }</span>
                </li>
            })
        }));
        items.sort_by_key(|(at, _)| *at);
        let typing = self.state.visitor_typing.get(&id).copied().unwrap_or(false);
        let on_input = ctx.link().callback(|e: InputEvent| {
            let area: HtmlTextAreaElement = e.target_unchecked_into();
            Msg::Draft(area.value())
        });
        let on_submit = ctx.link().callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::SendReply
        });
        let on_key = ctx
            .link()
            .batch_callback(|e: KeyboardEvent| match e.key().as_str() {
                "Enter" if !e.shift_key() && !e.is_composing() => {
                    e.prevent_default();
                    Some(Msg::SendReply)
                }
                "Escape" => {
                    if let Some(el) = e
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        let _ = el.blur();
                    }
                    None
                }
                _ => None,
            });
        let reply_mode = ctx.link().callback(|_| Msg::SetMode(false));
        let note_mode = ctx.link().callback(|_| Msg::SetMode(true));
        let typed = self.draft.trim().strip_prefix('/').map(str::to_lowercase);
        let matches: Vec<&protocol::CannedResponse> = match &typed {
            Some(prefix) => self
                .state
                .canned
                .iter()
                .filter(|c| c.shortcut.to_lowercase().starts_with(prefix.as_str()))
                .collect(),
            None => Vec::new(),
        };
        html! {
            <>
                <header class="thread-head">
                    <h2>{ format!("Conversation #{id}") }</h2>
                    if let Some(c) = summary {
                        { self.view_context(ctx, c) }
                    }
                </header>
                <ol class="messages" role="log" aria-live="polite" ref={self.thread.clone()}>
                    { for items.into_iter().map(|(_, h)| h) }
                </ol>
                // Always present, so the reply form below is never re-created while typing.
                <div class="thread-extras">
                    // A refusal by the server (a reply too long, a control character pasted…),
                    // until the next reply or note is sent.
                    if let Some(e) = &self.state.last_error { <p class="error" role="alert">{ e.clone() }</p> }
                    if typing { <p class="typing">{ "Customer is typing…" }</p> }
                    if !matches.is_empty() {
                        <ul class="canned-suggestions" aria-label="Canned responses">
                            { for matches.iter().map(|c| {
                                let shortcut = c.shortcut.clone();
                                let onclick = ctx.link().callback(move |_| Msg::UseCanned(shortcut.clone()));
                                html! { <li><button type="button" class="canned" {onclick}>{ format!("/{} — {}", c.shortcut, c.title) }</button></li> }
                            }) }
                        </ul>
                    }
                </div>
                <form class={classes!("reply", self.note_mode.then_some("note-mode"))} onsubmit={on_submit}>
                    <div class="modes" role="group" aria-label="Composer mode">
                        <button type="button" class="mode-reply" aria-pressed={(!self.note_mode).to_string()} onclick={reply_mode}>{ "Reply" }</button>
                        <button type="button" class="mode-note" aria-pressed={self.note_mode.to_string()} onclick={note_mode}>{ "Private note" }</button>
                    </div>
                    <textarea name="reply" rows="3" maxlength="4000" ref={self.reply_box.clone()}
                        aria-label={if self.note_mode { "Private note" } else { "Reply" }}
                        placeholder={if self.note_mode { "Private note: only agents see this" } else { "Reply… (Enter sends, /shortcut for canned responses)" }}
                        value={self.draft.clone()} oninput={on_input} onkeydown={on_key} />
                    <button type="submit">{ if self.note_mode { "Add note" } else { "Send reply" } }</button>
                </form>
            </>
        }
    }
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
            state: ConsoleState::default(),
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
            base_title: web_sys::window()
                .and_then(|w| w.document())
                .map(|d| d.title())
                .unwrap_or_default(),
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
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
            Msg::ToggleAdmin => {
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
                let body = std::mem::take(&mut self.draft);
                if body.trim().is_empty() {
                    return false;
                }
                self.state.last_error = None;
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
