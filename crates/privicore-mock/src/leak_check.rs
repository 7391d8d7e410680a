//! For tests that prove secrets do not leak: every secret the mock issues (profile and OAuth
//! tokens, refresh tokens, client secrets, authorization codes, stream and download tokens),
//! kept only while a test asks for it.
//!
//! Process-wide and off by default, so ordinary use keeps no copies. A test turns it on,
//! runs a session, then searches its logs and output for every issued secret.
//!
//! ```
//! privicore_mock::leak_check::start();
//! // … run a session against a mock, capture its logs …
//! let issued = privicore_mock::leak_check::issued();
//! # let logs = String::new();
//! assert!(issued.iter().all(|secret| !logs.contains(secret.as_str())));
//! ```

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
