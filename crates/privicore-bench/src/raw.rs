//! The baselines' client: what a careful developer writes without the SDK, straight on
//! reqwest and tokio-tungstenite.
//!
//! It does the protocol right (join the channel before sending a command, keep acks that
//! arrive before the `202`, accept the three shapes of a command id) because a baseline that
//! skips correctness is not an equivalent. It does nothing else: no retries, no renewal, no
//! tracing, URLs and the token header built once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::header::HeaderValue;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

use crate::Result;

/// The profile-token header.
pub const TOKEN_HEADER: &str = "x-dpt-authorization";

/// How long an ack may take before the baseline gives up (as generous as the SDK's).
const ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// An authenticated raw client, with its WebSocket once [`Raw::connect_acks`] ran.
pub struct Raw {
    /// The HTTP client (one connection pool).
    pub http: reqwest::Client,
    token: HeaderValue,
    acks: Option<Arc<Acks>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationToken {
    authorization_token: String,
}

impl Raw {
    /// Logs in with username and password.
    pub async fn login(api: &str, username: &str, password: &str) -> Result<Self> {
        let http = reqwest::Client::new();
        let answer: AuthorizationToken = http
            .post(format!("{api}/profile/authenticate"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut token = HeaderValue::from_str(&answer.authorization_token)?;
        token.set_sensitive(true);
        Ok(Self {
            http,
            token,
            acks: None,
        })
    }

    /// Opens the WebSocket and joins the profile's channel (acks are only pushed to joined
    /// sockets, so this comes before any command).
    pub async fn connect_acks(&mut self, ws_url: &str) -> Result<()> {
        self.acks = Some(Acks::connect(ws_url, self.token.to_str()?).await?);
        Ok(())
    }

    /// A GET with the token.
    pub fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.get(url).header(TOKEN_HEADER, self.token.clone())
    }

    /// A POST with the token.
    pub fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.post(url).header(TOKEN_HEADER, self.token.clone())
    }

    /// Posts a form to an asynchronous command and waits for its acknowledgement.
    pub async fn command(&self, url: &str, form: &[(&str, &str)]) -> Result<String> {
        let response = self.post(url).form(form).send().await?;
        if response.status() != reqwest::StatusCode::ACCEPTED {
            return Err(format!("{url} answered {}", response.status()).into());
        }
        let id = command_id(&response.json::<Value>().await?)?;
        match self.ack(&id).await? {
            Ack::Completed => Ok(id),
            Ack::Rejected(reason) => Err(format!("{url} was rejected: {reason}").into()),
            Ack::Data { .. } => Err(format!("{url} got a data answer").into()),
        }
    }

    /// Waits for the ack (or data answer) with this id.
    pub async fn ack(&self, id: &str) -> Result<Ack> {
        let acks = self
            .acks
            .as_ref()
            .ok_or("the baseline has no WebSocket: call connect_acks first")?;
        acks.wait(id).await
    }
}

/// The id in any of the three `202` shapes: `"id"`, `["id"]`, `{"commandId": "id"}`.
pub fn command_id(body: &Value) -> Result<String> {
    let id = match body {
        Value::String(s) => Some(s.as_str()),
        Value::Array(items) => items.first().and_then(Value::as_str),
        Value::Object(map) => map.get("commandId").and_then(Value::as_str),
        _ => None,
    };
    id.map(str::to_owned)
        .ok_or_else(|| format!("not a command id: {body}").into())
}

/// A final message about a command or a data request.
#[derive(Debug)]
pub enum Ack {
    /// `command_status` 2.
    Completed,
    /// `command_status` 3, with the reason.
    Rejected(String),
    /// `X-DPT-CAB-REQUEST-ID`: where the data is.
    Data {
        /// 0 inline, 1 download URL.
        output_type: i64,
        /// The inline data or the URL.
        body: String,
    },
}

enum Slot {
    Waiting(oneshot::Sender<Ack>),
    Arrived(Ack),
}

/// The WebSocket reader and the acks it routed, by id.
struct Acks {
    slots: Mutex<HashMap<String, Slot>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Acks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Deserialize)]
struct Frame {
    status: Option<i64>,
    data: Option<FrameData>,
}

#[derive(Deserialize)]
struct FrameData {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<String>,
    command_status: Option<i64>,
    output_type: Option<i64>,
    body: Option<Value>,
}

fn text_of(value: Option<Value>) -> String {
    match value {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

impl Acks {
    async fn connect(ws_url: &str, token: &str) -> Result<Arc<Self>> {
        let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await?;
        let join = json!({"action": "joinChannel", "data": {"authorizationToken": token, "correlationId": "bench"}});
        socket.send(Message::text(join.to_string())).await?;
        loop {
            let message = tokio::time::timeout(ACK_TIMEOUT, socket.next())
                .await
                .map_err(|_| "no join reply")?
                .ok_or("the socket closed before the join reply")??;
            if let Message::Text(text) = message
                && let Ok(frame) = serde_json::from_str::<Frame>(text.as_str())
                && frame.data.as_ref().is_none_or(|d| d.kind.is_none())
                && let Some(status) = frame.status
            {
                if status == 200 {
                    break;
                }
                return Err(format!("join refused with status {status}").into());
            }
        }
        let acks = Arc::new_cyclic(|weak: &std::sync::Weak<Acks>| {
            let weak = weak.clone();
            let task = tokio::spawn(async move {
                while let Some(Ok(message)) = socket.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let Some(acks) = weak.upgrade() else { return };
                    acks.dispatch(text.as_str());
                }
            });
            Acks {
                slots: Mutex::new(HashMap::new()),
                task,
            }
        });
        Ok(acks)
    }

    fn dispatch(&self, text: &str) {
        let Ok(Frame {
            data: Some(data), ..
        }) = serde_json::from_str::<Frame>(text)
        else {
            return;
        };
        let (Some(kind), Some(id)) = (data.kind.as_deref(), data.id.clone()) else {
            return;
        };
        let ack = match (kind, data.command_status, data.output_type) {
            ("X-DPT-CAB-ID", Some(2), _) => Ack::Completed,
            ("X-DPT-CAB-ID", Some(3), _) => Ack::Rejected(text_or(data.body, "rejected")),
            ("X-DPT-CAB-REQUEST-ID", _, Some(output_type)) => Ack::Data {
                output_type,
                body: text_of(data.body),
            },
            // Pending statuses and anything else: nothing to route.
            _ => return,
        };
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        match slots.remove(&id) {
            Some(Slot::Waiting(waiter)) => {
                let _ = waiter.send(ack);
            }
            // Early: the ack beat the `202`; keep it for the waiter.
            _ => {
                slots.insert(id, Slot::Arrived(ack));
            }
        }
    }

    async fn wait(&self, id: &str) -> Result<Ack> {
        let receiver = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(Slot::Arrived(ack)) = slots.remove(id) {
                return Ok(ack);
            }
            let (sender, receiver) = oneshot::channel();
            slots.insert(id.to_owned(), Slot::Waiting(sender));
            receiver
        };
        match tokio::time::timeout(ACK_TIMEOUT, receiver).await {
            Ok(Ok(ack)) => Ok(ack),
            _ => {
                self.slots
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(id);
                Err(format!("no ack for {id} within {ACK_TIMEOUT:?}").into())
            }
        }
    }
}

fn text_or(value: Option<Value>, default: &str) -> String {
    let t = text_of(value);
    if t.trim().is_empty() {
        default.to_owned()
    } else {
        t
    }
}

/// The temporary token (and, for the stream path, where to upload).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Temporary {
    /// The temporary token.
    pub token: String,
    /// `http://host:port/?auth=...` for a streamed upload: the mock's default `stream` URI
    /// (the probe's reading), or the tolerated `streamUrl` alias.
    #[serde(alias = "streamUrl")]
    pub stream: Option<String>,
}

/// The permanent token configure-file-meta answers, bare or as `{token}`.
pub fn permanent_token(body: &Value) -> Result<String> {
    match body {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => map.get("token").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
    .filter(|t| !t.is_empty())
    .ok_or_else(|| format!("not a permanent token: {body}").into())
}

/// The API URLs the data-token baselines use, built once.
pub struct Urls {
    /// reserve-token-space.
    pub reserve: String,
    /// retrieve-temporary-data-token/ (append the command id).
    pub temporary: String,
    /// exchange-data-for-token.
    pub exchange: String,
    /// configure-file-meta.
    pub configure: String,
    /// request-data.
    pub request_data: String,
    /// delete-data.
    pub delete: String,
}

impl Urls {
    /// The URLs on `api`.
    pub fn new(api: &str) -> Self {
        let at = |path: &str| format!("{api}/data-token/{path}");
        Self {
            reserve: at("reserve-token-space"),
            temporary: at("retrieve-temporary-data-token/"),
            exchange: at("exchange-data-for-token"),
            configure: at("configure-file-meta"),
            request_data: at("request-data"),
            delete: at("delete-data"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_every_shape() {
        for body in [json!("c1"), json!(["c1"]), json!({"commandId": "c1"})] {
            assert_eq!(command_id(&body).expect("an id"), "c1");
        }
        assert!(command_id(&json!(7)).is_err());
        assert!(command_id(&json!([])).is_err());
        assert_eq!(permanent_token(&json!({"token": "t"})).expect("token"), "t");
        assert!(permanent_token(&json!("")).is_err());
    }
}
