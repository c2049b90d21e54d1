//! The `frontdesk` binary: parses the command line and hands off to the library crates.

mod cli;
mod config;
mod contact_cmd;
mod index_cmd;
mod migrate_cmd;

fn main() {
    if let Err(e) = cli::run() {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
