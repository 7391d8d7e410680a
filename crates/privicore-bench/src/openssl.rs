//! OpenSSL's AES-256-GCM throughput, measured with `openssl speed` in a subprocess: the
//! physical-limit anchor of the cipher figure (OpenSSL's assembly is as fast as this
//! processor does AES-GCM).
//!
//! `openssl speed -mr -elapsed -evp aes-256-gcm -bytes N -seconds S` encrypts (or, with
//! `-decrypt`, decrypts) one buffer of N bytes again and again for S seconds and prints, in
//! its machine-readable form, a line `+F:<index>:AES-256-GCM:<bytes per second>`.
//! `-elapsed` divides by wall-clock time, as the SDK's side of the figure does, so that a
//! busy machine slows both sides alike.

use std::process::Command;

use crate::Result;

/// Which way `openssl speed` runs the cipher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Encryption (the default of `openssl speed`).
    Encrypt,
    /// Decryption (`-decrypt`).
    Decrypt,
}

/// An `openssl` executable that answered `openssl version`.
#[derive(Clone, Debug)]
pub struct OpenSsl {
    /// What `openssl version` printed (e.g. `OpenSSL 3.0.19 27 Jan 2026 ...`).
    pub version: String,
}

impl OpenSsl {
    /// The `openssl` on the `PATH`, or why there is none usable.
    pub fn find() -> std::result::Result<Self, String> {
        let output = Command::new("openssl")
            .arg("version")
            .output()
            .map_err(|e| format!("`openssl version` could not run: {e}"))?;
        if !output.status.success() {
            return Err(format!("`openssl version` failed ({})", output.status));
        }
        let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if version.is_empty() {
            return Err("`openssl version` printed nothing".into());
        }
        Ok(Self { version })
    }

    /// One `openssl speed` run over a buffer of `bytes` for `seconds`: its throughput in
    /// GB/s (10^9 bytes per second).
    pub fn speed(&self, direction: Direction, bytes: usize, seconds: u32) -> Result<f64> {
        let mut command = Command::new("openssl");
        command.arg("speed");
        if direction == Direction::Decrypt {
            command.arg("-decrypt");
        }
        command
            .args(["-mr", "-elapsed", "-evp", "aes-256-gcm", "-bytes"])
            .arg(bytes.to_string())
            .arg("-seconds")
            .arg(seconds.to_string());
        let output = command
            .output()
            .map_err(|e| format!("`openssl speed` could not run: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`openssl speed` failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        let bytes_per_second = parse_speed(&String::from_utf8_lossy(&output.stdout))?;
        Ok(bytes_per_second / 1e9)
    }
}

/// The bytes per second on the `+F:...:AES-256-GCM:<rate>` line of `openssl speed -mr`.
fn parse_speed(stdout: &str) -> Result<f64> {
    let rates: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("+F:"))
        .filter_map(|rest| {
            let mut fields = rest.split(':');
            let _index = fields.next()?;
            let name = fields.next()?;
            let rate = fields.next()?;
            name.eq_ignore_ascii_case("AES-256-GCM").then_some(rate)
        })
        .collect();
    let [rate] = rates.as_slice() else {
        return Err(format!(
            "expected one `+F:..:AES-256-GCM:<rate>` line from `openssl speed -mr`, found {}",
            rates.len()
        )
        .into());
    };
    let rate: f64 = rate
        .trim()
        .parse()
        .map_err(|_| format!("`openssl speed` printed a rate that is not a number: {rate:?}"))?;
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err(format!("`openssl speed` printed an impossible rate: {rate}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_readable_rate_is_read() {
        let out = "+H:16777216\n+F:25:AES-256-GCM:3556769792.00\n";
        assert_eq!(parse_speed(out).expect("parses"), 3_556_769_792.0);
    }

    #[test]
    fn output_without_one_clear_rate_is_an_error() {
        assert!(parse_speed("+H:16777216\n").is_err());
        assert!(parse_speed("+F:25:AES-256-GCM:fast\n").is_err());
        assert!(parse_speed("+F:25:AES-256-GCM:0.00\n").is_err());
        assert!(parse_speed("+F:25:AES-256-GCM:1.0\n+F:26:AES-256-GCM:2.0\n").is_err());
        assert!(parse_speed("+F:25:AES-128-GCM:1.0\n").is_err());
    }
}
