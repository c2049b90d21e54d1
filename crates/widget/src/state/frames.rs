//! What the server's frames do to the widget's state: the welcome and history, acks, messages,
//! typing, read receipts, status changes (resolved, rated), availability, saved details, errors.

use super::*;

impl ChatState {
    pub(super) fn on_frame(&mut self, frame: ServerFrame) -> Vec<Effect> {
        let mut effects = Vec::new();
        match frame {
            ServerFrame::Welcome {
                token,
                conversation,
                availability,
                rate_pending,
                ..
            } => {
                self.connection = Connection::Online;
                self.attempts = 0;
                self.notice = None;
                self.availability = availability;
                if let Some(token) = token {
                    // A new identity: whatever history we showed belonged to another one.
                    if self.token.is_some() {
                        self.lines.retain(|l| l.delivery == Delivery::Pending);
                        self.last_seq = 0;
                    }
                    self.token = Some(token.clone());
                    effects.push(Effect::StoreToken(token));
                }
                if conversation != self.conversation {
                    self.lines.retain(|l| l.delivery == Delivery::Pending);
                    self.last_seq = 0;
                }
                self.conversation = conversation;
                if std::mem::take(&mut self.had_conversation) && conversation.is_none() {
                    // Resolved meanwhile: the next page load needs no socket.
                    effects.push(Effect::RememberConversation(false));
                }
                if conversation.is_some() && self.screen == Screen::Home && self.query.is_empty() {
                    self.screen = Screen::Chat; // continue the conversation after a reload
                }
                if rate_pending && conversation.is_none() && !self.rated {
                    self.screen = Screen::Rate;
                }
                // Resend everything not yet acknowledged, in order, with the same ids.
                effects.extend(self.resend_pending());
                if let Some(details) = self.pending_contact.take() {
                    effects.push(Effect::Send(VisitorFrame::Contact(details)));
                }
            }
            ServerFrame::Ack {
                id,
                seq,
                at,
                conversation,
            } => {
                self.conversation = Some(conversation);
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
                self.conversation = Some(m.conversation);
                self.last_seq = m.seq;
                let from_agent = m.author != Author::Visitor;
                if from_agent {
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
                        attachments: m.attachments,
                    }),
                }
                self.sort();
                if from_agent {
                    if self.visible && self.screen == Screen::Chat {
                        effects.extend(self.read_receipt());
                    } else {
                        self.unread += 1;
                        effects.push(Effect::Unread(self.unread));
                        if !self.muted {
                            effects.push(Effect::Chime);
                        }
                    }
                }
            }
            ServerFrame::Typing {
                from: Author::Agent { name, .. },
                on,
                ..
            } => {
                self.agent_typing = on.then_some(name);
            }
            ServerFrame::Read {
                seq,
                by: Reader::Agent,
                ..
            } => {
                self.agent_read = self.agent_read.max(seq);
            }
            ServerFrame::Status {
                conversation,
                status,
            } => match status {
                ConversationStatus::Resolved if Some(conversation) == self.conversation => {
                    self.conversation = None;
                    self.agent_typing = None;
                    self.rated = false;
                    self.screen = Screen::Rate;
                }
                ConversationStatus::Open => {
                    self.conversation = Some(conversation);
                    self.screen = Screen::Chat;
                }
                ConversationStatus::Resolved => {}
            },
            ServerFrame::Availability(availability) => self.availability = availability,
            ServerFrame::Saved { what } => match what {
                Saved::Rating => self.rated = true,
                Saved::Contact => self.contact_saved = true,
                Saved::Deflection => {}
            },
            ServerFrame::Error {
                code: ErrorCode::IdentityNotVerified,
                message,
                ..
            } => effects.push(Effect::Warn(message)),
            ServerFrame::Error {
                code: ErrorCode::Overloaded,
                retry_after_ms: Some(ms),
                ..
            } => {
                self.notice = Some(Notice::Overloaded);
                if self.pending().next().is_some() {
                    effects.push(Effect::RetryAfter { ms });
                }
            }
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                id,
                retry_after_ms: Some(ms),
                ..
            } => {
                if self.connection == Connection::Online {
                    self.notice = Some(if id.is_some() {
                        Notice::RateLimited
                    } else {
                        Notice::Busy
                    });
                    if self.pending().next().is_some() {
                        effects.push(Effect::RetryAfter { ms });
                    }
                } else {
                    // Refused before the welcome: wait that long before reconnecting.
                    self.notice = Some(Notice::Busy);
                    self.hold_ms = ms;
                }
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
}
