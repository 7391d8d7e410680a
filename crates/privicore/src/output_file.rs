//! The file a retrieval writes: created private under a temporary name beside its target,
//! given its final mode only once the payload has verified, then renamed into place.
//!
//! Why private from the start: the temporary file holds plaintext that is not yet
//! authenticated, and a file created with the process umask (often `022`) would be readable
//! by every user of the machine while the transfer runs. Why `create_new`: the temporary
//! name must not open something already there (a file, or a link planted to redirect the
//! plaintext elsewhere).

use std::path::{Path, PathBuf};

/// The mode of a retrieved file unless the caller asks otherwise: owner read and write only.
pub(crate) const DEFAULT_FILE_MODE: u32 = 0o600;

/// Settings for the file [`Vault::retrieve_to_file_with_options`](crate::Vault::retrieve_to_file_with_options)
/// writes.
///
/// ```
/// use privicore::RetrieveOptions;
/// let options = RetrieveOptions::new().mode(0o640);
/// assert_eq!(options.file_mode(), 0o640);
/// assert_eq!(RetrieveOptions::new().file_mode(), 0o600);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct RetrieveOptions {
    pub(crate) mode: u32,
}

impl Default for RetrieveOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl RetrieveOptions {
    /// The defaults: the file gets mode `0600` (owner read and write only).
    pub fn new() -> Self {
        Self {
            mode: DEFAULT_FILE_MODE,
        }
    }

    /// The Unix permission bits the file gets once verified (only the lowest 12 bits,
    /// `0o7777`, are used), set exactly, whatever the umask. Ignored on other systems.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o7777;
        self
    }

    /// The permission bits the file will get.
    #[must_use]
    pub fn file_mode(&self) -> u32 {
        self.mode
    }
}

/// Creates `path`, which must not exist yet, for writing, readable and writable by its owner
/// only (on Unix: mode `0600`; the umask can only take bits away from that).
pub(crate) async fn create_private(path: &Path) -> std::io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(DEFAULT_FILE_MODE);
    options.open(path).await
}

/// Gives the open `file` exactly `mode` (through the descriptor: `fchmod` is not subject to
/// the umask, and cannot be redirected by renaming the path).
pub(crate) async fn set_mode(file: &tokio::fs::File, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .await
    }
    #[cfg(not(unix))]
    {
        let _ = (file, mode);
        Ok(())
    }
}

/// A temporary output file that is deleted when this is dropped, unless [`PartFile::keep`]
/// was called (after it was renamed into place).
pub(crate) struct PartFile {
    path: PathBuf,
    keep: bool,
}

impl PartFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path, keep: false }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.keep {
            // Synchronous: a destructor cannot await, and unlinking is one short system
            // call. It may fail because the file was never created; nothing to do then.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A fresh name beside `target` for its temporary file: `.NAME.RANDOM.part`, hidden, and
/// unguessable so that no one can prepare something at it.
pub(crate) fn temporary_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("payload");
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    dir.join(format!(".{name}.{}.part", crate::random_hex(6)))
}
