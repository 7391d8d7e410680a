//! `privicore`: the command-line tool for the Privicore tokenization vault, built on the
//! ergonomic `privicore` crate.
//!
//! `privicore demo` shows the whole story against an embedded mock server; the other commands
//! work against any Privicore server (`--api`/`--ws`, `PRIVICORE_API_URL`/`PRIVICORE_WS_URL`,
//! or a profile of the config file).
//! Results go to stdout (`--json` where a script would parse them), progress bars and notes to
//! stderr, and every failure is one `error: ...` line on stderr with exit code 1 (2 for usage
//! errors).

mod cli;
mod commands;
mod config;
mod error;
mod output;
mod progress;
mod secret_command;
mod settings;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::Cli;
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report(&CliError::new(format!("cannot start the runtime: {e}"))),
    };
    settings::init(cli.globals);
    let result = runtime.block_on(commands::run_until_interrupted(cli.command));
    // A blocking read of stdin may still be parked; do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

/// Prints `error: ...` on one line and gives the exit code.
fn report(error: &CliError) -> ExitCode {
    if !error.is_quiet() {
        output::note(format_args!("error: {error}"));
    }
    ExitCode::from(error.code())
}

/// Help and version are printed as clap writes them; a usage error becomes one line, exit
/// code 2.
fn usage(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::from(2)
        }
        _ => {
            output::note(one_line_usage(&error.render().to_string()));
            ExitCode::from(2)
        }
    }
}

/// Folds clap's multi-line usage error into one line: the message (with the list that may
/// follow it), then any tip.
fn one_line_usage(rendered: &str) -> String {
    let mut blocks = rendered.split("\n\n");
    let message = blocks
        .next()
        .unwrap_or("error: invalid arguments")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut line = message;
    for block in blocks {
        for tip in block
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("tip:"))
        {
            line.push_str("; ");
            line.push_str(tip);
        }
    }
    line.push_str(" (see --help)");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_fold_into_one_line() {
        let rendered = "error: the following required arguments were not provided:\n  <FILE>\n\nUsage: privicore store <FILE>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line_usage(rendered),
            "error: the following required arguments were not provided: <FILE> (see --help)"
        );
        let rendered = "error: unexpected argument '--jsn' found\n\n  tip: a similar argument exists: '--json'\n\nUsage: x\n";
        assert_eq!(
            one_line_usage(rendered),
            "error: unexpected argument '--jsn' found; tip: a similar argument exists: '--json' (see --help)"
        );
    }

    #[test]
    fn every_real_parse_error_is_one_line() {
        for args in [
            &["privicore", "store"][..],
            &["privicore", "nope"],
            &["privicore", "tokens", "list", "--per-page", "0"],
            &["privicore", "tokens", "list", "--jsn"],
        ] {
            let error = Cli::try_parse_from(args).expect_err("invalid");
            let line = one_line_usage(&error.render().to_string());
            assert!(line.starts_with("error: "), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
    }
}
