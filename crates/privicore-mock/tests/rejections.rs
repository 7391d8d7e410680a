//! Each rejection answers the documented status with an `ApiError` body
//! `{status, reason, message}` that names the problem without echoing a secret.

mod common;

use std::time::Duration;

use common::*;
use privicore_api::types;
use privicore_mock::{ListAnswer, MockServer, OAuthPlacement, RequestStatusMethod};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Asserts the status and reason of an error answer and returns its message.
async fn rejected(response: reqwest::Response, status: u16, reason: &str) -> String {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "error bodies are JSON"
    );
    let body: Value = response.json().await.expect("ApiError JSON");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    let message = body["message"].as_str().expect("message").to_owned();
    assert!(!message.is_empty());
    // The body also decodes as the generated ApiError.
    let decoded: types::ApiError = serde_json::from_value(body).expect("decodes as ApiError");
    assert_eq!(decoded.reason.as_deref(), Some(reason));
    message
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// POSTs `form` to `api` + `path` without a token.
async fn form(api: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    send_form(&http(), format!("{api}{path}"), None, form).await
}

/// POSTs `form` to `api` + `path` with the profile token `token`.
async fn form_as(api: &str, path: &str, token: &str, form: &[(&str, &str)]) -> reqwest::Response {
    send_form(&http(), format!("{api}{path}"), Some(token), form).await
}

#[tokio::test]
async fn wrong_content_type_is_422() {
    let s = server().await;
    let api = s.api_url();
    let response = http()
        .post(format!("{api}/profile/authenticate"))
        .json(&json!({"username": "a", "password": "b"}))
        .send()
        .await
        .expect("sent");
    let message = rejected(response, 422, "validation.unsupported_content_type").await;
    assert!(message.contains("x-www-form-urlencoded"));

    // JSON operations refuse a form.
    let token = active_profile(api, "alice", "pw").await;
    let response = form_as(
        api,
        "/policy/register",
        &token,
        &[("policyTemplateId", "1")],
    )
    .await;
    rejected(response, 422, "validation.unsupported_content_type").await;
}

#[tokio::test]
async fn missing_and_empty_fields_are_422() {
    let s = server().await;
    let api = s.api_url();
    let response = form(api, "/profile/authenticate", &[("username", "alice")]).await;
    let message = rejected(response, 422, "validation.missing_field").await;
    assert!(message.contains("`password`"), "{message}");
    let response = form(
        api,
        "/profile/register-profile",
        &[("username", "alice"), ("password", " ")],
    )
    .await;
    rejected(response, 422, "validation.empty_field").await;
}

#[tokio::test]
async fn malformed_fields_are_422() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    let post = |path: &str, form: Vec<(&str, &str)>| {
        http()
            .post(format!("{api}{path}"))
            .header("X-DPT-AUTHORIZATION", &token)
            .form(&form)
            .send()
    };
    let response = post(
        "/data-token/reserve-token-space",
        vec![("context", "c"), ("ttl", "soon")],
    )
    .await
    .expect("sent");
    let message = rejected(response, 422, "validation.malformed_field").await;
    assert!(message.contains("`ttl`"));
    let response = post(
        "/data-token/reserve-token-space",
        vec![("context", "c"), ("ttl", "1441")],
    )
    .await
    .expect("sent");
    rejected(response, 422, "data_token.ttl_too_large").await;
    let response = post(
        "/data-token/exchange-data-for-token",
        vec![("temporaryTokenSpace", "t"), ("data", "not base64!")],
    )
    .await
    .expect("sent");
    rejected(response, 422, "validation.malformed_field").await;

    let mut key = signed_key([1; 32]);
    key.replace_range(198..200, if key.ends_with("00") { "11" } else { "00" });
    let response = post("/public-key/register-public-key", vec![("publicKey", &key)])
        .await
        .expect("sent");
    rejected(response, 422, "public_key.checksum_mismatch").await;
    let bad_tag = format!("ff{}", &signed_key([1; 32])[2..]);
    let response = post(
        "/public-key/register-public-key",
        vec![("publicKey", &bad_tag)],
    )
    .await
    .expect("sent");
    rejected(response, 422, "public_key.unsupported_version").await;

    let response = http()
        .get(format!("{api}/data-token/list-data-tokens?page=0"))
        .header("X-DPT-AUTHORIZATION", &token)
        .send()
        .await
        .expect("sent");
    rejected(response, 422, "validation.malformed_field").await;
    let response = http()
        .get(format!(
            "{api}/data-token/list-data-tokens?filters[owner]=x"
        ))
        .header("X-DPT-AUTHORIZATION", &token)
        .send()
        .await
        .expect("sent");
    rejected(response, 422, "validation.unknown_filter").await;
    let response = http()
        .post(format!(
            "{api}/verified-authenticator/voting-configuration/register"
        ))
        .header("X-DPT-AUTHORIZATION", &token)
        .json(
            &json!({"name": "v", "timeLimit": 10, "strategy": "dictator", "deviceIdentifiers": []}),
        )
        .send()
        .await
        .expect("sent");
    rejected(response, 422, "validation.malformed_field").await;
}

#[tokio::test]
async fn missing_token_is_401() {
    let s = server().await;
    let response = http()
        .get(format!("{}/profile/retrieve-profile-id", s.api_url()))
        .send()
        .await
        .expect("sent");
    rejected(response, 401, "auth.missing_token").await;
    let response = http()
        .get(format!("{}/profile/retrieve-profile-id", s.api_url()))
        .header("X-DPT-AUTHORIZATION", "made-up")
        .send()
        .await
        .expect("sent");
    let message = rejected(response, 401, "auth.invalid_token").await;
    assert!(!message.contains("made-up"), "never echo a token");
}

#[tokio::test]
async fn expired_token_is_401() {
    // The token must outlive the key registration and the first call after the log-in (a few
    // milliseconds, well under half a second even on a loaded machine) ten times over.
    const LIFETIME: Duration = Duration::from_secs(5);
    let s = MockServer::builder()
        .ack_delay(Duration::ZERO)
        .token_lifetime(LIFETIME)
        .start()
        .await
        .expect("server starts");
    let before_login = std::time::Instant::now();
    let token = active_profile(s.api_url(), "alice", "pw").await;
    let get = || {
        http()
            .get(format!("{}/profile/retrieve-profile-id", s.api_url()))
            .header("X-DPT-AUTHORIZATION", &token)
            .send()
    };
    assert_eq!(get().await.expect("sent").status(), StatusCode::OK);
    let get = &get;
    let expired = eventually("expired", || async move {
        let response = get().await.expect("sent");
        (response.status() != StatusCode::OK).then_some(response)
    })
    .await;
    assert!(
        before_login.elapsed() >= LIFETIME,
        "refused after {:?}, before its lifetime of {LIFETIME:?}",
        before_login.elapsed()
    );
    rejected(expired, 401, "auth.token_expired").await;

    // expire_tokens() does the same on demand.
    let s = server().await;
    let token = active_profile(s.api_url(), "bob", "pw").await;
    s.expire_tokens();
    let response = http()
        .get(format!("{}/profile/retrieve-profile-id", s.api_url()))
        .header("X-DPT-AUTHORIZATION", &token)
        .send()
        .await
        .expect("sent");
    rejected(response, 401, "auth.token_expired").await;
}

#[tokio::test]
async fn revoked_and_reauthorized_tokens_are_401() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    let response = form_as(
        api,
        "/profile/reauthorize-authorization-token",
        &token,
        &[("ttl", "60")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let renewed: Value = response.json().await.expect("json");
    let renewed = renewed["authorizationToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let get = |t: String| {
        http()
            .get(format!("{api}/profile/retrieve-profile-id"))
            .header("X-DPT-AUTHORIZATION", t)
            .send()
    };
    rejected(get(token).await.expect("sent"), 401, "auth.token_revoked").await;
    let response = http()
        .post(format!("{api}/profile/revoke-authorization-token"))
        .header("X-DPT-AUTHORIZATION", &renewed)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    rejected(get(renewed).await.expect("sent"), 401, "auth.token_revoked").await;
}

#[tokio::test]
async fn wrong_credentials_are_401_without_echo() {
    let s = server().await;
    active_profile(s.api_url(), "alice", "pw").await;
    let response = http()
        .post(format!("{}/profile/authenticate", s.api_url()))
        .form(&[("username", "alice"), ("password", "hunter2-wrong")])
        .send()
        .await
        .expect("sent");
    let message = rejected(response, 401, "auth.invalid_credentials").await;
    assert!(!message.contains("hunter2"));
}

#[tokio::test]
async fn wrong_basic_credentials_are_401() {
    let s = server().await;
    let url = format!(
        "{}/oauth-application/retrieve-authorization-code",
        s.api_url()
    );
    let form = [("id", "x"), ("nonce", "n")];
    let response = http()
        .post(&url)
        .basic_auth("no-such-client", Some("secret-value"))
        .form(&form)
        .send()
        .await
        .expect("sent");
    let message = rejected(response, 401, "auth.invalid_client").await;
    assert!(!message.contains("secret-value"));
    let response = http()
        .post(&url)
        .header("Authorization", "Bearer abc")
        .form(&form)
        .send()
        .await
        .expect("sent");
    rejected(response, 401, "auth.malformed_authorization").await;
    let response = http().post(&url).form(&form).send().await.expect("sent");
    rejected(response, 401, "auth.missing_credentials").await;
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let s = server().await;
    let api = s.api_url();
    let response = http()
        .post(format!("{api}/request-status/no-such-command"))
        .json(&json!({}))
        .send()
        .await
        .expect("sent");
    rejected(response, 404, "command.not_found").await;
    let token = active_profile(api, "alice", "pw").await;
    for (path, reason) in [
        (
            "/data-token/retrieve-temporary-data-token/nope",
            "data_token.reservation_not_found",
        ),
        (
            "/device/retrieve-device-configuration/nope",
            "device.not_found",
        ),
        ("/policy/retrieve-policy/nope", "policy.not_found"),
        ("/voting/check-pool-status/nope", "voting.pool_not_found"),
        ("/directory/retrieve-directory/nope", "directory.not_found"),
        (
            "/verified-authenticator/voting-configuration/retrieve/nope",
            "voting.configuration_not_found",
        ),
    ] {
        let response = http()
            .get(format!("{api}{path}"))
            .header("X-DPT-AUTHORIZATION", &token)
            .send()
            .await
            .expect("sent");
        rejected(response, 404, reason).await;
    }
    let response = form_as(
        api,
        "/data-token/request-data",
        &token,
        &[("token", "nope")],
    )
    .await;
    rejected(response, 404, "data_token.not_found").await;
    let response = http()
        .get(format!("{api}/no/such/path"))
        .send()
        .await
        .expect("sent");
    rejected(response, 404, "route.not_found").await;
}

#[tokio::test]
async fn taken_username_is_409() {
    let s = server().await;
    active_profile(s.api_url(), "alice", "pw").await;
    let response = http()
        .post(format!("{}/profile/register-profile", s.api_url()))
        .form(&[("username", "alice"), ("password", "other")])
        .send()
        .await
        .expect("sent");
    rejected(response, 409, "profile.username_taken").await;
}

/// Registers an OAuth application and returns (application id, client id, client secret).
async fn oauth_app(api: &str, token: &str, scopes: &str) -> (String, String, String) {
    let body: Value = post_form(
        &http(),
        format!("{api}/profile/oauth-application-register"),
        Some(token),
        &[
            ("name", "app"),
            ("redirectUri", "https://e.example/cb"),
            ("scopes", scopes),
        ],
    )
    .await;
    let app = extract_id(&body);
    let config: Value = form_as(
        api,
        "/profile/retrieve-oauth-application-configuration",
        token,
        &[("applicationId", app.as_str())],
    )
    .await
    .json()
    .await
    .expect("json");
    let text = |k: &str| config[k].as_str().expect("field").to_owned();
    (app, text("clientId"), text("clientSecret"))
}

/// Runs the code flow for `scope` and returns the token response and the code it used.
async fn oauth_tokens(
    api: &str,
    token: &str,
    client: &(String, String, String),
    nonce: &str,
    scope: &str,
) -> (Value, String) {
    let body: Value = http()
        .get(format!(
            "{api}/profile/oauth-application-request-authorization-code"
        ))
        .header("X-DPT-AUTHORIZATION", token)
        .query(&[
            ("client_id", client.1.as_str()),
            ("nonce", nonce),
            ("scope[]", scope),
        ])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let request = extract_id(&body);
    let code: Value = http()
        .post(format!(
            "{api}/oauth-application/retrieve-authorization-code"
        ))
        .basic_auth(&client.1, Some(&client.2))
        .form(&[("id", request.as_str()), ("nonce", nonce)])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let code = code["authorizationCode"].as_str().expect("code").to_owned();
    let tokens = http()
        .post(format!("{api}/oauth-application/obtain-access-token"))
        .basic_auth(&client.1, Some(&client.2))
        .form(&[("authorization_code", code.as_str())])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    (tokens, code)
}

#[tokio::test]
async fn second_secret_retrieval_is_422() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    let (app, _, _) = oauth_app(api, &token, "all").await;
    let response = form_as(
        api,
        "/profile/retrieve-oauth-application-configuration",
        &token,
        &[("applicationId", app.as_str())],
    )
    .await;
    rejected(response, 422, "oauth.already_retrieved").await;
    let response = form_as(
        api,
        "/profile/retrieve-oauth-application-configuration",
        &token,
        &[("applicationId", "unknown")],
    )
    .await;
    rejected(response, 404, "oauth.application_not_found").await;
}

#[tokio::test]
async fn nonce_reuse_and_code_reuse_are_refused() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    let client = oauth_app(api, &token, "all").await;
    let (tokens, code) = oauth_tokens(api, &token, &client, "n-1", "all").await;
    assert!(tokens["token"].is_string());
    let again = http()
        .post(format!("{api}/oauth-application/obtain-access-token"))
        .basic_auth(&client.1, Some(&client.2))
        .form(&[("authorization_code", code.as_str())])
        .send()
        .await
        .expect("sent");
    rejected(again, 422, "oauth.code_already_used").await;
    let response = http()
        .get(format!(
            "{api}/profile/oauth-application-request-authorization-code"
        ))
        .header("X-DPT-AUTHORIZATION", &token)
        .query(&[
            ("client_id", client.1.as_str()),
            ("nonce", "n-1"),
            ("scope[]", "all"),
        ])
        .send()
        .await
        .expect("sent");
    rejected(response, 422, "oauth.nonce_reused").await;
}

#[tokio::test]
async fn used_refresh_token_is_401() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    let client = oauth_app(api, &token, "all").await;
    let (tokens, _) = oauth_tokens(api, &token, &client, "n-1", "all").await;
    let refresh = |access: &str, refresh: &str| {
        http()
            .post(format!("{api}/oauth-application/refresh-access-token"))
            .header("Authorization", format!("Basic {access}"))
            .form(&[("refresh_token", refresh)])
            .send()
    };
    let (access, old) = (
        tokens["token"].as_str().expect("t"),
        tokens["refreshToken"].as_str().expect("r"),
    );
    let response = refresh(access, old).await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.expect("json");
    assert_ne!(rotated["refreshToken"], old);
    let new_access = rotated["token"].as_str().expect("t");
    let message = rejected(
        refresh(new_access, old).await.expect("sent"),
        401,
        "oauth.refresh_token_used",
    )
    .await;
    assert!(!message.contains(old));
    // The old access token stopped working too.
    let response = http()
        .get(format!("{api}/data-token/list-data-tokens"))
        .header("X-DPT-AUTHORIZATION", access)
        .send()
        .await
        .expect("sent");
    rejected(response, 401, "auth.invalid_token").await;
}

#[tokio::test]
async fn oauth_tokens_are_limited_to_their_scope() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    let client = oauth_app(api, &token, "data-token:read").await;
    let (tokens, _) = oauth_tokens(api, &token, &client, "n-1", "data-token:read").await;
    let access = tokens["token"].as_str().expect("token");
    let list = http()
        .get(format!("{api}/data-token/list-data-tokens"))
        .header("X-DPT-AUTHORIZATION", access)
        .send()
        .await
        .expect("sent");
    assert_eq!(list.status(), StatusCode::OK);
    let reserve = form_as(
        api,
        "/data-token/reserve-token-space",
        access,
        &[("context", "c")],
    )
    .await;
    rejected(reserve, 403, "auth.insufficient_scope").await;
    let profile = http()
        .get(format!("{api}/device/retrieve-profile-devices"))
        .header("X-DPT-AUTHORIZATION", access)
        .send()
        .await
        .expect("sent");
    rejected(profile, 403, "auth.oauth_token_not_allowed").await;
}

/// docs/protocol.md §14.7: each placement variant takes an OAuth access token in its header(s)
/// only, and a profile token in `X-DPT-AUTHORIZATION` only; a token elsewhere is the usual 401.
#[tokio::test]
async fn oauth_tokens_are_taken_only_in_the_placement_the_server_reads() {
    // (variant, OAuth token in X-DPT-AUTHORIZATION, in Bearer: (status, reason when refused))
    let variants = [
        (
            OAuthPlacement::DptHeaderOnly,
            (200, ""),
            (401, "auth.missing_token"),
        ),
        (
            OAuthPlacement::BearerOnly,
            (401, "auth.invalid_token"),
            (200, ""),
        ),
        (OAuthPlacement::Either, (200, ""), (200, "")),
    ];
    for (variant, in_dpt, in_bearer) in variants {
        let s = MockServer::builder()
            .ack_delay(Duration::ZERO)
            .oauth_placement(variant)
            .start()
            .await
            .expect("the mock starts");
        let api = s.api_url();
        let token = active_profile(api, "alice", "pw").await;
        let client = oauth_app(api, &token, "all").await;
        let (tokens, _) = oauth_tokens(api, &token, &client, "n-1", "all").await;
        let access = tokens["token"].as_str().expect("token");
        let list = |name: &'static str, value: String| {
            http()
                .get(format!("{api}/data-token/list-data-tokens"))
                .header(name, value)
                .send()
        };
        for ((status, reason), response) in [
            (in_dpt, list("X-DPT-AUTHORIZATION", access.to_owned())),
            (in_bearer, list("Authorization", format!("Bearer {access}"))),
        ] {
            let response = response.await.expect("sent");
            if status == 200 {
                assert_eq!(response.status(), StatusCode::OK, "{variant:?}");
            } else {
                let message = rejected(response, status, reason).await;
                assert!(
                    !message.contains(access),
                    "{variant:?}: the token is not echoed"
                );
            }
        }
        // A profile token is never taken as a Bearer token.
        let response = list("Authorization", format!("Bearer {token}"))
            .await
            .expect("sent");
        let reason = if variant == OAuthPlacement::DptHeaderOnly {
            "auth.missing_token"
        } else {
            "auth.invalid_token"
        };
        rejected(response, 401, reason).await;
    }
}

#[tokio::test]
async fn a_profile_without_a_key_is_403() {
    let s = server().await;
    let token = plain_profile(&http(), s.api_url(), "alice").await;
    let response = http()
        .get(format!("{}/data-token/list-data-tokens", s.api_url()))
        .header("X-DPT-AUTHORIZATION", &token)
        .send()
        .await
        .expect("sent");
    rejected(response, 403, "profile.inactive").await;
}

#[tokio::test]
async fn a_reservation_answers_404_until_acked() {
    // The ack must come well after the one request the test sends right after the 202.
    let s = MockServer::builder()
        .ack_delay(Duration::from_secs(3))
        .start()
        .await
        .expect("server starts");
    let api = s.api_url();
    let http = http();
    let token = plain_profile(&http, api, "alice").await;
    plain_activate(&http, api, &token).await;
    let body: Value = post_form(
        &http,
        format!("{api}/data-token/reserve-token-space"),
        Some(&token),
        &[("context", "c"), ("ttl", "5")],
    )
    .await;
    let id = extract_id(&body);
    let get = || {
        http.get(format!(
            "{api}/data-token/retrieve-temporary-data-token/{id}"
        ))
        .header("X-DPT-AUTHORIZATION", &token)
        .send()
    };
    rejected(
        get().await.expect("sent"),
        404,
        "data_token.reservation_not_found",
    )
    .await;
    wait_completed(&http, api, &id).await;
    assert_eq!(get().await.expect("sent").status(), StatusCode::OK);
}

#[tokio::test]
async fn business_rule_failures_arrive_as_command_status_3() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    let (mut ws, _) = join(s.ws_url(), &token).await;
    let response = form_as(
        api,
        "/device/approve-device",
        &token,
        &[("deviceIdentifier", "no-such-device")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let id = extract_id(&response.json().await.expect("json"));
    let ack = wait_frame(&mut ws, "X-DPT-CAB-ID", &id).await;
    assert_eq!(ack["data"]["command_status"], 3);
    assert_eq!(ack["data"]["body"], "device.not_found");
    let status: Value = http()
        .post(format!("{api}/request-status/{id}"))
        .json(&json!({}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(status, json!("failed"));
}

#[tokio::test]
async fn stream_and_download_tokens_are_single_use() {
    let s = MockServer::builder()
        .ack_delay(Duration::ZERO)
        .inline_threshold(0)
        .start()
        .await
        .expect("server starts");
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    let body: Value = post_form(
        &http(),
        format!("{api}/data-token/reserve-token-space"),
        Some(&token),
        &[("context", "c")],
    )
    .await;
    let id = extract_id(&body);
    let temp: Value = http()
        .get(format!(
            "{api}/data-token/retrieve-temporary-data-token/{id}"
        ))
        .header("X-DPT-AUTHORIZATION", &token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let url = temp["stream"].as_str().expect("stream URI").to_owned();
    // A 3-byte plaintext in the wire format: IV, ciphertext, tag.
    let payload: Vec<u8> = (1..=(3 + WIRE_OVERHEAD as u8)).collect();
    let upload = |content_type: &'static str| {
        http()
            .post(&url)
            .header("content-type", content_type)
            .body(payload.clone())
            .send()
    };
    // A refused content type does not use the token up.
    rejected(
        upload("text/plain").await.expect("sent"),
        422,
        "validation.unsupported_content_type",
    )
    .await;
    assert_eq!(
        upload("application/octet-stream")
            .await
            .expect("sent")
            .status(),
        StatusCode::OK
    );
    rejected(
        upload("application/octet-stream").await.expect("sent"),
        401,
        "stream.invalid_token",
    )
    .await;

    let permanent: Value = form_as(
        api,
        "/data-token/configure-file-meta",
        &token,
        &[
            ("token", temp["token"].as_str().expect("token")),
            ("fileName", "f"),
            ("extension", "bin"),
            ("context", "c"),
            ("size", "3"),
            ("path", "/"),
        ],
    )
    .await
    .json()
    .await
    .expect("json");
    let (mut ws, _) = join(s.ws_url(), &token).await;
    let response = form_as(
        api,
        "/data-token/request-data",
        &token,
        &[("token", permanent.as_str().expect("bare token"))],
    )
    .await;
    let request_id = response.headers()["x-dpt-cab-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let frame = wait_frame(&mut ws, "X-DPT-CAB-REQUEST-ID", &request_id).await;
    let link = frame["data"]["body"].as_str().expect("link").to_owned();
    let first = http().get(&link).send().await.expect("sent");
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        first.headers()["content-length"],
        payload.len().to_string().as_str()
    );
    assert_eq!(first.bytes().await.expect("bytes").as_ref(), payload);
    rejected(
        http().get(&link).send().await.expect("sent"),
        401,
        "download.invalid_token",
    )
    .await;
}

#[tokio::test]
async fn request_status_answers_on_both_methods_in_both_shapes() {
    let s = MockServer::builder()
        .ack_delay(Duration::ZERO)
        .request_status_method(RequestStatusMethod::Both)
        .start()
        .await
        .expect("server starts");
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    // Profile commands answer a bare string, data-token commands a one-element array.
    let profile_cmd: Value = post_form(
        &http(),
        format!("{api}/profile/change-password"),
        Some(&token),
        &[("currentPassword", "pw"), ("newPassword", "pw2")],
    )
    .await;
    assert!(profile_cmd.is_string());
    let data_cmd: Value = post_form(
        &http(),
        format!("{api}/data-token/reserve-token-space"),
        Some(&token),
        &[("context", "c")],
    )
    .await;
    assert!(data_cmd.is_array());
    let device_cmd: Value = post_form(
        &http(),
        format!("{api}/device/request-unique-identifier"),
        Some(&token),
        &[("deviceName", "d")],
    )
    .await;
    assert!(device_cmd["commandId"].is_string());
    for (cmd, expected) in [
        (&profile_cmd, json!("completed")),
        (&data_cmd, json!(["completed"])),
    ] {
        let id = extract_id(cmd);
        let post: Value = http()
            .post(format!("{api}/request-status/{id}"))
            .json(&json!({}))
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        let get: Value = http()
            .get(format!("{api}/request-status/{id}"))
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        assert_eq!(post, expected);
        assert_eq!(get, expected);
    }
}

/// The method a server does not serve is refused the way a router refuses it: `405`, the
/// `Allow` header naming the served method, and no API error body.
#[tokio::test]
async fn request_status_refuses_the_method_not_served_as_a_router_would() {
    for (served, refused, allowed) in [
        (RequestStatusMethod::Post, Method::GET, "POST"),
        (RequestStatusMethod::Get, Method::POST, "GET"),
    ] {
        let s = MockServer::builder()
            .request_status_method(served)
            .start()
            .await
            .expect("server starts");
        let api = s.api_url();
        let response = http()
            .request(
                refused.clone(),
                format!("{api}/request-status/no-such-command"),
            )
            .json(&json!({}))
            .send()
            .await
            .expect("sent");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{served:?}"
        );
        assert_eq!(
            response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok()),
            Some(allowed),
            "{served:?}"
        );
        assert!(
            response.bytes().await.expect("body").is_empty(),
            "{served:?}"
        );
        let served_method = if refused == Method::GET {
            Method::POST
        } else {
            Method::GET
        };
        let response = http()
            .request(
                served_method,
                format!("{api}/request-status/no-such-command"),
            )
            .json(&json!({}))
            .send()
            .await
            .expect("sent");
        rejected(response, 404, "command.not_found").await;
    }
}

/// Both lists answer the `{items, meta}` envelope by default and the bare array of the page's
/// items with [`ListAnswer::BareArray`].
#[tokio::test]
async fn lists_answer_an_envelope_or_a_bare_array() {
    for answer in [ListAnswer::Envelope, ListAnswer::BareArray] {
        let s = MockServer::builder()
            .ack_delay(Duration::ZERO)
            .list_answer(answer)
            .start()
            .await
            .expect("server starts");
        let api = s.api_url();
        let token = active_profile(api, "alice", "pw").await;
        for path in [
            "/data-token/list-data-tokens",
            "/profile/retrieve-oauth-application-list",
        ] {
            let body: Value = http()
                .get(format!("{api}{path}"))
                .header("X-DPT-AUTHORIZATION", &token)
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("json");
            let expected = match answer {
                ListAnswer::BareArray => json!([]),
                _ => json!({"items": [], "meta": {"count": 0, "page": 1, "perPage": 25}}),
            };
            assert_eq!(body, expected, "{answer:?} {path}");
        }
    }
}

#[tokio::test]
async fn reply_shapes_can_be_pinned() {
    let s = MockServer::builder()
        .ack_delay(Duration::ZERO)
        .reply_shape("register_profile", privicore_mock::ReplyShape::Object)
        .start()
        .await
        .expect("server starts");
    let body: Value = post_form(
        &http(),
        format!("{}/profile/register-profile", s.api_url()),
        None,
        &[("username", "a"), ("password", "b")],
    )
    .await;
    assert!(body["commandId"].is_string(), "{body}");
}

/// A settled reservation of the profile: its temporary token and stream URL.
async fn reservation(api: &str, token: &str) -> (String, String) {
    let body: Value = post_form(
        &http(),
        format!("{api}/data-token/reserve-token-space"),
        Some(token),
        &[("context", "c")],
    )
    .await;
    let id = extract_id(&body);
    let temp: Value = http()
        .get(format!(
            "{api}/data-token/retrieve-temporary-data-token/{id}"
        ))
        .header("X-DPT-AUTHORIZATION", token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    (
        temp["token"].as_str().expect("temporary token").to_owned(),
        temp["stream"].as_str().expect("stream URI").to_owned(),
    )
}

/// Exchanges `payload` inline for the reservation behind `temp`.
async fn exchange(api: &str, token: &str, temp: &str, payload: &[u8]) -> reqwest::Response {
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(payload);
    form_as(
        api,
        "/data-token/exchange-data-for-token",
        token,
        &[("temporaryTokenSpace", temp), ("data", &data)],
    )
    .await
}

/// Uploads `payload` to a stream URL.
async fn upload(url: &str, payload: &[u8]) -> reqwest::Response {
    http()
        .post(url)
        .header("content-type", "application/octet-stream")
        .body(payload.to_vec())
        .send()
        .await
        .expect("sent")
}

/// configure-file-meta for the reservation behind `temp`, declaring `size`.
async fn file_meta(api: &str, token: &str, temp: &str, size: &str) -> reqwest::Response {
    form_as(
        api,
        "/data-token/configure-file-meta",
        token,
        &[
            ("token", temp),
            ("fileName", "f"),
            ("extension", "bin"),
            ("context", "c"),
            ("size", size),
            ("path", "/"),
        ],
    )
    .await
}

#[tokio::test]
async fn unknown_and_repeated_body_fields_are_422() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;

    // A form field the operation does not know (here misspelt) is named, never its value.
    let response = form_as(
        api,
        "/profile/change-password",
        &token,
        &[
            ("currentPassword", "pw"),
            ("newPassword", "pw2"),
            ("newPasword", "typo-secret"),
        ],
    )
    .await;
    let message = rejected(response, 422, "validation.unknown_field").await;
    assert!(message.contains("`newPasword`"), "{message}");
    assert!(!message.contains("typo-secret"), "never echo a value");
    // A field sent twice is refused too: which of the two would count is anybody's guess.
    let response = form_as(
        api,
        "/profile/change-password",
        &token,
        &[
            ("currentPassword", "pw"),
            ("newPassword", "pw2"),
            ("newPassword", "pw3"),
        ],
    )
    .await;
    let message = rejected(response, 422, "validation.duplicate_field").await;
    assert!(message.contains("`newPassword`"), "{message}");
    // Neither refusal changed the password.
    assert_eq!(s.count("change_password"), 2);
    assert_eq!(
        form(
            api,
            "/profile/authenticate",
            &[("username", "alice"), ("password", "pw")]
        )
        .await
        .status(),
        StatusCode::OK
    );

    // An operation that takes no fields refuses any, and does nothing.
    let response = form_as(
        api,
        "/profile/revoke-authorization-token",
        &token,
        &[("everything", "true")],
    )
    .await;
    let message = rejected(response, 422, "validation.unknown_field").await;
    assert!(message.contains("takes no body fields"), "{message}");
    let still_valid = http()
        .get(format!("{api}/profile/retrieve-profile-id"))
        .header("X-DPT-AUTHORIZATION", &token)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        still_valid.status(),
        StatusCode::OK,
        "the token was not revoked"
    );

    // JSON bodies: an unknown top-level key, and a key given twice (sent as raw text, since
    // a JSON value cannot hold one twice).
    let json_post = |body: String| {
        http()
            .post(format!("{api}/data-token/update-data"))
            .header("X-DPT-AUTHORIZATION", &token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let response = json_post(json!({"dataToken": "t", "data": "aGk=", "metaData": {}}).to_string())
        .await
        .expect("sent");
    let message = rejected(response, 422, "validation.unknown_field").await;
    assert!(message.contains("`metaData`"), "{message}");
    let response = json_post(r#"{"dataToken": "t", "data": "aGk=", "data": "aGk="}"#.into())
        .await
        .expect("sent");
    let message = rejected(response, 422, "validation.duplicate_field").await;
    assert!(message.contains("`data`"), "{message}");
    let response = http()
        .post(format!("{api}/request-status/any"))
        .json(&json!({"commandId": "any"}))
        .send()
        .await
        .expect("sent");
    rejected(response, 422, "validation.unknown_field").await;
}

#[tokio::test]
async fn a_reservation_is_filled_once() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    let first: Vec<u8> = (0..(4 + WIRE_OVERHEAD as u8)).collect();
    let second = vec![0xEE; 9 + WIRE_OVERHEAD];

    // Exchanged first: the upload and a second exchange are refused.
    let (temp, stream_url) = reservation(api, &token).await;
    let accepted: Value = exchange(api, &token, &temp, &first)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        s.command_outcome(&extract_id(&accepted)),
        Some(privicore_mock::CommandOutcome::Completed)
    );
    rejected(
        upload(&stream_url, &second).await,
        422,
        "data_token.already_filled",
    )
    .await;
    rejected(
        exchange(api, &token, &temp, &second).await,
        422,
        "data_token.already_filled",
    )
    .await;
    assert_eq!(
        file_meta(api, &token, &temp, "4").await.status(),
        StatusCode::OK
    );

    // Uploaded first: an exchange is refused, and the used stream token is gone.
    let (temp, stream_url) = reservation(api, &token).await;
    assert_eq!(upload(&stream_url, &first).await.status(), StatusCode::OK);
    rejected(
        exchange(api, &token, &temp, &second).await,
        422,
        "data_token.already_filled",
    )
    .await;
    rejected(
        upload(&stream_url, &second).await,
        401,
        "stream.invalid_token",
    )
    .await;
    assert_eq!(
        file_meta(api, &token, &temp, "4").await.status(),
        StatusCode::OK
    );

    // Both tokens hold the first fill, never the second.
    let stored: Vec<usize> = s.stored_data().iter().map(|d| d.stored_len).collect();
    assert_eq!(stored, vec![first.len(), first.len()]);
}

#[tokio::test]
async fn file_meta_size_must_be_the_stored_plaintext_size() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "pw").await;
    // 5 bytes of plaintext in the wire format.
    let payload = vec![0x5A; 5 + WIRE_OVERHEAD];
    let (temp, _) = reservation(api, &token).await;
    assert_eq!(
        exchange(api, &token, &temp, &payload).await.status(),
        StatusCode::ACCEPTED
    );
    // The ciphertext length, one more and one less are all refused, and leave the
    // reservation as it was.
    for wrong in [payload.len().to_string(), "6".into(), "4".into()] {
        let message = rejected(
            file_meta(api, &token, &temp, &wrong).await,
            422,
            "data_token.size_mismatch",
        )
        .await;
        assert!(message.contains("`size`"), "{message}");
    }
    assert!(s.stored_data().is_empty());
    assert_eq!(
        file_meta(api, &token, &temp, "5").await.status(),
        StatusCode::OK
    );
    let stored = s.stored_data();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].stored_len, payload.len());
    assert_eq!(stored[0].declared_size, Some(5));

    // A payload shorter than an IV and a tag has no plaintext size at all.
    let (temp, _) = reservation(api, &token).await;
    exchange(api, &token, &temp, &[1, 2, 3]).await;
    rejected(
        file_meta(api, &token, &temp, "0").await,
        422,
        "data_token.size_mismatch",
    )
    .await;
}
