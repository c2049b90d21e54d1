//! Attachments in the widget: files picked, dropped on the composer or pasted into it are
//! uploaded (a token asked on the socket, sent in a header, progress shown) and sent as a
//! message each; a message's images are fetched with the visitor's token in a header and shown
//! through `blob:` URLs, other files are downloaded the same way. The server checks types and
//! sizes; the widget only says why a file was refused, in the customer's language.

use super::*;
use web_client::files;

pub enum AttachMsg {
    Add(Vec<web_sys::File>),
    Progress(u32, f64),
    Done(u32, u16, String),
    Blob(String, Option<String>),
    Download(String, String),
}

/// What the widget keeps about attachments.
#[derive(Default)]
pub struct Attach {
    /// The upload token, when it expires, and the largest file it allows.
    token: Option<(String, f64, u64)>,
    /// Files waiting for a token.
    waiting: Vec<web_sys::File>,
    /// Uploads under way: key, name, percent sent (an integer: formatting a float would
    /// cost the wasm kilobytes).
    uploads: Vec<(u32, String, u32)>,
    key: u32,
    error: Option<&'static str>,
    /// `blob:` URLs of images shown, by attachment id (`None` while fetched); a list, not a
    /// map: a conversation shows a few, and a map's code costs the wasm more.
    blobs: Vec<(String, Option<String>)>,
}

impl App {
    /// A new upload token from the socket: the files waiting for one go.
    pub(super) fn upload_token(
        &mut self,
        ctx: &Context<Self>,
        token: String,
        expires: i64,
        max: u64,
    ) {
        self.attach.token = Some((token, expires as f64, max));
        let waiting = std::mem::take(&mut self.attach.waiting);
        self.on_attach(ctx, AttachMsg::Add(waiting));
    }

    pub(super) fn on_attach(&mut self, ctx: &Context<Self>, msg: AttachMsg) -> bool {
        let s = self.strings;
        match msg {
            AttachMsg::Add(list) => {
                if list.is_empty() {
                    return false;
                }
                self.attach.error = None;
                // A token with less than a minute left is renewed first.
                let token = self
                    .attach
                    .token
                    .clone()
                    .filter(|t| t.1 > js_sys::Date::now() + 60_000.0);
                let Some((token, _, max)) = token else {
                    self.attach.waiting.extend(list);
                    match (
                        &self.socket,
                        crate::to_json(&protocol::VisitorFrame::Upload),
                    ) {
                        (Some(socket), Some(json)) => socket.send(&json),
                        _ => {
                            self.attach.waiting.clear();
                            self.attach.error = Some(s.file_failed);
                        }
                    }
                    return true;
                };
                for file in list {
                    if file.size() > max as f64 {
                        self.attach.error = Some(s.file_too_large);
                        continue;
                    }
                    self.attach.key += 1;
                    let key = self.attach.key;
                    self.attach.uploads.push((key, file.name(), 0));
                    let name = String::from(js_sys::encode_uri_component(&file.name()));
                    let (progress, done) = (ctx.link().clone(), ctx.link().clone());
                    files::upload(
                        "/api/attachments",
                        &[
                            (protocol::ATTACHMENT_TOKEN_HEADER, &token),
                            ("X-Filename", &name),
                        ],
                        &file,
                        move |f| progress.send_message(Msg::Attach(AttachMsg::Progress(key, f))),
                        move |status, body| {
                            done.send_message(Msg::Attach(AttachMsg::Done(key, status, body)))
                        },
                    );
                }
            }
            AttachMsg::Progress(key, f) => {
                if let Some(u) = self.attach.uploads.iter_mut().find(|u| u.0 == key) {
                    u.2 = (f * 100.0) as u32;
                }
            }
            AttachMsg::Done(key, status, body) => {
                self.attach.uploads.retain(|u| u.0 != key);
                match (status, crate::from_json::<protocol::Attachment>(&body)) {
                    (201, Some(file)) => {
                        let id = web_client::new_id();
                        self.apply(ctx, Action::SendFile { id, file });
                        self.fetch_previews(ctx);
                    }
                    (413, _) => self.attach.error = Some(s.file_too_large),
                    (415, _) => self.attach.error = Some(s.file_type),
                    (429, _) => self.attach.error = Some(s.rate_limited),
                    _ => self.attach.error = Some(s.file_failed),
                }
            }
            AttachMsg::Blob(id, url) => {
                if let Some(b) = self.attach.blobs.iter_mut().find(|b| b.0 == id) {
                    b.1 = url;
                }
            }
            AttachMsg::Download(id, name) => {
                self.fetch(
                    ctx,
                    &id,
                    Box::new(move |url| {
                        if let Some(url) = url {
                            save(&url, &name);
                        }
                        None
                    }),
                );
                return false;
            }
        }
        true
    }

    /// Fetches the file with the visitor's token in a header; `then` turns its `blob:` URL
    /// into a message for the app, or does something else with it.
    fn fetch(
        &self,
        ctx: &Context<Self>,
        id: &str,
        // Boxed: one copy of the fetch for previews and downloads alike (wasm size).
        then: Box<dyn FnOnce(Option<String>) -> Option<Msg>>,
    ) {
        let token = self.state.token.clone().unwrap_or_default();
        let link = ctx.link().clone();
        files::fetch_object_url(
            &format!("/api/attachments/{id}"),
            &[(protocol::VISITOR_TOKEN_HEADER, &token)],
            move |url| {
                if let Some(msg) = then(url) {
                    link.send_message(msg);
                }
            },
        );
    }

    /// Starts fetching the conversation's images not fetched yet.
    pub(super) fn fetch_previews(&mut self, ctx: &Context<Self>) {
        let wanted: Vec<String> = self
            .state
            .lines
            .iter()
            .flat_map(|l| &l.attachments)
            .filter(|f| f.is_image() && !self.attach.blobs.iter().any(|b| b.0 == f.id))
            .map(|f| f.id.clone())
            .collect();
        for id in wanted {
            self.attach.blobs.push((id.clone(), None));
            let key = id.clone();
            self.fetch(
                ctx,
                &id,
                Box::new(move |url| Some(Msg::Attach(AttachMsg::Blob(key, url)))),
            );
        }
    }

    /// A message's files: images as previews, others as a download chip with name and size.
    pub(super) fn view_files(&self, ctx: &Context<Self>, line: &Line) -> Html {
        html! { <>{ for line.attachments.iter().map(|f| {
            match self.attach.blobs.iter().find(|b| b.0 == f.id).map(|b| &b.1) {
                Some(Some(url)) if f.is_image() => html! {
                    <img class="fd-thumb" src={url.clone()} alt={f.name.clone()} />
                },
                _ if f.is_image() => html! { <span class="fd-thumb">{ f.name.clone() }</span> },
                _ => {
                    let (id, name) = (f.id.clone(), f.name.clone());
                    let onclick = ctx.link().callback(move |_| {
                        Msg::Attach(AttachMsg::Download(id.clone(), name.clone()))
                    });
                    html! {
                        <button type="button" class="fd-file" {onclick}>
                            { format!("{} · {}", f.name, files::human_size(f.size)) }
                        </button>
                    }
                }
            }
        }) }</> }
    }

    /// The file button, uploads under way, and why the last file was refused.
    pub(super) fn view_attach(&self, ctx: &Context<Self>) -> Html {
        let pick = ctx.link().callback(|e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let list = files::list(input.files());
            input.set_value("");
            Msg::Attach(AttachMsg::Add(list))
        });
        html! {
            <>
                <label class="fd-attach" title={self.strings.attach}>
                    { "📎" }
                    <input type="file" multiple=true aria-label={self.strings.attach} onchange={pick} />
                </label>
                { for self.attach.uploads.iter().map(|u| html! {
                    <progress class="fd-upload" max="100" value={u.2.to_string()} title={u.1.clone()} />
                }) }
                if let Some(e) = self.attach.error { <p class="fd-notice fd-file-error" role="alert">{ e }</p> }
            </>
        }
    }
}

/// Files dropped on the composer.
pub(super) fn on_drop(ctx: &Context<App>) -> Callback<DragEvent> {
    ctx.link().batch_callback(|e: DragEvent| {
        let list = files::transferred(e.data_transfer());
        e.prevent_default();
        (!list.is_empty()).then(|| Msg::Attach(AttachMsg::Add(list)))
    })
}

/// Files pasted into the composer (a screenshot); text pastes as usual.
pub(super) fn on_paste(ctx: &Context<App>) -> Callback<Event> {
    ctx.link().batch_callback(|e: Event| {
        let list = files::pasted(&e);
        (!list.is_empty()).then(|| Msg::Attach(AttachMsg::Add(list)))
    })
}

/// Saves a `blob:` URL under `name` (a download), then frees it.
fn save(url: &str, name: &str) {
    let Some(a) = window()
        .document()
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    let _ = a.set_attribute("href", url);
    let _ = a.set_attribute("download", name);
    a.click();
    let url = url.to_owned();
    web_client::after(10_000, move || files::revoke(&url));
}
