//! The widget's state as a pure reducer: `apply(action)` changes the state and returns the effects
//! the shell must perform (send a frame, search, fetch an article, store the token, notify…).
//!
//! Guarantees kept here: a message typed offline is queued and sent on reconnect with the same
//! client id (the server dedupes); messages from the server are applied once, in sequence order;
//! the first message of a conversation carries what the visitor searched, saw and opened.

use protocol::{
    ArticleRef, Author, Availability, ContactDetails, ConversationStatus, ErrorCode, Handoff,
    PROTOCOL_VERSION, Reader, Saved, ServerFrame, SiteConfig, VisitorFrame,
    reconnect_delay_ms as backoff_ms,
};

/// How many suggestions the widget shows.
pub const MAX_SUGGESTIONS: usize = 5;
/// How many article references a handoff carries per list.
const MAX_REFS: usize = 20;

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
    /// Files sent with the message (a file the customer sends is a message of its own).
    pub attachments: Vec<protocol::Attachment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// No socket, and none needed yet: a page view costs the server nothing until the
    /// customer opens the widget, or has a conversation or an unsent message.
    Idle,
    Connecting,
    Online,
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// This visitor's messages are over the limit: they are resent after the wait.
    RateLimited,
    /// A limit on the visitor's network (new visitors, conversations): retried after the wait.
    Busy,
    /// The server is at capacity: the message is resent after the wait.
    Overloaded,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Search box and suggestions.
    Home,
    Article,
    Chat,
    /// The conversation was resolved: rate it.
    Rate,
}

/// One search suggestion: title, and a snippet split into plain and highlighted parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub id: String,
    pub title: String,
    pub url: Option<String>,
    pub snippet: Vec<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenArticle {
    pub id: String,
    pub title: String,
    pub url: Option<String>,
    /// Sanitized HTML rendered at index-build time; `None` while loading.
    pub html: Option<String>,
    pub failed: bool,
    /// The visitor's answer to "Did this answer your question?".
    pub answered: Option<bool>,
}

/// How long without a keystroke makes a query settled: the one the customer stopped at.
pub const SETTLE_MS: u32 = 1_500;

/// The search under way, reported once (`searched`) when it ends: a handoff, an answer on an
/// article, a settled query cleared or replaced by an unrelated one, the widget closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchSession {
    pub query: String,
    pub results: u32,
    pub shown: Vec<String>,
    pub opened: Option<String>,
    pub helpful: Option<bool>,
    /// No keystroke for `SETTLE_MS`, or an article opened: not a query typed past.
    pub settled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatState {
    pub site: String,
    pub token: Option<String>,
    pub locale: Option<String>,
    pub page_url: Option<String>,
    pub user_agent: Option<String>,
    pub config: Option<SiteConfig>,
    pub screen: Screen,

    pub query: String,
    pub suggestions: Vec<Suggestion>,
    /// Keyboard-highlighted suggestion.
    pub highlighted: Option<usize>,
    pub article: Option<OpenArticle>,
    pub shown: Vec<ArticleRef>,
    pub opened: Vec<ArticleRef>,
    /// The query that started the chat (sent as context with the first message).
    pub handoff_query: Option<String>,
    /// Text for the composer when the chat opens (the question typed in the search box), so
    /// the customer does not type it twice; taken once by the shell.
    pub prefill: Option<String>,

    pub conversation: Option<i64>,
    pub last_seq: u64,
    pub lines: Vec<Line>,
    pub connection: Connection,
    /// Failed connection attempts since the last success (drives the backoff).
    pub attempts: u32,
    pub agent_typing: Option<String>,
    pub agent_read: u64,
    pub availability: Availability,
    pub notice: Option<Notice>,

    pub contact_saved: bool,
    /// Contact details given while disconnected, sent once connected.
    pub pending_contact: Option<ContactDetails>,
    pub rated: bool,
    /// The server asked to wait this long before connecting again (refused at `hello`).
    pub hold_ms: u32,
    /// This browser had an open conversation when the page loaded (remembered across pages,
    /// so agents' replies arrive live without the widget being opened).
    pub had_conversation: bool,
    /// Whether the widget is open and the tab visible: the visitor can see new messages.
    pub visible: bool,
    pub unread: u32,
    pub muted: bool,

    /// The shell's clock (ms since the epoch) when the action being applied happened: the
    /// reducer reads no clock of its own.
    pub now: i64,
    pub search: Option<SearchSession>,
    /// The first keystroke in the search box, and the self-help time it led to at the handoff.
    pub search_started: Option<i64>,
    pub searching_ms: Option<u64>,
    /// The customer effort question was answered (or skipped by a new conversation).
    pub effort_sent: bool,
}

// Actions are applied one at a time; boxing the frame would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Config(SiteConfig),
    /// The socket opened.
    Opened,
    Frame(ServerFrame),
    /// The socket closed or failed. `jitter` in [0, 1) spreads reconnects out.
    Closed {
        jitter: f64,
    },
    /// The search box changed.
    Query(String),
    /// `SETTLE_MS` passed since the search box became this query.
    Settled(String),
    /// The customer effort answer, 1 to 7.
    Effort(u8),
    /// Results of the search the shell ran for `query`.
    Suggestions {
        query: String,
        hits: Vec<Suggestion>,
    },
    /// Arrow keys in the search box: +1 down, -1 up.
    Move(i32),
    /// Open the highlighted suggestion (Enter), or the one clicked.
    OpenSuggestion(Option<usize>),
    ArticleLoaded {
        id: String,
        html: Option<String>,
    },
    Back,
    /// "Did this answer your question?"
    Answered(bool),
    StartChat,
    /// The customer sent a message with a fresh client id.
    Compose {
        id: String,
        body: String,
    },
    /// The customer uploaded a file: send it as a message of its own.
    SendFile {
        id: String,
        file: protocol::Attachment,
    },
    SaveContact(ContactDetails),
    Resolve,
    Rate {
        score: u8,
        comment: Option<String>,
    },
    NewConversation,
    Visible(bool),
    ToggleMute,
    /// The wait asked by a `rate_limited` error is over: resend what is still pending.
    Retry,
    /// Messages typed before a reload and never acknowledged (id, body), from the outbox.
    Restore(Vec<(String, String)>),
    /// At load: whether this browser had an open conversation on an earlier page.
    Loaded {
        had_conversation: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(VisitorFrame),
    StoreToken(String),
    ReconnectAfter {
        ms: u32,
    },
    Search(String),
    FetchArticle(String),
    /// A problem in the site's integration, for its developers' console (not the customer).
    Warn(String),
    /// Tell the host page how many messages are unread (launcher badge, title).
    Unread(u32),
    /// A new agent message arrived while the visitor was not looking.
    Chime,
    /// Dispatch `Action::Retry` after this long.
    RetryAfter {
        ms: u32,
    },
    /// The unacknowledged messages (id, body) changed: keep them across a reload.
    SaveOutbox(Vec<(String, String)>),
    /// Open the socket (it was not needed until now).
    Connect,
    /// Whether an open conversation exists changed: remember it for the next page load.
    RememberConversation(bool),
}

/// `text` cut to at most `max` bytes on a character boundary: the protocol bounds the handoff's
/// query and titles in bytes (512), while the search box counts UTF-16 units (200), so a query in
/// a script of three-byte characters (CJK, Devanagari…) would otherwise get the first message
/// refused.
fn fit(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

fn push_ref(list: &mut Vec<ArticleRef>, mut r: ArticleRef) {
    if list.len() < MAX_REFS && !list.iter().any(|a| a.id == r.id) {
        r.title = fit(&r.title, 512);
        list.push(r);
    }
}

impl ChatState {
    pub fn new(
        site: String,
        token: Option<String>,
        locale: Option<String>,
        page_url: Option<String>,
        user_agent: Option<String>,
    ) -> Self {
        ChatState {
            site,
            token,
            locale,
            page_url,
            user_agent,
            config: None,
            screen: Screen::Home,
            query: String::new(),
            suggestions: Vec::new(),
            highlighted: None,
            article: None,
            shown: Vec::new(),
            opened: Vec::new(),
            handoff_query: None,
            prefill: None,
            conversation: None,
            last_seq: 0,
            lines: Vec::new(),
            connection: Connection::Idle,
            attempts: 0,
            agent_typing: None,
            agent_read: 0,
            availability: Availability::default(),
            notice: None,
            contact_saved: false,
            pending_contact: None,
            rated: false,
            hold_ms: 0,
            had_conversation: false,
            visible: false,
            unread: 0,
            muted: false,
            now: 0,
            search: None,
            search_started: None,
            searching_ms: None,
            effort_sent: false,
        }
    }

    /// The search session as a `searched` frame, ending it; nothing for a blank query.
    fn report_search(&mut self, handoff: bool) -> Vec<Effect> {
        match self.search.take() {
            Some(s) if !s.query.trim().is_empty() => vec![Effect::Send(VisitorFrame::Searched {
                // The search box holds at most 200 UTF-16 units: at most 200 characters.
                query: s.query.trim().to_owned(),
                results: s.results,
                shown: s.shown,
                opened: s.opened,
                helpful: s.helpful,
                handoff,
            })],
            _ => Vec::new(),
        }
    }

    fn pending(&self) -> impl Iterator<Item = &Line> {
        self.lines
            .iter()
            .filter(|l| l.delivery == Delivery::Pending)
    }

    /// The context sent with the message that starts a conversation.
    fn handoff(&self) -> Handoff {
        Handoff {
            query: self.handoff_query.clone().filter(|q| !q.trim().is_empty()),
            shown: self.shown.clone(),
            opened: self.opened.clone(),
            user_agent: self.user_agent.clone(),
            searching_ms: self.searching_ms,
        }
    }

    /// Shows the customer's new message at once and sends it when online (else on reconnect).
    fn push_line(
        &mut self,
        id: String,
        body: String,
        attachments: Vec<protocol::Attachment>,
    ) -> Vec<Effect> {
        let first = self.conversation.is_none() && self.pending().next().is_none();
        let line = Line {
            id,
            seq: None,
            author: Author::Visitor,
            body,
            at: None,
            delivery: Delivery::Pending,
            attachments,
        };
        let frame = self.send_frame(&line, first);
        self.lines.push(line);
        self.screen = Screen::Chat;
        if self.connection == Connection::Online {
            vec![Effect::Send(frame)]
        } else {
            Vec::new()
        }
    }

    fn send_frame(&self, line: &Line, first: bool) -> VisitorFrame {
        VisitorFrame::Send {
            id: line.id.clone(),
            body: line.body.clone(),
            context: first.then(|| self.handoff()),
            attachments: line.attachments.iter().map(|a| a.id.clone()).collect(),
        }
    }

    /// Frames for every unacknowledged message; the first carries the handoff context when no
    /// conversation exists yet.
    fn resend_pending(&self) -> Vec<Effect> {
        let mut first = self.conversation.is_none();
        self.pending()
            .map(|line| {
                let frame = self.send_frame(line, first);
                first = false;
                Effect::Send(frame)
            })
            .collect()
    }

    fn read_receipt(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.unread > 0 {
            self.unread = 0;
            effects.push(Effect::Unread(0));
        }
        if self.visible
            && self.screen == Screen::Chat
            && self.connection == Connection::Online
            && let Some(seq) = self.lines.iter().filter_map(|l| l.seq).max()
        {
            effects.push(Effect::Send(VisitorFrame::Read { seq }));
        }
        effects
    }

    /// Only text survives a reload: a file message is lost with the page (its upload is).
    fn outbox(&self) -> Vec<(String, String)> {
        self.pending()
            .filter(|l| l.attachments.is_empty())
            .map(|l| (l.id.clone(), l.body.clone()))
            .collect()
    }

    /// Whether the widget needs its socket: the customer opened it or the chat, has a
    /// conversation (agents' replies must arrive) or messages to send.
    pub fn needs_socket(&self) -> bool {
        self.visible
            || self.screen == Screen::Chat
            || self.conversation.is_some()
            || self.had_conversation
            || self.pending().next().is_some()
    }

    pub fn apply(&mut self, action: Action) -> Vec<Effect> {
        let before = self.pending().count();
        let had = self.conversation.is_some();
        let mut effects = self.reduce(action);
        // Pending lines are only added (compose, restore) or acknowledged, so the count tells
        // when the outbox changed.
        if self.pending().count() != before {
            effects.push(Effect::SaveOutbox(self.outbox()));
        }
        if self.conversation.is_some() != had {
            effects.push(Effect::RememberConversation(self.conversation.is_some()));
        }
        if self.connection == Connection::Idle && self.needs_socket() {
            self.connection = Connection::Connecting;
            effects.push(Effect::Connect);
        }
        effects
    }

    fn reduce(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Config(config) => {
                self.config = Some(config);
                Vec::new()
            }
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
                let hold = std::mem::take(&mut self.hold_ms);
                vec![Effect::ReconnectAfter {
                    ms: backoff_ms(self.attempts, jitter).max(hold),
                }]
            }
            Action::Retry => {
                if self.connection != Connection::Online {
                    return Vec::new(); // the welcome after reconnecting resends
                }
                if matches!(
                    self.notice,
                    Some(Notice::RateLimited | Notice::Busy | Notice::Overloaded)
                ) {
                    self.notice = None;
                }
                self.resend_pending()
            }
            Action::Loaded { had_conversation } => {
                self.had_conversation = had_conversation;
                Vec::new()
            }
            Action::Restore(outbox) => {
                for (id, body) in outbox {
                    if body.trim().is_empty() || self.lines.iter().any(|l| l.id == id) {
                        continue;
                    }
                    self.lines.push(Line {
                        id,
                        seq: None,
                        author: Author::Visitor,
                        body,
                        at: None,
                        delivery: Delivery::Pending,
                        attachments: Vec::new(),
                    });
                    self.screen = Screen::Chat;
                }
                if self.connection == Connection::Online {
                    self.resend_pending()
                } else {
                    Vec::new()
                }
            }
            Action::Query(query) => {
                self.query = query.clone();
                self.highlighted = None;
                // Trimmed only (the server normalizes case and inner spaces; doing it here
                // would add Unicode tables and iterators to the wasm).
                let typed = query.trim();
                // A settled query cleared, or replaced by one that is not a refinement of it
                // (nor it of the new one), ends its session; one typed past never reports.
                let mut effects = match &self.search {
                    Some(s) if s.settled => {
                        let was = s.query.trim();
                        if typed.starts_with(was) || (!typed.is_empty() && was.starts_with(typed)) {
                            Vec::new()
                        } else {
                            self.report_search(false)
                        }
                    }
                    _ => Vec::new(),
                };
                if typed.is_empty() {
                    self.search = None;
                    self.suggestions.clear();
                    return effects;
                }
                self.search_started.get_or_insert(self.now);
                let opened = self.search.take().and_then(|s| s.opened);
                self.search = Some(SearchSession {
                    query: query.clone(),
                    results: 0,
                    shown: Vec::new(),
                    opened,
                    helpful: None,
                    settled: false,
                });
                effects.push(Effect::Search(query));
                effects
            }
            Action::Settled(query) => {
                if let Some(s) = self.search.as_mut().filter(|s| s.query == query) {
                    s.settled = true;
                }
                Vec::new()
            }
            Action::Suggestions { query, mut hits } => {
                if query != self.query {
                    return Vec::new(); // a stale answer for an older keystroke
                }
                hits.truncate(MAX_SUGGESTIONS);
                if let Some(s) = self.search.as_mut().filter(|s| s.query == query) {
                    s.results = hits.len() as u32;
                    s.shown = hits.iter().map(|h| h.id.clone()).collect();
                }
                for hit in &hits {
                    push_ref(
                        &mut self.shown,
                        ArticleRef {
                            id: hit.id.clone(),
                            title: hit.title.clone(),
                        },
                    );
                }
                self.suggestions = hits;
                self.highlighted = None;
                Vec::new()
            }
            Action::Move(delta) => {
                let n = self.suggestions.len() as i32;
                if n > 0 {
                    let current = self.highlighted.map_or(-1, |h| h as i32);
                    self.highlighted = Some((current + delta).rem_euclid(n) as usize);
                }
                Vec::new()
            }
            Action::OpenSuggestion(index) => {
                let Some(hit) = index
                    .or(self.highlighted)
                    .and_then(|i| self.suggestions.get(i))
                else {
                    return Vec::new();
                };
                let hit = hit.clone();
                if let Some(s) = self.search.as_mut() {
                    s.opened = Some(hit.id.clone());
                    s.settled = true;
                }
                push_ref(
                    &mut self.opened,
                    ArticleRef {
                        id: hit.id.clone(),
                        title: hit.title.clone(),
                    },
                );
                self.article = Some(OpenArticle {
                    id: hit.id.clone(),
                    title: hit.title,
                    url: hit.url,
                    html: None,
                    failed: false,
                    answered: None,
                });
                self.screen = Screen::Article;
                vec![Effect::FetchArticle(hit.id)]
            }
            Action::ArticleLoaded { id, html } => {
                if let Some(article) = self.article.as_mut().filter(|a| a.id == id) {
                    article.failed = html.is_none();
                    article.html = html;
                }
                Vec::new()
            }
            Action::Back => {
                self.screen = if self.screen == Screen::Article || self.conversation.is_none() {
                    Screen::Home
                } else {
                    Screen::Chat
                };
                Vec::new()
            }
            Action::Answered(yes) => {
                let Some(article) = self.article.as_mut() else {
                    return Vec::new();
                };
                article.answered = Some(yes);
                let deflected = VisitorFrame::Deflected {
                    query: fit(&self.query, 512),
                    article: article.id.clone(),
                };
                if let Some(s) = self.search.as_mut() {
                    s.helpful = Some(yes);
                }
                if yes {
                    let mut effects = vec![Effect::Send(deflected)];
                    effects.extend(self.report_search(false));
                    effects
                } else {
                    self.apply(Action::StartChat)
                }
            }
            Action::StartChat => {
                let mut effects = self.report_search(true);
                if self.conversation.is_none() && self.lines.is_empty() {
                    self.searching_ms = self
                        .search_started
                        .and_then(|t| u64::try_from(self.now - t).ok())
                        .filter(|ms| *ms <= protocol::MAX_SEARCHING_MS);
                }
                // Before anything is sent, the question is the one typed last.
                let fresh = self.conversation.is_none() && self.lines.is_empty();
                if (fresh || self.handoff_query.is_none()) && !self.query.trim().is_empty() {
                    self.handoff_query = Some(fit(self.query.trim(), 512));
                }
                if fresh {
                    self.prefill = self.handoff_query.clone();
                }
                self.screen = Screen::Chat;
                effects.extend(self.read_receipt());
                effects
            }
            Action::Compose { id, body } => {
                // The server refuses control characters (but newlines and tabs) and what shows
                // nothing: drop the former, ignore the latter.
                let body: String = body
                    .trim()
                    .chars()
                    .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
                    .collect();
                if protocol::is_blank(&body) {
                    return Vec::new();
                }
                self.push_line(id, body, Vec::new())
            }
            Action::SendFile { id, file } => self.push_line(id, String::new(), vec![file]),
            Action::SaveContact(details) => {
                if self.connection == Connection::Online {
                    vec![Effect::Send(VisitorFrame::Contact(details))]
                } else {
                    self.pending_contact = Some(details);
                    Vec::new()
                }
            }
            Action::Resolve => vec![Effect::Send(VisitorFrame::Resolve)],
            Action::Effort(score) => {
                self.effort_sent = true;
                vec![Effect::Send(VisitorFrame::Effort { score })]
            }
            Action::Rate { score, comment } => {
                let comment = comment
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty());
                vec![Effect::Send(VisitorFrame::Rate { score, comment })]
            }
            Action::NewConversation => {
                self.lines.retain(|l| l.delivery == Delivery::Pending);
                self.last_seq = 0;
                self.conversation = None;
                self.rated = false;
                self.effort_sent = false;
                self.search_started = None;
                self.searching_ms = None;
                self.handoff_query = None;
                self.shown.clear();
                self.opened.clear();
                self.query.clear();
                self.suggestions.clear();
                self.screen = Screen::Home;
                Vec::new()
            }
            Action::Visible(visible) => {
                let was = std::mem::replace(&mut self.visible, visible);
                if visible {
                    self.read_receipt()
                } else if was {
                    // Closing the widget ends the search: the query is the one stopped at.
                    self.report_search(false)
                } else {
                    Vec::new()
                }
            }
            Action::ToggleMute => {
                self.muted = !self.muted;
                Vec::new()
            }
            Action::Frame(frame) => self.on_frame(frame),
        }
    }

    /// Stored messages in sequence order, then pending ones in the order they were typed. An
    /// insertion sort: the lines are in order but for the few a frame just added, and its code
    /// is a fraction of the standard library's stable sort in the wasm.
    fn sort(&mut self) {
        let key = |l: &Line| l.seq.unwrap_or(u64::MAX);
        for i in 1..self.lines.len() {
            let mut j = i;
            while j > 0 && key(&self.lines[j - 1]) > key(&self.lines[j]) {
                self.lines.swap(j - 1, j);
                j -= 1;
            }
        }
    }
}

mod frames;
#[cfg(test)]
mod tests;
