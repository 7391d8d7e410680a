//! Token renewal on the wire forms the default mock does not use: reauthorize answering `202`
//! (the expiry changes only when the command settles) and OAuth refreshes that do not rotate
//! the refresh token; and a refresh that must be saved before use and finish when its caller
//! gives up.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use privicore::{Client, MemoryTokenStore, OAuthTokens, Session};
use privicore_mock::{MockServer, ReauthorizeAnswer, RefreshAnswer};
use secrecy::{ExposeSecret, SecretString};

/// Profile tokens live ten minutes: hundreds of times what any test here takes.
const LIFETIME: Duration = Duration::from_secs(600);
/// The renewal margin of the renewing client: longer than a fresh token's lifetime, so its
/// first call renews, without waiting for anything.
const RENEW_AHEAD: Duration = Duration::from_secs(1200);
/// What reauthorize asks for: far beyond the margin, so one renewal is enough.
const TTL: Duration = Duration::from_secs(3600);

/// Ack delay of the tests whose commands settle: long enough that an expiry read right after
/// the `202` is surely the old one.
const ACK_DELAY: Duration = Duration::from_millis(500);
/// How long the renewing client waits for a command, twenty times [`ACK_DELAY`].
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// A mock whose reauthorize answers `202` (acks after `ack_delay`), with a profile provisioned
/// by a client that does not renew (the default margin is shorter than [`LIFETIME`]), and a
/// client that renews at once and waits `command_timeout` for a command.
async fn reauthorize_by_command(
    name: &str,
    websocket: bool,
    ack_delay: Duration,
    command_timeout: Duration,
) -> (MockServer, Client) {
    let (mock, provisioner) = common::start_with(
        MockServer::builder()
            .token_lifetime(LIFETIME)
            .reauthorize_answer(ReauthorizeAnswer::Command)
            .ack_delay(ack_delay),
        |b| b.command_timeout(ack_delay * 20),
    )
    .await;
    common::provisioned(&provisioner, name).await;
    let mut builder = Client::builder()
        .api_url(mock.api_url())
        .command_timeout(command_timeout)
        .renew_ahead(RENEW_AHEAD)
        .reauthorize_ttl(TTL);
    if websocket {
        builder = builder.ws_url(mock.ws_url());
    }
    let renewing = builder.build().expect("valid configuration");
    mock.clear_recorded();
    (mock, renewing)
}

async fn login(client: &Client, name: &str) -> Session {
    client
        .login(name, SecretString::from(common::PASSWORD))
        .await
        .expect("logged in")
}

#[tokio::test]
async fn a_reauthorize_accepted_as_a_command_takes_its_expiry_once_settled() {
    let (mock, client) =
        reauthorize_by_command("reauth-202@test", true, ACK_DELAY, COMMAND_TIMEOUT).await;
    let login_at = Utc::now();
    let session = login(&client, "reauth-202@test").await;
    let first_expiry = session.expires_at();
    assert!(first_expiry <= Utc::now() + LIFETIME, "a fresh login token");

    // The first call renews (the token is inside the margin) and goes through.
    session.profile_id().await.expect("read");
    assert_eq!(mock.count("reauthorize_authorization_token"), 1);
    assert_eq!(mock.count("authenticate"), 1, "no login again");
    // The expiry taken is the one that took effect when the command settled: the server's,
    // a whole TTL from after the login (the one before settling was the login's).
    let renewed = session.expires_at();
    assert!(
        renewed >= login_at + TTL,
        "renewed to {renewed}, logged in at {login_at}"
    );
    assert_eq!(session.token_expiry().await.expect("expiry"), renewed);
    // Renewed once for good: the next calls do not renew again.
    session.profile_id().await.expect("read");
    assert_eq!(mock.count("reauthorize_authorization_token"), 1);
    assert_eq!(mock.count("retrieve_profile_id"), 2);
}

#[tokio::test]
async fn a_reauthorize_command_that_fails_falls_back_to_logging_in() {
    // Without a WebSocket, so that only the test's calls ask for a token.
    let (mock, client) =
        reauthorize_by_command("reauth-fail@test", false, ACK_DELAY, COMMAND_TIMEOUT).await;
    let session = login(&client, "reauth-fail@test").await;
    mock.faults().update(|f| f.reject_rate = 1.0);
    session
        .profile_id()
        .await
        .expect("read after logging in again");
    assert_eq!(mock.count("reauthorize_authorization_token"), 1);
    assert_eq!(mock.count("authenticate"), 2, "the login and the fallback");
    assert_eq!(mock.faults().counts().rejected_commands, 1);
    let fallback_expiry = session.expires_at();
    assert!(fallback_expiry <= Utc::now() + LIFETIME, "a login token");

    // The token of the fallback login is live: the next renewal reauthorizes it.
    mock.faults().clear();
    session.profile_id().await.expect("read");
    assert_eq!(mock.count("reauthorize_authorization_token"), 2);
    assert_eq!(mock.count("authenticate"), 2, "no third login");
    assert_eq!(mock.count("retrieve_profile_id"), 2);
    let renewed = session.expires_at();
    assert!(renewed >= fallback_expiry - LIFETIME + TTL);
    assert_eq!(session.token_expiry().await.expect("expiry"), renewed);
}

#[tokio::test]
async fn a_reauthorize_command_that_never_settles_falls_back_to_logging_in() {
    // The ack comes ten times later than the renewing client waits for it.
    let timeout = Duration::from_millis(300);
    let (mock, client) =
        reauthorize_by_command("reauth-slow@test", false, timeout * 10, timeout).await;
    let session = login(&client, "reauth-slow@test").await;
    let login_expiry = session.expires_at();
    session
        .profile_id()
        .await
        .expect("read after logging in again");
    assert_eq!(mock.count("reauthorize_authorization_token"), 1);
    assert_eq!(mock.count("authenticate"), 2, "the login and the fallback");
    assert_eq!(mock.count("retrieve_profile_id"), 1);
    // The session holds the fallback login's token, not the pending command's expiry.
    let fallback_expiry = session.expires_at();
    assert!(fallback_expiry > login_expiry, "a later login");
    assert!(
        fallback_expiry <= Utc::now() + LIFETIME,
        "a login token, not a TTL"
    );
}

/// The refresh token of `tokens`, exposed for comparison.
fn refresh_token(tokens: &OAuthTokens) -> String {
    tokens
        .refresh_token
        .as_ref()
        .expect("a refresh token")
        .expose_secret()
        .to_owned()
}

/// An OAuth session on a mock answering refreshes with `answer`, and its first tokens.
async fn oauth_session(answer: RefreshAnswer, name: &str) -> (MockServer, Session, OAuthTokens) {
    let (mock, client) =
        common::start_with(MockServer::builder().refresh_answer(answer), |b| b).await;
    let profile = common::provisioned(&client, name).await;
    let (_, tokens) = common::authorized_app(&client, &profile, name).await;
    let session = client
        .oauth_session(tokens.clone(), Arc::new(MemoryTokenStore::new()))
        .await
        .expect("session");
    mock.clear_recorded();
    (mock, session, tokens)
}

/// Refreshes twice without rotation: the one refresh token is presented both times and still
/// works, while the access token changes each time.
async fn refreshes_keep_an_unrotated_refresh_token(answer: RefreshAnswer, name: &str) {
    let (mock, session, first) = oauth_session(answer, name).await;
    let mut access = vec![first.access_token.expose_secret().to_owned()];
    for round in 1..=2 {
        session.refresh_oauth().await.expect("refreshed");
        let now = session.oauth_tokens().expect("an OAuth session");
        assert_eq!(refresh_token(&now), refresh_token(&first), "round {round}");
        assert_eq!(
            now.refresh_token_expires_at, first.refresh_token_expires_at,
            "round {round}"
        );
        access.push(now.access_token.expose_secret().to_owned());
    }
    assert_eq!(mock.count("refresh_oauth_access_token"), 2);
    let statuses: Vec<u16> = mock
        .recorded()
        .iter()
        .filter(|r| r.operation_id == Some("refresh_oauth_access_token"))
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        vec![200, 200],
        "the same refresh token worked twice"
    );
    let distinct: std::collections::HashSet<&String> = access.iter().collect();
    assert_eq!(distinct.len(), 3, "a new access token each time");
    // The latest access token is the one in use, and it works.
    assert_eq!(session.oauth_scope().await.expect("scope").scope, "all");
}

#[tokio::test]
async fn a_refresh_answer_without_a_refresh_token_keeps_the_one_used() {
    refreshes_keep_an_unrotated_refresh_token(RefreshAnswer::WithoutRefreshToken, "no-rt").await;
}

#[tokio::test]
async fn a_refresh_answer_repeating_the_refresh_token_keeps_it_usable() {
    refreshes_keep_an_unrotated_refresh_token(RefreshAnswer::SameRefreshToken, "same-rt").await;
}

#[tokio::test]
async fn a_rotated_refresh_token_is_replaced_and_never_presented_again() {
    let (mock, session, first) = oauth_session(RefreshAnswer::Rotated, "rotated").await;
    let mut refresh = vec![refresh_token(&first)];
    for _ in 0..3 {
        session.refresh_oauth().await.expect("refreshed");
        refresh.push(refresh_token(&session.oauth_tokens().expect("oauth")));
    }
    let distinct: std::collections::HashSet<&String> = refresh.iter().collect();
    assert_eq!(distinct.len(), 4, "every refresh rotated the refresh token");
    // The mock answers a refresh token presented again with 401 oauth.refresh_token_used: three
    // 200s mean each was presented once.
    let statuses: Vec<u16> = mock
        .recorded()
        .iter()
        .filter(|r| r.operation_id == Some("refresh_oauth_access_token"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![200, 200, 200]);
}

/// A store whose saves can be held: the window between the server's refresh answer and the
/// save, where a process that stops (or a caller that gives up) could lose a rotated refresh
/// token.
struct HeldStore {
    tokens: MemoryTokenStore,
    /// While set, a save waits for a permit of `release`.
    hold: std::sync::atomic::AtomicBool,
    release: tokio::sync::Semaphore,
    saves_started: std::sync::atomic::AtomicUsize,
    saves_done: std::sync::atomic::AtomicUsize,
}

impl HeldStore {
    fn new() -> Self {
        Self {
            tokens: MemoryTokenStore::new(),
            hold: std::sync::atomic::AtomicBool::new(false),
            release: tokio::sync::Semaphore::new(0),
            saves_started: std::sync::atomic::AtomicUsize::new(0),
            saves_done: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

impl privicore::TokenStore for HeldStore {
    fn load(&self) -> privicore::api::hooks::BoxFuture<'_, privicore::Result<Option<OAuthTokens>>> {
        privicore::TokenStore::load(&self.tokens)
    }

    fn save<'a>(
        &'a self,
        tokens: &'a OAuthTokens,
    ) -> privicore::api::hooks::BoxFuture<'a, privicore::Result<()>> {
        use std::sync::atomic::Ordering::SeqCst;
        Box::pin(async move {
            self.saves_started.fetch_add(1, SeqCst);
            if self.hold.load(SeqCst) {
                self.release.acquire().await.expect("open").forget();
            }
            privicore::TokenStore::save(&self.tokens, tokens).await?;
            self.saves_done.fetch_add(1, SeqCst);
            Ok(())
        })
    }
}

/// An OAuth session on a rotating mock whose store holds saves, with a `refresh_oauth` task
/// that the server has answered and whose new tokens are being saved (held) now.
async fn a_refresh_held_mid_save(
    name: &str,
) -> (
    MockServer,
    Client,
    Session,
    Arc<HeldStore>,
    OAuthTokens,
    tokio::task::JoinHandle<privicore::Result<()>>,
) {
    use std::sync::atomic::Ordering::SeqCst;
    let (mock, client) = common::start_with(
        MockServer::builder().refresh_answer(RefreshAnswer::Rotated),
        |b| b,
    )
    .await;
    let profile = common::provisioned(&client, name).await;
    let (_, first) = common::authorized_app(&client, &profile, name).await;
    let store = Arc::new(HeldStore::new());
    let session = client
        .oauth_session(first.clone(), store.clone())
        .await
        .expect("session");
    assert_eq!(store.saves_started.load(SeqCst), 1, "the first tokens");
    mock.clear_recorded();

    store.hold.store(true, SeqCst);
    let refreshing = tokio::spawn({
        let session = session.clone();
        async move { session.refresh_oauth().await }
    });
    common::eventually("the refreshed tokens are being saved", || {
        store.saves_started.load(SeqCst) == 2
    })
    .await;
    assert_eq!(
        mock.count("refresh_oauth_access_token"),
        1,
        "the server answered"
    );
    (mock, client, session, store, first, refreshing)
}

/// The statuses of the refresh calls `mock` recorded.
fn refresh_statuses(mock: &MockServer) -> Vec<u16> {
    mock.recorded()
        .iter()
        .filter(|r| r.operation_id == Some("refresh_oauth_access_token"))
        .map(|r| r.status)
        .collect()
}

/// A refresh whose caller gives up while the new tokens are being saved: nobody sees the new
/// tokens before the store holds them, and the refresh still completes (saved, then in use),
/// so the rotated refresh token the server issued is not lost.
#[tokio::test]
async fn a_refresh_is_saved_before_it_is_used_and_outlives_a_caller_that_gave_up() {
    use std::sync::atomic::Ordering::SeqCst;
    let (mock, _client, session, store, first, refreshing) =
        a_refresh_held_mid_save("held-save").await;
    let in_use = session.oauth_tokens().expect("an OAuth session");
    // (Compared without printing: a failure message shows no token.)
    assert!(
        in_use.access_token.expose_secret() == first.access_token.expose_secret(),
        "new tokens are not used before they are saved"
    );
    // The caller gives up mid-save (a timeout, a dropped session's task, a shutdown).
    refreshing.abort();
    assert!(refreshing.await.expect_err("aborted").is_cancelled());
    store.hold.store(false, SeqCst);
    store.release.add_permits(1);

    common::eventually("the abandoned refresh is in use", || {
        session
            .oauth_tokens()
            .is_some_and(|now| refresh_token(&now) != refresh_token(&first))
    })
    .await;
    let saved = privicore::TokenStore::load(store.as_ref())
        .await
        .expect("load")
        .expect("saved");
    let in_use = session.oauth_tokens().expect("an OAuth session");
    assert!(
        refresh_token(&saved) == refresh_token(&in_use),
        "the store holds it"
    );
    // The rotated refresh token was kept: the next refresh presents it, and it works (the mock
    // refuses a refresh token presented twice).
    session
        .refresh_oauth()
        .await
        .expect("refreshed with the kept token");
    assert_eq!(refresh_statuses(&mock), vec![200, 200]);
}

/// Every handle on the session is dropped while a refresh the server answered is being saved:
/// the refresh is saved all the same, and a session resumed from the store refreshes with the
/// rotated refresh token (the one the server consumed is never needed again).
#[tokio::test]
async fn a_session_dropped_mid_refresh_still_saves_the_rotated_refresh_token() {
    use std::sync::atomic::Ordering::SeqCst;
    let (mock, client, session, store, first, refreshing) =
        a_refresh_held_mid_save("dropped-save").await;
    refreshing.abort();
    assert!(refreshing.await.expect_err("aborted").is_cancelled());
    drop(session);
    store.hold.store(false, SeqCst);
    store.release.add_permits(1);

    common::eventually("the abandoned refresh is saved", || {
        store.saves_done.load(SeqCst) == 2
    })
    .await;
    let saved = privicore::TokenStore::load(store.as_ref())
        .await
        .expect("load")
        .expect("saved");
    assert!(
        refresh_token(&saved) != refresh_token(&first),
        "the store holds the rotated refresh token"
    );
    let resumed = client
        .resume_oauth_session(store.clone())
        .await
        .expect("resumed");
    resumed
        .refresh_oauth()
        .await
        .expect("refreshed with the saved token");
    assert_eq!(refresh_statuses(&mock), vec![200, 200]);
}
