//! [`Session`]: an authenticated handle, a profile's or an OAuth application's, with its one
//! WebSocket for acknowledgements.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use progenitor_client::ResponseValue;
use secrecy::{ExposeSecret, SecretString};

use privicore_api::hooks::{Inner, TokenSource};
use privicore_api::operations::{Kind, operation as spec_operation};
use privicore_api::types::{self, CommandAccepted};

use crate::auth::SessionTokens;
use crate::auth::oauth::OAuthAuth;
use crate::auth::profile::ProfileAuth;
use crate::auth::store::OAuthTokens;
use crate::commands::hub::Hub;
use crate::commands::{self, CommandId, DataReady, status};
use crate::data_tokens::DataTokens;
use crate::error::ErrorBody;
use crate::oauth::OAuthApps;
use crate::{Client, Error, Result};

/// An authenticated handle on Privicore.
///
/// Cheap to clone and safe to share: every clone uses the same token (renewed once for all of
/// them) and the same WebSocket. Calls that answer `202` are awaited to their outcome:
/// success, or [`Error::CommandRejected`].
///
/// A profile session comes from [`Client::login`]; an OAuth session from
/// [`Client::oauth_session`]. They are interchangeable wherever a `Session` is taken.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

enum Credentials {
    Profile(Arc<ProfileAuth>),
    OAuth(Arc<OAuthAuth>),
}

struct Shared {
    client: Client,
    raw: privicore_api::Client,
    credentials: Credentials,
    hub: Option<Hub>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.shared.credentials {
            Credentials::Profile(_) => "profile",
            Credentials::OAuth(_) => "oauth",
        };
        f.debug_struct("Session")
            .field("kind", &kind)
            .field("websocket", &self.shared.hub.is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn with_profile(client: Client, auth: Arc<ProfileAuth>) -> Self {
        Self::new(
            client,
            auth.clone(),
            auth.clone(),
            Credentials::Profile(auth),
        )
    }

    pub(crate) fn with_oauth(client: Client, auth: Arc<OAuthAuth>) -> Self {
        Self::new(client, auth.clone(), auth.clone(), Credentials::OAuth(auth))
    }

    fn new(
        client: Client,
        source: Arc<dyn TokenSource>,
        tokens: Arc<dyn SessionTokens>,
        credentials: Credentials,
    ) -> Self {
        let raw = client.raw_with(Inner::with_source(source));
        let hub = client
            .config()
            .ws_url
            .clone()
            .map(|url| Hub::start(client.clone(), url, tokens, raw.clone()));
        Self {
            shared: Arc::new(Shared {
                client,
                raw,
                credentials,
                hub,
            }),
        }
    }

    /// The client this session belongs to.
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// The raw generated client, with this session's credentials applied (renewal and the
    /// one replay after a `401` included).
    ///
    /// The unstable layer: its types are those of the separate `privicore-api` crate, which
    /// is regenerated from the spec and versioned on its own, so code written against it can
    /// break with an upgrade of that crate. [`Session::call`] reaches every operation of the
    /// spec with only std and `serde_json` types in its signature.
    pub fn raw(&self) -> &privicore_api::Client {
        &self.shared.raw
    }

    /// When the current token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        match &self.shared.credentials {
            Credentials::Profile(auth) => auth.expires_at(),
            Credentials::OAuth(auth) => auth.tokens().expires_at,
        }
    }

    /// Runs a read on the raw client with this session's span, retries and error mapping.
    ///
    /// Crate-internal (its closure sees the generated client's types; the public escape hatch
    /// is [`Session::call`]): every operation of the spec has a typed method (the group
    /// handlers such as [`Session::devices`], or the hand-written flows) built on it. `operation` must be the id of a synchronous operation
    /// of the spec; its retries follow the spec (`x-privicore-idempotent`).
    ///
    /// The typed way to the same answer is `session.devices().list_profile_devices().send()`;
    /// the public way by operation id is `session.call("list_profile_devices").send()`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when `operation` is not a synchronous operation of the spec
    /// (nothing is sent); any [`Error`] of the call.
    pub(crate) async fn read<'a, T, E, F, Fut>(
        &'a self,
        operation: &'static str,
        call: F,
    ) -> Result<T>
    where
        E: ErrorBody,
        F: Fn(&'a privicore_api::Client) -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        expect_kind(operation, Kind::Sync, "Session::command")?;
        let raw = &self.shared.raw;
        Ok(self
            .shared
            .client
            .call(operation, || call(raw))
            .await?
            .into_inner())
    }

    /// Sends an asynchronous command and waits for its outcome.
    ///
    /// Crate-internal, like [`Session::read`]: the typed methods (e.g.
    /// `session.devices().request_unique_identifier("phone-a").send()`) do the same without
    /// naming the operation. `operation` must be the id of an asynchronous command of the spec.
    ///
    /// The WebSocket has joined before the command is sent, so its acknowledgement cannot be
    /// missed; the command is sent once (never re-posted), and its id is returned once it
    /// succeeded. Without a WebSocket URL the outcome is polled through request-status.
    ///
    /// The public way by operation id is
    /// `session.call("request_unique_identifier").form("deviceName", "phone-a").send()`.
    ///
    /// # Errors
    ///
    /// [`Error::CommandRejected`] with the server's reason; [`Error::Timeout`] when no outcome
    /// arrived in time; [`Error::InvalidInput`] when `operation` is not an asynchronous command
    /// of the spec (nothing is sent); any [`Error`] of the call itself.
    pub(crate) async fn command<'a, E, F, Fut>(
        &'a self,
        operation: &'static str,
        call: F,
    ) -> Result<CommandId>
    where
        E: ErrorBody,
        F: Fn(&'a privicore_api::Client) -> Fut,
        Fut: Future<
            Output = std::result::Result<
                ResponseValue<CommandAccepted>,
                progenitor_client::Error<E>,
            >,
        >,
    {
        expect_kind(operation, Kind::AsyncCommand, "Session::read")?;
        let sent_on = match &self.shared.hub {
            Some(hub) => Some(hub.ready(operation).await?),
            None => None,
        };
        let raw = &self.shared.raw;
        let accepted = self
            .shared
            .client
            .call_once(operation, || call(raw))
            .await?
            .into_inner();
        let id = commands::command_id(operation, accepted)?;
        self.wait_for(operation, &id, sent_on).await?;
        Ok(id)
    }

    /// Asks request-status once what became of command `id` (with the method the server
    /// routes: `POST` first, `GET` when a router refuses it, remembered for the client's life).
    ///
    /// ```no_run
    /// # async fn run(session: privicore::Session, id: privicore::CommandId) -> privicore::Result<()> {
    /// use privicore::CommandState;
    ///
    /// if session.command_status(&id).await? == CommandState::Completed {
    ///     println!("{id} completed");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the call; [`Error::Decode`] for an answer that names no state.
    pub async fn command_status(&self, id: &CommandId) -> Result<commands::CommandState> {
        status::check(&self.shared.raw, &self.shared.client, id)
            .await
            .map(Into::into)
    }

    /// Waits until the session's WebSocket has joined the profile channel (it connects in the
    /// background from the session's start; commands wait for it the same way).
    ///
    /// ```no_run
    /// # async fn run(session: privicore::Session) -> privicore::Result<()> {
    /// session.join_websocket().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the client has no WebSocket URL; [`Error::Timeout`] when the
    /// socket has not joined within the command timeout.
    pub async fn join_websocket(&self) -> Result<()> {
        match &self.shared.hub {
            Some(hub) => hub.ready("websocket_join").await.map(drop),
            None => Err(Error::Config("the client has no WebSocket URL".into())),
        }
    }

    /// Waits for the outcome of a command sent some other way (e.g. through [`Session::raw`]).
    ///
    /// # Errors
    ///
    /// [`Error::CommandRejected`] with the server's reason; [`Error::Timeout`] when no outcome
    /// arrived in time.
    pub async fn await_command(&self, operation: &'static str, id: &CommandId) -> Result<()> {
        self.wait_for(operation, id, None).await
    }

    /// Waits for a command's outcome on the socket (`sent_on`: the epoch it was sent on), or by
    /// polling request-status when the session has no socket.
    async fn wait_for(
        &self,
        operation: &'static str,
        id: &CommandId,
        sent_on: Option<u64>,
    ) -> Result<()> {
        match &self.shared.hub {
            Some(hub) => hub.wait_command(operation, id, sent_on).await,
            None => {
                let timeout = self.shared.client.config().command_timeout;
                status::poll_until_final(
                    &self.shared.raw,
                    &self.shared.client,
                    operation,
                    id,
                    timeout,
                )
                .await
            }
        }
    }

    /// Requests a data token's ciphertext and waits for the `X-DPT-CAB-REQUEST-ID` answer.
    ///
    /// A result lost to a dropped socket is requested again (a data request only reads), for
    /// as long as the command timeout allows: under frequent reconnects a fixed number of tries
    /// can run out while the server is perfectly able to answer.
    pub(crate) async fn request_data(&self, token: &str) -> Result<DataReady> {
        const OP: &str = "request_data";
        let hub = self
            .shared
            .hub
            .as_ref()
            .ok_or(Error::WebSocketRequired { operation: OP })?;
        let timeout = self.shared.client.config().command_timeout;
        let started = tokio::time::Instant::now();
        let mut misses = 0u32;
        // Every request for this data is a try of one call: `<call>-<misses>`.
        let call = crate::random_hex(8);
        loop {
            let epoch = hub.ready(OP).await?;
            let raw = &self.shared.raw;
            let body = types::RequestDataBody {
                token: token.to_owned(),
            };
            let answer = self
                .shared
                .client
                .call_once_as(OP, &call, misses, || {
                    raw.request_data().body(body.clone()).send()
                })
                .await?;
            let id = commands::request_id(OP, answer.headers())?;
            // The command id is optional: without it only the result itself is awaited.
            let command = answer
                .headers()
                .get("x-dpt-cab-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| CommandId::new(v.trim()).ok());
            if let Some(ready) = hub.wait_data(OP, &id, command.as_ref(), epoch).await? {
                return Ok(ready);
            }
            misses += 1;
            if started.elapsed() >= timeout {
                return Err(Error::Timeout {
                    operation: OP,
                    waiting_for: "a data request result not lost to a dropped connection",
                    after: started.elapsed(),
                });
            }
            tracing::debug!(
                misses,
                "data request result missed (socket dropped); requesting again"
            );
        }
    }

    /// The data tokens of this session: list, delete, classify (store and retrieve are on
    /// the vault).
    pub fn data_tokens(&self) -> DataTokens {
        DataTokens::new(self.clone())
    }

    /// OAuth application management (profile sessions).
    pub fn oauth(&self) -> OAuthApps<'_> {
        OAuthApps::new(self)
    }

    /// The id of the logged-in profile.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the call.
    pub async fn profile_id(&self) -> Result<String> {
        Ok(self
            .read("retrieve_profile_id", |raw| {
                raw.retrieve_profile_id().send()
            })
            .await?
            .profile_id)
    }

    /// The expiry of the current token, as the server sees it.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the call.
    pub async fn token_expiry(&self) -> Result<DateTime<Utc>> {
        Ok(self
            .read("retrieve_token_expiry", |raw| {
                raw.retrieve_token_expiry().body(types::EmptyForm {}).send()
            })
            .await?
            .expires_at)
    }

    /// The OAuth session's current tokens (`None` for a profile session).
    pub fn oauth_tokens(&self) -> Option<OAuthTokens> {
        match &self.shared.credentials {
            Credentials::OAuth(auth) => Some((*auth.tokens()).clone()),
            Credentials::Profile(_) => None,
        }
    }

    /// Refreshes an OAuth session's access token now (it is otherwise refreshed ahead of
    /// expiry and after a `401`). The new tokens are saved to the store before anything uses
    /// them, and a refresh that was sent finishes (saved, then in use) even when this future is
    /// dropped, so a rotated refresh token is not lost to a caller that gave up. A refresh
    /// another task started meanwhile counts as this one.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] on a profile session; [`Error::Credentials`] when the refresh
    /// token is missing or was already used; any [`Error`] of the call.
    pub async fn refresh_oauth(&self) -> Result<()> {
        match &self.shared.credentials {
            Credentials::OAuth(auth) => auth.refresh_now().await,
            Credentials::Profile(_) => Err(Error::InvalidInput(
                "a profile session has no OAuth tokens to refresh".into(),
            )),
        }
    }

    /// Renews a profile session's login token now (it is otherwise renewed ahead of expiry and
    /// after a `401`): reauthorized while it still works, else by logging in again. Says how:
    /// `Some` with reauthorize's answer (docs/protocol.md §14.5: `200` with a new token, or
    /// `202` and a command that settled) when reauthorize renewed it, `None` when the session
    /// logged in again instead. A renewal another task started meanwhile counts as this one.
    /// The answer is also recorded in [`Client::wire_report`].
    ///
    /// ```no_run
    /// # async fn run(session: privicore::Session) -> privicore::Result<()> {
    /// use privicore::wire_report::ReauthorizeAnswer;
    ///
    /// match session.reauthorize().await? {
    ///     Some(ReauthorizeAnswer::NewToken) => println!("reauthorized: a new token"),
    ///     Some(answer) => println!("reauthorized: {answer:?}"),
    ///     None => println!("reauthorize did not renew; logged in again"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] on an OAuth session (see [`Session::refresh_oauth`]);
    /// [`Error::Credentials`] after [`Session::revoke`]; any [`Error`] of logging in again.
    pub async fn reauthorize(&self) -> Result<Option<crate::wire_report::ReauthorizeAnswer>> {
        match &self.shared.credentials {
            Credentials::Profile(auth) => auth.reauthorize_now().await,
            Credentials::OAuth(_) => Err(Error::InvalidInput(
                "an OAuth session has no profile token to reauthorize".into(),
            )),
        }
    }

    /// The scope of an OAuth session's access token.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the call.
    pub async fn oauth_scope(&self) -> Result<crate::types::OAuthApplicationScope> {
        const OP: &str = "retrieve_oauth_application_scope";
        let answer = self
            .read(OP, |raw| raw.retrieve_oauth_application_scope().send())
            .await?;
        crate::handler_support::mirror(OP, &answer)
    }

    /// Revokes the profile token on the server. The session cannot be used afterwards (a later
    /// call would log in again only through [`Client::login`]). A renewal already in flight
    /// finishes first, and its token is the one revoked, so no live token is left behind.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] on an OAuth session; any [`Error`] of the call.
    pub async fn revoke(&self) -> Result<()> {
        match &self.shared.credentials {
            Credentials::Profile(auth) => auth.revoke().await,
            Credentials::OAuth(_) => Err(Error::InvalidInput(
                "an OAuth session has no profile token to revoke".into(),
            )),
        }
    }

    /// Changes the profile's password (`POST /profile/change-password`) and waits for the
    /// command's acknowledgement. Only once the server acknowledged the change does a profile
    /// session keep `new_password` for logging in again (after a `401`, or when reauthorizing
    /// fails): kept any earlier, a rejected change (a wrong `current_password`) would leave the
    /// session with a password the server never took.
    ///
    /// ```no_run
    /// # async fn run(session: privicore::Session) -> privicore::Result<()> {
    /// use secrecy::SecretString;
    ///
    /// session
    ///     .change_password(
    ///         SecretString::from("correct horse battery staple"),
    ///         SecretString::from("battery staple horse correct"),
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::CommandRejected`] when the server refused the change (the session keeps its
    /// password); [`Error::Timeout`] when no outcome arrived in time; any [`Error`] of the call.
    pub async fn change_password(
        &self,
        current_password: SecretString,
        new_password: SecretString,
    ) -> Result<()> {
        let body = types::ChangePasswordBody {
            current_password: current_password.expose_secret().to_owned(),
            new_password: new_password.expose_secret().to_owned(),
        };
        self.command("change_password", |raw| {
            raw.change_password().body(body.clone()).send()
        })
        .await?;
        // An OAuth session logs in with its refresh token, never with the password.
        if let Credentials::Profile(auth) = &self.shared.credentials {
            auth.password_changed(new_password);
        }
        Ok(())
    }

    /// Revokes the token and closes the session's WebSocket (when this is the last clone).
    ///
    /// # Errors
    ///
    /// As [`Session::revoke`].
    pub async fn logout(self) -> Result<()> {
        self.revoke().await
    }
}

/// Refuses an operation id that is not of the spec or not of the `kind` the caller handles: a
/// read sent as a command would wait for an acknowledgement that never comes, and a command
/// sent as a read would be retried (re-posted) on a transient failure.
fn expect_kind(operation: &str, kind: Kind, instead: &str) -> Result<()> {
    match spec_operation(operation) {
        Some(op) if op.kind == kind => Ok(()),
        Some(op) => Err(Error::InvalidInput(format!(
            "{operation} is a {:?} operation, not {kind:?}: use {instead} or its typed method",
            op.kind
        ))),
        None => Err(Error::InvalidInput(format!(
            "{operation} is not an operation of the spec"
        ))),
    }
}
