//! The ack hub: one WebSocket per session, acknowledgements routed by id to the futures that
//! wait for them.
//!
//! The rules it enforces come from the protocol:
//!
//! * **join before send.** Acks are not replayed, so a command is sent only once the socket has
//!   joined the profile's channel ([`Hub::ready`]).
//! * **an ack may beat the HTTP answer.** The server can push the ack before the `202` with the
//!   id reaches us, so acks nobody waits for yet are kept (bounded, for a few minutes) and
//!   found by the waiter that registers later.
//! * **a drop must not lose an outcome.** After the socket reconnects and rejoins, every
//!   command still waiting is checked through request-status; data requests still waiting are
//!   told to ask again (their result is not recoverable from request-status).
//! * **a token change rejoins.** When the session's token changes the socket reconnects with
//!   the new token.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use secrecy::ExposeSecret;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use super::status::{self, Status};
use super::ws::{self, Frame};
use crate::auth::SessionTokens;
use crate::commands::CommandId;
use crate::{Client, Error, Result};

/// Acks kept for ids nobody waits for (yet).
const EARLY_CAPACITY: usize = 4096;
/// How long such an ack is kept.
const EARLY_TTL: Duration = Duration::from_secs(300);
/// Bytes of such acks kept (data answers carry their ciphertext inline). Without this bound, a
/// server pushing large data answers for ids nobody asked about would make the session hold
/// up to `EARLY_CAPACITY` WebSocket messages of up to 64 MiB each; the hostile-server test
/// does exactly that. One answer larger than the budget is still kept, alone.
const EARLY_MAX_BYTES: usize = 16 * 1024 * 1024;
/// Longest pause between reconnection attempts.
const MAX_RECONNECT_BACKOFF: Duration = Duration::from_secs(2);

/// The result of a data request (`X-DPT-CAB-REQUEST-ID`): where the ciphertext is.
#[derive(Clone, PartialEq, Eq)]
pub struct DataReady {
    /// `1`: `body` is a single-use download URL; `0`: a status text or the ciphertext inline
    /// (base64).
    pub output_type: i64,
    /// The URL or the inline data. Secret: the URL carries a single-use token.
    pub body: String,
    /// The data token's context, when the server sends it.
    pub data_context: Option<String>,
}

impl fmt::Debug for DataReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataReady")
            .field("output_type", &self.output_type)
            .field(
                "body",
                &format_args!("[REDACTED; {} bytes]", self.body.len()),
            )
            .field("data_context", &self.data_context)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Command(String),
    Data(String),
}

#[derive(Debug)]
enum Outcome {
    Completed,
    Rejected(String),
    Data(DataReady),
    /// The socket dropped while waiting; the data request must be made again.
    Missed,
}

/// The state of the socket, as waiters see it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Link {
    Connecting,
    Joined { epoch: u64 },
}

#[derive(Default)]
struct Routes {
    waiters: HashMap<Key, Waiter>,
    early: HashMap<Key, (Outcome, Instant)>,
    early_order: VecDeque<Key>,
    /// What the kept acks weigh, by [`weight`].
    early_bytes: usize,
}

/// A future waiting for an outcome, and the epoch its request was sent on (when known): after
/// a reconnect, only requests sent on an earlier connection can have lost their answer.
struct Waiter {
    sender: oneshot::Sender<Outcome>,
    sent_on: Option<u64>,
}

/// The bytes an early ack holds, for [`EARLY_MAX_BYTES`].
fn weight(key: &Key, outcome: &Outcome) -> usize {
    let key = match key {
        Key::Command(id) | Key::Data(id) => id.len(),
    };
    let outcome = match outcome {
        Outcome::Data(ready) => {
            ready.body.len() + ready.data_context.as_ref().map_or(0, String::len)
        }
        Outcome::Rejected(reason) => reason.len(),
        Outcome::Completed | Outcome::Missed => 0,
    };
    key + outcome
}

impl Routes {
    /// Delivers to a waiter, or keeps the outcome for one that registers later.
    fn deliver(&mut self, key: Key, outcome: Outcome) {
        if let Some(waiter) = self.waiters.remove(&key) {
            // The waiter may have timed out and gone: nothing to do then.
            let _ = waiter.sender.send(outcome);
            return;
        }
        let now = Instant::now();
        let incoming = weight(&key, &outcome);
        while let Some(oldest) = self.early_order.front() {
            let expired = self
                .early
                .get(oldest)
                .is_none_or(|(_, at)| now.duration_since(*at) > EARLY_TTL);
            let full = self.early.len() >= EARLY_CAPACITY
                || self.early_bytes.saturating_add(incoming) > EARLY_MAX_BYTES;
            if !expired && !full {
                break;
            }
            if let Some(oldest) = self.early_order.pop_front() {
                self.forget_early(&oldest);
            }
        }
        // A repeated id replaces the kept ack (and its weight).
        self.forget_early(&key);
        self.early_order.retain(|k| k != &key);
        self.early_bytes += incoming;
        self.early.insert(key.clone(), (outcome, now));
        self.early_order.push_back(key);
    }

    /// Removes a kept ack from the map (not from the order) and from the byte count.
    fn forget_early(&mut self, key: &Key) -> Option<(Outcome, Instant)> {
        let (outcome, at) = self.early.remove(key)?;
        self.early_bytes = self.early_bytes.saturating_sub(weight(key, &outcome));
        Some((outcome, at))
    }

    /// Takes the ack kept for `key`, if any.
    fn take_early(&mut self, key: &Key) -> Option<(Outcome, Instant)> {
        let taken = self.forget_early(key)?;
        self.early_order.retain(|k| k != key);
        Some(taken)
    }
}

struct Shared {
    routes: Mutex<Routes>,
    link: watch::Sender<Link>,
}

impl Shared {
    fn routes(&self) -> MutexGuard<'_, Routes> {
        // A panic while holding the lock cannot leave Routes inconsistent (every update is a
        // single map operation), so a poisoned lock is still usable.
        self.routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Aborts the connection task when the hub goes away.
struct TaskGuard(tokio::task::JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One session's WebSocket and the waiters on it.
pub(crate) struct Hub {
    shared: Arc<Shared>,
    client: Client,
    status_client: privicore_api::Client,
    timeout: Duration,
    _task: TaskGuard,
}

impl Hub {
    /// Starts the connection task (it connects and joins in the background).
    pub(crate) fn start(
        client: Client,
        ws_url: Url,
        tokens: Arc<dyn SessionTokens>,
        status_client: privicore_api::Client,
    ) -> Self {
        let (link, _) = watch::channel(Link::Connecting);
        let shared = Arc::new(Shared {
            routes: Mutex::new(Routes::default()),
            link,
        });
        let connection = Connection {
            shared: shared.clone(),
            tokens,
            ws_url,
            client: client.clone(),
            status_client: status_client.clone(),
            connect_timeout: client.config().connect_timeout,
        };
        let task = tokio::spawn(connection.run());
        Self {
            shared,
            timeout: client.config().command_timeout,
            client,
            status_client,
            _task: TaskGuard(task),
        }
    }

    /// Waits until the socket has joined the channel, so that a command sent now has its ack
    /// delivered. Returns the connection's epoch, for [`Hub::wait_data`].
    pub(crate) async fn ready(&self, operation: &'static str) -> Result<u64> {
        let mut link = self.shared.link.subscribe();
        let joined = tokio::time::timeout(
            self.timeout,
            link.wait_for(|l| matches!(l, Link::Joined { .. })),
        );
        match joined.await {
            Ok(Ok(link)) => Ok(match *link {
                Link::Joined { epoch } => epoch,
                Link::Connecting => 0,
            }),
            Ok(Err(_)) => Err(Error::WebSocket("the connection task stopped".into())),
            Err(_) => Err(Error::Timeout {
                operation,
                waiting_for: "the WebSocket to join the profile channel",
                after: self.timeout,
            }),
        }
    }

    /// Waits for a command's acknowledgement; `sent_on` is the epoch [`Hub::ready`] returned
    /// before the command was sent (`None` when unknown). On timeout, request-status has the
    /// last word.
    ///
    /// When the socket reconnected between the send and this registration, the ack may have
    /// been pushed in the gap: request-status is asked at once, and only a command still
    /// running goes on waiting (its ack will come on the new socket).
    pub(crate) async fn wait_command(
        &self,
        operation: &'static str,
        id: &CommandId,
        sent_on: Option<u64>,
    ) -> Result<()> {
        let key = Key::Command(id.as_str().to_string());
        let mut outcome = self.wait(key.clone(), sent_on).await;
        if matches!(outcome, Some(Outcome::Missed)) {
            match status::check(&self.status_client, &self.client, id).await? {
                Status::Pending => outcome = self.wait(key, None).await,
                Status::Completed => outcome = Some(Outcome::Completed),
                Status::Failed(reason) => outcome = Some(Outcome::Rejected(reason)),
            }
        }
        match outcome {
            Some(Outcome::Completed) => Ok(()),
            Some(Outcome::Rejected(reason)) => Err(Error::CommandRejected {
                operation,
                command_id: id.to_string(),
                reason,
            }),
            Some(Outcome::Data(_)) | Some(Outcome::Missed) | None => {
                match status::check(&self.status_client, &self.client, id).await? {
                    Status::Completed => Ok(()),
                    Status::Failed(reason) => Err(Error::CommandRejected {
                        operation,
                        command_id: id.to_string(),
                        reason,
                    }),
                    Status::Pending => Err(Error::Timeout {
                        operation,
                        waiting_for: "the command's acknowledgement",
                        after: self.timeout,
                    }),
                }
            }
        }
    }

    /// Waits for a data request's result; `sent_on` is the epoch [`Hub::ready`] returned
    /// before the request was sent. `Ok(None)` means it was missed (the socket dropped): the
    /// caller should request the data again.
    ///
    /// `command` is the data request's command id (`x-dpt-cab-id`), when the server gave one:
    /// a refused data request is acknowledged on that id with `command_status` 3 and never
    /// answered on the request id, so its rejection is watched for too, instead of waiting
    /// out the whole timeout for a result that will not come.
    pub(crate) async fn wait_data(
        &self,
        operation: &'static str,
        id: &CommandId,
        command: Option<&CommandId>,
        sent_on: u64,
    ) -> Result<Option<DataReady>> {
        let data = self.wait(Key::Data(id.as_str().to_string()), Some(sent_on));
        let outcome = match command {
            None => data.await,
            Some(command) => {
                tokio::pin!(data);
                let ack = self.wait(Key::Command(command.as_str().to_string()), Some(sent_on));
                tokio::select! {
                    outcome = &mut data => outcome,
                    ack = ack => match ack {
                        Some(Outcome::Rejected(reason)) => {
                            return Err(Error::CommandRejected {
                                operation,
                                command_id: command.to_string(),
                                reason,
                            });
                        }
                        // Accepted (the result follows), missed or timed out: the result's
                        // own wait decides.
                        _ => data.await,
                    },
                }
            }
        };
        match outcome {
            Some(Outcome::Data(ready)) => Ok(Some(ready)),
            Some(Outcome::Missed) => Ok(None),
            Some(Outcome::Rejected(reason)) => Err(Error::CommandRejected {
                operation,
                command_id: id.to_string(),
                reason,
            }),
            Some(Outcome::Completed) | None => Err(Error::Timeout {
                operation,
                waiting_for: "the data request's result",
                after: self.timeout,
            }),
        }
    }

    /// Registers a waiter (or takes an ack that came early) and waits up to the timeout.
    ///
    /// With `sent_on`, the epoch the request was sent on: if the socket reconnected between
    /// the send and this registration, a result pushed in that gap is lost and the reconnect's
    /// reconciliation ran before this waiter existed, so nobody would ever tell it. It is
    /// answered `Missed` at once instead of waiting out the whole timeout for nothing.
    async fn wait(&self, key: Key, sent_on: Option<u64>) -> Option<Outcome> {
        // Whichever way this ends, dropped half way included (a data request stops watching
        // its command once the result is in), the route goes with it.
        let _route = Deregister {
            shared: &self.shared,
            key: key.clone(),
        };
        let mut receiver = {
            let mut routes = self.shared.routes();
            if let Some((outcome, _)) = routes.take_early(&key) {
                return Some(outcome);
            }
            let (sender, receiver) = oneshot::channel();
            routes
                .waiters
                .insert(key.clone(), Waiter { sender, sent_on });
            receiver
        };
        // Checked after registering (the link changes before reconciliation reads the
        // waiters), so a reconnect is either seen here or reconciled with this waiter.
        let reconnected = sent_on.is_some_and(|sent_on| {
            matches!(*self.shared.link.borrow(), Link::Joined { epoch } if epoch != sent_on)
        });
        if reconnected {
            let still_waiting = self.shared.routes().waiters.remove(&key).is_some();
            if still_waiting {
                return Some(Outcome::Missed);
            }
            // Already answered in between: take that answer.
            return receiver.try_recv().ok();
        }
        let outcome = tokio::time::timeout(self.timeout, receiver).await;
        // Timed out or the hub is going away: leave no dangling route.
        self.shared.routes().waiters.remove(&key);
        outcome.ok().and_then(Result::ok)
    }
}

/// Removes a waiter's route when its wait ends or is dropped.
struct Deregister<'a> {
    shared: &'a Shared,
    key: Key,
}

impl Drop for Deregister<'_> {
    fn drop(&mut self) {
        self.shared.routes().waiters.remove(&self.key);
    }
}

/// The background task that keeps the socket connected and joined.
struct Connection {
    shared: Arc<Shared>,
    tokens: Arc<dyn SessionTokens>,
    ws_url: Url,
    client: Client,
    status_client: privicore_api::Client,
    connect_timeout: Duration,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Connection {
    async fn run(self) {
        let mut changes = self.tokens.changes();
        let mut epoch = 0u64;
        let mut backoff = Duration::from_millis(25);
        loop {
            changes.borrow_and_update();
            match self.connect_and_join().await {
                Ok(mut socket) => {
                    epoch += 1;
                    backoff = Duration::from_millis(25);
                    tracing::debug!(epoch, "websocket joined the profile channel");
                    self.shared.link.send_replace(Link::Joined { epoch });
                    if epoch > 1 {
                        self.reconcile(epoch);
                    }
                    self.serve(&mut socket, &mut changes).await;
                    self.shared.link.send_replace(Link::Connecting);
                    let _ = socket.close(None).await;
                }
                Err(reason) => {
                    tracing::debug!(%reason, "websocket not joined; retrying");
                    tokio::time::sleep(backoff.mul_f64(0.5 + crate::random_unit())).await;
                    backoff = (backoff * 2).min(MAX_RECONNECT_BACKOFF);
                }
            }
        }
    }

    async fn connect_and_join(&self) -> std::result::Result<Socket, String> {
        let token = self.tokens.ws_token().await.map_err(|e| e.to_string())?;
        let connect = tokio_tungstenite::connect_async(self.ws_url.as_str());
        let (mut socket, _) = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| format!("connect failed: {e}"))?;
        let correlation = crate::random_hex(8);
        socket
            .send(Message::text(ws::join_frame(
                token.expose_secret(),
                &correlation,
            )))
            .await
            .map_err(|e| format!("join not sent: {e}"))?;
        let reply = tokio::time::timeout(self.connect_timeout, async {
            while let Some(message) = socket.next().await {
                let Ok(Message::Text(text)) = message else {
                    if message.is_err() {
                        return None;
                    }
                    continue;
                };
                if let Frame::Reply { status } = ws::parse(&text) {
                    return Some(status);
                }
            }
            None
        })
        .await
        .map_err(|_| "no join reply".to_string())?;
        match reply {
            Some(200) => Ok(socket),
            Some(401) | Some(403) => {
                // The token was refused: renew it before the next attempt.
                self.tokens.rejected(&token).await;
                Err("join refused: the token was not accepted".into())
            }
            Some(status) => Err(format!("join refused with status {status}")),
            None => Err("the socket closed before the join reply".into()),
        }
    }

    /// Reads frames until the socket drops or the token changes.
    async fn serve(&self, socket: &mut Socket, changes: &mut watch::Receiver<u64>) {
        loop {
            tokio::select! {
                message = socket.next() => match message {
                    Some(Ok(Message::Text(text))) => self.dispatch(ws::parse(&text)),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                    Some(Ok(_)) => {}
                },
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    tracing::debug!("token changed; rejoining");
                    return;
                }
            }
        }
    }

    fn dispatch(&self, frame: Frame) {
        let (key, outcome) = match frame {
            Frame::CommandStatus { id, status: 2, .. } => (Key::Command(id), Outcome::Completed),
            Frame::CommandStatus {
                id,
                status: 3,
                body,
            } => {
                let reason = if body.trim().is_empty() {
                    "rejected".to_string()
                } else {
                    body
                };
                (Key::Command(id), Outcome::Rejected(reason))
            }
            Frame::DataRequest {
                output_type, body, ..
            } if crate::vault::is_status_text(output_type, &body) => {
                // A status message while the data is prepared: the result follows.
                self.client.wire().data_status_message();
                tracing::debug!(
                    status = %body.trim().chars().take(120).collect::<String>(),
                    "data request status message; still waiting"
                );
                return;
            }
            Frame::DataRequest {
                id,
                output_type,
                body,
                data_context,
            } => (
                Key::Data(id),
                Outcome::Data(DataReady {
                    output_type,
                    body,
                    data_context,
                }),
            ),
            // Pending statuses, replies, keep-alives and unknown frames need no routing.
            Frame::CommandStatus { .. } | Frame::Reply { .. } | Frame::Other => return,
        };
        self.shared.routes().deliver(key, outcome);
    }

    /// After a reconnect: acks sent while the socket was down are lost, so ask request-status
    /// about every command still waiting, and tell data waiters to ask again.
    ///
    /// Requests sent on this connection (`epoch`) are left alone: their answers come on it.
    fn reconcile(&self, epoch: u64) {
        let keys: Vec<Key> = self
            .shared
            .routes()
            .waiters
            .iter()
            .filter(|(_, waiter)| waiter.sent_on.is_none_or(|sent_on| sent_on < epoch))
            .map(|(key, _)| key.clone())
            .collect();
        for key in keys {
            match key {
                Key::Data(_) => self.shared.routes().deliver(key, Outcome::Missed),
                Key::Command(ref id) => {
                    let Ok(id) = CommandId::new(id.clone()) else {
                        continue;
                    };
                    let shared = self.shared.clone();
                    let client = self.client.clone();
                    let status_client = self.status_client.clone();
                    tokio::spawn(async move {
                        let outcome = match status::check(&status_client, &client, &id).await {
                            Ok(Status::Completed) => Outcome::Completed,
                            Ok(Status::Failed(reason)) => Outcome::Rejected(reason),
                            // Still running (its ack will come on the new socket) or unknown.
                            Ok(Status::Pending) | Err(_) => return,
                        };
                        let key = Key::Command(id.as_str().to_string());
                        let mut routes = shared.routes();
                        if routes.waiters.contains_key(&key) {
                            routes.deliver(key, outcome);
                        }
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Outcome {
        Outcome::Data(DataReady {
            output_type: 0,
            body: "A".repeat(len),
            data_context: None,
        })
    }

    #[test]
    fn early_acks_are_bounded_in_bytes_and_count() {
        let mut routes = Routes::default();
        for i in 0..100 {
            routes.deliver(Key::Data(format!("d{i}")), data(1024 * 1024));
        }
        assert!(
            routes.early_bytes <= EARLY_MAX_BYTES,
            "{}",
            routes.early_bytes
        );
        assert_eq!(routes.early.len(), routes.early_order.len());
        // The newest are kept, the oldest went first.
        assert!(routes.take_early(&Key::Data("d99".into())).is_some());
        assert!(routes.take_early(&Key::Data("d0".into())).is_none());
        // One answer larger than the whole budget is still kept, alone.
        routes.deliver(Key::Data("big".into()), data(EARLY_MAX_BYTES + 1));
        assert_eq!(routes.early.len(), 1);
        for i in 0..(EARLY_CAPACITY + 10) {
            routes.deliver(Key::Command(format!("c{i}")), Outcome::Completed);
        }
        assert_eq!(routes.early.len(), EARLY_CAPACITY);
        // Taking everything brings the byte count back to zero.
        let keys: Vec<Key> = routes.early_order.iter().cloned().collect();
        for key in keys {
            routes.take_early(&key);
        }
        assert_eq!(routes.early_bytes, 0);
    }
}
