//! Rules at work: when an event about a conversation happens, the rules of `[[rules]]` whose
//! conditions hold run their actions, through the functions agents' own actions use (so
//! consoles and widgets see the changes live), in order; an action that fails is logged and the
//! next runs.
//!
//! Events fired: `conversation.created` and `message.created` (a customer's message, in the
//! widget or by email), `csat.submitted`, `sla.breached`. A rule's own actions fire no events
//! (no rule loops).

use crate::{AppState, actions, now_millis};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rules::{Action, Facts, Rule};

/// Runs the rules of `event` about `conversation` in the background; `text` is the customer's
/// message of `message.created` (copied only when a rule runs on the event).
pub fn fire(state: &AppState, event: &'static str, conversation: i64, text: Option<&str>) {
    if !state.settings.rules.iter().any(|r| r.on == event) {
        return;
    }
    let state = state.clone();
    let text = text.map(str::to_owned);
    tokio::spawn(async move {
        if let Err(e) = run(&state, event, conversation, text.as_deref()).await {
            tracing::error!(error = %e, event, conversation, "running the rules failed");
        }
    });
}

async fn run(state: &AppState, event: &str, id: i64, text: Option<&str>) -> anyhow::Result<()> {
    let Some(c) = state.store.conversation(id).await? else {
        return Ok(());
    };
    let contact = match c.contact_id {
        Some(contact) => state.store.contact(contact).await?,
        None => None,
    };
    let facts = Facts {
        event,
        site: &c.site,
        locale: c.locale.as_deref(),
        labels: &c.labels,
        priority: &c.priority,
        contact: contact.as_ref().map(|k| &k.attributes),
        rating: c.rating,
        breached: c.sla_breached_at.is_some(),
        text: text.or(c.preview.as_deref()).unwrap_or(""),
    };
    let who = contact
        .as_ref()
        .and_then(|k| k.name.clone().or(k.email.clone()))
        .or(c.contact_name.clone())
        .or(c.contact_email.clone())
        .unwrap_or_else(|| format!("visitor #{}", c.visitor_id));
    let link = format!(
        "{}/console",
        state
            .settings
            .public_url
            .as_deref()
            .unwrap_or("")
            .trim_end_matches('/')
    );
    let values = [
        ("conversation", format!("#{}", c.id)),
        ("contact", who),
        (
            "email",
            c.contact_email.clone().unwrap_or_else(|| "–".into()),
        ),
        (
            "rating",
            c.rating.map_or_else(|| "–".into(), |r| r.to_string()),
        ),
        (
            "comment",
            c.rating_comment.clone().unwrap_or_else(|| "–".into()),
        ),
        ("site", c.site.clone()),
        ("link", link),
    ];
    let manager = contact.as_ref().and_then(|k| k.account_manager.clone());
    for (n, rule) in state.settings.rules.iter().enumerate() {
        if !rule.matches(&facts) {
            continue;
        }
        tracing::info!(rule = %rule.name, event, conversation = id, "rule matched");
        for (i, action) in rule.then.iter().enumerate() {
            // The same event runs a rule's note once (a retried event adds no second note).
            let key = format!("rule-{n}-{i}-{event}-{}", c.last_seq);
            if let Err(e) = act(state, rule, action, &c, manager.as_ref(), &values, &key).await {
                tracing::warn!(rule = %rule.name, error = %e, conversation = id, "a rule's action failed");
            }
        }
    }
    Ok(())
}

async fn act(
    state: &AppState,
    rule: &Rule,
    action: &Action,
    c: &store::Conversation,
    manager: Option<&(i64, String)>,
    values: &[(&str, String)],
    key: &str,
) -> anyhow::Result<()> {
    let render = |t: &str| rules::render(t, values);
    match action {
        Action::AssignAgent(email) => {
            let agent = state
                .store
                .list_agents()
                .await?
                .into_iter()
                .find(|a| a.email.eq_ignore_ascii_case(email) && !a.disabled)
                .ok_or_else(|| anyhow::anyhow!("no enabled agent {email}"))?;
            actions::assign(state, c.id, Some(agent.id)).await?;
        }
        Action::AssignTeam(team) => {
            actions::set_team(state, c.id, Some(team)).await?;
        }
        Action::SetPriority(p) => {
            let p = protocol::Priority::parse(p)
                .ok_or_else(|| anyhow::anyhow!("{p} is not a priority"))?;
            actions::set_priority(state, c.id, p).await?;
        }
        Action::AddLabel(label) => {
            let current = state.store.conversation(c.id).await?.map(|c| c.labels);
            let mut labels = current.unwrap_or_default();
            labels.push(label.clone());
            actions::set_labels(state, c.id, &labels).await?;
        }
        Action::Note(template) => {
            // Written in the name of the account manager, else the assignee, else the first
            // admin: the note is theirs to act on.
            let author = match manager.map(|m| m.0).or(c.assignee.as_ref().map(|a| a.0)) {
                Some(a) => a,
                None => state
                    .store
                    .list_agents()
                    .await?
                    .into_iter()
                    .find(|a| a.admin && !a.disabled)
                    .map(|a| a.id)
                    .ok_or_else(|| anyhow::anyhow!("no agent to write the note as"))?,
            };
            let body = format!("{} — rule “{}”", render(template), rule.name);
            actions::note(state, author, c.id, key, &body).await?;
        }
        Action::Email(e) => {
            let email = state
                .settings
                .email
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("an email action needs [email]"))?;
            let to = match e.to.as_str() {
                "account_manager" => agent_email(state, manager.map(|m| m.0)).await?,
                "assignee" => agent_email(state, c.assignee.as_ref().map(|a| a.0)).await?,
                address => address.to_owned(),
            };
            let message = lettre::Message::builder()
                .from(email.from.parse()?)
                .to(to.parse()?)
                .subject(render(&e.subject))
                .header(lettre::message::header::ContentType::TEXT_PLAIN)
                .body(render(&e.body))?;
            AsyncSmtpTransport::<Tokio1Executor>::from_url(&email.smtp_url)?
                .build()
                .send(message)
                .await?;
        }
        Action::Webhook(name) => {
            let kind = protocol::webhooks::EventType::parse(name)
                .ok_or_else(|| anyhow::anyhow!("{name} is not a webhook event"))?;
            let csat = kind == protocol::webhooks::EventType::CsatLow;
            state
                .store
                .emit_webhook(c.id, kind, csat, now_millis())
                .await?;
        }
    }
    Ok(())
}

async fn agent_email(state: &AppState, agent: Option<i64>) -> anyhow::Result<String> {
    let id = agent.ok_or_else(|| anyhow::anyhow!("nobody to email: no such agent"))?;
    let agent = state
        .store
        .agent(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("agent {id} does not exist"))?;
    Ok(agent.email)
}
