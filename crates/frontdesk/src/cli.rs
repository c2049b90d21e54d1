//! Command-line interface: `serve`, `agent …`, `backup`, `migrate`, `contact …`,
//! `insights …`, `token …`, `index …`.

use crate::config;
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::{NewAgent, PgStore, SqliteStore, Store};

#[derive(Parser)]
#[command(
    name = "frontdesk",
    version,
    about = "Self-hosted customer support: widget, live chat, agent console."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: widget loader, demo page, agent console, WebSocket endpoints.
    Serve(ServeArgs),
    /// Manage agents.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Copy the SQLite database consistently while the server runs, and check the copy
    /// (PostgreSQL: use pg_dump).
    Backup(BackupArgs),
    /// Move this node's SQLite database to an empty PostgreSQL database (one transaction,
    /// checked by counts), for several nodes.
    Migrate(crate::migrate_cmd::MigrateArgs),
    /// A customer's data: find, export, delete.
    Contact {
        #[command(subcommand)]
        command: crate::contact_cmd::ContactCommand,
    },
    /// The Reports page's figures: a summary, JSON, or the conversations behind them as CSV.
    Report(crate::report_cmd::ReportArgs),
    /// What customers searched for in the widget: the content team's lists.
    Insights {
        #[command(subcommand)]
        command: crate::insights_cmd::InsightsCommand,
    },
    /// Tokens of the public REST API (`/api/v1`): create, list, revoke.
    Token {
        #[command(subcommand)]
        command: crate::token_cmd::TokenCommand,
    },
    /// Build, check and query the knowledge-base index.
    Index {
        #[command(subcommand)]
        command: crate::index_cmd::IndexCommand,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port) [default: 127.0.0.1:8080]
    #[arg(long, env = "FRONTDESK_LISTEN")]
    listen: Option<SocketAddr>,
    /// Folder for the SQLite database [default: ./data]
    #[arg(long, env = "FRONTDESK_DATA")]
    data: Option<PathBuf>,
    /// PostgreSQL instead of SQLite, for several nodes: `postgres://user:password@host/db`
    /// (the password can also come from PGPASSWORD)
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    /// Redis carrying live events between nodes, e.g. redis://127.0.0.1:6379 (several nodes
    /// on one PostgreSQL database)
    #[arg(long, env = "FRONTDESK_REDIS")]
    redis: Option<String>,
    /// TOML config file (a `[server]` table with listen, data, public_url, session_days)
    #[arg(long, env = "FRONTDESK_CONFIG")]
    config: Option<PathBuf>,
    /// Public origin when behind a reverse proxy, e.g. https://support.example.com
    #[arg(long, env = "FRONTDESK_PUBLIC_URL")]
    public_url: Option<String>,
    /// Reverse proxies whose Forwarded / X-Forwarded-For headers name the client, as CIDRs
    /// separated by commas (e.g. 127.0.0.1/32,10.0.0.0/8); needs --public-url
    #[arg(long, env = "FRONTDESK_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<String>,
    /// Folder of Markdown articles to serve as the knowledge base [default: ./index if present]
    #[arg(long, env = "FRONTDESK_KB")]
    kb: Option<PathBuf>,
    /// On first start, create a demo agent and print its login
    #[arg(long)]
    demo: bool,
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Create an agent; the password is read from standard input.
    Add(AgentAddArgs),
    /// List agents.
    List(DataArgs),
    /// Disable an agent: its sessions end and it cannot sign in.
    Disable(AgentEmailArgs),
    /// Re-enable a disabled agent.
    Enable(AgentEmailArgs),
    /// Set a new password (read from standard input) and end the agent's sessions.
    Password(AgentEmailArgs),
    /// Set the languages an agent answers in (routing skill), e.g. `--set en,pt`.
    Languages(AgentSetArgs),
    /// Set the teams an agent belongs to, e.g. `--set billing,vip` (taken into account from
    /// the agent's next console connection).
    Teams(AgentSetArgs),
    /// Let an agent see the reports (`--off` takes it back); admins always do.
    Lead(AgentLeadArgs),
}

#[derive(Args)]
struct AgentLeadArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    #[arg(long)]
    email: String,
    #[arg(long)]
    off: bool,
}

async fn agent_lead(args: AgentLeadArgs) -> anyhow::Result<()> {
    let store = open_store(&args.data, args.database.as_deref()).await?;
    let agent = find_agent(&*store, &args.email).await?;
    store.set_lead(agent.id, !args.off).await?;
    store.close().await;
    say!(
        "{} {} a lead",
        agent.email,
        if args.off { "is no longer" } else { "is now" }
    );
    Ok(())
}

#[derive(Args)]
struct AgentSetArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder (`postgres://user:password@host/db`)
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    #[arg(long)]
    email: String,
    /// Comma-separated list; empty clears it
    #[arg(long, value_delimiter = ',')]
    set: Vec<String>,
}

/// Validates team names given on the command line (normalized like labels).
fn team_list(names: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for name in names.iter().filter(|t| !t.trim().is_empty()) {
        let Some(team) = protocol::normalize_label(name) else {
            bail!(
                "{name:?} is not a team name: 1 to {} characters, no commas",
                protocol::MAX_LABEL_CHARS
            );
        };
        if !out.contains(&team) {
            out.push(team);
        }
    }
    Ok(out)
}

/// Validates language tags given on the command line: primary subtags, lowercased.
fn language_list(tags: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for tag in tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        let Some(primary) = protocol::primary_language(tag) else {
            bail!("{tag:?} is not a language tag like en or pt-BR");
        };
        if !out.contains(&primary) {
            out.push(primary);
        }
    }
    Ok(out)
}

#[derive(Args)]
struct BackupArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// The copy to write (a new file)
    #[arg(long)]
    to: PathBuf,
}

#[derive(Args)]
struct DataArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder (`postgres://user:password@host/db`)
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
}

#[derive(Args)]
struct AgentEmailArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder (`postgres://user:password@host/db`)
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    #[arg(long)]
    email: String,
}

#[derive(Args)]
struct AgentAddArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder (`postgres://user:password@host/db`)
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    #[arg(long)]
    email: String,
    /// Read the password from standard input (required: passwords never go on the command line)
    #[arg(long, required = true)]
    password_stdin: bool,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    admin: bool,
    /// Languages the agent answers in, for routing (e.g. `en,pt`); empty means any
    #[arg(long, value_delimiter = ',')]
    languages: Vec<String>,
    /// Teams the agent belongs to (e.g. `billing,vip`)
    #[arg(long, value_delimiter = ',')]
    teams: Vec<String>,
}

pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Index { command } = cli.command {
        return crate::index_cmd::run(command);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Agent { command } => runtime.block_on(async move {
            match command {
                AgentCommand::Add(args) => agent_add(args).await,
                AgentCommand::List(args) => agent_list(args).await,
                AgentCommand::Disable(args) => agent_set_disabled(args, true).await,
                AgentCommand::Enable(args) => agent_set_disabled(args, false).await,
                AgentCommand::Password(args) => agent_password(args).await,
                AgentCommand::Languages(args) => agent_skill(args, Skill::Languages).await,
                AgentCommand::Teams(args) => agent_skill(args, Skill::Teams).await,
                AgentCommand::Lead(args) => agent_lead(args).await,
            }
        }),
        Command::Contact { command } => runtime.block_on(crate::contact_cmd::run(command)),
        Command::Insights { command } => runtime.block_on(crate::insights_cmd::run(command)),
        Command::Token { command } => runtime.block_on(crate::token_cmd::run(command)),
        Command::Backup(args) => runtime.block_on(backup(args)),
        Command::Report(args) => runtime.block_on(crate::report_cmd::run(args)),
        Command::Migrate(args) => runtime.block_on(crate::migrate_cmd::run(args)),
        Command::Index { .. } => unreachable!("handled above"),
    }
}

/// The store: PostgreSQL when `database` is a `postgres://` URL, else SQLite in `data`.
pub(crate) async fn open_store(
    data: &Path,
    database: Option<&str>,
) -> anyhow::Result<Arc<dyn Store>> {
    match database.map(str::trim).filter(|d| !d.is_empty()) {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(PgStore::connect(url).await?))
        }
        Some(other) => bail!(
            "--database takes a postgres:// URL (SQLite needs none: it lives in the data \
             folder), not {:?}",
            other.split('@').next_back().unwrap_or("")
        ),
        None => {
            std::fs::create_dir_all(data)
                .with_context(|| format!("cannot create the data folder {}", data.display()))?;
            Ok(Arc::new(
                SqliteStore::open(&data.join("frontdesk.db")).await?,
            ))
        }
    }
}

async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    if std::env::var("FRONTDESK_DATABASE").is_ok_and(|d| !d.trim().is_empty()) {
        bail!("FRONTDESK_DATABASE is set: back up PostgreSQL with pg_dump");
    }
    let db = args.data.join("frontdesk.db");
    if !db.exists() {
        bail!("no database at {}", db.display());
    }
    if args.to.exists() {
        bail!(
            "{} exists; a backup never overwrites a file",
            args.to.display()
        );
    }
    let store = SqliteStore::open(&db).await?;
    let summary = store.backup(&args.to).await;
    store.close().await;
    let summary = summary.with_context(|| format!("backing up to {}", args.to.display()))?;
    say!(
        "backed up to {} (integrity ok): {} conversations, {} messages, {} contacts",
        args.to.display(),
        summary.conversations,
        summary.messages,
        summary.contacts
    );
    Ok(())
}

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn create_agent(
    store: &dyn Store,
    email: &str,
    name: &str,
    password: &str,
    admin: bool,
) -> anyhow::Result<store::Agent> {
    if !protocol::valid_email(email) {
        bail!("{email:?} is not a valid email address");
    }
    // Shown to customers: no bidi overrides, invisible or control characters.
    let name = protocol::clean_name(name);
    if name.is_empty() || name.chars().count() > 100 {
        bail!("the name must be 1 to 100 visible characters");
    }
    let password_hash = server::hash_password(password)?;
    let agent = store
        .create_agent(
            NewAgent {
                email: email.to_owned(),
                name,
                password_hash,
                admin,
            },
            now_millis(),
        )
        .await
        .map_err(|e| match e {
            store::StoreError::Conflict { .. } => {
                anyhow::anyhow!("an agent with the email {email} already exists")
            }
            e => e.into(),
        })?;
    Ok(agent)
}

async fn agent_add(args: AgentAddArgs) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    let store = open_store(&args.data, args.database.as_deref()).await?;
    let name = args
        .name
        .unwrap_or_else(|| args.email.split('@').next().unwrap_or_default().to_owned());
    let languages = language_list(&args.languages)?;
    let teams = team_list(&args.teams)?;
    let agent = create_agent(&*store, args.email.trim(), &name, password, args.admin).await?;
    if !languages.is_empty() {
        store.set_agent_languages(agent.id, &languages).await?;
    }
    if !teams.is_empty() {
        store.set_agent_teams(agent.id, &teams).await?;
    }
    store.close().await;
    say!(
        "created {} {} <{}> (id {})",
        if agent.admin { "admin" } else { "agent" },
        agent.name,
        agent.email,
        agent.id
    );
    Ok(())
}

pub(crate) async fn find_agent(store: &dyn Store, email: &str) -> anyhow::Result<store::Agent> {
    match store.agent_credentials(email.trim()).await? {
        Some(c) => Ok(c.agent),
        None => bail!("no agent with the email {email}"),
    }
}

/// Which routing skill `agent languages` / `agent teams` sets.
#[derive(Clone, Copy)]
enum Skill {
    Languages,
    Teams,
}

async fn agent_skill(args: AgentSetArgs, skill: Skill) -> anyhow::Result<()> {
    let values = match skill {
        Skill::Languages => language_list(&args.set)?,
        Skill::Teams => team_list(&args.set)?,
    };
    let store = open_store(&args.data, args.database.as_deref()).await?;
    let agent = find_agent(&*store, &args.email).await?;
    match skill {
        Skill::Languages => store.set_agent_languages(agent.id, &values).await?,
        Skill::Teams => store.set_agent_teams(agent.id, &values).await?,
    }
    store.close().await;
    let (what, none) = match skill {
        Skill::Languages => ("answers in", "any language"),
        Skill::Teams => ("is in", "no team"),
    };
    let list = if values.is_empty() {
        none.to_owned()
    } else {
        values.join(", ")
    };
    say!("{} {what}: {list}", agent.email);
    Ok(())
}

async fn agent_list(args: DataArgs) -> anyhow::Result<()> {
    let store = open_store(&args.data, args.database.as_deref()).await?;
    for a in store.list_agents().await? {
        say!(
            "{:>4}  {:<32} {:<24} {}{}{}{}",
            a.id,
            a.email,
            a.name,
            if a.admin { "admin" } else { "agent" },
            if a.disabled { ", disabled" } else { "" },
            if a.languages.is_empty() {
                String::new()
            } else {
                format!(", {}", a.languages.join("/"))
            },
            if a.teams.is_empty() {
                String::new()
            } else {
                format!(", teams: {}", a.teams.join("/"))
            }
        );
    }
    store.close().await;
    Ok(())
}

async fn agent_set_disabled(args: AgentEmailArgs, disabled: bool) -> anyhow::Result<()> {
    let store = open_store(&args.data, args.database.as_deref()).await?;
    let agent = find_agent(&*store, &args.email).await?;
    store.set_agent_disabled(agent.id, disabled).await?;
    store.close().await;
    say!(
        "{} {}",
        if disabled { "disabled" } else { "enabled" },
        agent.email
    );
    Ok(())
}

async fn agent_password(args: AgentEmailArgs) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    let store = open_store(&args.data, args.database.as_deref()).await?;
    let agent = find_agent(&*store, &args.email).await?;
    store
        .set_password_hash(agent.id, &server::hash_password(password)?)
        .await?;
    let ended = store.delete_sessions_of(agent.id).await?;
    store.close().await;
    say!(
        "password changed for {}; {ended} session(s) ended",
        agent.email
    );
    Ok(())
}

/// The demo agent's login, created on the first `serve --demo` and kept in the data folder so
/// later starts print the same one.
async fn demo_login(store: &dyn Store, data: &Path) -> anyhow::Result<(String, String)> {
    const EMAIL: &str = "demo@frontdesk.test";
    let file = data.join("demo-login.txt");
    if let Ok(text) = std::fs::read_to_string(&file)
        && let Some((email, password)) = text.trim().split_once(' ')
    {
        return Ok((email.to_owned(), password.to_owned()));
    }
    if store.agent_credentials(EMAIL).await?.is_some() {
        bail!(
            "the demo agent exists but {} is missing; create another agent with `frontdesk agent add`",
            file.display()
        );
    }
    use rand::Rng;
    let password: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    create_agent(store, EMAIL, "Demo Agent", &password, true).await?;
    std::fs::write(&file, format!("{EMAIL} {password}\n"))
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok((EMAIL.to_owned(), password))
}

/// Logs to standard error, filtered by `FRONTDESK_LOG`; one JSON object per line with
/// `FRONTDESK_LOG_FORMAT=json` (for log collectors), else human-readable lines.
fn init_logging() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FRONTDESK_LOG")
        .unwrap_or_else(|_| "info,sqlx::postgres::notice=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match std::env::var("FRONTDESK_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().flatten_event(true).init(),
        Ok("text") | Err(_) => logs.init(),
        Ok(other) => bail!("FRONTDESK_LOG_FORMAT must be json or text, not {other:?}"),
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging()?;
    raise_open_files_limit();
    let file = match &args.config {
        Some(path) => config::load(path)?,
        None => config::FileConfig::default(),
    };
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid default"));
    let data = args
        .data
        .or(file.data)
        .unwrap_or_else(|| PathBuf::from("data"));
    let public_url = args.public_url.or(file.public_url);
    let trusted_proxies = if args.trusted_proxies.is_empty() {
        file.trusted_proxies.clone().unwrap_or_default()
    } else {
        args.trusted_proxies.clone()
    };
    let trusted_proxies = trusted_proxies
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<server::Cidr>())
        .collect::<Result<Vec<_>, _>>()
        .context("server.trusted_proxies")?;
    if !trusted_proxies.is_empty() && public_url.is_none() {
        bail!(
            "server.trusted_proxies needs server.public_url (the origin browsers use through the \
             proxy, e.g. https://support.example.com): behind a proxy the server cannot tell \
             its own origin"
        );
    }
    let knowledge_base = args
        .kb
        .or(file.knowledge_base)
        .or_else(|| Some(PathBuf::from("index")).filter(|p| p.is_dir()));
    // The built-in demo site and page: on out of the box and with `--demo` (`cargo xtask
    // demo`), off once real sites are configured unless `[demo] enabled = true`.
    let demo_enabled = args.demo || file.demo_enabled.unwrap_or(file.sites.is_empty());
    let mut sites = if demo_enabled {
        server::Settings::default().sites
    } else {
        std::collections::BTreeMap::new()
    };
    sites.extend(file.sites);
    let mut settings = server::Settings {
        public_url: public_url.clone(),
        trusted_proxies,
        limits: config::limits(&file.limits, |k| std::env::var(k).ok())?,
        demo_page: demo_enabled,
        session_days: file.session_days.unwrap_or(30),
        sites,
        knowledge_base: knowledge_base.clone(),
        ..server::Settings::default()
    };
    if let Some(sla) = &file.sla {
        for (from, to) in [
            (
                &sla.first_response_minutes,
                &mut settings.sla_first_response,
            ),
            (&sla.next_response_minutes, &mut settings.sla_next_response),
            (&sla.resolution_minutes, &mut settings.sla_resolution),
        ] {
            for (priority, minutes) in from {
                if let Some(p) = protocol::Priority::parse(priority) {
                    to.insert(p, *minutes);
                }
            }
        }
        if let Some(s) = sla.check_seconds.filter(|s| *s > 0.0) {
            settings.sla_tick = std::time::Duration::from_secs_f64(s);
        }
    }
    if let Some(r) = &file.routing {
        if let Some(c) = r.capacity {
            settings.agent_capacity = c.max(1);
        }
        match r.strategy.as_deref() {
            None | Some("round_robin") => {}
            Some("least_busy") => settings.routing_strategy = server::RoutingStrategy::LeastBusy,
            Some(other) => {
                anyhow::bail!("routing.strategy must be round_robin or least_busy, not {other:?}")
            }
        }
        if let Some(s) = r.reassign_after_seconds.filter(|s| *s >= 0.0) {
            settings.reassign_grace = std::time::Duration::from_secs_f64(s);
        }
    }
    if !file.canned.is_empty() {
        settings.canned = file.canned.clone();
    }
    settings.search_dir = Some(data.join("search"));
    settings.retention = file.retention;
    if let Some(importance) = file.importance {
        settings.importance = importance;
    }
    settings.insights = file.insights;
    settings.email = file.email.clone();
    settings.rules = file.rules.clone();
    settings.webhooks = file.webhooks;
    settings.escalation = file.escalation.clone();
    settings.redis = args.redis.or(file.redis.clone());

    let database = args.database.or(file.database.clone());
    let store = open_store(&data, database.as_deref()).await?;
    let demo = if args.demo {
        Some(demo_login(&*store, &data).await?)
    } else {
        None
    };
    let listener = bind(listen)?;
    let addr = listener.local_addr()?;
    let base = public_url.unwrap_or_else(|| format!("http://{addr}"));
    // The first line is machine-readable: tests and scripts read the port from it.
    println!("listening on http://{addr}");
    if demo_enabled {
        println!("  demo page:     {base}/demo");
    }
    println!("  agent console: {base}/console");
    if let Some((email, password)) = demo {
        println!("  demo login:    {email} / {password}");
    }
    println!("  data:          {}", data.display());
    if database.is_some() {
        println!("  database:      PostgreSQL");
    }
    if !assets_built() {
        println!("  warning: web assets are not built into this binary; run `cargo xtask build`");
    }
    match &knowledge_base {
        Some(kb) => println!("  knowledge base: {}", kb.display()),
        None => println!("  knowledge base: none (pass --kb DIR)"),
    }
    // Before serving: events are enqueued for the configured endpoints from the first request.
    server::webhooks::register(&*store, &settings.webhooks)
        .await
        .context("cannot record the webhook endpoints in the database")?;
    let state = server::AppState::new(store.clone(), settings)
        .with_message_search()
        .context("cannot open the search index in the data folder")?;
    state.start();
    server::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

fn assets_built() -> bool {
    // The server crate answers 503 for pages when assets are missing; mirror that here.
    server::assets_built()
}

fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("cannot listen on {addr} (is another server running there?)"))?;
    // A deep backlog: bursts of reconnecting widgets overflow 1024 (design.md).
    Ok(socket.listen(4096)?)
}

/// Every connection is a file: the common soft limit of 1,024 caps a server near 1,000
/// sockets. Raise it to the hard limit the system allows.
fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(current), Some(max)) = (limit.current, limit.maximum) else {
        return tracing::info!("open files limit: unlimited");
    };
    if current >= max {
        return tracing::info!(limit = current, "open files limit");
    }
    let raised = rustix::process::Rlimit {
        current: Some(max),
        maximum: Some(max),
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::info!(from = current, to = max, "open files limit raised"),
        Err(e) => {
            tracing::warn!(limit = current, error = %e, "could not raise the open files limit")
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
