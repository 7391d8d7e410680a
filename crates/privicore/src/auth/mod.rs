//! Where a session's credentials come from, and how they are renewed.
//!
//! Both kinds of session, a profile logged in with username and password ([`profile`]) and an
//! OAuth application's delegated access ([`oauth`]), implement the raw client's
//! [`TokenSource`](privicore_api::hooks::TokenSource): the generated client asks them for a
//! credential on every request and for a fresh one after a `401`. They also implement
//! [`SessionTokens`], which the WebSocket uses to join with the current token and to rejoin
//! when it changes.
//!
//! Both are the one [`cache::TokenCache`] (current token, expiry, generation, single flight,
//! renewal ahead of expiry, revocation), over what differs: how a token of each kind renews.

pub(crate) mod cache;
pub(crate) mod oauth;
pub(crate) mod placement;
pub(crate) mod profile;
pub mod store;

use secrecy::SecretString;
use tokio::sync::watch;

use privicore_api::hooks::BoxFuture;

use crate::Result;

/// What the ack hub needs from a session's credentials.
pub(crate) trait SessionTokens: Send + Sync + 'static {
    /// A token valid now, renewed first if it is about to expire.
    fn ws_token(&self) -> BoxFuture<'_, Result<SecretString>>;
    /// Bumped whenever the token changes.
    fn changes(&self) -> watch::Receiver<u64>;
    /// The server refused `token` (on the WebSocket): renew it unless that already happened.
    fn rejected<'a>(&'a self, token: &'a SecretString) -> BoxFuture<'a, ()>;
}

/// Whether two secrets are equal, without copying them out.
pub(crate) fn same_secret(a: &SecretString, b: &str) -> bool {
    use secrecy::ExposeSecret;
    a.expose_secret() == b
}
