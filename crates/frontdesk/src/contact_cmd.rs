//! `frontdesk contact …`: a customer's data: find a contact by email, export everything stored
//! about it, or erase it. Works on the database directly, with or without a server running:
//! running servers follow the erasure log and drop the erased conversations from their search
//! index and consoles within a second.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ContactCommand {
    /// List the contacts of a site with this email (the ids to export or delete).
    Find(FindArgs),
    /// Write everything stored about a contact as JSON (profile, conversations, messages,
    /// notes, ratings, searches) to standard output or a file.
    Export(ExportArgs),
    /// Erase a contact and all its data (contacts merged into it, conversations, messages,
    /// notes, browsers), also from the agents' search index. Cannot be undone.
    Delete(DeleteArgs),
}

#[derive(Args)]
pub struct FindArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    /// The site key the contact belongs to.
    #[arg(long)]
    site: String,
    #[arg(long)]
    email: String,
}

#[derive(Args)]
pub struct ExportArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    /// The contact's id (`contact find`, or the console's contact panel).
    id: i64,
    /// Write to this file instead of standard output (created with owner-only permissions).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct DeleteArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    id: i64,
    /// Confirm: the data cannot be recovered.
    #[arg(long)]
    yes: bool,
}

pub async fn run(command: ContactCommand) -> anyhow::Result<()> {
    match command {
        ContactCommand::Find(args) => {
            let store = crate::cli::open_store(&args.data, args.database.as_deref()).await?;
            let found = store
                .contacts_with_email(&args.site, &args.email, 0)
                .await?;
            store.close().await;
            if found.is_empty() {
                bail!(
                    "no contact of site {:?} has the email {:?}",
                    args.site,
                    args.email
                );
            }
            for c in found {
                say!(
                    "{:>6}  {:<24} {:<32} {}",
                    c.id,
                    c.name.as_deref().unwrap_or("-"),
                    c.email.as_deref().unwrap_or("-"),
                    c.external_id
                        .map(|e| format!("verified as {e}"))
                        .unwrap_or_default()
                );
            }
        }
        ContactCommand::Export(args) => {
            let store = crate::cli::open_store(&args.data, args.database.as_deref()).await?;
            let data = store.contact_data(args.id).await?;
            store.close().await;
            let Some(data) = data else {
                bail!("no contact {}", args.id);
            };
            let document = server::privacy::export_document(data, crate::cli::now_millis());
            let json = serde_json::to_string_pretty(&document)?;
            match &args.out {
                Some(path) => write_private(path, json.as_bytes())
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => {
                    let mut out = std::io::stdout().lock();
                    if let Err(e) = out
                        .write_all(json.as_bytes())
                        .and_then(|()| out.write_all(b"\n"))
                    {
                        crate::output_failed(e);
                    }
                }
            }
        }
        ContactCommand::Delete(args) => {
            if !args.yes {
                bail!(
                    "this erases contact {} and all its data for good; run again with --yes",
                    args.id
                );
            }
            let store = crate::cli::open_store(&args.data, args.database.as_deref()).await?;
            let erased = store
                .erase_contact(args.id, crate::cli::now_millis())
                .await
                .map_err(|e| match e {
                    store::StoreError::NotFound { .. } => anyhow::anyhow!("no contact {}", args.id),
                    e => e.into(),
                });
            store.close().await;
            let erased = erased?;
            say!(
                "erased contact {} ({} contact records, {} conversations, {} browsers)",
                args.id,
                erased.contacts.len(),
                erased.conversations.len(),
                erased.visitors.len()
            );
        }
    }
    Ok(())
}

/// A customer's data is written readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
