//! The WebSocket listener: `joinChannel` / `leaveChannel`, joining each socket to the
//! [`Hub`](crate::hub::Hub) that pushes its profile's acks (docs/protocol.md §5.4).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::auth::resolve_token;
use crate::hostile;
use crate::shared::Shared;
use crate::state::lock;

/// Frames a slow client may have outstanding before further ones are dropped for it.
const QUEUE: usize = 1024;

/// How often the hostile mode may send an unprompted garbage frame.
const HOSTILE_TICK: std::time::Duration = std::time::Duration::from_millis(20);

/// Decrements the open-connection count however the connection task ends.
struct Open<'a>(&'a Shared);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.websockets.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The upgrade handler of the WebSocket listener (any path).
pub(crate) async fn upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| connection(shared, socket))
}

async fn connection(shared: Arc<Shared>, mut socket: WebSocket) {
    shared.websockets.fetch_add(1, Ordering::Relaxed);
    let _open = Open(&shared);
    let id = shared.hub.connection_id();
    let (sender, mut outbox) = mpsc::channel::<String>(QUEUE);
    let mut drops = shared.hub.subscribe_drops();
    drops.borrow_and_update();
    let mut joined: Option<String> = None;
    loop {
        // The hostile mode also sends garbage unprompted; the timer exists only while it is on,
        // so ordinary connections cost no wake-ups.
        let hostile = shared.faults.config().hostile_rate > 0.0;
        tokio::select! {
            _ = tokio::time::sleep(HOSTILE_TICK), if hostile => {
                if shared.faults.hostile_ws() && !hostile::burst(&shared.faults, &mut socket, 1).await {
                    break;
                }
            }
            frame = outbox.recv() => {
                let Some(frame) = frame else { break };
                if socket.send(Message::Text(frame.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) if hostile && shared.faults.hostile_ws() => {
                    // Garbage first; then the real reply, no reply, or a dropped connection.
                    if !hostile::burst(&shared.faults, &mut socket, 4).await {
                        break;
                    }
                    match shared.faults.next_u64() % 3 {
                        0 => {}
                        1 => {
                            let reply = handle_frame(&shared, id, &sender, &mut joined, text.as_str());
                            if let Some(reply) = reply
                                && socket.send(Message::Text(reply.to_string().into())).await.is_err()
                            {
                                break;
                            }
                        }
                        _ => break,
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    let reply = handle_frame(&shared, id, &sender, &mut joined, text.as_str());
                    if let Some(reply) = reply
                        && socket.send(Message::Text(reply.to_string().into())).await.is_err()
                    {
                        break;
                    }
                }
                // Pings are answered by axum itself; binary frames mean nothing here.
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            // Dropped on purpose (fault injection or shutdown): return without a close frame.
            _ = drops.changed() => break,
        }
    }
    if let Some(profile_id) = joined {
        shared.hub.leave(&profile_id, id);
    }
}

/// The reply to one text frame, if it asks for one. Unknown or malformed frames are ignored.
fn handle_frame(
    shared: &Shared,
    connection: u64,
    sender: &mpsc::Sender<String>,
    joined: &mut Option<String>,
    text: &str,
) -> Option<Value> {
    let frame: Value = serde_json::from_str(text).ok()?;
    let data = frame.get("data").cloned().unwrap_or(Value::Null);
    // The official page names correlationId without showing where it goes: accept it inside
    // `data` (next to the token) or at the top level.
    let correlation = data
        .get("correlationId")
        .or_else(|| frame.get("correlationId"))
        .cloned()
        .unwrap_or(Value::Null);
    let reply = |status: u16, data: Value| json!({"correlationId": correlation, "status": status, "data": data});
    match frame.get("action").and_then(Value::as_str)? {
        "joinChannel" => {
            if joined.is_some() {
                return Some(reply(
                    409,
                    json!({"message": "Only one channel per connection: leave the current channel first."}),
                ));
            }
            let Some(token) = data.get("authorizationToken").and_then(Value::as_str) else {
                return Some(reply(
                    401,
                    json!({"reason": "auth.missing_token", "message": "authorizationToken is required."}),
                ));
            };
            let resolved = resolve_token(&lock(&shared.world), token, Utc::now());
            match resolved {
                Ok((profile_id, _)) => {
                    shared.hub.join(&profile_id, connection, sender.clone());
                    *joined = Some(profile_id);
                    Some(reply(
                        200,
                        json!({"channelId": crate::rng::uuid(), "message": "Successfully joined profile channel."}),
                    ))
                }
                Err(failure) => Some(reply(
                    401,
                    json!({"reason": failure.reason, "message": failure.message}),
                )),
            }
        }
        "leaveChannel" => match joined.take() {
            Some(profile_id) => {
                shared.hub.leave(&profile_id, connection);
                Some(reply(
                    200,
                    json!({"message": "Successfully left profile channel."}),
                ))
            }
            None => Some(reply(400, json!({"message": "Not joined to a channel."}))),
        },
        _ => None,
    }
}
