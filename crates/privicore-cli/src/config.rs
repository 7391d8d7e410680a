//! The config file: named profiles of non-secret settings.
//!
//! ```toml
//! default_profile = "work"
//!
//! [profiles.work]
//! api_url = "https://sandbox.privicore.com:9009"
//! ws_url = "wss://sandbox.privicore.com:8083"
//! username = "me@example.com"
//! token_file = "/home/me/.local/state/privicore/work-oauth.json"
//! password_command = "pass show privicore"
//! vault_key_command = "pass show privicore-vault-key"
//! client_secret_command = "pass show privicore-app"
//! ```
//!
//! A secret is never kept in the file: `password`, `vault_key` and `client_secret` are refused
//! with the reason, and only the commands that print them are allowed. Unknown keys are refused
//! by name, so a typo never silently drops a setting. This module finds, reads and checks the
//! file and picks the profile; `settings` weighs its values against flags and the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::error::{CliError, Result};

/// Environment variable naming the config file.
pub const CONFIG_VAR: &str = "PRIVICORE_CONFIG";
/// Environment variable naming the profile.
pub const PROFILE_VAR: &str = "PRIVICORE_PROFILE";

/// The file as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileContents {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
    // Secrets in plain text, here or in a profile, are parsed only to be refused (see
    // `refuse_plaintext_secrets`); their values are never kept.
    password: Option<IgnoredAny>,
    vault_key: Option<IgnoredAny>,
    client_secret: Option<IgnoredAny>,
}

/// One named profile: where the server is, who logs in, and how to get the secrets.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The API base URL.
    pub api_url: Option<String>,
    /// The WebSocket URL.
    pub ws_url: Option<String>,
    /// The profile's username.
    pub username: Option<String>,
    /// Where OAuth tokens are kept.
    pub token_file: Option<PathBuf>,
    /// A shell command that prints the password.
    pub password_command: Option<String>,
    /// A shell command that prints the vault key (hex).
    pub vault_key_command: Option<String>,
    /// A shell command that prints the OAuth client secret.
    pub client_secret_command: Option<String>,
    password: Option<IgnoredAny>,
    vault_key: Option<IgnoredAny>,
    client_secret: Option<IgnoredAny>,
}

/// How a value was chosen: by a flag, an environment variable, or the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChosenBy {
    /// A command-line flag.
    Flag,
    /// This environment variable.
    Env(&'static str),
    /// The file's `default_profile`.
    File,
    /// Nothing chose: the built-in default.
    Default,
}

/// The profile in use.
pub struct Selected {
    /// Its name in the file.
    pub name: String,
    /// What named it.
    pub chosen_by: ChosenBy,
    /// Its settings.
    pub profile: Profile,
}

/// The config file as found: where it is (or would be) and the profile in use, if any.
pub struct Config {
    /// The file's path, when one is known (there is none without a config directory).
    pub path: Option<PathBuf>,
    /// What chose the path.
    pub path_chosen_by: ChosenBy,
    /// Whether the file exists.
    pub found: bool,
    /// The profile in use.
    pub selected: Option<Selected>,
}

impl Config {
    /// The profile in use; without one every setting comes from elsewhere.
    pub fn profile(&self) -> Option<&Selected> {
        self.selected.as_ref()
    }
}

/// What the command line says about the file and the profile.
pub struct Choice<'a> {
    /// `--config`.
    pub config: Option<&'a Path>,
    /// `--profile`.
    pub profile: Option<&'a str>,
}

/// Finds and reads the config file and picks the profile: `--config` beats `PRIVICORE_CONFIG`,
/// which beats the default place; `--profile` beats `PRIVICORE_PROFILE`, which beats the
/// file's `default_profile`. A file named on purpose must exist; the default one need not.
/// `var` reads the environment (a parameter so that tests can give their own).
pub fn load(choice: &Choice<'_>, var: &dyn Fn(&str) -> Result<Option<String>>) -> Result<Config> {
    let (path, path_chosen_by) = if let Some(path) = choice.config {
        (Some(path.to_path_buf()), ChosenBy::Flag)
    } else if let Some(path) = var(CONFIG_VAR)? {
        (Some(PathBuf::from(path)), ChosenBy::Env(CONFIG_VAR))
    } else {
        (
            config_dir(var)?.map(|dir| dir.join("privicore").join("config.toml")),
            ChosenBy::Default,
        )
    };
    let named = match (choice.profile, var(PROFILE_VAR)?) {
        (Some(name), _) => Some((name.to_owned(), ChosenBy::Flag)),
        (None, Some(name)) => Some((name, ChosenBy::Env(PROFILE_VAR))),
        (None, None) => None,
    };
    let text = match &path {
        Some(path) => read(path, &path_chosen_by)?,
        None => None,
    };
    let found = text.is_some();
    let contents = match (&path, text) {
        (Some(path), Some(text)) => parse(path, &text)?,
        _ => FileContents::default(),
    };
    let named = named.or_else(|| {
        contents
            .default_profile
            .clone()
            .map(|name| (name, ChosenBy::File))
    });
    let selected = match named {
        None => None,
        Some((name, chosen_by)) => {
            let Some(profile) = contents.profiles.get(&name) else {
                return Err(unknown_profile(
                    &name,
                    &chosen_by,
                    path.as_deref(),
                    found,
                    &contents,
                ));
            };
            Some(Selected {
                name,
                chosen_by,
                profile: profile.clone(),
            })
        }
    };
    Ok(Config {
        path,
        path_chosen_by,
        found,
        selected,
    })
}

/// The file's text; `None` when the default file does not exist.
fn read(path: &Path, chosen_by: &ChosenBy) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && *chosen_by == ChosenBy::Default => {
            Ok(None)
        }
        Err(e) => Err(CliError::new(format!(
            "cannot read the config file {}{}: {e}",
            path.display(),
            named_by(chosen_by)
        ))),
    }
}

/// Parses and checks the file. The parser's own `Display` quotes the offending line, which
/// could hold a secret, so only its message and the line number are shown.
fn parse(path: &Path, text: &str) -> Result<FileContents> {
    let contents: FileContents = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|span| format!(" line {}", line_of(text, span.start)))
            .unwrap_or_default();
        CliError::new(format!(
            "config file {}{line}: {}",
            path.display(),
            e.message().trim()
        ))
    })?;
    refuse_plaintext_secrets(path, &contents)?;
    Ok(contents)
}

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Refuses a password, vault key or client secret written into the file: a config file is
/// copied, synced and shown far more freely than a password store.
fn refuse_plaintext_secrets(path: &Path, contents: &FileContents) -> Result<()> {
    let top = [
        ("password", contents.password.is_some()),
        ("vault_key", contents.vault_key.is_some()),
        ("client_secret", contents.client_secret.is_some()),
    ];
    let found = top
        .into_iter()
        .find(|(_, set)| *set)
        .map(|(key, _)| (key, None));
    let found = found.or_else(|| {
        contents.profiles.iter().find_map(|(name, p)| {
            [
                ("password", p.password.is_some()),
                ("vault_key", p.vault_key.is_some()),
                ("client_secret", p.client_secret.is_some()),
            ]
            .into_iter()
            .find(|(_, set)| *set)
            .map(|(key, _)| (key, Some(name.as_str())))
        })
    });
    match found {
        None => Ok(()),
        Some((key, profile)) => {
            let place = profile
                .map(|name| format!(" (profile {name})"))
                .unwrap_or_default();
            let variable = match key {
                "password" => crate::settings::PASSWORD_VAR,
                "vault_key" => crate::settings::VAULT_KEY_VAR,
                _ => crate::settings::CLIENT_SECRET_VAR,
            };
            Err(CliError::new(format!(
                "config file {}{place}: `{key}` is refused: a secret is never kept in plain text \
                 in the config file; set `{key}_command` to a command that prints it (e.g. \
                 `pass show privicore`), or set {variable}",
                path.display()
            )))
        }
    }
}

fn unknown_profile(
    name: &str,
    chosen_by: &ChosenBy,
    path: Option<&Path>,
    found: bool,
    contents: &FileContents,
) -> CliError {
    let by = named_by(chosen_by);
    match path {
        Some(path) if found => {
            let known: Vec<&str> = contents.profiles.keys().map(String::as_str).collect();
            let known = if known.is_empty() {
                "it has none".to_owned()
            } else {
                format!("it has {}", known.join(", "))
            };
            CliError::new(format!(
                "no profile {name}{by} in the config file {}: {known}",
                path.display()
            ))
        }
        Some(path) => CliError::new(format!(
            "profile {name}{by}: there is no config file at {}",
            path.display()
        )),
        None => CliError::new(format!(
            "profile {name}{by}: no config file (no config directory; pass --config FILE)"
        )),
    }
}

/// ` (from --profile)`-style wording of what chose a value.
fn named_by(chosen_by: &ChosenBy) -> String {
    match chosen_by {
        ChosenBy::Flag => " (from the command line)".to_owned(),
        ChosenBy::Env(name) => format!(" (from {name})"),
        ChosenBy::File => " (the file's default_profile)".to_owned(),
        ChosenBy::Default => String::new(),
    }
}

/// The user's configuration directory, as the XDG convention (and most Unix tools) see it.
pub fn config_dir(var: &dyn Fn(&str) -> Result<Option<String>>) -> Result<Option<PathBuf>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<FileContents> {
        parse(Path::new("config.toml"), text)
    }

    #[test]
    fn a_full_profile_parses() {
        let contents = parse_text(
            r#"
default_profile = "work"
[profiles.work]
api_url = "http://a"
ws_url = "ws://b"
username = "me"
token_file = "/t.json"
password_command = "pass show privicore"
vault_key_command = "cat key"
client_secret_command = "cat secret"
"#,
        )
        .expect("parses");
        assert_eq!(contents.default_profile.as_deref(), Some("work"));
        let work = &contents.profiles["work"];
        assert_eq!(work.api_url.as_deref(), Some("http://a"));
        assert_eq!(
            work.password_command.as_deref(),
            Some("pass show privicore")
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse_text("[profiles.w]\napi_ur = \"x\"\n")
            .err()
            .expect("refused");
        let message = err.to_string();
        assert!(message.contains("api_ur"), "{message}");
        assert!(message.contains("line 2"), "{message}");
        let err = parse_text("colour = 1\n").err().expect("refused");
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn plaintext_secrets_are_refused_without_echoing_them() {
        for (text, key) in [
            ("[profiles.w]\npassword = \"hunter2-secret\"\n", "password"),
            ("password = \"hunter2-secret\"\n", "password"),
            (
                "[profiles.w]\nvault_key = \"hunter2-secret\"\n",
                "vault_key",
            ),
            (
                "[profiles.w]\nclient_secret = \"hunter2-secret\"\n",
                "client_secret",
            ),
        ] {
            let message = parse_text(text).err().expect("refused").to_string();
            assert!(
                message.contains(&format!("`{key}` is refused")),
                "{message}"
            );
            assert!(message.contains("plain text"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn a_syntax_error_does_not_quote_the_line() {
        let message = parse_text(
            "[profiles.w]\npassword_command = \"pass show x\npassword = \"hunter2-secret",
        )
        .err()
        .expect("refused")
        .to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("line "), "{message}");
    }
}
