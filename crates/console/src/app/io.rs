//! What the app does beyond drawing: the socket (connect, typing), fetches (profile, contacts,
//! accounts), applying state actions and their effects, focus, the tab title, and the lookups
//! the views share (an agent's skills, canned-response expansion, the contact's name).

use super::*;

impl App {
    /// Tells the customer of the selected conversation (or, for "stopped", of the one the agent
    /// typed in) whether this agent types.
    pub(super) fn send_typing(&mut self, on: bool) {
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

    pub(super) fn connect(&mut self, ctx: &Context<Self>) {
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
    pub(super) fn load_profile(&mut self, ctx: &Context<Self>) {
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
    pub(super) fn contact_request(
        &self,
        ctx: &Context<Self>,
        path: String,
        body: serde_json::Value,
    ) {
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

    pub(super) fn apply(&mut self, ctx: &Context<Self>, action: Action) {
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

    pub(super) fn apply_effects(&mut self, ctx: &Context<Self>, action: Action) {
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

    pub(super) fn load_accounts(&self, ctx: &Context<Self>) {
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

    /// An agent's saved skills as the fields show them.
    pub(super) fn skills_current(&self, id: i64) -> (String, String) {
        self.accounts
            .iter()
            .flatten()
            .find(|a| a.id == id)
            .map(|a| (a.languages.join(", "), a.teams.join(", ")))
            .unwrap_or_default()
    }

    /// `/shortcut` typed as the whole draft, filled in for the selected customer and this agent.
    pub(super) fn expand_canned(&self, draft: &str) -> Option<String> {
        let me = self.state.agent.as_ref().map_or("", |a| a.name.as_str());
        crate::state::expand_canned(
            draft,
            &self.state.canned,
            self.selected_contact_name().as_deref(),
            me,
        )
    }

    pub(super) fn selected_contact_name(&self) -> Option<String> {
        let id = self.state.selected?;
        self.state
            .conversations
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.contact_name.clone())
    }

    /// Focuses the composer now, or after the next render if it is not on screen yet (a
    /// shortcut pressed right after `j` must not be lost).
    pub(super) fn focus_reply(&mut self) {
        match self.reply_box.cast::<HtmlTextAreaElement>() {
            Some(area) => {
                let _ = area.focus();
            }
            None => self.focus_pending = true,
        }
    }

    pub(super) fn update_title(&self) {
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
}
