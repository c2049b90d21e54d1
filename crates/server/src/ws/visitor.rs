//! A visitor's session: hello (identify or issue a token), replay after the last seen sequence,
//! then send/ack and live delivery, gap-free and without duplicates.

use super::session::{
    CLOSE_POLICY, CLOSE_TOO_BIG, HELLO_TIMEOUT, Inbound, Out, Outbound, frame_limit,
};
use crate::auth::{new_token, token_hash};
use crate::hub::HubEvent;
use crate::{AppState, convert, now_millis};
use futures_util::{Sink, Stream, StreamExt};
use protocol::{Author, ErrorCode, PROTOCOL_VERSION, ServerFrame, VisitorFrame, decode_visitor};
use store::{ConversationContext, NewMessage, Visitor};
use tokio::sync::broadcast::error::RecvError;

const REPLAY_PAGE: u32 = 200;

struct Session<O> {
    state: AppState,
    out: Out<O>,
    visitor: Visitor,
    context: ConversationContext,
    conversation: Option<i64>,
    /// Highest sequence number this client has (sent to it, or reported in `hello`).
    delivered: u64,
}

impl<O: Sink<Outbound> + Unpin> Session<O> {
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

    async fn send_message(&mut self, id: String, body: String) {
        let store = &self.state.store;
        let conversation = match self.conversation {
            Some(c) => c,
            None => {
                match store
                    .open_or_create_conversation(&self.visitor, &self.context, now_millis())
                    .await
                {
                    Ok(c) => {
                        self.conversation = Some(c.id);
                        c.id
                    }
                    Err(e) => return self.internal(id, e).await,
                }
            }
        };
        let appended = match store
            .append_message(NewMessage {
                conversation_id: conversation,
                client_id: &id,
                agent_id: None,
                body: &body,
                at: now_millis(),
            })
            .await
        {
            Ok(a) => a,
            Err(e) => return self.internal(id, e).await,
        };
        // Stored and committed: now, and only now, acknowledge.
        self.out
            .send(ServerFrame::Ack {
                id,
                conversation,
                seq: appended.message.seq,
                at: appended.message.at,
            })
            .await;
        if !appended.duplicate {
            self.state.hub.publish(HubEvent::Message {
                conversation,
                visitor: self.visitor.id,
            });
            if let Ok(Some(c)) = store.conversation(conversation).await {
                self.state
                    .hub
                    .publish(HubEvent::Conversation(convert::summary(c)));
            }
        }
        self.catch_up().await;
    }

    async fn internal(&mut self, id: String, e: store::StoreError) {
        tracing::error!(error = %e, "storing a visitor message failed");
        self.out
            .send(ServerFrame::Error {
                code: ErrorCode::Internal,
                message: "the message was not stored; it will be retried".into(),
                id: Some(id),
            })
            .await;
    }

    async fn on_event(&mut self, event: HubEvent) {
        match event {
            HubEvent::Message {
                visitor,
                conversation,
            } if visitor == self.visitor.id => {
                self.conversation.get_or_insert(conversation);
                if self.conversation == Some(conversation) {
                    self.catch_up().await;
                }
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
            _ => {}
        }
    }
}

pub async fn run<I, O>(state: AppState, mut inbound: I, sink: O)
where
    I: Stream<Item = Inbound> + Unpin + Send,
    O: Sink<Outbound> + Unpin + Send,
{
    let mut out = Out::new(sink);
    let mut limit = frame_limit();
    // 1. Wait for hello.
    let (site, token, last_seq, locale, page_url) = loop {
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
                        return out
                            .close(&mut inbound, CLOSE_POLICY, "unsupported version")
                            .await;
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
        if !limit.allow() {
            out.error(ErrorCode::RateLimited, "too many frames").await;
            return out.close(&mut inbound, CLOSE_POLICY, "rate limited").await;
        }
    };

    // 2. Identify the visitor, or issue a new identity.
    let store = state.store.clone();
    let known = match &token {
        Some(t) => match store.visitor(&token_hash(t)).await {
            Ok(v) => v.filter(|v| v.site == site),
            Err(e) => {
                tracing::error!(error = %e, "visitor lookup failed");
                None
            }
        },
        None => None,
    };
    let (visitor, new_token, resumed) = match known {
        Some(v) => (v, None, true),
        None => {
            let fresh = new_token();
            match store
                .create_visitor(&token_hash(&fresh), &site, now_millis())
                .await
            {
                Ok(v) => (v, Some(fresh), false),
                Err(e) => {
                    tracing::error!(error = %e, "creating a visitor failed");
                    out.error(ErrorCode::Internal, "try again shortly").await;
                    return out.close(&mut inbound, 1011, "internal error").await;
                }
            }
        }
    };
    // Subscribe before reading the store, so nothing committed in between is missed.
    let mut events = state.hub.subscribe();
    let conversation = store.open_conversation(visitor.id).await.ok().flatten();
    let server_last = conversation.as_ref().map_or(0, |c| c.last_seq);
    let mut session = Session {
        state,
        out,
        visitor,
        context: ConversationContext { page_url, locale },
        conversation: conversation.map(|c| c.id),
        delivered: if resumed {
            last_seq.min(server_last)
        } else {
            0
        },
    };
    session
        .out
        .send(ServerFrame::Welcome {
            v: PROTOCOL_VERSION,
            token: new_token,
            conversation: session.conversation,
            last_seq: server_last,
        })
        .await;
    session.catch_up().await;

    // 3. Live.
    loop {
        if !session.out.open {
            return;
        }
        tokio::select! {
            item = inbound.next() => {
                let Some(item) = item else { return };
                if !limit.allow() {
                    session.out.error(ErrorCode::RateLimited, "too many frames; slow down").await;
                    continue;
                }
                match item {
                    Inbound::Closed => return session.out.close(&mut inbound, 1000, "bye").await,
                    Inbound::TooLarge => {
                        session.out.error(ErrorCode::TooLarge, "frame too large").await;
                        return session.out.close(&mut inbound, CLOSE_TOO_BIG, "frame too large").await;
                    }
                    Inbound::Binary => {
                        session.out.error(ErrorCode::BinaryNotSupported, "send JSON text frames").await;
                    }
                    Inbound::Text(text) => match decode_visitor(&text) {
                        Ok(VisitorFrame::Send { id, body }) => session.send_message(id, body).await,
                        Ok(VisitorFrame::Typing { on }) => {
                            if let Some(conversation) = session.conversation {
                                session.state.hub.publish(HubEvent::Typing {
                                    conversation,
                                    from: Author::Visitor,
                                    on,
                                });
                            }
                        }
                        Ok(VisitorFrame::Hello { .. }) => {
                            session.out.error(ErrorCode::InvalidField, "hello was already received").await;
                        }
                        Err(e) => session.out.frame_error(e).await,
                    },
                }
            }
            event = events.recv() => match event {
                Ok(event) => session.on_event(event).await,
                Err(RecvError::Lagged(_)) => session.catch_up().await,
                Err(RecvError::Closed) => return,
            }
        }
    }
}
