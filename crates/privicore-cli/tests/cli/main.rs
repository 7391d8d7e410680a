//! The `privicore` binary, command by command, against a mock Privicore started in the test:
//! each command's success and its error paths (one `error:` line, exit code 1, or 2 for
//! usage), and that no secret ever reaches the output.
//!
//! One test binary for all of them, so the tool and the mock are linked once.

mod common;

mod data;
mod demo;
mod doctor;
mod help;
mod key;
mod large;
mod mock;
mod oauth;
mod profile;
mod secrets;
mod tokens;
mod variants;
