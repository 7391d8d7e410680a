//! `cargo xtask`: the workspace's own tooling.
//!
//! `cargo xtask generate [--check] [-v]` checks `spec/privicore.yaml` against the rules
//! progenitor needs (see `preflight`), generates the raw client with progenitor and writes it
//! to `crates/privicore-api/src/`, with the tables built from the spec (the mock's routes:
//! `mock_routes`). With `--check` nothing is written: the command fails and
//! names every stale file instead.
//!
//! `cargo xtask bench [--quick]` runs the benchmarks (see `bench`).

mod bench;
mod examples;
mod generate;
mod handlers;
mod mirror;
mod mock_routes;
mod operations;
mod pagination;
mod preflight;
mod redact;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask generate [--check] [-v|--verbose]
       cargo xtask bench [--quick]

  generate    check spec/privicore.yaml, run progenitor, write crates/privicore-api/src/generated*.rs
              the typed group handlers in crates/privicore/src/generated/ and the mock's
              route table crates/privicore-mock/src/generated_routes.rs
  --check     write nothing; fail if a checked-in file differs from what the spec produces
  -v          with --check, print a diff of each stale file
  bench       run the benchmarks (--quick: under two minutes); see `cargo xtask bench --help`";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, flags)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if command == "bench" {
        return bench::main(flags);
    }
    if command != "generate" {
        eprintln!("unknown command `{command}`\n\n{USAGE}");
        return ExitCode::from(2);
    }
    let mut options = generate::Options::default();
    for flag in flags {
        match flag.as_str() {
            "--check" => options.check = true,
            "-v" | "--verbose" => options.verbose = true,
            other => {
                eprintln!("unknown flag `{other}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match generate::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
