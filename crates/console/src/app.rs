//! The console's shell: sign-in over `fetch`, the agent WebSocket, and rendering of `ConsoleState`.

use crate::state::{Action, Connection, ConsoleState, Effect, Line};
use protocol::{AgentInfo, Author, decode_server};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CloseEvent, HtmlInputElement, HtmlTextAreaElement, MessageEvent, Request, RequestCredentials,
    RequestInit, Response, WebSocket,
};
use yew::prelude::*;

pub fn mount() {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let root = document.get_element_by_id("app").expect("an #app element");
    yew::Renderer::<App>::with_root(root).render();
}

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
    SendReply,
}

struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

pub struct App {
    state: ConsoleState,
    socket: Option<Socket>,
    generation: u32,
    /// Still asking the server whether a session exists.
    booting: bool,
    checking: bool,
    login_error: Option<String>,
    email: NodeRef,
    password: NodeRef,
    draft: String,
    thread: NodeRef,
}

/// A same-origin JSON call; returns (status, body).
async fn api(method: &str, path: &str, body: Option<String>) -> Result<(u16, String), String> {
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

fn new_id() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/ws/agent", location.host().ok()?))
}

fn time_of(ms: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

impl App {
    fn connect(&mut self, ctx: &Context<Self>) {
        self.socket = None;
        self.generation += 1;
        let generation = self.generation;
        let Some(url) = socket_url() else { return };
        let Ok(ws) = WebSocket::new(&url) else {
            ctx.link().send_message(Msg::Closed(generation));
            return;
        };
        let link = ctx.link().clone();
        let on_open =
            Closure::<dyn FnMut()>::new(move || link.send_message(Msg::Opened(generation)));
        let link = ctx.link().clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                link.send_message(Msg::Text(generation, text));
            }
        });
        let link = ctx.link().clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| {
            link.send_message(Msg::Closed(generation))
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.socket = Some(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        });
    }

    fn apply(&mut self, ctx: &Context<Self>, action: Action) {
        for effect in self.state.apply(action) {
            match effect {
                Effect::Connect => self.connect(ctx),
                Effect::Send(frame) => {
                    if let Some(socket) = &self.socket {
                        let _ = socket.ws.send_with_str(&frame.to_json());
                    }
                }
                Effect::ReconnectAfter { ms } => {
                    let link = ctx.link().clone();
                    let callback = Closure::once_into_js(move || link.send_message(Msg::Connect));
                    if let Some(window) = web_sys::window() {
                        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                            callback.unchecked_ref(),
                            ms as i32,
                        );
                    }
                }
            }
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
                    if let Some(error) = &self.login_error { <p class="error" role="alert">{ error }</p> }
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
                <span class="meta">{ line.at.map(time_of).unwrap_or_else(|| "sending…".into()) }</span>
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
        let list = self.state.conversations.iter().filter(|c| c.status == protocol::ConversationStatus::Open || selected == Some(c.id)).map(|c| {
            let id = c.id;
            let onclick = ctx.link().callback(move |_| Msg::Act(Action::Select(id)));
            html! {
                <li key={id}>
                    <button class={classes!("conv", (selected == Some(id)).then_some("selected"))}
                        data-id={id.to_string()} aria-current={(selected == Some(id)).then_some("true")} {onclick}>
                        <span class="conv-title">{ format!("#{id} · {}", c.site) }</span>
                        <span class="conv-time">{ time_of(c.updated_at) }</span>
                        <span class="conv-preview">{ c.preview.clone().unwrap_or_default() }</span>
                    </button>
                </li>
            }
        });
        let on_logout = ctx.link().callback(|_| Msg::Logout);
        html! {
            <div class="shell">
                <header class="top">
                    <strong>{ "Frontdesk" }</strong>
                    <span class={classes!("conn", conn.0)} role="status">{ conn.1 }</span>
                    <span class="me">{ &agent.name }</span>
                    <button class="link" onclick={on_logout}>{ "Sign out" }</button>
                </header>
                <nav class="inbox" aria-label="Conversations">
                    <h2>{ format!("Open ({})", self.state.conversations.len()) }</h2>
                    if self.state.conversations.is_empty() { <p class="muted">{ "No open conversations." }</p> }
                    <ul>{ for list }</ul>
                </nav>
                <main class="thread">{ self.view_thread(ctx) }</main>
            </div>
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
        html! {
            <div class="context">
                <button class="resolve" onclick={toggle}>{ if resolved { "Reopen" } else { "Resolve" } }</button>
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
                </dl>
            </div>
        }
    }

    fn view_thread(&self, ctx: &Context<Self>) -> Html {
        let Some(id) = self.state.selected else {
            return html! { <p class="muted empty">{ "Pick a conversation." }</p> };
        };
        let summary = self.state.conversations.iter().find(|c| c.id == id);
        let lines = self
            .state
            .thread(id)
            .map(|t| t.lines.as_slice())
            .unwrap_or(&[]);
        let typing = self.state.visitor_typing.get(&id).copied().unwrap_or(false);
        let on_input = ctx.link().callback(|e: InputEvent| {
            let area: HtmlTextAreaElement = e.target_unchecked_into();
            Msg::Draft(area.value())
        });
        let on_submit = ctx.link().callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::SendReply
        });
        let on_key = ctx.link().batch_callback(|e: KeyboardEvent| {
            (e.key() == "Enter" && !e.shift_key() && !e.is_composing()).then(|| {
                e.prevent_default();
                Msg::SendReply
            })
        });
        html! {
            <>
                <header class="thread-head">
                    <h2>{ format!("Conversation #{id}") }</h2>
                    if let Some(c) = summary {
                        { self.view_context(ctx, c) }
                    }
                </header>
                <ol class="messages" role="log" aria-live="polite" ref={self.thread.clone()}>
                    { for lines.iter().map(|l| self.view_line(l)) }
                </ol>
                if typing { <p class="typing">{ "Customer is typing…" }</p> }
                <form class="reply" onsubmit={on_submit}>
                    <textarea name="reply" rows="3" maxlength="4000" aria-label="Reply"
                        placeholder="Reply… (Enter to send, Shift+Enter for a new line)"
                        value={self.draft.clone()} oninput={on_input} onkeydown={on_key} />
                    <button type="submit">{ "Send reply" }</button>
                </form>
            </>
        }
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
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
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Act(action) => {
                if matches!(action, Action::SignedIn(_)) {
                    self.booting = false;
                    self.checking = false;
                    self.login_error = None;
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
            Msg::Logout => {
                self.socket = None;
                self.apply(ctx, Action::SignedOut);
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = api("POST", "/api/logout", None).await;
                });
            }
            Msg::Draft(text) => {
                self.draft = text;
                return false;
            }
            Msg::SendReply => {
                let body = std::mem::take(&mut self.draft);
                if body.trim().is_empty() {
                    return false;
                }
                self.apply(ctx, Action::Reply { id: new_id(), body });
            }
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
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
