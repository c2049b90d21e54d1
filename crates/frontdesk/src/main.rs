//! The `frontdesk` binary: parses the command line and hands off to the library crates.

/// `println!` for a command's output: when the reader has gone (`frontdesk index search … |
/// head`), the command ends quietly, as command-line tools do, instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::output_failed(e);
        }
    }};
}

mod cli;
mod config;
mod contact_cmd;
mod index_cmd;
mod insights_cmd;
mod migrate_cmd;
mod report_cmd;
mod token_cmd;

fn main() {
    if let Err(e) = cli::run() {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}

/// Writing a command's output failed: a closed pipe ends the command quietly (exit 0); any
/// other failure is an error.
pub(crate) fn output_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write the output: {e}");
    std::process::exit(2);
}
