//! Writing results: lines and JSON on stdout, notes on stderr, and the formatting of sizes,
//! durations and times.
//!
//! `println!` panics when stdout is a closed pipe (`privicore tokens list | head`); these
//! helpers return the error instead, and a closed pipe ends the command quietly.

pub mod json;

use std::fmt::Display;
use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::Result;

/// Writes one line to stdout.
pub fn line(text: impl Display) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Writes `value` as pretty JSON, one document, to stdout.
pub fn json(value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| crate::error::CliError::new(format!("encode JSON: {e}")))?;
    line(text)
}

/// Writes a note for the person at the terminal to stderr (never data a script reads).
pub fn note(text: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// A byte count for people: `200 B`, `20.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration for people: `850 µs`, `12 ms`, `1.24 s`.
pub fn duration(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 1_000_000 {
        format!("{} ms", micros / 1_000)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// A point in time for people, with how far away it is: `2026-05-01 12:00:00 UTC (in 59m)`.
pub fn when(at: DateTime<Utc>) -> String {
    let now = Utc::now();
    let relative = if at > now {
        format!("in {}", span((at - now).num_seconds()))
    } else {
        format!("{} ago", span((now - at).num_seconds()))
    };
    format!("{} ({relative})", at.format("%Y-%m-%d %H:%M:%S UTC"))
}

fn span(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(bytes(200), "200 B");
        assert_eq!(bytes(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(duration(Duration::from_micros(850)), "850 µs");
        assert_eq!(duration(Duration::from_millis(12)), "12 ms");
        assert_eq!(duration(Duration::from_millis(1240)), "1.24 s");
        assert_eq!(span(59), "59s");
        assert_eq!(span(3_599), "59m");
        assert_eq!(span(3_660), "1h01m");
        assert_eq!(span(90_000), "1d01h");
    }
}
