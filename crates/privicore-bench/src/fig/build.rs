//! Figure 7: a cold `cargo build -p privicore`, in seconds (no target; watched).
//!
//! Baseline: a cold build of `privicore-api`, the raw generated client, which is what any
//! Rust client of Privicore compiles at least (reqwest, serde, progenitor-client): the ratio
//! is what the ergonomic layer (WebSocket, crypto, sessions) adds. Each build gets an empty
//! target directory under `target/bench/cold`, removed afterwards. The two builds run one
//! after the other, not interleaved: each takes minutes, and a repeat would not be cold.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::json;

use crate::Result;
use crate::fig::Ctx;
use crate::report::{Figure, Target};

/// Measures the figure (full mode only).
pub fn run(ctx: &Ctx) -> Result<Vec<Figure>> {
    if ctx.quick {
        return Ok(vec![Figure::skipped("cold_build", "s", "full mode only")]);
    }
    let cold = ctx.paths.target.join("bench").join("cold");
    let baseline = cold_build(&ctx.paths.workspace, &cold.join("api"), "privicore-api")?;
    let sdk = cold_build(&ctx.paths.workspace, &cold.join("sdk"), "privicore")?;
    let _ = std::fs::remove_dir_all(&cold);
    Ok(vec![
        Figure::cost("cold_build", "s", sdk, baseline, Target::None).with_detail(json!({
            "what": "cold `cargo build -p privicore` (dev profile) in an empty target directory, against a cold `cargo build -p privicore-api` (the raw client alone)",
            "jobs": std::thread::available_parallelism().map_or(1, usize::from),
        })),
    ])
}

/// Builds `package` from nothing in `dir`; returns the seconds taken.
fn cold_build(workspace: &Path, dir: &Path, package: &str) -> Result<f64> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    // The cargo that runs this bench, so that the toolchain is the one being measured.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", package])
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", dir)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("cargo build -p {package} failed ({status})").into());
    }
    Ok(seconds)
}
