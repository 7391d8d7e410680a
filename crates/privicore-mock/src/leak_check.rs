//! For tests that prove secrets do not leak: every secret the mock issues (profile and OAuth
//! tokens, refresh tokens, client secrets, authorization codes, stream and download tokens),
//! kept only while a test asks for it.
//!
//! Process-wide and off by default, so ordinary use keeps no copies. A test turns it on,
//! runs a session, then searches its logs and output for every issued secret, and for its
//! own secrets, with [`Secrets`]: the one search every secrets test uses, which looks for each
//! secret in each form it could leak in (base64, percent-encoded, hex, HTTP Basic).
//!
//! ```
//! use privicore_mock::leak_check::{self, Secrets};
//!
//! leak_check::start();
//! // … run a session against a mock, capture its logs …
//! # let logs = String::new();
//! let mut secrets = Secrets::new();
//! secrets.text("password", "correct horse").issued();
//! assert!(secrets.find(&logs).is_empty());
//! ```

mod scan;

pub use scan::{Leak, Secrets};

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);
static ISSUED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Starts remembering every secret issued from now on (in this process).
pub fn start() {
    ON.store(true, Ordering::SeqCst);
}

/// Every secret issued since [`start`].
pub fn issued() -> Vec<String> {
    ISSUED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

pub(crate) fn remember(secret: &str) {
    if ON.load(Ordering::Relaxed) {
        ISSUED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(secret.to_owned());
    }
}
