//! The SDK against every wire form the sources allow (docs/protocol.md §14): for each open
//! point, one scenario run under each mock variant that plays a reading of it.

mod common;

use std::time::Duration;

use privicore::api::types::{ApproveDeviceBody, RequestUniqueIdentifierBody};
use privicore::{Client, Error};
use privicore_mock::{MockServer, RequestStatusMethod};
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
            .command("request_unique_identifier", |raw| {
                raw.request_unique_identifier()
                    .body(RequestUniqueIdentifierBody {
                        device_name: "phone".into(),
                    })
                    .send()
            })
            .await
            .unwrap_or_else(|e| panic!("{variant:?}: completed command: {e:?}"));
        let rejected = session
            .command("approve_device", |raw| {
                raw.approve_device()
                    .body(ApproveDeviceBody {
                        device_identifier: "no-such-device".into(),
                    })
                    .send()
            })
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
