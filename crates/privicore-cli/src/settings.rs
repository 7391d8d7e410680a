//! What a command needs from its surroundings: the server, the credentials, the vault key,
//! the client secret and the token file.
//!
//! Secrets are read from the environment (or, for the password, a terminal prompt) straight
//! into `secrecy` types. Error messages name the variable that is missing or wrong, never its
//! value.

use std::io::IsTerminal;
use std::path::PathBuf;

use privicore::{Client, ClientBuilder, Session, VaultKey};
use secrecy::{ExposeSecret, SecretString};

use crate::cli::{LoginArgs, ServerArgs};
use crate::error::{CliError, Context, Result};

/// Environment variable holding the profile's password.
pub const PASSWORD_VAR: &str = "PRIVICORE_PASSWORD";
/// Environment variable holding the vault key (hex).
pub const VAULT_KEY_VAR: &str = "PRIVICORE_VAULT_KEY";
/// Environment variable holding an OAuth application's client secret.
pub const CLIENT_SECRET_VAR: &str = "PRIVICORE_CLIENT_SECRET";

/// An environment variable's value; unset and empty are the same (an empty value is what
/// `VAR= privicore ...` gives, and never a usable setting).
fn var(name: &str) -> Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) if value.is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(CliError::new(format!("{name} is not valid UTF-8")))
        }
    }
}

/// A value from a flag or its environment variable, empty meaning unset.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A client for the server named by `--api`/`--ws` or their environment variables.
pub fn client(server: &ServerArgs) -> Result<Client> {
    Ok(builder(server)?.build()?)
}

/// A client builder for the server named by `--api`/`--ws` or their environment variables,
/// for a command that sets more than the server.
pub fn builder(server: &ServerArgs) -> Result<ClientBuilder> {
    let (api, ws) = urls(server);
    let api = api.ok_or_else(|| {
        CliError::new("no server given: pass --api URL or set PRIVICORE_API_URL (and --ws / PRIVICORE_WS_URL)")
    })?;
    let mut builder = Client::builder().api_url(api);
    if let Some(ws) = ws {
        builder = builder.ws_url(ws);
    }
    Ok(builder)
}

/// The API and WebSocket URLs given (empty meaning not given).
pub fn urls(server: &ServerArgs) -> (Option<&str>, Option<&str>) {
    (given(&server.api), given(&server.ws))
}

/// The username from `--username` or `PRIVICORE_USERNAME`.
pub fn username(login: &LoginArgs) -> Result<String> {
    given(&login.username).map(str::to_owned).ok_or_else(|| {
        CliError::new("no username given: pass --username NAME or set PRIVICORE_USERNAME")
    })
}

/// The password from `PRIVICORE_PASSWORD`, or typed at the terminal. With `confirm` (a new
/// profile) it is asked for twice.
pub fn password(username: &str, confirm: bool) -> Result<SecretString> {
    if let Some(password) = var(PASSWORD_VAR)? {
        return Ok(SecretString::from(password));
    }
    // Only ask when a person can answer: a script without the variable must fail at once, not
    // hang on a prompt nobody sees.
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CliError::new(format!(
            "no password: set {PASSWORD_VAR} (or run in a terminal to be asked for it)"
        )));
    }
    let first = SecretString::from(
        rpassword::prompt_password(format!("Password for {username}: "))
            .context("read the password")?,
    );
    if first.expose_secret().is_empty() {
        return Err(CliError::new("the password is empty"));
    }
    if confirm {
        let again = SecretString::from(
            rpassword::prompt_password("Repeat the password: ").context("read the password")?,
        );
        if again.expose_secret() != first.expose_secret() {
            return Err(CliError::new("the two passwords differ"));
        }
    }
    Ok(first)
}

/// The vault key from `PRIVICORE_VAULT_KEY`.
pub fn vault_key() -> Result<VaultKey> {
    let hex = var(VAULT_KEY_VAR)?.ok_or_else(|| {
        CliError::new(format!(
            "{VAULT_KEY_VAR} is not set: make a key with `privicore key generate` and keep it safe"
        ))
    })?;
    let hex = SecretString::from(hex);
    // `KeyError` never echoes its input, so its message is safe to show.
    VaultKey::from_hex(hex.expose_secret())
        .map_err(|e| CliError::new(format!("{VAULT_KEY_VAR} is not a valid vault key: {e}")))
}

/// The client secret from `PRIVICORE_CLIENT_SECRET`.
pub fn client_secret() -> Result<SecretString> {
    var(CLIENT_SECRET_VAR)?.map(SecretString::from).ok_or_else(|| {
        CliError::new(format!(
            "{CLIENT_SECRET_VAR} is not set: it holds the secret `privicore oauth register` printed"
        ))
    })
}

/// Logs in with the username and password of `login`.
pub async fn login(login: &LoginArgs) -> Result<Session> {
    let client = client(&login.server)?;
    let username = username(login)?;
    let password = password(&username, false)?;
    client
        .login(username.clone(), password)
        .await
        .with_context(|| format!("log in as {username}"))
}

/// Logs in, runs `work` with the session, then revokes the login token whatever `work`
/// returned, so that a command leaves no live token on the server. A failure to revoke does
/// not change the command's result (the token expires by itself); it is noted on stderr.
pub async fn logged_in<T>(
    login_args: &LoginArgs,
    work: impl AsyncFnOnce(&Session) -> Result<T>,
) -> Result<T> {
    let session = login(login_args).await?;
    let result = work(&session).await;
    if let Err(e) = session.logout().await {
        crate::output::note(format_args!(
            "note: could not revoke the login token ({e}); it expires by itself"
        ));
    }
    result
}

/// The token file: the one given, else `privicore/oauth-tokens.json` in the user's config
/// directory, else `./privicore-oauth.json`. The second is created on first use (mode `0700`
/// on Unix), so that the default works on a fresh machine.
pub fn token_file(given_path: Option<PathBuf>, create_default_dir: bool) -> Result<PathBuf> {
    if let Some(path) = given_path.filter(|p| !p.as_os_str().is_empty()) {
        return Ok(path);
    }
    let Some(dir) = config_dir()? else {
        return Ok(PathBuf::from("privicore-oauth.json"));
    };
    let dir = dir.join("privicore");
    if create_default_dir {
        create_private_dir(&dir)
            .with_context(|| format!("create the directory {}", dir.display()))?;
    }
    Ok(dir.join("oauth-tokens.json"))
}

/// The user's configuration directory, as the XDG convention (and most Unix tools) see it.
fn config_dir() -> Result<Option<PathBuf>> {
    if let Some(dir) = var("XDG_CONFIG_HOME")?.map(PathBuf::from)
        && dir.is_absolute()
    {
        return Ok(Some(dir));
    }
    if cfg!(windows)
        && let Some(dir) = var("APPDATA")?
    {
        return Ok(Some(PathBuf::from(dir)));
    }
    Ok(var("HOME")?.map(|home| PathBuf::from(home).join(".config")))
}

fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}
