//! The SDK against every wire form the sources allow (docs/protocol.md §14): for each open
//! point, one scenario run under each mock variant that plays a reading of it.

mod common;

use std::time::Duration;

use futures::TryStreamExt;
use privicore::{Client, DEFAULT_INLINE_THRESHOLD, Error, StoreOptions, VaultKey};
use privicore_mock::{
    CommandAnswer, DataAnswer, ListAnswer, Listener, MockServer, RequestStatusMethod, UploadAnswer,
};
use secrecy::SecretString;

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
    // (variant, the method every routed poll uses, how many refused polls the client makes)
    let variants = [
        (RequestStatusMethod::Post, "POST", 0),
        (RequestStatusMethod::Get, "GET", 1),
        (RequestStatusMethod::Both, "POST", 0),
    ];
    for (variant, routed, refused) in variants {
        let mock = MockServer::builder()
            .request_status_method(variant)
            .require_public_key(false)
            .start()
            .await
            .expect("the mock starts");
        let client = polling_client(&mock);
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
            round_trip(&vault, &data, &format!("{variant:?}/{threshold} {i}")).await;
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
        (CommandAnswer::Accepted, 202),
        (CommandAnswer::Ok, 200),
        (CommandAnswer::OkPlainText, 200),
        (CommandAnswer::AcceptedPlainText, 202),
    ];
    for (variant, status) in variants {
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
    }
}

/// §14.6: both lists as the `{items, meta}` envelope or as a bare array of the page's items.
/// Under each variant five data tokens and five OAuth applications are listed two per page:
/// every item comes back once, in three requests (2 + 2 + a short page of 1).
#[tokio::test]
async fn lists_are_read_as_an_envelope_or_a_bare_array() {
    for variant in [ListAnswer::Envelope, ListAnswer::BareArray] {
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
        UploadAnswer::StreamUri,
        UploadAnswer::StreamServer,
        UploadAnswer::StreamUrlAlias,
    ];
    for variant in variants {
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
    }
}
