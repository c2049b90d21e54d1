//! The console's lists: sign-in, the inbox with its views and label filter, and the admin
//! page (agents, their skills and roles).

use super::*;

impl App {
    pub(super) fn view_admin(&self, ctx: &Context<Self>) -> Html {
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

    pub(super) fn view_login(&self, ctx: &Context<Self>) -> Html {
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

    pub(super) fn view_line(&self, line: &Line) -> Html {
        let (who, class) = match &line.author {
            Author::Visitor => ("Customer".to_owned(), "visitor"),
            Author::Agent { name, .. } => (name.clone(), "agent"),
        };
        html! {
            <li class={classes!("msg", class)} data-author={class} data-state={if line.pending() { "pending" } else { "sent" }} key={format!("{class}-{}", line.id)}>
                <span class="who">{ who }</span>
                if !line.body.is_empty() { <p class="body">{ line.body.clone() }</p> }
                { super::files::view_files(&line.attachments) }
                <span class="meta">{ line.at.map(web_client::time_of).unwrap_or_else(|| "sending…".into()) }</span>
            </li>
        }
    }

    pub(super) fn view_inbox(&self, ctx: &Context<Self>, agent: &AgentInfo) -> Html {
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
                        <button class="link webhooks-toggle" aria-pressed={self.webhooks.to_string()}
                            onclick={ctx.link().callback(|_| Msg::ToggleWebhooks)}>{ "Webhooks" }</button>
                    }
                    <button class="link" onclick={on_logout}>{ "Sign out" }</button>
                    <button class="link" onclick={on_logout_all} title="End every session of this account">{ "Sign out everywhere" }</button>
                </header>
                { self.view_admin(ctx) }
                if self.webhooks {
                    <crate::webhooks::WebhooksPanel />
                }
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
    pub(super) fn view_label_filter(&self, ctx: &Context<Self>) -> Html {
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
}
