//! Email continuity: when a customer leaves before the agent answers, the agent's replies
//! reach them by email, and their answer by email comes back into the same conversation.
//!
//! Outgoing: a job on the node holding the `email` lease looks every `[email] every` for
//! conversations whose agent replies stayed unread `[email] away` (`Store::email_due`), and
//! sends one email per conversation with the replies and the messages before them, in the
//! customer's language ([`mail::compose`]), from `[email] from` with the conversation's signed
//! reply address as Reply-To; the mark (`Store::set_emailed`) is set after the SMTP server took
//! it (at least once: a crash between the two sends it again).
//!
//! Incoming: `POST /api/email/inbound` takes a raw email (a mail server's pipe, a mail
//! provider's inbound webhook), authenticated by `Authorization: Bearer <[email]
//! inbound_secret>`, finds the conversation by the signed address or Message-ID it answers,
//! checks the sender is the conversation's customer, and adds the trimmed text as the
//! customer's message (reopening a resolved conversation), live on the consoles and widgets.

use crate::error::AppError;
use crate::hub::HubEvent;
use crate::{AppState, convert, now_millis};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;
use store::{NewMessage, Status};

/// `[email]` settings.
#[derive(Clone)]
pub struct Email {
    /// Where mail goes out: `smtp://host:25` (plain, a local relay), `smtp://host:587?tls=required`
    /// (STARTTLS), `smtps://user:password@host:465` (TLS), as lettre reads them.
    pub smtp_url: String,
    /// `Name <address>` the emails come from.
    pub from: String,
    /// The domain of the signed reply addresses (its mail goes to the inbound endpoint).
    pub reply_domain: String,
    /// What the inbound endpoint's caller sends as `Authorization: Bearer …`.
    pub inbound_secret: String,
    /// A reply left unread this long is emailed (the customer left).
    pub away: Duration,
    /// How often the job looks.
    pub every: Duration,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold the SMTP password, and the secret is one.
        f.debug_struct("Email")
            .field("from", &self.from)
            .field("reply_domain", &self.reply_domain)
            .field("away", &self.away)
            .finish_non_exhaustive()
    }
}

impl Email {
    /// Checks what the settings name parses: the sender, the reply domain, the SMTP URL.
    pub fn validate(&self) -> Result<(), String> {
        self.from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("from {:?} is not an address: {e}", self.from))?;
        let domain = &self.reply_domain;
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if domain.len() > 200 || !domain.contains('.') || !domain.split('.').all(label_ok) {
            return Err(format!("reply_domain {domain:?} is not a domain name"));
        }
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.smtp_url)
            .map_err(|e| format!("smtp_url is not an smtp:// or smtps:// URL lettre reads: {e}"))?;
        Ok(())
    }
}

/// The largest raw email the inbound endpoint reads.
pub const MAX_INBOUND_BYTES: usize = 2 * 1024 * 1024;
/// Conversations changed longer ago than this are not emailed any more.
const OLDEST: i64 = 7 * 86_400_000;
/// Messages before the unread ones the email repeats.
const HISTORY: u64 = 6;
/// Conversations emailed per round at most.
const BATCH: u32 = 50;

/// The key of the reply addresses: the cluster key (every node the same) and the domain.
async fn reply_key(state: &AppState, email: &Email) -> Option<mail::ReplyKey> {
    let secret = state.cluster_secret().await?;
    Some(mail::ReplyKey::new(secret.as_bytes(), &email.reply_domain))
}

/// Starts the outgoing job (when `[email]` is set).
pub fn start(state: AppState) {
    let Some(email) = state.settings.email.clone() else {
        return;
    };
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&email.smtp_url) {
        Ok(t) => t.timeout(Some(Duration::from_secs(30))).build(),
        Err(e) => {
            tracing::error!(error = %e, "[email] smtp_url is not usable: no email goes out");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(email.every).await;
            let ttl = (email.every * 3).as_millis() as i64;
            if matches!(
                state.store.try_lease("email", &state.node, ttl).await,
                Ok(true)
            ) && let Err(e) = send_due(&state, &email, &transport).await
            {
                tracing::error!(error = %e, "emailing unread replies failed");
            }
        }
    });
}

/// One round: every conversation owed an email gets one.
pub async fn send_due(
    state: &AppState,
    email: &Email,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
) -> anyhow::Result<usize> {
    let now = now_millis();
    let due = state
        .store
        .email_due(now - email.away.as_millis() as i64, now - OLDEST, BATCH)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let key = reply_key(state, email)
        .await
        .ok_or_else(|| anyhow::anyhow!("the cluster key cannot be read"))?;
    let mut sent = 0;
    for d in due {
        let Some(c) = state.store.conversation(d.conversation_id).await? else {
            continue;
        };
        let Some(address) = c.contact_email.clone() else {
            continue;
        };
        let seen = d.visitor_read.max(d.emailed_seq);
        let messages = state
            .store
            .messages_after(c.id, seen.saturating_sub(HISTORY), 200)
            .await?;
        let line = |m: &store::StoredMessage| mail::Line {
            agent: match &m.author {
                store::MessageAuthor::Visitor => None,
                store::MessageAuthor::Agent { name, .. } => Some(name.clone()),
            },
            // Files are named (the customer opens them in the chat), never attached.
            body: crate::attachments::named_files(&m.body, &m.attachments),
        };
        // New: from the first agent reply the customer has not seen (their own messages
        // they have); before it, a few messages of history.
        let Some(split) = messages
            .iter()
            .position(|m| m.seq > seen && matches!(m.author, store::MessageAuthor::Agent { .. }))
        else {
            continue;
        };
        let earlier: Vec<mail::Line> = messages[split.saturating_sub(HISTORY as usize)..split]
            .iter()
            .map(line)
            .collect();
        let new: Vec<mail::Line> = messages[split..].iter().map(line).collect();
        let site_name = state
            .site(&c.site)
            .map_or_else(|| c.site.clone(), |s| s.config.name.clone());
        let to = match &c.contact_name {
            Some(name) => format!("{} <{address}>", name.replace(['<', '>', '"', ','], " ")),
            None => address.clone(),
        };
        let outgoing = match mail::compose(
            &key,
            &mail::Thread {
                conversation: c.id,
                up_to_seq: d.last_seq,
                emailed_seq: d.emailed_seq,
                site_name: &site_name,
                locale: c.locale.as_deref(),
                from: &email.from,
                to: &to,
                new: &new,
                earlier: &earlier,
            },
        ) {
            Ok(o) => o,
            Err(e) => {
                // A customer's address the builder refuses: marked, so it is not retried forever.
                tracing::warn!(conversation = c.id, error = %e, "cannot email this customer");
                state.store.set_emailed(c.id, d.last_seq).await?;
                continue;
            }
        };
        match transport.send(outgoing.message).await {
            Ok(_) => {
                state.store.set_emailed(c.id, d.last_seq).await?;
                sent += 1;
                tracing::info!(
                    conversation = c.id,
                    up_to = d.last_seq,
                    "unread replies emailed"
                );
            }
            // Retried next round (the mark did not move).
            Err(e) => tracing::warn!(conversation = c.id, error = %e, "sending the email failed"),
        }
    }
    Ok(sent)
}

/// The inbound endpoint's answer.
#[derive(serde::Serialize)]
pub struct Received {
    pub conversation: i64,
    pub seq: u64,
    /// The same email was already added (a mail provider retried).
    pub duplicate: bool,
}

/// `POST /api/email/inbound`: a customer's email answer.
pub async fn inbound(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>, AppError> {
    let Some(email) = state.settings.email.clone() else {
        return Err(AppError::NotFound(
            "email is not configured on this server".into(),
        ));
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthenticated)?;
    if email.inbound_secret.is_empty()
        || !crate::auth::same_secret(given.trim().as_bytes(), email.inbound_secret.as_bytes())
    {
        return Err(AppError::Forbidden("wrong inbound secret".into()));
    }
    let key = reply_key(&state, &email)
        .await
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the cluster key cannot be read")))?;
    let answer = mail::parse(&body, &key).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let c = state
        .store
        .conversation(answer.conversation)
        .await?
        .ok_or_else(|| AppError::NotFound("that conversation no longer exists".into()))?;
    if c.contact_email.as_deref().map(str::to_lowercase) != Some(answer.from.clone()) {
        return Err(AppError::Forbidden(
            "the sender is not this conversation's customer".into(),
        ));
    }
    // As long as a chat message may be.
    let text: String = answer.text.chars().take(protocol::MAX_BODY_CHARS).collect();
    let client_id = {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(answer.message_id.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("email-{hex}")
    };
    let now = now_millis();
    if c.status == Status::Resolved {
        // The answer reopens the conversation, unless the customer already chats in another.
        match state.store.set_status(c.id, Status::Open, now).await {
            Ok(open) => {
                state.hub.publish(HubEvent::Status {
                    conversation: c.id,
                    visitor: c.visitor_id,
                    status: protocol::ConversationStatus::Open,
                });
                state
                    .hub
                    .publish(HubEvent::Conversation(Box::new(convert::summary(open))));
            }
            Err(store::StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let appended = state
        .store
        .append_message(NewMessage {
            conversation_id: c.id,
            client_id: &client_id,
            agent_id: None,
            body: &text,
            at: now,
            attachments: &[],
        })
        .await?;
    if !appended.duplicate {
        state.index_text(c.id, server_search::messages::Kind::Message, &text);
        let message = Arc::new(convert::message(appended.message.clone()));
        state.hub.publish(HubEvent::Message {
            conversation: c.id,
            visitor: c.visitor_id,
            message,
        });
        if let Some(priority) = appended.next_response_priority {
            let priority = protocol::Priority::parse(&priority).unwrap_or_default();
            crate::assign::customer_wrote(&state, c.id, &c.site, priority, now).await;
        }
        state.summaries.touch(c.id);
        crate::rules::fire(&state, "message.created", c.id, Some(&text));
        tracing::info!(
            conversation = c.id,
            seq = appended.message.seq,
            "email answer added"
        );
    }
    Ok(Json(Received {
        conversation: c.id,
        seq: appended.message.seq,
        duplicate: appended.duplicate,
    }))
}
