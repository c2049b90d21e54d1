//! A conversation's escalation to the issue tracker, in its context panel: the key (a
//! link), its status, or an "Escalate" button opening a small form (a summary for a new issue,
//! or the key of an existing one). Its own fetches; nothing shows when the server has no
//! `[escalation]`. Every change of an escalation comes with a private note, so the panel reads
//! it again whenever the conversation's notes change.

use super::{api, error_message};
use crate::state::{Action, ConsoleState};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub conversation: i64,
    /// What the summary starts as.
    pub preview: String,
    /// How many notes the conversation has (a change reloads the escalation).
    pub notes: usize,
}

/// The request's body: a link when a key was typed, else a new issue with the summary.
fn request(summary: &str, key: &str) -> String {
    serde_json::to_string(&protocol::EscalateRequest::from_form(summary, key)).unwrap_or_default()
}

/// The console opened from an issue's link back (`/console#conversation=ID`) starts with that
/// conversation selected (opened once the connection is up).
pub(super) fn opened_from_link() -> ConsoleState {
    let mut state = ConsoleState::default();
    let hash = web_sys::window().and_then(|w| w.location().hash().ok());
    if let Some(id) = hash
        .as_deref()
        .and_then(|h| h.strip_prefix("#conversation="))
        .and_then(|id| id.parse().ok())
    {
        state.apply(Action::Select(id));
    }
    state
}

fn value(e: &InputEvent) -> String {
    e.target_unchecked_into::<web_sys::HtmlInputElement>()
        .value()
}

#[function_component(EscalationPanel)]
pub fn escalation_panel(p: &Props) -> Html {
    // `None`: not known (yet), or escalation is not configured.
    let loaded = use_state(|| None::<Option<protocol::Escalation>>);
    let open = use_state(|| false);
    let summary = use_state(|| {
        p.preview
            .chars()
            .take(protocol::MAX_ESCALATION_SUMMARY_CHARS)
            .collect::<String>()
    });
    let key = use_state(String::new);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    {
        let loaded = loaded.clone();
        use_effect_with((p.conversation, p.notes), move |(id, _)| {
            let id = *id;
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok((200, body)) =
                    api("GET", &format!("/api/conversations/{id}/escalation"), None).await
                    && let Ok(e) = serde_json::from_str(&body)
                {
                    loaded.set(Some(e));
                }
            });
        });
    }
    match &*loaded {
        None => html! {},
        Some(Some(e)) => html! {
            <p class="escalation" aria-label="Escalation">
                { "Escalated to " }
                <a href={e.url.clone()} target="_blank" rel="noopener noreferrer">{ e.key.clone() }</a>
                { " · " }
                <span class={classes!("escalation-status", e.done.then_some("done"))}>{ e.status.clone() }</span>
            </p>
        },
        Some(None) if !*open => {
            let onclick = {
                let open = open.clone();
                Callback::from(move |_| open.set(true))
            };
            html! { <button class="escalate" {onclick}>{ "Escalate" }</button> }
        }
        Some(None) => {
            let id = p.conversation;
            let onsubmit = {
                let (loaded, open, error, busy) =
                    (loaded.clone(), open.clone(), error.clone(), busy.clone());
                let body = request(&summary, &key);
                Callback::from(move |e: SubmitEvent| {
                    e.prevent_default();
                    if *busy {
                        return;
                    }
                    busy.set(true);
                    let (loaded, open, error, busy, body) = (
                        loaded.clone(),
                        open.clone(),
                        error.clone(),
                        busy.clone(),
                        body.clone(),
                    );
                    wasm_bindgen_futures::spawn_local(async move {
                        let path = format!("/api/conversations/{id}/escalate");
                        match api("POST", &path, Some(body)).await {
                            Ok((200, text)) => match serde_json::from_str(&text) {
                                Ok(e) => {
                                    loaded.set(Some(Some(e)));
                                    open.set(false);
                                    error.set(None);
                                }
                                Err(_) => error.set(Some("unexpected answer".into())),
                            },
                            Ok((_, text)) => error.set(Some(error_message(&text))),
                            Err(e) => error.set(Some(e)),
                        }
                        busy.set(false);
                    });
                })
            };
            let on_summary = {
                let summary = summary.clone();
                Callback::from(move |e: InputEvent| summary.set(value(&e)))
            };
            let on_key = {
                let key = key.clone();
                Callback::from(move |e: InputEvent| key.set(value(&e)))
            };
            let cancel = {
                let open = open.clone();
                Callback::from(move |_| open.set(false))
            };
            html! {
                <form class="escalate-form" {onsubmit} aria-label="Escalate">
                    <label>{ "Summary " }
                        <input name="summary" value={(*summary).clone()} oninput={on_summary}
                            maxlength={protocol::MAX_ESCALATION_SUMMARY_CHARS.to_string()} />
                    </label>
                    <label>{ "or existing issue " }
                        <input name="issue" placeholder="SUP-123" value={(*key).clone()} oninput={on_key} size="10" />
                    </label>
                    <button type="submit" disabled={*busy}>
                        { if key.trim().is_empty() { "Create issue" } else { "Link issue" } }
                    </button>
                    <button type="button" onclick={cancel}>{ "Cancel" }</button>
                    if let Some(e) = &*error { <p class="error" role="alert">{ e.clone() }</p> }
                </form>
            }
        }
    }
}
