//! The SDK side's set-up: a client for a mock and freshly provisioned profiles.
//!
//! Set-up is never timed. Profiles are also what the baselines log in with: provisioning one
//! takes three acknowledged steps that are not what any figure measures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use privicore::{Client, ClientBuilder, KeyPair, Session};
use secrecy::SecretString;

use crate::Result;

/// The password of every bench profile.
pub const PASSWORD: &str = "bench passphrase, not a secret";

/// A builder for a client of the mock at `api` / `ws`, with the SDK's defaults except a
/// generous command timeout (the machine may be loaded).
pub fn builder(api: &str, ws: &str) -> ClientBuilder {
    Client::builder()
        .api_url(api)
        .ws_url(ws)
        .command_timeout(Duration::from_secs(60))
}

/// A client with [`builder`]'s settings.
pub fn client(api: &str, ws: &str) -> Result<Client> {
    Ok(builder(api, ws).build()?)
}

/// A username no other profile of this run (or a concurrent run) has.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}@bench.test",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Registers, logs in and activates a new profile; returns its username and session.
pub async fn provision(client: &Client, prefix: &str) -> Result<(String, Session)> {
    let username = unique(prefix);
    let session = client
        .provision(
            &username,
            SecretString::from(PASSWORD),
            &KeyPair::generate(),
        )
        .await?;
    Ok((username, session))
}

/// Logs an existing profile in.
pub async fn login(client: &Client, username: &str) -> Result<Session> {
    Ok(client
        .login(username.to_owned(), SecretString::from(PASSWORD))
        .await?)
}
