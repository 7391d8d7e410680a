//! The one error type of the tool: a message for one line of stderr and an exit code.
//!
//! Every failure ends as `error: <what was being done>: <why>` on stderr, exit code 1 (2 for
//! usage errors, 130 after Ctrl-C). Messages are built from `Display` only, never `Debug`, and the SDK's errors
//! are written so that they carry no secret; the tool's own messages name variables and files,
//! never their values.

use std::fmt;

/// A failure of a command, ready to be reported.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
    quiet: bool,
}

impl CliError {
    /// A failure (exit code 1) with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
            quiet: false,
        }
    }

    /// A usage error (exit code 2): a bad combination of arguments clap cannot see.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            ..Self::new(message)
        }
    }

    /// Standard output was closed by its reader (`privicore tokens list | head`): nothing
    /// worth reporting, but the command did not finish.
    pub fn broken_pipe() -> Self {
        Self {
            quiet: true,
            ..Self::new("standard output was closed")
        }
    }

    /// The command was stopped by Ctrl-C (exit code 130, as shells report SIGINT).
    pub fn interrupted() -> Self {
        Self {
            code: 130,
            ..Self::new("interrupted; nothing partial was kept")
        }
    }

    /// The exit code to end the process with.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// Whether the failure should end the process without a message.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// The message on one line (a multi-line cause is joined, so the report stays one line).
    pub fn one_line(&self) -> String {
        self.message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Adds a remark after the message.
    #[must_use]
    pub fn append(mut self, remark: impl fmt::Display) -> Self {
        self.message = format!("{}{remark}", self.message);
        self
    }

    /// Prefixes the message with what was being done.
    #[must_use]
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

impl From<privicore::Error> for CliError {
    fn from(error: privicore::Error) -> Self {
        if let privicore::Error::Io { source, .. } = &error
            && source.kind() == std::io::ErrorKind::BrokenPipe
        {
            return Self::broken_pipe();
        }
        // The SDK names its builder setting; a person at a terminal needs the tool's.
        if let privicore::Error::WebSocketRequired { operation } = &error {
            let what = match *operation {
                "request_data" => "retrieving data",
                other => other,
            };
            return Self::new(format!(
                "{what} needs the WebSocket: set PRIVICORE_WS_URL or pass --ws URL (the result is only pushed over the WebSocket)"
            ));
        }
        Self::new(error.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return Self::broken_pipe();
        }
        Self::new(error.to_string())
    }
}

#[cfg(feature = "mock")]
impl From<privicore_mock::Error> for CliError {
    fn from(error: privicore_mock::Error) -> Self {
        Self::new(error.to_string())
    }
}

/// `Result` with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// Adds "what was being done" to any error that converts into [`CliError`].
pub trait Context<T> {
    /// Prefixes the error's message with `what`.
    fn context(self, what: impl fmt::Display) -> Result<T>;

    /// Like [`context`](Context::context), computing the prefix only on error.
    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: Into<CliError>> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(what))
    }

    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| e.into().context(what()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_on_one_line() {
        let error = CliError::new("first\n\n  second  \nthird").context("doing it");
        assert_eq!(error.one_line(), "doing it: first second third");
        assert_eq!(error.code(), 1);
    }

    #[test]
    fn broken_pipes_are_quiet() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(CliError::from(io).is_quiet());
        assert!(!CliError::new("x").is_quiet());
        assert_eq!(CliError::usage("x").code(), 2);
    }
}
