//! An OAuth session's tokens: refreshed ahead of expiry and after a `401`, one refresh at a
//! time, with rotation handled safely.
//!
//! The refresh token is the dangerous part. Privicore may rotate it on every refresh, and a
//! refresh token that was already presented must never be sent again (servers that rotate
//! treat reuse as theft and may revoke the whole family). So:
//!
//! * one refresh at a time (single flight), and a caller that queued behind a refresh uses
//!   its result instead of refreshing again;
//! * a refresh token is marked spent *before* it is sent, and a spent token is never sent
//!   again, even when the refresh failed in transit (the server may have consumed it);
//! * new tokens are saved to the [`TokenStore`] before they are used.
//!
//! Where the access token goes on the operations that take a profile token is the client's
//! [`PlacementChoice`]: this source asks it for every request, moves a refused token to the
//! other header when it allows, and tells it which header the server accepted.

use std::sync::{Arc, RwLock};

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, watch};

use privicore_api::hooks::{
    BoxFuture, Credential, CredentialError, Inner, StaticToken, TokenSource,
};
use privicore_api::operations::Auth;
use privicore_api::types;

use super::placement::{Placement, PlacementChoice};
use super::store::{OAuthTokens, TokenStore};
use super::{SessionTokens, same_secret};
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

/// The token source of an OAuth session.
pub(crate) struct OAuthAuth {
    client: Client,
    store: Arc<dyn TokenStore>,
    current: RwLock<Arc<OAuthTokens>>,
    renewing: Mutex<Spent>,
    generation: watch::Sender<u64>,
}

impl OAuthAuth {
    /// A source starting from `tokens`, saving every new set to `store`.
    pub(crate) async fn start(
        client: Client,
        tokens: OAuthTokens,
        store: Arc<dyn TokenStore>,
    ) -> Result<Arc<Self>> {
        store.save(&tokens).await?;
        let (generation, _) = watch::channel(0);
        Ok(Arc::new(Self {
            client,
            store,
            current: RwLock::new(Arc::new(tokens)),
            renewing: Mutex::new(Spent::default()),
            generation,
        }))
    }

    pub(crate) fn tokens(&self) -> Arc<OAuthTokens> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn needs_refresh(&self, tokens: &OAuthTokens) -> bool {
        let margin =
            chrono::Duration::from_std(self.client.config().renew_ahead).unwrap_or_default();
        tokens.expires_at - margin <= Utc::now()
    }

    /// A valid access token, refreshed first if it is about to expire.
    async fn fresh(&self) -> Result<SecretString> {
        let seen = self.tokens();
        if !self.needs_refresh(&seen) {
            return Ok(seen.access_token.clone());
        }
        self.refresh_after(&seen).await
    }

    /// Refreshes unless the tokens changed since `seen` (then the change is the answer).
    async fn refresh_after(&self, seen: &Arc<OAuthTokens>) -> Result<SecretString> {
        let mut spent = self.renewing.lock().await;
        let latest = self.tokens();
        if !Arc::ptr_eq(&latest, seen) && !self.needs_refresh(&latest) {
            return Ok(latest.access_token.clone());
        }
        let next = self.refresh(&latest, &mut spent).await?;
        let access = next.access_token.clone();
        self.install(next).await.map(|()| access)
    }

    /// Saves new tokens, then makes them current. They are saved before anything uses them,
    /// so a crash now still leaves the new refresh token in the store. They become current
    /// even when saving fails (the old refresh token is spent either way); the save error is
    /// returned so the caller learns that the store is stale.
    async fn install(&self, next: OAuthTokens) -> Result<()> {
        let saved = self.store.save(&next).await;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        self.generation.send_modify(|g| *g += 1);
        saved
    }

    /// One refresh call. The refresh token is marked spent before it is sent.
    async fn refresh(&self, tokens: &OAuthTokens, spent: &mut Spent) -> Result<OAuthTokens> {
        const OP: &str = "refresh_oauth_access_token";
        let refresh_token = tokens.refresh_token.clone().ok_or_else(|| {
            Error::Credentials("the OAuth session has no refresh token; authorize again".into())
        })?;
        if spent.contains(&refresh_token) {
            return Err(Error::Credentials(
                "the refresh token was already presented once and is never sent twice; authorize again".into(),
            ));
        }
        spent.0.push(refresh_token.clone());
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
            spent
                .0
                .retain(|t| !same_secret(t, refresh_token.expose_secret()));
        }
        if next.client_id.is_none() {
            next.client_id.clone_from(&tokens.client_id);
        }
        tracing::debug!("OAuth access token refreshed");
        Ok(next)
    }

    /// After a `401` with `rejected`: refresh, unless another task already did.
    async fn refresh_rejected(&self, rejected: &str) -> Option<SecretString> {
        let latest = self.tokens();
        if !same_secret(&latest.access_token, rejected) {
            return Some(latest.access_token.clone());
        }
        let mut spent = self.renewing.lock().await;
        let again = self.tokens();
        if !Arc::ptr_eq(&again, &latest) {
            return Some(again.access_token.clone());
        }
        match self.refresh(&again, &mut spent).await {
            Ok(next) => {
                let access = next.access_token.clone();
                if let Err(e) = self.install(next).await {
                    tracing::warn!(error = %e, "could not save refreshed OAuth tokens");
                }
                Some(access)
            }
            Err(e) => {
                tracing::warn!(error = %e, "refreshing the OAuth token after a 401 failed");
                None
            }
        }
    }

    /// Forces a refresh now (e.g. to test rotation, or before a long job).
    pub(crate) async fn refresh_now(&self) -> Result<()> {
        let mut spent = self.renewing.lock().await;
        let latest = self.tokens();
        let next = self.refresh(&latest, &mut spent).await?;
        self.install(next).await
    }
}

impl OAuthAuth {
    fn placement(&self) -> &PlacementChoice {
        self.client.oauth_placement()
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
        let renewed = self.refresh_rejected(token).await?;
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
                    let token = self.refresh_rejected(rejected).await?;
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

impl SessionTokens for OAuthAuth {
    fn ws_token(&self) -> BoxFuture<'_, Result<SecretString>> {
        Box::pin(self.fresh())
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    fn rejected<'a>(&'a self, token: &'a SecretString) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let _ = self.refresh_rejected(token.expose_secret()).await;
        })
    }
}
