//! Helpers shared by the integration tests: clients, profiles, WebSocket frames.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use blake2::{Blake2b512, Digest};
use futures::{SinkExt, StreamExt};
use privicore_api::hooks::{Credential, Inner, StaticToken};
use privicore_api::{Client, types};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the payload wire format adds to a plaintext (a 12-byte IV and a 16-byte tag): the
/// `size` configure-file-meta declares is a stored payload's length less this.
pub const WIRE_OVERHEAD: usize = 12 + 16;

/// How long a test waits for a frame or a condition before failing: generous, so that a
/// loaded machine makes a test slower, never wrong.
pub const WAIT: Duration = Duration::from_secs(60);

/// How often [`eventually`] probes again.
const POLL: Duration = Duration::from_millis(10);

/// Probes until `probe` yields a value and returns it; panics naming `what` if it has not
/// after [`WAIT`]. Tests wait for the condition they need instead of sleeping a guessed time.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still not {what} after {WAIT:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A server that acknowledges commands at once, with every other setting at its default.
pub async fn server() -> privicore_mock::MockServer {
    privicore_mock::MockServer::builder()
        .ack_delay(Duration::ZERO)
        .start()
        .await
        .expect("server starts")
}

pub fn anonymous(url: &str) -> Client {
    Client::new(url, Inner::anonymous())
}

pub fn with_credential(url: &str, credential: Credential) -> Client {
    Client::new(url, Inner::with_source(Arc::new(StaticToken(credential))))
}

pub fn with_token(url: &str, token: &str) -> Client {
    with_credential(url, Credential::Token(token.to_owned()))
}

/// The command id in any of the three 202 shapes.
pub fn command_id(accepted: &types::CommandAccepted) -> String {
    match accepted {
        types::CommandAccepted::String(id) => id.clone(),
        types::CommandAccepted::Array([id]) => id.clone(),
        types::CommandAccepted::Object { command_id } => command_id.clone(),
    }
}

/// The state request-status reports, in either shape.
pub fn status_text(status: &types::RequestStatus) -> String {
    match status {
        types::RequestStatus::String(s) => s.clone(),
        types::RequestStatus::Array([s]) => s.clone(),
    }
}

/// A valid signed public key for a fixed (or given) 32-byte key.
pub fn signed_key(key: [u8; 32]) -> String {
    let mut bytes = vec![0x31, 0x42, 0x05, 0x00];
    bytes.extend_from_slice(&key);
    let hash = Blake2b512::digest(&bytes);
    bytes.extend_from_slice(&hash);
    hex::encode(bytes)
}

/// Registers, authenticates and activates (public key) a profile through the generated
/// client, on a server whose ack delay is zero. Returns its token.
pub async fn active_profile(api: &str, username: &str, password: &str) -> String {
    let anon = anonymous(api);
    anon.register_profile()
        .body(types::RegisterProfileBody {
            username: username.into(),
            password: password.into(),
        })
        .send()
        .await
        .expect("register profile");
    let token = anon
        .authenticate()
        .body(types::AuthenticateBody {
            username: username.into(),
            password: password.into(),
        })
        .send()
        .await
        .expect("authenticate")
        .into_inner()
        .authorization_token;
    with_token(api, &token)
        .register_public_key()
        .body(types::RegisterPublicKeyBody {
            public_key: signed_key([7; 32]).parse().expect("200 hex"),
        })
        .send()
        .await
        .expect("register key");
    token
}

/// Registers and authenticates a profile with plain HTTP, waiting for the registration with
/// request-status (the ack delay may be non-zero). Returns its token, not yet activated.
pub async fn plain_profile(http: &reqwest::Client, api: &str, username: &str) -> String {
    let id: Value = http
        .post(format!("{api}/profile/register-profile"))
        .form(&[("username", username), ("password", "pw")])
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let id = extract_id(&id);
    wait_completed(http, api, &id).await;
    let body: Value = http
        .post(format!("{api}/profile/authenticate"))
        .form(&[("username", username), ("password", "pw")])
        .send()
        .await
        .expect("authenticate")
        .json()
        .await
        .expect("json");
    body["authorizationToken"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// Activates a profile (registers a key) with plain HTTP and waits for it.
pub async fn plain_activate(http: &reqwest::Client, api: &str, token: &str) {
    let body: Value = http
        .post(format!("{api}/public-key/register-public-key"))
        .header("X-DPT-AUTHORIZATION", token)
        .form(&[("publicKey", signed_key([9; 32]))])
        .send()
        .await
        .expect("register key")
        .json()
        .await
        .expect("json");
    wait_completed(http, api, &extract_id(&body)).await;
}

/// The id in a JSON 202 body of any shape.
pub fn extract_id(body: &Value) -> String {
    match body {
        Value::String(s) => s.clone(),
        Value::Array(items) => items[0].as_str().expect("string").to_owned(),
        Value::Object(map) => map["commandId"].as_str().expect("commandId").to_owned(),
        other => panic!("not a command id: {other}"),
    }
}

/// Polls request-status (POST with `{}`) until the command is no longer `started`.
pub async fn wait_completed(http: &reqwest::Client, api: &str, id: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let body: Value = http
            .post(format!("{api}/request-status/{id}"))
            .json(&json!({}))
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("json");
        let state = match &body {
            Value::String(s) => s.clone(),
            Value::Array(items) => items[0].as_str().unwrap_or("").to_owned(),
            other => panic!("unexpected status {other}"),
        };
        if state != "started" {
            assert_eq!(state, "completed", "command {id} did not complete");
            return state;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "command {id} still pending"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Connects and joins the channel of `token`; returns the socket and the join reply.
pub async fn join(ws_url: &str, token: &str) -> (Ws, Value) {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("websocket connects");
    let frame = json!({"action": "joinChannel", "data": {"authorizationToken": token, "correlationId": "c-1"}});
    ws.send(Message::text(frame.to_string()))
        .await
        .expect("send join");
    let reply = next_json(&mut ws).await.expect("join reply");
    (ws, reply)
}

/// The next JSON text frame, or `None` on timeout or close.
pub async fn next_json_within(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(remaining, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                return serde_json::from_str(text.as_str()).ok();
            }
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

pub async fn next_json(ws: &mut Ws) -> Option<Value> {
    next_json_within(ws, WAIT).await
}

/// Waits for the frame of type `kind` with id `id`, skipping others.
pub async fn wait_frame(ws: &mut Ws, kind: &str, id: &str) -> Value {
    loop {
        let frame = next_json(ws)
            .await
            .unwrap_or_else(|| panic!("no {kind} frame for {id}"));
        if frame["data"]["type"] == kind && frame["data"]["id"] == id {
            return frame;
        }
    }
}

/// The single-use token in a `...?auth=<token>` URL.
pub fn auth_of(url: &str) -> String {
    url.split("auth=")
        .nth(1)
        .expect("auth parameter")
        .to_owned()
}

/// POSTs a form (with the profile token when given) and returns the answer as it is.
pub async fn send_form(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = http.post(url).form(form);
    if let Some(token) = token {
        request = request.header("X-DPT-AUTHORIZATION", token);
    }
    request.send().await.expect("sent")
}

/// POSTs a form (with the profile token when given) and returns the JSON answer.
pub async fn post_form(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    form: &[(&str, &str)],
) -> Value {
    send_form(http, url, token, form)
        .await
        .json()
        .await
        .expect("json")
}
