//! The widget's shell: renders `ChatState`, owns the WebSocket and the search index, talks to the
//! host page's loader by `postMessage`, and performs the effects the reducer asks for.

use crate::i18n::{self, Strings};
use crate::markdown::Segment;
use crate::search::Search;
use crate::state::{Action, ChatState, Connection, Delivery, Effect, Line, Notice, Screen};
use protocol::{Author, ServerFrame, SiteConfig};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlInputElement, HtmlTextAreaElement, MessageEvent};
use yew::prelude::*;

mod attach;

pub fn mount() {
    yew::Renderer::<App>::with_root(web_client::app_root()).render();
}

// Messages are handled one at a time; boxing the action would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    Act(Action),
    Connect,
    /// The browser lost the network: stop waiting on a socket that cannot deliver.
    WentOffline,
    Opened(u32),
    Text(u32, String),
    Closed(u32),
    Submit,
    /// A message from the host page's loader.
    Host(String, JsValue),
    IndexReady,
    RateScore(u8),
    RateComment(String),
    SubmitRating,
    ContactEmail(String),
    ContactName(String),
    SubmitContact,
    /// The composer changed: whether it holds text.
    Composing(bool),
    /// No keystroke for a while, maybe.
    TypingIdle,
    /// The search box changed (settled if it stays so for `SETTLE_MS`).
    Typed(String),
    /// Attachments (`app/attach.rs`).
    Attach(attach::AttachMsg),
}

pub struct App {
    state: ChatState,
    /// The message composer (uncontrolled; read on send).
    composer: NodeRef,
    socket: Option<web_client::Socket>,
    generation: u32,
    strings: &'static Strings,
    rtl: bool,
    search: Search,
    /// The host page's origin, learned from the loader's `init` message.
    host_origin: Option<String>,
    score: u8,
    comment: String,
    email: String,
    name: String,
    log: NodeRef,
    article: NodeRef,
    search_box: NodeRef,
    typing: web_client::Typing,
    attach: attach::Attach,
}

fn window() -> web_sys::Window {
    web_sys::window().expect("a window")
}

fn query_param(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// Reads `Frontdesk('identify', user)`, bounded and cleaned so the server accepts it: invalid
/// emails and attribute names are dropped rather than failing the whole frame.
fn identify_details(user: &JsValue) -> Option<protocol::ContactDetails> {
    if !user.is_object() {
        return None;
    }
    let plain = |v: &JsValue, max: usize| -> Option<String> {
        // Numbers and booleans as JavaScript writes them (no float formatting in the wasm).
        let text = match v.as_string() {
            Some(t) => t,
            None if v.as_f64().is_some() || v.as_bool().is_some() => {
                js_sys::JSON::stringify(v).ok()?.into()
            }
            None => return None,
        };
        // The server's limits are in bytes: cut at a character boundary under `max` bytes.
        let mut text: String = text.trim().chars().filter(|c| !c.is_control()).collect();
        while text.len() > max {
            text.pop();
        }
        (!text.is_empty()).then_some(text)
    };
    let get = |key: &str| js_sys::Reflect::get(user, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let mut details = protocol::ContactDetails {
        name: plain(&get("name"), 200),
        email: plain(&get("email"), 254).filter(|e| protocol::valid_email(e)),
        user_id: plain(&get("user_id"), 128),
        user_hash: plain(&get("user_hash"), 128),
        attributes: Default::default(),
    };
    let nested = get("attributes");
    let mut budget: usize = 12 * 1024;
    for source in [user, &nested] {
        if !source.is_object() {
            continue;
        }
        for entry in js_sys::Object::entries(source.unchecked_ref()).iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            let Some(key) = pair.get(0).as_string() else {
                continue;
            };
            if matches!(
                key.as_str(),
                "name" | "email" | "user_id" | "user_hash" | "attributes"
            ) || !protocol::valid_attribute_key(&key)
                || details.attributes.len() >= protocol::MAX_ATTRIBUTES
            {
                continue;
            }
            if let Some(value) = plain(&pair.get(1), protocol::MAX_ATTRIBUTE_VALUE_CHARS) {
                // Escaped quotes can double a value's size on the wire: keep the frame small.
                budget = budget.saturating_sub(key.len() + 2 * value.len() + 6);
                if budget == 0 {
                    break;
                }
                details.attributes.insert(key, value);
            }
        }
    }
    let empty = details.name.is_none()
        && details.email.is_none()
        && details.user_id.is_none()
        && details.attributes.is_empty();
    (!empty).then_some(details)
}

/// Sends `msg` to the app after `ms`. Every timer goes through this one closure type: each
/// distinct closure costs its own glue in the wasm (measured: see the commit).
fn later(ctx: &Context<App>, ms: u32, msg: Msg) {
    let link = ctx.link().clone();
    web_client::after(ms, move || link.send_message(msg));
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn token_key(site: &str) -> String {
    format!("frontdesk:{site}:token")
}

/// Set while this browser has an open conversation: the next page connects at once.
fn open_key(site: &str) -> String {
    format!("frontdesk:{site}:open")
}

fn outbox_key(site: &str) -> String {
    format!("frontdesk:{site}:outbox")
}

/// Keeps unacknowledged messages across a reload, as `[[id, body], …]` JSON.
fn save_outbox(site: &str, outbox: &[(String, String)]) {
    let Some(s) = storage() else { return };
    if outbox.is_empty() {
        let _ = s.remove_item(&outbox_key(site));
        return;
    }
    let list = js_sys::Array::new();
    for (id, body) in outbox {
        list.push(&js_sys::Array::of2(&id.into(), &body.into()));
    }
    if let Ok(json) = js_sys::JSON::stringify(&list) {
        let _ = s.set_item(&outbox_key(site), &String::from(json));
    }
}

/// What `save_outbox` kept; anything malformed is ignored.
fn load_outbox(site: &str) -> Vec<(String, String)> {
    let Some(text) = storage().and_then(|s| s.get_item(&outbox_key(site)).ok().flatten()) else {
        return Vec::new();
    };
    let Ok(list) = js_sys::JSON::parse(&text) else {
        return Vec::new();
    };
    let Ok(list) = list.dyn_into::<js_sys::Array>() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|pair| {
            let pair = pair.dyn_into::<js_sys::Array>().ok()?;
            let id = pair.get(0).as_string()?;
            let body = pair.get(1).as_string()?;
            (id.len() <= protocol::MAX_CLIENT_ID_LEN
                && body.chars().count() <= protocol::MAX_BODY_CHARS)
                .then_some((id, body))
        })
        .take(50)
        .collect()
}

fn date_time_of(ms: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    String::from(date.to_locale_string("default", &JsValue::UNDEFINED))
}

/// Fetches a same-origin URL as text.
async fn fetch_text(url: String) -> Option<String> {
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window().fetch_with_str(&url))
            .await
            .ok()?
            .unchecked_into();
    if !response.ok() {
        return None;
    }
    wasm_bindgen_futures::JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()
}

impl App {
    fn connect(&mut self, ctx: &Context<Self>) {
        self.socket = None;
        self.generation += 1;
        let generation = self.generation;
        self.state.connection = Connection::Connecting;
        let (opened, text, closed) = (ctx.link().clone(), ctx.link().clone(), ctx.link().clone());
        self.socket = web_client::Socket::open(
            "/ws/visitor",
            move || opened.send_message(Msg::Opened(generation)),
            move |t| text.send_message(Msg::Text(generation, t)),
            move || closed.send_message(Msg::Closed(generation)),
        );
        if self.socket.is_none() {
            ctx.link().send_message(Msg::Closed(generation));
        }
    }

    /// Posts to the loader, with the host's origin as the explicit target.
    fn post_host(&self, message: &JsValue) {
        if let (Some(origin), Ok(Some(parent))) = (&self.host_origin, window().parent()) {
            let _ = parent.post_message(message, origin);
        }
    }

    fn send_typing(&self, on: bool) {
        if let Some(socket) = &self.socket
            && let Some(json) = crate::to_json(&protocol::VisitorFrame::Typing { on })
        {
            socket.send(&json);
        }
    }

    fn apply(&mut self, ctx: &Context<Self>, action: Action) {
        self.state.now = js_sys::Date::now() as i64;
        for effect in self.state.apply(action) {
            match effect {
                Effect::Send(frame) => {
                    if let Some(socket) = &self.socket
                        && let Some(json) = crate::to_json(&frame)
                    {
                        socket.send(&json);
                    }
                }
                Effect::StoreToken(token) => {
                    if let Some(s) = storage() {
                        let _ = s.set_item(&token_key(&self.state.site), &token);
                    }
                }
                Effect::ReconnectAfter { ms } => later(ctx, ms, Msg::Connect),
                Effect::Search(query) => {
                    let hits = self.search.run(&query);
                    ctx.link()
                        .send_message(Msg::Act(Action::Suggestions { query, hits }));
                }
                Effect::FetchArticle(id) => {
                    let search = self.search.clone();
                    let link = ctx.link().clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let html = search.article(&id).await;
                        link.send_message(Msg::Act(Action::ArticleLoaded { id, html }));
                    });
                }
                Effect::Warn(message) => {
                    web_sys::console::warn_1(&format!("Frontdesk: {message}").into());
                }
                Effect::Unread(count) => {
                    let message = js_sys::Object::new();
                    let _ = js_sys::Reflect::set(&message, &"frontdesk".into(), &"unread".into());
                    let _ = js_sys::Reflect::set(&message, &"count".into(), &count.into());
                    self.post_host(&message);
                }
                Effect::Chime => web_client::chime(&[880.0, 1320.0]),
                Effect::RetryAfter { ms } => later(ctx, ms, Msg::Act(Action::Retry)),
                Effect::SaveOutbox(outbox) => save_outbox(&self.state.site, &outbox),
                Effect::Connect => {
                    // The index may have been rebuilt while no socket could say so.
                    self.search
                        .refresh(ctx.link().callback(|_| Msg::IndexReady));
                    self.connect(ctx);
                }
                Effect::RememberConversation(open) => {
                    if let Some(s) = storage() {
                        let key = open_key(&self.state.site);
                        let _ = if open {
                            s.set_item(&key, "1")
                        } else {
                            s.remove_item(&key)
                        };
                    }
                }
            }
        }
    }

    fn set_locale(&mut self, ctx: &Context<Self>, locale: String) {
        self.strings = i18n::strings(&locale);
        self.rtl = i18n::is_rtl(&locale);
        self.search.set_language(
            &i18n::search_language(&locale),
            ctx.link().callback(|_| Msg::IndexReady),
        );
        self.state.locale = Some(locale);
    }

    fn view_line(&self, ctx: &Context<Self>, line: &Line, last_read: bool) -> Html {
        let s = self.strings;
        let (who, author) = match &line.author {
            Author::Visitor => (s.you.to_owned(), "visitor"),
            Author::Agent { name, .. } => (name.clone(), "agent"),
        };
        // The agent's avatar: initials on one of eight colours picked by the agent's id (all
        // with white text at WCAG AA contrast); classes, not inline styles, for the frame's CSP.
        let avatar = match &line.author {
            Author::Agent { id, name } => {
                let initials: String = name
                    .split_whitespace()
                    .take(2)
                    .filter_map(|w| w.chars().next())
                    .collect();
                // The browser's upper-casing: Rust's would ship Unicode case tables (~5 KB).
                let initials = String::from(js_sys::JsString::from(initials).to_upper_case());
                html! { <span class={classes!("fd-avatar", format!("fd-av{}", id.rem_euclid(8)))} aria-hidden="true">{ initials }</span> }
            }
            Author::Visitor => Html::default(),
        };
        let (state, meta) = match line.delivery {
            Delivery::Pending => ("pending", s.sending.to_owned()),
            Delivery::Sent if author == "visitor" => {
                let status = if last_read { s.read } else { s.sent };
                (
                    "sent",
                    line.at
                        .map(|t| format!("{} · {status}", web_client::time_of(t)))
                        .unwrap_or(status.into()),
                )
            }
            Delivery::Sent => ("sent", line.at.map(web_client::time_of).unwrap_or_default()),
        };
        html! {
            <li class={classes!("fd-msg", format!("fd-{author}"))} data-author={author} data-state={state} key={format!("{author}-{}", line.id)}>
                <span class="fd-who">{ avatar }{ who }</span>
                <p class="fd-body">{ for crate::markdown::parse(&line.body).into_iter().map(|seg| match seg {
                    Segment::Text(t) => html! { <>{ t }</> },
                    Segment::Bold(t) => html! { <strong>{ t }</strong> },
                    Segment::Code(t) => html! { <code>{ t }</code> },
                    Segment::Link { text, href } => html! {
                        <a {href} target="_blank" rel="noopener noreferrer nofollow">{ text }</a>
                    },
                }) }</p>
                { self.view_files(ctx, line) }
                <span class="fd-meta">{ meta }</span>
            </li>
        }
    }

    fn view_home(&self, ctx: &Context<Self>) -> Html {
        let s = self.strings;
        let on_input = ctx.link().callback(|e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            Msg::Typed(input.value())
        });
        let on_key = ctx
            .link()
            .batch_callback(|e: KeyboardEvent| match e.key().as_str() {
                "ArrowDown" => {
                    e.prevent_default();
                    Some(Msg::Act(Action::Move(1)))
                }
                "ArrowUp" => {
                    e.prevent_default();
                    Some(Msg::Act(Action::Move(-1)))
                }
                "Enter" => {
                    e.prevent_default();
                    Some(Msg::Act(Action::OpenSuggestion(None)))
                }
                _ => None,
            });
        let greeting = self
            .state
            .config
            .as_ref()
            .and_then(|c| {
                let lang = i18n::search_language(self.state.locale.as_deref().unwrap_or("en"));
                // The site's own greeting in the visitor's language; else our translated default
                // (better than the site's English text for, say, an Arabic reader).
                c.greeting.get(&lang).cloned()
            })
            .unwrap_or_else(|| s.greeting.to_owned());
        let expanded = !self.state.suggestions.is_empty();
        let active = self.state.highlighted.map(|i| format!("fd-sug-{i}"));
        let items = self.state.suggestions.iter().enumerate().map(|(i, hit)| {
            let selected = self.state.highlighted == Some(i);
            let onclick = ctx.link().callback(move |_| Msg::Act(Action::OpenSuggestion(Some(i))));
            html! {
                <li id={format!("fd-sug-{i}")} role="option" aria-selected={selected.to_string()}
                    class={classes!("fd-sug", selected.then_some("active"))} key={hit.id.clone()} {onclick}>
                    <span class="fd-sug-title">{ hit.title.clone() }</span>
                    <span class="fd-sug-snippet">
                        { for hit.snippet.iter().map(|(text, mark)| if *mark {
                            html! { <mark>{ text.clone() }</mark> }
                        } else {
                            html! { <>{ text.clone() }</> }
                        }) }
                    </span>
                </li>
            }
        });
        let start_chat = ctx.link().callback(|_| Msg::Act(Action::StartChat));
        let no_results = !self.state.query.trim().is_empty()
            && self.state.suggestions.is_empty()
            && self.search.ready();
        html! {
            <div class="fd-home">
                <p class="fd-greet">{ greeting }</p>
                if Search::ENABLED {
                <div class="fd-search">
                    <label class="fd-sr" for="fd-q">{ s.search_label }</label>
                    <input id="fd-q" ref={self.search_box.clone()} type="search" name="q" autocomplete="off"
                        maxlength="200" placeholder={s.search_placeholder} value={self.state.query.clone()}
                        role="combobox" aria-autocomplete="list" aria-controls="fd-suggestions"
                        aria-expanded={expanded.to_string()} aria-activedescendant={active}
                        oninput={on_input} onkeydown={on_key} />
                </div>
                if expanded {
                    <h2 class="fd-h2" id="fd-sug-label">{ s.suggestions }</h2>
                }
                <ul id="fd-suggestions" class="fd-suggestions" role="listbox" aria-labelledby="fd-sug-label">
                    { for items }
                </ul>
                if no_results { <p class="fd-muted" role="status">{ s.no_results }</p> }
                }
                <button type="button" class="fd-primary fd-start" onclick={start_chat}>
                    { s.chat_with_us }
                </button>
            </div>
        }
    }

    fn view_article(&self, ctx: &Context<Self>) -> Html {
        let s = self.strings;
        let Some(article) = &self.state.article else {
            return Html::default();
        };
        let back = ctx.link().callback(|_| Msg::Act(Action::Back));
        let yes = ctx.link().callback(|_| Msg::Act(Action::Answered(true)));
        let no = ctx.link().callback(|_| Msg::Act(Action::Answered(false)));
        html! {
            <div class="fd-article-view">
                <button type="button" class="fd-back" onclick={back}>{ format!("← {}", s.back) }</button>
                <article class="fd-article" aria-labelledby="fd-article-title">
                    <h2 id="fd-article-title">{ article.title.clone() }</h2>
                    if article.failed {
                        <p class="fd-muted">{ s.load_failed }</p>
                    } else if article.html.is_none() {
                        <p class="fd-muted">{ s.loading }</p>
                    }
                    <div class="fd-article-body" ref={self.article.clone()}></div>
                </article>
                <div class="fd-answered" role="group" aria-label={s.did_it_answer}>
                    if article.answered == Some(true) {
                        <p class="fd-glad" role="status">{ s.glad }</p>
                    } else {
                        <p>{ s.did_it_answer }</p>
                        <button type="button" class="fd-yes" onclick={yes}>{ s.yes }</button>
                        <button type="button" class="fd-no" onclick={no}>{ s.no_talk }</button>
                    }
                </div>
            </div>
        }
    }

    fn view_chat(&self, ctx: &Context<Self>) -> Html {
        let s = self.strings;
        let on_submit = ctx.link().callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::Submit
        });
        let on_key = ctx.link().batch_callback(|e: KeyboardEvent| {
            (e.key() == "Enter" && !e.shift_key() && !e.is_composing()).then(|| {
                e.prevent_default();
                Msg::Submit
            })
        });
        let notice = self.state.notice.as_ref().map(|n| match n {
            Notice::RateLimited => s.rate_limited,
            Notice::Busy => s.busy,
            Notice::Overloaded => s.overloaded,
            Notice::Error => s.error,
        });
        let last_visitor_read = self
            .state
            .lines
            .iter()
            .filter(|l| {
                l.author == Author::Visitor && l.seq.is_some_and(|q| q <= self.state.agent_read)
            })
            .filter_map(|l| l.seq)
            .max();
        let back = ctx.link().callback(|_| Msg::Act(Action::Back));
        let resolve = ctx.link().callback(|_| Msg::Act(Action::Resolve));
        let away =
            !self.state.availability.can_chat() && self.state.connection == Connection::Online;
        let config = self.state.config.as_ref();
        let ask_contact = (away && !self.state.contact_saved)
            || (self.state.conversation.is_none()
                && !self.state.contact_saved
                && config.is_some_and(|c| c.prechat_email || c.prechat_name));
        html! {
            <div class="fd-chat">
                <div class="fd-chat-bar">
                    <button type="button" class="fd-back" onclick={back}>{ format!("← {}", s.back) }</button>
                    if self.state.conversation.is_some() {
                        <button type="button" class="fd-end" onclick={resolve}>{ s.end_chat }</button>
                    }
                </div>
                <ol class="fd-log" role="log" aria-live="polite" aria-label={s.title} ref={self.log.clone()}>
                    { for self.state.lines.iter().map(|l| self.view_line(ctx, l, l.seq.is_some() && l.seq == last_visitor_read)) }
                </ol>
                // Banners come and go (an agent leaves, a notice appears) inside one element
                // that is always there, so the composer below keeps its place in the tree and is
                // never re-created under the customer's fingers.
                <div class="fd-banners">
                    if let Some(name) = &self.state.agent_typing {
                        <p class="fd-typing" aria-live="polite">{ format!("{name} {}", s.agent_typing) }</p>
                    }
                    if away {
                        <p class="fd-away" role="status">
                            { s.away }
                            if let Some(at) = self.state.availability.next_open {
                                { format!(" {}: {}.", s.away_until, date_time_of(at)) }
                            }
                        </p>
                    }
                    if ask_contact { { self.view_contact(ctx) } }
                    if self.state.contact_saved && away { <p class="fd-muted" role="status">{ s.saved_contact }</p> }
                    if let Some(text) = notice { <p class="fd-notice" role="alert">{ text }</p> }
                </div>
                <form class="fd-compose" onsubmit={on_submit} ondrop={attach::on_drop(ctx)}
                    ondragover={Callback::from(|e: DragEvent| e.prevent_default())}>
                    // Uncontrolled: the text is read from the element when sent, so a re-render
                    // racing with typing can never reset what the customer wrote.
                    <textarea name="message" rows="2" maxlength="4000" aria-label={s.placeholder}
                        placeholder={s.placeholder} ref={self.composer.clone()} onkeydown={on_key}
                        oninput={ctx.link().callback(|e: InputEvent| Msg::Composing(
                            !e.target_unchecked_into::<HtmlTextAreaElement>().value().trim().is_empty()))}
                        onpaste={attach::on_paste(ctx)} />
                    { self.view_attach(ctx) }
                    <button type="submit" class="fd-primary">{ s.send }</button>
                </form>
            </div>
        }
    }

    fn view_contact(&self, ctx: &Context<Self>) -> Html {
        let s = self.strings;
        let ask_name = self.state.config.as_ref().is_some_and(|c| c.prechat_name);
        let on_email = ctx.link().callback(|e: InputEvent| {
            Msg::ContactEmail(e.target_unchecked_into::<HtmlInputElement>().value())
        });
        let on_name = ctx.link().callback(|e: InputEvent| {
            Msg::ContactName(e.target_unchecked_into::<HtmlInputElement>().value())
        });
        let on_submit = ctx.link().callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::SubmitContact
        });
        html! {
            <form class="fd-contact" onsubmit={on_submit}>
                if ask_name {
                    <label>{ s.name_label }
                        <input type="text" name="name" autocomplete="name" maxlength="200" value={self.name.clone()} oninput={on_name} />
                    </label>
                }
                <label>{ s.email_label }
                    <input type="email" name="email" autocomplete="email" maxlength="254" required=true value={self.email.clone()} oninput={on_email} />
                </label>
                <button type="submit">{ s.save }</button>
            </form>
        }
    }

    fn view_rate(&self, ctx: &Context<Self>) -> Html {
        let s = self.strings;
        let restart = ctx.link().callback(|_| Msg::Act(Action::NewConversation));
        let ask_effort = self.state.config.as_ref().is_some_and(|c| c.ask_effort);
        if self.state.rated && ask_effort && !self.state.effort_sent {
            // The labels as text: formatting numbers would add code to the wasm.
            let scale = ["1", "2", "3", "4", "5", "6", "7"]
                .into_iter()
                .zip(1u8..)
                .map(|(label, n)| {
                    let onclick = ctx.link().callback(move |_| Msg::Act(Action::Effort(n)));
                    html! { <button type="button" class="fd-ces" {onclick}>{ label }</button> }
                });
            return html! {
                <div class="fd-rate">
                    <h2 class="fd-h2" id="fd-ces-title">{ s.effort_title }</h2>
                    <div class="fd-scale" role="group" aria-labelledby="fd-ces-title">{ for scale }</div>
                    <p class="fd-ends" aria-hidden="true"><span>{ s.effort_hard }</span><span>{ s.effort_easy }</span></p>
                </div>
            };
        }
        if self.state.rated {
            return html! {
                <div class="fd-rate">
                    <p class="fd-glad" role="status">{ s.thanks_rating }</p>
                    <button type="button" class="fd-primary" onclick={restart}>{ s.new_conversation }</button>
                </div>
            };
        }
        let on_comment = ctx.link().callback(|e: InputEvent| {
            Msg::RateComment(e.target_unchecked_into::<HtmlTextAreaElement>().value())
        });
        let on_submit = ctx.link().callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::SubmitRating
        });
        let stars = (1..=5u8).map(|n| {
            let onclick = ctx.link().callback(move |_| Msg::RateScore(n));
            let checked = self.score == n;
            html! {
                <button type="button" role="radio" aria-checked={checked.to_string()}
                    aria-label={format!("{n} / 5")} class={classes!("fd-star", (self.score >= n).then_some("on"))} {onclick}>
                    { "★" }
                </button>
            }
        });
        html! {
            <form class="fd-rate" onsubmit={on_submit}>
                <h2 class="fd-h2" id="fd-rate-title">{ s.rate_title }</h2>
                <div class="fd-stars" role="radiogroup" aria-labelledby="fd-rate-title">{ for stars }</div>
                <label>{ s.comment }
                    <textarea name="comment" rows="3" maxlength="2000" value={self.comment.clone()} oninput={on_comment} />
                </label>
                <button type="submit" class="fd-primary" disabled={self.score == 0}>{ s.send_rating }</button>
                <button type="button" class="fd-link" onclick={restart}>{ s.new_conversation }</button>
            </form>
        }
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let site = query_param("site").unwrap_or_else(|| "demo".into());
        let locale = query_param("lang")
            .filter(|l| !l.is_empty())
            .or_else(|| window().navigator().language())
            .unwrap_or_else(|| "en".into());
        let token = storage().and_then(|s| s.get_item(&token_key(&site)).ok().flatten());
        let user_agent = window().navigator().user_agent().ok();
        let strings = i18n::strings(&locale);
        let rtl = i18n::is_rtl(&locale);
        let w = window();
        // Reconnect at once when the browser says the network is back.
        let link = ctx.link().clone();
        let online = Closure::<dyn FnMut()>::new(move || link.send_message(Msg::Connect));
        let _ = w.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
        online.forget(); // lives as long as the page
        let link = ctx.link().clone();
        let offline = Closure::<dyn FnMut()>::new(move || link.send_message(Msg::WentOffline));
        let _ = w.add_event_listener_with_callback("offline", offline.as_ref().unchecked_ref());
        offline.forget();
        // Messages from the loader on the host page; only from our parent window.
        let link = ctx.link().clone();
        let on_host = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let from_parent = match (e.source(), window().parent()) {
                (Some(source), Ok(Some(parent))) => js_sys::Object::is(&source, &parent),
                _ => false,
            };
            if from_parent {
                link.send_message(Msg::Host(e.origin(), e.data()));
            }
        });
        let _ = w.add_event_listener_with_callback("message", on_host.as_ref().unchecked_ref());
        on_host.forget();
        // Tell the loader we are listening. "*" because the host's origin is not known yet;
        // the message carries nothing, and the loader checks our origin before answering.
        if let Ok(Some(parent)) = w.parent() {
            let ready = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&ready, &"frontdesk".into(), &"ready".into());
            let _ = parent.post_message(&ready, "*");
        }
        // Site configuration (greeting, pre-chat fields).
        let link = ctx.link().clone();
        let config_url = format!("/api/sites/{site}");
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(config) = fetch_text(config_url)
                .await
                .and_then(|t| crate::from_json::<SiteConfig>(&t))
            {
                link.send_message(Msg::Act(Action::Config(config)));
            }
        });
        let mut search = Search::new();
        search.set_language(
            &i18n::search_language(&locale),
            ctx.link().callback(|_| Msg::IndexReady),
        );
        // No socket until one is needed (see `ChatState::needs_socket`).
        let had_conversation = storage()
            .and_then(|s| s.get_item(&open_key(&site)).ok().flatten())
            .is_some();
        ctx.link()
            .send_message(Msg::Act(Action::Loaded { had_conversation }));
        let outbox = load_outbox(&site);
        if !outbox.is_empty() {
            ctx.link().send_message(Msg::Act(Action::Restore(outbox)));
        }
        App {
            state: ChatState::new(site, token, Some(locale), None, user_agent),
            composer: NodeRef::default(),
            socket: None,
            generation: 0,
            strings,
            rtl,
            search,
            host_origin: None,
            score: 0,
            comment: String::new(),
            email: String::new(),
            name: String::new(),
            log: NodeRef::default(),
            article: NodeRef::default(),
            search_box: NodeRef::default(),
            typing: web_client::Typing::default(),
            attach: attach::Attach::default(),
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Attach(m) => return self.on_attach(ctx, m),
            Msg::Act(action) => self.apply(ctx, action),
            Msg::Connect => {
                // Only when no socket is open or opening: a late backoff timer must not
                // replace a connection that is being established; and never for a widget
                // that needs none yet.
                if self.state.connection != Connection::Idle
                    && (self.socket.is_none() || self.state.connection == Connection::Offline)
                {
                    self.connect(ctx);
                }
            }
            Msg::WentOffline => {
                if self.socket.take().is_some() {
                    self.generation += 1;
                    self.apply(
                        ctx,
                        Action::Closed {
                            jitter: js_sys::Math::random(),
                        },
                    );
                }
            }
            Msg::Opened(g) if g == self.generation => self.apply(ctx, Action::Opened),
            Msg::Text(g, text) if g == self.generation => {
                match crate::server_frame_from_json(&text).ok_or(()) {
                    Ok(ServerFrame::UploadToken {
                        token,
                        expires,
                        max_bytes,
                    }) => self.upload_token(ctx, token, expires, max_bytes),
                    Ok(ServerFrame::IndexChanged { .. }) => {
                        self.search
                            .refresh(ctx.link().callback(|_| Msg::IndexReady));
                        return false;
                    }
                    Ok(frame) => {
                        self.apply(ctx, Action::Frame(frame));
                        self.fetch_previews(ctx);
                    }
                    Err(_) => return false,
                }
            }
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
            Msg::Submit => {
                let Some(area) = self.composer.cast::<HtmlTextAreaElement>() else {
                    return false;
                };
                let body = area.value();
                if body.trim().is_empty() {
                    return false;
                }
                area.set_value("");
                self.typing.reset();
                self.apply(
                    ctx,
                    Action::Compose {
                        id: web_client::new_id(),
                        body,
                    },
                );
            }
            Msg::Composing(has_text) => {
                if let Some(on) = self.typing.input(has_text, js_sys::Date::now()) {
                    self.send_typing(on);
                }
                if has_text {
                    later(ctx, web_client::TYPING_IDLE_MS, Msg::TypingIdle);
                }
                return false;
            }
            Msg::Typed(query) => {
                let settled = Msg::Act(Action::Settled(query.clone()));
                later(ctx, crate::state::SETTLE_MS, settled);
                self.apply(ctx, Action::Query(query));
            }
            Msg::TypingIdle => {
                if let Some(on) = self.typing.idle(js_sys::Date::now()) {
                    self.send_typing(on);
                }
                return false;
            }
            Msg::Host(origin, data) => {
                let kind = js_sys::Reflect::get(&data, &"frontdesk".into())
                    .ok()
                    .and_then(|v| v.as_string());
                let field = |name: &str| js_sys::Reflect::get(&data, &name.into()).ok();
                match kind.as_deref() {
                    Some("init") => {
                        self.host_origin = Some(origin);
                        self.state.page_url = field("page")
                            .and_then(|v| v.as_string())
                            .map(|p| p.chars().take(2048).collect());
                        if let Some(lang) = field("lang").and_then(|v| v.as_string())
                            && !lang.is_empty()
                            && Some(&lang) != self.state.locale.as_ref()
                        {
                            self.set_locale(ctx, lang);
                        }
                    }
                    _ if self.host_origin.as_deref() != Some(origin.as_str()) => return false,
                    Some("visible") => {
                        let open = field("open").and_then(|v| v.as_bool()).unwrap_or(false);
                        self.apply(ctx, Action::Visible(open));
                        if open && let Some(input) = self.search_box.cast::<HtmlInputElement>() {
                            let _ = input.focus();
                        }
                    }
                    Some("locale") => {
                        if let Some(lang) = field("lang").and_then(|v| v.as_string()) {
                            self.set_locale(ctx, lang);
                        }
                    }
                    Some("identify") => {
                        // A logged-in user as the site describes it: name, email, the site's
                        // user id with its signature, and any other plain values as custom
                        // attributes (also accepted under `attributes`).
                        let user = field("user").unwrap_or(JsValue::UNDEFINED);
                        if let Some(details) = identify_details(&user) {
                            self.apply(ctx, Action::SaveContact(details));
                        }
                    }
                    Some("reset") => {
                        // The site's user logged out: forget this browser's identity and
                        // conversation; the next visitor on it starts as someone new.
                        if let Some(s) = storage() {
                            let _ = s.remove_item(&token_key(&self.state.site));
                            let _ = s.remove_item(&open_key(&self.state.site));
                        }
                        let old = &self.state;
                        let mut fresh = ChatState::new(
                            old.site.clone(),
                            None,
                            old.locale.clone(),
                            old.page_url.clone(),
                            old.user_agent.clone(),
                        );
                        fresh.config = old.config.clone();
                        fresh.muted = old.muted;
                        fresh.visible = old.visible;
                        self.state = fresh;
                        self.socket = None;
                        self.generation += 1;
                        if self.state.needs_socket() {
                            self.connect(ctx);
                        }
                    }
                    Some("page") => {
                        self.state.page_url = field("page")
                            .and_then(|v| v.as_string())
                            .map(|p| p.chars().take(2048).collect());
                    }
                    _ => return false,
                }
            }
            Msg::IndexReady => {
                // Re-run the current query against the newly loaded index.
                if !self.state.query.trim().is_empty() {
                    let query = self.state.query.clone();
                    self.apply(ctx, Action::Query(query));
                }
            }
            Msg::RateScore(score) => self.score = score,
            Msg::RateComment(comment) => {
                self.comment = comment;
                return false;
            }
            Msg::SubmitRating => {
                if self.score > 0 {
                    let comment = Some(std::mem::take(&mut self.comment));
                    self.apply(
                        ctx,
                        Action::Rate {
                            score: self.score,
                            comment,
                        },
                    );
                }
            }
            Msg::ContactEmail(email) => {
                self.email = email;
                return false;
            }
            Msg::ContactName(name) => {
                self.name = name;
                return false;
            }
            Msg::SubmitContact => {
                let email = Some(self.email.trim().to_owned()).filter(|e| protocol::valid_email(e));
                let name = Some(self.name.trim().to_owned()).filter(|n| !n.is_empty());
                if email.is_some() || name.is_some() {
                    self.apply(
                        ctx,
                        Action::SaveContact(protocol::ContactDetails {
                            name,
                            email,
                            ..Default::default()
                        }),
                    );
                }
            }
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        // The question typed in the search box, ready to send (editable) in a fresh chat.
        if let Some(area) = self.composer.cast::<HtmlTextAreaElement>()
            && let Some(text) = self.state.prefill.take()
            && area.value().is_empty()
        {
            area.set_value(&text);
            let _ = area.focus();
        }
        if let Some(log) = self.log.cast::<web_sys::Element>() {
            log.set_scroll_top(log.scroll_height());
        }
        // Article HTML was rendered from Markdown and sanitized (ammonia) at index-build time.
        if let (Some(el), Some(article)) =
            (self.article.cast::<web_sys::Element>(), &self.state.article)
        {
            let html = article.html.as_deref().unwrap_or("");
            if el.get_attribute("data-id").as_deref() != Some(article.id.as_str())
                || el.inner_html().is_empty() != html.is_empty()
            {
                el.set_inner_html(html);
                let _ = el.set_attribute("data-id", &article.id);
            }
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let s = self.strings;
        let (conn_class, conn_text) = match self.state.connection {
            Connection::Idle => ("idle", ""),
            Connection::Connecting => ("connecting", s.connecting),
            Connection::Online => ("online", s.online),
            Connection::Offline => ("offline", s.offline),
        };
        let title = self
            .state
            .config
            .as_ref()
            .map(|c| c.name.clone())
            .unwrap_or_else(|| s.title.to_owned());
        let mute = ctx.link().callback(|_| Msg::Act(Action::ToggleMute));
        let body = match self.state.screen {
            Screen::Home => self.view_home(ctx),
            Screen::Article => self.view_article(ctx),
            Screen::Chat => self.view_chat(ctx),
            Screen::Rate => self.view_rate(ctx),
        };
        html! {
            <div class="fd" dir={if self.rtl { "rtl" } else { "ltr" }} lang={self.state.locale.clone()}>
                <header class="fd-head">
                    <h1>{ title }</h1>
                    <span class={classes!("fd-conn", conn_class)} role="status">{ conn_text }</span>
                    <button type="button" class="fd-mute" aria-pressed={self.state.muted.to_string()} onclick={mute}
                        aria-label={if self.state.muted { s.unmute } else { s.mute }}>
                        // An inline icon: emoji fonts are missing on many systems.
                        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                            <path fill="currentColor" d="M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-6V11a6 6 0 0 0-5-5.9V4a1 1 0 0 0-2 0v1.1A6 6 0 0 0 6 11v5l-2 2v1h16v-1z" />
                            if self.state.muted {
                                <path stroke="currentColor" stroke-width="2" d="M4 4l16 16" />
                            }
                        </svg>
                    </button>
                </header>
                <main class="fd-main">{ body }</main>
            </div>
        }
    }
}
