//! Frontdesk storage: the `Store` trait, its SQLite implementation, and the conformance suite.
//!
//! *Architecture invariant*: nothing backend-specific leaks above the trait. The server only sees
//! `dyn Store`; every backend passes `conformance::run_all`.
//! *Architecture invariant*: a message is acknowledged only after `append_message` returned,
//! i.e. after its transaction committed; sequence numbers are allocated inside that transaction,
//! so they are gap-free per conversation.

mod api;
mod attachment;
pub mod conformance;
pub mod copy;
mod email;
mod escalation;
mod postgres;
mod sqlite;
pub mod webhooks;

pub use attachment::{NewAttachment, StoredAttachment};
pub use email::EmailDue;
pub use escalation::{Escalation, NewEscalation};

pub use api::{ApiToken, AssigneeFilter, ConversationFilter, NewApiToken, TokenScope};
pub use postgres::PgStore;
pub use sqlite::{BackupSummary, SqliteStore};
pub use webhooks::{Attempt, DeliveryState, EndpointSpec, WebhookDelivery, WebhookEndpoint};

use async_trait::async_trait;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} already exists")]
    Conflict { what: &'static str },
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The group commit this write was part of failed: nothing of it was stored; retry.
    #[error("the write was not stored (its group commit failed: {reason})")]
    GroupFailed { reason: String },
    /// The writer task is gone (the store is shutting down).
    #[error("the database writer has stopped")]
    WriterStopped,
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("cannot open the database at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sqlx::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub admin: bool,
    /// Sees the reports (admins do too).
    pub lead: bool,
    pub disabled: bool,
    /// Primary language tags the agent answers in (routing skill); empty means any.
    pub languages: Vec<String>,
    /// Teams the agent belongs to (routing to a team picks among its members).
    pub teams: Vec<String>,
}

/// Which conversations a report counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    pub site: Option<String>,
    /// A primary language tag (`pt`): conversations whose locale is it or a variant (`pt-BR`).
    pub language: Option<String>,
    pub team: Option<String>,
    pub agent: Option<i64>,
    pub label: Option<String>,
    pub priority: Option<String>,
    pub channel: Option<String>,
}

/// What makes a contact important in the importance × urgency view, besides having an account
/// manager: one of `values` in its custom attribute `attribute` (compared without case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Importance {
    pub attribute: String,
    pub values: Vec<String>,
}

impl Default for Importance {
    fn default() -> Self {
        Importance {
            attribute: "plan".into(),
            values: vec!["enterprise".into(), "premium".into(), "vip".into()],
        }
    }
}

impl Importance {
    /// Whether a contact's attributes (a JSON object of strings) make it important.
    pub fn matches(&self, attributes: &str) -> bool {
        let Ok(map) =
            serde_json::from_str::<std::collections::BTreeMap<String, String>>(attributes)
        else {
            return false;
        };
        map.get(&self.attribute).is_some_and(|v| {
            self.values
                .iter()
                .any(|want| want.eq_ignore_ascii_case(v.trim()))
        })
    }
}

#[derive(Debug, Clone)]
pub struct AgentCredentials {
    pub agent: Agent,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewAgent {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub admin: bool,
}

/// A customer: one record shared by every browser (visitor) linked to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: i64,
    pub site: String,
    /// The site's own user id, from an identity the site signed; `None` for anonymous contacts.
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    /// Custom attributes passed by the site.
    pub attributes: std::collections::BTreeMap<String, String>,
    /// The agent who looks after this customer (sticky routing), with its name.
    pub account_manager: Option<(i64, String)>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Details to record on a contact: `None` leaves a field as it is; attributes are added to (and
/// replace same-named) existing ones.
#[derive(Debug, Clone, Default)]
pub struct ContactUpdate {
    pub name: Option<String>,
    pub email: Option<String>,
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// Most custom attributes kept on one contact.
pub const MAX_CONTACT_ATTRIBUTES: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub id: i64,
    pub site: String,
    /// The site user id this browser proved with a signed identify, if any.
    pub verified_as: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: i64,
    pub visitor_id: i64,
    pub site: String,
    pub status: Status,
    pub last_seq: u64,
    pub preview: Option<String>,
    pub page_url: Option<String>,
    pub locale: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The handoff context as the server serialized it (opaque to the store).
    pub context: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
    pub resolved_at: Option<Millis>,
    pub visitor_read: u64,
    pub agent_read: u64,
    pub assignee: Option<(i64, String)>,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    pub first_response_due: Option<Millis>,
    pub first_response_at: Option<Millis>,
    /// When the latest SLA breach was recorded.
    pub sla_breached_at: Option<Millis>,
    /// `visitor` or `agent`: who wrote the newest message.
    pub last_author: Option<String>,
    /// When the customer started waiting for the next reply (after an agent had answered).
    pub next_response_from: Option<Millis>,
    /// When the next agent reply is due; `None` when nobody is waiting.
    pub next_response_due: Option<Millis>,
    /// When the resolution clock started: creation, or the latest reopening.
    pub resolution_from: Option<Millis>,
    /// When the conversation should be resolved; `None` once resolved.
    pub resolution_due: Option<Millis>,
    /// The team the conversation belongs to; `None` means anyone.
    pub team: Option<String>,
    /// Labels, sorted.
    pub labels: Vec<String>,
    /// Whose conversation it is, if known.
    pub contact_id: Option<i64>,
    /// The browser that wrote it proved it is that contact's verified user.
    pub contact_verified: bool,
    /// Customer effort score, 1 to 7.
    pub ces: Option<u8>,
    /// Time the customer spent in self-help (first keystroke in the search box → handoff).
    pub self_help_ms: Option<i64>,
}

/// The three service-level targets a conversation can have pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SlaKind {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl SlaKind {
    pub const ALL: [SlaKind; 3] = [
        SlaKind::FirstResponse,
        SlaKind::NextResponse,
        SlaKind::Resolution,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SlaKind::FirstResponse => "first_response",
            SlaKind::NextResponse => "next_response",
            SlaKind::Resolution => "resolution",
        }
    }
}

impl Conversation {
    /// The deadline of `kind` while it is pending (the first response only until it happened).
    pub fn due(&self, kind: SlaKind) -> Option<Millis> {
        match kind {
            SlaKind::FirstResponse => self
                .first_response_due
                .filter(|_| self.first_response_at.is_none()),
            SlaKind::NextResponse => self.next_response_due,
            SlaKind::Resolution => self.resolution_due,
        }
        .filter(|_| self.status == Status::Open)
    }
}

/// Deadlines written together when a priority changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaDues {
    pub first_response: Option<Millis>,
    /// Applied only while the customer is waiting for a next reply.
    pub next_response: Option<Millis>,
    /// Applied only while the conversation is open.
    pub resolution: Option<Millis>,
}

/// A pending deadline that has passed and has no breach recorded yet.
#[derive(Debug, Clone)]
pub struct Overdue {
    pub conversation: Conversation,
    pub kind: SlaKind,
    pub due: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNote {
    pub conversation_id: i64,
    pub client_id: String,
    pub agent_id: i64,
    pub agent_name: String,
    pub body: String,
    pub at: Millis,
}

/// Who read a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBy {
    Visitor,
    Agent,
}

/// Where the visitor was when the conversation started.
#[derive(Debug, Clone, Default)]
pub struct ConversationContext {
    pub page_url: Option<String>,
    pub locale: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageAuthor {
    Visitor,
    Agent { id: i64, name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub conversation_id: i64,
    pub seq: u64,
    pub client_id: String,
    pub author: MessageAuthor,
    pub body: String,
    pub at: Millis,
    /// The files sent with it (what a message shows of them; the bytes are read apart).
    pub attachments: Vec<protocol::Attachment>,
}

#[derive(Debug, Clone, Default)]
pub struct NewMessage<'a> {
    pub conversation_id: i64,
    pub client_id: &'a str,
    /// `None` for the visitor, `Some(agent_id)` for an agent.
    pub agent_id: Option<i64>,
    pub body: &'a str,
    pub at: Millis,
    /// Files already claimed for the conversation (`Store::claim_attachments`).
    pub attachments: &'a [protocol::Attachment],
}

/// Result of an append: the stored message, and whether it was already stored under the same
/// client id (a resend after a lost ack), in which case nothing new was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub message: StoredMessage,
    pub duplicate: bool,
    /// For a new customer message: the next-response clock may start now (an agent has
    /// answered before, the clock is not running, the conversation is open); this is the
    /// conversation's priority, which sets the deadline. Saves reading the conversation back.
    pub next_response_priority: Option<String>,
}

/// Everything stored about one contact: the copy a customer gets when they ask for their data.
#[derive(Debug, Clone)]
pub struct ContactData {
    pub contact: Contact,
    /// Contacts merged into this one (their details as they were when retired).
    pub merged: Vec<Contact>,
    /// Every conversation of the contact, on every browser, oldest first.
    pub conversations: Vec<ConversationData>,
    /// Articles its browsers said answered a question.
    pub deflections: Vec<Deflection>,
}

#[derive(Debug, Clone)]
pub struct ConversationData {
    pub conversation: Conversation,
    pub messages: Vec<StoredMessage>,
    pub notes: Vec<StoredNote>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deflection {
    pub query: String,
    pub article: String,
    pub at: Millis,
}

/// What erasing a contact removed: every node drops these from what it keeps (search index,
/// live sessions) through `erasures_since`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub contacts: Vec<i64>,
    pub conversations: Vec<i64>,
    pub visitors: Vec<i64>,
}

/// What retention does to a conversation past its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Remove it with its messages, notes, labels and breaches.
    Delete,
    /// Keep its figures (times, authors, rating score, SLA, labels) and remove what a person
    /// wrote or can be recognised by: message text, notes, context, page, names, the rating's
    /// comment, the link to the contact.
    Anonymize,
}

/// One settled widget search as stored. Nothing in it is personal: no address, no token, no
/// visitor or contact id.
#[derive(Debug, Clone, Copy)]
pub struct SearchEvent<'a> {
    pub site: &'a str,
    /// Primary language tag of the index searched.
    pub language: &'a str,
    /// Normalized (`protocol::normalize_query`): how the lists group queries.
    pub query: &'a str,
    /// A keyed hash of the browser's token (which the database never holds), so that a visitor
    /// counts once per query and day and nothing links it to a visitor row.
    pub visitor_key: &'a str,
    /// How many articles matched.
    pub results: u32,
    /// Article ids shown, in rank order.
    pub shown: &'a [String],
    pub opened: Option<&'a str>,
    pub helpful: Option<bool>,
    pub handoff: bool,
    pub at: Millis,
}

/// What the gaps lists are asked for.
#[derive(Debug, Clone, Copy)]
pub struct GapsQuery<'a> {
    pub since: Millis,
    /// One site, or all.
    pub site: Option<&'a str>,
    /// A query is listed only when at least this many distinct visitors asked it in the period.
    pub min_visitors: u64,
    /// Longest list.
    pub limit: u32,
}

/// A query's figures over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFigure {
    pub language: String,
    pub query: String,
    /// Searches of the list's kind: all, without result, or ending in a handoff.
    pub searches: u64,
    /// Distinct visitors who asked the query in the period (see `Store::search_gaps`).
    pub visitors: u64,
}

/// The content team's lists, from the daily rollups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchGaps {
    /// Most asked first (by visitors, then searches).
    pub top_searches: Vec<QueryFigure>,
    pub no_result: Vec<QueryFigure>,
    pub handed_off: Vec<QueryFigure>,
    /// Articles answered "no", most first.
    pub unhelpful_articles: Vec<(String, u64)>,
    /// Every article some search showed in the period (the server lists the knowledge base's
    /// others as never shown).
    pub shown_articles: std::collections::BTreeSet<String>,
}

/// One entry of the erasure log: a conversation or a browser whose data was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub id: i64,
    pub conversation: Option<i64>,
    pub visitor: Option<i64>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn create_agent(&self, agent: NewAgent, now: Millis) -> Result<Agent>;
    async fn agent_credentials(&self, email: &str) -> Result<Option<AgentCredentials>>;
    async fn agent(&self, id: i64) -> Result<Option<Agent>>;
    async fn agent_count(&self) -> Result<u64>;

    async fn create_session(
        &self,
        token_hash: &str,
        agent_id: i64,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()>;
    /// The agent behind a live session; expired sessions and disabled agents yield `None`.
    async fn session_agent(&self, token_hash: &str, now: Millis) -> Result<Option<Agent>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    async fn create_visitor(&self, token_hash: &str, site: &str, now: Millis) -> Result<Visitor>;
    async fn visitor(&self, token_hash: &str) -> Result<Option<Visitor>>;

    async fn open_conversation(&self, visitor_id: i64) -> Result<Option<Conversation>>;
    /// Returns the visitor's open conversation, creating it if there is none (atomically: two
    /// concurrent calls return the same conversation).
    async fn open_or_create_conversation(
        &self,
        visitor: &Visitor,
        context: &ConversationContext,
        now: Millis,
    ) -> Result<Conversation>;
    async fn conversation(&self, id: i64) -> Result<Option<Conversation>>;
    /// The conversations with these ids that exist, in any order (one query, for publishing
    /// many summaries at once).
    async fn conversations(&self, ids: &[i64]) -> Result<Vec<Conversation>>;
    /// Open conversations, most recently updated first.
    async fn list_open_conversations(&self, limit: u32) -> Result<Vec<Conversation>>;
    /// Conversations matching the filter, highest id first, at most `filter.limit`.
    async fn list_conversations(&self, filter: &ConversationFilter) -> Result<Vec<Conversation>>;

    /// The visitor's most recent conversation, open or not.
    async fn latest_conversation(&self, visitor_id: i64) -> Result<Option<Conversation>>;
    /// Stores the handoff context and the self-help time it carried, unless the conversation
    /// already has a context.
    async fn set_context(
        &self,
        conversation_id: i64,
        context: &str,
        self_help_ms: Option<i64>,
    ) -> Result<()>;
    /// Resolves or reopens. Reopening fails with `Conflict` when the visitor already has
    /// another open conversation.
    async fn set_status(
        &self,
        conversation_id: i64,
        status: Status,
        now: Millis,
    ) -> Result<Conversation>;
    async fn rate(&self, conversation_id: i64, score: u8, comment: Option<&str>) -> Result<()>;
    async fn set_contact(
        &self,
        conversation_id: i64,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<()>;
    /// Raises the read mark (never lowers it, never past the last message).
    async fn mark_read(&self, conversation_id: i64, by: ReadBy, seq: u64) -> Result<()>;
    /// Records that an article answered a visitor's query; once per visitor, query and article
    /// (a repeat is accepted and ignored).
    async fn record_deflection(
        &self,
        site: &str,
        visitor_id: i64,
        query: &str,
        article: &str,
        now: Millis,
    ) -> Result<()>;
    async fn deflection_count(&self, site: &str) -> Result<u64>;

    async fn list_agents(&self) -> Result<Vec<Agent>>;
    /// Disables or re-enables an agent; disabling also ends all its sessions.
    async fn set_agent_disabled(&self, agent_id: i64, disabled: bool) -> Result<Agent>;
    async fn set_password_hash(&self, agent_id: i64, password_hash: &str) -> Result<()>;
    /// Ends every session of an agent ("log out everywhere").
    async fn delete_sessions_of(&self, agent_id: i64) -> Result<u64>;
    async fn set_agent_languages(&self, agent_id: i64, languages: &[String]) -> Result<()>;
    /// The visitor's other conversations, newest first.
    async fn conversations_of_visitor(
        &self,
        visitor_id: i64,
        limit: u32,
    ) -> Result<Vec<Conversation>>;
    /// Assigns (or unassigns, with `None`) a conversation.
    async fn assign(
        &self,
        conversation_id: i64,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Conversation>;
    /// Assigns only if the assignee is still `expected` (routing on several nodes at once: the
    /// first decision wins). `Ok(None)` when someone else changed it meanwhile.
    async fn assign_if(
        &self,
        conversation_id: i64,
        expected: Option<i64>,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Option<Conversation>>;
    /// Sets the priority and the deadlines it implies.
    async fn set_priority(
        &self,
        conversation_id: i64,
        priority: &str,
        dues: SlaDues,
    ) -> Result<Conversation>;
    /// The customer wrote after an agent's reply: starts the next-response clock, unless it is
    /// already running, the newest message is not the customer's, or nobody has answered yet
    /// (the first response covers that). Returns whether it started.
    async fn begin_next_response(
        &self,
        conversation_id: i64,
        from: Millis,
        due: Option<Millis>,
    ) -> Result<bool>;
    /// Starts the resolution clock (on creation or reopening) at `from`, due at `due`.
    async fn set_resolution_due(
        &self,
        conversation_id: i64,
        from: Millis,
        due: Option<Millis>,
    ) -> Result<()>;
    /// Pending deadlines that have passed and are not recorded as breached, oldest first.
    async fn overdue(&self, now: Millis) -> Result<Vec<Overdue>>;
    /// Records a breach of one deadline; returns false if it was already recorded.
    async fn record_breach(
        &self,
        conversation_id: i64,
        kind: SlaKind,
        due_at: Millis,
        now: Millis,
    ) -> Result<bool>;
    /// Replaces a conversation's labels.
    async fn set_labels(&self, conversation_id: i64, labels: &[String]) -> Result<Conversation>;
    /// Moves a conversation to a team (`None`: anyone).
    async fn set_team(&self, conversation_id: i64, team: Option<&str>) -> Result<Conversation>;
    async fn set_agent_teams(&self, agent_id: i64, teams: &[String]) -> Result<()>;

    /// The visitor's contact, created (anonymous) if it has none.
    async fn visitor_contact(&self, visitor_id: i64, now: Millis) -> Result<Contact>;
    /// Links the visitor to the contact with this verified external id on the visitor's site
    /// (created if new) and marks the visitor verified as it; its open conversation becomes the
    /// contact's. An anonymous contact the visitor had is merged into it; one with another
    /// external id is left alone with its conversations (another account on the same browser).
    async fn identify_visitor(
        &self,
        visitor_id: i64,
        external_id: &str,
        now: Millis,
    ) -> Result<Contact>;
    /// Records details on a contact; attributes beyond `MAX_CONTACT_ATTRIBUTES` are dropped.
    async fn update_contact(
        &self,
        contact_id: i64,
        update: &ContactUpdate,
        now: Millis,
    ) -> Result<Contact>;
    /// A contact; a merged one resolves to the contact it was merged into.
    async fn contact(&self, id: i64) -> Result<Option<Contact>>;
    async fn set_account_manager(
        &self,
        contact_id: i64,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Contact>;
    /// Other contacts of the site with this email (case-insensitive): likely duplicates.
    async fn contacts_with_email(
        &self,
        site: &str,
        email: &str,
        exclude: i64,
    ) -> Result<Vec<Contact>>;
    /// Merges `from` into `into`: its browsers and conversations follow, missing details and
    /// attributes are copied over, and `from` is retired. `Conflict` when both carry different
    /// external ids, belong to different sites, or `from` is verified and `into` is not (a
    /// verified identity never moves onto a contact that did not prove it).
    async fn merge_contacts(&self, from: i64, into: i64, now: Millis) -> Result<Contact>;
    /// The contact's conversations (on every browser), newest first.
    async fn conversations_of_contact(
        &self,
        contact_id: i64,
        limit: u32,
    ) -> Result<Vec<Conversation>>;
    async fn add_note(
        &self,
        conversation_id: i64,
        agent_id: i64,
        client_id: &str,
        body: &str,
        now: Millis,
    ) -> Result<StoredNote>;
    async fn notes(&self, conversation_id: i64) -> Result<Vec<StoredNote>>;
    /// How many open conversations each agent holds (routing's load), agents with none left out.
    async fn open_load(&self) -> Result<std::collections::HashMap<i64, u32>>;
    /// Open conversations assigned to `agent_id`.
    async fn assigned_open(&self, agent_id: i64) -> Result<Vec<Conversation>>;
    /// Open, unassigned conversations, oldest first.
    async fn unassigned_open(&self, limit: u32) -> Result<Vec<Conversation>>;
    /// How many open conversations wait for an agent, counted up to `limit`.
    async fn unassigned_count(&self, limit: u32) -> Result<u64>;

    // Reports (`sql/reports.rs`): the facts the `insights` crate computes figures from.
    /// Conversations created in `[since, until)` matching the filter, with their breaches, and
    /// with labels and previews when `details` (the figures need neither).
    async fn report_facts(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
        details: bool,
    ) -> Result<Vec<insights::Fact>>;
    /// Next responses given in `[since, until)` in conversations matching the filter (the
    /// priority filter applies to the priority each response was due under).
    async fn report_replies(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<insights::Reply>>;
    /// Every open conversation matching the filter, oldest first, `important` filled in, with
    /// labels and previews when `details`.
    async fn open_facts(
        &self,
        filter: &ReportFilter,
        importance: &Importance,
        details: bool,
    ) -> Result<Vec<insights::Fact>>;
    /// These conversations' facts with labels and previews, by id.
    async fn report_facts_of(&self, ids: &[i64]) -> Result<Vec<insights::Fact>>;
    /// The labels of the conversations created in the period, most used first.
    async fn report_topics(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
        limit: u32,
    ) -> Result<Vec<(String, u64)>>;
    /// (conversation id, the first 200 characters of its first message) of the conversations
    /// created in the period that the customer opened with a message, by id.
    async fn report_openers(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<(i64, String)>>;
    /// The contacts with the most conversations created in the period.
    async fn top_contacts(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
        limit: u32,
    ) -> Result<Vec<protocol::reports::TopContact>>;
    /// Deflections ("yes, it answered") recorded in the period.
    async fn deflections_between(
        &self,
        site: Option<&str>,
        since: Millis,
        until: Millis,
    ) -> Result<u64>;
    /// (open, unassigned, customer wrote last) over every open conversation.
    async fn live_counts(&self) -> Result<(u64, u64, u64)>;
    /// Makes an agent a lead (sees reports) or not.
    async fn set_lead(&self, agent_id: i64, lead: bool) -> Result<()>;

    /// Durably appends a message with the next sequence number of its conversation, or returns
    /// the already-stored message when the same author already sent this client id.
    async fn append_message(&self, message: NewMessage<'_>) -> Result<Appended>;
    /// Writes accepted but not yet committed (the group-commit queue): how far behind the
    /// database is. A node uses it to refuse new work when at capacity.
    fn pending_writes(&self) -> usize {
        0
    }
    /// Every message after the cursor `(conversation, seq)`, in that order, at most `limit`
    /// (rebuilding the agents' search index).
    async fn messages_since(&self, after: (i64, u64), limit: u32) -> Result<Vec<StoredMessage>>;
    /// Every note with its row id, after `after_id`, in id order.
    async fn notes_since(&self, after_id: i64, limit: u32) -> Result<Vec<(i64, StoredNote)>>;
    /// Conversations with an id above `after_id`, in id order.
    async fn conversations_since(&self, after_id: i64, limit: u32) -> Result<Vec<Conversation>>;
    /// Messages with `seq > after_seq`, in order, at most `limit`.
    async fn messages_after(
        &self,
        conversation_id: i64,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredMessage>>;

    /// Everything stored about a contact (a merged id resolves to the contact it went into),
    /// or `None` if there is no such contact.
    async fn contact_data(&self, contact_id: i64) -> Result<Option<ContactData>>;
    /// Erases a contact and everything of it: the contacts merged into it, its conversations
    /// with their messages, notes, labels and breaches, its browsers (a browser that also holds
    /// another contact's conversation is only unlinked) and their deflections. Logged in the
    /// erasure log (ids only); on SQLite the freed pages are overwritten and the WAL truncated,
    /// so the file keeps no copy. `NotFound` if there is no such contact.
    async fn erase_contact(&self, contact_id: i64, now: Millis) -> Result<Erased>;
    /// Retention: applies `expiry` to at most `limit` resolved conversations last updated
    /// before `before` (open conversations are never touched), and to deflections recorded
    /// before it (deleted, or unlinked from their browser). Returns the conversations done.
    async fn expire(
        &self,
        before: Millis,
        expiry: Expiry,
        limit: u32,
        now: Millis,
    ) -> Result<Vec<i64>>;
    /// The erasure log after `after_id`, in id order (each node applies it to what it keeps).
    async fn erasures_since(&self, after_id: i64, limit: u32) -> Result<Vec<Erasure>>;
    /// The newest entry's id in the erasure log (0 when empty).
    async fn latest_erasure(&self) -> Result<i64>;

    /// Takes or renews the lease `name` for `holder` for `ttl_ms` by the database's clock (not
    /// the node's): true while `holder` holds it. A cluster-wide timer runs on the node that
    /// holds its lease; when that node dies, another takes over once the lease runs out.
    async fn try_lease(&self, name: &str, holder: &str, ttl_ms: i64) -> Result<bool>;

    /// Conversations (ids after `after_id`, ascending, at most `limit`) with a message, a
    /// status change or a note at or after `since`: what a node that missed events re-indexes.
    async fn touched_since(&self, since: Millis, after_id: i64, limit: u32) -> Result<Vec<i64>>;

    /// The key naming this database's nodes in shared services (Redis): `proposed` if none was
    /// set yet, else the one the first node set. Every node on one database gets the same key.
    async fn cluster_key(&self, proposed: &str) -> Result<String>;

    // API tokens (`sql/tokens.rs`).
    async fn create_api_token(&self, token: &NewApiToken<'_>, now: Millis) -> Result<ApiToken>;
    /// Every token, revoked ones included, newest first.
    async fn api_tokens(&self) -> Result<Vec<ApiToken>>;
    /// The token with this hash, revoked or not.
    async fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>>;
    /// Revokes a token (a second revocation keeps the first time). `NotFound` if none.
    async fn revoke_api_token(&self, id: i64, now: Millis) -> Result<ApiToken>;
    /// Records a use, unless one was recorded in the minute before `now`.
    async fn touch_api_token(&self, id: i64, now: Millis) -> Result<()>;

    /// Closes the connections (waits for what is in flight).
    async fn close(&self) {}

    /// Records a settled widget search: the raw event, and the daily rollups of its query and
    /// articles (a visitor counts once per query and day toward `visitors`).
    async fn record_search(&self, search: &SearchEvent<'_>) -> Result<()>;
    /// Deletes the raw search events (and the per-day visitor keys) from before `before`; the
    /// rollups stay. Returns the events deleted.
    async fn expire_searches(&self, before: Millis) -> Result<u64>;
    /// The gaps lists since `query.since` (whole UTC days). Distinct visitors over the period
    /// are exact while the per-day visitor keys are kept (`[insights] raw_search_days`); for
    /// older days the daily distinct counts are summed, so a visitor who asked on two such
    /// days counts twice there.
    async fn search_gaps(&self, query: &GapsQuery<'_>) -> Result<SearchGaps>;
    /// Stores the customer effort score (1–7) of a conversation.
    async fn set_effort(&self, conversation_id: i64, score: u8) -> Result<()>;

    /// Conversations whose customer has agent replies they have not read, with an email
    /// address, not emailed up to their newest message, and unchanged since `quiet_since`
    /// (but changed after `not_before`), least recently changed first, at most `limit`.
    async fn email_due(
        &self,
        quiet_since: Millis,
        not_before: Millis,
        limit: u32,
    ) -> Result<Vec<EmailDue>>;
    /// Records that an email carried the conversation up to message `seq` (never lowers the
    /// mark, never past the newest message); false when the mark already was there or above.
    async fn set_emailed(&self, conversation_id: i64, seq: u64) -> Result<bool>;

    // Attachments (`sql/attachments.rs`).
    /// Stores an uploaded file. `NotFound` when its visitor, agent or conversation does not
    /// exist.
    async fn add_attachment(&self, attachment: &NewAttachment<'_>) -> Result<protocol::Attachment>;
    /// Makes the files `ids` part of `conversation_id` for a message about to be sent: a
    /// visitor's (`visitor_id`) uploads not yet in any conversation join it; an agent's
    /// (`visitor_id` `None`) must already be there. Returns them in the order of `ids`, or
    /// `NotFound` if any is not the sender's to send there.
    async fn claim_attachments(
        &self,
        ids: &[String],
        conversation_id: i64,
        visitor_id: Option<i64>,
    ) -> Result<Vec<protocol::Attachment>>;
    /// A file with its bytes and who may read it.
    async fn attachment(&self, id: &str) -> Result<Option<StoredAttachment>>;
    /// Deletes uploads no message sent (in no conversation) made before `before`; returns
    /// how many.
    async fn expire_unsent_attachments(&self, before: Millis) -> Result<u64>;

    // Escalation to an issue tracker (`sql/escalations.rs`).
    /// Records a conversation's issue. `Conflict` when the conversation already has one,
    /// `NotFound` when the conversation (or the agent) does not exist.
    async fn escalate(&self, escalation: &NewEscalation<'_>) -> Result<Escalation>;
    /// The conversation's issue, if it was escalated.
    async fn escalation(&self, conversation_id: i64) -> Result<Option<Escalation>>;
    /// The conversations escalated to this issue, by conversation id.
    async fn escalations_of_issue(&self, tracker: &str, issue_key: &str)
    -> Result<Vec<Escalation>>;
    /// Records the issue's status for one conversation; false when it already was that (a
    /// tracker repeats itself), so only a real change is announced.
    async fn set_escalation_status(
        &self,
        conversation_id: i64,
        status: &str,
        done: bool,
        now: Millis,
    ) -> Result<bool>;
    /// (settled searches, of which an article was opened) in `[since, until)`: from the raw
    /// events when `raw` (exact; only while they are kept), else from the daily rollups of the
    /// UTC days the period touches.
    async fn search_funnel(
        &self,
        site: Option<&str>,
        since: Millis,
        until: Millis,
        raw: bool,
    ) -> Result<(u64, u64)>;

    /// Makes the database's endpoints those of the settings (matched by site and URL; a
    /// disabled one stays disabled) and returns them in the order given. Events are enqueued
    /// only for these endpoints from now on.
    async fn sync_webhook_endpoints(
        &self,
        specs: &[EndpointSpec],
        now: Millis,
    ) -> Result<Vec<WebhookEndpoint>>;
    /// Every endpoint the database knows, configured now or not.
    async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>>;
    /// Disables an endpoint (`Some(reason)`) or enables it again (`None`).
    async fn set_webhook_endpoint_disabled(
        &self,
        id: i64,
        reason: Option<&str>,
        now: Millis,
    ) -> Result<WebhookEndpoint>;
    /// Pending deliveries due at `now` (by the database's clock when `now` is `None`), not held
    /// by a node, of enabled endpoints, and each the oldest pending row of its endpoint's
    /// stream (so a stream's next event waits for the previous one): oldest first.
    async fn due_webhooks(&self, now: Millis, limit: u32) -> Result<Vec<WebhookDelivery>>;
    /// Takes pending deliveries for `ttl_ms` by the database's clock, in one statement; returns
    /// those taken (not those another node holds or no longer pending). Only the holder
    /// delivers a row.
    async fn claim_webhooks(&self, ids: &[i64], ttl_ms: i64) -> Result<Vec<i64>>;
    /// Records attempts and releases their rows, in one transaction (a row gone meanwhile, e.g.
    /// erased, is skipped).
    async fn finish_webhooks(&self, done: &[(i64, Attempt)], now: Millis) -> Result<()>;
    /// An endpoint's deliveries, newest first, with ids below `before` when given.
    async fn webhook_deliveries(
        &self,
        endpoint_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>>;
    async fn webhook_delivery(&self, id: i64) -> Result<Option<WebhookDelivery>>;
    /// Sends a delivery again (same id and body): pending, due now, attempts from zero.
    async fn replay_webhook(&self, id: i64, now: Millis) -> Result<WebhookDelivery>;
    /// Deletes delivered and failed rows last changed before `before`; returns how many.
    async fn prune_webhooks(&self, before: Millis) -> Result<u64>;
    /// Enqueues `kind` about a conversation for its site's subscribed endpoints, outside any
    /// other change (a rule's webhook action), with the conversation's rating when `csat`.
    async fn emit_webhook(
        &self,
        conversation_id: i64,
        kind: protocol::webhooks::EventType,
        csat: bool,
        at: Millis,
    ) -> Result<()>;
}
