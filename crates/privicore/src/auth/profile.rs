//! A profile session's token: log in, keep `expiresAt`; renewed (by the one
//! [`TokenCache`]) by reauthorizing ahead of expiry, or logging in again when that fails and
//! after a `401`.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use privicore_api::hooks::{
    BoxFuture, Credential, CredentialError, Inner, StaticToken, TokenSource,
};
use privicore_api::operations::Auth;
use privicore_api::types::{self, ReauthorizeResponse};

use super::cache::{Lease, Reason, Renew, TokenCache};
use crate::commands::{self, status};
use crate::wire_report::ReauthorizeAnswer;
use crate::{Client, Error, Result};

/// A profile token. Replaced whole, never edited.
pub(crate) struct ProfileToken {
    token: SecretString,
    expires_at: DateTime<Utc>,
    /// How it was obtained: `None` by logging in, else by a reauthorize answered this way.
    reauthorized: Option<ReauthorizeAnswer>,
}

impl Lease for ProfileToken {
    fn token(&self) -> &SecretString {
        &self.token
    }

    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

/// A logged-in profile's token, kept and renewed by the one [`TokenCache`].
pub(crate) type ProfileAuth = TokenCache<ProfileRenewer>;

/// How a profile token is renewed: reauthorized while it still works, else by logging in
/// again with the profile's credentials (always, after a `401`).
pub(crate) struct ProfileRenewer {
    client: Client,
    username: String,
    /// Replaced by [`ProfileAuth::password_changed`] once the server took a new one.
    password: RwLock<SecretString>,
}

impl ProfileAuth {
    /// Logs in and returns the token source.
    pub(crate) async fn login(
        client: Client,
        username: String,
        password: SecretString,
    ) -> Result<Arc<Self>> {
        let first = authenticate(&client, &username, &password).await?;
        let renew_ahead = client.config().renew_ahead;
        let renewer = ProfileRenewer {
            client,
            username,
            password: RwLock::new(password),
        };
        Ok(Arc::new(TokenCache::new(renewer, first, renew_ahead)))
    }

    /// Logs in again with `password` from now on: the server acknowledged it as the profile's
    /// new password. A renewal already in flight still uses the old one.
    pub(crate) fn password_changed(&self, password: SecretString) {
        *self
            .renewer()
            .password
            .write()
            .unwrap_or_else(|p| p.into_inner()) = password;
    }

    /// Revokes the token on the server. From now on nothing logs in again; a renewal in
    /// flight finishes first, so the token revoked is the last one.
    pub(crate) async fn revoke(&self) -> Result<()> {
        const OP: &str = "revoke_authorization_token";
        let last = self.stop_renewing().await;
        let client = &self.renewer().client;
        let raw = with_token(client, &last.lease.token);
        client
            .call(OP, || {
                raw.revoke_authorization_token()
                    .body(types::EmptyForm {})
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Renews the token now, and says how: `Some` with reauthorize's answer when reauthorize
    /// renewed it, `None` when it was renewed by logging in again (reauthorize refused, or its
    /// command did not settle). A renewal another task started meanwhile counts as this one.
    pub(crate) async fn reauthorize_now(&self) -> Result<Option<ReauthorizeAnswer>> {
        self.renew_now().await?;
        Ok(self.current().lease.reauthorized)
    }
}

impl Renew for ProfileRenewer {
    type Lease = ProfileToken;

    fn renew<'a>(
        &'a self,
        current: &'a ProfileToken,
        reason: Reason,
    ) -> BoxFuture<'a, Result<ProfileToken>> {
        Box::pin(async move {
            // A refused token is not reauthorized (the server just said it is no good).
            if reason != Reason::Rejected && current.expires_at > Utc::now() {
                match self.reauthorize(current).await {
                    Ok(next) => return Ok(next),
                    Err(e) => tracing::debug!(error = %e, "reauthorize failed; logging in again"),
                }
            }
            let password = self
                .password
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            authenticate(&self.client, &self.username, &password).await
        })
    }
}

impl ProfileRenewer {
    async fn reauthorize(&self, current: &ProfileToken) -> Result<ProfileToken> {
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
        // Recorded as read (docs/protocol.md §14.5): which answer the server gave is worth
        // knowing even when the command it promises then fails.
        let wire = self.client.wire();
        match answer {
            ReauthorizeResponse::AuthorizationToken(token) => {
                wire.reauthorize(ReauthorizeAnswer::NewToken);
                Ok(ProfileToken {
                    token: SecretString::from(token.authorization_token),
                    expires_at: token.expires_at,
                    reauthorized: Some(ReauthorizeAnswer::NewToken),
                })
            }
            // Accepted as a command: the same token lives on, and its new expiry takes effect
            // only when the command settles (docs/protocol.md: a 202 is a promise, the ack is
            // the outcome). Read before that, the expiry is still the old one. A command that
            // fails or never settles is an error here, and the caller logs in again.
            ReauthorizeResponse::CommandAccepted(accepted) => {
                wire.reauthorize(ReauthorizeAnswer::Command);
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
                Ok(ProfileToken {
                    token: current.token.clone(),
                    expires_at: expiry.expires_at,
                    reauthorized: Some(ReauthorizeAnswer::Command),
                })
            }
        }
    }
}

/// A raw client that sends exactly `token` (used for the renewal calls themselves, which must
/// not go through the renewing source).
fn with_token(client: &Client, token: &SecretString) -> privicore_api::Client {
    let source = StaticToken(Credential::Token(token.expose_secret().to_owned()));
    client.raw_with(Inner::with_source(Arc::new(source)))
}

async fn authenticate(
    client: &Client,
    username: &str,
    password: &SecretString,
) -> Result<ProfileToken> {
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
    Ok(ProfileToken {
        token: SecretString::from(token.authorization_token),
        expires_at: token.expires_at,
        reauthorized: None,
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
            let token = TokenCache::rejected(self, rejected).await?;
            Some(Credential::Token(token.expose_secret().to_owned()))
        })
    }
}

impl std::fmt::Debug for ProfileAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileAuth")
            .field("username", &self.renewer().username)
            .field("expires_at", &self.expires_at())
            .finish_non_exhaustive()
    }
}
