//! An agent's session: the open conversations, live summaries, and for each conversation the
//! agent opened, gap-free replay and live messages; replies acked after commit.

use super::session::{
    CLOSE_POLICY, CLOSE_TOO_BIG, FrameLimit, HELLO_TIMEOUT, Inbound, Out, Outbound, Wake, next_wake,
};
use crate::actions::ActionError;
use crate::hub::{HubEvent, Topic};
use crate::{AppState, convert};
use futures_util::{Sink, Stream, StreamExt};
use protocol::{
    AgentFrame, Author, ErrorCode, PROTOCOL_VERSION, PresenceStatus, Reader, ServerFrame,
    decode_agent,
};
use std::collections::HashMap;
use store::{ReadBy, Status};

const REPLAY_PAGE: u32 = 200;
const INBOX_LIMIT: u32 = 500;
/// Conversations one connection may follow at once.
const MAX_OPEN: usize = 200;

struct Session<O> {
    state: AppState,
    out: Out<O>,
    agent: store::Agent,
    /// The hash of the session token this console signed in with.
    token_hash: String,
    /// Set when the session ended (sign-out, disabling, password change): the agent leaves
    /// at once, without the grace a reload gets.
    presence: Presence,
    /// Conversation → highest sequence number delivered to this connection.
    following: HashMap<i64, u64>,
    /// What this console hears about: the agents' topic and the conversations it follows
    /// (followed before their messages are read, so none committed in between is missed).
    events: crate::hub::Subscription,
}

impl<O: Sink<Outbound> + Unpin> Session<O> {
    /// The session is over: say so, and close; routing stops counting on this agent now.
    async fn signed_out(&mut self) {
        self.out
            .error(ErrorCode::NotAuthenticated, "signed out: sign in again")
            .await;
        self.presence.signed_out = true;
        self.out.open = false; // the session loop ends and the socket closes
    }

    /// Sends `message` if it is the next one of a followed conversation, else catches that
    /// conversation up from the store.
    async fn deliver(&mut self, conversation: i64, message: &protocol::Message) {
        let Some(&delivered) = self.following.get(&conversation) else {
            return;
        };
        if message.seq <= delivered {
            return;
        }
        if message.seq == delivered + 1 {
            self.following.insert(conversation, message.seq);
            self.out.send(ServerFrame::Message(message.clone())).await;
        } else {
            self.catch_up(conversation).await;
        }
    }

    async fn catch_up(&mut self, conversation: i64) {
        let Some(mut delivered) = self.following.get(&conversation).copied() else {
            return;
        };
        loop {
            let page = match self
                .state
                .store
                .messages_after(conversation, delivered, REPLAY_PAGE)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "replay failed");
                    self.out
                        .error(ErrorCode::Internal, "could not load messages")
                        .await;
                    break;
                }
            };
            let full = page.len() as u32 == REPLAY_PAGE;
            for message in page {
                delivered = message.seq;
                self.out
                    .send(ServerFrame::Message(convert::message(message)))
                    .await;
            }
            if !full {
                break;
            }
        }
        self.following.insert(conversation, delivered);
    }

    async fn open(&mut self, conversation: i64, after_seq: u64) {
        match self.state.store.conversation(conversation).await {
            Ok(Some(c)) => {
                if !self.following.contains_key(&conversation) && self.following.len() >= MAX_OPEN {
                    // Forget the oldest-numbered one; the console re-opens what it shows.
                    if let Some(&oldest) = self.following.keys().min() {
                        self.following.remove(&oldest);
                    }
                }
                self.events.follow(Topic::Conversation(conversation));
                self.following
                    .insert(conversation, after_seq.min(c.last_seq));
                self.out
                    .send(ServerFrame::Conversation(convert::summary(c)))
                    .await;
                self.catch_up(conversation).await;
                // Private notes come with the history (agents only; visitor sessions never read them).
                match self.state.store.notes(conversation).await {
                    Ok(notes) => {
                        for n in notes {
                            self.out.send(ServerFrame::Note(convert::note(n))).await;
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "loading notes failed"),
                }
            }
            Ok(None) => {
                self.out
                    .error(
                        ErrorCode::NotFound,
                        format!("conversation {conversation} does not exist"),
                    )
                    .await
            }
            Err(e) => {
                tracing::error!(error = %e, "loading a conversation failed");
                self.out
                    .error(ErrorCode::Internal, "could not load the conversation")
                    .await;
            }
        }
    }

    async fn send(&mut self, id: String, conversation: i64, body: String, files: Vec<String>) {
        let started = std::time::Instant::now();
        let appended = match crate::actions::reply(
            &self.state,
            self.agent.id,
            conversation,
            &id,
            &body,
            &files,
        )
        .await
        {
            Ok(a) => a,
            Err(ActionError::Store(e)) => return self.internal(id, e).await,
            Err(e) => {
                let code = match e {
                    ActionError::Invalid(_) => ErrorCode::InvalidField,
                    _ => ErrorCode::NotFound,
                };
                return self
                    .out
                    .send(ServerFrame::Error {
                        code,
                        message: e.to_string(),
                        id: Some(id),
                        retry_after_ms: None,
                    })
                    .await;
            }
        };
        // Stored and committed: counted now (the socket write after is the client's pace).
        self.state
            .metrics
            .acked(crate::metrics::Kind::Agent, started.elapsed());
        self.out
            .send(ServerFrame::Ack {
                id,
                conversation,
                seq: appended.message.seq,
                at: appended.message.at,
            })
            .await;
        if !appended.duplicate && self.following.contains_key(&conversation) {
            let message = convert::message(appended.message);
            self.deliver(conversation, &message).await;
            return;
        }
        self.events.follow(Topic::Conversation(conversation));
        self.following.entry(conversation).or_insert(0);
        self.catch_up(conversation).await;
    }

    async fn internal(&mut self, id: String, e: store::StoreError) {
        tracing::error!(error = %e, "storing an agent message failed");
        self.out
            .send(ServerFrame::Error {
                code: ErrorCode::Internal,
                message: "the message was not stored; retry".into(),
                id: Some(id),
                retry_after_ms: None,
            })
            .await;
    }

    async fn on_event(&mut self, event: HubEvent) {
        match event {
            HubEvent::Message {
                conversation,
                message,
                ..
            } => self.deliver(conversation, &message).await,
            HubEvent::Conversation(summary) => {
                self.out.send(ServerFrame::Conversation(*summary)).await
            }
            HubEvent::Read {
                conversation,
                by: Reader::Visitor,
                seq,
            } if self.following.contains_key(&conversation) => {
                self.out
                    .send(ServerFrame::Read {
                        conversation,
                        seq,
                        by: Reader::Visitor,
                    })
                    .await;
            }
            HubEvent::Note(note) => {
                if self.following.contains_key(&note.conversation) {
                    self.out.send(ServerFrame::Note(*note)).await;
                }
            }
            HubEvent::Agents(agents) => self.out.send(ServerFrame::Agents { agents }).await,
            HubEvent::SignedOut { agent } if agent == self.agent.id => self.signed_out().await,
            HubEvent::SessionEnded { token_hash } if token_hash == self.token_hash => {
                self.signed_out().await
            }
            HubEvent::SignedOut { .. } | HubEvent::SessionEnded { .. } => {}
            HubEvent::Erased { conversations, .. } => {
                // Rare: rebuild the inbox without them, and stop following the erased ones.
                for id in conversations.iter() {
                    self.following.remove(id);
                }
                let conversations = conversations.to_vec();
                self.out.send(ServerFrame::Erased { conversations }).await;
                self.resync().await;
            }
            HubEvent::Read { .. }
            | HubEvent::Wake
            | HubEvent::NodePresence { .. }
            | HubEvent::VisitorStored { .. }
            | HubEvent::Status { .. }
            | HubEvent::Presence
            | HubEvent::IndexChanged { .. } => {}
            HubEvent::Typing {
                conversation,
                from,
                on,
            } => {
                let mine = matches!(&from, Author::Agent { id, .. } if *id == self.agent.id);
                if !mine && self.following.contains_key(&conversation) {
                    self.out
                        .send(ServerFrame::Typing {
                            conversation,
                            from,
                            on,
                        })
                        .await;
                }
            }
        }
    }

    async fn set_status(&mut self, conversation: i64, status: Status) {
        let result = crate::actions::set_status(&self.state, conversation, status).await;
        self.changed(result, "changing the status").await;
    }

    async fn assign(&mut self, conversation: i64, agent: Option<i64>) {
        let result = crate::actions::assign(&self.state, conversation, agent).await;
        self.changed(result, "assigning").await;
    }

    async fn set_labels(&mut self, conversation: i64, labels: Vec<String>) {
        let result = crate::actions::set_labels(&self.state, conversation, &labels).await;
        self.changed(result, "labelling").await;
    }

    async fn set_team(&mut self, conversation: i64, team: Option<String>) {
        let result = crate::actions::set_team(&self.state, conversation, team.as_deref()).await;
        self.changed(result, "moving to a team").await;
    }

    async fn set_priority(&mut self, conversation: i64, priority: protocol::Priority) {
        let result = crate::actions::set_priority(&self.state, conversation, priority).await;
        self.changed(result, "changing the priority").await;
    }

    async fn note(&mut self, id: String, conversation: i64, body: String) {
        match crate::actions::note(&self.state, self.agent.id, conversation, &id, &body).await {
            Ok(_) => {
                self.following.entry(conversation).or_insert(0);
            }
            Err(ActionError::Store(e)) => self.failed("saving the note", e).await,
            Err(e) => {
                self.out
                    .send(ServerFrame::Error {
                        code: ErrorCode::NotFound,
                        message: e.to_string(),
                        id: Some(id),
                        retry_after_ms: None,
                    })
                    .await
            }
        }
    }

    /// Reports why a conversation could not change (the action published the change itself).
    async fn changed(&mut self, result: Result<store::Conversation, ActionError>, what: &str) {
        match result {
            Ok(_) => {}
            Err(ActionError::NotFound(message)) => {
                self.out.error(ErrorCode::NotFound, message).await
            }
            Err(ActionError::Invalid(message)) => {
                self.out.error(ErrorCode::InvalidField, message).await
            }
            Err(ActionError::Store(e)) => self.failed(what, e).await,
        }
    }

    async fn failed(&mut self, what: &str, e: store::StoreError) {
        tracing::error!(error = %e, "{what} failed");
        self.out
            .error(ErrorCode::Internal, format!("{what} failed; try again"))
            .await;
    }

    /// Events were dropped: rebuild the console from the store. The welcome carries the whole
    /// inbox and the agents (the console replaces its list and re-opens the conversation it
    /// shows, which brings its notes); followed conversations catch up on messages.
    async fn resync(&mut self) {
        match welcome(&self.state, &self.agent).await {
            Ok(frame) => self.out.send(frame).await,
            Err(e) => return self.failed("rebuilding the inbox", e).await,
        }
        let ids: Vec<i64> = self.following.keys().copied().collect();
        for id in ids {
            self.catch_up(id).await;
        }
    }
}

/// Registers this connection in the presence registry, and its session among the live ones
/// (which `sessions::watch` checks), while it lives: the first connection brings the agent
/// online (and drains the queue); the last one starts the offline grace period, or, when the
/// session was ended, takes the agent offline at once.
struct Presence {
    state: AppState,
    agent: i64,
    token_hash: String,
    signed_out: bool,
}

impl Presence {
    async fn enter(state: &AppState, agent: &store::Agent, token_hash: &str) -> Self {
        state.live_sessions.add(token_hash);
        if state.presence.connect(agent) {
            state.hub.publish(HubEvent::Presence);
            crate::assign::drain_queue(state).await;
        }
        crate::assign::publish_agents(state).await;
        Presence {
            state: state.clone(),
            agent: agent.id,
            token_hash: token_hash.to_owned(),
            signed_out: false,
        }
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.state.live_sessions.remove(&self.token_hash);
        if self.state.presence.disconnect(self.agent) {
            if self.signed_out {
                crate::assign::agent_signed_out(self.state.clone(), self.agent);
            } else {
                crate::assign::agent_left(self.state.clone(), self.agent);
            }
        }
    }
}

/// Everything a console shows from scratch: the inbox, the agents, canned responses, teams.
/// Sent on connecting, and again when the session lagged (the console rebuilds from it).
async fn welcome(state: &AppState, agent: &store::Agent) -> Result<ServerFrame, store::StoreError> {
    let conversations = state
        .store
        .list_open_conversations(INBOX_LIMIT)
        .await?
        .into_iter()
        .map(convert::summary)
        .collect();
    let agents = state.presence.list(&crate::assign::load(state).await);
    Ok(ServerFrame::AgentWelcome {
        v: PROTOCOL_VERSION,
        agent: convert::agent(agent),
        conversations,
        agents,
        canned: state.settings.canned.clone(),
        teams: crate::assign::teams(state).await,
        max_attachment_bytes: state.settings.limits.attachment_bytes,
    })
}

pub async fn run<I, O>(
    state: AppState,
    agent: store::Agent,
    token_hash: String,
    mut inbound: I,
    sink: O,
) where
    I: Stream<Item = Inbound> + Unpin + Send,
    O: Sink<Outbound> + Unpin + Send,
{
    let mut out = Out::new(sink, state.settings.send_timeout);
    let mut limit = FrameLimit::new(state.settings.limits.frames_per_connection);
    loop {
        let item = match tokio::time::timeout(HELLO_TIMEOUT, inbound.next()).await {
            Ok(item) => item,
            Err(_) => {
                out.error(ErrorCode::HelloRequired, "no hello within 15 seconds")
                    .await;
                return out.close(&mut inbound, CLOSE_POLICY, "hello timeout").await;
            }
        };
        match item {
            None | Some(Inbound::Closed) => return,
            Some(Inbound::TooLarge) => {
                out.error(ErrorCode::TooLarge, "frame too large").await;
                return out
                    .close(&mut inbound, CLOSE_TOO_BIG, "frame too large")
                    .await;
            }
            Some(Inbound::Malformed(code, reason)) => {
                return out.close(&mut inbound, code, reason).await;
            }
            Some(Inbound::Ping) => {}
            Some(Inbound::Binary) => {
                out.error(ErrorCode::BinaryNotSupported, "send JSON text frames")
                    .await
            }
            Some(Inbound::Text(text)) => match decode_agent(&text) {
                Ok(AgentFrame::Hello { v }) if v == PROTOCOL_VERSION => break,
                Ok(AgentFrame::Hello { v }) => {
                    out.error(
                        ErrorCode::UnsupportedVersion,
                        format!("protocol version {v} is not supported; this server speaks {PROTOCOL_VERSION}"),
                    )
                    .await;
                    return out
                        .close(&mut inbound, CLOSE_POLICY, "unsupported version")
                        .await;
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
            return out.close(&mut inbound, CLOSE_POLICY, "rate limited").await;
        }
    }

    // Subscribe before reading the store, so nothing committed in between is missed.
    let mut events = state.hub.subscribe(state.settings.agent_queue);
    events.follow(Topic::Agents);
    let presence = Presence::enter(&state, &agent, &token_hash).await;
    match welcome(&state, &agent).await {
        Ok(frame) => out.send(frame).await,
        Err(e) => {
            tracing::error!(error = %e, "listing conversations failed");
            out.error(ErrorCode::Internal, "could not load the inbox")
                .await;
            return out.close(&mut inbound, 1011, "internal error").await;
        }
    }
    let mut session = Session {
        state,
        out,
        agent,
        token_hash,
        presence,
        following: HashMap::new(),
        events,
    };

    let mut shutdown = session.state.shutdown.subscribe();
    shutdown.mark_changed(); // checked once at once, in case stopping began before
    loop {
        if !session.out.open {
            return;
        }
        // Conversations dropped from `following` (the oldest, past MAX_OPEN) stop being heard.
        session
            .events
            .follow_conversations(session.following.keys().copied());
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
            Wake::Text(text) => match decode_agent(&text) {
                Ok(AgentFrame::Open {
                    conversation,
                    after_seq,
                }) => session.open(conversation, after_seq).await,
                Ok(AgentFrame::Send {
                    id,
                    conversation,
                    body,
                    attachments,
                }) => session.send(id, conversation, body, attachments).await,
                Ok(AgentFrame::Typing { conversation, on }) => {
                    session.state.hub.publish(HubEvent::Typing {
                        conversation,
                        from: Author::Agent {
                            id: session.agent.id,
                            name: session.agent.name.clone(),
                        },
                        on,
                    });
                }
                Ok(AgentFrame::Read { conversation, seq }) => {
                    match session
                        .state
                        .store
                        .mark_read(conversation, ReadBy::Agent, seq)
                        .await
                    {
                        Ok(()) => session.state.hub.publish(HubEvent::Read {
                            conversation,
                            by: Reader::Agent,
                            seq,
                        }),
                        Err(e) => tracing::error!(error = %e, "marking as read failed"),
                    }
                }
                Ok(AgentFrame::Assign {
                    conversation,
                    agent,
                }) => session.assign(conversation, agent).await,
                Ok(AgentFrame::SetPriority {
                    conversation,
                    priority,
                }) => session.set_priority(conversation, priority).await,
                Ok(AgentFrame::Note {
                    id,
                    conversation,
                    body,
                }) => session.note(id, conversation, body).await,
                Ok(AgentFrame::SetLabels {
                    conversation,
                    labels,
                }) => session.set_labels(conversation, labels).await,
                Ok(AgentFrame::SetTeam { conversation, team }) => {
                    session.set_team(conversation, team).await
                }
                Ok(AgentFrame::Presence { status }) => {
                    let status = if status == PresenceStatus::Offline {
                        PresenceStatus::Away
                    } else {
                        status
                    };
                    session.state.presence.set_status(session.agent.id, status);
                    session.state.hub.publish(HubEvent::Presence);
                    if status == PresenceStatus::Online {
                        crate::assign::drain_queue(&session.state).await;
                    }
                    crate::assign::publish_agents(&session.state).await;
                }
                Ok(AgentFrame::Resolve { conversation }) => {
                    session.set_status(conversation, Status::Resolved).await
                }
                Ok(AgentFrame::Reopen { conversation }) => {
                    session.set_status(conversation, Status::Open).await
                }
                Ok(AgentFrame::Hello { .. }) => {
                    session
                        .out
                        .error(ErrorCode::InvalidField, "hello was already received")
                        .await;
                }
                Err(e) => session.out.frame_error(e).await,
            },
            Wake::Limited(text, wait) => {
                let id = match decode_agent(&text) {
                    Ok(AgentFrame::Send { id, .. } | AgentFrame::Note { id, .. }) => Some(id),
                    _ => None,
                };
                let refusal =
                    ServerFrame::rate_limited("too many frames; slow down", id, wait.millis());
                session.out.send(refusal).await;
            }
            Wake::Event(event) => session.on_event(HubEvent::clone(&event)).await,
            Wake::Lagged => session.resync().await,
        }
    }
}
