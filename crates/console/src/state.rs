//! The console's state as a pure reducer: inbox list, per-conversation threads (applied once, in
//! sequence order), replies queued while offline and resent with the same ids.

use protocol::{
    AgentFrame, AgentInfo, AgentPresence, Author, CannedResponse, ConversationStatus,
    ConversationSummary, Note, PROTOCOL_VERSION, PresenceStatus, Priority, ServerFrame,
    reconnect_delay_ms,
};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    SignedOut,
    Connecting,
    Online,
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: String,
    pub seq: Option<u64>,
    pub author: Author,
    pub body: String,
    pub at: Option<i64>,
    /// Files sent with the message.
    pub attachments: Vec<protocol::Attachment>,
}

impl Line {
    pub fn pending(&self) -> bool {
        self.seq.is_none()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thread {
    pub last_seq: u64,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleState {
    pub agent: Option<AgentInfo>,
    pub connection: Connection,
    pub attempts: u32,
    /// Open conversations, most recently updated first.
    pub conversations: Vec<ConversationSummary>,
    pub selected: Option<i64>,
    pub threads: BTreeMap<i64, Thread>,
    pub visitor_typing: BTreeMap<i64, bool>,
    pub last_error: Option<String>,
    pub view: View,
    pub agents: Vec<AgentPresence>,
    pub canned: Vec<CannedResponse>,
    pub notes: BTreeMap<i64, Vec<Note>>,
    pub status: PresenceStatus,
    /// New customer messages not yet seen, per conversation (drives the tab title).
    pub unseen: BTreeMap<i64, u32>,
    /// Every team known to the server.
    pub teams: Vec<String>,
    /// Only conversations with this label are listed.
    pub label_filter: Option<String>,
    /// The largest attachment the server takes (0: not known yet).
    pub max_attachment_bytes: u64,
}

/// The inbox views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Unassigned,
    Mine,
    All,
    /// Open, and the newest message is from an agent: waiting on the customer.
    Pending,
    Resolved,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Unassigned,
        View::Mine,
        View::All,
        View::Pending,
        View::Resolved,
    ];

    pub fn label(self) -> &'static str {
        match self {
            View::Unassigned => "Unassigned",
            View::Mine => "Mine",
            View::All => "All open",
            View::Pending => "Pending",
            View::Resolved => "Resolved",
        }
    }
}

/// Expands a canned response typed as `/shortcut` (the whole draft), filling `{{name}}` and
/// `{{agent}}`.
pub fn expand_canned(
    draft: &str,
    canned: &[CannedResponse],
    name: Option<&str>,
    agent: &str,
) -> Option<String> {
    let shortcut = draft.trim().strip_prefix('/')?;
    canned
        .iter()
        .find(|c| c.shortcut.eq_ignore_ascii_case(shortcut))
        .map(|c| protocol::fill_canned(&c.body, name, agent))
}

// Actions are applied one at a time; boxing the frame would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    SignedIn(AgentInfo),
    SignedOut,
    Opened,
    Frame(ServerFrame),
    Closed {
        jitter: f64,
    },
    Select(i64),
    /// A reply, with the files uploaded for it (the body may then be empty).
    Reply {
        id: String,
        body: String,
        attachments: Vec<protocol::Attachment>,
    },
    Resolve(i64),
    Reopen(i64),
    SetView(View),
    /// Next (+1) or previous (-1) conversation in the current view.
    Move(i32),
    Assign {
        conversation: i64,
        agent: Option<i64>,
    },
    SetPriority {
        conversation: i64,
        priority: Priority,
    },
    Note {
        id: String,
        body: String,
    },
    SetStatus(PresenceStatus),
    SetLabels {
        conversation: i64,
        labels: Vec<String>,
    },
    SetTeam {
        conversation: i64,
        team: Option<String>,
    },
    /// List only conversations with this label (`None`: all).
    FilterLabel(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A customer wrote in a conversation that is mine or unassigned, and it is not on screen.
    Notify {
        conversation: i64,
        body: String,
    },
    Connect,
    Send(AgentFrame),
    ReconnectAfter {
        ms: u32,
    },
}

impl Default for ConsoleState {
    fn default() -> Self {
        ConsoleState {
            agent: None,
            connection: Connection::SignedOut,
            attempts: 0,
            conversations: Vec::new(),
            selected: None,
            threads: BTreeMap::new(),
            visitor_typing: BTreeMap::new(),
            last_error: None,
            view: View::All,
            agents: Vec::new(),
            canned: Vec::new(),
            notes: BTreeMap::new(),
            status: PresenceStatus::Online,
            unseen: BTreeMap::new(),
            teams: Vec::new(),
            label_filter: None,
            max_attachment_bytes: 0,
        }
    }
}

impl ConsoleState {
    pub fn thread(&self, id: i64) -> Option<&Thread> {
        self.threads.get(&id)
    }

    fn me(&self) -> Option<i64> {
        self.agent.as_ref().map(|a| a.id)
    }

    /// Whether a conversation belongs in `view`.
    pub fn in_view(&self, c: &ConversationSummary, view: View) -> bool {
        let open = c.status == ConversationStatus::Open;
        if let Some(label) = &self.label_filter
            && !c.labels.contains(label)
        {
            return false;
        }
        match view {
            View::Unassigned => open && c.assignee.is_none(),
            View::Mine => open && c.assignee.as_ref().map(|a| a.id) == self.me(),
            View::All => open,
            View::Pending => open && c.waiting_on_customer,
            View::Resolved => !open,
        }
    }

    /// The current view's conversations: by the earliest pending SLA deadline (so overdue
    /// ones come first), then priority, then latest activity.
    pub fn visible(&self) -> Vec<&ConversationSummary> {
        self.listed(self.view)
    }

    pub fn listed(&self, view: View) -> Vec<&ConversationSummary> {
        let mut list: Vec<&ConversationSummary> = self
            .conversations
            .iter()
            .filter(|c| self.in_view(c, view))
            .collect();
        let due = |c: &ConversationSummary| c.next_deadline().map_or(i64::MAX, |(_, d)| d);
        list.sort_by(|a, b| {
            due(a)
                .cmp(&due(b))
                .then(b.priority.cmp(&a.priority))
                .then(b.updated_at.cmp(&a.updated_at))
                .then(b.id.cmp(&a.id))
        });
        list
    }

    fn select(&mut self, id: i64) -> Vec<Effect> {
        self.selected = Some(id);
        self.unseen.remove(&id);
        let after_seq = self.threads.entry(id).or_default().last_seq;
        if self.connection == Connection::Online {
            vec![Effect::Send(AgentFrame::Open {
                conversation: id,
                after_seq,
            })]
        } else {
            Vec::new()
        }
    }

    fn upsert(&mut self, summary: ConversationSummary) {
        self.conversations.retain(|c| c.id != summary.id);
        self.conversations.push(summary);
        self.conversations
            .sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
    }

    pub fn apply(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::SignedIn(agent) => {
                self.agent = Some(agent);
                self.connection = Connection::Connecting;
                vec![Effect::Connect]
            }
            Action::SignedOut => {
                *self = ConsoleState::default();
                Vec::new()
            }
            Action::Opened => vec![Effect::Send(AgentFrame::Hello {
                v: PROTOCOL_VERSION,
            })],
            Action::Closed { jitter } => {
                if self.connection == Connection::SignedOut {
                    return Vec::new();
                }
                self.connection = Connection::Offline;
                self.attempts += 1;
                vec![Effect::ReconnectAfter {
                    ms: reconnect_delay_ms(self.attempts, jitter),
                }]
            }
            Action::Select(id) => self.select(id),
            Action::SetView(view) => {
                self.view = view;
                Vec::new()
            }
            Action::Move(delta) => {
                let ids: Vec<i64> = self.visible().iter().map(|c| c.id).collect();
                if ids.is_empty() {
                    return Vec::new();
                }
                let at = self
                    .selected
                    .and_then(|s| ids.iter().position(|&i| i == s))
                    .map_or(if delta > 0 { -1 } else { 0 }, |p| p as i64);
                let next = (at + i64::from(delta)).rem_euclid(ids.len() as i64) as usize;
                self.select(ids[next])
            }
            Action::Assign {
                conversation,
                agent,
            } => {
                vec![Effect::Send(AgentFrame::Assign {
                    conversation,
                    agent,
                })]
            }
            Action::SetPriority {
                conversation,
                priority,
            } => {
                vec![Effect::Send(AgentFrame::SetPriority {
                    conversation,
                    priority,
                })]
            }
            Action::Note { id, body } => {
                let body = body.trim().to_owned();
                match self.selected {
                    Some(conversation) if !body.is_empty() => {
                        vec![Effect::Send(AgentFrame::Note {
                            id,
                            conversation,
                            body,
                        })]
                    }
                    _ => Vec::new(),
                }
            }
            Action::SetLabels {
                conversation,
                labels,
            } => vec![Effect::Send(AgentFrame::SetLabels {
                conversation,
                labels,
            })],
            Action::SetTeam { conversation, team } => {
                vec![Effect::Send(AgentFrame::SetTeam { conversation, team })]
            }
            Action::FilterLabel(label) => {
                self.label_filter = label;
                Vec::new()
            }
            Action::SetStatus(status) => {
                self.status = status;
                vec![Effect::Send(AgentFrame::Presence { status })]
            }
            Action::Resolve(conversation) => {
                vec![Effect::Send(AgentFrame::Resolve { conversation })]
            }
            Action::Reopen(conversation) => vec![Effect::Send(AgentFrame::Reopen { conversation })],
            Action::Reply {
                id,
                body,
                attachments,
            } => {
                let body = body.trim().to_owned();
                let (Some(conversation), Some(agent)) = (self.selected, &self.agent) else {
                    return Vec::new();
                };
                if body.is_empty() && attachments.is_empty() {
                    return Vec::new();
                }
                let ids = attachments.iter().map(|a| a.id.clone()).collect();
                let author = Author::Agent {
                    id: agent.id,
                    name: agent.name.clone(),
                };
                self.threads
                    .entry(conversation)
                    .or_default()
                    .lines
                    .push(Line {
                        id: id.clone(),
                        seq: None,
                        author,
                        body: body.clone(),
                        at: None,
                        attachments,
                    });
                if self.connection == Connection::Online {
                    vec![Effect::Send(AgentFrame::Send {
                        id,
                        conversation,
                        body,
                        attachments: ids,
                    })]
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
            ServerFrame::AgentWelcome {
                agent,
                conversations,
                agents,
                canned,
                teams,
                max_attachment_bytes,
                ..
            } => {
                self.max_attachment_bytes = max_attachment_bytes;
                self.teams = teams;
                self.agents = agents;
                self.canned = canned;
                self.agent = Some(agent);
                self.connection = Connection::Online;
                self.attempts = 0;
                self.conversations.clear();
                for c in conversations {
                    self.upsert(c);
                }
                if let Some(id) = self.selected {
                    let after_seq = self.threads.get(&id).map_or(0, |t| t.last_seq);
                    effects.push(Effect::Send(AgentFrame::Open {
                        conversation: id,
                        after_seq,
                    }));
                }
                for (&conversation, thread) in &self.threads {
                    for line in thread.lines.iter().filter(|l| l.pending()) {
                        effects.push(Effect::Send(AgentFrame::Send {
                            id: line.id.clone(),
                            conversation,
                            body: line.body.clone(),
                            attachments: line.attachments.iter().map(|a| a.id.clone()).collect(),
                        }));
                    }
                }
            }
            ServerFrame::Conversation(summary) => self.upsert(summary),
            ServerFrame::Erased { conversations } => {
                self.conversations
                    .retain(|c| !conversations.contains(&c.id));
                for id in &conversations {
                    self.threads.remove(id);
                    self.notes.remove(id);
                }
                if self.selected.is_some_and(|s| conversations.contains(&s)) {
                    self.selected = None;
                }
            }
            ServerFrame::Agents { agents } => {
                // A team an admin just gave someone is a team to transfer to.
                for t in agents.iter().flat_map(|a| &a.teams) {
                    if !self.teams.contains(t) {
                        self.teams.push(t.clone());
                        self.teams.sort();
                    }
                }
                self.agents = agents;
            }
            ServerFrame::Note(note) => {
                let notes = self.notes.entry(note.conversation).or_default();
                if !notes
                    .iter()
                    .any(|n| n.id == note.id && n.agent.id == note.agent.id)
                {
                    notes.push(note);
                }
            }
            ServerFrame::Message(m) => {
                if m.seq <= self.threads.get(&m.conversation).map_or(0, |t| t.last_seq) {
                    return effects;
                }
                if m.author == Author::Visitor {
                    self.visitor_typing.remove(&m.conversation);
                    let me = self.me();
                    let mine_or_queue = self
                        .conversations
                        .iter()
                        .find(|c| c.id == m.conversation)
                        .is_none_or(|c| {
                            c.assignee.is_none() || c.assignee.as_ref().map(|a| a.id) == me
                        });
                    if self.selected != Some(m.conversation) && mine_or_queue {
                        *self.unseen.entry(m.conversation).or_default() += 1;
                        effects.push(Effect::Notify {
                            conversation: m.conversation,
                            body: m.body.chars().take(140).collect(),
                        });
                    }
                }
                let thread = self.threads.entry(m.conversation).or_default();
                thread.last_seq = m.seq;
                // Our own reply may already be acked (Ack precedes the Message echo): match by
                // author and client id whatever its state, or it would show twice.
                match thread
                    .lines
                    .iter_mut()
                    .find(|l| l.id == m.id && l.author == m.author)
                {
                    Some(line) => {
                        line.seq = Some(m.seq);
                        line.at = Some(m.at);
                    }
                    None => thread.lines.push(Line {
                        id: m.id,
                        seq: Some(m.seq),
                        author: m.author,
                        body: m.body,
                        at: Some(m.at),
                        attachments: m.attachments,
                    }),
                }
                thread.lines.sort_by_key(|l| l.seq.unwrap_or(u64::MAX));
                if self.selected == Some(m.conversation) && self.connection == Connection::Online {
                    effects.push(Effect::Send(AgentFrame::Read {
                        conversation: m.conversation,
                        seq: m.seq,
                    }));
                }
            }
            ServerFrame::Ack {
                id,
                conversation,
                seq,
                at,
            } => {
                if let Some(thread) = self.threads.get_mut(&conversation) {
                    if let Some(line) = thread.lines.iter_mut().find(|l| l.pending() && l.id == id)
                    {
                        line.seq = Some(seq);
                        line.at = Some(at);
                    }
                    thread.lines.sort_by_key(|l| l.seq.unwrap_or(u64::MAX));
                }
            }
            ServerFrame::Typing {
                conversation,
                from: Author::Visitor,
                on,
            } => {
                self.visitor_typing.insert(conversation, on);
            }
            ServerFrame::Error {
                code: protocol::ErrorCode::NotAuthenticated,
                ..
            } => {
                // Disabled, or signed out everywhere: back to the sign-in form.
                *self = ConsoleState::default();
                self.last_error = Some("You were signed out.".into());
            }
            ServerFrame::Error { message, .. } => self.last_error = Some(message),
            _ => {}
        }
        effects
    }
}

#[cfg(test)]
mod tests {
    //! Run natively by `cargo test` and as wasm by `cargo xtask test` (wasm-bindgen-test-runner).
    use super::*;
    use protocol::{ConversationStatus, Message};
    use wasm_bindgen_test::wasm_bindgen_test;

    fn agent() -> AgentInfo {
        AgentInfo {
            id: 1,
            name: "Ana".into(),
            email: "ana@example.com".into(),
            admin: false,
            lead: false,
        }
    }

    fn summary(id: i64, updated_at: i64) -> ConversationSummary {
        ConversationSummary {
            id,
            site: "demo".into(),
            status: ConversationStatus::Open,
            last_seq: 0,
            created_at: 0,
            updated_at,
            preview: None,
            page_url: None,
            locale: None,
            context: None,
            contact_name: None,
            contact_email: None,
            rating: None,
            rating_comment: None,
            visitor_read: 0,
            assignee: None,
            priority: protocol::Priority::Normal,
            first_response_due: None,
            first_response_at: None,
            next_response_due: None,
            resolution_due: None,
            sla_breached_at: None,
            labels: Vec::new(),
            team: None,
            waiting_on_customer: false,
            contact_id: None,
            contact_verified: false,
        }
    }

    fn online(state: &mut ConsoleState, conversations: Vec<ConversationSummary>) -> Vec<Effect> {
        state.apply(Action::Frame(ServerFrame::AgentWelcome {
            v: 1,
            agent: agent(),
            conversations,
            agents: Vec::new(),
            canned: Vec::new(),
            teams: vec!["billing".into()],
            max_attachment_bytes: 1024,
        }))
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn inbox_is_sorted_by_latest_activity_and_updates_live() {
        let mut s = ConsoleState::default();
        assert_eq!(s.apply(Action::SignedIn(agent())), vec![Effect::Connect]);
        online(&mut s, vec![summary(1, 10), summary(2, 30)]);
        let ids: Vec<_> = s.conversations.iter().map(|c| c.id).collect();
        assert_eq!(ids, [2, 1]);
        s.apply(Action::Frame(ServerFrame::Conversation(summary(1, 40))));
        s.apply(Action::Frame(ServerFrame::Conversation(summary(3, 20))));
        let ids: Vec<_> = s.conversations.iter().map(|c| c.id).collect();
        assert_eq!(ids, [1, 2, 3]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn erased_conversations_are_forgotten_and_not_reopened() {
        let mut s = ConsoleState::default();
        s.apply(Action::SignedIn(agent()));
        online(&mut s, vec![summary(1, 10), summary(2, 30)]);
        s.apply(Action::Select(1));
        assert_eq!(s.selected, Some(1));
        s.apply(Action::Frame(ServerFrame::Erased {
            conversations: vec![1],
        }));
        assert_eq!(s.selected, None);
        assert!(!s.threads.contains_key(&1));
        let ids: Vec<_> = s.conversations.iter().map(|c| c.id).collect();
        assert_eq!(ids, [2]);
        // The rebuilt inbox that follows does not open it again.
        let effects = online(&mut s, vec![summary(2, 30)]);
        assert!(
            !effects.iter().any(|e| matches!(
                e,
                Effect::Send(AgentFrame::Open {
                    conversation: 1,
                    ..
                })
            )),
            "{effects:?}"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn selecting_replays_from_the_last_seen_sequence_after_reconnect() {
        let mut s = ConsoleState::default();
        s.apply(Action::SignedIn(agent()));
        online(&mut s, vec![summary(7, 1)]);
        assert_eq!(
            s.apply(Action::Select(7)),
            vec![Effect::Send(AgentFrame::Open {
                conversation: 7,
                after_seq: 0
            })]
        );
        s.apply(Action::Frame(ServerFrame::Message(Message {
            conversation: 7,
            seq: 1,
            id: "v".into(),
            author: Author::Visitor,
            body: "help".into(),
            at: 1,
            attachments: Vec::new(),
        })));
        s.apply(Action::Closed { jitter: 0.0 });
        // Nothing to send: ignored. Only a file: a reply.
        let file = protocol::Attachment {
            id: "f1".into(),
            name: "guide.pdf".into(),
            content_type: "application/pdf".into(),
            size: 9,
            width: None,
            height: None,
        };
        s.apply(Action::Reply {
            id: "r0".into(),
            body: "  ".into(),
            attachments: Vec::new(),
        });
        s.apply(Action::Reply {
            id: "r1".into(),
            body: "".into(),
            attachments: vec![file.clone()],
        });
        assert_eq!(s.thread(7).unwrap().lines[1].attachments, vec![file]);
        let effects = online(&mut s, vec![summary(7, 2)]);
        assert_eq!(s.max_attachment_bytes, 1024, "the server's limit is kept");
        assert_eq!(
            effects,
            vec![
                Effect::Send(AgentFrame::Open {
                    conversation: 7,
                    after_seq: 1
                }),
                Effect::Send(AgentFrame::Send {
                    id: "r1".into(),
                    conversation: 7,
                    body: "".into(),
                    attachments: vec!["f1".into()],
                }),
            ]
        );
        s.apply(Action::Frame(ServerFrame::Ack {
            id: "r1".into(),
            conversation: 7,
            seq: 2,
            at: 3,
        }));
        let thread = s.thread(7).unwrap();
        assert_eq!(
            thread.lines.iter().map(|l| l.seq).collect::<Vec<_>>(),
            [Some(1), Some(2)]
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_reply_acked_before_its_echo_shows_once() {
        let mut s = ConsoleState::default();
        s.apply(Action::SignedIn(agent()));
        online(&mut s, vec![summary(7, 1)]);
        s.apply(Action::Select(7));
        s.apply(Action::Reply {
            id: "r1".into(),
            body: "Hello".into(),
            attachments: Vec::new(),
        });
        s.apply(Action::Frame(ServerFrame::Ack {
            id: "r1".into(),
            conversation: 7,
            seq: 1,
            at: 3,
        }));
        s.apply(Action::Frame(ServerFrame::Message(Message {
            conversation: 7,
            seq: 1,
            id: "r1".into(),
            author: Author::Agent {
                id: 1,
                name: "Ana".into(),
            },
            body: "Hello".into(),
            at: 3,
            attachments: Vec::new(),
        })));
        assert_eq!(s.thread(7).unwrap().lines.len(), 1);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn views_sort_by_earliest_deadline_then_priority() {
        let mut s = ConsoleState::default();
        s.apply(Action::SignedIn(agent()));
        let mut late = summary(1, 10);
        late.first_response_due = Some(500);
        late.resolution_due = Some(9_000);
        let mut breached = summary(2, 5);
        breached.next_response_due = Some(400);
        breached.resolution_due = Some(9_000);
        let mut urgent = summary(3, 1);
        urgent.first_response_due = Some(500);
        urgent.priority = Priority::Urgent;
        let mut mine = summary(4, 1);
        mine.assignee = Some(protocol::AgentRef {
            id: 1,
            name: "Ana".into(),
        });
        mine.waiting_on_customer = true;
        online(&mut s, vec![late, breached, urgent, mine]);
        let ids = |s: &ConsoleState| s.visible().iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(&s), [2, 3, 1, 4]);
        s.apply(Action::SetView(View::Mine));
        assert_eq!(ids(&s), [4]);
        s.apply(Action::SetView(View::Pending));
        assert_eq!(ids(&s), [4]);
        s.apply(Action::SetView(View::Unassigned));
        assert_eq!(ids(&s), [2, 3, 1]);
        // j/k: next and previous in the view, wrapping.
        s.apply(Action::Move(1));
        assert_eq!(s.selected, Some(2));
        s.apply(Action::Move(-1));
        assert_eq!(s.selected, Some(1));
        assert_eq!(
            s.conversations
                .iter()
                .find(|c| c.id == 2)
                .unwrap()
                .next_deadline(),
            Some((protocol::SlaKind::NextResponse, 400))
        );
        // A label filter narrows every view; teams come with the welcome.
        assert_eq!(s.teams, ["billing"]);
        let mut labelled = summary(5, 1);
        labelled.labels = vec!["refund".into()];
        s.apply(Action::Frame(ServerFrame::Conversation(labelled)));
        s.apply(Action::FilterLabel(Some("refund".into())));
        assert_eq!(ids(&s), [5]);
        s.apply(Action::FilterLabel(None));
        assert_eq!(ids(&s), [2, 3, 1, 5]);
        assert_eq!(
            s.apply(Action::SetTeam {
                conversation: 5,
                team: Some("billing".into())
            }),
            vec![Effect::Send(AgentFrame::SetTeam {
                conversation: 5,
                team: Some("billing".into())
            })]
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn canned_responses_expand_with_variables() {
        let canned = vec![protocol::CannedResponse {
            shortcut: "hi".into(),
            title: "Greeting".into(),
            body: "Hi {{name}}, this is {{agent}}.".into(),
        }];
        assert_eq!(
            expand_canned("/hi", &canned, Some("Rita"), "Ana").as_deref(),
            Some("Hi Rita, this is Ana.")
        );
        assert_eq!(
            expand_canned(" /HI ", &canned, None, "Ana").as_deref(),
            Some("Hi there, this is Ana.")
        );
        assert_eq!(expand_canned("/nope", &canned, None, "Ana"), None);
        assert_eq!(expand_canned("hi", &canned, None, "Ana"), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn customer_messages_elsewhere_notify_once() {
        let mut s = ConsoleState::default();
        s.apply(Action::SignedIn(agent()));
        online(&mut s, vec![summary(7, 1), summary(8, 1)]);
        s.apply(Action::Select(8));
        let msg = |seq| {
            Action::Frame(ServerFrame::Message(Message {
                conversation: 7,
                seq,
                id: format!("v{seq}"),
                author: Author::Visitor,
                body: "help".into(),
                at: 1,
                attachments: Vec::new(),
            }))
        };
        assert!(matches!(
            &s.apply(msg(1))[..],
            [Effect::Notify {
                conversation: 7,
                ..
            }]
        ));
        assert!(
            s.apply(msg(1)).is_empty(),
            "a replayed message does not notify again"
        );
        assert_eq!(s.unseen.get(&7), Some(&1));
        s.apply(Action::Select(7));
        assert_eq!(s.unseen.get(&7), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn signing_out_forgets_everything() {
        let mut s = ConsoleState::default();
        s.apply(Action::SignedIn(agent()));
        online(&mut s, vec![summary(1, 1)]);
        s.apply(Action::SignedOut);
        assert_eq!(s, ConsoleState::default());
        assert_eq!(s.apply(Action::Closed { jitter: 0.1 }), vec![]);
    }
}
