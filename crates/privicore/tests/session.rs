//! Sessions against the embedded mock: token renewal (single flight, one replay), async
//! commands on one socket, pagination, OAuth rotation.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use privicore::{Error, MemoryTokenStore, Session, StoreOptions, VaultKey};
use privicore_mock::{CommandOutcome, MockServer};
use secrecy::SecretString;

/// Calls in one burst on one session.
const BURST: usize = 1000;

/// `BURST` concurrent `profile_id` calls on `session`: what each returned, in call order.
async fn burst(session: &Session) -> Vec<Result<String, Error>> {
    let calls = (0..BURST).map(|_| {
        let session = session.clone();
        tokio::spawn(async move { session.profile_id().await })
    });
    futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|joined| joined.expect("no panic"))
        .collect()
}

/// The id the mock holds for `session`'s profile: the owner it records for a data token
/// stored through the session.
async fn held_profile_id(mock: &MockServer, session: &Session) -> String {
    let token = session
        .vault(VaultKey::generate())
        .store(b"whose is this", &StoreOptions::new("owner"))
        .await
        .expect("stored");
    mock.stored_data()
        .into_iter()
        .find(|held| held.token == token.as_str())
        .expect("the mock holds the token")
        .profile_id
}

/// Asserts that every call of a burst returned `expected`.
fn assert_all_returned(results: Vec<Result<String, Error>>, expected: &str) {
    assert_eq!(results.len(), BURST);
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(id) => assert_eq!(id, expected, "call {i} returned another profile's id"),
            Err(error) => panic!("call {i} failed: {error:?}"),
        }
    }
}

#[tokio::test]
async fn a_thousand_calls_with_an_expired_token_renew_it_once() {
    // The renewed token must outlive the whole burst, or the burst renews twice: time a burst
    // on tokens that do not expire, and give the expiring tokens ten times that.
    let (_steady_mock, steady_client) = common::start().await;
    let steady = common::provisioned(&steady_client, "steady@test").await;
    let started = Instant::now();
    let timed = burst(&steady).await;
    let lifetime = (started.elapsed() * 10).max(Duration::from_secs(2));
    println!(
        "a burst took {:?}: tokens live {lifetime:?}",
        started.elapsed()
    );
    assert!(timed.iter().all(Result::is_ok), "the timing burst works");

    let (mock, client) = common::start_with(MockServer::builder().token_lifetime(lifetime), |b| {
        b.renew_ahead(Duration::ZERO)
    })
    .await;
    let session = common::provisioned(&client, "expiry@test").await;
    let profile_id = held_profile_id(&mock, &session).await;
    // Wait for the expiry the session knows of, then make sure it has passed.
    let left = (session.expires_at() - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(left).await;
    common::eventually("past the token's expiry", || {
        session.expires_at() < chrono::Utc::now()
    })
    .await;
    mock.clear_recorded();

    assert_all_returned(burst(&session).await, &profile_id);
    assert_eq!(mock.count("authenticate"), 1, "exactly one renewal");
    assert_eq!(
        mock.count("reauthorize_authorization_token"),
        0,
        "an expired token is not reauthorized"
    );
    assert_eq!(
        mock.count("retrieve_profile_id"),
        BURST as u64,
        "no call was rejected or replayed"
    );
}

#[tokio::test]
async fn a_thousand_calls_after_the_server_expired_the_token_renew_it_once() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "server-expiry@test").await;
    let profile_id = held_profile_id(&mock, &session).await;
    mock.expire_tokens();
    mock.clear_recorded();

    assert_all_returned(burst(&session).await, &profile_id);
    assert_eq!(mock.count("authenticate"), 1, "one renewal for every 401");
    let reads = mock.count("retrieve_profile_id");
    assert!(
        (1001..=2000).contains(&reads),
        "each 401 was replayed once: {reads} requests"
    );
}

#[tokio::test]
async fn a_401_is_replayed_once_and_a_second_401_is_an_error() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "replay@test").await;
    mock.clear_recorded();
    // Every token the server checks is found expired: the replay fails too.
    mock.faults().update(|f| f.early_expiry_rate = 1.0);

    let error = session
        .profile_id()
        .await
        .expect_err("the replay is refused as well");
    assert!(
        matches!(
            error,
            Error::Unauthorized {
                operation: "retrieve_profile_id",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        mock.count("retrieve_profile_id"),
        2,
        "the call and exactly one replay"
    );
    assert_eq!(
        mock.count("authenticate"),
        1,
        "exactly one renewal, no loop"
    );
}

#[tokio::test]
async fn two_hundred_commands_in_flight_resolve_to_their_callers() {
    let (mock, client) = common::start_with(
        MockServer::builder().ack_delay(Duration::from_millis(30)),
        |b| b,
    )
    .await;
    let session = common::provisioned(&client, "inflight@test").await;
    let request = session
        .devices()
        .request_unique_identifier("phone")
        .send()
        .await
        .expect("device requested");
    let device = session
        .devices()
        .retrieve_unique_identifier(request.to_string())
        .send()
        .await
        .expect("identifier");
    let device = match device {
        privicore::types::DeviceIdentifierResponse::String(id) => id,
        privicore::types::DeviceIdentifierResponse::Object { device_identifier } => {
            device_identifier
        }
    };
    mock.clear_recorded();

    // Even callers approve the real device (success); odd ones an unknown one (rejected).
    let calls = (0..200).map(|i| {
        let session = session.clone();
        let target = if i % 2 == 0 {
            device.clone()
        } else {
            format!("unknown-device-{i}")
        };
        tokio::spawn(async move { (i, session.devices().approve_device(target).send().await) })
    });
    let mut ids = std::collections::HashSet::new();
    for joined in futures::future::join_all(calls).await {
        let (i, outcome) = joined.expect("no panic");
        match outcome {
            Ok(id) => {
                assert_eq!(
                    i % 2,
                    0,
                    "caller {i} approved an unknown device and succeeded"
                );
                assert!(ids.insert(id.to_string()), "command ids are distinct");
            }
            Err(Error::CommandRejected {
                command_id, reason, ..
            }) => {
                assert_eq!(
                    i % 2,
                    1,
                    "caller {i} approved the real device and was rejected: {reason}"
                );
                assert!(
                    reason.contains("device"),
                    "the server's reason surfaces: {reason}"
                );
                assert!(ids.insert(command_id), "command ids are distinct");
            }
            Err(other) => panic!("caller {i}: {other:?}"),
        }
    }
    assert_eq!(ids.len(), 200);
    assert_eq!(
        mock.count("approve_device"),
        200,
        "every command was sent exactly once"
    );
    assert_eq!(
        mock.count("request_command_status"),
        0,
        "every ack arrived on the socket"
    );
}

#[tokio::test]
async fn a_rejected_command_surfaces_its_reason() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "rejected@test").await;
    let vault = session.vault(VaultKey::generate());
    let token = vault
        .store(b"kept", &StoreOptions::new("rejected"))
        .await
        .expect("stored");
    // Every command now fails when it runs (command_status 3), with the mock's reason.
    mock.faults().update(|f| f.reject_rate = 1.0);
    let error = vault.delete(&token).await.expect_err("rejected");
    let Error::CommandRejected {
        operation,
        command_id,
        reason,
    } = error
    else {
        panic!("{error:?}");
    };
    assert_eq!(operation, "delete_data");
    assert_eq!(
        reason, "fault.injected_rejection",
        "the server's reason, as sent"
    );
    assert!(!command_id.is_empty());
    mock.faults().clear();
    // A rejected command has no effect: the token is still there.
    assert_eq!(vault.retrieve(&token).await.expect("still stored"), b"kept");
}

#[tokio::test]
async fn a_2500_item_list_streams_completely_in_order() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "paging@test").await;
    let vault = session.vault(VaultKey::generate());
    let stored: Vec<String> = futures::stream::iter(0..2500)
        .map(|i| {
            let vault = vault.clone();
            async move {
                vault
                    .store(format!("item {i}").as_bytes(), &StoreOptions::new("paging"))
                    .await
                    .map(|t| t.to_string())
            }
        })
        .buffer_unordered(32)
        .try_collect()
        .await
        .expect("stored");
    mock.clear_recorded();

    let streamed: Vec<String> = session
        .data_tokens()
        .list()
        .context("paging")
        .per_page(100)
        .stream()
        .map_ok(|item| item.token)
        .try_collect()
        .await
        .expect("listed");
    assert_eq!(mock.count("list_data_tokens"), 25, "25 pages of 100");

    // The same order as reading the pages one by one.
    let mut by_hand = Vec::new();
    for page in 1..=25u64 {
        let list = session
            .call("list_data_tokens")
            .query("page", page.to_string())
            .query("perPage", "100")
            .query("filters[context]", "paging")
            .send()
            .await
            .expect("page");
        let items = list
            .body()
            .and_then(|body| body["items"].as_array())
            .expect("a page");
        by_hand.extend(
            items
                .iter()
                .map(|item| item["token"].as_str().expect("a token").to_owned()),
        );
    }
    assert_eq!(streamed, by_hand);
    let mut sorted_stored = stored.clone();
    sorted_stored.sort();
    let mut sorted_streamed = streamed.clone();
    sorted_streamed.sort();
    assert_eq!(sorted_streamed, sorted_stored, "every stored token, once");
}

#[tokio::test]
async fn a_rotated_refresh_token_is_never_sent_twice() {
    let (mock, client) = common::start().await;
    let profile = common::provisioned(&client, "rotation@test").await;
    let (_, tokens) = common::authorized_app(&client, &profile, "rotation").await;
    let store = Arc::new(MemoryTokenStore::new());
    let session = client
        .oauth_session(tokens, store.clone())
        .await
        .expect("session");

    // The mock refuses a refresh token presented twice: three refreshes in a row only work
    // if every rotated token was stored and used once.
    for _ in 0..3 {
        session.refresh_oauth().await.expect("refreshed");
    }
    assert_eq!(mock.count("refresh_oauth_access_token"), 3);
    let saved = privicore::TokenStore::load(store.as_ref())
        .await
        .expect("load")
        .expect("saved");
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(saved.refresh_token.as_ref().expect("refresh token")),
        secrecy::ExposeSecret::expose_secret(
            session
                .oauth_tokens()
                .expect("oauth")
                .refresh_token
                .as_ref()
                .expect("rt")
        ),
        "the store holds the latest tokens"
    );

    // A refresh whose answer is lost may have consumed the token: it is not sent again.
    mock.faults().update(|f| f.error_rate = 1.0);
    let error = session
        .refresh_oauth()
        .await
        .expect_err("the server is down");
    assert!(
        matches!(
            error,
            Error::Api {
                status: 500 | 503,
                ..
            }
        ),
        "{error:?}"
    );
    mock.faults().clear();
    let sent = mock.count("refresh_oauth_access_token");
    let error = session
        .refresh_oauth()
        .await
        .expect_err("the spent refresh token is not presented again");
    assert!(matches!(error, Error::Credentials(_)), "{error:?}");
    assert_eq!(
        mock.count("refresh_oauth_access_token"),
        sent,
        "nothing was sent"
    );
}

#[tokio::test]
async fn an_oauth_session_works_on_data_tokens_like_a_profile_session() {
    let (_mock, client) = common::start().await;
    let profile = common::provisioned(&client, "oauth-data@test").await;
    let (app, tokens) = common::authorized_app(&client, &profile, "data").await;
    let again = profile
        .oauth()
        .configuration(&app)
        .await
        .expect_err("the secret is given once");
    assert_eq!(again.status(), Some(422));
    let session = client
        .oauth_session(tokens, Arc::new(MemoryTokenStore::new()))
        .await
        .expect("session");

    let key = VaultKey::generate();
    let token = session
        .vault(key.clone())
        .store(b"via oauth", &StoreOptions::new("oauth"))
        .await
        .expect("stored");
    assert_eq!(
        profile
            .vault(key)
            .retrieve(&token)
            .await
            .expect("retrieved by the owner"),
        b"via oauth"
    );
    let listed = session
        .data_tokens()
        .list()
        .context("oauth")
        .collect()
        .await
        .expect("listed");
    assert_eq!(
        listed
            .iter()
            .map(|item| item.token.as_str())
            .collect::<Vec<_>>(),
        [token.as_str()]
    );
    let apps: Vec<_> = profile.oauth().list(10).try_collect().await.expect("apps");
    assert_eq!(
        apps.iter()
            .map(|a| a.application_id.as_str())
            .collect::<Vec<_>>(),
        [app.as_str()]
    );
    assert_eq!(session.oauth_scope().await.expect("scope").scope, "all");
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_and_login_from_env_needs_both_variables() {
    let (_mock, client) = common::start().await;
    common::provisioned(&client, "creds@test").await;
    let error = client
        .login("creds@test", SecretString::from("Tr0ub4dor&3-not-it"))
        .await
        .expect_err("refused");
    assert!(
        matches!(
            error,
            Error::Unauthorized {
                operation: "authenticate",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        !format!("{error} {error:?}").contains("Tr0ub4dor"),
        "the password is never echoed"
    );
    let error = client
        .login_configured()
        .await
        .expect_err("no credentials configured");
    assert!(matches!(error, Error::Config(_)));
}

/// After `revoke`, a call meets the `401` of the revoked token and fails, once: it never logs
/// in again behind the caller's back (that would leave a live token nobody revokes, and a CLI
/// that revokes its token on exit would leave one), and it does not renew in a loop.
#[tokio::test]
async fn a_revoked_session_is_refused_and_not_renewed_in_a_loop() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "revoke@test").await;
    held_profile_id(&mock, &session).await;
    let live = mock.stats().tokens;
    session.revoke().await.expect("revoked");
    assert_eq!(
        mock.stats().tokens,
        live - 1,
        "the token is gone on the server"
    );
    mock.clear_recorded();

    let error = session
        .profile_id()
        .await
        .expect_err("a revoked session's call fails");
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert_eq!(mock.count("authenticate"), 0, "no log-in after the revoke");
    assert_eq!(mock.count("retrieve_profile_id"), 1, "one refused call");
    assert_eq!(mock.stats().tokens, live - 1, "no new live token");
}

#[tokio::test]
async fn reads_are_retried_and_commands_are_never_re_posted() {
    let (mock, client) = common::start_with(MockServer::builder().seed(7), |b| {
        b.retry_policy(
            privicore::RetryPolicy::default()
                .max_retries(6)
                .initial_backoff(Duration::from_millis(1)),
        )
    })
    .await;
    let session = common::provisioned(&client, "retries@test").await;
    let profile_id = held_profile_id(&mock, &session).await;
    mock.faults().update(|f| f.error_rate = 0.5);
    mock.clear_recorded();
    for _ in 0..20 {
        assert_eq!(
            session
                .profile_id()
                .await
                .expect("a read gets through after retries"),
            profile_id
        );
    }
    assert!(
        mock.count("retrieve_profile_id") > 20,
        "some reads were retried"
    );

    mock.faults().update(|f| f.error_rate = 1.0);
    mock.clear_recorded();
    let error = session
        .data_tokens()
        .delete("any")
        .await
        .expect_err("the server is down");
    assert!(
        matches!(
            error,
            Error::Api {
                status: 500 | 503,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        mock.count("delete_data"),
        1,
        "a command is sent once, never re-posted"
    );
    mock.faults().clear();

    let (mock, client) = common::start_with(MockServer::builder(), |b| {
        b.retry_policy(privicore::RetryPolicy::none())
    })
    .await;
    let session = common::provisioned(&client, "no-retries@test").await;
    mock.faults().update(|f| f.error_rate = 1.0);
    mock.clear_recorded();
    let error = session.profile_id().await.expect_err("the server is down");
    assert!(
        matches!(
            error,
            Error::Api {
                status: 500 | 503,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        mock.count("retrieve_profile_id"),
        1,
        "retries can be turned off"
    );
}

#[tokio::test]
async fn an_ack_lost_to_a_dropped_socket_is_recovered_through_request_status() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "lost-ack@test").await;
    mock.clear_recorded();
    // Every ack is lost: the server drops the sockets instead of pushing it.
    mock.faults().update(|f| f.lost_ack_rate = 1.0);
    let ids = futures::future::join_all((0..5).map(|i| {
        let session = session.clone();
        async move {
            session
                .devices()
                .request_unique_identifier(format!("lost-{i}"))
                .send()
                .await
        }
    }))
    .await;
    // Each caller got the id of a command the mock ran, and no two callers the same one.
    let mut distinct = std::collections::HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        let id = id
            .as_ref()
            .unwrap_or_else(|e| panic!("command {i} failed: {e:?}"));
        assert_eq!(
            mock.command_outcome(id.as_str()),
            Some(CommandOutcome::Completed),
            "command {i} ({id}) ran on the mock"
        );
        assert!(distinct.insert(id.to_string()), "command ids are distinct");
    }
    assert_eq!(
        mock.count("request_unique_identifier"),
        5,
        "no command was re-posted"
    );
    assert!(
        mock.count("request_command_status") >= 5,
        "each outcome came from request-status"
    );
    mock.faults().clear();
    // The socket came back: the next ack arrives on it again.
    mock.clear_recorded();
    let after = session
        .devices()
        .request_unique_identifier("after")
        .send()
        .await
        .expect("acknowledged");
    assert_eq!(
        mock.command_outcome(after.as_str()),
        Some(CommandOutcome::Completed)
    );
    assert!(!distinct.contains(after.as_str()), "a new command id");
    assert_eq!(mock.count("request_command_status"), 0);
}

#[tokio::test]
async fn a_command_that_is_never_acknowledged_times_out() {
    let (_mock, client) = common::start_with(
        MockServer::builder().ack_delay(Duration::from_secs(30)),
        |b| b.command_timeout(Duration::from_millis(300)),
    )
    .await;
    // Provisioning itself waits for acks, so register and log in on a mock that answers.
    let password = SecretString::from(common::PASSWORD);
    let started = std::time::Instant::now();
    let error = client
        .register_profile("slow@test", &password)
        .await
        .expect_err("never completes in time");
    assert!(
        matches!(
            error,
            Error::Timeout {
                operation: "register_profile",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the wait is bounded: {:?}",
        started.elapsed()
    );
}

/// After a password change the session logs in again with the new password: the server
/// expires every token, and the next call still succeeds through a fresh login; the old
/// password no longer logs in, the new one does.
#[tokio::test]
async fn after_a_password_change_logging_in_again_uses_the_new_password() {
    const NEW: &str = "battery staple horse correct";
    let name = "change-password@test";
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, name).await;
    let profile_id = session.profile_id().await.expect("profile id");

    session
        .change_password(
            SecretString::from(common::PASSWORD),
            SecretString::from(NEW),
        )
        .await
        .expect("the change is acknowledged");
    mock.expire_tokens();
    mock.clear_recorded();

    assert_eq!(
        session
            .profile_id()
            .await
            .expect("a call after the re-login"),
        profile_id
    );
    assert_eq!(mock.count("authenticate"), 1, "the session logged in again");
    let old = client
        .login(name, SecretString::from(common::PASSWORD))
        .await
        .expect_err("the old password no longer logs in");
    println!("login with the old password: {old}");
    client
        .login(name, SecretString::from(NEW))
        .await
        .expect("the new password logs in");
}

/// A change the server refuses (wrong current password) leaves the session's password alone:
/// logging in again after the server expired the tokens still works.
#[tokio::test]
async fn a_refused_password_change_keeps_the_old_password() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "change-refused@test").await;

    let error = session
        .change_password(
            SecretString::from("not the current password"),
            SecretString::from("never taken"),
        )
        .await
        .expect_err("a wrong current password is refused");
    assert!(
        matches!(&error, Error::CommandRejected { reason, .. } if reason == "profile.wrong_password"),
        "{error:?}"
    );
    mock.expire_tokens();
    mock.clear_recorded();

    session
        .profile_id()
        .await
        .expect("the re-login with the unchanged password works");
    assert_eq!(mock.count("authenticate"), 1, "the session logged in again");
}
