//! Calls EVERY operation of the spec through the generated `privicore_api::Client` against the
//! mock, decoding every answer with the generated types, and fails if any operation id of
//! `privicore_api::OPERATIONS` was not exercised successfully. This is what keeps the mock and
//! the spec from drifting apart.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use futures::TryStreamExt;
use privicore_api::hooks::Credential;
use privicore_api::{Client, OPERATIONS, types};
use privicore_mock::MockServer;

/// The operations exercised successfully so far.
#[derive(Default)]
struct Coverage(HashSet<&'static str>);

impl Coverage {
    fn hit(&mut self, op: &'static str) {
        assert!(
            OPERATIONS.iter().any(|o| o.id == op),
            "`{op}` is not an operation of the spec"
        );
        self.0.insert(op);
    }
}

/// The status of a refused call.
fn refused<T: std::fmt::Debug, E: std::fmt::Debug>(
    result: Result<privicore_api::ResponseValue<T>, privicore_api::Error<E>>,
) -> u16 {
    result
        .expect_err("refused")
        .status()
        .expect("an answer with a status")
        .as_u16()
}

/// What the mock holds for the data token `token`, if anything.
fn held(server: &MockServer, token: &str) -> Option<privicore_mock::StoredData> {
    server
        .stored_data()
        .into_iter()
        .find(|held| held.token == token)
}

/// Checks that a command completed (request-status, POST with `{}`), counting both.
async fn completed(
    api: &Client,
    cov: &mut Coverage,
    op: &'static str,
    accepted: types::CommandAccepted,
) -> String {
    cov.hit(op);
    let id = command_id(&accepted);
    let status = api
        .request_command_status()
        .command_id(&id)
        .body(types::EmptyObject {})
        .send()
        .await
        .expect("request_command_status")
        .into_inner();
    assert_eq!(status_text(&status), "completed", "{op} did not complete");
    cov.hit("request_command_status");
    id
}

macro_rules! command {
    ($client:expr, $cov:expr, $op:ident, $body:expr) => {{
        let accepted = $client
            .$op()
            .body($body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", stringify!($op)))
            .into_inner();
        completed(&$client, $cov, stringify!($op), accepted).await
    }};
}

macro_rules! call {
    ($cov:expr, $op:ident, $request:expr) => {{
        let value = $request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", stringify!($op)))
            .into_inner();
        $cov.hit(stringify!($op));
        value
    }};
}

#[tokio::test]
async fn every_operation_is_served_and_decodes() {
    let server = MockServer::builder()
        .ack_delay(Duration::ZERO)
        .inline_threshold(16)
        .start()
        .await
        .expect("server starts");
    let api_url = server.api_url().to_owned();
    let mut cov = Coverage::default();
    let anon = anonymous(&api_url);

    // Utility and profile.
    let health = call!(cov, check_server_health, anon.check_server_health());
    assert_eq!(health.status.as_deref(), Some("ok"));
    command!(
        anon,
        &mut cov,
        register_profile,
        types::RegisterProfileBody {
            username: "alice".into(),
            password: "pw-1".into(),
        }
    );
    let token = call!(
        cov,
        authenticate,
        anon.authenticate().body(types::AuthenticateBody {
            username: "alice".into(),
            password: "pw-1".into(),
        })
    )
    .authorization_token;
    let first = with_token(&api_url, &token);
    let profile_id = call!(cov, retrieve_profile_id, first.retrieve_profile_id()).profile_id;
    let pair = call!(cov, generate_key_pair, first.generate_key_pair());
    assert_eq!(pair.public_key.len(), 200);
    command!(
        first,
        &mut cov,
        register_public_key,
        types::RegisterPublicKeyBody {
            public_key: pair.public_key.parse().expect("200 hex"),
        }
    );
    let key = call!(cov, retrieve_public_key, first.retrieve_public_key()).public_key;
    assert_eq!(key, pair.public_key);
    let engine = call!(
        cov,
        retrieve_cab_public_key,
        first.retrieve_cab_public_key()
    );
    assert_eq!(engine.public_key.len(), 200);
    let expiry = call!(cov, retrieve_token_expiry, first.retrieve_token_expiry()).expires_at;
    // The default lifetime is an hour.
    let now = chrono::Utc::now();
    assert!(
        expiry > now && expiry <= now + chrono::Duration::hours(1),
        "expires at {expiry}, now {now}"
    );
    let qr = call!(cov, generate_token_qr, first.generate_token_qr());
    assert!(!qr.qr_token.is_empty());
    command!(
        first,
        &mut cov,
        change_password,
        types::ChangePasswordBody {
            current_password: "pw-1".into(),
            new_password: "pw-2".into(),
        }
    );
    let login = |password: &str| {
        anon.authenticate().body(types::AuthenticateBody {
            username: "alice".into(),
            password: password.into(),
        })
    };
    assert_eq!(
        refused(login("pw-1").send().await),
        401,
        "the old password stopped working"
    );
    login("pw-2").send().await.expect("the new password works");
    let renewed = call!(
        cov,
        reauthorize_authorization_token,
        first
            .reauthorize_authorization_token()
            .body(types::ReauthorizeAuthorizationTokenBody {
                ttl: 3600.try_into().expect("non-zero")
            })
    );
    let types::ReauthorizeResponse::AuthorizationToken(renewed) = renewed else {
        panic!("reauthorize answers a token");
    };
    assert_eq!(
        refused(first.retrieve_profile_id().send().await),
        401,
        "the old token stopped working"
    );
    let token = renewed.authorization_token;
    let c = with_token(&api_url, &token);
    assert_eq!(
        call!(cov, retrieve_profile_id, c.retrieve_profile_id()).profile_id,
        profile_id
    );

    data_tokens(&server, &c, &token, &mut cov).await;
    oauth(&server, &c, &mut cov).await;
    let device = devices_and_voting(&c, &mut cov).await;
    policies(&c, &mut cov).await;
    directories(&api_url, &c, &device, &mut cov).await;
    teardown_devices(&c, &device, &mut cov).await;

    call!(
        cov,
        revoke_authorization_token,
        c.revoke_authorization_token()
    );
    assert_eq!(
        refused(c.retrieve_profile_id().send().await),
        401,
        "a revoked token is refused"
    );

    // Nothing left out: every operation id of the spec was exercised successfully.
    let spec: BTreeSet<&str> = OPERATIONS.iter().map(|o| o.id).collect();
    let missing: Vec<&&str> = spec.iter().filter(|id| !cov.0.contains(**id)).collect();
    assert!(missing.is_empty(), "operations not exercised: {missing:?}");
    assert_eq!(spec.len(), 86);

    // The mock serves exactly the spec's operations, at the spec's method and path.
    let served: BTreeSet<&str> = privicore_mock::operation_ids().into_iter().collect();
    assert_eq!(served, spec);
    for request in server.recorded() {
        let Some(op) = request.operation_id else {
            continue;
        };
        let meta = privicore_api::operations::operation(op).expect("known operation");
        assert_eq!(request.method, meta.method, "{op}");
        assert!(
            path_matches(meta.path, &request.path),
            "{op}: {} vs {}",
            request.path,
            meta.path
        );
    }
}

fn path_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
}

async fn data_tokens(server: &MockServer, c: &Client, token: &str, cov: &mut Coverage) {
    let (mut ws, joined) = join(server.ws_url(), token).await;
    assert_eq!(joined["status"], 200);

    // Small payload: reserve, temporary token, inline exchange, file meta.
    let reservation = command!(
        c,
        cov,
        reserve_token_space,
        types::ReserveTokenSpaceBody {
            context: "docs".into(),
            meta: Some("text".into()),
            ttl: Some(5.try_into().expect("non-zero")),
        }
    );
    let temp = call!(
        cov,
        retrieve_temporary_data_token,
        c.retrieve_temporary_data_token().command_id(&reservation)
    );
    assert!(
        temp.stream
            .as_deref()
            .is_some_and(|u| u.starts_with(server.stream_url()))
    );
    let small = b"iv-12-bytes!hello, vault, with a 16-byte tag".to_vec();
    command!(
        c,
        cov,
        exchange_data_for_token,
        types::ExchangeDataForTokenBody {
            temporary_token_space: temp.token.clone(),
            data: base64::engine::general_purpose::STANDARD.encode(&small),
        }
    );
    let first = call!(
        cov,
        configure_file_meta,
        c.configure_file_meta().body(types::ConfigureFileMetaBody {
            token: temp.token,
            file_name: "note".into(),
            extension: "txt".into(),
            context: "docs".into(),
            size: (small.len() - common::WIRE_OVERHEAD) as i64,
            path: "/notes".into(),
        })
    );
    let types::PermanentDataToken::String(first) = first else {
        panic!("configure_file_meta answers a bare string by default");
    };
    let kept = held(server, &first).expect("the mock holds the first token");
    assert_eq!(
        (kept.context.as_str(), kept.stored_len, kept.declared_size),
        (
            "docs",
            small.len(),
            Some((small.len() - common::WIRE_OVERHEAD) as i64)
        )
    );

    // Large payload: upload to the stream server through a second client.
    let reservation = command!(
        c,
        cov,
        reserve_token_space,
        types::ReserveTokenSpaceBody {
            context: "docs".into(),
            meta: None,
            ttl: None,
        }
    );
    let temp = call!(
        cov,
        retrieve_temporary_data_token,
        c.retrieve_temporary_data_token().command_id(&reservation)
    );
    let stream = anonymous(server.stream_url());
    let large: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    call!(
        cov,
        upload_stream,
        stream
            .upload_stream()
            .auth(stream_token(temp.stream.as_deref().expect("stream URI")))
            .body(large.clone())
    );
    let second = call!(
        cov,
        configure_file_meta,
        c.configure_file_meta().body(types::ConfigureFileMetaBody {
            token: temp.token,
            file_name: "big".into(),
            extension: "bin".into(),
            context: "blobs".into(),
            size: (large.len() - common::WIRE_OVERHEAD) as i64,
            path: "/blobs".into(),
        })
    );
    let types::PermanentDataToken::String(second) = second else {
        panic!("bare string")
    };
    let kept = held(server, &second).expect("the mock holds the uploaded token");
    assert_eq!(
        (kept.context.as_str(), kept.stored_len, kept.declared_size),
        (
            "blobs",
            large.len(),
            Some((large.len() - common::WIRE_OVERHEAD) as i64)
        )
    );

    let listed = call!(
        cov,
        list_data_tokens,
        c.list_data_tokens()
            .page(1u64)
            .per_page(10u64)
            .filters_context("docs")
    );
    assert_eq!(listed.meta.count, 1);
    assert_eq!(listed.items[0].token, first);
    let by_name = call!(
        cov,
        list_data_tokens,
        c.list_data_tokens()
            .filters_meta_file_file_name("big")
            .filters_meta_file_extension("bin")
    );
    assert_eq!(by_name.items.len(), 1);
    assert_eq!(by_name.items[0].token, second);

    command!(
        c,
        cov,
        configure_risk_meta,
        types::ConfigureRiskMetaBody {
            token: first.clone(),
            classification: "confidential".into(),
            label: "hr".into(),
            handling: "need-to-know".into(),
        }
    );
    let updated = b"hello again".to_vec();
    command!(
        c,
        cov,
        update_data_token,
        types::UpdateDataRequest {
            data_token: first.clone(),
            data: base64::engine::general_purpose::STANDARD.encode(&updated),
            meta: None,
        }
    );
    assert_eq!(
        held(server, &first).map(|kept| kept.stored_len),
        Some(updated.len()),
        "the update replaced the stored bytes"
    );
    let listed = call!(
        cov,
        list_data_tokens,
        c.list_data_tokens().filters_token(first.as_str())
    );
    let risk = listed.items[0]
        .meta
        .as_ref()
        .and_then(|m| m.information_security_risk.as_ref())
        .expect("risk meta");
    assert_eq!(risk.label.as_deref(), Some("hr"));

    // Read back: inline (under the 16-byte threshold) and through the download server.
    let response = c
        .request_data()
        .body(types::RequestDataBody {
            token: first.clone(),
        })
        .send()
        .await
        .expect("request_data");
    cov.hit("request_data");
    let request_id = response.headers()["x-dpt-cab-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let frame = wait_frame(&mut ws, "X-DPT-CAB-REQUEST-ID", &request_id).await;
    assert_eq!(frame["data"]["output_type"], 0);
    assert_eq!(frame["data"]["data_context"], "docs");
    let inline = base64::engine::general_purpose::STANDARD
        .decode(frame["data"]["body"].as_str().expect("body"))
        .expect("base64");
    assert_eq!(inline, updated);

    let response = c
        .request_data()
        .body(types::RequestDataBody {
            token: second.clone(),
        })
        .send()
        .await
        .expect("request_data");
    let request_id = response.headers()["x-dpt-cab-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let frame = wait_frame(&mut ws, "X-DPT-CAB-REQUEST-ID", &request_id).await;
    assert_eq!(frame["data"]["output_type"], 1);
    let url = frame["data"]["body"].as_str().expect("url");
    assert!(url.starts_with(server.download_url()));
    let download = anonymous(server.download_url());
    let bytes: Vec<u8> = download
        .download_data()
        .auth(auth_of(url))
        .send()
        .await
        .expect("download_data")
        .into_inner_stream()
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .expect("download body");
    cov.hit("download_data");
    assert_eq!(bytes, large);

    let stats = call!(
        cov,
        data_token_transaction_statistics,
        c.data_token_transaction_statistics()
    );
    assert_eq!((stats.stored, stats.retrieved), (Some(2), Some(2)));
    command!(
        c,
        cov,
        delete_data,
        types::DeleteDataBody {
            token: first.clone()
        }
    );
    let listed = call!(cov, list_data_tokens, c.list_data_tokens());
    assert_eq!(
        listed.meta.count, 1,
        "the deleted token disappeared from the list"
    );
    assert_eq!(
        server
            .stored_data()
            .into_iter()
            .map(|kept| kept.token)
            .collect::<Vec<_>>(),
        [second],
        "the mock let the deleted token go and kept the other"
    );
}

async fn oauth(server: &MockServer, c: &Client, cov: &mut Coverage) {
    let api = server.api_url();
    let app = command!(
        c,
        cov,
        register_oauth_application,
        types::RegisterOauthApplicationBody {
            name: "integration".into(),
            redirect_uri: "https://app.example.com/cb".into(),
            scopes: "data-token:read".into(),
        }
    );
    let config = call!(
        cov,
        retrieve_oauth_application_configuration,
        c.retrieve_oauth_application_configuration().body(
            types::RetrieveOauthApplicationConfigurationBody {
                application_id: app.clone()
            }
        )
    );
    let list = call!(
        cov,
        list_oauth_applications,
        c.list_oauth_applications().page(1u64).per_page(5u64)
    );
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].application_id, app);
    let request = c
        .request_oauth_authorization_code()
        .client_id(config.client_id.clone())
        .nonce("n-1")
        .scope(vec!["all".to_owned()])
        .send()
        .await
        .expect("request code")
        .into_inner();
    let request = completed(c, cov, "request_oauth_authorization_code", request).await;
    let client = with_credential(
        api,
        Credential::ClientCredentials {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
        },
    );
    let code = call!(
        cov,
        retrieve_oauth_authorization_code,
        client.retrieve_oauth_authorization_code().body(
            types::RetrieveOauthAuthorizationCodeBody {
                id: request,
                nonce: "n-1".into()
            }
        )
    );
    let tokens = call!(
        cov,
        obtain_oauth_access_token,
        client
            .obtain_oauth_access_token()
            .body(types::ObtainOauthAccessTokenBody {
                authorization_code: code.authorization_code
            })
    );
    let access = with_token(api, &tokens.token);
    let scope = call!(
        cov,
        retrieve_oauth_application_scope,
        access.retrieve_oauth_application_scope()
    );
    assert_eq!(scope.scope, "all");
    let refreshed = call!(
        cov,
        refresh_oauth_access_token,
        access
            .refresh_oauth_access_token()
            .body(types::RefreshOauthAccessTokenBody {
                refresh_token: tokens.refresh_token.clone().expect("refresh token")
            })
    );
    assert_ne!(
        refreshed.refresh_token, tokens.refresh_token,
        "refresh rotates"
    );
    // The access token works on the data-token operations of its scope.
    let listed = with_token(api, &refreshed.token)
        .list_data_tokens()
        .send()
        .await
        .expect("oauth list");
    assert_eq!(listed.into_inner().meta.count, 1);
}

async fn devices_and_voting(c: &Client, cov: &mut Coverage) -> String {
    let request = command!(
        c,
        cov,
        request_unique_identifier,
        types::RequestUniqueIdentifierBody {
            device_name: "phone".into()
        }
    );
    let device = call!(
        cov,
        retrieve_unique_identifier,
        c.retrieve_unique_identifier()
            .body(types::RetrieveUniqueIdentifierBody { id: request })
    );
    let types::DeviceIdentifierResponse::Object {
        device_identifier: device,
    } = device
    else {
        panic!("retrieve_unique_identifier answers an object by default");
    };
    let listed = call!(cov, list_profile_devices, c.list_profile_devices());
    assert_eq!(listed[0].status.as_deref(), Some("pending"));
    command!(
        c,
        cov,
        configure_device_meta,
        types::ConfigureDeviceMetaBody {
            device_identifier: device.clone(),
            name: Some("work phone".into()),
        }
    );
    command!(
        c,
        cov,
        approve_device,
        types::ApproveDeviceBody {
            device_identifier: device.clone()
        }
    );
    let config = call!(
        cov,
        retrieve_device_configuration,
        c.retrieve_device_configuration().device_identifier(&device)
    );
    assert_eq!(config.device_identifier, device);
    command!(
        c,
        cov,
        register_storage_device,
        types::RegisterStorageDeviceBody {
            device_identifier: device.clone()
        }
    );
    command!(
        c,
        cov,
        synchronize_storage_device,
        types::SynchronizeStorageDeviceBody {
            device_identifier: device.clone()
        }
    );
    let storage = call!(cov, list_storage_devices, c.list_storage_devices());
    assert!(storage[0].last_sync_at.is_some());
    command!(
        c,
        cov,
        register_authenticator,
        types::RegisterAuthenticatorBody {
            device_identifier: device.clone()
        }
    );
    let authenticators = call!(cov, list_authenticators, c.list_authenticators());
    assert_eq!(authenticators[0].device_identifier, device);

    command!(
        c,
        cov,
        set_quorum_size,
        types::SetQuorumSizeBody {
            quorum_size: 2.try_into().expect("non-zero")
        }
    );
    command!(
        c,
        cov,
        set_quorum_strategy,
        types::SetQuorumStrategyBody {
            strategy: types::SetQuorumStrategyBodyStrategy::MinimumPercentage,
            strategy_params: "51".into(),
        }
    );
    command!(
        c,
        cov,
        set_voting_time_limit,
        types::SetVotingTimeLimitBody {
            time_limit: 120.try_into().expect("non-zero")
        }
    );
    command!(
        c,
        cov,
        set_maximum_voting_attempts,
        types::SetMaximumVotingAttemptsBody {
            number_of_attempts: 3.try_into().expect("non-zero")
        }
    );
    let strategy = call!(cov, retrieve_voting_strategy, c.retrieve_voting_strategy());
    assert_eq!(
        (
            strategy.strategy.as_str(),
            strategy.quorum_size,
            strategy.time_limit,
            strategy.maximum_voting_attempts
        ),
        ("minimum_percentage", Some(2), Some(120), Some(3))
    );

    let configuration = types::VotingConfiguration {
        name: "board".into(),
        time_limit: 60,
        strategy: types::VotingConfigurationStrategy::Unanimous,
        percentage_required: None,
        device_identifiers: vec![device.clone()],
    };
    command!(c, cov, register_voting_configuration, configuration.clone());
    command!(
        c,
        cov,
        update_voting_configuration,
        types::VotingConfiguration {
            time_limit: 90,
            ..configuration
        }
    );
    let list = call!(
        cov,
        list_voting_configurations,
        c.list_voting_configurations()
    );
    assert_eq!(list.len(), 1);
    let board = call!(
        cov,
        retrieve_voting_configuration,
        c.retrieve_voting_configuration().name("board")
    );
    assert_eq!(board.time_limit, 90);

    let pool = command!(
        c,
        cov,
        create_voting,
        types::CreateVotingBody {
            voting_configuration_id: "board".into(),
            question: "Approve the budget?".into(),
            title: "Budget".into(),
            skip_authenticator_devices: vec![device.clone()],
            nonce: Some("budget-2026".into()),
        }
    );
    let status = call!(cov, check_pool_status, c.check_pool_status().pool_id(&pool));
    assert_eq!(
        (status.pool_id.as_str(), status.status.as_str()),
        (pool.as_str(), "open")
    );
    // Skipping a device that is not one of the profile's authenticators fails the command.
    let unknown = c
        .create_voting()
        .body(types::CreateVotingBody {
            voting_configuration_id: "board".into(),
            question: "Approve the budget?".into(),
            title: "Budget".into(),
            skip_authenticator_devices: vec!["no-such-device".into()],
            nonce: None,
        })
        .send()
        .await
        .expect("accepted")
        .into_inner();
    let state = c
        .request_command_status()
        .command_id(command_id(&unknown))
        .body(types::EmptyObject {})
        .send()
        .await
        .expect("request_command_status")
        .into_inner();
    assert_eq!(status_text(&state), "failed", "an unknown skipped device");
    device
}

async fn policies(c: &Client, cov: &mut Coverage) {
    let templates = call!(cov, list_policy_templates, c.list_policy_templates());
    let (template_id, template) = templates.iter().next().expect("a template");
    let event = template.events.keys().next().expect("an event").clone();
    command!(
        c,
        cov,
        register_policy,
        types::RegisterPolicyRequest {
            name: Some("guard".into()),
            policy_template_id: template_id.clone(),
            applying_event_ids: vec![event],
            configuration: Default::default(),
            configuration_id: None,
            voting_configuration_id: Some("board".into()),
        }
    );
    let inactive = call!(cov, list_inactive_policies, c.list_inactive_policies());
    assert_eq!(inactive.len(), 1);
    let policy = call!(cov, retrieve_policy, c.retrieve_policy().name("guard"));
    command!(
        c,
        cov,
        activate_policy,
        types::ActivatePolicyBody {
            policy_id: policy.id.clone()
        }
    );
    let active = call!(cov, list_active_policies, c.list_active_policies());
    assert_eq!(active.len(), 1);
    assert!(
        c.list_inactive_policies()
            .send()
            .await
            .expect("list")
            .into_inner()
            .is_empty()
    );
    command!(
        c,
        cov,
        deactivate_policy,
        types::DeactivatePolicyBody {
            policy_id: policy.id.clone()
        }
    );
    command!(
        c,
        cov,
        delete_policy,
        types::DeletePolicyBody {
            policy_id: policy.id
        }
    );
    assert_eq!(
        refused(c.retrieve_policy().name("guard").send().await),
        404,
        "a deleted policy is gone"
    );
}

async fn directories(api: &str, c: &Client, device: &str, cov: &mut Coverage) {
    let dir = command!(
        c,
        cov,
        register_directory,
        types::RegisterDirectoryBody {
            name: "staff".into()
        }
    );
    let owned = call!(cov, list_owned_directories, c.list_owned_directories());
    assert_eq!(owned[0].directory_id, dir);
    let retrieved = call!(
        cov,
        retrieve_directory,
        c.retrieve_directory().directory_id(&dir)
    );
    assert_eq!(retrieved.name, "staff");
    let bob = command!(
        c,
        cov,
        create_directory_user,
        types::CreateDirectoryUserBody {
            directory_id: dir.clone(),
            username: "bob".into(),
            password: "pw".into(),
        }
    );
    command!(
        c,
        cov,
        update_directory_user,
        types::UpdateDirectoryUserBody {
            directory_id: dir.clone(),
            profile_id: bob.clone(),
            display_name: Some("Bob".into()),
            email: Some("bob@example.com".into()),
        }
    );
    command!(
        c,
        cov,
        set_directory_profile_password,
        types::SetDirectoryProfilePasswordBody {
            directory_id: dir.clone(),
            profile_id: bob.clone(),
            password: "pw-bob".into(),
        }
    );
    let users = call!(
        cov,
        list_directory_users,
        c.list_directory_users().directory_id(&dir)
    );
    assert_eq!(users[0].username, "bob");
    let user = call!(
        cov,
        retrieve_directory_profile,
        c.retrieve_directory_profile().profile_id(&bob)
    );
    assert_eq!(user.display_name.as_deref(), Some("Bob"));
    command!(
        c,
        cov,
        create_directory_profile_device,
        types::CreateDirectoryProfileDeviceBody {
            directory_id: dir.clone(),
            profile_id: bob.clone(),
            device_name: "bob's laptop".into(),
        }
    );
    command!(
        c,
        cov,
        add_directory_storage_device,
        types::AddDirectoryStorageDeviceBody {
            directory_id: dir.clone(),
            profile_id: bob.clone(),
            device_identifier: device.to_owned(),
        }
    );
    let devices = call!(
        cov,
        list_directory_devices,
        c.list_directory_devices().directory_id(&dir)
    );
    assert_eq!(devices.len(), 2);
    command!(
        c,
        cov,
        create_directory_voting_pool,
        types::CreateDirectoryVotingPoolBody {
            directory_id: dir.clone(),
            name: "staff vote".into(),
            voting_configuration_name: "board".into(),
        }
    );
    command!(
        c,
        cov,
        store_directory_meta,
        types::StoreDirectoryMetaBody {
            directory_id: dir.clone(),
            key: "department".into(),
            value: "finance".into(),
        }
    );

    // An existing profile is invited and accepts.
    let carol_token = active_profile(api, "carol", "pw").await;
    let carol = with_token(api, &carol_token);
    command!(
        c,
        cov,
        invite_profile,
        types::InviteProfileBody {
            directory_id: dir.clone(),
            username: "carol".into()
        }
    );
    let info = call!(
        cov,
        directory_profiles_info,
        c.directory_profiles_info().directory_id(&dir)
    );
    assert_eq!(
        (info.profile_count, info.device_count, info.pending_invites),
        (Some(1), Some(2), Some(1))
    );
    let invites = call!(cov, list_directory_invites, carol.list_directory_invites());
    command!(
        carol,
        cov,
        process_directory_invitation,
        types::ProcessDirectoryInvitationBody {
            invitation_id: invites[0].invitation_id.clone(),
            accept: true,
        }
    );
    let assigned = call!(
        cov,
        list_assigned_directories,
        carol.list_assigned_directories()
    );
    assert_eq!(assigned[0].directory_id, dir);
    assert_eq!(
        assigned[0].meta.get("department").map(String::as_str),
        Some("finance")
    );
}

async fn teardown_devices(c: &Client, device: &str, cov: &mut Coverage) {
    let device = device.to_owned();
    command!(
        c,
        cov,
        remove_storage_device,
        types::RemoveStorageDeviceBody {
            device_identifier: device.clone()
        }
    );
    command!(
        c,
        cov,
        remove_authenticator,
        types::RemoveAuthenticatorBody {
            device_identifier: device.clone()
        }
    );
    assert!(
        c.list_authenticators()
            .send()
            .await
            .expect("list")
            .into_inner()
            .is_empty()
    );
    command!(
        c,
        cov,
        reject_device,
        types::RejectDeviceBody {
            device_identifier: device.clone()
        }
    );
    command!(
        c,
        cov,
        remove_device,
        types::RemoveDeviceBody {
            device_identifier: device
        }
    );
    assert!(
        c.list_profile_devices()
            .send()
            .await
            .expect("list")
            .into_inner()
            .is_empty()
    );
}

/// The single-use token in the `auth` query of a `stream` URI (the mock's default answer).
fn stream_token(uri: &str) -> String {
    let (_, token) = uri
        .split_once("?auth=")
        .expect("the stream URI has its auth query");
    token.to_owned()
}
