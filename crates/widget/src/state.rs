//! The widget's chat state as a pure reducer: `apply(action)` changes the state and returns the
//! effects the shell must perform (send a frame, store the token, reconnect later).
//!
//! Guarantees kept here: a message typed offline is queued and sent on reconnect with the same
//! client id (the server dedupes); messages from the server are applied once, in sequence order.

use protocol::{Author, ErrorCode, PROTOCOL_VERSION, ServerFrame, VisitorFrame};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Shown optimistically, not yet acknowledged.
    Pending,
    /// Durably stored by the server.
    Sent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: String,
    pub seq: Option<u64>,
    pub author: Author,
    pub body: String,
    pub at: Option<i64>,
    pub delivery: Delivery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Online,
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    RateLimited,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatState {
    pub site: String,
    pub token: Option<String>,
    pub locale: Option<String>,
    pub page_url: Option<String>,
    pub last_seq: u64,
    pub lines: Vec<Line>,
    pub connection: Connection,
    /// Failed connection attempts since the last success (drives the backoff).
    pub attempts: u32,
    pub agent_typing: Option<String>,
    pub notice: Option<Notice>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The socket opened.
    Opened,
    /// A frame arrived.
    Frame(ServerFrame),
    /// The socket closed or failed. `jitter` in [0, 1) spreads reconnects out.
    Closed { jitter: f64 },
    /// The customer sent a message with a fresh client id.
    Compose { id: String, body: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(VisitorFrame),
    StoreToken(String),
    ReconnectAfter { ms: u32 },
}

use protocol::reconnect_delay_ms as backoff_ms;

impl ChatState {
    pub fn new(
        site: String,
        token: Option<String>,
        locale: Option<String>,
        page_url: Option<String>,
    ) -> Self {
        ChatState {
            site,
            token,
            locale,
            page_url,
            last_seq: 0,
            lines: Vec::new(),
            connection: Connection::Connecting,
            attempts: 0,
            agent_typing: None,
            notice: None,
        }
    }

    fn pending(&self) -> impl Iterator<Item = &Line> {
        self.lines
            .iter()
            .filter(|l| l.delivery == Delivery::Pending)
    }

    pub fn apply(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Opened => vec![Effect::Send(VisitorFrame::Hello {
                v: PROTOCOL_VERSION,
                site: self.site.clone(),
                token: self.token.clone(),
                last_seq: self.last_seq,
                locale: self.locale.clone(),
                page_url: self.page_url.clone(),
            })],
            Action::Closed { jitter } => {
                self.connection = Connection::Offline;
                self.agent_typing = None;
                self.attempts += 1;
                vec![Effect::ReconnectAfter {
                    ms: backoff_ms(self.attempts, jitter),
                }]
            }
            Action::Compose { id, body } => {
                let body = body.trim().to_owned();
                if body.is_empty() {
                    return Vec::new();
                }
                self.lines.push(Line {
                    id: id.clone(),
                    seq: None,
                    author: Author::Visitor,
                    body: body.clone(),
                    at: None,
                    delivery: Delivery::Pending,
                });
                if self.connection == Connection::Online {
                    vec![Effect::Send(VisitorFrame::Send { id, body })]
                } else {
                    Vec::new()
                }
            }
            Action::Frame(frame) => self.on_frame(frame),
        }
    }

    fn on_frame(&mut self, frame: ServerFrame) -> Vec<Effect> {
        let mut effects = Vec::new();
        match frame {
            ServerFrame::Welcome { token, .. } => {
                self.connection = Connection::Online;
                self.attempts = 0;
                self.notice = None;
                if let Some(token) = token {
                    // A new identity: whatever history we showed belonged to another one.
                    if self.token.is_some() {
                        self.lines.retain(|l| l.delivery == Delivery::Pending);
                        self.last_seq = 0;
                    }
                    self.token = Some(token.clone());
                    effects.push(Effect::StoreToken(token));
                }
                // Resend everything not yet acknowledged, in order, with the same ids.
                for line in self.pending() {
                    effects.push(Effect::Send(VisitorFrame::Send {
                        id: line.id.clone(),
                        body: line.body.clone(),
                    }));
                }
            }
            ServerFrame::Ack { id, seq, at, .. } => {
                if let Some(line) = self
                    .lines
                    .iter_mut()
                    .find(|l| l.id == id && l.author == Author::Visitor)
                {
                    line.delivery = Delivery::Sent;
                    line.seq = Some(seq);
                    line.at = Some(at);
                }
                self.sort();
            }
            ServerFrame::Message(m) => {
                if m.seq <= self.last_seq {
                    return effects; // already applied (replay overlap)
                }
                self.last_seq = m.seq;
                if m.author != Author::Visitor {
                    self.agent_typing = None;
                }
                let mine = self
                    .lines
                    .iter_mut()
                    .find(|l| l.author == m.author && l.id == m.id && m.author == Author::Visitor);
                match mine {
                    Some(line) => {
                        line.seq = Some(m.seq);
                        line.at = Some(m.at);
                        line.delivery = Delivery::Sent;
                    }
                    None => self.lines.push(Line {
                        id: m.id,
                        seq: Some(m.seq),
                        author: m.author,
                        body: m.body,
                        at: Some(m.at),
                        delivery: Delivery::Sent,
                    }),
                }
                self.sort();
            }
            ServerFrame::Typing {
                from: Author::Agent { name, .. },
                on,
                ..
            } => {
                self.agent_typing = on.then_some(name);
            }
            ServerFrame::Error { code, .. } => {
                self.notice = Some(match code {
                    ErrorCode::RateLimited => Notice::RateLimited,
                    _ => Notice::Error,
                });
            }
            _ => {}
        }
        effects
    }

    /// Stored messages in sequence order, then pending ones in the order they were typed.
    fn sort(&mut self) {
        self.lines.sort_by_key(|l| l.seq.unwrap_or(u64::MAX));
    }
}

#[cfg(test)]
mod tests {
    //! Run natively by `cargo test` and as wasm by `cargo xtask test` (wasm-bindgen-test-runner).
    use super::*;
    use protocol::Message;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn state() -> ChatState {
        ChatState::new("demo".into(), None, Some("en".into()), None)
    }

    fn welcome(token: Option<&str>) -> Action {
        Action::Frame(ServerFrame::Welcome {
            v: 1,
            token: token.map(str::to_owned),
            conversation: None,
            last_seq: 0,
        })
    }

    fn message(seq: u64, id: &str, author: Author, body: &str) -> Action {
        Action::Frame(ServerFrame::Message(Message {
            conversation: 1,
            seq,
            id: id.into(),
            author,
            body: body.into(),
            at: 1000 + seq as i64,
        }))
    }

    fn agent() -> Author {
        Author::Agent {
            id: 1,
            name: "Ana".into(),
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn first_connection_stores_the_token() {
        let mut s = state();
        assert!(matches!(
            &s.apply(Action::Opened)[..],
            [Effect::Send(VisitorFrame::Hello {
                token: None,
                last_seq: 0,
                ..
            })]
        ));
        assert_eq!(
            s.apply(welcome(Some("t1"))),
            vec![Effect::StoreToken("t1".into())]
        );
        assert_eq!(s.connection, Connection::Online);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn offline_messages_are_queued_and_resent_once_online() {
        let mut s = state();
        assert_eq!(
            s.apply(Action::Compose {
                id: "a".into(),
                body: "hello ".into()
            }),
            vec![]
        );
        assert_eq!(s.lines[0].delivery, Delivery::Pending);
        assert_eq!(s.lines[0].body, "hello");
        let effects = s.apply(welcome(Some("t")));
        assert_eq!(
            effects[1],
            Effect::Send(VisitorFrame::Send {
                id: "a".into(),
                body: "hello".into()
            })
        );
        s.apply(Action::Frame(ServerFrame::Ack {
            id: "a".into(),
            conversation: 1,
            seq: 1,
            at: 5,
        }));
        assert_eq!(s.lines[0].delivery, Delivery::Sent);
        // Disconnect and reconnect: nothing left to resend.
        s.apply(Action::Closed { jitter: 0.5 });
        assert_eq!(s.apply(welcome(None)), vec![]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn replayed_and_echoed_messages_apply_once_in_order() {
        let mut s = state();
        s.apply(welcome(Some("t")));
        s.apply(Action::Compose {
            id: "a".into(),
            body: "hi".into(),
        });
        s.apply(message(1, "a", Author::Visitor, "hi"));
        s.apply(message(2, "r", agent(), "hello!"));
        s.apply(message(2, "r", agent(), "hello!")); // replay overlap after a reconnect
        s.apply(message(1, "a", Author::Visitor, "hi"));
        s.apply(Action::Frame(ServerFrame::Ack {
            id: "a".into(),
            conversation: 1,
            seq: 1,
            at: 5,
        }));
        let seqs: Vec<_> = s.lines.iter().map(|l| (l.seq, l.body.as_str())).collect();
        assert_eq!(seqs, vec![(Some(1), "hi"), (Some(2), "hello!")]);
        assert_eq!(s.last_seq, 2);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn another_tabs_message_appears() {
        let mut s = state();
        s.apply(welcome(None));
        s.apply(message(1, "other-tab", Author::Visitor, "from tab 2"));
        assert_eq!(s.lines.len(), 1);
        assert_eq!(s.lines[0].delivery, Delivery::Sent);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn backoff_grows_is_capped_and_jittered() {
        assert_eq!(backoff_ms(1, 0.5), 500);
        assert_eq!(backoff_ms(2, 0.5), 1000);
        assert_eq!(backoff_ms(20, 0.5), 30_000);
        assert_eq!(backoff_ms(1, 0.0), 375);
        assert_eq!(backoff_ms(1, 1.0), 625);
        let mut s = state();
        assert_eq!(
            s.apply(Action::Closed { jitter: 0.5 }),
            vec![Effect::ReconnectAfter { ms: 500 }]
        );
        assert_eq!(s.connection, Connection::Offline);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn errors_become_visible_notices() {
        let mut s = state();
        s.apply(Action::Frame(ServerFrame::error(
            ErrorCode::RateLimited,
            "slow down",
        )));
        assert_eq!(s.notice, Some(Notice::RateLimited));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn typing_indicator_clears_on_the_agents_message() {
        let mut s = state();
        s.apply(Action::Frame(ServerFrame::Typing {
            conversation: 1,
            from: agent(),
            on: true,
        }));
        assert_eq!(s.agent_typing.as_deref(), Some("Ana"));
        s.apply(message(1, "r", agent(), "done"));
        assert_eq!(s.agent_typing, None);
    }
}
