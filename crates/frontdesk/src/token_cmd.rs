//! `frontdesk token …`: the public API's tokens, on the database directly: `create` prints the
//! secret once (only its hash is stored), `list` shows each token's prefix, scope and last use,
//! `revoke` ends one at once on every node (each request looks its token up).

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use store::TokenScope;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Make a token and print its secret (shown this once).
    Create(CreateArgs),
    /// List the tokens (never their secrets).
    List(ListArgs),
    /// Revoke a token: it is refused from now on.
    Revoke(RevokeArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Scope {
    /// Reads only.
    Read,
    /// Reads and writes conversations, messages and contacts.
    Write,
    /// Everything, including tokens and erasing a contact's data.
    Admin,
}

#[derive(Args)]
pub struct CreateArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    /// What the token is for (shown in lists), e.g. "CRM sync".
    #[arg(long)]
    name: String,
    #[arg(long, value_enum)]
    scope: Scope,
    /// The agent (email) whose name replies and notes carry when a request names none.
    #[arg(long)]
    agent: Option<String>,
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
}

#[derive(Args)]
pub struct RevokeArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    /// The token's id (`token list`).
    id: i64,
}

/// `YYYY-MM-DD HH:MM UTC`, or `never`.
fn when(at: Option<i64>) -> String {
    match at {
        None => "never".into(),
        Some(ms) => {
            let day = calendar::LocalDate::from_days(ms.div_euclid(86_400_000));
            let minute = ms.rem_euclid(86_400_000) / 60_000;
            format!("{day} {:02}:{:02} UTC", minute / 60, minute % 60)
        }
    }
}

pub async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => {
            let store = crate::cli::open_store(&args.data, args.database.as_deref()).await?;
            let agent = match &args.agent {
                Some(email) => Some(crate::cli::find_agent(&*store, email).await?.id),
                None => None,
            };
            let scope = match args.scope {
                Scope::Read => TokenScope::Read,
                Scope::Write => TokenScope::Write,
                Scope::Admin => TokenScope::Admin,
            };
            let created = server::api::tokens::create_token(&*store, &args.name, scope, agent)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            store.close().await;
            eprintln!(
                "token {} ({}) made; its secret is shown this once, keep it safe:",
                created.token.id, created.token.prefix
            );
            say!("{}", created.secret);
        }
        TokenCommand::List(args) => {
            let store = crate::cli::open_store(&args.data, args.database.as_deref()).await?;
            let tokens = store.api_tokens().await?;
            store.close().await;
            if tokens.is_empty() {
                bail!("no API token yet: frontdesk token create --name … --scope read|write|admin");
            }
            for t in tokens {
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {}", when(Some(at))),
                    None => "active".into(),
                };
                say!(
                    "{}\t{}…\t{}\t{}\tlast used {}\t{}",
                    t.id,
                    t.prefix,
                    t.scope.as_str(),
                    state,
                    when(t.last_used_at),
                    t.name
                );
            }
        }
        TokenCommand::Revoke(args) => {
            let store = crate::cli::open_store(&args.data, args.database.as_deref()).await?;
            let result = store
                .revoke_api_token(args.id, crate::cli::now_millis())
                .await;
            store.close().await;
            match result {
                Ok(t) => say!("token {} ({}) revoked", t.id, t.prefix),
                Err(store::StoreError::NotFound { .. }) => bail!("no token {}", args.id),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
