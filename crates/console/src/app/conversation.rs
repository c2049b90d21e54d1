//! The selected conversation: its thread and composer, labels, SLA badge, the customer's
//! profile and the handoff context.

use super::*;

impl App {
    /// The earliest pending deadline: a countdown, or how long ago it passed.
    pub(super) fn sla_badge(&self, c: &protocol::ConversationSummary) -> Html {
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
    pub(super) fn chips(c: &protocol::ConversationSummary) -> Html {
        html! {
            <>
                if let Some(t) = &c.team { <span class="chip team" title="Team">{ t.clone() }</span> }
                { for c.labels.iter().map(|l| html! { <span class="chip label">{ l.clone() }</span> }) }
            </>
        }
    }

    /// The selected conversation's labels: chips with a remove button, and a field to add one.
    pub(super) fn view_labels(
        &self,
        ctx: &Context<Self>,
        c: &protocol::ConversationSummary,
    ) -> Html {
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
    pub(super) fn view_profile(
        &self,
        ctx: &Context<Self>,
        c: &protocol::ConversationSummary,
    ) -> Html {
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

    pub(super) fn view_context(
        &self,
        ctx: &Context<Self>,
        c: &protocol::ConversationSummary,
    ) -> Html {
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
                <escalation::EscalationPanel key={format!("escalation-{id}")} conversation={id}
                    preview={c.preview.clone().unwrap_or_default()}
                    notes={self.state.notes.get(&id).map_or(0, Vec::len)} />
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

    pub(super) fn view_thread(&self, ctx: &Context<Self>) -> Html {
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
                <form class={classes!("reply", self.note_mode.then_some("note-mode"))} onsubmit={on_submit}
                    ondrop={super::files::on_drop(ctx)} ondragover={super::files::on_drag_over()}>
                    <div class="modes" role="group" aria-label="Composer mode">
                        <button type="button" class="mode-reply" aria-pressed={(!self.note_mode).to_string()} onclick={reply_mode}>{ "Reply" }</button>
                        <button type="button" class="mode-note" aria-pressed={self.note_mode.to_string()} onclick={note_mode}>{ "Private note" }</button>
                    </div>
                    <textarea name="reply" rows="3" maxlength="4000" ref={self.reply_box.clone()}
                        aria-label={if self.note_mode { "Private note" } else { "Reply" }}
                        placeholder={if self.note_mode { "Private note: only agents see this" } else { "Reply… (Enter sends, /shortcut for canned responses)" }}
                        value={self.draft.clone()} oninput={on_input} onkeydown={on_key}
                        onpaste={super::files::on_paste(ctx)} />
                    <button type="submit">{ if self.note_mode { "Add note" } else { "Send reply" } }</button>
                    { self.view_staged(ctx) }
                </form>
            </>
        }
    }
}
