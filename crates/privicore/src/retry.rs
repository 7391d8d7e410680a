//! Which calls may be retried, and how long to wait between tries.
//!
//! Retries are decided per operation, not per HTTP method: some reads are POSTs
//! (request-status, token expiry) and one GET is an asynchronous command (request an OAuth
//! authorization code). An asynchronous command is never re-posted blindly, since Privicore has
//! no idempotency keys: a command whose answer was lost is reconciled through request-status
//! instead.

use std::time::Duration;

use privicore_api::operations::{Kind, operation};

use crate::Error;

/// How reads are retried on transport errors, `429` and `503` (also `500`, `502` and `504`:
/// a read is safe to send again).
///
/// Backoff doubles from [`initial_backoff`](RetryPolicy::initial_backoff) up to
/// [`max_backoff`](RetryPolicy::max_backoff), with full jitter (each wait is drawn uniformly
/// between zero and the current backoff) so that many clients do not retry in step.
///
/// ```
/// use std::time::Duration;
/// use privicore::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_retries(5)
///     .initial_backoff(Duration::from_millis(200));
/// let never = RetryPolicy::none();
/// assert_eq!(never.retries(), 0);
/// # let _ = patient;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Three retries, 100 ms doubling up to 2 s.
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How many times a failed read is tried again.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The first backoff.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The configured number of retries.
    pub fn retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before retry number `attempt` (0-based), with full jitter.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_backoff);
        ceiling.mul_f64(crate::random_unit())
    }

    /// Whether `error` from `operation_id` may be retried after `attempt` retries.
    pub(crate) fn should_retry(&self, operation_id: &str, error: &Error, attempt: u32) -> bool {
        attempt < self.max_retries && is_read(operation_id) && error.is_transient()
    }
}

/// Whether sending an operation twice is harmless: a synchronous GET, or a synchronous POST
/// the spec marks `x-privicore-idempotent` (two reads, and the log-in, whose second try only
/// issues a second token, which matters when renewing a token under transient failures).
pub(crate) fn is_read(operation_id: &str) -> bool {
    operation(operation_id)
        .is_some_and(|op| op.kind == Kind::Sync && (op.method == "GET" || op.idempotent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_classified_per_operation() {
        assert!(is_read("list_data_tokens"));
        assert!(is_read("request_command_status"), "a POST that reads");
        assert!(is_read("authenticate"), "a log-in may be sent again");
        assert!(
            !is_read("request_oauth_authorization_code"),
            "a GET that is a command"
        );
        assert!(!is_read("reserve_token_space"));
        assert!(
            !is_read("retrieve_oauth_application_configuration"),
            "works once only"
        );
        assert!(!is_read("unknown_operation"));
    }

    #[test]
    fn a_post_is_retried_only_when_the_spec_marks_it_idempotent() {
        let posts: Vec<_> = privicore_api::OPERATIONS
            .iter()
            .filter(|op| op.kind == Kind::Sync && op.method == "POST")
            .collect();
        let marked: Vec<&str> = posts
            .iter()
            .filter(|op| op.idempotent)
            .map(|op| op.id)
            .collect();
        assert_eq!(
            marked,
            [
                "authenticate",
                "request_command_status",
                "retrieve_token_expiry"
            ],
            "the POST reads marked x-privicore-idempotent in the spec"
        );
        for op in &posts {
            assert_eq!(is_read(op.id), op.idempotent, "{}", op.id);
        }
        assert!(
            !is_read("generate_token_qr"),
            "a synchronous POST without the flag is not retried"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(300));
        for attempt in 0..10 {
            let wait = policy.backoff(attempt);
            let ceiling = Duration::from_millis(100 * 2u64.pow(attempt.min(8)))
                .min(Duration::from_millis(300));
            assert!(wait <= ceiling, "attempt {attempt}: {wait:?} > {ceiling:?}");
        }
    }
}
