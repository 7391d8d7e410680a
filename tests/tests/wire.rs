//! WIRE contract: every operation of [`privicore_api::OPERATIONS`] is called through the
//! generated client, with the example values the spec declares, against a local listener that
//! captures the request. One snapshot per operation (`snapshots/wire/<operation_id>.snap`)
//! records what went over the wire; the credentials are reduced to their kind.
//!
//! The test is driven by the table, not by the arms of [`call`]: an operation without an arm
//! fails the test by name.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;

use common::{
    BINARY_EXAMPLE, CaptureServer, Captured, Examples, assert_no_secret, auth_kind, client,
    expected_auth_kind, password_properties, repo_root, scalar_text,
};
use privicore_api::operations::{Auth, OperationMeta};
use privicore_api::{Client, OPERATIONS, types};
use serde::Serialize;
use serde_json::Value;

/// Where the wire snapshots live, relative to this file.
const SNAPSHOT_DIR: &str = "snapshots/wire";

/// Headers not snapshotted: volatile (`host`), irrelevant (`user-agent`), or shown in their own
/// field (`content-type`, the credentials).
const OMITTED_HEADERS: &[&str] = &[
    "host",
    "user-agent",
    "content-type",
    "authorization",
    "x-dpt-authorization",
];

/// Calls `send()` and keeps only the HTTP status (or the error text).
macro_rules! send {
    ($request:expr) => {
        Some(
            $request
                .send()
                .await
                .map(|response| response.status().as_u16())
                .map_err(|error| error.to_string()),
        )
    };
}

/// Calls operation `ex.id` with the spec's example values. `None`: no arm for this id.
async fn call(c: &Client, ex: &Examples) -> Option<Result<u16, String>> {
    match ex.id {
        "activate_policy" => send!(
            c.activate_policy()
                .body(ex.body::<types::ActivatePolicyBody>())
        ),
        "add_directory_storage_device" => send!(
            c.add_directory_storage_device()
                .body(ex.body::<types::AddDirectoryStorageDeviceBody>())
        ),
        "approve_device" => send!(
            c.approve_device()
                .body(ex.body::<types::ApproveDeviceBody>())
        ),
        "authenticate" => send!(c.authenticate().body(ex.body::<types::AuthenticateBody>())),
        "change_password" => send!(
            c.change_password()
                .body(ex.body::<types::ChangePasswordBody>())
        ),
        "check_pool_status" => send!(c.check_pool_status().pool_id(ex.param::<String>("poolId"))),
        "check_server_health" => send!(c.check_server_health()),
        "configure_device_meta" => send!(
            c.configure_device_meta()
                .body(ex.body::<types::ConfigureDeviceMetaBody>())
        ),
        "configure_file_meta" => send!(
            c.configure_file_meta()
                .body(ex.body::<types::ConfigureFileMetaBody>())
        ),
        "configure_risk_meta" => send!(
            c.configure_risk_meta()
                .body(ex.body::<types::ConfigureRiskMetaBody>())
        ),
        "create_directory_profile_device" => send!(
            c.create_directory_profile_device()
                .body(ex.body::<types::CreateDirectoryProfileDeviceBody>())
        ),
        "create_directory_user" => send!(
            c.create_directory_user()
                .body(ex.body::<types::CreateDirectoryUserBody>())
        ),
        "create_directory_voting_pool" => send!(
            c.create_directory_voting_pool()
                .body(ex.body::<types::CreateDirectoryVotingPoolBody>())
        ),
        "create_voting" => send!(c.create_voting().body(ex.body::<types::CreateVotingBody>())),
        "data_token_transaction_statistics" => send!(c.data_token_transaction_statistics()),
        "deactivate_policy" => send!(
            c.deactivate_policy()
                .body(ex.body::<types::DeactivatePolicyBody>())
        ),
        "delete_data" => send!(c.delete_data().body(ex.body::<types::DeleteDataBody>())),
        "delete_policy" => send!(c.delete_policy().body(ex.body::<types::DeletePolicyBody>())),
        "directory_profiles_info" => send!(
            c.directory_profiles_info()
                .directory_id(ex.param::<String>("directoryId"))
        ),
        "download_data" => send!(c.download_data().auth(ex.param::<String>("auth"))),
        "exchange_data_for_token" => send!(
            c.exchange_data_for_token()
                .body(ex.body::<types::ExchangeDataForTokenBody>())
        ),
        "generate_key_pair" => send!(c.generate_key_pair()),
        "generate_token_qr" => send!(c.generate_token_qr().body(ex.body::<types::EmptyForm>())),
        "invite_profile" => send!(
            c.invite_profile()
                .body(ex.body::<types::InviteProfileBody>())
        ),
        "list_active_policies" => send!(c.list_active_policies()),
        "list_assigned_directories" => send!(c.list_assigned_directories()),
        "list_authenticators" => send!(c.list_authenticators()),
        "list_data_tokens" => send!(
            c.list_data_tokens()
                .page(ex.param::<NonZeroU64>("page"))
                .per_page(ex.param::<NonZeroU64>("perPage"))
                .filters_meta_file_file_name(ex.param::<String>("filters[meta.file.fileName]"))
                .filters_meta_file_extension(ex.param::<String>("filters[meta.file.extension]"))
                .filters_meta_data_type(ex.param::<String>("filters[meta.data.type]"))
                .filters_context(ex.param::<String>("filters[context]"))
                .filters_token(ex.param::<String>("filters[token]"))
        ),
        "list_directory_devices" => send!(
            c.list_directory_devices()
                .directory_id(ex.param::<String>("directoryId"))
        ),
        "list_directory_invites" => send!(c.list_directory_invites()),
        "list_directory_users" => send!(
            c.list_directory_users()
                .directory_id(ex.param::<String>("directoryId"))
        ),
        "list_inactive_policies" => send!(c.list_inactive_policies()),
        "list_oauth_applications" => send!(
            c.list_oauth_applications()
                .page(ex.param::<NonZeroU64>("page"))
                .per_page(ex.param::<NonZeroU64>("perPage"))
        ),
        "list_owned_directories" => send!(c.list_owned_directories()),
        "list_policy_templates" => send!(c.list_policy_templates()),
        "list_profile_devices" => send!(c.list_profile_devices()),
        "list_storage_devices" => send!(c.list_storage_devices()),
        "list_voting_configurations" => send!(c.list_voting_configurations()),
        "obtain_oauth_access_token" => send!(
            c.obtain_oauth_access_token()
                .body(ex.body::<types::ObtainOauthAccessTokenBody>())
        ),
        "process_directory_invitation" => send!(
            c.process_directory_invitation()
                .body(ex.body::<types::ProcessDirectoryInvitationBody>())
        ),
        "reauthorize_authorization_token" => send!(
            c.reauthorize_authorization_token()
                .body(ex.body::<types::ReauthorizeAuthorizationTokenBody>())
        ),
        "refresh_oauth_access_token" => send!(
            c.refresh_oauth_access_token()
                .body(ex.body::<types::RefreshOauthAccessTokenBody>())
        ),
        "register_authenticator" => send!(
            c.register_authenticator()
                .body(ex.body::<types::RegisterAuthenticatorBody>())
        ),
        "register_directory" => send!(
            c.register_directory()
                .body(ex.body::<types::RegisterDirectoryBody>())
        ),
        "register_oauth_application" => send!(
            c.register_oauth_application()
                .body(ex.body::<types::RegisterOauthApplicationBody>())
        ),
        "register_policy" => send!(
            c.register_policy()
                .body(ex.body::<types::RegisterPolicyRequest>())
        ),
        "register_profile" => send!(
            c.register_profile()
                .body(ex.body::<types::RegisterProfileBody>())
        ),
        "register_public_key" => send!(
            c.register_public_key()
                .body(ex.body::<types::RegisterPublicKeyBody>())
        ),
        "register_storage_device" => send!(
            c.register_storage_device()
                .body(ex.body::<types::RegisterStorageDeviceBody>())
        ),
        "register_voting_configuration" => send!(
            c.register_voting_configuration()
                .body(ex.body::<types::VotingConfiguration>())
        ),
        "reject_device" => send!(c.reject_device().body(ex.body::<types::RejectDeviceBody>())),
        "remove_authenticator" => send!(
            c.remove_authenticator()
                .body(ex.body::<types::RemoveAuthenticatorBody>())
        ),
        "remove_device" => send!(c.remove_device().body(ex.body::<types::RemoveDeviceBody>())),
        "remove_storage_device" => send!(
            c.remove_storage_device()
                .body(ex.body::<types::RemoveStorageDeviceBody>())
        ),
        "request_command_status" => send!(
            c.request_command_status()
                .command_id(ex.param::<String>("commandId"))
                .body(ex.body::<types::EmptyObject>())
        ),
        "request_data" => send!(c.request_data().body(ex.body::<types::RequestDataBody>())),
        "request_oauth_authorization_code" => send!(
            c.request_oauth_authorization_code()
                .client_id(ex.param::<String>("client_id"))
                .nonce(ex.param::<String>("nonce"))
                .scope(ex.param::<Vec<String>>("scope[]"))
        ),
        "request_unique_identifier" => send!(
            c.request_unique_identifier()
                .body(ex.body::<types::RequestUniqueIdentifierBody>())
        ),
        "reserve_token_space" => send!(
            c.reserve_token_space()
                .body(ex.body::<types::ReserveTokenSpaceBody>())
        ),
        "retrieve_cab_public_key" => send!(c.retrieve_cab_public_key()),
        "retrieve_device_configuration" => send!(
            c.retrieve_device_configuration()
                .device_identifier(ex.param::<String>("deviceIdentifier"))
        ),
        "retrieve_directory" => send!(
            c.retrieve_directory()
                .directory_id(ex.param::<String>("directoryId"))
        ),
        "retrieve_directory_profile" => send!(
            c.retrieve_directory_profile()
                .profile_id(ex.param::<String>("profileId"))
        ),
        "retrieve_oauth_application_configuration" => send!(
            c.retrieve_oauth_application_configuration()
                .body(ex.body::<types::RetrieveOauthApplicationConfigurationBody>())
        ),
        "retrieve_oauth_application_scope" => send!(c.retrieve_oauth_application_scope()),
        "retrieve_oauth_authorization_code" => send!(
            c.retrieve_oauth_authorization_code()
                .body(ex.body::<types::RetrieveOauthAuthorizationCodeBody>())
        ),
        "retrieve_policy" => send!(c.retrieve_policy().name(ex.param::<String>("name"))),
        "retrieve_profile_id" => send!(c.retrieve_profile_id()),
        "retrieve_public_key" => send!(c.retrieve_public_key()),
        "retrieve_temporary_data_token" => send!(
            c.retrieve_temporary_data_token()
                .command_id(ex.param::<String>("commandId"))
        ),
        "retrieve_token_expiry" => send!(
            c.retrieve_token_expiry()
                .body(ex.body::<types::EmptyForm>())
        ),
        "retrieve_unique_identifier" => send!(
            c.retrieve_unique_identifier()
                .body(ex.body::<types::RetrieveUniqueIdentifierBody>())
        ),
        "retrieve_voting_configuration" => send!(
            c.retrieve_voting_configuration()
                .name(ex.param::<String>("name"))
        ),
        "retrieve_voting_strategy" => send!(c.retrieve_voting_strategy()),
        "revoke_authorization_token" => send!(
            c.revoke_authorization_token()
                .body(ex.body::<types::EmptyForm>())
        ),
        "set_directory_profile_password" => send!(
            c.set_directory_profile_password()
                .body(ex.body::<types::SetDirectoryProfilePasswordBody>())
        ),
        "set_maximum_voting_attempts" => send!(
            c.set_maximum_voting_attempts()
                .body(ex.body::<types::SetMaximumVotingAttemptsBody>())
        ),
        "set_quorum_size" => send!(
            c.set_quorum_size()
                .body(ex.body::<types::SetQuorumSizeBody>())
        ),
        "set_quorum_strategy" => send!(
            c.set_quorum_strategy()
                .body(ex.body::<types::SetQuorumStrategyBody>())
        ),
        "set_voting_time_limit" => send!(
            c.set_voting_time_limit()
                .body(ex.body::<types::SetVotingTimeLimitBody>())
        ),
        "store_directory_meta" => send!(
            c.store_directory_meta()
                .body(ex.body::<types::StoreDirectoryMetaBody>())
        ),
        "synchronize_storage_device" => send!(
            c.synchronize_storage_device()
                .body(ex.body::<types::SynchronizeStorageDeviceBody>())
        ),
        "update_data_token" => send!(
            c.update_data_token()
                .body(ex.body::<types::UpdateDataRequest>())
        ),
        "update_directory_user" => send!(
            c.update_directory_user()
                .body(ex.body::<types::UpdateDirectoryUserBody>())
        ),
        "update_voting_configuration" => send!(
            c.update_voting_configuration()
                .body(ex.body::<types::VotingConfiguration>())
        ),
        "upload_stream" => send!(
            c.upload_stream()
                .auth(ex.param::<String>("auth"))
                .body(BINARY_EXAMPLE.to_vec())
        ),
        _ => None,
    }
}

/// The decoded request body.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Body {
    /// `application/x-www-form-urlencoded` pairs, in order.
    Form(Vec<BTreeMap<String, String>>),
    Json(Value),
    /// Anything else, summarised.
    Binary {
        length: usize,
    },
}

/// What one operation put on the wire.
#[derive(Serialize)]
struct Wire {
    method: String,
    path: String,
    /// Decoded pairs, in order.
    query: Vec<BTreeMap<String, String>>,
    content_type: Option<String>,
    /// The credential header, reduced to its kind.
    auth: &'static str,
    headers: BTreeMap<String, String>,
    body: Option<Body>,
}

fn pairs_as_maps(pairs: &[(String, String)]) -> Vec<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|(k, v)| BTreeMap::from([(k.clone(), v.clone())]))
        .collect()
}

fn sorted(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.sort();
    pairs
}

/// Decodes the captured request and checks it against the spec; problems are returned, not
/// panicked, so that one run reports every operation.
fn wire_of(op: &OperationMeta, ex: &Examples, request: &Captured) -> (Wire, Vec<String>) {
    let mut problems = Vec::new();
    let mut problem = |text: String| problems.push(format!("{}: {text}", op.id));

    if request.method != op.method {
        problem(format!("method {} (table: {})", request.method, op.method));
    }
    let expected_path = ex.concrete_path();
    if request.path() != expected_path {
        problem(format!(
            "path {} (expected {expected_path})",
            request.path()
        ));
    }
    if request.header("api-version").is_some() {
        problem("an api-version header was sent".into());
    }
    let auth = auth_kind(request).unwrap_or_else(|e| {
        problem(e);
        "<unexpected credential>"
    });
    if auth != expected_auth_kind(op) {
        problem(format!(
            "credential {auth}, expected {}",
            expected_auth_kind(op)
        ));
    }

    let query = request.query_pairs();
    if sorted(query.clone()) != sorted(ex.query_pairs()) {
        problem(format!(
            "query {query:?}, spec examples {:?}",
            ex.query_pairs()
        ));
    }

    let content_type = request.header("content-type").map(str::to_owned);
    if content_type.as_deref() != ex.content_type() {
        problem(format!(
            "content type {content_type:?}, spec {:?}",
            ex.content_type()
        ));
    }
    let body = match content_type.as_deref() {
        None if request.body.is_empty() => None,
        None => {
            problem(format!(
                "{} body bytes without a content type",
                request.body.len()
            ));
            Some(Body::Binary {
                length: request.body.len(),
            })
        }
        Some("application/x-www-form-urlencoded") => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&request.body).expect("form body decodes");
            let expected: Vec<(String, String)> = ex
                .body_json()
                .as_object()
                .expect("form schema is an object")
                .iter()
                .map(|(k, v)| (k.clone(), scalar_text(v)))
                .collect();
            if sorted(pairs.clone()) != sorted(expected) {
                problem("form body differs from the spec example".into());
            }
            Some(Body::Form(pairs_as_maps(&pairs)))
        }
        Some("application/json") => {
            let json: Value = serde_json::from_slice(&request.body).expect("JSON body decodes");
            if json != ex.body_json() {
                problem(format!(
                    "JSON body {json} differs from the spec example {}",
                    ex.body_json()
                ));
            }
            Some(Body::Json(json))
        }
        Some(_) => {
            if request.body != BINARY_EXAMPLE {
                problem("binary body differs from what was sent".into());
            }
            Some(Body::Binary {
                length: request.body.len(),
            })
        }
    };

    let mut headers = BTreeMap::<String, String>::new();
    for (name, value) in &request.headers {
        if OMITTED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        headers
            .entry(name.clone())
            .and_modify(|v| *v = format!("{v}, {value}"))
            .or_insert_with(|| value.clone());
    }

    let wire = Wire {
        method: request.method.clone(),
        path: request.path().to_owned(),
        query: pairs_as_maps(&query),
        content_type,
        auth,
        headers,
        body,
    };
    (wire, problems)
}

/// Snapshots one operation's wire form. Secrets the spec marks `format: password` in the body,
/// and the single-use `auth` query token of stream operations, are redacted (their values were
/// compared with the spec's examples in [`wire_of`]).
fn snapshot(op: &OperationMeta, ex: &Examples, wire: &Wire) {
    assert_no_secret(op.id, &serde_json::to_string(wire).expect("serialises"));
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(SNAPSHOT_DIR);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("{} {}", op.method, op.path));
    if wire.body.is_some() {
        for name in password_properties(ex.body_schema()) {
            settings.add_redaction(&format!(".body.**[\"{name}\"]"), "[password]");
        }
    }
    if op.auth == Auth::StreamQuery {
        settings.add_redaction(".query[].auth", "[single-use token]");
    }
    settings.bind(|| insta::assert_yaml_snapshot!(op.id, wire));
}

#[tokio::test]
async fn every_operation_has_a_wire_snapshot() {
    let server = CaptureServer::start().await;
    let client = client(server.url());
    let mut missing = Vec::new();
    let mut problems = Vec::new();

    for op in OPERATIONS {
        let ex = Examples::of(op.id);
        let reply = ex.success_reply();
        let expected_status = reply.status;
        server.reply(reply);
        let Some(outcome) = call(&client, &ex).await else {
            missing.push(op.id);
            server.reset();
            continue;
        };
        match outcome {
            Ok(status) if status == expected_status => {}
            Ok(status) => problems.push(format!(
                "{}: answered {status}, expected {expected_status}",
                op.id
            )),
            Err(error) => problems.push(format!("{}: the call failed: {error}", op.id)),
        }
        let requests = server.take_requests();
        let [request] = requests.as_slice() else {
            problems.push(format!(
                "{}: {} requests captured, expected 1",
                op.id,
                requests.len()
            ));
            server.reset();
            continue;
        };
        let (wire, found) = wire_of(op, &ex, request);
        problems.extend(found);
        snapshot(op, &ex, &wire);
    }

    assert!(
        missing.is_empty(),
        "operations without a wire case (add an arm to `call`): {missing:?}"
    );
    assert!(
        problems.is_empty(),
        "wire problems:\n{}",
        problems.join("\n")
    );
    assert_one_snapshot_per_operation();
}

/// The snapshot directory holds exactly one wire snapshot per operation: none missing, none
/// left over from a renamed or removed operation. (Runs after the snapshots were asserted.)
fn assert_one_snapshot_per_operation() {
    let dir = repo_root().join("tests/tests").join(SNAPSHOT_DIR);
    let snapshots: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".snap").map(str::to_owned)
        })
        .collect();
    let operations: BTreeSet<String> = OPERATIONS.iter().map(|op| op.id.to_owned()).collect();
    let missing: Vec<_> = operations.difference(&snapshots).collect();
    let stale: Vec<_> = snapshots.difference(&operations).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "wire snapshots missing: {missing:?}; without an operation: {stale:?}"
    );
    assert_eq!(snapshots.len(), OPERATIONS.len());
    assert_eq!(OPERATIONS.len(), 86);
}
