//! The widget's shell: renders `ChatState`, owns the WebSocket, performs the reducer's effects.

use crate::i18n::{self, Strings};
use crate::state::{Action, ChatState, Connection, Delivery, Effect, Notice};
use protocol::{Author, decode_server};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, HtmlTextAreaElement, MessageEvent, WebSocket};
use yew::prelude::*;

pub fn mount() {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let root = document.get_element_by_id("app").expect("an #app element");
    yew::Renderer::<App>::with_root(root).render();
}

pub enum Msg {
    Connect,
    Opened(u32),
    Text(u32, String),
    Closed(u32),
    Draft(String),
    Submit,
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
    state: ChatState,
    draft: String,
    socket: Option<Socket>,
    generation: u32,
    strings: &'static Strings,
    rtl: bool,
    log: NodeRef,
}

fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn token_key(site: &str) -> String {
    format!("frontdesk:{site}:token")
}

/// 128 random bits, hex: the client-generated message id.
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
    Some(format!("{scheme}://{}/ws/visitor", location.host().ok()?))
}

impl App {
    fn connect(&mut self, ctx: &Context<Self>) {
        self.socket = None;
        self.generation += 1;
        let generation = self.generation;
        self.state.connection = Connection::Connecting;
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
                Effect::Send(frame) => {
                    if let Some(socket) = &self.socket {
                        let _ = socket.ws.send_with_str(&frame.to_json());
                    }
                }
                Effect::StoreToken(token) => {
                    if let Some(s) = storage() {
                        let _ = s.set_item(&token_key(&self.state.site), &token);
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

    fn view_line(&self, line: &crate::state::Line) -> Html {
        let (who, author) = match &line.author {
            Author::Visitor => (self.strings.you.to_owned(), "visitor"),
            Author::Agent { name, .. } => (name.clone(), "agent"),
        };
        let (state, meta) = match line.delivery {
            Delivery::Pending => ("pending", self.strings.sending),
            Delivery::Sent => (
                "sent",
                if author == "visitor" {
                    self.strings.sent
                } else {
                    ""
                },
            ),
        };
        html! {
            <div class={classes!("fd-msg", format!("fd-{author}"))} data-author={author} data-state={state} key={line.id.clone()}>
                <span class="fd-who">{ who }</span>
                <p class="fd-body">{ line.body.clone() }</p>
                if !meta.is_empty() { <span class="fd-meta">{ meta }</span> }
            </div>
        }
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let site = query_param("site").unwrap_or_else(|| "demo".into());
        let locale = query_param("lang")
            .or_else(|| web_sys::window().and_then(|w| w.navigator().language()))
            .unwrap_or_else(|| "en".into());
        let token = storage().and_then(|s| s.get_item(&token_key(&site)).ok().flatten());
        let page_url = web_sys::window()
            .and_then(|w| w.document())
            .map(|d| d.referrer())
            .filter(|r| !r.is_empty());
        let strings = i18n::strings(&locale);
        let rtl = i18n::is_rtl(&locale);
        // Reconnect at once when the browser says the network is back.
        if let Some(window) = web_sys::window() {
            let link = ctx.link().clone();
            let online = Closure::<dyn FnMut()>::new(move || link.send_message(Msg::Connect));
            let _ =
                window.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
            online.forget(); // lives as long as the page
        }
        ctx.link().send_message(Msg::Connect);
        App {
            state: ChatState::new(site, token, Some(locale), page_url),
            draft: String::new(),
            socket: None,
            generation: 0,
            strings,
            rtl,
            log: NodeRef::default(),
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Connect => {
                if self.state.connection != Connection::Online {
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
            Msg::Draft(text) => {
                self.draft = text;
                return false;
            }
            Msg::Submit => {
                let body = std::mem::take(&mut self.draft);
                if body.trim().is_empty() {
                    return false;
                }
                self.apply(ctx, Action::Compose { id: new_id(), body });
            }
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        if let Some(log) = self.log.cast::<web_sys::Element>() {
            log.set_scroll_top(log.scroll_height());
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let s = self.strings;
        let (conn_class, conn_text) = match self.state.connection {
            Connection::Connecting => ("connecting", s.connecting),
            Connection::Online => ("online", s.online),
            Connection::Offline => ("offline", s.offline),
        };
        let on_input = ctx.link().callback(|e: InputEvent| {
            let area: HtmlTextAreaElement = e.target_unchecked_into();
            Msg::Draft(area.value())
        });
        let on_submit = ctx.link().callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::Submit
        });
        let on_key = ctx.link().batch_callback(|e: KeyboardEvent| {
            if e.key() == "Enter" && !e.shift_key() && !e.is_composing() {
                e.prevent_default();
                Some(Msg::Submit)
            } else {
                None
            }
        });
        let notice = self.state.notice.as_ref().map(|n| match n {
            Notice::RateLimited => s.rate_limited,
            Notice::Error => s.error,
        });
        html! {
            <div class="fd" dir={if self.rtl { "rtl" } else { "ltr" }} lang={self.state.locale.clone()}>
                <header class="fd-head">
                    <h1>{ s.title }</h1>
                    <span class={classes!("fd-conn", conn_class)} role="status">{ conn_text }</span>
                </header>
                <div class="fd-log" role="log" aria-live="polite" aria-label={s.title} ref={self.log.clone()}>
                    <p class="fd-greet">{ s.greeting }</p>
                    { for self.state.lines.iter().map(|l| self.view_line(l)) }
                    if let Some(name) = &self.state.agent_typing {
                        <p class="fd-typing">{ format!("{name} {}", s.agent_typing) }</p>
                    }
                </div>
                if let Some(text) = notice { <p class="fd-notice" role="alert">{ text }</p> }
                <form class="fd-compose" onsubmit={on_submit}>
                    <textarea name="message" rows="2" maxlength="4000" aria-label={s.placeholder}
                        placeholder={s.placeholder} value={self.draft.clone()}
                        oninput={on_input} onkeydown={on_key} />
                    <button type="submit">{ s.send }</button>
                </form>
            </div>
        }
    }
}
