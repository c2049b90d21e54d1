//! A visitor's session: hello (identify or issue a token), replay after the last seen sequence,
//! then send/ack and live delivery, gap-free and without duplicates.

use super::session::{
    CLOSE_POLICY, CLOSE_RESTART, CLOSE_TOO_BIG, FrameLimit, HELLO_TIMEOUT, Inbound, Out, Outbound,
    Wake, next_wake,
};
use crate::auth::{new_token, token_hash};
use crate::hub::{HubEvent, Topic};
use crate::limits::{Key, Limit, RetryAfter};
use crate::{AppState, convert, now_millis};
use futures_util::{Sink, Stream, StreamExt};
use protocol::{
    Author, ConversationStatus, ErrorCode, Handoff, PROTOCOL_VERSION, Reader, Saved, ServerFrame,
    VisitorFrame, decode_visitor,
};
use std::sync::Arc;
use store::{ConversationContext, NewMessage, ReadBy, Status, Visitor};

const REPLAY_PAGE: u32 = 200;
/// How long a client waits before resending a message refused at capacity.
const OVERLOAD_RETRY_MS: u32 = 1_000;
/// Hub events a visitor connection may have waiting before it counts as lagging (it hears
/// only about its own conversation, and availability).
const VISITOR_QUEUE: usize = 64;

struct Session<O> {
    state: AppState,
    out: Out<O>,
    /// `id == 0` until the visitor needs a row (see `stored`): an anonymous hello writes
    /// nothing.
    visitor: Visitor,
    /// The hash of the visitor's token, which its row is created under.
    token_hash: String,
    context: ConversationContext,
    conversation: Option<i64>,
    /// Highest sequence number this client has (sent to it, or reported in `hello`).
    delivered: u64,
    /// Contact details given before the conversation exists.
    pending_contact: Option<(Option<String>, Option<String>)>,
    /// What to index for search once the conversation exists.
    pending_contact_text: Option<String>,
    /// What this connection hears about: its visitor (once stored), its conversation, all
    /// visitors. Followed before the store is read, so nothing committed in between is missed.
    events: crate::hub::Subscription,
    /// The client's address (limits on new conversations).
    ip: std::net::IpAddr,
    /// The key this browser's searches are counted under (`insights::visitor_key`), made from
    /// its token at hello; `None` if the secret could not be read then.
    search_key: Option<[u8; 16]>,
}

impl<O: Sink<Outbound> + Unpin> Session<O> {
    /// Sends `message` if it is the next one this client is owed, else catches up from the
    /// store (a gap means something was missed; an old one was already sent).
    async fn deliver(&mut self, message: &protocol::Message) {
        if Some(message.conversation) != self.conversation || message.seq <= self.delivered {
            return;
        }
        if message.seq == self.delivered + 1 {
            self.delivered = message.seq;
            self.out.send(ServerFrame::Message(message.clone())).await;
        } else {
            self.catch_up().await;
        }
    }

    /// Sends every stored message after `delivered`, in order.
    async fn catch_up(&mut self) {
        let Some(conversation) = self.conversation else {
            return;
        };
        loop {
            let page = match self
                .state
                .store
                .messages_after(conversation, self.delivered, REPLAY_PAGE)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "replay failed");
                    self.out
                        .error(
                            ErrorCode::Internal,
                            "could not load messages; reconnect to retry",
                        )
                        .await;
                    return;
                }
            };
            let full = page.len() as u32 == REPLAY_PAGE;
            for message in page {
                self.delivered = message.seq;
                self.out
                    .send(ServerFrame::Message(convert::message(message)))
                    .await;
            }
            if !full {
                return;
            }
        }
    }

    /// The visitor's site (looked up, not copied: every idle connection would keep a copy).
    fn site(&self) -> &crate::Site {
        self.state
            .site(&self.visitor.site)
            .expect("a session's site is configured (checked at hello)")
    }

    /// The visitor's row, written now if this is the first time it needs one. Its other tabs
    /// are told its id.
    async fn stored(&mut self) -> Result<i64, store::StoreError> {
        if self.visitor.id != 0 {
            return Ok(self.visitor.id);
        }
        let store = &self.state.store;
        let visitor = match store
            .create_visitor(&self.token_hash, &self.visitor.site, now_millis())
            .await
        {
            Ok(v) => v,
            // Another tab stored it a moment ago.
            Err(e) => match store.visitor(&self.token_hash).await {
                Ok(Some(v)) if v.site == self.visitor.site => v,
                _ => return Err(e),
            },
        };
        self.visitor.id = visitor.id;
        // Follow the visitor before anything is written for it (its conversation, then the
        // agents' replies), so no event about it can be missed.
        self.events
            .unfollow(Topic::Token(token_key(&self.token_hash)));
        self.events.follow(Topic::Visitor(visitor.id));
        self.state.hub.publish(HubEvent::VisitorStored {
            token: token_key(&self.token_hash),
            visitor: visitor.id,
        });
        Ok(visitor.id)
    }

    /// The open conversation, created now if there is none. A new conversation gets its SLA
    /// deadlines and its site's team before its first message is acknowledged, so nothing an
    /// agent does after the ack (say, raising the priority) can be overwritten by it.
    async fn ensure_conversation(&mut self) -> Result<i64, store::StoreError> {
        if let Some(c) = self.conversation {
            return Ok(c);
        }
        self.stored().await?;
        let store = self.state.store.clone();
        let c = store
            .open_or_create_conversation(&self.visitor, &self.context, now_millis())
            .await?;
        crate::assign::started(&self.state, &c).await?;
        self.conversation = Some(c.id);
        // Follow it now, not at the loop's next turn: routing (run before that turn) may
        // already have an agent typing in it (found by the two-node test).
        self.events.follow_conversations(self.conversation);
        if let Some(text) = self.pending_contact_text.take() {
            self.state
                .index_text(c.id, server_search::messages::Kind::Contact, &text);
        }
        if let Some((name, email)) = self.pending_contact.take() {
            store
                .set_contact(c.id, name.as_deref(), email.as_deref())
                .await?;
        }
        Ok(c.id)
    }

    /// Refuses a message by a limit: not stored, not acknowledged; the widget resends it, with
    /// the same id, after the wait.
    async fn refuse(&mut self, id: String, what: &str, wait: RetryAfter) {
        self.out
            .send(ServerFrame::rate_limited(what, Some(id), wait.millis()))
            .await;
    }

    /// A short-lived token for `POST /api/attachments` (stateless: any node checks it). The
    /// visitor gets its row now: its uploads are stored under it.
    async fn upload_token(&mut self) {
        let visitor = match self.stored().await {
            Ok(v) => v,
            Err(e) => return self.failed("preparing an upload", e).await,
        };
        let Some(secret) = self.state.cluster_secret().await else {
            return self
                .out
                .error(ErrorCode::Internal, "uploads are unavailable; try again")
                .await;
        };
        let (token, expires) =
            crate::attachments::upload_token(secret.as_bytes(), visitor, now_millis());
        self.out
            .send(ServerFrame::UploadToken {
                token,
                expires,
                max_bytes: self.state.settings.limits.attachment_bytes,
            })
            .await;
    }

    async fn send_message(
        &mut self,
        id: String,
        body: String,
        context: Option<Handoff>,
        attachments: Vec<String>,
    ) {
        let started = std::time::Instant::now();
        // At capacity: refuse now (the widget resends after the wait) rather than queue
        // without bound and answer seconds later.
        if self.state.store.pending_writes() >= self.state.settings.max_pending_writes {
            self.state.refusals.count(crate::limits::Limit::Capacity);
            return self
                .out
                .send(ServerFrame::overloaded(Some(id), OVERLOAD_RETRY_MS))
                .await;
        }
        if let Err(wait) = self
            .state
            .limit(Limit::Messages, Key::Visitor(token_key(&self.token_hash)))
        {
            return self.refuse(id, "too many messages; slow down", wait).await;
        }
        if self.conversation.is_none()
            && let Err(wait) = self
                .state
                .limit_cluster(Limit::NewConversations, Key::address(self.ip))
                .await
        {
            return self
                .refuse(id, "too many new conversations from this network", wait)
                .await;
        }
        let conversation = match self.ensure_conversation().await {
            Ok(c) => c,
            Err(e) => return self.internal(id, e).await,
        };
        let store = &self.state.store;
        // The visitor's own uploads, made part of this conversation before the message that
        // shows them is stored (a resend claims them again, harmlessly).
        let files = match store
            .claim_attachments(&attachments, conversation, Some(self.visitor.id))
            .await
        {
            Ok(files) => files,
            Err(store::StoreError::NotFound { .. }) => {
                return self
                    .out
                    .send(ServerFrame::Error {
                        code: ErrorCode::InvalidField,
                        message: "an attachment does not exist or is not yours; upload it again"
                            .into(),
                        id: Some(id),
                        retry_after_ms: None,
                    })
                    .await;
            }
            Err(e) => return self.internal(id, e).await,
        };
        if let Some(context) = context {
            let json = serde_json::to_string(&context).expect("handoff serializes");
            // The self-help time is bounded by the decoder (a day at most).
            let self_help = context.searching_ms.map(|ms| ms as i64);
            if let Err(e) = store.set_context(conversation, &json, self_help).await {
                return self.internal(id, e).await;
            }
            // Topics: the tags of the articles read before asking, else of the best article for
            // the question as finally typed (not the first suggestion ever shown, which
            // answered the first keystroke), added to the conversation's labels.
            let read: Vec<String> = if !context.opened.is_empty() {
                context.opened.iter().map(|a| a.id.clone()).collect()
            } else if let Some(query) = context.query.as_deref().filter(|q| !q.trim().is_empty()) {
                let lang = self.context.locale.clone();
                self.state
                    .kb
                    .best_match(lang, query.to_owned())
                    .await
                    .into_iter()
                    .collect()
            } else {
                context.shown.iter().take(1).map(|a| a.id.clone()).collect()
            };
            let topics = self.state.kb.topics(read.iter().map(String::as_str));
            if !topics.is_empty()
                && let Ok(Some(c)) = store.conversation(conversation).await
            {
                let mut labels = c.labels;
                for t in topics {
                    if labels.len() < protocol::MAX_LABELS && !labels.contains(&t) {
                        labels.push(t);
                    }
                }
                labels.sort();
                if let Err(e) = store.set_labels(conversation, &labels).await {
                    tracing::error!(error = %e, conversation, "adding topics failed");
                }
            }
        }
        let appended = match store
            .append_message(NewMessage {
                conversation_id: conversation,
                client_id: &id,
                agent_id: None,
                body: &body,
                at: now_millis(),
                attachments: &files,
            })
            .await
        {
            Ok(a) => a,
            Err(e) => return self.internal(id, e).await,
        };
        // Stored and committed: now, and only now, acknowledge (counted first: the socket write
        // after is the client's pace).
        self.state
            .metrics
            .acked(crate::metrics::Kind::Visitor, started.elapsed());
        self.out
            .send(ServerFrame::Ack {
                id,
                conversation,
                seq: appended.message.seq,
                at: appended.message.at,
            })
            .await;
        if !appended.duplicate {
            let text = crate::attachments::search_text(&body, &files);
            self.state
                .index_text(conversation, server_search::messages::Kind::Message, &text);
            let message = Arc::new(convert::message(appended.message));
            self.state.hub.publish(HubEvent::Message {
                conversation,
                visitor: self.visitor.id,
                message: message.clone(),
            });
            self.after_message(
                conversation,
                message.seq,
                message.at,
                appended.next_response_priority,
            )
            .await;
            if message.seq == 1 {
                crate::rules::fire(&self.state, "conversation.created", conversation, None);
            }
            crate::rules::fire(&self.state, "message.created", conversation, Some(&body));
            self.deliver(&message).await;
        } else {
            self.catch_up().await;
        }
    }

    /// What a new customer message sets in motion, without reading the conversation back:
    /// routing (a new conversation; queued ones are placed when an agent has room), the
    /// next-response clock (when the store said it may start), and the inbox summary.
    async fn after_message(&mut self, conversation: i64, seq: u64, at: i64, clock: Option<String>) {
        if seq == 1 {
            crate::assign::route(&self.state, conversation, None).await;
        }
        if let Some(priority) = clock {
            let priority = protocol::Priority::parse(&priority).unwrap_or_default();
            crate::assign::customer_wrote(
                &self.state,
                conversation,
                &self.visitor.site,
                priority,
                at,
            )
            .await;
        }
        self.state.summaries.touch(conversation);
    }

    async fn publish_summary(&self, conversation: i64) {
        if let Ok(Some(c)) = self.state.store.conversation(conversation).await {
            self.state
                .hub
                .publish(HubEvent::Conversation(Box::new(convert::summary(c))));
        }
    }

    /// Events were dropped: deliver what the store has that this client lacks (messages, a
    /// conversation opened or resolved meanwhile, availability).
    async fn resync(&mut self) {
        if self.visitor.id == 0 {
            return; // nothing stored: nothing to have missed
        }
        match self.state.store.open_conversation(self.visitor.id).await {
            Ok(open) => {
                let open = open.map(|c| c.id);
                if open != self.conversation {
                    // Finish the old conversation's messages, then say what changed.
                    self.catch_up().await;
                    if let Some(old) = self.conversation.take() {
                        self.out
                            .send(ServerFrame::Status {
                                conversation: old,
                                status: ConversationStatus::Resolved,
                            })
                            .await;
                    }
                    self.delivered = 0;
                    if let Some(new) = open {
                        self.conversation = Some(new);
                        self.events.follow_conversations(self.conversation);
                        self.out
                            .send(ServerFrame::Status {
                                conversation: new,
                                status: ConversationStatus::Open,
                            })
                            .await;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "resync: reading the open conversation failed"),
        }
        self.catch_up().await;
        let availability = self.state.availability(self.site());
        self.out.send(ServerFrame::Availability(availability)).await;
    }

    async fn failed(&mut self, what: &str, e: store::StoreError) {
        tracing::error!(error = %e, "{what} failed");
        self.out
            .error(ErrorCode::Internal, format!("{what} failed; try again"))
            .await;
    }

    async fn on_frame(&mut self, frame: VisitorFrame) {
        match frame {
            VisitorFrame::Send {
                id,
                body,
                context,
                attachments,
            } => self.send_message(id, body, context, attachments).await,
            VisitorFrame::Upload => self.upload_token().await,
            VisitorFrame::Typing { on } => {
                if let Some(conversation) = self.conversation {
                    self.state.hub.publish(HubEvent::Typing {
                        conversation,
                        from: Author::Visitor,
                        on,
                    });
                }
            }
            VisitorFrame::Read { seq } => {
                let Some(conversation) = self.conversation else {
                    return;
                };
                match self
                    .state
                    .store
                    .mark_read(conversation, ReadBy::Visitor, seq)
                    .await
                {
                    Ok(()) => self.state.hub.publish(HubEvent::Read {
                        conversation,
                        by: Reader::Visitor,
                        seq,
                    }),
                    Err(e) => self.failed("marking as read", e).await,
                }
            }
            VisitorFrame::Resolve => {
                let Some(conversation) = self.conversation else {
                    return self
                        .out
                        .error(ErrorCode::NotFound, "no open conversation")
                        .await;
                };
                match self
                    .state
                    .store
                    .set_status(conversation, Status::Resolved, now_millis())
                    .await
                {
                    Ok(_) => {
                        self.state.hub.publish(HubEvent::Status {
                            conversation,
                            visitor: self.visitor.id,
                            status: ConversationStatus::Resolved,
                        });
                        self.publish_summary(conversation).await;
                        crate::assign::room_freed(&self.state).await;
                    }
                    Err(e) => self.failed("resolving", e).await,
                }
            }
            VisitorFrame::Rate { score, comment } => {
                let latest = match self.state.store.latest_conversation(self.visitor.id).await {
                    _ if self.visitor.id == 0 => None,
                    Ok(latest) => latest,
                    Err(e) => return self.failed("rating", e).await,
                };
                let Some(c) = latest.filter(|c| c.status == Status::Resolved) else {
                    return self
                        .out
                        .error(
                            ErrorCode::NotFound,
                            "there is no resolved conversation to rate",
                        )
                        .await;
                };
                match self.state.store.rate(c.id, score, comment.as_deref()).await {
                    Ok(()) => {
                        self.out
                            .send(ServerFrame::Saved {
                                what: Saved::Rating,
                            })
                            .await;
                        self.publish_summary(c.id).await;
                        crate::rules::fire(&self.state, "csat.submitted", c.id, None);
                    }
                    Err(e) => self.failed("rating", e).await,
                }
            }
            VisitorFrame::Deflected { query, article } => {
                if let Err(e) = self.stored().await {
                    return self.failed("recording", e).await;
                }
                match self
                    .state
                    .store
                    .record_deflection(
                        &self.visitor.site,
                        self.visitor.id,
                        &query,
                        &article,
                        now_millis(),
                    )
                    .await
                {
                    Ok(()) => {
                        self.out
                            .send(ServerFrame::Saved {
                                what: Saved::Deflection,
                            })
                            .await
                    }
                    Err(e) => self.failed("recording", e).await,
                }
            }
            VisitorFrame::Contact(details) => self.save_contact(details).await,
            VisitorFrame::Searched {
                query,
                results,
                shown,
                opened,
                helpful,
                handoff,
            } => {
                self.searched(&query, results, &shown, opened.as_deref(), helpful, handoff)
                    .await
            }
            VisitorFrame::Effort { score } => {
                let latest = match self.state.store.latest_conversation(self.visitor.id).await {
                    _ if self.visitor.id == 0 => None,
                    Ok(latest) => latest,
                    Err(e) => return self.failed("saving the effort score", e).await,
                };
                let Some(c) = latest.filter(|c| c.status == Status::Resolved) else {
                    return self
                        .out
                        .error(
                            ErrorCode::NotFound,
                            "there is no resolved conversation to score",
                        )
                        .await;
                };
                match self.state.store.set_effort(c.id, score).await {
                    // The effort question is part of the rating.
                    Ok(()) => {
                        self.out
                            .send(ServerFrame::Saved {
                                what: Saved::Rating,
                            })
                            .await
                    }
                    Err(e) => self.failed("saving the effort score", e).await,
                }
            }
            VisitorFrame::Hello { .. } => {
                self.out
                    .error(ErrorCode::InvalidField, "hello was already received")
                    .await;
            }
        }
    }

    /// Records a settled search for the gaps report. Nothing is answered: a report the limit
    /// refuses, or the store fails to keep, is dropped (counted, logged) without bothering the
    /// customer; it writes no visitor row.
    async fn searched(
        &mut self,
        query: &str,
        results: u32,
        shown: &[String],
        opened: Option<&str>,
        helpful: Option<bool>,
        handoff: bool,
    ) {
        let Some(key) = self.search_key else {
            return;
        };
        if self
            .state
            .limit(Limit::Searches, Key::Visitor(token_key(&self.token_hash)))
            .is_err()
        {
            return;
        }
        let site = self.site();
        let language = self
            .context
            .locale
            .as_deref()
            .and_then(protocol::primary_language)
            .or_else(|| site.config.languages.first().cloned())
            .unwrap_or_else(|| "en".to_owned());
        let query = protocol::normalize_query(query);
        let visitor_key = hex::encode(key);
        let event = store::SearchEvent {
            site: &self.visitor.site,
            language: &language,
            query: &query,
            visitor_key: &visitor_key,
            results,
            shown,
            opened,
            helpful,
            handoff,
            at: now_millis(),
        };
        if let Err(e) = self.state.store.record_search(&event).await {
            tracing::error!(error = %e, "recording a search failed");
        }
    }

    /// Records who the visitor is: on the contact record (verified user id, details, custom
    /// attributes) and, for name and email, on the conversation. An unverifiable user id is
    /// refused with an error while the rest is still kept, unverified.
    async fn save_contact(&mut self, details: protocol::ContactDetails) {
        let now = now_millis();
        if let Err(e) = self.stored().await {
            return self.failed("saving contact details", e).await;
        }
        let store = self.state.store.clone();
        let mut verified = None;
        if let Some(user_id) = &details.user_id {
            let hash = details.user_hash.as_deref().unwrap_or_default();
            if self.site().verifies(user_id, hash) {
                verified = Some(user_id.clone());
            } else {
                let message = if self.site().identity_secret.is_none() {
                    "this site does not verify user ids (no identity_secret configured)"
                } else {
                    "the user id could not be verified: user_hash must be the site's HMAC-SHA256 of it"
                };
                self.out
                    .error(ErrorCode::IdentityNotVerified, message)
                    .await;
            }
        }
        let contact = match &verified {
            Some(user_id) => store.identify_visitor(self.visitor.id, user_id, now).await,
            None => store.visitor_contact(self.visitor.id, now).await,
        };
        let contact = match contact {
            Ok(c) => c,
            Err(e) => return self.failed("saving contact details", e).await,
        };
        if verified.is_some() {
            self.visitor.verified_as = verified.clone();
        }
        // A verified profile only takes details from a browser verified as that user: a browser
        // an agent merged in (or anyone typing the same email) cannot rewrite it. Its details
        // still go on its own conversation below.
        let may_update =
            contact.external_id.is_none() || contact.external_id == self.visitor.verified_as;
        if may_update {
            let update = store::ContactUpdate {
                name: details.name.clone(),
                email: details.email.clone(),
                attributes: details.attributes.clone(),
            };
            if let Err(e) = store.update_contact(contact.id, &update, now).await {
                return self.failed("saving contact details", e).await;
            }
        }
        let (name, email) = (details.name, details.email);
        let mut text: Vec<&str> = [name.as_deref(), email.as_deref(), verified.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        text.extend(details.attributes.values().map(String::as_str));
        let text = text.join(" ");
        let result = match self.conversation {
            Some(c) if name.is_some() || email.is_some() => {
                store
                    .set_contact(c, name.as_deref(), email.as_deref())
                    .await
            }
            Some(_) => Ok(()),
            None => {
                if name.is_some() || email.is_some() {
                    self.pending_contact = Some((name, email));
                }
                self.pending_contact_text = Some(text.clone());
                Ok(())
            }
        };
        match result {
            Ok(()) => {
                self.out
                    .send(ServerFrame::Saved {
                        what: Saved::Contact,
                    })
                    .await;
                if let Some(c) = self.conversation {
                    self.state
                        .index_text(c, server_search::messages::Kind::Contact, &text);
                    self.publish_summary(c).await;
                }
            }
            Err(e) => self.failed("saving contact details", e).await,
        }
    }

    async fn internal(&mut self, id: String, e: store::StoreError) {
        tracing::error!(error = %e, "storing a visitor message failed");
        self.out
            .send(ServerFrame::Error {
                code: ErrorCode::Internal,
                message: "the message was not stored; it will be retried".into(),
                id: Some(id),
                retry_after_ms: None,
            })
            .await;
    }

    async fn on_event(&mut self, event: HubEvent) {
        match event {
            HubEvent::Message {
                visitor,
                conversation,
                message,
            } if visitor == self.visitor.id => {
                // A conversation started in another tab becomes this tab's too.
                self.conversation.get_or_insert(conversation);
                self.deliver(&message).await;
            }
            HubEvent::Typing {
                conversation,
                from: from @ Author::Agent { .. },
                on,
            } if Some(conversation) == self.conversation => {
                self.out
                    .send(ServerFrame::Typing {
                        conversation,
                        from,
                        on,
                    })
                    .await;
            }
            HubEvent::Read {
                conversation,
                by: Reader::Agent,
                seq,
            } if Some(conversation) == self.conversation => {
                self.out
                    .send(ServerFrame::Read {
                        conversation,
                        seq,
                        by: Reader::Agent,
                    })
                    .await;
            }
            HubEvent::Status {
                conversation,
                visitor,
                status,
            } if visitor == self.visitor.id => {
                // Catch up first, so the last messages arrive before the status changes.
                self.catch_up().await;
                match status {
                    ConversationStatus::Resolved if self.conversation == Some(conversation) => {
                        self.conversation = None;
                        self.delivered = 0;
                    }
                    ConversationStatus::Open => {
                        self.conversation = Some(conversation);
                        self.delivered = 0;
                    }
                    ConversationStatus::Resolved => {}
                }
                self.out
                    .send(ServerFrame::Status {
                        conversation,
                        status,
                    })
                    .await;
                if status == ConversationStatus::Open {
                    self.catch_up().await;
                }
            }
            HubEvent::IndexChanged { version } => {
                self.out.send(ServerFrame::IndexChanged { version }).await;
            }
            HubEvent::VisitorStored { token, visitor }
                if self.visitor.id == 0 && token == token_key(&self.token_hash) =>
            {
                // Another tab of this browser stored the visitor (and maybe started a
                // conversation): follow it, take its id and catch up from the store.
                self.events
                    .unfollow(Topic::Token(token_key(&self.token_hash)));
                self.events.follow(Topic::Visitor(visitor));
                self.visitor.id = visitor;
                self.resync().await;
            }
            HubEvent::Presence => {
                let availability = self.state.availability(self.site());
                self.out.send(ServerFrame::Availability(availability)).await;
            }
            _ => {}
        }
    }
}

/// A visitor's key in limits and hub topics: the first 60 bits of its token's hash.
fn token_key(token_hash: &str) -> i64 {
    i64::from_str_radix(token_hash.get(..15).unwrap_or("0"), 16).unwrap_or(0)
}

/// Whether `t` looks like a token this server issues (64 hex digits).
fn is_token(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

pub async fn run<I, O>(state: AppState, ip: std::net::IpAddr, mut inbound: I, sink: O)
where
    I: Stream<Item = Inbound> + Unpin + Send,
    O: Sink<Outbound> + Unpin + Send,
{
    // The hello is handled in its own (boxed, short-lived) future: the task an idle
    // connection keeps is only the live loop's size.
    let started = Box::pin(start(state, ip, &mut inbound, sink)).await;
    let Some((session, limit)) = started else {
        return;
    };
    live(session, limit, inbound).await;
}

/// Hello, identification, welcome and replay; `None` when the connection ended.
async fn start<I, O>(
    state: AppState,
    ip: std::net::IpAddr,
    inbound: &mut I,
    sink: O,
) -> Option<(Session<O>, FrameLimit)>
where
    I: Stream<Item = Inbound> + Unpin + Send,
    O: Sink<Outbound> + Unpin + Send,
{
    let mut out = Out::new(sink, state.settings.send_timeout);
    let mut limit = FrameLimit::new(state.settings.limits.frames_per_connection);
    // 1. Wait for hello.
    let (site, token, last_seq, locale, page_url) = loop {
        let item = match tokio::time::timeout(HELLO_TIMEOUT, inbound.next()).await {
            Ok(item) => item,
            Err(_) => {
                out.error(ErrorCode::HelloRequired, "no hello within 15 seconds")
                    .await;
                {
                    out.close(inbound, CLOSE_POLICY, "hello timeout").await;
                    return None;
                }
            }
        };
        match item {
            None | Some(Inbound::Closed) => return None,
            Some(Inbound::TooLarge) => {
                out.error(ErrorCode::TooLarge, "frame too large").await;
                {
                    out.close(inbound, CLOSE_TOO_BIG, "frame too large").await;
                    return None;
                }
            }
            Some(Inbound::Malformed(code, reason)) => {
                out.close(inbound, code, reason).await;
                return None;
            }
            Some(Inbound::Ping) => {}
            Some(Inbound::Binary) => {
                out.error(ErrorCode::BinaryNotSupported, "send JSON text frames")
                    .await;
            }
            Some(Inbound::Text(text)) => match decode_visitor(&text) {
                Ok(VisitorFrame::Hello {
                    v,
                    site,
                    token,
                    last_seq,
                    locale,
                    page_url,
                }) => {
                    if v != PROTOCOL_VERSION {
                        out.error(
                            ErrorCode::UnsupportedVersion,
                            format!("protocol version {v} is not supported; this server speaks {PROTOCOL_VERSION}"),
                        )
                        .await;
                        {
                            out.close(inbound, CLOSE_POLICY, "unsupported version")
                                .await;
                            return None;
                        }
                    }
                    break (site, token, last_seq, locale, page_url);
                }
                Ok(_) => {
                    out.error(ErrorCode::HelloRequired, "the first frame must be hello")
                        .await
                }
                Err(e) => out.frame_error(e).await,
            },
        }
        if limit.allow().is_err() {
            out.error(ErrorCode::RateLimited, "too many frames").await;
            {
                out.close(inbound, CLOSE_POLICY, "rate limited").await;
                return None;
            }
        }
    };

    let Some(site_config) = state.site(&site) else {
        out.send(ServerFrame::Error {
            code: ErrorCode::UnknownSite,
            message: format!("no site {site:?} on this server"),
            id: None,
            retry_after_ms: None,
        })
        .await;
        {
            out.close(inbound, CLOSE_POLICY, "unknown site").await;
            return None;
        }
    };

    // 2. Identify the visitor, or issue a new identity. Nothing is written: the visitor's row
    // is created when it first needs one (`Session::stored`).
    let store = state.store.clone();
    let looked_up = match token.as_deref().filter(|t| is_token(t)) {
        Some(t) => match store.visitor(&token_hash(t)).await {
            Ok(found) => Some((t.to_owned(), found)),
            Err(e) => {
                tracing::error!(error = %e, "visitor lookup failed");
                out.error(ErrorCode::Internal, "try again shortly").await;
                {
                    out.close(inbound, 1011, "internal error").await;
                    return None;
                }
            }
        },
        None => None,
    };
    let (visitor, hash, new_token, resumed) = match looked_up {
        Some((t, Some(v))) if v.site == site => (v, token_hash(&t), None, true),
        other => {
            if let Err(wait) = state
                .limit_cluster(Limit::NewVisitors, Key::address(ip))
                .await
            {
                out.send(ServerFrame::rate_limited(
                    "too many new visitors from this network; try again later",
                    None,
                    wait.millis(),
                ))
                .await;
                {
                    out.close(inbound, CLOSE_POLICY, "rate limited").await;
                    return None;
                }
            }
            let unstored = Visitor {
                id: 0,
                site: site.clone(),
                verified_as: None,
            };
            match other {
                // A token this server issued whose visitor was never stored: keep it.
                Some((t, None)) => (unstored, token_hash(&t), None, false),
                // None, malformed, or another site's: a fresh identity.
                _ => {
                    let fresh = new_token();
                    (unstored, token_hash(&fresh), Some(fresh), false)
                }
            }
        }
    };
    let search_key = state
        .search_visitor_key(
            new_token
                .as_deref()
                .or(token.as_deref())
                .unwrap_or_default(),
        )
        .await;
    // Subscribe before reading the store, so nothing committed in between is missed.
    let mut events = state.hub.subscribe(VISITOR_QUEUE);
    events.follow(Topic::Visitors);
    let (conversation, rate_pending) = if visitor.id == 0 {
        events.follow(Topic::Token(token_key(&hash)));
        (None, false)
    } else {
        events.follow(Topic::Visitor(visitor.id));
        let conversation = store.open_conversation(visitor.id).await.ok().flatten();
        let rate_pending = match (&conversation, store.latest_conversation(visitor.id).await) {
            (None, Ok(Some(latest))) => {
                latest.status == Status::Resolved && latest.rating.is_none() && latest.last_seq > 0
            }
            _ => false,
        };
        (conversation, rate_pending)
    };
    let server_last = conversation.as_ref().map_or(0, |c| c.last_seq);
    let availability = state.availability(site_config);
    let mut session = Session {
        state,
        out,
        visitor,
        token_hash: hash,
        context: ConversationContext { page_url, locale },
        conversation: conversation.as_ref().map(|c| c.id),
        delivered: if resumed {
            last_seq.min(server_last)
        } else {
            0
        },
        pending_contact: None,
        pending_contact_text: None,
        events,
        ip,
        search_key,
    };
    session
        .out
        .send(ServerFrame::Welcome {
            v: PROTOCOL_VERSION,
            token: new_token,
            conversation: session.conversation,
            last_seq: server_last,
            availability,
            rate_pending,
        })
        .await;
    session.catch_up().await;

    Some((session, limit))
}

async fn live<I, O>(mut session: Session<O>, mut limit: FrameLimit, mut inbound: I)
where
    I: Stream<Item = Inbound> + Unpin + Send,
    O: Sink<Outbound> + Unpin + Send,
{
    // 3. Live.
    let mut shutdown = session.state.shutdown.subscribe();
    shutdown.mark_changed(); // checked once at once, in case stopping began before
    loop {
        if !session.out.open {
            return;
        }
        // Typing and read receipts of the current conversation (it changes on a new one;
        // its messages come on the visitor's topic).
        session.events.follow_conversations(session.conversation);
        match next_wake(
            &mut session.out,
            &mut inbound,
            &mut limit,
            &mut session.events,
            &mut shutdown,
        )
        .await
        {
            Wake::Done => return,
            // Handlers are boxed: the task's own size is what every idle connection keeps.
            Wake::Text(text) => match decode_visitor(&text) {
                Ok(frame) => Box::pin(session.on_frame(frame)).await,
                Err(e) => Box::pin(session.out.frame_error(e)).await,
            },
            Wake::Limited(text, wait) => {
                let id = match decode_visitor(&text) {
                    Ok(VisitorFrame::Send { id, .. }) => Some(id),
                    _ => None,
                };
                let refusal =
                    ServerFrame::rate_limited("too many frames; slow down", id, wait.millis());
                Box::pin(session.out.send(refusal)).await;
            }
            Wake::Event(event) => {
                if let HubEvent::Erased { visitors, .. } = &*event
                    && visitors.contains(&session.visitor.id)
                {
                    // This browser's data is gone: it reconnects and starts afresh.
                    let reason = "this browser's data was erased; reconnect";
                    Box::pin(session.out.close(&mut inbound, CLOSE_RESTART, reason)).await;
                    return;
                }
                Box::pin(session.on_event(HubEvent::clone(&event))).await
            }
            Wake::Lagged => Box::pin(session.resync()).await,
        }
    }
}
