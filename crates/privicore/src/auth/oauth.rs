//! An OAuth session's tokens: refreshed ahead of expiry and after a `401`, one refresh at a
//! time, with rotation handled safely.
//!
//! The refresh token is the dangerous part. Privicore may rotate it on every refresh, and a
//! refresh token that was already presented must never be sent again (servers that rotate
//! treat reuse as theft and may revoke the whole family). So:
//!
//! * one refresh at a time (single flight), and a caller that queued behind a refresh uses
//!   its result instead of refreshing again (both the [`TokenCache`]'s);
//! * a refresh token is marked spent *before* it is sent, and a spent token is never sent
//!   again, even when the refresh failed in transit (the server may have consumed it);
//! * new tokens are saved to the [`TokenStore`] before the cache publishes them, and a
//!   refresh runs to the end (saved, then published) even when the caller that started it
//!   gives up.
//!
//! Where the access token goes on the operations that take a profile token is the client's
//! [`PlacementChoice`]: this source asks it for every request, moves a refused token to the
//! other header when it allows, and tells it which header the server accepted.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use privicore_api::hooks::{
    BoxFuture, Credential, CredentialError, Inner, StaticToken, TokenSource,
};
use privicore_api::operations::Auth;
use privicore_api::types;

use super::cache::{Lease, Reason, Renew, Stamped, TokenCache};
use super::placement::{Placement, PlacementChoice};
use super::same_secret;
use super::store::{OAuthTokens, TokenStore};
use crate::{Client, Error, Result};

/// Refresh tokens already presented; never sent again.
#[derive(Default)]
struct Spent(Vec<SecretString>);

impl Spent {
    fn contains(&self, token: &SecretString) -> bool {
        self.0
            .iter()
            .any(|spent| same_secret(spent, token.expose_secret()))
    }
}

/// An OAuth session's tokens, kept and renewed by the one [`TokenCache`].
pub(crate) type OAuthAuth = TokenCache<OAuthRenewer>;

impl Lease for OAuthTokens {
    fn token(&self) -> &SecretString {
        &self.access_token
    }

    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

/// How OAuth tokens are renewed: refreshed with the refresh token, which is never presented
/// twice; every new set is saved to the [`TokenStore`] (before the cache publishes it).
pub(crate) struct OAuthRenewer {
    client: Client,
    store: Arc<dyn TokenStore>,
    /// Only touched by [`Renew::renew`], which the cache calls one at a time.
    spent: std::sync::Mutex<Spent>,
}

impl OAuthAuth {
    /// A source starting from `tokens`, saving every new set to `store`.
    pub(crate) async fn start(
        client: Client,
        tokens: OAuthTokens,
        store: Arc<dyn TokenStore>,
    ) -> Result<Arc<Self>> {
        store.save(&tokens).await?;
        let renew_ahead = client.config().renew_ahead;
        let renewer = OAuthRenewer {
            client,
            store,
            spent: std::sync::Mutex::new(Spent::default()),
        };
        Ok(Arc::new(TokenCache::new(renewer, tokens, renew_ahead)))
    }

    /// The current tokens.
    pub(crate) fn tokens(&self) -> Arc<Stamped<OAuthTokens>> {
        self.current()
    }

    /// Forces a refresh now (e.g. to test rotation, or before a long job). A refresh that
    /// another caller started meanwhile counts.
    pub(crate) async fn refresh_now(&self) -> Result<()> {
        self.renew_now().await
    }
}

impl Renew for OAuthRenewer {
    type Lease = OAuthTokens;

    fn renew<'a>(
        &'a self,
        current: &'a OAuthTokens,
        _reason: Reason,
    ) -> BoxFuture<'a, Result<OAuthTokens>> {
        Box::pin(self.refresh(current))
    }

    /// Saves new tokens before anything uses them, so a crash after the refresh still leaves
    /// the new refresh token in the store.
    fn persist<'a>(&'a self, next: &'a OAuthTokens) -> BoxFuture<'a, Result<()>> {
        self.store.save(next)
    }
}

impl OAuthRenewer {
    fn spent(&self) -> std::sync::MutexGuard<'_, Spent> {
        self.spent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One refresh call. The refresh token is marked spent before it is sent.
    async fn refresh(&self, tokens: &OAuthTokens) -> Result<OAuthTokens> {
        const OP: &str = "refresh_oauth_access_token";
        let refresh_token = tokens.refresh_token.clone().ok_or_else(|| {
            Error::Credentials("the OAuth session has no refresh token; authorize again".into())
        })?;
        {
            let mut spent = self.spent();
            if spent.contains(&refresh_token) {
                return Err(Error::Credentials(
                    "the refresh token was already presented once and is never sent twice; authorize again".into(),
                ));
            }
            spent.0.push(refresh_token.clone());
        }
        let source = StaticToken(Credential::Token(
            tokens.access_token.expose_secret().to_owned(),
        ));
        let raw = self.client.raw_with(Inner::with_source(Arc::new(source)));
        let body = types::RefreshOauthAccessTokenBody {
            refresh_token: refresh_token.expose_secret().to_owned(),
        };
        // Never retried: a second attempt would present the same refresh token again.
        let answer = self
            .client
            .call_once(OP, || {
                raw.refresh_oauth_access_token().body(body.clone()).send()
            })
            .await?;
        let mut next = OAuthTokens::from(answer.into_inner());
        let rotated = next
            .refresh_token
            .as_ref()
            .is_some_and(|new| !same_secret(new, refresh_token.expose_secret()));
        if !rotated {
            // Not rotated (no refresh token in the answer, or the same one again): the same
            // refresh token stays valid, so it is no longer counted as spent.
            next.refresh_token = Some(refresh_token.clone());
            if next.refresh_token_expires_at.is_none() {
                next.refresh_token_expires_at = tokens.refresh_token_expires_at;
            }
            self.spent()
                .0
                .retain(|t| !same_secret(t, refresh_token.expose_secret()));
        }
        if next.client_id.is_none() {
            next.client_id.clone_from(&tokens.client_id);
        }
        tracing::debug!("OAuth access token refreshed");
        Ok(next)
    }
}

impl OAuthAuth {
    fn placement(&self) -> &PlacementChoice {
        self.renewer().client.oauth_placement()
    }

    /// After a `401` for `rejected` on an operation that takes a profile token: the same token
    /// where another request found the server takes it, or in the other header while the
    /// choice allows one try there, or else a renewed token where tokens go now.
    async fn replacement(&self, rejected: &Credential) -> Option<Credential> {
        let (placement, token) = Placement::of(rejected)?;
        let choice = self.placement();
        let current = choice.current();
        let latest = self.tokens();
        if same_secret(&latest.access_token, token) {
            if choice.learned() == Some(current) && placement != current {
                return Some(current.credential(token.to_owned()));
            }
            if let Some(other) = choice.fallback(placement) {
                tracing::debug!(
                    refused = ?placement,
                    trying = ?other,
                    "OAuth access token refused; trying the other header"
                );
                return Some(other.credential(token.to_owned()));
            }
        }
        let renewed = TokenCache::rejected(self, token).await?;
        Some(current.credential(renewed.expose_secret().to_owned()))
    }
}

impl TokenSource for OAuthAuth {
    fn credential(
        &self,
        auth: Auth,
    ) -> BoxFuture<'_, std::result::Result<Option<Credential>, CredentialError>> {
        Box::pin(async move {
            if !matches!(
                auth,
                Auth::ProfileToken | Auth::OptionalProfileToken | Auth::OAuthTokenBasic
            ) {
                return Ok(None);
            }
            let token = self
                .fresh()
                .await
                .map_err(|e| CredentialError(e.to_string()))?
                .expose_secret()
                .to_owned();
            Ok(Some(match auth {
                // `Basic <token>` (the hooks' form for a token on these operations), as the
                // official refresh page documents: never moved.
                Auth::OAuthTokenBasic => Credential::Token(token),
                _ => self.placement().current().credential(token),
            }))
        })
    }

    fn refresh<'a>(
        &'a self,
        auth: Auth,
        rejected: &'a Credential,
    ) -> BoxFuture<'a, Option<Credential>> {
        Box::pin(async move {
            match (auth, rejected) {
                (Auth::ProfileToken | Auth::OptionalProfileToken, _) => {
                    self.replacement(rejected).await
                }
                (Auth::OAuthTokenBasic, Credential::Token(rejected)) => {
                    let token = TokenCache::rejected(self, rejected).await?;
                    Some(Credential::Token(token.expose_secret().to_owned()))
                }
                _ => None,
            }
        })
    }

    fn accepted(&self, auth: Auth, credential: &Credential) {
        if matches!(auth, Auth::ProfileToken | Auth::OptionalProfileToken)
            && let Some((placement, _)) = Placement::of(credential)
        {
            self.placement().accepted(placement);
        }
    }
}
