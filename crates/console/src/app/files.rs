//! Attachments in the console: files picked, dropped on the composer or pasted into it are
//! uploaded at once (with progress) into the selected conversation, shown as chips, and sent
//! with the next reply; a message's files show as image previews or download chips.

use super::*;
use web_client::files;

/// A file on its way up, or up and waiting for the reply.
pub(super) struct Staged {
    key: u32,
    name: String,
    size: u64,
    progress: f64,
    done: Option<protocol::Attachment>,
}

pub enum FilesMsg {
    Add(Vec<web_sys::File>),
    Progress(u32, f64),
    Done(u32, u16, String),
    Remove(u32),
}

impl App {
    pub(super) fn on_files(&mut self, ctx: &Context<Self>, msg: FilesMsg) -> bool {
        match msg {
            FilesMsg::Add(list) => {
                let Some(conversation) = self.state.selected else {
                    return false;
                };
                self.upload_error = None;
                let max = self.state.max_attachment_bytes;
                for file in list {
                    // Refused here rather than after sending it all (the server would too).
                    if max > 0 && file.size() > max as f64 {
                        self.upload_error = Some(format!(
                            "{}: the file is larger than the limit of {}",
                            file.name(),
                            files::human_size(max)
                        ));
                        continue;
                    }
                    self.upload_key += 1;
                    let key = self.upload_key;
                    self.staged.push(Staged {
                        key,
                        name: file.name(),
                        size: file.size() as u64,
                        progress: 0.0,
                        done: None,
                    });
                    let name = String::from(js_sys::encode_uri_component(&file.name()));
                    let (progress, done) = (ctx.link().clone(), ctx.link().clone());
                    files::upload(
                        &format!("/api/conversations/{conversation}/attachments"),
                        &[("X-Filename", &name)],
                        &file,
                        move |f| progress.send_message(Msg::Files(FilesMsg::Progress(key, f))),
                        move |status, body| {
                            done.send_message(Msg::Files(FilesMsg::Done(key, status, body)))
                        },
                    );
                }
            }
            FilesMsg::Progress(key, fraction) => {
                if let Some(s) = self.staged.iter_mut().find(|s| s.key == key) {
                    s.progress = fraction;
                }
            }
            FilesMsg::Done(key, status, body) => {
                let Some(at) = self.staged.iter().position(|s| s.key == key) else {
                    return false;
                };
                match (status, serde_json::from_str::<protocol::Attachment>(&body)) {
                    (201, Ok(file)) => self.staged[at].done = Some(file),
                    _ => {
                        let staged = self.staged.remove(at);
                        let why = match status {
                            0 => "the upload failed: the connection broke, or the file is over \
                                  the server's size limit"
                                .to_owned(),
                            _ => error_message(&body),
                        };
                        self.upload_error = Some(format!("{}: {why}", staged.name));
                    }
                }
            }
            FilesMsg::Remove(key) => self.staged.retain(|s| s.key != key),
        }
        true
    }

    /// The uploaded files for the reply being sent (those still uploading stay staged).
    pub(super) fn take_staged(&mut self) -> Vec<protocol::Attachment> {
        let (ready, waiting): (Vec<Staged>, Vec<Staged>) =
            self.staged.drain(..).partition(|s| s.done.is_some());
        self.staged = waiting;
        ready.into_iter().filter_map(|s| s.done).collect()
    }

    pub(super) fn uploading(&self) -> bool {
        self.staged.iter().any(|s| s.done.is_none())
    }

    /// The file button, the chips of staged files and the last upload's refusal.
    pub(super) fn view_staged(&self, ctx: &Context<Self>) -> Html {
        let pick = ctx.link().callback(|e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let list = files::list(input.files());
            input.set_value("");
            Msg::Files(FilesMsg::Add(list))
        });
        html! {
            <div class="attachments-bar">
                <label class="attach-button" title="Attach files (or drop them, or paste an image)">
                    { "Attach files" }
                    <input type="file" multiple=true class="visually-hidden" aria-label="Attach files" onchange={pick} />
                </label>
                { for self.staged.iter().map(|s| {
                    let key = s.key;
                    let remove = ctx.link().callback(move |_| Msg::Files(FilesMsg::Remove(key)));
                    let state = if s.done.is_some() {
                        files::human_size(s.size)
                    } else {
                        format!("{}%", (s.progress * 100.0).round())
                    };
                    html! {
                        <span class="staged" data-state={if s.done.is_some() { "ready" } else { "uploading" }}>
                            { format!("{} · {state}", s.name) }
                            if s.done.is_none() {
                                <progress max="1" value={s.progress.to_string()} />
                            }
                            <button type="button" class="link" aria-label={format!("Remove {}", s.name)} onclick={remove}>{ "✕" }</button>
                        </span>
                    }
                }) }
                if let Some(e) = &self.upload_error { <p class="error upload-error" role="alert">{ e.clone() }</p> }
            </div>
        }
    }
}

/// Files dropped on the composer.
pub(super) fn on_drop(ctx: &Context<App>) -> Callback<DragEvent> {
    ctx.link().batch_callback(|e: DragEvent| {
        let list = files::transferred(e.data_transfer());
        if list.is_empty() {
            return None;
        }
        e.prevent_default();
        Some(Msg::Files(FilesMsg::Add(list)))
    })
}

/// Lets the composer accept drops.
pub(super) fn on_drag_over() -> Callback<DragEvent> {
    Callback::from(|e: DragEvent| e.prevent_default())
}

/// Files pasted into the composer (a screenshot from the clipboard); text pastes as usual.
pub(super) fn on_paste(ctx: &Context<App>) -> Callback<Event> {
    ctx.link().batch_callback(|e: Event| {
        let list = files::pasted(&e);
        (!list.is_empty()).then(|| Msg::Files(FilesMsg::Add(list)))
    })
}

/// A message's files: images as previews (the full file on click), others as download chips.
pub(super) fn view_files(files_of: &[protocol::Attachment]) -> Html {
    if files_of.is_empty() {
        return Html::default();
    }
    html! {
        <div class="files">
            { for files_of.iter().map(|a| {
                let url = format!("/api/attachments/{}", a.id);
                if a.is_image() {
                    html! {
                        <a class="file-image" href={url.clone()} target="_blank" rel="noopener" title={a.name.clone()}>
                            <img src={url} alt={a.name.clone()} loading="lazy"
                                width={a.width.map(|w| w.to_string())} height={a.height.map(|h| h.to_string())} />
                        </a>
                    }
                } else {
                    html! {
                        <a class="file-chip" href={url} download={a.name.clone()}>
                            <span class="file-name">{ a.name.clone() }</span>
                            <span class="file-size">{ files::human_size(a.size) }</span>
                        </a>
                    }
                }
            }) }
        </div>
    }
}
