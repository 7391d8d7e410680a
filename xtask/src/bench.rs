//! `cargo xtask bench [--quick]`: builds the mock binary and runs `privicore-bench` in release
//! mode.
//!
//! The measuring, the printing and `target/bench/report.json` are the bench crate's; this
//! only builds what it needs. The stream figure runs `target/release/privicore-mock` as a
//! separate process (so the payloads the mock keeps in memory are not counted as the SDK's),
//! and `cargo run -p privicore-bench` does not build another package's binary: it is built
//! here first.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask bench [--quick] [--only GROUP[,GROUP...]]

  bench       build the mock binary, run privicore-bench in release mode; prints one line per
              figure and writes target/bench/report.json
  --quick     smaller sizes, fewer rounds (under two minutes on 2 cores), no cold build
  --only      only these figure groups: read, store, stream, cipher, list, renewal, build";

/// `cargo xtask bench ...`, from the flags after `bench`.
pub fn main(flags: &[String]) -> ExitCode {
    let mut options = Options::default();
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        match flag.as_str() {
            "--quick" => options.quick = true,
            "--only" => match flags.next() {
                Some(list) => options.only.extend(list.split(',').map(str::to_owned)),
                None => {
                    eprintln!("--only needs a list of figure groups\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown flag `{other}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What `cargo xtask bench` was asked for.
#[derive(Debug, Default)]
pub struct Options {
    /// Smaller sizes and fewer rounds (under two minutes on 2 cores); no cold build.
    pub quick: bool,
    /// Figure groups to run (`--only read,store`); all when empty.
    pub only: Vec<String>,
}

/// Builds and runs the bench; its output goes straight to the terminal.
pub fn run(options: &Options) -> Result<(), String> {
    let root = workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    cargo_step(
        &cargo,
        &root,
        &[
            "build",
            "--release",
            "-p",
            "privicore-mock",
            "--bin",
            "privicore-mock",
        ],
        "building the mock binary",
    )?;
    let mut args = vec!["run", "--release", "--quiet", "-p", "privicore-bench", "--"];
    if options.quick {
        args.push("--quick");
    }
    let only = options.only.join(",");
    if !options.only.is_empty() {
        args.extend(["--only", only.as_str()]);
    }
    cargo_step(&cargo, &root, &args, "running the bench")
}

fn cargo_step(
    cargo: &std::ffi::OsStr,
    root: &Path,
    args: &[&str],
    what: &str,
) -> Result<(), String> {
    let status = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("{what}: cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
