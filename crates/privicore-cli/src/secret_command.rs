//! Running a command the user configured to print a secret (`password_command = "pass show
//! privicore"`).
//!
//! The command runs through `sh -c`, with the terminal's stdin and stderr (so a password
//! manager can ask for its own passphrase and report its own errors), and its stdout is the
//! secret, trimmed of surrounding whitespace. A command that fails or prints nothing is an
//! error that names the setting and the exit status, never what the command printed: that is
//! the secret, or a part of it.

use std::process::{Command, Stdio};

use secrecy::{SecretString, zeroize::Zeroize};

use crate::error::{CliError, Result};

/// Runs `command` and returns what it printed. `setting` (`password_command (profile work)`)
/// names it in errors.
pub fn run(setting: &str, command: &str) -> Result<SecretString> {
    let output = shell(command)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(|e| CliError::new(format!("{setting}: cannot run the command: {e}")))?;
    let mut stdout = output.stdout;
    let result = if !output.status.success() {
        Err(CliError::new(format!(
            "{setting} failed ({}); what it printed is not shown",
            output.status
        )))
    } else {
        match std::str::from_utf8(&stdout).map(str::trim) {
            Err(_) => Err(CliError::new(format!(
                "{setting} printed something that is not UTF-8 text (not shown)"
            ))),
            Ok("") => Err(CliError::new(format!(
                "{setting} printed nothing: it must print the secret on stdout"
            ))),
            Ok(secret) => Ok(SecretString::from(secret.to_owned())),
        }
    };
    stdout.zeroize();
    result
}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(command);
    shell
}

#[cfg(not(unix))]
fn shell(command: &str) -> Command {
    let mut shell = Command::new("cmd");
    shell.arg("/C").arg(command);
    shell
}

#[cfg(all(test, unix))]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn the_output_trimmed_is_the_secret() {
        let secret = run("password_command", "printf '  s3cret value \\n'").expect("runs");
        assert_eq!(secret.expose_secret(), "s3cret value");
    }

    #[test]
    fn failure_and_silence_are_errors_that_hide_the_output() {
        let message = run("password_command", "echo hunter2-secret; exit 3")
            .expect_err("fails")
            .to_string();
        assert!(message.starts_with("password_command failed"), "{message}");
        assert!(message.contains('3'), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let message = run("vault_key_command", "true")
            .expect_err("fails")
            .to_string();
        assert!(message.contains("printed nothing"), "{message}");
    }
}
