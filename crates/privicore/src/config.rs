//! Building a [`Client`]: URLs, timeouts, user agent, retries, AES-GCM engine.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::cipher::Engine;
use crate::{Client, Error, OAuthTokenPlacement, Result, RetryPolicy};

/// Everything a [`Client`] is configured with. Built by [`ClientBuilder`].
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub api_url: Url,
    pub ws_url: Option<Url>,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub renew_ahead: Duration,
    pub reauthorize_ttl: Duration,
    pub user_agent: String,
    pub retry: RetryPolicy,
    pub credentials: Option<(String, SecretString)>,
    pub oauth_token_placement: OAuthTokenPlacement,
    /// The engine the vault encrypts and decrypts with, resolved (never `Auto`).
    pub gcm_engine: Engine,
}

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use privicore::{Client, RetryPolicy};
///
/// let client = Client::builder()
///     .api_url("http://127.0.0.1:8009")
///     .ws_url("ws://127.0.0.1:8083")
///     .request_timeout(Duration::from_secs(10))
///     .retry_policy(RetryPolicy::none())
///     .build()?;
/// # let _ = client;
/// # Ok::<(), privicore::Error>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    api_url: Option<String>,
    ws_url: Option<String>,
    request_timeout: Duration,
    connect_timeout: Duration,
    command_timeout: Duration,
    renew_ahead: Duration,
    reauthorize_ttl: Duration,
    user_agent: String,
    retry: RetryPolicy,
    credentials: Option<(String, SecretString)>,
    oauth_token_placement: OAuthTokenPlacement,
    gcm_engine: Option<Engine>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_url: None,
            ws_url: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(30),
            renew_ahead: Duration::from_secs(60),
            reauthorize_ttl: Duration::from_secs(3600),
            user_agent: concat!("privicore-rs/", env!("CARGO_PKG_VERSION")).to_string(),
            retry: RetryPolicy::default(),
            credentials: None,
            oauth_token_placement: OAuthTokenPlacement::default(),
            gcm_engine: None,
        }
    }
}

impl ClientBuilder {
    /// The API base URL, e.g. `https://sandbox.privicore.com:9009`. Required.
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some(url.into());
        self
    }

    /// The WebSocket URL that carries acknowledgements, e.g. `wss://…:8083`. Without it a
    /// command's outcome is polled through request-status, and retrieving data fails with
    /// [`Error::WebSocketRequired`] (its result is only pushed over the WebSocket).
    pub fn ws_url(mut self, url: impl Into<String>) -> Self {
        self.ws_url = Some(url.into());
        self
    }

    /// Total time one HTTP request may take (default 30 s). Stream transfers use their own,
    /// per-read timeout instead, so large payloads are not cut off.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Time to establish a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait for an asynchronous command's acknowledgement (default 30 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// How long before expiry a token is renewed (default 60 s).
    pub fn renew_ahead(mut self, margin: Duration) -> Self {
        self.renew_ahead = margin;
        self
    }

    /// The lifetime asked for when a profile token is reauthorized (default 1 h).
    pub fn reauthorize_ttl(mut self, ttl: Duration) -> Self {
        self.reauthorize_ttl = ttl;
        self
    }

    /// The `User-Agent` header (default `privicore-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How reads are retried ([`RetryPolicy::none`] turns retries off).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Default profile credentials, used by [`Client::login_configured`].
    pub fn credentials(mut self, username: impl Into<String>, password: SecretString) -> Self {
        self.credentials = Some((username.into(), password));
        self
    }

    /// Where OAuth sessions send their access token on the operations that take a profile
    /// token (default [`OAuthTokenPlacement::Auto`]: `X-DPT-AUTHORIZATION`, then `Bearer`
    /// once after a `401`, keeping what the server accepts). No source says which header the
    /// server wants (docs/protocol.md §14.7).
    pub fn oauth_token_placement(mut self, placement: OAuthTokenPlacement) -> Self {
        self.oauth_token_placement = placement;
        self
    }

    /// The AES-256-GCM engine of the client's vaults (see [`Engine`]). Without this setting
    /// the process-wide one applies: `PRIVICORE_GCM_ENGINE`, or [`Engine::Auto`].
    ///
    /// ```
    /// use privicore::cipher::Engine;
    ///
    /// let client = privicore::Client::builder()
    ///     .api_url("http://127.0.0.1:8009")
    ///     .gcm_engine(Engine::Portable)
    ///     .build()?;
    /// assert_eq!(client.gcm_engine(), Engine::Portable);
    /// # Ok::<(), privicore::Error>(())
    /// ```
    pub fn gcm_engine(mut self, engine: Engine) -> Self {
        self.gcm_engine = Some(engine);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the API URL is missing or a URL does not parse;
    /// [`Error::Cipher`] when the AES-GCM engine (set here or by `PRIVICORE_GCM_ENGINE`) is
    /// unknown or cannot run on this processor.
    pub fn build(self) -> Result<Client> {
        let api_url = self
            .api_url
            .ok_or_else(|| Error::Config("the API URL is required".into()))?;
        let api_url = parse_url("API", &api_url, &["http", "https"])?;
        let ws_url = self
            .ws_url
            .map(|url| parse_url("WebSocket", &url, &["ws", "wss"]))
            .transpose()?;
        let gcm_engine = match self.gcm_engine {
            Some(engine) => engine,
            None => Engine::from_env()?,
        }
        .resolve()?;
        Client::from_config(Config {
            api_url,
            ws_url,
            request_timeout: self.request_timeout,
            connect_timeout: self.connect_timeout,
            command_timeout: self.command_timeout,
            renew_ahead: self.renew_ahead,
            reauthorize_ttl: self.reauthorize_ttl,
            user_agent: self.user_agent,
            retry: self.retry,
            credentials: self.credentials,
            oauth_token_placement: self.oauth_token_placement,
            gcm_engine,
        })
    }
}

fn parse_url(what: &str, text: &str, schemes: &[&str]) -> Result<Url> {
    let url = Url::parse(text)
        .map_err(|e| Error::Config(format!("the {what} URL does not parse: {e}")))?;
    if !schemes.contains(&url.scheme()) {
        return Err(Error::Config(format!(
            "the {what} URL must use {}, not {}",
            schemes.join(" or "),
            url.scheme()
        )));
    }
    Ok(url)
}

/// Reads the client's settings from the environment: `PRIVICORE_API_URL` (required),
/// `PRIVICORE_WS_URL`, `PRIVICORE_USERNAME` / `PRIVICORE_PASSWORD` (both or neither), and
/// `PRIVICORE_GCM_ENGINE`.
pub(crate) fn builder_from_env(read: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder> {
    let api = read("PRIVICORE_API_URL")
        .ok_or_else(|| Error::Config("PRIVICORE_API_URL is not set".into()))?;
    let engine = Engine::from_setting(read(Engine::ENV).as_deref())?;
    let mut builder = ClientBuilder::default().api_url(api).gcm_engine(engine);
    if let Some(ws) = read("PRIVICORE_WS_URL") {
        builder = builder.ws_url(ws);
    }
    match (read("PRIVICORE_USERNAME"), read("PRIVICORE_PASSWORD")) {
        (Some(user), Some(password)) => Ok(builder.credentials(user, SecretString::from(password))),
        (None, None) => Ok(builder),
        (Some(_), None) => Err(Error::Config(
            "PRIVICORE_USERNAME is set but PRIVICORE_PASSWORD is not".into(),
        )),
        (None, Some(_)) => Err(Error::Config(
            "PRIVICORE_PASSWORD is set but PRIVICORE_USERNAME is not".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        }
    }

    #[test]
    fn the_environment_configures_the_client() {
        let vars = [
            ("PRIVICORE_API_URL", "http://127.0.0.1:8009"),
            ("PRIVICORE_WS_URL", "ws://127.0.0.1:8083"),
            ("PRIVICORE_USERNAME", "alice"),
            ("PRIVICORE_PASSWORD", "pw"),
        ];
        let client = builder_from_env(env(&vars))
            .expect("valid")
            .build()
            .expect("builds");
        assert_eq!(client.config().api_url.as_str(), "http://127.0.0.1:8009/");
        assert!(client.config().credentials.is_some());
    }

    #[test]
    fn the_gcm_engine_comes_from_the_builder_or_the_environment_and_is_checked() {
        let api = ("PRIVICORE_API_URL", "http://127.0.0.1:8009");
        let portable = builder_from_env(env(&[api, (Engine::ENV, "portable")]))
            .expect("valid")
            .build()
            .expect("builds");
        assert_eq!(portable.config().gcm_engine, Engine::Portable);
        let auto = builder_from_env(env(&[api])).expect("valid").build();
        assert_eq!(
            auto.expect("builds").config().gcm_engine,
            Engine::Auto.resolve().expect("auto runs")
        );
        assert!(matches!(
            builder_from_env(env(&[api, (Engine::ENV, "fastest")])),
            Err(Error::Cipher(crate::CipherError::UnknownEngine))
        ));
        let wide = ClientBuilder::default()
            .api_url("http://h")
            .gcm_engine(Engine::Wide)
            .build()
            .map(|client| client.config().gcm_engine);
        if Engine::Wide.is_available() {
            assert_eq!(wide.ok(), Some(Engine::Wide));
        } else {
            assert!(matches!(
                wide,
                Err(Error::Cipher(crate::CipherError::EngineUnavailable {
                    engine: Engine::Wide
                }))
            ));
        }
    }

    #[test]
    fn missing_or_partial_variables_are_config_errors() {
        assert!(matches!(builder_from_env(env(&[])), Err(Error::Config(_))));
        let partial = [
            ("PRIVICORE_API_URL", "http://h"),
            ("PRIVICORE_USERNAME", "alice"),
        ];
        assert!(matches!(
            builder_from_env(env(&partial)),
            Err(Error::Config(_))
        ));
        let bad_scheme = [("PRIVICORE_API_URL", "ftp://h")];
        let error = builder_from_env(env(&bad_scheme))
            .expect("read")
            .build()
            .expect_err("bad scheme");
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        let ws_as_api = ClientBuilder::default()
            .api_url("http://h")
            .ws_url("http://h")
            .build();
        assert!(matches!(ws_as_api, Err(Error::Config(_))));
    }
}
