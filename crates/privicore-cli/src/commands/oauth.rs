//! `privicore oauth ...`: register an application, obtain its tokens, refresh and inspect
//! them. Tokens live in a [`FileTokenStore`] (written atomically, mode `0600`) and are never
//! printed; the client secret is printed once, by `register`, because the server shows it
//! only once.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use privicore::{FileTokenStore, OAuthTokens, TokenStore};
use secrecy::ExposeSecret;

use crate::cli::{AuthorizeArgs, InspectArgs, RefreshArgs, RegisterArgs};
use crate::error::{CliError, Context, Result};
use crate::output::json::{Registered, TokenSummary};
use crate::{output, settings};

/// `privicore oauth register NAME --redirect-uri U --scopes S`.
pub async fn register(args: RegisterArgs) -> Result<()> {
    settings::logged_in(&args.login, async |session| {
        let apps = session.oauth();
        let id = apps
            .register(&args.name, &args.redirect_uri, &args.scopes)
            .await
            .with_context(|| format!("register the application {}", args.name))?;
        let credentials = apps
            .configuration(&id)
            .await
            .with_context(|| format!("read the client credentials of application {id}"))?;
        output::note(
            "the client secret is shown this once (the server never shows it again): store it now, \
         e.g. in PRIVICORE_CLIENT_SECRET for `privicore oauth authorize`",
        );
        if args.json {
            return output::json(&Registered {
                application_id: id.as_str(),
                client_id: &credentials.client_id,
                client_secret: credentials.client_secret.expose_secret(),
            });
        }
        output::line(format!(
            "application id  {id}\nclient id       {}\nclient secret   {}",
            credentials.client_id,
            credentials.client_secret.expose_secret()
        ))
    })
    .await
}

impl TokenSummary {
    fn new(path: &Path, tokens: &OAuthTokens) -> Self {
        Self {
            token_file: path.display().to_string(),
            client_id: tokens.client_id.clone(),
            scope: tokens.scope.clone(),
            expires_at: tokens.expires_at,
            expired: tokens.expires_at <= Utc::now(),
            has_refresh_token: tokens.refresh_token.is_some(),
            refresh_token_expires_at: tokens.refresh_token_expires_at,
        }
    }

    fn print(&self, json: bool, headline: &str) -> Result<()> {
        if json {
            return output::json(self);
        }
        let refresh = match (self.has_refresh_token, self.refresh_token_expires_at) {
            (false, _) => "none (authorize again when the access token expires)".to_owned(),
            (true, Some(at)) => format!("present, expires {}", output::when(at)),
            (true, None) => "present".to_owned(),
        };
        output::line(format!(
            "{headline}\n  token file     {}\n  client id      {}\n  scope          {}\n  access token   {} {}\n  refresh token  {refresh}",
            self.token_file,
            self.client_id.as_deref().unwrap_or("-"),
            self.scope.as_deref().unwrap_or("-"),
            if self.expired { "expired" } else { "expires" },
            output::when(self.expires_at),
        ))
    }
}

/// `privicore oauth authorize --client-id ID`: the profile (from the credentials) asks for an
/// authorization code, the application (client id + `PRIVICORE_CLIENT_SECRET`) retrieves and
/// exchanges it, and the tokens are saved to the token file.
pub async fn authorize(args: AuthorizeArgs) -> Result<()> {
    let secret = settings::client_secret()?;
    let path = settings::token_file(args.token_file.token_file.clone(), true)?;
    settings::logged_in(&args.login, async |session| {
        let application = session
            .client()
            .oauth_client(args.client_id.clone(), secret);
        let scopes: Vec<&str> = args.scopes.iter().map(String::as_str).collect();
        let tokens = application
            .authorize(session, &scopes)
            .await
            .with_context(|| format!("authorize client {}", args.client_id))?;
        FileTokenStore::new(&path)
            .save(&tokens)
            .await
            .context("save the tokens")?;
        TokenSummary::new(&path, &tokens).print(args.json, "authorized; tokens saved")
    })
    .await
}

/// `privicore oauth refresh`: exchanges the refresh token for new tokens, saved to the file
/// before anything else happens (the old refresh token may be spent by then).
pub async fn refresh(args: RefreshArgs) -> Result<()> {
    let path = settings::token_file(args.token_file.token_file, false)?;
    // Without the WebSocket: refreshing needs none, and a session with one joins it at once,
    // which refreshes an access token near its expiry in the background. That refresh would
    // spend the refresh token, and the exit right after this one could cut it off before its
    // successor is saved, leaving the file with a spent refresh token.
    let client = settings::client_without_websocket(&args.server)?;
    let store = Arc::new(FileTokenStore::new(&path));
    load(&store).await?;
    let session = client
        .resume_oauth_session(store.clone())
        .await
        .context("resume the OAuth session")?;
    session
        .refresh_oauth()
        .await
        .context("refresh the access token")?;
    let tokens = session
        .oauth_tokens()
        .ok_or_else(|| CliError::new("the session holds no OAuth tokens"))?;
    TokenSummary::new(&path, &tokens).print(args.json, "refreshed; tokens saved")
}

/// `privicore oauth inspect`: reads the token file only; the server is not asked.
pub async fn inspect(args: InspectArgs) -> Result<()> {
    let path = settings::token_file(args.token_file.token_file, false)?;
    let tokens = load(&FileTokenStore::new(&path)).await?;
    TokenSummary::new(&path, &tokens).print(args.json, "OAuth tokens")
}

/// The tokens in `store`, or an error that says how to get some.
async fn load(store: &FileTokenStore) -> Result<OAuthTokens> {
    store.load().await?.ok_or_else(|| {
        CliError::new(format!(
            "{} does not exist: run `privicore oauth authorize` first (or pass --token-file)",
            store.path().display()
        ))
    })
}
