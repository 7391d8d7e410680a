//! [`Client`]: configuration, the shared HTTP connection pool, and the one place every raw
//! call goes through (tracing span, retries, error mapping).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use progenitor_client::ResponseValue;
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

use privicore_api::hooks::Inner;
use privicore_api::types;

use crate::auth::oauth::OAuthAuth;
use crate::auth::placement::PlacementChoice;
use crate::auth::profile::ProfileAuth;
use crate::auth::store::{OAuthTokens, TokenStore};
use crate::commands::{self, status};
use crate::config::{self, Config};
use crate::error::{self, ErrorBody};
use crate::oauth::OAuthClient;
use crate::session::Session;
use crate::wire_report::{Recorder, RequestStatusMethod, WireObservations};
use crate::{ClientBuilder, Error, Result};

/// The entry point: where Privicore is and how to talk to it.
///
/// Cheap to clone (an `Arc` inside) and safe to share across tasks; clones share one
/// connection pool. Log in to get a [`Session`].
///
/// ```no_run
/// # async fn run() -> privicore::Result<()> {
/// use privicore::Client;
/// use secrecy::SecretString;
///
/// let client = Client::builder()
///     .api_url("https://sandbox.privicore.com:9009")
///     .ws_url("wss://sandbox.privicore.com:8083")
///     .build()?;
/// let session = client
///     .login("alice@example.com", SecretString::from("correct horse battery staple"))
///     .await?;
/// println!("logged in as profile {}", session.profile_id().await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    http: reqwest::Client,
    transfer: reqwest::Client,
    anonymous: privicore_api::Client,
    /// The request-status method the server was found to route (see
    /// [`status`](crate::commands::status)): 0 not yet known, else a [`status_code`] value.
    status_method: AtomicU8,
    /// What the server was seen to speak at the other open points (see [`wire_report`]).
    ///
    /// [`wire_report`]: crate::wire_report
    wire: Recorder,
    /// Where OAuth access tokens go (see [`placement`](crate::auth::placement)): the setting
    /// and what the server was found to accept.
    oauth_placement: PlacementChoice,
}

/// How a [`status::StatusMethod`] is kept in [`Shared::status_method`].
fn status_code(method: status::StatusMethod) -> u8 {
    match method {
        status::StatusMethod::Post => 1,
        status::StatusMethod::Get => 2,
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.shared.config.api_url.as_str())
            .field(
                "ws_url",
                &self.shared.config.ws_url.as_ref().map(|u| u.as_str()),
            )
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: `PRIVICORE_API_URL` (required),
    /// `PRIVICORE_WS_URL`, and `PRIVICORE_USERNAME` / `PRIVICORE_PASSWORD` for
    /// [`login_configured`](Client::login_configured).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a variable is missing or malformed.
    pub fn from_env() -> Result<Self> {
        config::builder_from_env(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))?.build()
    }

    pub(crate) fn from_config(config: Config) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        // Transfers may take long: no total timeout, but every read must make progress.
        let transfer = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.request_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let wire = Recorder::default();
        let anonymous = privicore_api::Client::new_with_client(
            api_base(&config),
            http.clone(),
            Inner::anonymous().with_wire_log(wire.api.clone()),
        );
        Ok(Self {
            shared: Arc::new(Shared {
                http,
                transfer,
                anonymous,
                status_method: AtomicU8::new(0),
                wire,
                oauth_placement: PlacementChoice::new(config.oauth_token_placement),
                config,
            }),
        })
    }

    /// The AES-256-GCM engine this client's vaults encrypt and decrypt with (resolved: never
    /// [`Engine::Auto`](crate::cipher::Engine::Auto)); see
    /// [`ClientBuilder::gcm_engine`](crate::ClientBuilder::gcm_engine).
    #[must_use]
    pub fn gcm_engine(&self) -> crate::cipher::Engine {
        self.config().gcm_engine
    }

    pub(crate) fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The HTTP client of API calls (for the few requests sent without the generated client).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.shared.http
    }

    /// The request-status method this client found routed, if one was found yet.
    pub(crate) fn status_method(&self) -> Option<status::StatusMethod> {
        match self.shared.status_method.load(Ordering::Relaxed) {
            1 => Some(status::StatusMethod::Post),
            2 => Some(status::StatusMethod::Get),
            _ => None,
        }
    }

    /// Remembers the request-status method that was routed, for every clone of this client.
    pub(crate) fn remember_status_method(&self, method: status::StatusMethod) {
        self.shared
            .status_method
            .store(status_code(method), Ordering::Relaxed);
    }

    /// What this client (and every clone of it) has seen the server speak at each open point
    /// of the protocol so far (docs/protocol.md §14): which request-status method was routed,
    /// how the upload target was named, how commands were accepted, how lists and data
    /// results came. A point not met yet is `None`.
    ///
    /// ```
    /// use privicore::Client;
    ///
    /// let client = Client::builder().api_url("http://localhost:8009").build()?;
    /// // Nothing was sent yet: no point has been observed.
    /// assert_eq!(client.wire_report(), privicore::WireObservations::default());
    /// # Ok::<(), privicore::Error>(())
    /// ```
    pub fn wire_report(&self) -> WireObservations {
        let status = self.status_method().map(|method| match method {
            status::StatusMethod::Post => RequestStatusMethod::Post,
            status::StatusMethod::Get => RequestStatusMethod::Get,
        });
        self.shared.wire.snapshot(status)
    }

    /// Where the choices at the open points are recorded.
    pub(crate) fn wire(&self) -> &Recorder {
        &self.shared.wire
    }

    /// Where this client's OAuth sessions send their access token, for every clone.
    pub(crate) fn oauth_placement(&self) -> &PlacementChoice {
        &self.shared.oauth_placement
    }

    /// The raw generated client, without credentials (for the operations that need none, and
    /// anything this crate does not wrap).
    pub fn raw(&self) -> &privicore_api::Client {
        &self.shared.anonymous
    }

    /// A raw client on the API host with the given credentials.
    pub(crate) fn raw_with(&self, inner: Inner) -> privicore_api::Client {
        privicore_api::Client::new_with_client(
            api_base(&self.shared.config),
            self.shared.http.clone(),
            inner.with_wire_log(self.shared.wire.api.clone()),
        )
    }

    /// A raw client for a stream or download server (no total timeout).
    pub(crate) fn transfer_client(&self, base: &str) -> privicore_api::Client {
        privicore_api::Client::new_with_client(
            base,
            self.shared.transfer.clone(),
            Inner::anonymous(),
        )
    }

    /// Checks that the server is up.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the call.
    pub async fn health(&self) -> Result<types::HealthStatus> {
        let raw = self.raw();
        Ok(self
            .call("check_server_health", || raw.check_server_health().send())
            .await?
            .into_inner())
    }

    /// Registers a new profile and waits until the registration is complete.
    ///
    /// There is no token yet, so the outcome is polled through request-status rather than
    /// awaited on the WebSocket.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with status 409 when the username is taken;
    /// [`Error::CommandRejected`] when the server refuses the registration later.
    pub async fn register_profile(&self, username: &str, password: &SecretString) -> Result<()> {
        const OP: &str = "register_profile";
        let raw = self.raw();
        let accepted = self
            .call_once(OP, || {
                raw.register_profile()
                    .body(types::RegisterProfileBody {
                        username: username.to_owned(),
                        password: password.expose_secret().to_owned(),
                    })
                    .send()
            })
            .await?
            .into_inner();
        let id = commands::command_id(OP, accepted)?;
        status::poll_until_final(raw, self, OP, &id, self.config().command_timeout).await
    }

    /// Logs a profile in.
    ///
    /// The session keeps the token and its expiry, renews it ahead of expiry, and renews it
    /// once after a `401`.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthorized`] for wrong credentials.
    pub async fn login(
        &self,
        username: impl Into<String>,
        password: SecretString,
    ) -> Result<Session> {
        let auth = ProfileAuth::login(self.clone(), username.into(), password).await?;
        Ok(Session::profile(self.clone(), auth))
    }

    /// Logs in with the credentials the client was built with
    /// ([`ClientBuilder::credentials`] or `PRIVICORE_USERNAME` / `PRIVICORE_PASSWORD`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the client has no credentials; otherwise as [`Client::login`].
    pub async fn login_configured(&self) -> Result<Session> {
        let (username, password) = self.config().credentials.clone().ok_or_else(|| {
            Error::Config(
                "no credentials configured (PRIVICORE_USERNAME / PRIVICORE_PASSWORD)".into(),
            )
        })?;
        self.login(username, password).await
    }

    /// The OAuth calls made with an application's client credentials (retrieve the
    /// authorization code, exchange it for tokens).
    pub fn oauth_client(
        &self,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> OAuthClient {
        OAuthClient::new(self.clone(), client_id.into(), client_secret)
    }

    /// A session acting with an OAuth application's delegated tokens. New tokens (after every
    /// refresh) are saved to `store` before they are used.
    ///
    /// # Errors
    ///
    /// [`Error::TokenStore`] when the tokens cannot be saved.
    pub async fn oauth_session(
        &self,
        tokens: OAuthTokens,
        store: Arc<dyn TokenStore>,
    ) -> Result<Session> {
        let auth = OAuthAuth::start(self.clone(), tokens, store).await?;
        Ok(Session::with_oauth(self.clone(), auth))
    }

    /// Resumes an OAuth session from the tokens saved in `store`.
    ///
    /// # Errors
    ///
    /// [`Error::TokenStore`] when the store is empty or unreadable.
    pub async fn resume_oauth_session(&self, store: Arc<dyn TokenStore>) -> Result<Session> {
        let tokens = store
            .load()
            .await?
            .ok_or_else(|| Error::TokenStore("the store holds no tokens".into()))?;
        self.oauth_session(tokens, store).await
    }

    /// Runs one raw call with a span, retries (for reads, per the policy) and error mapping.
    pub(crate) async fn call<T, E, F, Fut>(
        &self,
        operation: &'static str,
        send: F,
    ) -> Result<ResponseValue<T>>
    where
        E: ErrorBody,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        self.run(operation, send, true).await
    }

    /// Like [`call`](Client::call), never retried (commands, single-use credentials).
    pub(crate) async fn call_once<T, E, F, Fut>(
        &self,
        operation: &'static str,
        send: F,
    ) -> Result<ResponseValue<T>>
    where
        E: ErrorBody,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        self.run(operation, send, false).await
    }

    /// Like [`call_once`](Client::call_once), as attempt `attempt` of the call named `call`:
    /// for a request the caller itself sends again (a data request whose result was lost), so
    /// that the request ids show the tries of one call (`<call>-<attempt>`).
    pub(crate) async fn call_once_as<T, E, F, Fut>(
        &self,
        operation: &'static str,
        call: &str,
        attempt: u32,
        send: F,
    ) -> Result<ResponseValue<T>>
    where
        E: ErrorBody,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        self.run_as(operation, send, false, call.to_owned(), attempt)
            .await
    }

    async fn run<T, E, F, Fut>(
        &self,
        operation: &'static str,
        send: F,
        retry: bool,
    ) -> Result<ResponseValue<T>>
    where
        E: ErrorBody,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        self.run_as(operation, send, retry, crate::random_hex(8), 0)
            .await
    }

    async fn run_as<T, E, F, Fut>(
        &self,
        operation: &'static str,
        mut send: F,
        retry: bool,
        call: String,
        first_attempt: u32,
    ) -> Result<ResponseValue<T>>
    where
        E: ErrorBody,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        let span = tracing::debug_span!("privicore", operation);
        async move {
            // Every attempt gets its own id, `<call>-<attempt>`: the server's records tie a
            // failure to the one request that explains it, and show the retries of a call.
            let mut attempt = 0;
            loop {
                let started = Instant::now();
                let request_id = format!("{call}-{}", first_attempt + attempt);
                match privicore_api::hooks::with_request_id(request_id.clone(), send()).await {
                    Ok(value) => {
                        tracing::debug!(status = value.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "ok");
                        return Ok(value);
                    }
                    Err(raw) => {
                        let error = error::from_raw(operation, raw).await.with_request_id(&request_id);
                        if retry && self.shared.config.retry.should_retry(operation, &error, attempt) {
                            let wait = self.shared.config.retry.backoff(attempt);
                            tracing::debug!(%error, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                        tracing::debug!(%error, elapsed_ms = started.elapsed().as_millis() as u64, "failed");
                        return Err(error);
                    }
                }
            }
        }
        .instrument(span)
        .await
    }
}

/// The API base URL without a trailing slash (the generated client appends `/path`).
fn api_base(config: &Config) -> &str {
    config.api_url.as_str().trim_end_matches('/')
}
