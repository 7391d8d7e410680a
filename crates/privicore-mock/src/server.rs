//! The four listeners, their lifecycle, and the handle tests hold.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{
    CommandAnswer, Config, DataAnswer, ListAnswer, MockConfig, OAuthPlacement, ReauthorizeAnswer,
    RefreshAnswer, ReplyShape, RequestStatusMethod, UploadAnswer,
};
use crate::error::Error;
use crate::faults::{FaultConfig, FaultState, Faults};
use crate::plaintext::PlaintextHit;
use crate::record::{RecordedRequest, Recorder};
use crate::shared::{Shared, Urls};
use crate::state::commands::CommandState;
use crate::state::data::StoredData;
use crate::state::{Stats, World, lock};
use crate::variant::Variant;
use crate::ws::Hub;
use crate::{commands, dispatch, janitor, keys, transfer, ws};

/// A running mock Privicore: four listeners on `127.0.0.1` (API, WebSocket, stream upload,
/// download) over one in-memory state. Dropping it stops all of them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use privicore_mock::MockServer;
///
/// let server = MockServer::builder()
///     .token_lifetime(Duration::from_millis(500))
///     .ack_delay(Duration::ZERO)
///     .start()
///     .await?;
/// let health: serde_json::Value = reqwest::get(format!("{}/health", server.api_url()))
///     .await?
///     .json()
///     .await?;
/// assert_eq!(health["status"], "ok");
/// assert_eq!(server.count("check_server_health"), 1);
/// assert!(server.ws_url().starts_with("ws://127.0.0.1:"));
/// server.shutdown().await;
/// # Ok(()) }
/// ```
pub struct MockServer {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    /// The command worker, the janitor and the WebSocket-drop ticker: they hold the shared
    /// state and never end by themselves, so stopping aborts them.
    background: Vec<JoinHandle<()>>,
    /// The four accept loops, which end through the graceful-shutdown signal.
    listeners: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("urls", &self.shared.urls)
            .finish_non_exhaustive()
    }
}

/// What request-status knows about a command ([`MockServer::command_outcome`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Accepted, not run yet.
    Pending,
    /// Ran successfully.
    Completed,
    /// Failed, with the reason key (e.g. `fault.injected_rejection`).
    Failed(String),
}

/// Configures a [`MockServer`] before it starts; every setting has a default that suits tests.
#[derive(Clone, Debug, Default)]
pub struct MockServerBuilder {
    config: Config,
}

impl MockServerBuilder {
    /// The API port `P`; the WebSocket, stream and download listeners take `P+1`, `P+2` and
    /// `P+3`. `0` (the default) gives every listener an ephemeral port.
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }

    /// Lifetime of profile tokens and OAuth access tokens (default 1 hour; the OAuth refresh
    /// token lives 24 times as long). Milliseconds work, for expiry tests.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = lifetime;
        self
    }

    /// Delay between accepting a command and its ack (default 5 ms). With `Duration::ZERO`
    /// the command runs and its ack is pushed before the `202` is sent.
    pub fn ack_delay(mut self, delay: Duration) -> Self {
        self.config.ack_delay = delay;
        self
    }

    /// Largest stored payload request-data returns inline (`output_type` 0, base64 in
    /// `body`); larger ones get a single-use download link (`output_type` 1). Default 64 KiB.
    pub fn inline_threshold(mut self, bytes: usize) -> Self {
        self.config.inline_threshold = bytes;
        self
    }

    /// Pins the wire shape an operation answers with (see [`ReplyShape`] for the defaults).
    pub fn reply_shape(mut self, operation_id: &str, shape: ReplyShape) -> Self {
        self.config.shapes.insert(operation_id.to_owned(), shape);
        self
    }

    /// Seed of the generator behind every fault decision (ids and secrets always come from
    /// the operating system).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Faults to inject from the start; [`MockServer::faults`] changes them later.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.config.faults = faults;
        self
    }

    /// Whether a profile needs a registered public key before it may use anything but its
    /// own housekeeping and key operations (default `true`, as the official docs say).
    pub fn require_public_key(mut self, required: bool) -> Self {
        self.config.require_public_key = required;
        self
    }

    /// How long request-status remembers a finished command (default 10 minutes).
    pub fn command_retention(mut self, retention: Duration) -> Self {
        self.config.command_retention = retention;
        self
    }

    /// How many requests [`MockServer::recorded`] keeps, newest last (default 10,000; `0`
    /// keeps none but still counts).
    pub fn record_limit(mut self, limit: usize) -> Self {
        self.config.record_limit = limit;
        self
    }

    /// Largest payload the stream server accepts (default 4 GiB; it is kept in memory).
    pub fn max_upload(mut self, bytes: usize) -> Self {
        self.config.max_upload = bytes;
        self
    }

    /// How reauthorize-authorization-token answers (default
    /// [`ReauthorizeAnswer::NewToken`]). With [`ReauthorizeAnswer::Command`] it answers `202`
    /// and the token's new expiry takes effect when the command's ack is pushed, so a client
    /// that reads the expiry before the acknowledgement sees the old one.
    pub fn reauthorize_answer(mut self, answer: ReauthorizeAnswer) -> Self {
        self.config.wire.reauthorize_answer = answer;
        self
    }

    /// Whether refresh-access-token rotates the refresh token (default
    /// [`RefreshAnswer::Rotated`]); the other answers keep the refresh token valid.
    pub fn refresh_answer(mut self, answer: RefreshAnswer) -> Self {
        self.config.wire.refresh_answer = answer;
        self
    }

    /// Which methods request-status answers (default [`RequestStatusMethod::Post`], as the
    /// probe sends it); the other is answered `405` as a router would.
    pub fn request_status_method(mut self, method: RequestStatusMethod) -> Self {
        self.config.wire.request_status_method = method;
        self
    }

    /// How request-data's result is pushed (default [`DataAnswer::InlineOrLink`]); with
    /// [`DataAnswer::StatusThenLink`] status texts precede every result, as the official page
    /// describes `output_type` 0.
    pub fn data_answer(mut self, answer: DataAnswer) -> Self {
        self.config.wire.data_answer = answer;
        self
    }

    /// Where an OAuth access token is accepted on the operations that take a profile token
    /// (default [`OAuthPlacement::DptHeaderOnly`], as the spec reads it); with
    /// [`OAuthPlacement::BearerOnly`] only `Authorization: Bearer <token>` is.
    pub fn oauth_placement(mut self, placement: OAuthPlacement) -> Self {
        self.config.wire.oauth_placement = placement;
        self
    }

    /// How retrieve-temporary-data-token names the upload target (default
    /// [`UploadAnswer::StreamUri`], the probe's full `stream` URI); the other variants answer
    /// the official page's server id, port and `auth`, or the unsourced `streamUrl` alias.
    pub fn upload_answer(mut self, answer: UploadAnswer) -> Self {
        self.config.wire.upload_answer = answer;
        self
    }

    /// The status and body type commands are accepted with (default
    /// [`CommandAnswer::Accepted`]: `202` and JSON); the other variants answer `200` and/or a
    /// bare `text/plain` id, as the probes allow.
    pub fn command_answer(mut self, answer: CommandAnswer) -> Self {
        self.config.wire.command_answer = answer;
        self
    }

    /// The body of the two lists (default [`ListAnswer::Envelope`]); with
    /// [`ListAnswer::BareArray`] they answer the page's items alone.
    pub fn list_answer(mut self, answer: ListAnswer) -> Self {
        self.config.wire.list_answer = answer;
        self
    }

    /// Serves `wire` at every open point (docs/protocol.md §14), replacing the seven settings
    /// above at once.
    pub fn wire(mut self, wire: MockConfig) -> Self {
        self.config.wire = wire;
        self
    }

    /// Serves a named wire variant: the same as `.wire(variant.config())`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use privicore_mock::{MockServer, Variant};
    ///
    /// let server = MockServer::builder().variant(Variant::ListsBare).start().await?;
    /// assert_eq!(server.wire(), Variant::ListsBare.config());
    /// server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn variant(self, variant: Variant) -> Self {
        self.wire(variant.config())
    }

    /// Binds the four listeners and starts serving.
    pub async fn start(self) -> Result<MockServer, Error> {
        MockServer::launch(self.config).await
    }
}

async fn bind(listener: &'static str, port: u16) -> Result<(TcpListener, SocketAddr), Error> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let bound = TcpListener::bind(address)
        .await
        .map_err(|source| Error::Bind {
            listener,
            address: address.to_string(),
            source,
        })?;
    let local = bound.local_addr().map_err(|source| Error::Bind {
        listener,
        address: address.to_string(),
        source,
    })?;
    Ok((bound, local))
}

fn serve(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        // An accept loop that fails has nothing better to do than end; the test sees refused
        // connections.
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
    })
}

impl MockServer {
    /// Starts a server with the default settings.
    pub async fn start() -> Result<MockServer, Error> {
        Self::builder().start().await
    }

    /// A builder for a server with non-default settings.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    async fn launch(config: Config) -> Result<MockServer, Error> {
        let ports: [u16; 4] = if config.port == 0 {
            [0; 4]
        } else {
            let p = config.port;
            if p > u16::MAX - 3 {
                return Err(Error::PortOutOfRange(p));
            }
            [p, p + 1, p + 2, p + 3]
        };
        let (api, api_addr) = bind("api", ports[0]).await?;
        let (wsl, ws_addr) = bind("ws", ports[1]).await?;
        let (stream, stream_addr) = bind("stream", ports[2]).await?;
        let (download, download_addr) = bind("download", ports[3]).await?;
        let urls = Urls {
            api: format!("http://{api_addr}"),
            ws: format!("ws://{ws_addr}"),
            stream: format!("http://{stream_addr}"),
            stream_port: stream_addr.port(),
            download: format!("http://{download_addr}"),
        };
        let (scheduler, queue) = mpsc::unbounded_channel();
        let (engine_public, _) = keys::generate();
        let shared = Arc::new(Shared {
            faults: Arc::new(FaultState::new(config.faults.clone(), config.seed)),
            recorder: Recorder::new(config.record_limit),
            config,
            urls,
            world: Mutex::new(World::default()),
            hub: Hub::new(),
            scheduler,
            engine_key: engine_public,
            websockets: AtomicUsize::new(0),
            plaintexts: Mutex::new(Default::default()),
        });
        let (shutdown, stop) = watch::channel(false);
        let background = vec![
            tokio::spawn(commands::run(shared.clone(), queue)),
            tokio::spawn(janitor::sweep(shared.clone())),
            tokio::spawn(janitor::drop_websockets(shared.clone())),
        ];
        let listeners = vec![
            serve(
                api,
                Router::new()
                    .fallback(dispatch::api)
                    .with_state(shared.clone()),
                stop.clone(),
            ),
            serve(
                wsl,
                Router::new()
                    .fallback(ws::upgrade)
                    .with_state(shared.clone()),
                stop.clone(),
            ),
            serve(
                stream,
                Router::new()
                    .fallback(transfer::stream)
                    .with_state(shared.clone()),
                stop.clone(),
            ),
            serve(
                download,
                Router::new()
                    .fallback(transfer::download)
                    .with_state(shared.clone()),
                stop,
            ),
        ];
        Ok(MockServer {
            shared,
            shutdown,
            background,
            listeners,
        })
    }

    /// The wire this server speaks at every open point (what [`MockServerBuilder::wire`] or
    /// [`MockServerBuilder::variant`] set, else [`MockConfig::default`]).
    pub fn wire(&self) -> MockConfig {
        self.shared.config.wire
    }

    /// Base URL of the API, e.g. `http://127.0.0.1:8009` (no trailing slash).
    pub fn api_url(&self) -> &str {
        &self.shared.urls.api
    }

    /// URL of the WebSocket, e.g. `ws://127.0.0.1:8010` (any path is accepted).
    pub fn ws_url(&self) -> &str {
        &self.shared.urls.ws
    }

    /// Base URL of the stream (upload) server; uploads go to `<stream_url>/?auth=<token>`.
    pub fn stream_url(&self) -> &str {
        &self.shared.urls.stream
    }

    /// Base URL of the download server; links look like `<download_url>/?auth=<token>`.
    pub fn download_url(&self) -> &str {
        &self.shared.urls.download
    }

    /// Every recorded request, oldest first, with secrets masked (see [`RecordedRequest`]).
    pub fn recorded(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.all()
    }

    /// How many requests matched `operation_id` since the start (or the last
    /// [`clear_recorded`](Self::clear_recorded)), whatever their outcome.
    pub fn count(&self, operation_id: &str) -> u64 {
        self.shared.recorder.count(operation_id)
    }

    /// Empties the recording and resets the counts.
    pub fn clear_recorded(&self) {
        self.shared.recorder.clear();
    }

    /// The fault-injection handle.
    pub fn faults(&self) -> Faults {
        Faults {
            state: self.shared.faults.clone(),
        }
    }

    /// Expires every profile token, OAuth access token and authorization code now: later
    /// calls with them get `401 auth.token_expired`.
    pub fn expire_tokens(&self) {
        lock(&self.shared.world).expire_tokens(Utc::now());
    }

    /// Drops every open WebSocket connection at once, without a close frame.
    pub fn drop_websockets(&self) {
        self.shared.hub.drop_all();
    }

    /// Live counts of what the server holds.
    pub fn stats(&self) -> Stats {
        let mut stats = lock(&self.shared.world).stats(Utc::now());
        stats.websockets = self.shared.websockets.load(Ordering::Relaxed);
        stats.recorded = self.shared.recorder.len();
        stats
    }

    /// Every stored data token, oldest first, with the length of what the mock holds for it:
    /// for checking that nothing was lost or stored twice.
    pub fn stored_data(&self) -> Vec<StoredData> {
        lock(&self.shared.world).data.stored()
    }

    /// What request-status knows about a command: `None` for an id the mock never issued (or
    /// forgot after the retention period).
    pub fn command_outcome(&self, command_id: &str) -> Option<CommandOutcome> {
        let world = lock(&self.shared.world);
        world.commands.get(command_id).map(|c| match &c.state {
            CommandState::Pending => CommandOutcome::Pending,
            CommandState::Completed => CommandOutcome::Completed,
            CommandState::Failed(reason) => CommandOutcome::Failed(reason.clone()),
        })
    }

    /// Registers a plaintext the client is about to store: from now on, every payload the mock
    /// stores (inline, streamed or updated) is checked not to contain it (see
    /// [`plaintext_hits`](Self::plaintext_hits)). Only a copy for the comparison is kept.
    pub fn forbid_plaintext(&self, plaintext: &[u8]) {
        lock(&self.shared.plaintexts).register(plaintext);
    }

    /// Stored payloads that contained a registered plaintext (must be empty for a client that
    /// encrypts), and how many payloads were checked.
    pub fn plaintext_hits(&self) -> (Vec<PlaintextHit>, u64) {
        let registry = lock(&self.shared.plaintexts);
        (registry.hits(), registry.checked())
    }

    /// Stops the four listeners and closes open connections; waits (at most a few seconds)
    /// for the listeners to finish.
    pub async fn shutdown(mut self) {
        self.stop();
        let listeners = std::mem::take(&mut self.listeners);
        let wait = async {
            for task in listeners {
                let _ = task.await;
            }
        };
        // A client that keeps a request open must not hold the caller up for ever; whatever
        // is left is aborted by `Drop` right after.
        let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
    }

    /// Signals the listeners to stop, drops the WebSockets and aborts the background tasks.
    fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        self.shared.hub.drop_all();
        for task in &self.background {
            task.abort();
        }
    }
}

impl Drop for MockServer {
    /// Stops everything at once: there is no waiting in `drop`, so the listeners are aborted
    /// too (their ports close as soon as the runtime drops the tasks).
    fn drop(&mut self) {
        self.stop();
        for task in &self.listeners {
            task.abort();
        }
    }
}
