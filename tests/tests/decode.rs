//! DECODE contract: the listener serves a response, the generated client decodes it, and the
//! snapshot (`snapshots/decode/<case>.snap`) shows what the client decoded: the status, the
//! Rust type and variant it chose, and the value serialised back.
//!
//! Served bodies are the documented examples of `fixtures/endpoints.json` (copied to
//! `fixtures/endpoint-examples.json`) and, for the shapes no page shows, the examples the spec
//! declares on each `oneOf` variant. Nothing snapshotted is written by hand.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{
    CaptureServer, Examples, Reply, assert_no_secret, client, component, example_of,
    password_properties, repo_root, resolve, variant_example,
};
use privicore_api::{Client, Error, OPERATIONS, ResponseValue, types};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const SNAPSHOT_DIR: &str = "snapshots/decode";

/// Response fields treated as secrets: those the spec marks `format: password`, plus the
/// profile token, which the spec leaves unmarked.
fn secret_fields(schema: &'static Value) -> BTreeSet<String> {
    let mut names = password_properties(schema);
    names.insert("authorizationToken".into());
    names
}

/// What the client decoded.
#[derive(Serialize)]
struct Decoded {
    /// The status the client saw.
    status: u16,
    /// The Rust type (and `oneOf` variant) the body decoded into.
    shape: String,
    /// The decoded value, serialised back to JSON.
    value: Value,
    /// `x-dpt-*` response headers, read through `ResponseValue::headers()`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
}

fn type_name<T>() -> &'static str {
    std::any::type_name::<T>()
        .rsplit("::")
        .next()
        .unwrap_or_default()
}

fn decoded<T: Serialize>(response: ResponseValue<T>, shape: impl FnOnce(&T) -> String) -> Decoded {
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-dpt-"))
        .map(|(name, value)| {
            let value = value.to_str().expect("ASCII header").to_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let status = response.status().as_u16();
    let inner = response.into_inner();
    Decoded {
        status,
        shape: shape(&inner),
        value: serde_json::to_value(&inner).expect("decoded value serialises"),
        headers,
    }
}

/// Decodes a successful answer whose type has a single shape.
fn plain<T: Serialize>(result: Result<ResponseValue<T>, Error<types::ApiError>>) -> Decoded {
    decoded(result.expect("the client decodes the answer"), |_| {
        type_name::<T>().to_owned()
    })
}

fn command_accepted_shape(value: &types::CommandAccepted) -> String {
    match value {
        types::CommandAccepted::String(_) => "CommandAccepted::String",
        types::CommandAccepted::Array(_) => "CommandAccepted::Array",
        types::CommandAccepted::Object { .. } => "CommandAccepted::Object",
    }
    .into()
}

/// Checks that every secret field the snapshot redacts was decoded to exactly the value served.
fn assert_secrets_decoded(
    context: &str,
    decoded: &Value,
    served: &Value,
    names: &BTreeSet<String>,
) {
    match (decoded, served) {
        (Value::Object(decoded), Value::Object(served)) => {
            for (key, value) in decoded {
                if names.contains(key) {
                    assert_eq!(
                        Some(value),
                        served.get(key),
                        "{context}: secret field {key} not decoded as served"
                    );
                }
                if let Some(other) = served.get(key) {
                    assert_secrets_decoded(context, value, other, names);
                }
            }
        }
        (Value::Array(decoded), Value::Array(served)) => {
            for (value, other) in decoded.iter().zip(served) {
                assert_secrets_decoded(context, value, other, names);
            }
        }
        _ => {}
    }
}

fn snapshot(name: &str, description: &str, decoded: &Decoded, secrets: &BTreeSet<String>) {
    assert_no_secret(name, &serde_json::to_string(decoded).expect("serialises"));
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(SNAPSHOT_DIR);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(description);
    for secret in secrets {
        settings.add_redaction(&format!(".value.**[\"{secret}\"]"), "[secret]");
    }
    settings.bind(|| insta::assert_yaml_snapshot!(name, decoded));
}

/// The schema of `op`'s `status` answer.
fn response_schema(ex: &Examples, status: u16) -> &'static Value {
    let response = resolve(&ex.op.value["responses"][status.to_string()]);
    &response["content"]["application/json"]["schema"]
}

fn describe(ex: &Examples) -> String {
    format!("{}: {} {}", ex.id, ex.op.method, ex.op.path)
}

// ---------------------------------------------------------------------------------------------
// The documented examples (endpoints.json)
// ---------------------------------------------------------------------------------------------

/// One documented response example.
#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct DocumentedExample {
    method: String,
    path: String,
    status: u16,
    content_type: Option<String>,
    example: Value,
}

fn documented_examples() -> Vec<DocumentedExample> {
    let path = repo_root().join("tests/fixtures/endpoint-examples.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture parses")
}

/// Calls the operation the documented example belongs to. `None`: no arm for this id.
async fn decode_documented(c: &Client, ex: &Examples) -> Option<Decoded> {
    Some(match ex.id {
        "authenticate" => plain(
            c.authenticate()
                .body(ex.body::<types::AuthenticateBody>())
                .send()
                .await,
        ),
        "obtain_oauth_access_token" => plain(
            c.obtain_oauth_access_token()
                .body(ex.body::<types::ObtainOauthAccessTokenBody>())
                .send()
                .await,
        ),
        "list_policy_templates" => plain(c.list_policy_templates().send().await),
        _ => return None,
    })
}

#[tokio::test]
async fn documented_examples_decode() {
    let server = CaptureServer::start().await;
    let client = client(server.url());
    let examples = documented_examples();
    assert!(!examples.is_empty(), "the fixture lists no example");
    let mut missing = Vec::new();
    for documented in &examples {
        let op = OPERATIONS
            .iter()
            .find(|op| op.method == documented.method && op.path == documented.path)
            .unwrap_or_else(|| {
                panic!(
                    "{} {}: not in the table",
                    documented.method, documented.path
                )
            });
        let ex = Examples::of(op.id);
        server.reply(Reply::json(documented.status, &documented.example));
        let Some(decoded) = decode_documented(&client, &ex).await else {
            missing.push(op.id);
            server.reset();
            continue;
        };
        assert_eq!(decoded.status, documented.status, "{}", op.id);
        let secrets = secret_fields(response_schema(&ex, documented.status));
        assert_secrets_decoded(op.id, &decoded.value, &documented.example, &secrets);
        let name = format!("{}_{}", op.id, documented.status);
        snapshot(&name, &describe(&ex), &decoded, &secrets);
    }
    assert!(
        missing.is_empty(),
        "documented examples without a decode case (add an arm to `decode_documented`): {missing:?}"
    );
}

/// The fixture is exactly the examples the committed research record
/// (`tests/fixtures/endpoints.json`, every endpoint with its sources) documents. The record is
/// committed so that this check runs everywhere; `.ci/run` compares it with the upstream copy
/// when one sits beside the clone.
#[test]
fn fixture_matches_endpoints_json() {
    let source = repo_root().join("tests/fixtures/endpoints.json");
    let text =
        std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    let endpoints: Vec<Value> = serde_json::from_str(&text).expect("endpoints.json parses");
    let mut extracted = Vec::new();
    for endpoint in &endpoints {
        for response in endpoint["responses"].as_array().into_iter().flatten() {
            if response["example"].is_null() {
                continue;
            }
            extracted.push(DocumentedExample {
                method: endpoint["method"].as_str().expect("method").into(),
                path: endpoint["path"].as_str().expect("path").into(),
                status: response["status"].as_u64().expect("status") as u16,
                content_type: response["content_type"].as_str().map(str::to_owned),
                example: response["example"].clone(),
            });
        }
    }
    assert_eq!(
        documented_examples(),
        extracted,
        "tests/fixtures/endpoint-examples.json is stale"
    );
}

// ---------------------------------------------------------------------------------------------
// The shapes of the `oneOf` schemas, served from the spec's own examples
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn command_accepted_decodes_in_all_three_shapes() {
    let server = CaptureServer::start().await;
    let client = client(server.url());
    let ex = Examples::of("reserve_token_space");
    for (variant, name) in [
        (0, "command_accepted_string"),
        (1, "command_accepted_array"),
        (2, "command_accepted_object"),
    ] {
        server.reply(Reply::json(
            202,
            &variant_example("CommandAccepted", variant),
        ));
        let response = client
            .reserve_token_space()
            .body(ex.body::<types::ReserveTokenSpaceBody>())
            .send()
            .await
            .expect("decodes");
        let decoded = decoded(response, command_accepted_shape);
        snapshot(name, &describe(&ex), &decoded, &BTreeSet::new());
    }
}

#[tokio::test]
async fn reauthorize_decodes_as_token_and_as_command() {
    let server = CaptureServer::start().await;
    let client = client(server.url());
    let ex = Examples::of("reauthorize_authorization_token");
    for (status, variant, name) in [
        (200, 0, "reauthorize_token_200"),
        (202, 1, "reauthorize_command_202"),
    ] {
        let served = variant_example("ReauthorizeResponse", variant);
        server.reply(Reply::json(status, &served));
        let response = client
            .reauthorize_authorization_token()
            .body(ex.body::<types::ReauthorizeAuthorizationTokenBody>())
            .send()
            .await
            .expect("decodes");
        let decoded = decoded(response, |value| match value {
            types::ReauthorizeResponse::AuthorizationToken(_) => {
                "ReauthorizeResponse::AuthorizationToken".into()
            }
            types::ReauthorizeResponse::CommandAccepted(command) => {
                format!("ReauthorizeResponse::{}", command_accepted_shape(command))
            }
        });
        let secrets = secret_fields(response_schema(&ex, status));
        assert_secrets_decoded(name, &decoded.value, &served, &secrets);
        snapshot(name, &describe(&ex), &decoded, &secrets);
    }
}

#[tokio::test]
async fn permanent_data_token_decodes_in_both_shapes() {
    let server = CaptureServer::start().await;
    let client = client(server.url());
    let ex = Examples::of("configure_file_meta");
    for (variant, name) in [
        (0, "permanent_data_token_string"),
        (1, "permanent_data_token_object"),
    ] {
        server.reply(Reply::json(
            200,
            &variant_example("PermanentDataToken", variant),
        ));
        let response = client
            .configure_file_meta()
            .body(ex.body::<types::ConfigureFileMetaBody>())
            .send()
            .await
            .expect("decodes");
        let decoded = decoded(response, |value| {
            match value {
                types::PermanentDataToken::String(_) => "PermanentDataToken::String",
                types::PermanentDataToken::Object { .. } => "PermanentDataToken::Object",
            }
            .into()
        });
        snapshot(name, &describe(&ex), &decoded, &BTreeSet::new());
    }
}

#[tokio::test]
async fn device_identifier_decodes_in_both_shapes() {
    let server = CaptureServer::start().await;
    let client = client(server.url());
    let ex = Examples::of("retrieve_unique_identifier");
    for (variant, name) in [
        (0, "device_identifier_string"),
        (1, "device_identifier_object"),
    ] {
        server.reply(Reply::json(
            200,
            &variant_example("DeviceIdentifierResponse", variant),
        ));
        let response = client
            .retrieve_unique_identifier()
            .body(ex.body::<types::RetrieveUniqueIdentifierBody>())
            .send()
            .await
            .expect("decodes");
        let decoded = decoded(response, |value| {
            match value {
                types::DeviceIdentifierResponse::String(_) => "DeviceIdentifierResponse::String",
                types::DeviceIdentifierResponse::Object { .. } => {
                    "DeviceIdentifierResponse::Object"
                }
            }
            .into()
        });
        snapshot(name, &describe(&ex), &decoded, &BTreeSet::new());
    }
}

#[tokio::test]
async fn request_status_decodes_in_both_shapes() {
    let server = CaptureServer::start().await;
    let client = client(server.url());
    let ex = Examples::of("request_command_status");
    for (variant, name) in [(0, "request_status_string"), (1, "request_status_array")] {
        server.reply(Reply::json(200, &variant_example("RequestStatus", variant)));
        let response = client
            .request_command_status()
            .command_id(ex.param::<String>("commandId"))
            .body(ex.body::<types::EmptyObject>())
            .send()
            .await
            .expect("decodes");
        let decoded = decoded(response, |value| {
            match value {
                types::RequestStatus::String(_) => "RequestStatus::String",
                types::RequestStatus::Array(_) => "RequestStatus::Array",
            }
            .into()
        });
        snapshot(name, &describe(&ex), &decoded, &BTreeSet::new());
    }
}

#[tokio::test]
async fn api_error_decodes_as_error_response() {
    let server = CaptureServer::start().await;
    let client = client(server.url());
    let ex = Examples::of("reserve_token_space");
    server.reply(Reply::json(422, &example_of(component("ApiError"))));
    let error = client
        .reserve_token_space()
        .body(ex.body::<types::ReserveTokenSpaceBody>())
        .send()
        .await
        .expect_err("a 422 is an error");
    let Error::ErrorResponse(response) = error else {
        panic!("expected Error::ErrorResponse, got {error}");
    };
    let decoded = decoded(response, |_| "Error::ErrorResponse(ApiError)".into());
    snapshot("api_error_422", &describe(&ex), &decoded, &BTreeSet::new());
}

/// A fresh id in UUID form: a volatile value, redacted in the snapshot.
fn fresh_id(salt: u128) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let n = nanos ^ (salt << 64) ^ u128::from(std::process::id());
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[tokio::test]
async fn request_data_exposes_its_request_id_header() {
    let server = CaptureServer::start().await;
    let client = client(server.url());
    let ex = Examples::of("request_data");
    let request_id = fresh_id(1);
    let command_id = fresh_id(2);
    server.reply(
        Reply::empty(202)
            .header("x-dpt-cab-request-id", &request_id)
            .header("x-dpt-cab-id", &command_id),
    );
    let response = client
        .request_data()
        .body(ex.body::<types::RequestDataBody>())
        .send()
        .await
        .expect("decodes");
    let decoded = decoded(response, |_| "()".into());
    assert_eq!(decoded.status, 202);
    assert_eq!(
        decoded.headers.get("x-dpt-cab-request-id"),
        Some(&request_id)
    );
    assert_eq!(decoded.headers.get("x-dpt-cab-id"), Some(&command_id));

    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(SNAPSHOT_DIR);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(describe(&ex));
    for (header, served, placeholder) in [
        ("x-dpt-cab-request-id", request_id, "[request id]"),
        ("x-dpt-cab-id", command_id, "[command id]"),
    ] {
        settings.add_redaction(
            &format!(".headers[\"{header}\"]"),
            insta::dynamic_redaction(move |value, _| {
                assert_eq!(value.as_str(), Some(served.as_str()), "{header} as served");
                placeholder
            }),
        );
    }
    settings.bind(|| insta::assert_yaml_snapshot!("request_data_headers", &decoded));
}
