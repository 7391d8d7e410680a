//! Persisting OAuth tokens: the [`TokenStore`] trait, and the in-memory and file-backed stores
//! that ship with the crate.
//!
//! Privicore may rotate the refresh token on every refresh, and a rotated-away refresh token
//! must never be presented again. So the session saves new tokens to its store as soon as they
//! arrive, before they are used, and a process that restarts loads the latest ones.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use privicore_api::hooks::BoxFuture;

use crate::{Error, Result};

/// An OAuth application's delegated tokens.
#[derive(Clone)]
pub struct OAuthTokens {
    /// The access token.
    pub access_token: SecretString,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    /// The refresh token, when the server issued one.
    pub refresh_token: Option<SecretString>,
    /// When the refresh token expires, when known.
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// The granted scope (e.g. `all`).
    pub scope: Option<String>,
    /// The client id the tokens belong to.
    pub client_id: Option<String>,
}

impl fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("access_token", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("refresh_token_expires_at", &self.refresh_token_expires_at)
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .finish()
    }
}

impl From<privicore_api::types::OAuthAccessToken> for OAuthTokens {
    fn from(token: privicore_api::types::OAuthAccessToken) -> Self {
        Self {
            access_token: SecretString::from(token.token),
            expires_at: token.expires_at,
            refresh_token: token.refresh_token.map(SecretString::from),
            refresh_token_expires_at: token.refresh_token_expires_at,
            scope: token.scope,
            client_id: token.client_id,
        }
    }
}

/// Where an OAuth session keeps its tokens.
///
/// `save` is called with every new set of tokens before they are used; `load` when a session
/// is resumed.
pub trait TokenStore: Send + Sync + 'static {
    /// The stored tokens, if any.
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>>>;
    /// Replaces the stored tokens.
    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<()>>;
}

/// Keeps tokens in memory only.
#[derive(Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<OAuthTokens>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryTokenStore")
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>>> {
        let tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Box::pin(async move { Ok(tokens) })
    }

    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<()>> {
        *self.tokens.lock().unwrap_or_else(|p| p.into_inner()) = Some(tokens.clone());
        Box::pin(async { Ok(()) })
    }
}

/// Keeps tokens in a JSON file, written atomically (a temporary file in the same directory,
/// synced, then renamed over the old one) and readable by the owner only (mode `0600` on Unix).
///
/// ```no_run
/// use privicore::store::FileTokenStore;
/// let store = FileTokenStore::new("/var/lib/my-service/privicore-tokens.json");
/// # let _ = store;
/// ```
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store at `path` (the file is created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where the tokens are kept.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The file format. Plain strings only here, dropped right after use.
#[derive(Serialize, Deserialize)]
struct StoredTokens {
    access_token: String,
    expires_at: DateTime<Utc>,
    refresh_token: Option<String>,
    refresh_token_expires_at: Option<DateTime<Utc>>,
    scope: Option<String>,
    client_id: Option<String>,
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>>> {
        Box::pin(async move {
            let text = match tokio::fs::read(&self.path).await {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => {
                    return Err(Error::TokenStore(format!(
                        "cannot read {}: {e}",
                        self.path.display()
                    )));
                }
            };
            let stored: StoredTokens = serde_json::from_slice(&text).map_err(|e| {
                Error::TokenStore(format!(
                    "{} is not a token file: {}",
                    self.path.display(),
                    e.classify_name()
                ))
            })?;
            Ok(Some(OAuthTokens {
                access_token: SecretString::from(stored.access_token),
                expires_at: stored.expires_at,
                refresh_token: stored.refresh_token.map(SecretString::from),
                refresh_token_expires_at: stored.refresh_token_expires_at,
                scope: stored.scope,
                client_id: stored.client_id,
            }))
        })
    }

    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let stored = StoredTokens {
                access_token: tokens.access_token.expose_secret().to_owned(),
                expires_at: tokens.expires_at,
                refresh_token: tokens
                    .refresh_token
                    .as_ref()
                    .map(|t| t.expose_secret().to_owned()),
                refresh_token_expires_at: tokens.refresh_token_expires_at,
                scope: tokens.scope.clone(),
                client_id: tokens.client_id.clone(),
            };
            let bytes = serde_json::to_vec_pretty(&stored).map_err(|e| {
                Error::TokenStore(format!("cannot encode tokens: {}", e.classify_name()))
            })?;
            let path = self.path.clone();
            tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
                .await
                .map_err(|e| Error::TokenStore(format!("the writer task failed: {e}")))?
        })
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    /// The kind of JSON error, without the excerpt of the input serde may quote.
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Data => "unexpected fields or types",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let fail = |what: &str, e: std::io::Error| {
        Error::TokenStore(format!("cannot {what} {}: {e}", path.display()))
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("tokens");
    let temporary = dir.join(format!(".{name}.{}.tmp", crate::random_hex(6)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(fail("write", e));
    }
    if let Err(e) = std::fs::rename(&temporary, path) {
        let _ = std::fs::remove_file(&temporary);
        return Err(fail("replace", e));
    }
    Ok(())
}
