//! The SDK against every wire form the sources allow (docs/protocol.md §14): for each open
//! point, one scenario run under each mock variant that plays a reading of it.

mod common;

use std::time::Duration;

use std::sync::Arc;

use futures::TryStreamExt;
use privicore::api::operations::{Auth, operation};
use privicore::wire_report::{
    CommandIdEncoding, DataDelivery, ListShape, ReauthorizeAnswer as Reauthorized,
    RequestStatusMethod as Routed, UploadTargetForm,
};
use privicore::{
    Client, DEFAULT_INLINE_THRESHOLD, Error, MemoryTokenStore, OAuthTokenPlacement, OAuthTokens,
    RetryPolicy, Session, StoreOptions, VaultKey,
};
use privicore_mock::{
    CommandAnswer, DataAnswer, FaultConfig, ListAnswer, Listener, MockServer, OAuthPlacement,
    ReauthorizeAnswer, RecordedRequest, RequestStatusMethod, UploadAnswer,
};
use secrecy::{ExposeSecret, SecretString};

/// A client for `mock` without a WebSocket URL, so every command's outcome is polled through
/// request-status.
fn polling_client(mock: &MockServer) -> Client {
    Client::builder()
        .api_url(mock.api_url())
        .command_timeout(Duration::from_secs(10))
        .build()
        .expect("valid configuration")
}

/// The methods of the request-status calls the mock received, with their statuses.
fn status_calls(mock: &MockServer) -> Vec<(String, u16)> {
    mock.recorded()
        .into_iter()
        .filter(|r| r.operation_id == Some("request_command_status"))
        .map(|r| (r.method, r.status))
        .collect()
}

/// Stores `data` and reads it back byte-identical; `what` names the case in a failure.
async fn round_trip(vault: &privicore::Vault, data: &[u8], what: &str) {
    let token = vault
        .store(data, &StoreOptions::new("wire"))
        .await
        .unwrap_or_else(|e| panic!("{what}: store: {e:?}"));
    let back = vault
        .retrieve(&token)
        .await
        .unwrap_or_else(|e| panic!("{what}: retrieve: {e:?}"));
    assert!(back == data, "{what}: the round trip is byte-identical");
}

/// §14.2: request-status by `POST` (probe) or `GET` (official pages). Under each variant a
/// registration, a completed command and a rejected command are polled to their outcome, and
/// the method refused by the server is tried at most once in the client's life.
#[tokio::test]
async fn request_status_is_polled_with_the_method_the_server_routes() {
    // (variant, the method every routed poll uses, how many refused polls the client makes,
    // what the client reports it found routed)
    let variants = [
        (RequestStatusMethod::Post, "POST", 0, Routed::Post),
        (RequestStatusMethod::Get, "GET", 1, Routed::Get),
        (RequestStatusMethod::Both, "POST", 0, Routed::Post),
    ];
    for (variant, routed, refused, reported) in variants {
        let mock = MockServer::builder()
            .request_status_method(variant)
            .require_public_key(false)
            .start()
            .await
            .expect("the mock starts");
        let client = polling_client(&mock);
        assert_eq!(client.wire_report().request_status_method, None);
        let password = SecretString::from(common::PASSWORD);
        client
            .register_profile("alice", &password)
            .await
            .unwrap_or_else(|e| panic!("{variant:?}: registration: {e:?}"));
        let session = client
            .login("alice", password)
            .await
            .unwrap_or_else(|e| panic!("{variant:?}: login: {e:?}"));
        session
            .devices()
            .request_unique_identifier("phone")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{variant:?}: completed command: {e:?}"));
        let rejected = session
            .devices()
            .approve_device("no-such-device")
            .send()
            .await;
        match rejected {
            Err(Error::CommandRejected { reason, .. }) => {
                assert_eq!(reason, "failed", "{variant:?}: the state names the failure")
            }
            other => panic!("{variant:?}: a rejected command ended as {other:?}"),
        }

        let calls = status_calls(&mock);
        let refusals: Vec<_> = calls.iter().filter(|(_, status)| *status == 405).collect();
        assert_eq!(
            refusals.len(),
            refused,
            "{variant:?}: refused polls: {calls:?}"
        );
        let routed_calls: Vec<_> = calls.iter().filter(|(_, status)| *status != 405).collect();
        assert!(
            routed_calls.len() >= 3,
            "{variant:?}: three commands were polled: {calls:?}"
        );
        assert!(
            routed_calls
                .iter()
                .all(|(method, status)| method == routed && *status == 200),
            "{variant:?}: every routed poll is a {routed} answered 200: {calls:?}"
        );
        assert_eq!(
            client.wire_report().request_status_method,
            Some(reported),
            "{variant:?}: the method found routed is reported"
        );
    }
}

/// §14.3: `output_type` 0 as inline ciphertext (guides) or as status texts sent while the data
/// is prepared, the data then coming by download link (official). Under each variant a small
/// and a large payload are stored and retrieved byte-identical, and the mock's transfer
/// counts show which way the data came.
#[tokio::test]
async fn retrieval_waits_past_status_messages_for_the_data() {
    // (variant, inline threshold, downloads expected for the two retrievals)
    let variants = [
        (DataAnswer::InlineOrLink, 64 * 1024, 1),
        (DataAnswer::InlineOrLink, 0, 2),
        (
            DataAnswer::StatusThenLink { status_messages: 1 },
            64 * 1024,
            2,
        ),
        (DataAnswer::StatusThenLink { status_messages: 3 }, 0, 2),
    ];
    for (variant, threshold, downloads) in variants {
        let (mock, client) = common::start_with(
            MockServer::builder()
                .data_answer(variant)
                .inline_threshold(threshold),
            |b| b,
        )
        .await;
        let session = common::provisioned(&client, "reader@test").await;
        let vault = session.vault(VaultKey::generate());
        mock.clear_recorded();
        for (i, data) in [b"tiny".to_vec(), vec![7u8; 100 * 1024]]
            .into_iter()
            .enumerate()
        {
            let inline = matches!(variant, DataAnswer::InlineOrLink) && data.len() <= threshold;
            round_trip(&vault, &data, &format!("{variant:?}/{threshold} {i}")).await;
            let report = client.wire_report();
            assert_eq!(
                report.data_delivery,
                Some(if inline {
                    DataDelivery::Inline
                } else {
                    DataDelivery::Link
                }),
                "{variant:?}/{threshold} {i}: the way the data came is reported"
            );
            assert_eq!(
                report.data_status_messages_seen,
                matches!(variant, DataAnswer::StatusThenLink { .. }),
                "{variant:?}/{threshold} {i}: status messages are reported when they came"
            );
        }
        assert_eq!(
            mock.count("download_data"),
            downloads,
            "{variant:?}/{threshold}: downloads"
        );
        assert_eq!(
            mock.count("request_data"),
            2,
            "{variant:?}/{threshold}: each payload was requested once"
        );
    }
}

/// §14.4: commands accepted with `202` (spec) or `200` (probes), the id as JSON or as a bare
/// `text/plain` token. Under each variant a profile is provisioned (registration and
/// public-key registration among its commands), an OAuth application is registered and
/// authorized (request-authorization-code), and data is stored and retrieved; the mock's
/// recording shows the variant's status was the one answered.
#[tokio::test]
async fn commands_are_accepted_with_200_or_202_and_a_bare_text_id() {
    let variants = [
        (CommandAnswer::Accepted, 202, CommandIdEncoding::Json),
        (CommandAnswer::Ok, 200, CommandIdEncoding::Json),
        (
            CommandAnswer::OkPlainText,
            200,
            CommandIdEncoding::PlainText,
        ),
        (
            CommandAnswer::AcceptedPlainText,
            202,
            CommandIdEncoding::PlainText,
        ),
    ];
    for (variant, status, encoding) in variants {
        let (mock, client) =
            common::start_with(MockServer::builder().command_answer(variant), |b| b).await;
        let session = common::provisioned(&client, "writer@test").await;
        common::authorized_app(&client, &session, "app").await;
        let vault = session.vault(VaultKey::generate());
        let data = b"accepted either way".to_vec();
        round_trip(&vault, &data, &format!("{variant:?}")).await;
        for op in [
            "register_profile",
            "register_public_key",
            "request_oauth_authorization_code",
            "reserve_token_space",
        ] {
            let answered: Vec<u16> = mock
                .recorded()
                .iter()
                .filter(|r| r.operation_id == Some(op))
                .map(|r| r.status)
                .collect();
            assert!(
                !answered.is_empty() && answered.iter().all(|s| *s == status),
                "{variant:?}: {op} answered {answered:?}, expected {status}"
            );
        }
        let report = client.wire_report();
        assert_eq!(
            (report.accepted_status, report.command_id_encoding),
            (Some(status), Some(encoding)),
            "{variant:?}: the accepted form is reported"
        );
    }
}

/// §14.6: both lists as the `{items, meta}` envelope or as a bare array of the page's items.
/// Under each variant five data tokens and five OAuth applications are listed two per page:
/// every item comes back once, in three requests (2 + 2 + a short page of 1).
#[tokio::test]
async fn lists_are_read_as_an_envelope_or_a_bare_array() {
    for (variant, shape) in [
        (ListAnswer::Envelope, ListShape::Envelope),
        (ListAnswer::BareArray, ListShape::BareArray),
    ] {
        let (mock, client) =
            common::start_with(MockServer::builder().list_answer(variant), |b| b).await;
        let session = common::provisioned(&client, "lister@test").await;
        let vault = session.vault(VaultKey::generate());
        let mut stored = Vec::new();
        let mut apps = Vec::new();
        for i in 0..5 {
            let token = vault
                .store(format!("item {i}").as_bytes(), &StoreOptions::new("lists"))
                .await
                .unwrap_or_else(|e| panic!("{variant:?}: store {i}: {e:?}"));
            stored.push(token.as_str().to_owned());
            let app = session
                .oauth()
                .register(&format!("app-{i}"), "https://app.test/cb", "all")
                .await
                .unwrap_or_else(|e| panic!("{variant:?}: register app {i}: {e:?}"));
            apps.push(app.to_string());
        }
        mock.clear_recorded();

        let mut listed: Vec<String> = session
            .data_tokens()
            .list()
            .per_page(2)
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{variant:?}: list data tokens: {e:?}"))
            .into_iter()
            .map(|item| item.token)
            .collect();
        listed.sort();
        stored.sort();
        // Compared without printing: data tokens are credentials to the data.
        assert!(
            listed == stored,
            "{variant:?}: every data token, once ({} listed of {} stored)",
            listed.len(),
            stored.len()
        );
        assert_eq!(
            mock.count("list_data_tokens"),
            3,
            "{variant:?}: data token pages"
        );

        let mut listed: Vec<String> = session
            .oauth()
            .list(2)
            .try_collect::<Vec<_>>()
            .await
            .unwrap_or_else(|e| panic!("{variant:?}: list applications: {e:?}"))
            .into_iter()
            .map(|app| app.application_id)
            .collect();
        listed.sort();
        apps.sort();
        assert_eq!(listed, apps, "{variant:?}: every application, once");
        assert_eq!(
            mock.count("list_oauth_applications"),
            3,
            "{variant:?}: application pages"
        );
        assert_eq!(
            client.wire_report().list_shape,
            Some(shape),
            "{variant:?}: the list shape is reported"
        );
    }
}

/// §14.1: the upload target as a full `stream` URI (probe, guide), as a stream server id, port
/// and `auth` token (official upstream page), or as the unsourced `streamUrl` alias. Under each
/// variant a payload above the SDK's default inline threshold is stored and retrieved
/// byte-identical, and the mock's recording shows it was uploaded to the stream server, with
/// its `auth` token, in one accepted request (and never sent inline).
#[tokio::test]
async fn large_payloads_are_uploaded_under_every_upload_target_form() {
    let variants = [
        (UploadAnswer::StreamUri, UploadTargetForm::StreamUri),
        (UploadAnswer::StreamServer, UploadTargetForm::StreamServer),
        (
            UploadAnswer::StreamUrlAlias,
            UploadTargetForm::StreamUrlAlias,
        ),
    ];
    for (variant, form) in variants {
        let (mock, client) =
            common::start_with(MockServer::builder().upload_answer(variant), |b| b).await;
        let session = common::provisioned(&client, "uploader@test").await;
        let vault = session.vault(VaultKey::generate());
        let data: Vec<u8> = (0..DEFAULT_INLINE_THRESHOLD + 10 * 1024)
            .map(|i| (i % 251) as u8)
            .collect();
        mock.clear_recorded();
        round_trip(&vault, &data, &format!("{variant:?}")).await;
        let uploads: Vec<_> = mock
            .recorded()
            .into_iter()
            .filter(|r| r.operation_id == Some("upload_stream"))
            .collect();
        assert_eq!(uploads.len(), 1, "{variant:?}: one upload: {uploads:?}");
        let upload = &uploads[0];
        assert_eq!(
            (
                upload.listener,
                upload.method.as_str(),
                upload.path.as_str(),
                upload.status
            ),
            (Listener::Stream, "POST", "/", 200),
            "{variant:?}: the upload went to the stream server and was accepted"
        );
        assert!(
            upload
                .query
                .iter()
                .any(|(name, value)| name == "auth" && !value.is_empty()),
            "{variant:?}: the upload carries its `auth` token: {:?}",
            upload.query
        );
        assert_eq!(
            mock.count("exchange_data_for_token"),
            0,
            "{variant:?}: nothing was sent inline"
        );
        assert_eq!(
            client.wire_report().upload_target,
            Some(form),
            "{variant:?}: the upload target's form is reported"
        );
    }
}

/// §5.6: without a WebSocket URL every command's outcome is polled, so provisioning, storing
/// (inline and uploaded), listing and deleting work; retrieval cannot (a data request's
/// result is only pushed, §5.5) and fails with the typed error before anything is sent.
#[tokio::test]
async fn without_a_websocket_retrieval_is_the_one_thing_refused() {
    let mock = MockServer::start().await.expect("the mock starts");
    let client = polling_client(&mock);
    let session = common::provisioned(&client, "no-socket@test").await;
    let vault = session.vault(VaultKey::generate());
    let small = b"small, sent inline".to_vec();
    let large = vec![7u8; DEFAULT_INLINE_THRESHOLD + 1];
    let mut tokens = Vec::new();
    for data in [&small, &large] {
        tokens.push(
            vault
                .store(data, &StoreOptions::new("wire"))
                .await
                .expect("stored by polling"),
        );
    }
    assert_eq!(mock.count("upload_stream"), 1, "the large one was uploaded");
    let listed: Vec<_> = session
        .data_tokens()
        .list()
        .stream()
        .try_collect()
        .await
        .expect("listed");
    assert_eq!(listed.len(), 2);

    for token in &tokens {
        let error = vault.retrieve(token).await.expect_err("no WebSocket");
        assert!(
            matches!(
                error,
                Error::WebSocketRequired {
                    operation: "request_data"
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "request_data: needs the WebSocket, and no WebSocket URL is configured (its result is only pushed over the WebSocket)"
        );
    }
    assert_eq!(mock.count("request_data"), 0, "nothing was requested");

    for token in &tokens {
        session
            .data_tokens()
            .delete(token.as_str())
            .await
            .expect("deleted by polling");
    }
    assert_eq!(mock.stats().data_tokens, 0);
    // Every outcome above was polled: the mock never had a WebSocket to push to.
    assert!(mock.count("request_command_status") > 0);
}

/// Where a request to an operation that takes a profile token carried its token: `"dpt"`
/// (`X-DPT-AUTHORIZATION`), `"bearer"` (`Authorization: Bearer`), or `None` for the other
/// operations and listeners.
fn token_header(request: &RecordedRequest) -> Option<&'static str> {
    let op = operation(request.operation_id?)?;
    if request.listener != Listener::Api
        || !matches!(op.auth, Auth::ProfileToken | Auth::OptionalProfileToken)
    {
        return None;
    }
    if request.header("x-dpt-authorization").is_some() {
        Some("dpt")
    } else if request
        .header("authorization")
        .is_some_and(|value| value.starts_with("Bearer "))
    {
        Some("bearer")
    } else {
        Some("none")
    }
}

/// The `(header, status)` of every profile-token request the mock recorded, in order.
fn token_requests(mock: &MockServer) -> Vec<(&'static str, u16)> {
    mock.recorded()
        .iter()
        .filter_map(|r| token_header(r).map(|header| (header, r.status)))
        .collect()
}

/// An OAuth session for a freshly authorized application of a new profile called `name`.
async fn oauth_session(client: &Client, name: &str) -> (Session, OAuthTokens) {
    let profile = common::provisioned(client, name).await;
    let (_, tokens) = common::authorized_app(client, &profile, name).await;
    let session = client
        .oauth_session(tokens.clone(), Arc::new(MemoryTokenStore::new()))
        .await
        .expect("an OAuth session");
    (session, tokens)
}

/// §14.7: an OAuth access token in `X-DPT-AUTHORIZATION` (the spec's reading) or in
/// `Authorization: Bearer` (the token's `type: bearer`). Under each variant an OAuth session
/// stores, retrieves and lists data with the default placement: the server that takes only
/// `Bearer` refuses the first request once, the client moves the same token to `Bearer`
/// (without spending its refresh token) and sends every later request there.
#[tokio::test]
async fn oauth_access_tokens_go_where_the_server_takes_them() {
    // (variant, where every accepted request carried the token, refused requests)
    let variants = [
        (OAuthPlacement::DptHeaderOnly, "dpt", 0),
        (OAuthPlacement::BearerOnly, "bearer", 1),
        (OAuthPlacement::Either, "dpt", 0),
    ];
    for (variant, header, refused) in variants {
        let (mock, client) =
            common::start_with(MockServer::builder().oauth_placement(variant), |b| b).await;
        let (session, _) = oauth_session(&client, "oauth-placement@test").await;
        mock.clear_recorded();
        let vault = session.vault(VaultKey::generate());
        round_trip(&vault, b"placed", &format!("{variant:?}")).await;
        round_trip(&vault, b"placed again", &format!("{variant:?} again")).await;
        let listed = session
            .data_tokens()
            .list()
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{variant:?}: list: {e:?}"));
        assert_eq!(
            listed.len(),
            2,
            "{variant:?}: both stored tokens are listed"
        );

        let requests = token_requests(&mock);
        let refusals = requests.iter().filter(|(_, status)| *status == 401).count();
        assert_eq!(
            refusals, refused,
            "{variant:?}: refused requests: {requests:?}"
        );
        if refused > 0 {
            assert_eq!(
                requests[0],
                ("dpt", 401),
                "{variant:?}: X-DPT-AUTHORIZATION is tried first: {requests:?}"
            );
        }
        assert!(
            requests.len() >= 6
                && requests
                    .iter()
                    .filter(|(_, status)| *status != 401)
                    .all(|(sent, _)| *sent == header),
            "{variant:?}: every accepted request carried the token in {header}: {requests:?}"
        );
        assert_eq!(
            mock.count("refresh_oauth_access_token"),
            0,
            "{variant:?}: moving the token to another header spends no refresh token"
        );
    }
}

/// §14.7: what the client learned about the placement holds for the client's life (a second
/// OAuth session on a clone of the client is never refused), a placement set on the builder
/// is never left, two refused placements end in the typed error with the first placement
/// kept, an error answer teaches nothing, and no access token is ever printed on the way
/// (logs at TRACE, errors, Debug).
#[tokio::test]
async fn the_oauth_placement_is_learned_once_per_client_and_no_token_is_printed() {
    let capture = common::Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (mock, client) = common::start_with(
        MockServer::builder().oauth_placement(OAuthPlacement::BearerOnly),
        |b| b,
    )
    .await;
    let mut printed = Vec::new();
    let mut secrets = Vec::new();

    // The first session learns `Bearer` with one refused request.
    let (first, tokens) = oauth_session(&client, "first@test").await;
    secrets.push(tokens.access_token.expose_secret().to_owned());
    mock.clear_recorded();
    first.data_tokens().list().collect().await.expect("listed");
    assert_eq!(token_requests(&mock), [("dpt", 401), ("bearer", 200)]);

    // A second session, on a clone of the client, starts where the first ended.
    let (second, tokens) = oauth_session(&client.clone(), "second@test").await;
    secrets.push(tokens.access_token.expose_secret().to_owned());
    mock.clear_recorded();
    for _ in 0..2 {
        second.data_tokens().list().collect().await.expect("listed");
    }
    assert_eq!(token_requests(&mock), [("bearer", 200), ("bearer", 200)]);
    printed.push(format!("{first:?} {second:?} {client:?}"));

    // A placement set on the builder is kept even when the server refuses it: the token is
    // renewed once (as after any 401) and the caller gets the typed error.
    let pinned = common::builder(&mock)
        .oauth_token_placement(OAuthTokenPlacement::DptHeader)
        .build()
        .expect("valid configuration");
    let (pinned_session, tokens) = oauth_session(&pinned, "pinned@test").await;
    secrets.push(tokens.access_token.expose_secret().to_owned());
    mock.clear_recorded();
    let error = pinned_session
        .data_tokens()
        .list()
        .collect()
        .await
        .expect_err("the server never takes X-DPT-AUTHORIZATION");
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert_eq!(token_requests(&mock), [("dpt", 401), ("dpt", 401)]);
    printed.push(format!("{error} {error:?}"));
    secrets.extend(
        pinned_session
            .oauth_tokens()
            .map(|t| t.access_token.expose_secret().to_owned()),
    );

    // A token refused in both places (a made-up one, which cannot be refreshed either) is the
    // typed error, and the next call starts from X-DPT-AUTHORIZATION again: nothing was learned.
    let fresh = common::builder(&mock).build().expect("valid configuration");
    let mut made_up = tokens.clone();
    made_up.access_token = SecretString::from("made-up-access-token-0001");
    made_up.refresh_token = Some(SecretString::from("made-up-refresh-token-0001"));
    secrets.push("made-up-access-token-0001".to_owned());
    let unknown = fresh
        .oauth_session(made_up, Arc::new(MemoryTokenStore::new()))
        .await
        .expect("a session");
    mock.clear_recorded();
    for round in 0..2 {
        let error = unknown
            .data_tokens()
            .list()
            .collect()
            .await
            .expect_err("an unknown token");
        assert!(
            matches!(error, Error::Unauthorized { .. }),
            "{round}: {error:?}"
        );
        printed.push(format!("{error} {error:?}"));
    }
    assert_eq!(
        token_requests(&mock),
        [("dpt", 401), ("bearer", 401), ("dpt", 401), ("bearer", 401)],
        "each call tries both places once, X-DPT-AUTHORIZATION first"
    );
    assert_eq!(
        mock.count("refresh_oauth_access_token"),
        1,
        "the made-up refresh token was presented once, never again"
    );

    // An error answer teaches nothing (a proxy's 5xx never looked at the token): after one, the
    // client still moves the token to `Bearer` when the server refuses X-DPT-AUTHORIZATION.
    let proxied = common::builder(&mock)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("valid configuration");
    let (behind_proxy, tokens) = oauth_session(&proxied, "proxied@test").await;
    secrets.push(tokens.access_token.expose_secret().to_owned());
    mock.clear_recorded();
    mock.faults().update(|f| f.error_rate = 1.0);
    let error = behind_proxy
        .data_tokens()
        .list()
        .collect()
        .await
        .expect_err("the server is down");
    printed.push(format!("{error} {error:?}"));
    mock.faults().clear();
    behind_proxy
        .data_tokens()
        .list()
        .collect()
        .await
        .expect("listed once the server is back");
    let requests = token_requests(&mock);
    assert!(
        matches!(
            requests.as_slice(),
            [("dpt", 500 | 503), ("dpt", 401), ("bearer", 200)]
        ),
        "{requests:?}"
    );

    printed.push(capture.text());
    let printed = printed.join("\n");
    assert!(
        printed.contains("trying the other header"),
        "the fallback is logged (without the token)"
    );
    for (i, secret) in secrets.iter().enumerate() {
        assert!(
            !printed.contains(secret.as_str()),
            "access token {i} was printed"
        );
    }
}

/// §14.5: reauthorize answered `200` with a new token or `202` with a command that settles.
/// Under each, a forced renewal says which answer renewed the token, the wire report records
/// the same, and the mock saw the status that goes with it; under `202` whose command fails,
/// the answer is still recorded and the session logs in again.
#[tokio::test]
async fn the_reauthorize_answer_is_recorded() {
    for (answer, status, reported) in [
        (ReauthorizeAnswer::NewToken, 200, Reauthorized::NewToken),
        (ReauthorizeAnswer::Command, 202, Reauthorized::Command),
    ] {
        let (mock, client) =
            common::start_with(MockServer::builder().reauthorize_answer(answer), |b| {
                b.command_timeout(Duration::from_secs(10))
            })
            .await;
        let session = common::provisioned(&client, "alice").await;
        assert_eq!(client.wire_report().reauthorize, None, "{answer:?}");
        mock.clear_recorded();
        let renewed = session
            .reauthorize()
            .await
            .unwrap_or_else(|e| panic!("{answer:?}: reauthorize: {e:?}"));
        assert_eq!(renewed, Some(reported), "{answer:?}");
        assert_eq!(
            client.wire_report().reauthorize,
            Some(reported),
            "{answer:?}"
        );
        let statuses: Vec<u16> = mock
            .recorded()
            .into_iter()
            .filter(|r| r.operation_id == Some("reauthorize_authorization_token"))
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, [status], "{answer:?}");
        assert_eq!(mock.count("authenticate"), 0, "{answer:?}: no second login");
        // The renewed token works.
        session
            .profile_id()
            .await
            .unwrap_or_else(|e| panic!("{answer:?}: a call after the renewal: {e:?}"));
    }

    // A 202 whose command fails: the answer is what the server spoke, the renewal a login.
    let (mock, client) = common::start_with(
        MockServer::builder().reauthorize_answer(ReauthorizeAnswer::Command),
        |b| b.command_timeout(Duration::from_secs(10)),
    )
    .await;
    let session = common::provisioned(&client, "bob").await;
    mock.clear_recorded();
    mock.faults().set(FaultConfig {
        reject_rate: 1.0,
        ..FaultConfig::default()
    });
    let renewed = session.reauthorize().await.expect("logs in again");
    assert_eq!(renewed, None, "the token came from a login");
    assert_eq!(mock.count("authenticate"), 1);
    assert_eq!(
        client.wire_report().reauthorize,
        Some(Reauthorized::Command)
    );
}
