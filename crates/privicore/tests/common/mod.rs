//! Shared by the integration tests: a mock server and a client pointed at it.

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use privicore::{Client, ClientBuilder, KeyPair, Session, VaultKey};
use privicore_mock::leak_check::Leak;
use privicore_mock::{MockServer, MockServerBuilder};
use secrecy::{ExposeSecret, SecretString};

pub const PASSWORD: &str = "correct horse battery staple";

/// How long [`eventually`] waits for a condition: generous, so that a loaded machine makes a
/// test slower, never wrong.
pub const EVENTUALLY: Duration = Duration::from_secs(60);

/// How often [`eventually`] looks at its condition again.
const POLL: Duration = Duration::from_millis(10);

/// Polls `condition` until it holds; panics naming `what` if it still does not after
/// [`EVENTUALLY`]. Tests wait for the condition they need instead of sleeping a guessed time.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + EVENTUALLY;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still not {what} after {EVENTUALLY:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A client builder for `mock`.
pub fn builder(mock: &MockServer) -> ClientBuilder {
    Client::builder()
        .api_url(mock.api_url())
        .ws_url(mock.ws_url())
        .command_timeout(Duration::from_secs(10))
}

/// A mock with default settings and a client for it.
pub async fn start() -> (MockServer, Client) {
    start_with(MockServer::builder(), |b| b).await
}

/// A mock and a client, each configured by the caller.
pub async fn start_with(
    mock: MockServerBuilder,
    client: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (MockServer, Client) {
    let mock = mock.start().await.expect("the mock starts");
    let client = client(builder(&mock)).build().expect("valid configuration");
    (mock, client)
}

/// A freshly provisioned profile with a unique name.
pub async fn provisioned(client: &Client, name: &str) -> Session {
    client
        .provision(name, SecretString::from(PASSWORD), &KeyPair::generate())
        .await
        .expect("provisioning succeeds")
}

/// Registers an OAuth application for `profile`, reads its credentials and runs the code
/// grant: the application id and the tokens.
pub async fn authorized_app(
    client: &Client,
    profile: &Session,
    name: &str,
) -> (privicore::CommandId, privicore::OAuthTokens) {
    let app = profile
        .oauth()
        .register(name, "https://app.test/cb", "all")
        .await
        .expect("registered");
    let credentials = profile
        .oauth()
        .configuration(&app)
        .await
        .expect("configuration");
    let oauth = client.oauth_client(
        credentials.client_id.clone(),
        credentials.client_secret.clone(),
    );
    let tokens = oauth
        .authorize(profile, &["all"])
        .await
        .expect("authorized");
    (app, tokens)
}

/// Collects everything a tracing subscriber writes (for the secrets scans).
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("capture").clone()).expect("utf-8 logs")
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The raw bytes of `key` (the scans look for their hex and base64 forms).
pub fn key_bytes(key: &VaultKey) -> Vec<u8> {
    hex::decode(key.to_hex().expose_secret()).expect("a vault key's hex decodes")
}

/// The names and forms of leaked secrets, for a failure message (never their values).
pub fn names(leaks: &[Leak]) -> String {
    leaks
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
