//! Shared by the integration tests: a mock server and a client pointed at it.

#![allow(dead_code)]

use std::time::Duration;

use privicore::{Client, ClientBuilder, KeyPair, Session};
use privicore_mock::{MockServer, MockServerBuilder};
use secrecy::SecretString;

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
