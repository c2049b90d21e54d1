//! The Frontdesk server as a library: `router(state)` builds every route, `serve` runs it.
//!
//! *API boundary*: `frontdesk serve` and the tests use only `Settings`, `AppState::new`,
//! `router` and `serve`; `main.rs` stays tiny.
//! *Architecture invariant*: storage goes through `dyn store::Store`; wire types come from
//! `protocol`. The server never builds HTML from user input.

mod actions;
mod admin;
pub mod api;
mod assign;
pub mod attachments;
mod auth;
pub mod bus;
mod client;
mod contacts;
mod convert;
pub mod email;
mod error;
pub mod escalation;
mod hub;
pub mod insights;
mod kb;
mod limits;
mod metrics;
mod password;
pub mod privacy;
pub mod reports;
mod routing;
pub mod rules;
mod search_feed;
mod serve;
mod sessions;
mod shared;
pub use routing::Strategy as RoutingStrategy;
mod sites;
mod static_files;
mod summaries;
mod throttle;
pub mod webhooks;
mod ws;

pub use calendar::{Calendar, LocalDate, Zone};
pub use client::{Cidr, CidrError};
pub use error::AppError;
pub use limits::{Limits, Rate, RateError};
pub use password::{PasswordError, hash_password};
pub use serve::serve;
pub use sites::{Site, demo_site};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use store::Store;

/// What the server needs to know beyond its storage.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The public origin (`https://support.example.com`) when behind a proxy; `None` trusts
    /// the `Host` header, which is right for direct serving.
    pub public_url: Option<String>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers name the client; anyone
    /// else's are ignored. Needs `public_url`.
    pub trusted_proxies: Vec<Cidr>,
    /// Per-client limits (`[limits]`).
    pub limits: Limits,
    /// Whether `/demo` (the demo host page) is served.
    pub demo_page: bool,
    /// How long an agent session lasts.
    pub session_days: u32,
    /// The sites this server serves, by site key.
    pub sites: BTreeMap<String, Site>,
    /// Folder of Markdown articles, built into the index at start and rebuilt on change.
    pub knowledge_base: Option<std::path::PathBuf>,
    /// First-response SLA per priority, in minutes (business hours of the site count).
    pub sla_first_response: BTreeMap<protocol::Priority, f64>,
    /// Next-response SLA per priority (the customer wrote again after an agent's reply).
    pub sla_next_response: BTreeMap<protocol::Priority, f64>,
    /// Resolution SLA per priority.
    pub sla_resolution: BTreeMap<protocol::Priority, f64>,
    /// How often overdue conversations are checked.
    pub sla_tick: std::time::Duration,
    /// Writes waiting for the database past which new messages are refused with
    /// `overloaded` (the clients resend after a wait) instead of queueing without bound.
    pub max_pending_writes: usize,
    /// How long a write to a client may take; a connection that does not drain its socket for
    /// that long is closed (the client reconnects and resumes).
    pub send_timeout: std::time::Duration,
    /// Hub events a console may have waiting before it counts as lagging and rebuilds what it
    /// shows from the store.
    pub agent_queue: usize,
    /// How often the sessions of open consoles are checked against the database (a sign-out,
    /// a disabled agent or a new password from the CLI or another node ends them).
    pub session_check: std::time::Duration,
    /// With several nodes: how often the database is asked for messages this node did not hear
    /// of through Redis (`bus::safety_net`).
    pub missed_check: std::time::Duration,
    /// How long an agent may be disconnected before its conversations are reassigned.
    pub reassign_grace: std::time::Duration,
    /// Open conversations an agent takes before routing skips it.
    pub agent_capacity: u32,
    /// Round-robin or least-busy among eligible agents.
    pub routing_strategy: routing::Strategy,
    pub canned: Vec<protocol::CannedResponse>,
    /// Folder of the agents' full-text search index; `None` keeps it in memory.
    pub search_dir: Option<std::path::PathBuf>,
    /// `[retention]`: what happens to old resolved conversations; `None` keeps them.
    pub retention: Option<privacy::Retention>,
    /// Redis (`redis://host:port`) carrying hub events between nodes; `None`: one node.
    pub redis: Option<String>,
    /// What makes a contact important in the reports' importance × urgency view.
    pub importance: store::Importance,
    /// `[insights]`: how long raw search events are kept, and the k of the gaps lists.
    pub insights: insights::Insights,
    /// `[email]`: replies emailed to customers who left, and their answers by email; `None`
    /// sends and takes no email.
    pub email: Option<email::Email>,
    /// `[[rules]]`, validated: what happens when events match conditions.
    pub rules: Vec<::rules::Rule>,
    /// `[webhooks]` and the sites' endpoints.
    pub webhooks: webhooks::Webhooks,
    /// `[escalation]`: conversations escalated to Jira issues; `None` offers no escalation.
    pub escalation: Option<escalation::Escalation>,
}

/// The default canned responses, until a site configures its own.
pub fn default_canned() -> Vec<protocol::CannedResponse> {
    let canned = |shortcut: &str, title: &str, body: &str| protocol::CannedResponse {
        shortcut: shortcut.into(),
        title: title.into(),
        body: body.into(),
    };
    vec![
        canned(
            "hi",
            "Greeting",
            "Hi {{name}}, this is {{agent}}. How can I help?",
        ),
        canned(
            "wait",
            "One moment",
            "Thanks {{name}}, let me check that for you. One moment, please.",
        ),
        canned(
            "bye",
            "Closing",
            "Glad I could help, {{name}}! Anything else before I close this chat?",
        ),
    ]
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: None,
            trusted_proxies: Vec::new(),
            limits: Limits::default(),
            demo_page: true,
            session_days: 30,
            sites: BTreeMap::from([("demo".to_owned(), demo_site())]),
            knowledge_base: None,
            sla_first_response: BTreeMap::from([
                (protocol::Priority::Urgent, 5.0),
                (protocol::Priority::High, 15.0),
                (protocol::Priority::Normal, 60.0),
                (protocol::Priority::Low, 240.0),
            ]),
            sla_next_response: BTreeMap::from([
                (protocol::Priority::Urgent, 15.0),
                (protocol::Priority::High, 30.0),
                (protocol::Priority::Normal, 120.0),
                (protocol::Priority::Low, 480.0),
            ]),
            sla_resolution: BTreeMap::from([
                (protocol::Priority::Urgent, 4.0 * 60.0),
                (protocol::Priority::High, 8.0 * 60.0),
                (protocol::Priority::Normal, 24.0 * 60.0),
                (protocol::Priority::Low, 72.0 * 60.0),
            ]),
            sla_tick: std::time::Duration::from_secs(5),
            session_check: std::time::Duration::from_secs(1),
            missed_check: std::time::Duration::from_secs(10),
            agent_queue: 1024,
            max_pending_writes: 4_000,
            send_timeout: std::time::Duration::from_secs(10),
            reassign_grace: std::time::Duration::from_secs(30),
            agent_capacity: 5,
            routing_strategy: routing::Strategy::RoundRobin,
            canned: default_canned(),
            search_dir: None,
            retention: None,
            redis: None,
            importance: store::Importance::default(),
            insights: insights::Insights::default(),
            email: None,
            rules: Vec::new(),
            webhooks: webhooks::Webhooks::default(),
            escalation: None,
        }
    }
}

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) hub: hub::Hub,
    pub(crate) settings: Arc<Settings>,
    /// The address `serve` listens on (the origin check compares against it).
    pub(crate) listen: Arc<std::sync::OnceLock<SocketAddr>>,
    /// Connected agents and their status (drives routing and the widget's availability).
    pub(crate) presence: routing::Presence,
    pub(crate) signin_throttle: throttle::Throttle,
    /// What the nodes share in Redis (`None`: one node, or a malformed Redis URL).
    pub(crate) cluster: Option<shared::Cluster>,
    pub(crate) limiter: Arc<dyn limits::RateLimiter>,
    pub(crate) refusals: Arc<limits::Refusals>,
    pub(crate) metrics: Arc<metrics::Metrics>,
    pub(crate) connections: limits::Connections,
    pub(crate) live_sessions: sessions::LiveSessions,
    /// Inbox summaries of busy conversations, coalesced.
    pub(crate) summaries: summaries::Summaries,
    /// Turns true when the server stops: WebSocket sessions close with 1012 (reconnect).
    pub(crate) shutdown: Arc<tokio::sync::watch::Sender<bool>>,
    /// Where passwords are hashed: a bounded pool, so sign-in floods cannot exhaust memory.
    pub(crate) passwords: password::PasswordPool,
    pub(crate) kb: kb::KnowledgeBase,
    /// Agents' full-text search over messages, notes and contact fields.
    pub(crate) messages: Option<Arc<server_search::messages::MessageSearch>>,
    /// This process among the nodes (random per start): the holder of cluster-wide leases.
    pub(crate) node: Arc<str>,
    /// Wakes this node's erasure watch at once (an erasure made here).
    pub(crate) erasures: Arc<tokio::sync::Notify>,
    /// Catch-ups the agents' search index owes (`search_feed`).
    pub(crate) catch_up: Arc<search_feed::CatchUp>,
    /// The secret visitors' search keys are made with (the cluster key), read once.
    pub(crate) search_secret: Arc<tokio::sync::OnceCell<Arc<str>>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        // A malformed URL is reported by `start`, which needs it for the events too.
        let cluster = settings
            .redis
            .as_deref()
            .and_then(|url| shared::Cluster::new(url, store.clone()).ok());
        AppState {
            store,
            hub: hub::Hub::new(),
            settings: Arc::new(settings),
            listen: Arc::default(),
            presence: routing::Presence::default(),
            signin_throttle: throttle::Throttle::new(cluster.clone()),
            cluster,
            limiter: Arc::new(limits::LocalLimiter::default()),
            refusals: Arc::default(),
            metrics: Arc::default(),
            connections: limits::Connections::default(),
            live_sessions: sessions::LiveSessions::default(),
            summaries: summaries::Summaries::default(),
            shutdown: Arc::new(tokio::sync::watch::Sender::new(false)),
            passwords: password::PasswordPool::for_this_machine(),
            kb: kb::KnowledgeBase::default(),
            messages: None,
            node: Arc::from(format!("{:016x}", rand::random::<u64>())),
            erasures: Arc::default(),
            catch_up: Arc::default(),
            search_secret: Arc::default(),
        }
    }

    /// The key this browser's searches are counted under (`insights::visitor_key`); `None`
    /// while the database does not answer.
    pub(crate) async fn search_visitor_key(&self, token: &str) -> Option<[u8; 16]> {
        let secret = self.cluster_secret().await?;
        Some(insights::visitor_key(secret.as_bytes(), token))
    }

    /// The cluster key (every node the same; made by the first node), read once; `None` while
    /// the database does not answer.
    pub(crate) async fn cluster_secret(&self) -> Option<Arc<str>> {
        let secret = self
            .search_secret
            .get_or_try_init(|| async {
                let proposed = format!("{:016x}", rand::random::<u64>());
                self.store.cluster_key(&proposed).await.map(Arc::from)
            })
            .await;
        match secret {
            Ok(secret) => Some(secret.clone()),
            Err(e) => {
                tracing::warn!(error = %e, "reading the cluster key failed");
                None
            }
        }
    }

    /// Opens the agents' search index (in `settings.search_dir`, else in memory).
    pub fn with_message_search(mut self) -> Result<Self, server_search::SearchError> {
        let search = match &self.settings.search_dir {
            Some(dir) => server_search::messages::MessageSearch::open(dir)?,
            None => server_search::messages::MessageSearch::in_memory()?,
        };
        self.messages = Some(Arc::new(search));
        Ok(self)
    }

    /// Queues text for the agents' search; committed by the background task.
    pub(crate) fn index_text(
        &self,
        conversation: i64,
        kind: server_search::messages::Kind,
        text: &str,
    ) {
        if let Some(search) = &self.messages
            && let Err(e) = search.add(conversation, kind, text)
        {
            tracing::error!(error = %e, "indexing for search failed");
        }
    }

    /// Starts the background work: the knowledge base (built now, then kept fresh) and the SLA
    /// ticker. Call once, inside the runtime, before serving.
    pub fn start(&self) {
        if let Some(source) = self.settings.knowledge_base.clone() {
            self.kb.build(&source);
            kb::watch(self.clone(), source);
        }
        if let Some(url) = &self.settings.redis {
            let state = self.clone();
            let on_remote: bus::OnRemote = Arc::new(move |event| match event {
                hub::HubEvent::NodePresence { node, agents }
                    if state.presence.merge_remote(node, agents.clone()) =>
                {
                    presence_changed(state.clone())
                }
                // What other nodes wrote becomes searchable here too (each node keeps its own
                // index; what it missed while Redis was away is caught up: `search_feed`).
                hub::HubEvent::Message {
                    conversation,
                    message,
                    ..
                } => state.index_text(
                    *conversation,
                    server_search::messages::Kind::Message,
                    &attachments::search_text(&message.body, &message.attachments),
                ),
                hub::HubEvent::Note(note) => state.index_text(
                    note.conversation,
                    server_search::messages::Kind::Note,
                    &note.body,
                ),
                _ => {}
            });
            match (&self.cluster, redis::Client::open(url.as_str())) {
                (Some(cluster), _) => {
                    let owed = self.catch_up.clone();
                    let on_gap: bus::OnGap =
                        Arc::new(move |since| owed.request(since - search_feed::MARGIN));
                    self.hub.attach(bus::start(
                        cluster.clone(),
                        self.hub.clone(),
                        on_remote,
                        on_gap,
                    ));
                    announce_presence(self.clone());
                    bus::safety_net(self.clone(), self.settings.missed_check);
                }
                (None, Err(e)) => tracing::error!(error = %e, "the Redis URL is not usable"),
                (None, Ok(_)) => {}
            }
        }
        assign::start_sla_ticker(self.clone());
        insights::start(self.clone());
        reports::warm(self.clone());
        attachments::start(self.clone());
        email::start(self.clone());
        sessions::watch(self.clone());
        summaries::Summaries::start(self.clone());
        webhooks::start(self.clone());
        if self.messages.is_none() {
            let state = self.clone();
            tokio::spawn(async move { privacy::start(&state).await });
        }
        if let Some(search) = self.messages.clone() {
            search_feed::start(self, search);
        }
    }

    /// Takes one unit of `limit` for `key`; a refusal is counted for `/metrics`.
    pub(crate) fn limit(
        &self,
        limit: limits::Limit,
        key: limits::Key,
    ) -> Result<(), limits::RetryAfter> {
        let result = self
            .limiter
            .take(limit, self.settings.limits.rate(limit), key);
        if result.is_err() {
            self.refusals.count(limit);
        }
        result
    }

    /// Takes one unit of `limit` for `key` across the cluster (in Redis with several nodes, so
    /// a load balancer spreading an address over N nodes does not give it N times the limit);
    /// on one node, or while Redis does not answer, this node's own bucket.
    pub(crate) async fn limit_cluster(
        &self,
        limit: limits::Limit,
        key: limits::Key,
    ) -> Result<(), limits::RetryAfter> {
        let rate = self.settings.limits.rate(limit);
        if let Some(cluster) = &self.cluster
            && !rate.is_off()
            && let Some(result) = cluster.take(limit, rate, key).await
        {
            if result.is_err() {
                self.refusals.count(limit);
            }
            return result;
        }
        self.limit(limit, key)
    }

    pub(crate) fn is_trusted_proxy(&self, ip: std::net::IpAddr) -> bool {
        self.settings.trusted_proxies.iter().any(|c| c.contains(ip))
    }

    pub(crate) fn site(&self, key: &str) -> Option<&Site> {
        self.settings.sites.get(key)
    }

    /// Whether a human can answer on `site` now.
    pub(crate) fn availability(&self, site: &Site) -> protocol::Availability {
        let now = now_millis();
        let open_now = site.office_hours.as_ref().is_none_or(|h| h.is_open(now));
        protocol::Availability {
            agents_online: self.presence.any_online(),
            open_now,
            next_open: if open_now {
                None
            } else {
                site.office_hours.as_ref().and_then(|h| h.next_open(now))
            },
        }
    }
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/logout-all", post(admin::logout_all))
        .route("/agents", get(admin::list).post(admin::create))
        .route("/agents/{id}/disable", post(admin::disable))
        .route("/agents/{id}/enable", post(admin::enable))
        .route("/agents/{id}/skills", post(admin::set_skills))
        .route("/sites/{site}", get(site_config))
        .route("/search", get(kb::search))
        .route("/conversations/search", get(search_conversations))
        .route("/conversations/{id}/history", get(conversation_history))
        .route(
            "/conversations/{id}/attachments",
            post(attachments::agent_upload),
        )
        .route("/attachments", post(attachments::upload))
        .route("/attachments/{id}", get(attachments::download))
        .route("/contacts/{id}", get(contacts::get).delete(privacy::erase))
        .route(
            "/contacts/{id}/account-manager",
            post(contacts::set_account_manager),
        )
        .route("/contacts/{id}/merge", post(contacts::merge))
        .route("/conversations/{id}/escalate", post(escalation::escalate))
        .route("/conversations/{id}/escalation", get(escalation::get))
        .route("/reports", get(reports::report))
        .route("/reports/lists", get(reports::lists))
        .route("/reports/live", get(reports::live))
        .route("/reports/conversations", get(reports::conversations))
        .route(
            "/reports/conversations.csv",
            get(reports::conversations_csv),
        )
        .route("/contacts/{id}/export", get(privacy::export))
        .route("/reports/gaps", get(insights::gaps_endpoint))
        .route("/webhooks", get(webhooks::http::endpoints))
        .route("/webhooks/{id}/deliveries", get(webhooks::http::deliveries))
        .route("/webhooks/{id}/enable", post(webhooks::http::enable))
        .route("/webhooks/{id}/disable", post(webhooks::http::disable))
        .route(
            "/webhooks/deliveries/{id}/replay",
            post(webhooks::http::replay),
        )
        .merge(api::console())
        .merge(api::docs())
        .layer(DefaultBodyLimit::max(16 * 1024))
        // A raw email is larger than the other requests (its own limit, after the default).
        .route(
            "/email/inbound",
            post(email::inbound).layer(DefaultBodyLimit::max(email::MAX_INBOUND_BYTES)),
        )
        // Jira's webhook carries the whole issue.
        .route(
            "/escalation/jira-webhook",
            post(escalation::jira_webhook)
                .layer(DefaultBodyLimit::max(escalation::MAX_WEBHOOK_BYTES)),
        );
    Router::new()
        .route("/", get(static_files::root))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/widget.js", get(static_files::loader))
        .route("/demo", get(static_files::demo))
        .route("/console", get(static_files::console))
        .route("/frame/widget", get(static_files::widget_frame))
        .route("/assets/{*name}", get(static_files::hashed_asset))
        .route("/index/manifest.json", get(kb::manifest))
        .route("/index/{*name}", get(kb::file))
        .route("/ws/visitor", get(ws::visitor_upgrade))
        .route("/ws/agent", get(ws::agent_upgrade))
        .nest("/api/v1", api::v1())
        .nest("/api", api)
        .fallback(static_files::not_found)
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(state)
}

async fn site_config(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(site): axum::extract::Path<String>,
) -> Result<axum::Json<protocol::SiteConfig>, AppError> {
    state
        .site(&site)
        .map(|s| axum::Json(s.config.clone()))
        .ok_or_else(|| AppError::NotFound(format!("no site {site:?} on this server")))
}

#[derive(serde::Deserialize)]
struct ConversationQuery {
    q: String,
}

/// `GET /api/conversations/search?q=…` (agents): conversations whose messages, notes or contact
/// fields contain every word, best first.
async fn search_conversations(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(query): axum::extract::Query<ConversationQuery>,
) -> Result<axum::Json<Vec<protocol::ConversationSummary>>, AppError> {
    auth::require_agent(&state, &headers).await?;
    if query.q.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "q is limited to 200 characters".into(),
        ));
    }
    let Some(search) = state.messages.clone() else {
        return Ok(axum::Json(Vec::new()));
    };
    let q = query.q.clone();
    let hits = tokio::task::spawn_blocking(move || search.search(&q, 50))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut out = Vec::with_capacity(hits.len());
    for hit in hits {
        if let Some(c) = state.store.conversation(hit.conversation).await? {
            out.push(convert::summary(c));
        }
    }
    Ok(axum::Json(out))
}

/// `GET /api/conversations/{id}/history` (agents): the same customer's other conversations,
/// newest first.
async fn conversation_history(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<axum::Json<Vec<protocol::ConversationSummary>>, AppError> {
    auth::require_agent(&state, &headers).await?;
    let Some(c) = state.store.conversation(id).await? else {
        return Err(AppError::NotFound(format!("no conversation {id}")));
    };
    // Every browser of the contact when there is one, else this browser's.
    let all = match c.contact_id {
        Some(contact) => state.store.conversations_of_contact(contact, 50).await?,
        None => {
            state
                .store
                .conversations_of_visitor(c.visitor_id, 50)
                .await?
        }
    };
    let others = all
        .into_iter()
        .filter(|o| o.id != id)
        .map(convert::summary)
        .collect();
    Ok(axum::Json(others))
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> impl axum::response::IntoResponse {
    let mut out = String::new();
    let queue = state.metrics.queue(&*state.store).await;
    state.metrics.render(&mut out, queue);
    state.refusals.render(&mut out);
    if let Some(bus) = state.hub.bus() {
        bus.render(&mut out);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

/// Another node's agents changed (came, went, changed status): widgets learn whether anyone
/// answers, consoles get the agents' list, and the queue is offered to whoever came.
fn presence_changed(state: AppState) {
    tokio::spawn(async move {
        state.hub.publish(hub::HubEvent::Presence);
        assign::publish_agents(&state).await;
        assign::drain_queue(&state).await;
    });
}

/// Tells the other nodes every second which agents are connected here, and forgets nodes that
/// stopped telling.
fn announce_presence(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            state.hub.publish(hub::HubEvent::NodePresence {
                node: state.node.to_string(),
                agents: state.presence.local_snapshot(),
            });
            if state.presence.expire_remote() {
                presence_changed(state.clone());
            }
        }
    });
}

/// Ready to serve: the database answers within 2 s, and, with several nodes, this node hears
/// the others (its own canary came back through Redis lately). 503 otherwise, with which part
/// failed, so a load balancer moves clients to a ready node.
async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> impl axum::response::IntoResponse {
    let database = matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), state.store.agent_count()).await,
        Ok(Ok(_))
    );
    let pubsub = state.hub.bus().map(|b| b.alive());
    let ready = database && pubsub != Some(false);
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({
            "ready": ready,
            "database": if database { "ok" } else { "unreachable" },
            "pubsub": match pubsub {
                None => "off",
                Some(true) => "ok",
                Some(false) => "deaf",
            },
        })),
    )
}

/// True when `cargo xtask build` ran before this binary was compiled.
pub fn assets_built() -> bool {
    assets::built()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
