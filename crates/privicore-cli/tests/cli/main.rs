//! The `privicore` binary, command by command, against a mock Privicore started in the test:
//! each command's success and its error paths (one `error:` line, exit code 1, or 2 for
//! usage), and that no secret ever reaches the output.
//!
//! One test binary for all of them, so the tool and the mock are linked once.

mod common;

mod config;
mod data;
mod demo;
mod doctor;
mod help;
mod json;
mod key;
mod large;
// The embedded mock server is in the binary only with the `mock` feature.
#[cfg(feature = "mock")]
mod mock;
mod oauth;
mod profile;
mod secrets;
mod shell;
mod slim;
mod tokens;
mod variants;
