//! The OAuth application flow, as Privicore defines it (not RFC 6749):
//!
//! 1. a profile registers an application ([`OAuthApps::register`]); the command id is the
//!    application id;
//! 2. it reads the client credentials, **once** ([`OAuthApps::configuration`]);
//! 3. it requests an authorization code, asynchronously, with a single-use nonce
//!    ([`OAuthApps::request_authorization_code`]);
//! 4. the application retrieves the code with its client credentials
//!    ([`OAuthClient::retrieve_authorization_code`]) and exchanges it for tokens
//!    ([`OAuthClient::exchange_code`]);
//! 5. [`Client::oauth_session`] turns the tokens into a [`Session`] that refreshes them.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use secrecy::{ExposeSecret, SecretString};

use privicore_api::hooks::{Credential, Inner, StaticToken};
use privicore_api::types;

use crate::auth::store::OAuthTokens;
use crate::commands::CommandId;
use crate::paging::Paginator;
use crate::{Client, Error, Result, Session};

/// An application's client credentials. The secret can be read from the server only once:
/// keep it.
#[derive(Clone)]
pub struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .finish()
    }
}

/// A pending authorization-code request: its command id and the nonce it was made with.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    /// The command id (the `id` to retrieve the code with).
    pub id: CommandId,
    /// The single-use nonce sent with the request.
    pub nonce: String,
}

/// An authorization code, to exchange before it expires.
#[derive(Clone)]
pub struct AuthorizationCode {
    /// The code.
    pub code: SecretString,
    /// When it expires, when the server says.
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCode")
            .field("code", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// OAuth application management, from a profile session.
#[derive(Debug)]
pub struct OAuthApps<'a> {
    session: &'a Session,
}

impl<'a> OAuthApps<'a> {
    pub(crate) fn new(session: &'a Session) -> Self {
        Self { session }
    }

    /// Registers an application and waits for the acknowledgement. Returns the application id.
    ///
    /// # Errors
    ///
    /// [`Error::CommandRejected`] when the server refuses; any [`Error`] of the call.
    pub async fn register(
        &self,
        name: &str,
        redirect_uri: &str,
        scopes: &str,
    ) -> Result<CommandId> {
        let body = types::RegisterOauthApplicationBody {
            name: name.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scopes: scopes.to_owned(),
        };
        self.session
            .command("register_oauth_application", |raw| {
                raw.register_oauth_application().body(body.clone()).send()
            })
            .await
    }

    /// Reads an application's client credentials. The server answers this once per
    /// application; a second call fails with status 422 (`oauth.already_retrieved`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with status 422 on the second call.
    pub async fn configuration(&self, application_id: &CommandId) -> Result<ClientCredentials> {
        const OP: &str = "retrieve_oauth_application_configuration";
        let body = types::RetrieveOauthApplicationConfigurationBody {
            application_id: application_id.to_string(),
        };
        let raw = self.session.raw();
        let config = self
            .session
            .client()
            .call_once(OP, || {
                raw.retrieve_oauth_application_configuration()
                    .body(body.clone())
                    .send()
            })
            .await?
            .into_inner();
        Ok(ClientCredentials {
            client_id: config.client_id,
            client_secret: SecretString::from(config.client_secret),
        })
    }

    /// Requests an authorization code for `client_id` with a fresh nonce, and waits for the
    /// acknowledgement.
    ///
    /// # Errors
    ///
    /// [`Error::CommandRejected`] when the server refuses; any [`Error`] of the call.
    pub async fn request_authorization_code(
        &self,
        client_id: &str,
        scopes: &[&str],
    ) -> Result<AuthorizationRequest> {
        if scopes.is_empty() {
            return Err(Error::InvalidInput("at least one scope is required".into()));
        }
        let nonce = format!("n-{}", crate::random_hex(16));
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let id = self
            .session
            .command("request_oauth_authorization_code", |raw| {
                raw.request_oauth_authorization_code()
                    .client_id(client_id)
                    .nonce(nonce.as_str())
                    .scope(scopes.clone())
                    .send()
            })
            .await?;
        Ok(AuthorizationRequest { id, nonce })
    }

    /// Every OAuth application of the profile, `per_page` a page
    /// ([`OAuthApps::paginator`]'s items).
    pub fn list(&self, per_page: u64) -> BoxStream<'static, Result<types::OAuthApplication>> {
        self.paginator().per_page(per_page).items()
    }

    /// The profile's OAuth applications as a [`Paginator`] (operation
    /// `list_oauth_applications`), for its pages, page size and window.
    pub fn paginator(&self) -> Paginator<types::OAuthApplication> {
        let session = self.session.clone();
        Paginator::for_operation("list_oauth_applications", move |page, per_page| {
            let session = session.clone();
            async move {
                let list = session
                    .read("list_oauth_applications", |raw| {
                        raw.list_oauth_applications()
                            .page(page)
                            .per_page(per_page)
                            .send()
                    })
                    .await?;
                // A negative count is the bare-array answer's "not told".
                Ok((list.items, u64::try_from(list.meta.count).ok()))
            }
        })
    }
}

/// The calls an application makes with its own client credentials.
#[derive(Clone)]
pub struct OAuthClient {
    client: Client,
    raw: privicore_api::Client,
    client_id: String,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    pub(crate) fn new(client: Client, client_id: String, client_secret: SecretString) -> Self {
        let source = StaticToken(Credential::ClientCredentials {
            client_id: client_id.clone(),
            client_secret: client_secret.expose_secret().to_owned(),
        });
        let raw = client.raw_with(Inner::with_source(Arc::new(source)));
        Self {
            client,
            raw,
            client_id,
        }
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Retrieves the authorization code of a request made with
    /// [`OAuthApps::request_authorization_code`].
    ///
    /// # Errors
    ///
    /// [`Error::Unauthorized`] for wrong client credentials; [`Error::Api`] 404 for an unknown
    /// request.
    pub async fn retrieve_authorization_code(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<AuthorizationCode> {
        const OP: &str = "retrieve_oauth_authorization_code";
        let body = types::RetrieveOauthAuthorizationCodeBody {
            id: request.id.to_string(),
            nonce: request.nonce.clone(),
        };
        let code = self
            .client
            .call_once(OP, || {
                self.raw
                    .retrieve_oauth_authorization_code()
                    .body(body.clone())
                    .send()
            })
            .await?
            .into_inner();
        Ok(AuthorizationCode {
            code: SecretString::from(code.authorization_code),
            expires_at: code.expires_at,
        })
    }

    /// Exchanges an authorization code for access and refresh tokens (the code is single
    /// use).
    ///
    /// # Errors
    ///
    /// [`Error::Unauthorized`], or [`Error::Api`] 403/404/422 as the server documents.
    pub async fn exchange_code(&self, code: &AuthorizationCode) -> Result<OAuthTokens> {
        const OP: &str = "obtain_oauth_access_token";
        let body = types::ObtainOauthAccessTokenBody {
            authorization_code: code.code.expose_secret().to_owned(),
        };
        let tokens = self
            .client
            .call_once(OP, || {
                self.raw
                    .obtain_oauth_access_token()
                    .body(body.clone())
                    .send()
            })
            .await?
            .into_inner();
        let mut tokens = OAuthTokens::from(tokens);
        tokens
            .client_id
            .get_or_insert_with(|| self.client_id.clone());
        Ok(tokens)
    }

    /// The whole code grant in one call: request a code with `session` (the profile that owns
    /// the application), retrieve it, exchange it.
    ///
    /// # Errors
    ///
    /// Any error of the three steps.
    pub async fn authorize(&self, session: &Session, scopes: &[&str]) -> Result<OAuthTokens> {
        let request = session
            .oauth()
            .request_authorization_code(&self.client_id, scopes)
            .await?;
        let code = self.retrieve_authorization_code(&request).await?;
        self.exchange_code(&code).await
    }
}
