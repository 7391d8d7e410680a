//! Shared by the contract tests: the spec and the example values it declares, a capturing
//! HTTP/1.1 listener, and test credentials.
//!
//! Each test file compiles its own copy of this module and uses part of it.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use privicore_api::hooks::{BoxFuture, Credential, CredentialError, Inner, TokenSource};
use privicore_api::operations::{Auth, OperationMeta};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// The spec
// ---------------------------------------------------------------------------------------------

/// The workspace root (the contract-test crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `spec/privicore.yaml`, as text.
pub fn spec_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let path = repo_root().join("spec/privicore.yaml");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// The spec as a JSON value (YAML anchors resolved), for reading examples.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_yaml::from_str(spec_text()).expect("spec/privicore.yaml parses"))
}

/// Where an operation sits in the spec.
pub struct SpecOperation {
    pub method: String,
    pub path: String,
    pub value: &'static Value,
}

/// The spec's operations by operation id.
pub fn spec_operations() -> &'static HashMap<String, SpecOperation> {
    static OPS: OnceLock<HashMap<String, SpecOperation>> = OnceLock::new();
    OPS.get_or_init(|| {
        let mut ops = HashMap::new();
        let paths = spec()["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("path item") {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                ops.insert(
                    id.to_string(),
                    SpecOperation {
                        method: method.to_uppercase(),
                        path: path.clone(),
                        value: op,
                    },
                );
            }
        }
        ops
    })
}

/// Follows a local `$ref` (`#/components/...`).
pub fn resolve(value: &'static Value) -> &'static Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("non-local $ref {reference}"));
            resolve(
                spec()
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling $ref {reference}")),
            )
        }
        None => value,
    }
}

/// A schema of `components/schemas`.
pub fn component(name: &str) -> &'static Value {
    spec()
        .pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("no schema {name} in the spec"))
}

/// An example value for `schema`, built only from what the spec declares: the schema's own
/// `example`, else its properties' examples (recursively), else the first `oneOf` variant.
/// Where the spec declares no example at all, a neutral value stands in: an array of
/// example-less scalars is `[]`, a string `"string"`, an integer its minimum or 1.
pub fn example_of(schema: &'static Value) -> Value {
    let schema = resolve(schema);
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
        return example_of(&variants[0]);
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
    {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => {
            let items = resolve(&schema["items"]);
            let scalar = matches!(
                items.get("type").and_then(Value::as_str),
                Some("string" | "integer" | "number" | "boolean")
            );
            if scalar && items.get("example").is_none() && items.get("enum").is_none() {
                json!([])
            } else {
                json!([example_of(items)])
            }
        }
        Some("string") => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => json!("2026-01-01T00:00:00+00:00"),
            _ => json!("string"),
        },
        Some("integer") => schema.get("minimum").cloned().unwrap_or(json!(1)),
        Some("number") => json!(1.0),
        Some("boolean") => json!(true),
        _ => {
            let mut object = Map::new();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    object.insert(name.clone(), example_of(property));
                }
            }
            if object.is_empty()
                && let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object())
            {
                object.insert("key".into(), example_of(extra));
            }
            Value::Object(object)
        }
    }
}

/// The example of one `oneOf` variant of a component schema.
pub fn variant_example(component_name: &str, variant: usize) -> Value {
    let variants = component(component_name)["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("{component_name} is not a oneOf"));
    example_of(&variants[variant])
}

/// Property names that the schema (recursively) marks `format: password`.
pub fn password_properties(schema: &'static Value) -> BTreeSet<String> {
    fn walk(schema: &'static Value, depth: usize, out: &mut BTreeSet<String>) {
        if depth > 16 {
            return;
        }
        let schema = resolve(schema);
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                if resolve(property).get("format").and_then(Value::as_str) == Some("password") {
                    out.insert(name.clone());
                }
                walk(property, depth + 1, out);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(inner) = schema.get(key).filter(|v| v.is_object()) {
                walk(inner, depth + 1, out);
            }
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            for inner in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                walk(inner, depth + 1, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(schema, 0, &mut out);
    out
}

/// The payload sent and served where a binary body is needed (13 bytes, the `size` example of
/// configure-file-meta).
pub const BINARY_EXAMPLE: &[u8] = b"hello, world\n";

/// The example values the spec declares for one operation.
pub struct Examples {
    pub id: &'static str,
    pub op: &'static SpecOperation,
}

impl Examples {
    pub fn of(id: &'static str) -> Self {
        let op = spec_operations()
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not in the spec"));
        Self { id, op }
    }

    fn parameter(&self, name: &str) -> &'static Value {
        self.op.value["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(resolve)
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{}: no parameter {name}", self.id))
    }

    /// The example of parameter `name` (exactly as the spec names it), as `T`.
    pub fn param<T: DeserializeOwned>(&self, name: &str) -> T {
        let parameter = self.parameter(name);
        let example = parameter
            .get("example")
            .cloned()
            .unwrap_or_else(|| example_of(&parameter["schema"]));
        serde_json::from_value(example.clone()).unwrap_or_else(|e| {
            panic!(
                "{}: example {example} of {name} does not convert: {e}",
                self.id
            )
        })
    }

    /// The declared request content type, if the operation has a body.
    pub fn content_type(&self) -> Option<&'static str> {
        self.op.value["requestBody"]["content"]
            .as_object()
            .and_then(|c| c.keys().next())
            .map(String::as_str)
    }

    /// The request body schema.
    pub fn body_schema(&self) -> &'static Value {
        let content = self.op.value["requestBody"]["content"]
            .as_object()
            .unwrap_or_else(|| panic!("{}: no request body", self.id));
        &content.values().next().expect("one content type")["schema"]
    }

    /// The example request body, as JSON.
    pub fn body_json(&self) -> Value {
        example_of(self.body_schema())
    }

    /// The example request body as the generated body type.
    pub fn body<T: DeserializeOwned>(&self) -> T {
        let example = self.body_json();
        serde_json::from_value(example.clone()).unwrap_or_else(|e| {
            panic!(
                "{}: example body {example} does not convert to {}: {e}",
                self.id,
                std::any::type_name::<T>()
            )
        })
    }

    /// The example of each query parameter, as the wire pairs it should become (arrays repeat
    /// the name), in spec order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        for parameter in self.op.value["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(resolve)
            .filter(|p| p["in"] == "query")
        {
            let name = parameter["name"].as_str().expect("name").to_string();
            let example = parameter
                .get("example")
                .cloned()
                .unwrap_or_else(|| example_of(&parameter["schema"]));
            match example {
                Value::Array(items) => {
                    pairs.extend(items.iter().map(|v| (name.clone(), scalar_text(v))))
                }
                other => pairs.push((name, scalar_text(&other))),
            }
        }
        pairs
    }

    /// The path with every `{param}` replaced by its example.
    pub fn concrete_path(&self) -> String {
        let mut path = self.op.path.clone();
        for parameter in self.op.value["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(resolve)
            .filter(|p| p["in"] == "path")
        {
            let name = parameter["name"].as_str().expect("name");
            let value: Value = self.param(name);
            path = path.replace(&format!("{{{name}}}"), &scalar_text(&value));
        }
        path
    }

    /// The first 2xx answer the spec declares, with its example body.
    pub fn success_reply(&self) -> Reply {
        let responses = self.op.value["responses"].as_object().expect("responses");
        let (status, response) = responses
            .iter()
            .find(|(status, _)| status.starts_with('2'))
            .unwrap_or_else(|| panic!("{}: no 2xx response", self.id));
        let status: u16 = status.parse().expect("numeric status");
        let response = resolve(response);
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return Reply::empty(status);
        };
        let (content_type, media) = content.iter().next().expect("one content type");
        match content_type.as_str() {
            "application/json" => Reply::json(status, &example_of(&media["schema"])),
            other => Reply::bytes(status, other, BINARY_EXAMPLE),
        }
    }
}

/// A JSON scalar as it appears on the wire (strings unquoted).
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

/// The profile token the test source hands out.
pub const PROFILE_TOKEN: &str = "profile-token-SECRET-9f3e";
/// The OAuth access token the test source hands out for raw-token Basic operations.
pub const OAUTH_ACCESS_TOKEN: &str = "oauth-access-token-SECRET-51ac";
/// OAuth client credentials: the RFC 7617 example pair.
pub const CLIENT_ID: &str = "Aladdin";
pub const CLIENT_SECRET: &str = "open sesame";
/// `Basic base64("Aladdin:open sesame")`, as RFC 7617 spells it.
pub const CLIENT_BASIC: &str = "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==";

/// Strings that must never appear in a snapshot.
pub const SECRETS: &[&str] = &[
    PROFILE_TOKEN,
    OAUTH_ACCESS_TOKEN,
    CLIENT_SECRET,
    "QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
];

/// Hands out the credential each [`Auth`] needs; never refreshes.
pub struct TestCredentials;

impl TokenSource for TestCredentials {
    fn credential(&self, auth: Auth) -> BoxFuture<'_, Result<Option<Credential>, CredentialError>> {
        let credential = match auth {
            Auth::ProfileToken | Auth::OptionalProfileToken => {
                Some(Credential::Token(PROFILE_TOKEN.into()))
            }
            Auth::OAuthTokenBasic => Some(Credential::Token(OAUTH_ACCESS_TOKEN.into())),
            Auth::OAuthClientBasic => Some(Credential::ClientCredentials {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
            }),
            Auth::None | Auth::StreamQuery => None,
        };
        Box::pin(async move { Ok(credential) })
    }

    fn refresh<'a>(&'a self, _: Auth, _: &'a Credential) -> BoxFuture<'a, Option<Credential>> {
        Box::pin(async { None })
    }
}

/// A generated client against `base_url`, with [`TestCredentials`].
pub fn client(base_url: &str) -> privicore_api::Client {
    privicore_api::Client::new(base_url, Inner::with_source(Arc::new(TestCredentials)))
}

/// The credential a request carried, reduced to its kind; `Err` if it is not one of the test
/// credentials (the message never contains the header value).
pub fn auth_kind(request: &Captured) -> Result<&'static str, String> {
    let dpt = request.headers_named("x-dpt-authorization");
    let authorization = request.headers_named("authorization");
    let raw_basic = format!("Basic {OAUTH_ACCESS_TOKEN}");
    match (dpt.as_slice(), authorization.as_slice()) {
        ([], []) => Ok("none"),
        ([token], []) if *token == PROFILE_TOKEN => Ok("x-dpt-authorization: <token>"),
        ([], [value]) if *value == CLIENT_BASIC => Ok("authorization: Basic <client-credentials>"),
        ([], [value]) if *value == raw_basic => Ok("authorization: Basic <raw-token>"),
        _ => Err(format!(
            "unexpected credential headers: {} x-dpt-authorization, {} authorization (values withheld)",
            dpt.len(),
            authorization.len()
        )),
    }
}

/// The kind [`auth_kind`] must report for an operation.
pub fn expected_auth_kind(op: &OperationMeta) -> &'static str {
    match op.auth {
        Auth::None | Auth::StreamQuery => "none",
        Auth::ProfileToken | Auth::OptionalProfileToken => "x-dpt-authorization: <token>",
        Auth::OAuthClientBasic => "authorization: Basic <client-credentials>",
        Auth::OAuthTokenBasic => "authorization: Basic <raw-token>",
    }
}

/// Panics if `text` (a rendered snapshot value) contains a test secret. The message names the
/// place, not the secret.
pub fn assert_no_secret(context: &str, text: &str) {
    for (index, secret) in SECRETS.iter().enumerate() {
        assert!(
            !text.contains(secret),
            "{context}: test secret #{index} leaked into a snapshot"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The capturing listener
// ---------------------------------------------------------------------------------------------

/// One request as the listener received it.
#[derive(Clone, Debug)]
pub struct Captured {
    pub method: String,
    /// Request target: path and query as sent.
    pub target: String,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The raw query string (empty if none).
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }

    /// The query, percent-decoded, pairs in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(self.query()).expect("query decodes")
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).first().copied()
    }
}

/// What the listener answers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn json(status: u16, body: &Value) -> Self {
        Self::bytes(status, "application/json", body.to_string().as_bytes())
    }

    pub fn bytes(status: u16, content_type: &str, body: &[u8]) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.to_vec(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Captured>,
    replies: VecDeque<Reply>,
}

/// A local HTTP/1.1 listener that records every request and answers with the replies queued
/// by the test, in order (a `500` when none is queued).
pub struct CaptureServer {
    base_url: String,
    state: Arc<Mutex<State>>,
}

impl CaptureServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
        Self { base_url, state }
    }

    pub fn url(&self) -> &str {
        &self.base_url
    }

    /// Queues the answer to the next request.
    pub fn reply(&self, reply: Reply) {
        self.state.lock().unwrap().replies.push_back(reply);
    }

    /// Forgets the requests received and the replies still queued.
    pub fn reset(&self) {
        let mut state = self.state.lock().unwrap();
        state.requests.clear();
        state.replies.clear();
    }

    /// The requests received since the last call.
    pub fn take_requests(&self) -> Vec<Captured> {
        std::mem::take(&mut self.state.lock().unwrap().requests)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let head_end = loop {
            if let Some(end) = find(&buffer, b"\r\n\r\n") {
                break end;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let method = request_line.next().unwrap_or_default().to_string();
        let target = request_line.next().unwrap_or_default().to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let reply = if chunked {
            Reply::json(
                501,
                &json!({"message": "capture server: chunked request bodies are not supported"}),
            )
        } else {
            while buffer.len() < length {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            let body: Vec<u8> = buffer.drain(..length).collect();
            let mut state = state.lock().unwrap();
            state.requests.push(Captured {
                method,
                target,
                headers,
                body,
            });
            state.replies.pop_front().unwrap_or_else(|| {
                Reply::json(500, &json!({"message": "capture server: no reply queued"}))
            })
        };
        let mut out = format!(
            "HTTP/1.1 {} Scripted\r\ncontent-length: {}\r\n",
            reply.status,
            reply.body.len()
        );
        for (name, value) in &reply.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&reply.body);
        if stream.write_all(&bytes).await.is_err() || chunked {
            return;
        }
    }
}
