//! What every command prints with `--json`: one struct per command, the whole stable shape of
//! the tool's machine-readable output (documented in docs/cli-json.md, snapshot-tested in
//! tests/cli/json.rs). A field is added, never renamed or removed, without a note there.
//!
//! Secrets appear only where printing them is the command's job (`key generate`'s
//! `vault_key`, `oauth register`'s `client_secret`); OAuth tokens and passwords never do.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// `privicore store --json`.
#[derive(Serialize)]
pub struct Stored<'a> {
    /// The data token.
    pub token: &'a str,
    /// The file as given (`-` for stdin).
    pub file: String,
    /// Bytes stored (before encryption).
    pub size: u64,
    /// The context label.
    pub context: &'a str,
}

/// `privicore retrieve TOKEN --output FILE --json`.
#[derive(Serialize)]
pub struct Retrieved<'a> {
    /// The data token.
    pub token: &'a str,
    /// The file written.
    pub file: String,
    /// Bytes written (after decryption).
    pub size: u64,
}

/// One element of the array `privicore tokens list --json` prints.
#[derive(Serialize)]
pub struct TokenItem<'a> {
    /// The data token.
    pub token: &'a str,
    /// Its context label.
    pub context: Option<&'a str>,
    /// The file name stored with it.
    pub file_name: Option<&'a str>,
    /// The payload's size in bytes, as stored with it.
    pub size: Option<u64>,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
}

impl<'a> TokenItem<'a> {
    /// The listing's view of one item.
    pub fn new(item: &'a privicore::DataTokenItem) -> Self {
        let file = item.meta.as_ref().and_then(|m| m.file.as_ref());
        Self {
            token: item.token.as_str(),
            context: item.context.as_deref(),
            file_name: file.and_then(|f| f.file_name.as_deref()),
            size: file
                .and_then(|f| f.size)
                .and_then(|s| u64::try_from(s).ok()),
            created_at: item.created_at,
        }
    }
}

/// `privicore tokens delete TOKEN --json`.
#[derive(Serialize)]
pub struct Deleted<'a> {
    /// The data token.
    pub token: &'a str,
    /// Always `true` (a failed deletion is an error, exit code 1).
    pub deleted: bool,
}

/// `privicore profile provision --json`.
#[derive(Serialize)]
pub struct Provisioned<'a> {
    /// The profile's username.
    pub username: &'a str,
    /// The id the server gave it.
    pub profile_id: &'a str,
    /// Where the private key was saved, if it was.
    pub key_file: Option<String>,
}

/// `privicore key generate --json`: the key itself, by design.
#[derive(Serialize)]
pub struct GeneratedKey<'a> {
    /// 64 hex digits.
    pub vault_key: &'a str,
}

/// `privicore oauth register --json`: the client secret, by design (the server shows it once).
#[derive(Serialize)]
pub struct Registered<'a> {
    /// The application's id.
    pub application_id: &'a str,
    /// Its client id.
    pub client_id: &'a str,
    /// Its client secret.
    pub client_secret: &'a str,
}

/// `privicore oauth authorize|refresh|inspect --json`: everything about the tokens except the
/// tokens.
#[derive(Serialize)]
pub struct TokenSummary {
    /// The token file.
    pub token_file: String,
    /// The application's client id.
    pub client_id: Option<String>,
    /// The granted scope.
    pub scope: Option<String>,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    /// Whether it has.
    pub expired: bool,
    /// Whether a refresh token is kept.
    pub has_refresh_token: bool,
    /// When the refresh token expires, if known.
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
}

/// `privicore demo --json`: the closing summary.
#[derive(Serialize)]
pub struct DemoSummary {
    /// `embedded mock` or the API URL.
    pub server: String,
    /// Every step, in order.
    pub steps: Vec<DemoStep>,
    /// Their total, in microseconds.
    pub total_micros: u64,
    /// Always `true` (a failed check is an error, exit code 1).
    pub checks_passed: bool,
}

/// One step of the demo.
#[derive(Serialize)]
pub struct DemoStep {
    /// Its name (`provision profile`, ...).
    pub step: &'static str,
    /// How long it took, in microseconds.
    pub micros: u64,
}

/// `privicore config --json`.
#[derive(Serialize)]
pub struct ConfigReport {
    /// The config file's path (`null` without a config directory).
    pub config_file: Option<String>,
    /// What chose it: `flag`, `env PRIVICORE_CONFIG` or `default`.
    pub config_file_source: String,
    /// Whether it exists.
    pub config_file_found: bool,
    /// The profile in use.
    pub profile: Setting,
    /// The API URL.
    pub api_url: Setting,
    /// The WebSocket URL.
    pub ws_url: Setting,
    /// The username.
    pub username: Setting,
    /// The token file.
    pub token_file: Setting,
    /// Never the password: whether it is set and where it would come from.
    pub password: SecretSetting,
    /// Likewise for the vault key.
    pub vault_key: SecretSetting,
    /// Likewise for the client secret.
    pub client_secret: SecretSetting,
}

/// A setting's value and its source (`flag`, `env NAME`, `file:PROFILE`, `default`); both
/// `null` when unset.
#[derive(Serialize)]
pub struct Setting {
    /// The value.
    pub value: Option<String>,
    /// Where it came from.
    pub source: Option<String>,
}

/// A secret, masked: whether it is set, and from where (`env NAME`, `command`), never what.
#[derive(Serialize)]
pub struct SecretSetting {
    /// Whether a value is available.
    pub set: bool,
    /// `env PRIVICORE_PASSWORD`, `command file:PROFILE` (the profile's `password_command`,
    /// not yet run), or `null`.
    pub source: Option<String>,
}
