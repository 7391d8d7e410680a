//! What a command needs from its surroundings: the server, the credentials, the vault key,
//! the client secret and the token file.
//!
//! Every setting is weighed by one rule, [`resolve`]: a flag beats its environment variable,
//! which beats the config file's profile, which beats the default. Secrets never come from a
//! flag or the file itself: they are read from the environment, or from a command the
//! profile names (`password_command`), or (the password) a terminal prompt, straight into
//! `secrecy` types. Error messages name the variable or setting that is missing or wrong,
//! never its value.

use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::OnceLock;

use privicore::{Client, ClientBuilder, Session, VaultKey};
use secrecy::{ExposeSecret, SecretString};

use crate::cli::{GlobalArgs, LoginArgs, ServerArgs};
use crate::config::{self, Config, Profile};
use crate::error::{CliError, Context, Result};

/// Environment variable holding the API base URL.
pub const API_VAR: &str = "PRIVICORE_API_URL";
/// Environment variable holding the WebSocket URL.
pub const WS_VAR: &str = "PRIVICORE_WS_URL";
/// Environment variable holding the username.
pub const USERNAME_VAR: &str = "PRIVICORE_USERNAME";
/// Environment variable holding the token file's path.
pub const TOKEN_FILE_VAR: &str = "PRIVICORE_TOKEN_FILE";
/// Environment variable holding the profile's password.
pub const PASSWORD_VAR: &str = "PRIVICORE_PASSWORD";
/// Environment variable holding the vault key (hex).
pub const VAULT_KEY_VAR: &str = "PRIVICORE_VAULT_KEY";
/// Environment variable holding an OAuth application's client secret.
pub const CLIENT_SECRET_VAR: &str = "PRIVICORE_CLIENT_SECRET";

/// `--config` and `--profile`, set once by `main`.
static GLOBALS: OnceLock<GlobalArgs> = OnceLock::new();
/// The config file, read on first use (a command that needs no setting never reads it, so a
/// broken file does not stop `key generate` or `completions`).
static CONFIG: OnceLock<std::result::Result<Config, String>> = OnceLock::new();

/// Records `--config` and `--profile` for the settings read later.
pub fn init(globals: GlobalArgs) {
    let _ = GLOBALS.set(globals);
}

/// The config file and its profile in use.
pub fn config() -> Result<&'static Config> {
    CONFIG
        .get_or_init(|| {
            let globals = GLOBALS.get().cloned().unwrap_or_default();
            let choice = config::Choice {
                config: globals.config.as_deref(),
                profile: globals.profile.as_deref(),
            };
            config::load(&choice, &var).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|message| CliError::new(message.clone()))
}

/// An environment variable's value; unset and empty are the same (an empty value is what
/// `VAR= privicore ...` gives, and never a usable setting).
pub fn var(name: &str) -> Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) if value.is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(CliError::new(format!("{name} is not valid UTF-8")))
        }
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// This environment variable.
    Env(&'static str),
    /// The config file's profile of this name.
    File(String),
    /// The built-in default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("flag"),
            Self::Env(name) => write!(f, "env {name}"),
            Self::File(profile) => write!(f, "file:{profile}"),
            Self::Default => f.write_str("default"),
        }
    }
}

/// A setting's value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The value.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// The one precedence rule: the flag, else the environment variable `env_name`, else the
/// profile's value (`file` is the profile's name and value). Empty counts as unset at every
/// level. `env` reads the environment (a parameter so that tests can give their own).
pub fn resolve_with(
    flag: Option<&str>,
    env_name: &'static str,
    file: Option<(&str, Option<&str>)>,
    env: &dyn Fn(&str) -> Result<Option<String>>,
) -> Result<Option<Resolved>> {
    let usable = |v: &str| !v.trim().is_empty();
    if let Some(value) = flag.filter(|v| usable(v)) {
        return Ok(Some(Resolved {
            value: value.trim().to_owned(),
            source: Source::Flag,
        }));
    }
    if let Some(value) = env(env_name)?.filter(|v| usable(v)) {
        return Ok(Some(Resolved {
            value: value.trim().to_owned(),
            source: Source::Env(env_name),
        }));
    }
    if let Some((profile, Some(value))) = file
        && usable(value)
    {
        return Ok(Some(Resolved {
            value: value.trim().to_owned(),
            source: Source::File(profile.to_owned()),
        }));
    }
    Ok(None)
}

/// [`resolve_with`] against the real environment and config file; `pick` reads the setting
/// from a profile.
pub fn resolve(
    flag: Option<&str>,
    env_name: &'static str,
    pick: impl Fn(&Profile) -> Option<&str>,
) -> Result<Option<Resolved>> {
    let file = config()?
        .profile()
        .map(|selected| (selected.name.as_str(), pick(&selected.profile)));
    resolve_with(flag, env_name, file, &var)
}

/// The API URL, if any is given.
pub fn api_url(server: &ServerArgs) -> Result<Option<Resolved>> {
    resolve(server.api.as_deref(), API_VAR, |p| p.api_url.as_deref())
}

/// The WebSocket URL, if any is given.
pub fn ws_url(server: &ServerArgs) -> Result<Option<Resolved>> {
    resolve(server.ws.as_deref(), WS_VAR, |p| p.ws_url.as_deref())
}

/// The username, if any is given.
pub fn username_setting(login: &LoginArgs) -> Result<Option<Resolved>> {
    resolve(login.username.as_deref(), USERNAME_VAR, |p| {
        p.username.as_deref()
    })
}

/// The API and WebSocket URLs given, by whatever level gave them.
pub fn urls(server: &ServerArgs) -> Result<(Option<String>, Option<String>)> {
    Ok((
        api_url(server)?.map(|r| r.value),
        ws_url(server)?.map(|r| r.value),
    ))
}

/// A client builder for the server named by `--api`/`--ws`, their environment variables, or
/// the profile, for a command that sets more than the server.
pub fn builder(server: &ServerArgs) -> Result<ClientBuilder> {
    builder_for(server, true)
}

/// A client for the API alone: no WebSocket even when one is configured at any level (for a
/// command that must not join one, such as `oauth refresh`).
pub fn client_without_websocket(server: &ServerArgs) -> Result<Client> {
    Ok(builder_for(server, false)?.build()?)
}

/// [`builder`], with the WebSocket URL applied only when `websocket` is set.
fn builder_for(server: &ServerArgs, websocket: bool) -> Result<ClientBuilder> {
    let (api, ws) = urls(server)?;
    let ws = ws.filter(|_| websocket);
    let api = api.ok_or_else(|| {
        CliError::new(
            "no server given: pass --api URL, set PRIVICORE_API_URL, or set api_url in a config profile (and the same for --ws / PRIVICORE_WS_URL / ws_url)",
        )
    })?;
    let mut builder = Client::builder().api_url(api);
    if let Some(ws) = ws {
        builder = builder.ws_url(ws);
    }
    Ok(builder)
}

/// A client for the server named by `--api`/`--ws`, their environment variables, or the
/// profile.
pub fn client(server: &ServerArgs) -> Result<Client> {
    Ok(builder(server)?.build()?)
}

/// The username from `--username`, `PRIVICORE_USERNAME` or the profile.
pub fn username(login: &LoginArgs) -> Result<String> {
    username_setting(login)?.map(|r| r.value).ok_or_else(|| {
        CliError::new(
            "no username given: pass --username NAME, set PRIVICORE_USERNAME, or set username in a config profile",
        )
    })
}

/// Where a secret will come from (`privicore config` shows this, never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// This environment variable.
    Env(&'static str),
    /// The command of this setting in the profile of this name.
    Command {
        /// The profile.
        profile: String,
        /// The setting: `password_command`, ...
        setting: &'static str,
    },
    /// Nowhere.
    NotSet,
}

/// One secret: its variable, and its command setting in a profile.
struct SecretSetting {
    var: &'static str,
    setting: &'static str,
    pick: fn(&Profile) -> Option<&str>,
}

const PASSWORD: SecretSetting = SecretSetting {
    var: PASSWORD_VAR,
    setting: "password_command",
    pick: |p| p.password_command.as_deref(),
};
const VAULT_KEY: SecretSetting = SecretSetting {
    var: VAULT_KEY_VAR,
    setting: "vault_key_command",
    pick: |p| p.vault_key_command.as_deref(),
};
const CLIENT_SECRET: SecretSetting = SecretSetting {
    var: CLIENT_SECRET_VAR,
    setting: "client_secret_command",
    pick: |p| p.client_secret_command.as_deref(),
};

impl SecretSetting {
    /// Where the secret would come from: the variable beats the command.
    fn source(&self) -> Result<SecretSource> {
        // Only whether it is set: the value is not read (`read` checks it is text).
        if std::env::var_os(self.var).is_some_and(|v| !v.is_empty()) {
            return Ok(SecretSource::Env(self.var));
        }
        let command = config()?.profile().and_then(|selected| {
            (self.pick)(&selected.profile)
                .filter(|c| !c.trim().is_empty())
                .map(|_| selected.name.clone())
        });
        Ok(match command {
            Some(profile) => SecretSource::Command {
                profile,
                setting: self.setting,
            },
            None => SecretSource::NotSet,
        })
    }

    /// The secret, from the variable or by running the command; `None` when neither is set.
    fn read(&self) -> Result<Option<SecretString>> {
        if let Some(value) = var(self.var)? {
            return Ok(Some(SecretString::from(value)));
        }
        let Some(selected) = config()?.profile() else {
            return Ok(None);
        };
        match (self.pick)(&selected.profile).filter(|c| !c.trim().is_empty()) {
            Some(command) => crate::secret_command::run(
                &format!("{} (profile {})", self.setting, selected.name),
                command,
            )
            .map(Some),
            None => Ok(None),
        }
    }
}

/// Where the password, the vault key and the client secret would come from.
pub fn secret_sources() -> Result<[SecretSource; 3]> {
    Ok([
        PASSWORD.source()?,
        VAULT_KEY.source()?,
        CLIENT_SECRET.source()?,
    ])
}

/// The password from `PRIVICORE_PASSWORD`, the profile's `password_command`, or typed at the
/// terminal. With `confirm` (a new profile) a typed one is asked for twice.
pub fn password(username: &str, confirm: bool) -> Result<SecretString> {
    if let Some(password) = PASSWORD.read()? {
        return Ok(password);
    }
    // Only ask when a person can answer: a script without the variable must fail at once, not
    // hang on a prompt nobody sees.
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CliError::new(format!(
            "no password: set {PASSWORD_VAR}, or password_command in a config profile (or run in a terminal to be asked for it)"
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

/// The vault key from `PRIVICORE_VAULT_KEY` or the profile's `vault_key_command`.
pub fn vault_key() -> Result<VaultKey> {
    let source = VAULT_KEY.source()?;
    let hex = VAULT_KEY.read()?.ok_or_else(|| {
        CliError::new(format!(
            "{VAULT_KEY_VAR} is not set (nor vault_key_command in a config profile): make a key with `privicore key generate` and keep it safe"
        ))
    })?;
    let from = match source {
        SecretSource::Command { profile, setting } => {
            format!("what {setting} (profile {profile}) printed")
        }
        _ => VAULT_KEY_VAR.to_owned(),
    };
    // `KeyError` never echoes its input, so its message is safe to show.
    VaultKey::from_hex(hex.expose_secret())
        .map_err(|e| CliError::new(format!("{from} is not a valid vault key: {e}")))
}

/// The client secret from `PRIVICORE_CLIENT_SECRET` or the profile's `client_secret_command`.
pub fn client_secret() -> Result<SecretString> {
    CLIENT_SECRET.read()?.ok_or_else(|| {
        CliError::new(format!(
            "{CLIENT_SECRET_VAR} is not set (nor client_secret_command in a config profile): it holds the secret `privicore oauth register` printed"
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

/// The token file and where its path came from: `--token-file`, `PRIVICORE_TOKEN_FILE` or the
/// profile, else (the default) `privicore/oauth-tokens.json` in the user's config directory,
/// else `./privicore-oauth.json`. The default directory is created on first use (mode `0700`
/// on Unix) when `create_default_dir`, so that the default works on a fresh machine.
pub fn token_file_setting(
    given_path: Option<PathBuf>,
    create_default_dir: bool,
) -> Result<(PathBuf, Source)> {
    let flag = given_path.as_deref().and_then(|p| p.to_str());
    if given_path.is_some() && flag.is_none() {
        // A path that is not UTF-8 cannot pass through the text-based resolution; it is
        // still a flag, the highest level.
        return Ok((given_path.unwrap_or_default(), Source::Flag));
    }
    if let Some(resolved) = resolve(flag, TOKEN_FILE_VAR, |p| {
        p.token_file.as_deref().and_then(|p| p.to_str())
    })? {
        return Ok((PathBuf::from(resolved.value), resolved.source));
    }
    let Some(dir) = config::config_dir(&var)? else {
        return Ok((PathBuf::from("privicore-oauth.json"), Source::Default));
    };
    let dir = dir.join("privicore");
    if create_default_dir {
        create_private_dir(&dir)
            .with_context(|| format!("create the directory {}", dir.display()))?;
    }
    Ok((dir.join("oauth-tokens.json"), Source::Default))
}

/// The token file (see [`token_file_setting`]).
pub fn token_file(given_path: Option<PathBuf>, create_default_dir: bool) -> Result<PathBuf> {
    token_file_setting(given_path, create_default_dir).map(|(path, _)| path)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Result<Option<String>> {
        move |name| {
            Ok(pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned()))
        }
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_file() {
        let file = Some(("work", Some("from-file")));
        let with_env = env(&[(API_VAR, "from-env")]);
        let no_env = env(&[]);
        let got = |flag, env: &dyn Fn(&str) -> Result<Option<String>>, file| {
            resolve_with(flag, API_VAR, file, env).expect("resolves")
        };
        assert_eq!(
            got(Some("from-flag"), &with_env, file),
            Some(Resolved {
                value: "from-flag".into(),
                source: Source::Flag
            })
        );
        assert_eq!(
            got(None, &with_env, file),
            Some(Resolved {
                value: "from-env".into(),
                source: Source::Env(API_VAR)
            })
        );
        assert_eq!(
            got(None, &no_env, file),
            Some(Resolved {
                value: "from-file".into(),
                source: Source::File("work".into())
            })
        );
        assert_eq!(got(None, &no_env, Some(("work", None))), None);
        assert_eq!(got(None, &no_env, None), None);
        // Empty is unset at every level.
        assert_eq!(
            got(Some(" "), &env(&[(API_VAR, "")]), file).map(|r| r.source),
            Some(Source::File("work".into()))
        );
    }

    #[test]
    fn sources_read_as_documented() {
        assert_eq!(Source::Flag.to_string(), "flag");
        assert_eq!(Source::Env(API_VAR).to_string(), "env PRIVICORE_API_URL");
        assert_eq!(Source::File("work".into()).to_string(), "file:work");
        assert_eq!(Source::Default.to_string(), "default");
    }
}
