//! The machine a run happened on, and this process's peak memory, read from `/proc`.
//!
//! Everything here degrades to "unknown" rather than failing: a report from a machine without
//! `/proc` is still a report.

use serde::Serialize;

/// What the report says about the machine.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `model name` from `/proc/cpuinfo`.
    pub cpu: String,
    /// Cores this process may use.
    pub cores: usize,
    /// Whether the CPU advertises AES-NI and carry-less multiplication (what AES-GCM needs
    /// to be fast).
    pub aes_ni: bool,
    /// The AES-256-GCM engine the SDK chose on this machine ([`privicore::cipher::engine`]).
    pub cipher_engine: &'static str,
    /// `MemTotal`, in GiB.
    pub memory_gib: f64,
    /// The kernel release.
    pub kernel: String,
    /// `rustc -V`.
    pub rustc: String,
}

impl Machine {
    /// Reads the description.
    pub fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo
                .lines()
                .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        };
        let flags = field("flags").unwrap_or_default();
        let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
        let memory_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| status_kib(&m, "MemTotal:"))
            .unwrap_or(0);
        Self {
            cpu: field("model name").unwrap_or_else(|| "unknown".into()),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            aes_ni: has("aes") && has("pclmulqdq"),
            cipher_engine: privicore::cipher::engine(),
            memory_gib: (memory_kib as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "unknown".into()),
            rustc: rustc_version(),
        }
    }

    /// One line for the log.
    pub fn summary(&self) -> String {
        format!(
            "{} ({} cores{}, {} AES-GCM engine, {} GiB), {}",
            self.cpu,
            self.cores,
            if self.aes_ni { ", AES-NI" } else { "" },
            self.cipher_engine,
            self.memory_gib,
            self.rustc
        )
    }
}

fn rustc_version() -> String {
    // Cargo tells a binary it runs which rustc it used only at build time.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    std::process::Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// A `Name:   123 kB` line of a `/proc` status file, in KiB.
fn status_kib(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// This process's peak resident memory (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    status_kib(
        &std::fs::read_to_string("/proc/self/status").ok()?,
        "VmHWM:",
    )
}

/// CPU time (user + system) that process `pid` (`"self"` for this one) has used, in seconds.
///
/// From `/proc/<pid>/stat`, in clock ticks of 1/100 s (Linux's `USER_HZ` on x86-64), so good
/// to 10 ms: enough for phases that last a second.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    stat_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn stat_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse() {
        let stat = "4242 (privicore (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(stat_cpu_seconds(stat), Some(3.25));
        assert_eq!(stat_cpu_seconds("4242 (x) S 1"), None);
    }

    #[test]
    fn status_lines_parse() {
        let text = "Name:\tx\nVmHWM:\t   51200 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(status_kib(text, "VmHWM:"), Some(51200));
        assert_eq!(status_kib(text, "VmPeak:"), None);
        assert_eq!(status_kib("VmHWM: lots", "VmHWM:"), None);
    }
}
