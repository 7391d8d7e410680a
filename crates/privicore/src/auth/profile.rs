//! A profile session's token: log in, keep `expiresAt`, renew ahead of expiry (reauthorize, or
//! log in again when that fails), renew once after a `401`. One renewal at a time, however
//! many tasks need it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, watch};

use privicore_api::hooks::{
    BoxFuture, Credential, CredentialError, Inner, StaticToken, TokenSource,
};
use privicore_api::operations::Auth;
use privicore_api::types::{self, ReauthorizeResponse};

use super::{SessionTokens, same_secret};
use crate::commands::{self, status};
use crate::{Client, Error, Result};

/// The current token. Replaced whole, never edited.
struct Current {
    token: SecretString,
    expires_at: DateTime<Utc>,
}

/// The credentials and token of one logged-in profile.
pub(crate) struct ProfileAuth {
    client: Client,
    username: String,
    password: SecretString,
    current: RwLock<Arc<Current>>,
    /// Held while renewing: the single flight.
    renewing: Mutex<()>,
    generation: watch::Sender<u64>,
    /// Set by [`revoke`](Self::revoke): from then on nothing logs in again. A call still in
    /// flight (or the WebSocket rejoining) that meets a `401` for the revoked token would
    /// otherwise log in behind the caller's back and leave a live token nobody revokes.
    revoked: AtomicBool,
}

impl ProfileAuth {
    /// Logs in and returns the token source.
    pub(crate) async fn login(
        client: Client,
        username: String,
        password: SecretString,
    ) -> Result<Arc<Self>> {
        let current = authenticate(&client, &username, &password).await?;
        let (generation, _) = watch::channel(0);
        Ok(Arc::new(Self {
            client,
            username,
            password,
            current: RwLock::new(Arc::new(current)),
            renewing: Mutex::new(()),
            generation,
            revoked: AtomicBool::new(false),
        }))
    }

    fn current(&self) -> Arc<Current> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn replace(&self, next: Current) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        self.generation.send_modify(|g| *g += 1);
    }

    /// When the current token expires.
    pub(crate) fn expires_at(&self) -> DateTime<Utc> {
        self.current().expires_at
    }

    /// The current token, as the raw client sends it.
    pub(crate) fn token(&self) -> SecretString {
        self.current().token.clone()
    }

    fn needs_renewal(&self, current: &Current) -> bool {
        let margin =
            chrono::Duration::from_std(self.client.config().renew_ahead).unwrap_or_default();
        current.expires_at - margin <= Utc::now()
    }

    /// A valid token, renewed first if it is about to expire.
    async fn fresh(&self) -> Result<SecretString> {
        let current = self.current();
        if !self.needs_renewal(&current) {
            return Ok(current.token.clone());
        }
        let _flight = self.renewing.lock().await;
        // Someone else may have renewed while we queued.
        let latest = self.current();
        if !Arc::ptr_eq(&latest, &current) && !self.needs_renewal(&latest) {
            return Ok(latest.token.clone());
        }
        let next = self.renew(&latest).await?;
        let token = next.token.clone();
        self.replace(next);
        Ok(token)
    }

    /// Renews ahead of expiry: reauthorize while the token still works, log in otherwise.
    async fn renew(&self, current: &Current) -> Result<Current> {
        if self.revoked.load(Ordering::SeqCst) {
            return Err(revoked());
        }
        if current.expires_at > Utc::now() {
            match self.reauthorize(current).await {
                Ok(next) => return Ok(next),
                Err(e) => tracing::debug!(error = %e, "reauthorize failed; logging in again"),
            }
        }
        authenticate(&self.client, &self.username, &self.password).await
    }

    async fn reauthorize(&self, current: &Current) -> Result<Current> {
        const OP: &str = "reauthorize_authorization_token";
        let raw = with_token(&self.client, &current.token);
        let ttl = std::num::NonZeroU64::new(self.client.config().reauthorize_ttl.as_secs())
            .unwrap_or(std::num::NonZeroU64::MIN);
        let answer = self
            .client
            .call(OP, || {
                raw.reauthorize_authorization_token()
                    .body(types::ReauthorizeAuthorizationTokenBody { ttl })
                    .send()
            })
            .await?
            .into_inner();
        match answer {
            ReauthorizeResponse::AuthorizationToken(token) => Ok(Current {
                token: SecretString::from(token.authorization_token),
                expires_at: token.expires_at,
            }),
            // Accepted as a command: the same token lives on, and its new expiry takes effect
            // only when the command settles (docs/protocol.md: a 202 is a promise, the ack is
            // the outcome). Read before that, the expiry is still the old one. A command that
            // fails or never settles is an error here, and the caller logs in again.
            ReauthorizeResponse::CommandAccepted(accepted) => {
                let id = commands::command_id(OP, accepted)?;
                // Polled through request-status with the token at hand, not awaited on the
                // session's WebSocket: the socket asks this very renewal for a token when it
                // (re)joins, and its fallback requests go through the renewing token source,
                // so waiting on it from inside the renewal could wait on itself.
                let timeout = self.client.config().command_timeout;
                status::poll_until_final(&raw, &self.client, OP, &id, timeout).await?;
                const EXPIRY: &str = "retrieve_token_expiry";
                let expiry = self
                    .client
                    .call(EXPIRY, || {
                        raw.retrieve_token_expiry().body(types::EmptyForm {}).send()
                    })
                    .await?
                    .into_inner();
                Ok(Current {
                    token: current.token.clone(),
                    expires_at: expiry.expires_at,
                })
            }
        }
    }

    /// After a `401` with `rejected`: log in again, unless another task already replaced it.
    async fn renew_rejected(&self, rejected: &str) -> Option<SecretString> {
        let _flight = self.renewing.lock().await;
        let latest = self.current();
        if !same_secret(&latest.token, rejected) {
            return Some(latest.token.clone());
        }
        if self.revoked.load(Ordering::SeqCst) {
            tracing::debug!("a 401 after the token was revoked; not logging in again");
            return None;
        }
        match authenticate(&self.client, &self.username, &self.password).await {
            Ok(next) => {
                let token = next.token.clone();
                self.replace(next);
                Some(token)
            }
            Err(e) => {
                tracing::warn!(error = %e, "logging in again after a 401 failed");
                None
            }
        }
    }

    /// Revokes the current token on the server.
    pub(crate) async fn revoke(&self) -> Result<()> {
        const OP: &str = "revoke_authorization_token";
        // Before the call: a renewal racing it must not put a fresh token in place.
        self.revoked.store(true, Ordering::SeqCst);
        let raw = with_token(&self.client, &self.token());
        self.client
            .call(OP, || {
                raw.revoke_authorization_token()
                    .body(types::EmptyForm {})
                    .send()
            })
            .await?;
        Ok(())
    }
}

/// The error of a renewal asked for after [`ProfileAuth::revoke`].
fn revoked() -> Error {
    Error::Credentials("the session's token was revoked; log in again with Client::login".into())
}

/// A raw client that sends exactly `token` (used for the renewal calls themselves, which must
/// not go through the renewing source).
fn with_token(client: &Client, token: &SecretString) -> privicore_api::Client {
    let source = StaticToken(Credential::Token(token.expose_secret().to_owned()));
    client.raw_with(Inner::with_source(Arc::new(source)))
}

async fn authenticate(client: &Client, username: &str, password: &SecretString) -> Result<Current> {
    const OP: &str = "authenticate";
    let raw = client.raw();
    let token = client
        .call(OP, || {
            raw.authenticate()
                .body(types::AuthenticateBody {
                    username: username.to_owned(),
                    password: password.expose_secret().to_owned(),
                })
                .send()
        })
        .await?
        .into_inner();
    if token.authorization_token.is_empty() {
        return Err(Error::Decode {
            request_id: None,
            operation: OP,
            message: "the authorization token is empty".into(),
        });
    }
    Ok(Current {
        token: SecretString::from(token.authorization_token),
        expires_at: token.expires_at,
    })
}

impl TokenSource for ProfileAuth {
    fn credential(
        &self,
        auth: Auth,
    ) -> BoxFuture<'_, std::result::Result<Option<Credential>, CredentialError>> {
        Box::pin(async move {
            match auth {
                Auth::ProfileToken | Auth::OptionalProfileToken => {
                    let token = self
                        .fresh()
                        .await
                        .map_err(|e| CredentialError(e.to_string()))?;
                    Ok(Some(Credential::Token(token.expose_secret().to_owned())))
                }
                // A profile session has no OAuth client credentials of its own: the caller
                // passes them per call.
                _ => Ok(None),
            }
        })
    }

    fn refresh<'a>(
        &'a self,
        auth: Auth,
        rejected: &'a Credential,
    ) -> BoxFuture<'a, Option<Credential>> {
        Box::pin(async move {
            let (Auth::ProfileToken | Auth::OptionalProfileToken, Credential::Token(rejected)) =
                (auth, rejected)
            else {
                return None;
            };
            let token = self.renew_rejected(rejected).await?;
            Some(Credential::Token(token.expose_secret().to_owned()))
        })
    }
}

impl SessionTokens for ProfileAuth {
    fn ws_token(&self) -> BoxFuture<'_, Result<SecretString>> {
        Box::pin(self.fresh())
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    fn rejected<'a>(&'a self, token: &'a SecretString) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let _ = self.renew_rejected(token.expose_secret()).await;
        })
    }
}

impl std::fmt::Debug for ProfileAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileAuth")
            .field("username", &self.username)
            .field("expires_at", &self.expires_at())
            .finish_non_exhaustive()
    }
}
