//! `frontdesk migrate --to postgres://…`: moves a node's SQLite database (`DATA/frontdesk.db`)
//! to an empty PostgreSQL database in one transaction, then prints what it checked. The copy
//! itself is `store::copy`.

use anyhow::bail;
use clap::Args;
use std::path::PathBuf;
use store::copy::{CopyError, TableCopy};

#[derive(Args)]
pub struct MigrateArgs {
    /// Folder of the SQLite database to copy (`DATA/frontdesk.db`, as `serve --data`)
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// The PostgreSQL database to copy into, which must be empty:
    /// `postgres://user:password@host/db` (the password can also come from PGPASSWORD)
    #[arg(long)]
    to: String,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let url = args.to.trim();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!(
            "--to takes a postgres:// URL, not {:?}",
            url.split('@').next_back().unwrap_or("")
        );
    }
    let db = args.data.join("frontdesk.db");
    if !db.is_file() {
        bail!(
            "no SQLite database at {} (pass --data, the folder `frontdesk serve --data` uses)",
            db.display()
        );
    }
    eprintln!(
        "copying {} to PostgreSQL in one transaction (stop the node first, or copy a backup)",
        db.display()
    );
    let copied = store::copy::sqlite_to_postgres(&db, url, |p| {
        if p.done {
            eprintln!("  {}: {} rows copied", p.table, p.rows);
        } else {
            eprintln!("  {}: {} rows…", p.table, p.rows);
        }
    })
    .await;
    match copied {
        Ok(report) => {
            for line in report_lines(&report) {
                say!("{line}");
            }
            let rows: i64 = report.iter().map(TableCopy::rows).sum();
            say!(
                "migrated: {} tables, {rows} rows, every count matches; serve it with \
                 `frontdesk serve --database <url>`",
                report.len()
            );
            Ok(())
        }
        Err(CopyError::Mismatch(tables, report)) => {
            // On standard error: a closed output must not turn this failure into a success.
            for line in report_lines(&report) {
                eprintln!("{line}");
            }
            bail!("the copy does not match the source in {tables}: rolled back, nothing written")
        }
        // The message names its causes already (no chain repeating them).
        Err(e) => bail!("{e}"),
    }
}

/// One line per table (rows), then one per further check, with `MISMATCH` where the two
/// sides differ.
fn report_lines(report: &[TableCopy]) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<40} {:>12} {:>12}",
        "table", "sqlite", "postgres"
    )];
    for table in report {
        for (i, check) in table.checks.iter().enumerate() {
            let label = if i == 0 {
                table.table.clone()
            } else {
                format!("  {}", check.what)
            };
            lines.push(format!(
                "{label:<40} {:>12} {:>12}{}",
                check.sqlite,
                check.postgres,
                if check.sqlite == check.postgres {
                    ""
                } else {
                    "  MISMATCH"
                }
            ));
        }
    }
    lines
}
