//! [`Vault`]: store and retrieve data of any size, encrypted on the way up and decrypted on
//! the way down, with a key only the application holds.
//!
//! Storing walks the whole lifecycle and returns only once every step is acknowledged:
//! reserve token space → temporary token → send the ciphertext → configure file meta, which
//! gives the permanent data token. The ciphertext goes inline (base64, in
//! exchange-data-for-token) when the payload is at most [`Vault::inline_threshold`] bytes
//! (default [`DEFAULT_INLINE_THRESHOLD`]), and is streamed to the stream server otherwise.
//!
//! Retrieving requests the data, waits for the `X-DPT-CAB-REQUEST-ID` answer, and decrypts
//! the inline answer (`output_type` 0) or streams the download (`output_type` 1) through the
//! decryptor. Both directions run in bounded memory whatever the size. Decrypted bytes are
//! not final before the GCM tag verifies: [`Vault::retrieve_to_file`] writes a temporary file
//! that only its owner may read and renames it only after verification;
//! [`Vault::retrieve_to_writer_unverified`] hands the bytes out as they come, and its caller
//! must discard them unless it returns `Ok`.
//!
//! Plaintext the SDK copies (the head of a payload read to choose the path, the copy of a
//! borrowed payload that is streamed, a retrieval into memory) is held in buffers that are
//! zeroed when released, and in the allocations they leave when they grow.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use privicore_api::types::{self, PermanentDataToken};

use crate::cipher::{self, DecryptStreamError};
use crate::commands::DataReady;
use crate::output_file::{PartFile, RetrieveOptions, create_private, set_mode, temporary_path};
use crate::pipeline;
use crate::secret_buf::{self, SecretBuf};
use crate::upload_target::{UploadTarget, upload_target};
use crate::wire_report::DataDelivery;
use crate::{Error, ListDataTokens, Result, Session, VaultKey};

/// Payloads up to this many plaintext bytes are sent inline (base64 in a form field); larger
/// ones are streamed. 48 KiB stays under the ~50 KB the unofficial guide gives for the inline
/// path, with room for the base64 growth and the form around it.
pub const DEFAULT_INLINE_THRESHOLD: usize = 48 * 1024;

/// How many times a temporary token that is not ready yet (404) is asked for again.
const TEMPORARY_TOKEN_TRIES: u32 = 8;

/// A permanent data token: what the application stores instead of the data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataToken(String);

impl DataToken {
    /// Wraps a token kept from earlier.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token as Privicore knows it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DataToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DataToken {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The metadata a stored payload gets.
///
/// ```
/// use privicore::StoreOptions;
/// let options = StoreOptions::new("invoices/2026-Q1").file_name("invoice-7.pdf").path("/billing");
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct StoreOptions {
    context: String,
    file_name: Option<String>,
    extension: Option<String>,
    path: String,
    ttl_minutes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self::new("default")
    }
}

impl StoreOptions {
    /// Options with this context (a free label Privicore groups tokens by).
    pub fn new(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            file_name: None,
            extension: None,
            path: "/".into(),
            ttl_minutes: 5,
        }
    }

    /// The file name (default: `data.bin`, or the file's own name for
    /// [`Vault::store_file`]).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    /// The extension (default: taken from the file name, else `bin`).
    pub fn extension(mut self, extension: impl Into<String>) -> Self {
        self.extension = Some(extension.into());
        self
    }

    /// The logical path (default `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// How long the reservation lives, in minutes (the official unit; default 5). The upload
    /// must finish within it.
    pub fn ttl_minutes(mut self, minutes: u64) -> Self {
        self.ttl_minutes = minutes.max(1);
        self
    }

    fn resolved_name(&self) -> (String, String) {
        let name = self.file_name.clone().unwrap_or_else(|| "data.bin".into());
        let extension = self.extension.clone().unwrap_or_else(|| {
            Path::new(&name)
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("bin")
                .to_string()
        });
        (name, extension)
    }
}

/// Stores and retrieves encrypted payloads for a session.
///
/// Each payload stored or updated is one AES-256-GCM message under the vault's key, with a
/// fresh random 96-bit IV. One key may encrypt at most 2^32 messages that way
/// ([`RANDOM_IV_MESSAGE_LIMIT`](crate::vault_key::RANDOM_IV_MESSAGE_LIMIT), NIST SP 800-38D);
/// the key counts them ([`VaultKey::messages_encrypted`], shared by its clones) and a
/// `tracing` warning is logged once past
/// [`IV_WARNING_THRESHOLD`](crate::vault_key::IV_WARNING_THRESHOLD). Rotate the key (store
/// again under a new one) before then.
///
/// ```no_run
/// # async fn run(session: privicore::Session) -> privicore::Result<()> {
/// use privicore::{StoreOptions, VaultKey};
///
/// let vault = session.vault(VaultKey::generate());
/// let token = vault.store(b"4111 1111 1111 1111", &StoreOptions::new("cards")).await?;
/// assert_eq!(vault.retrieve(&token).await?, b"4111 1111 1111 1111");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Vault {
    session: Session,
    key: Arc<VaultKey>,
    inline_threshold: usize,
}

/// A reservation ready to receive its ciphertext.
struct Reservation {
    temporary_token: String,
    /// The retrieve-temporary-data-token answer, read for an upload target only when the
    /// payload is streamed (an answer without one can still be filled inline).
    answer: types::TemporaryDataToken,
}

impl Vault {
    pub(crate) fn new(session: Session, key: VaultKey) -> Self {
        Self {
            session,
            key: Arc::new(key),
            inline_threshold: DEFAULT_INLINE_THRESHOLD,
        }
    }

    /// The AES-GCM engine of the client this vault belongs to.
    fn engine(&self) -> cipher::Engine {
        self.session.client().gcm_engine()
    }

    /// Payloads up to `bytes` go inline, larger ones are streamed.
    #[must_use]
    pub fn inline_threshold(mut self, bytes: usize) -> Self {
        self.inline_threshold = bytes;
        self
    }

    /// The data tokens of the session (list, delete, classify).
    pub fn list(&self) -> ListDataTokens {
        self.session.data_tokens().list()
    }

    /// Stores `data` and returns its permanent data token.
    ///
    /// # When the outcome is unknown
    ///
    /// The last step, configure-file-meta, makes the payload permanent and is the only place
    /// its data token is ever given. When its answer is lost or cannot be read (cut short,
    /// not JSON, an empty token, the connection dropped after sending), the server may well
    /// have stored the payload: this returns [`Error::StoreUnconfirmed`], never a plain
    /// decode or transport error, so the caller knows a copy may exist. The step is not sent
    /// again: the first one may have used the reservation up, and Privicore has no
    /// idempotency key to ask "did that work?" with. The error carries the request's
    /// [`request_id`](Error::request_id), which names it in the server's records. What may be
    /// stored is only ciphertext under the vault key; store the payload again, and, to clean
    /// up, look for the copy by its context and file name with [`Vault::list`].
    ///
    /// Any earlier step that fails leaves no permanent data token behind (a filled
    /// reservation expires with its TTL).
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the steps; [`Error::CommandRejected`] when the server refuses one;
    /// [`Error::StoreUnconfirmed`] as above.
    pub async fn store(&self, data: &[u8], options: &StoreOptions) -> Result<DataToken> {
        if data.len() <= self.inline_threshold {
            let reservation = self.reserve(options).await?;
            self.exchange_inline(&reservation, data).await?;
            return self
                .configure(&reservation, options, data.len() as u64)
                .await;
        }
        // The reader must own its data: this copy is the price of storing from a borrowed
        // slice (use `store_reader` or `store_file` for payloads that are not in memory). It
        // is plaintext, so it is wiped when the upload is done with it.
        let mut copy = SecretBuf::with_capacity(data.len());
        copy.extend_from_slice(data);
        self.store_reader(copy.into_reader(), options).await
    }

    /// Stores everything `reader` yields, in bounded memory, and returns the permanent data
    /// token. A lost answer to the last step is [`Error::StoreUnconfirmed`], as for
    /// [`Vault::store`].
    ///
    /// # Errors
    ///
    /// As [`Vault::store`], and [`Error::Io`] when reading fails.
    pub async fn store_reader<R>(&self, reader: R, options: &StoreOptions) -> Result<DataToken>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        // Read just enough to know whether the payload fits inline (into a buffer that is
        // wiped when released: it is plaintext).
        let mut reader = reader;
        let limit = self.inline_threshold as u64 + 1;
        let head = secret_buf::read_up_to(&mut reader, limit)
            .await
            .map_err(|e| Error::io("read the payload", e))?;
        let reservation = self.reserve(options).await?;
        if head.as_slice().len() <= self.inline_threshold {
            self.exchange_inline(&reservation, head.as_slice()).await?;
            return self
                .configure(&reservation, options, head.as_slice().len() as u64)
                .await;
        }
        let watched = Watched::new(head.into_reader().chain(reader));
        let watch = watched.watch.clone();
        let uploaded = self.upload(&reservation, watched).await;
        if let Some(err) = watch.take_error() {
            return Err(Error::io("read the payload", err));
        }
        uploaded?;
        self.configure(&reservation, options, watch.count()).await
    }

    /// Stores a file. Its name and extension are the defaults for the metadata.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be opened or read; otherwise as [`Vault::store`].
    pub async fn store_file(
        &self,
        path: impl AsRef<Path>,
        options: &StoreOptions,
    ) -> Result<DataToken> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::io("open the file to store", e))?;
        let mut options = options.clone();
        if options.file_name.is_none()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            options.file_name = Some(name.to_string());
        }
        self.store_reader(file, &options).await
    }

    /// Retrieves and decrypts a payload into memory.
    ///
    /// # Errors
    ///
    /// [`Error::Cipher`] when the ciphertext is not authentic (tampered, wrong key,
    /// truncated); [`Error::WebSocketRequired`], before anything is sent, when the client has
    /// no WebSocket URL (the data request's result is only pushed there); otherwise any
    /// [`Error`] of the steps.
    pub async fn retrieve(&self, token: impl AsRef<str>) -> Result<Vec<u8>> {
        // Unverified until the call returns `Ok`: on error the buffer (and every allocation
        // it left while growing) is wiped.
        let mut out = SecretBuf::default();
        self.retrieve_to_writer_unverified(token, &mut out).await?;
        Ok(out.into_vec())
    }

    /// Retrieves and decrypts a payload into `writer`, in bounded memory, and returns the
    /// number of bytes written.
    ///
    /// # The bytes are unverified until this returns `Ok`
    ///
    /// The GCM tag that proves the payload authentic is at its very end, and the plaintext is
    /// written as it is decrypted, before the tag has been checked. Until this returns `Ok`,
    /// what `writer` received may be forged, truncated or decrypted under the wrong key. When
    /// it returns an error, **discard everything written** (truncate or delete the file, drop
    /// the buffer, roll back what was acted on) and do not show it to anyone. Prefer
    /// [`Vault::retrieve`] (memory) or [`Vault::retrieve_to_file`] (a file that appears only
    /// once verified), which do that for you.
    ///
    /// ```no_run
    /// # async fn example(vault: &privicore::Vault, token: &str) -> privicore::Result<()> {
    /// let mut out = Vec::new();
    /// if let Err(error) = vault.retrieve_to_writer_unverified(token, &mut out).await {
    ///     out.clear(); // not authentic: throw it away
    ///     return Err(error);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Vault::retrieve`], and [`Error::Io`] when writing fails.
    pub async fn retrieve_to_writer_unverified<W>(
        &self,
        token: impl AsRef<str>,
        writer: &mut W,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let ready = self.session.request_data(token.as_ref()).await?;
        let location = locate(&ready)?;
        let wire = self.session.client().wire();
        wire.data_delivery(match &location {
            Location::Inline(_) => DataDelivery::Inline,
            Location::Download { .. } => DataDelivery::Link,
        });
        match location {
            Location::Inline(ciphertext) => {
                // Verified (one-shot decryption checks the tag first); wiped once written.
                let plaintext = zeroize::Zeroizing::new(cipher::decrypt_with(
                    self.engine(),
                    &self.key,
                    &ciphertext,
                )?);
                writer
                    .write_all(&plaintext)
                    .await
                    .map_err(|e| Error::io("write the payload", e))?;
                writer
                    .flush()
                    .await
                    .map_err(|e| Error::io("write the payload", e))?;
                Ok(plaintext.len() as u64)
            }
            Location::Download { base, auth } => {
                const OP: &str = "download_data";
                let transfer = self.session.client().transfer_client(&base);
                let response = self
                    .session
                    .client()
                    .call_once(OP, || transfer.download_data().auth(auth.as_str()).send())
                    .await?;
                // Decrypted on a task of its own, a few chunks ahead of the writer, while
                // hyper's connection task reads the socket. (A third stage, pulling the body
                // on a task of its own, was tried: no faster, more memory and CPU.)
                let chunks = pipeline::ahead(
                    cipher::chunks::decrypt_chunks(
                        self.engine(),
                        &self.key,
                        response.into_inner_stream(),
                    ),
                    || Err(DecryptStreamError::Interrupted),
                );
                cipher::chunks::write_plaintext(chunks, writer)
                    .await
                    .map_err(|e| match e {
                        DecryptStreamError::Source(source) => Error::Transport {
                            request_id: None,
                            operation: OP,
                            source: source.without_url(),
                        },
                        DecryptStreamError::Write(e) => Error::io("write the payload", e),
                        DecryptStreamError::Cipher(e) => Error::Cipher(e),
                        DecryptStreamError::Interrupted => Error::io(
                            "decrypt the payload",
                            std::io::Error::other(
                                DecryptStreamError::<()>::Interrupted.to_string(),
                            ),
                        ),
                    })
            }
        }
    }

    /// Retrieves and decrypts a payload into the file at `path`, which appears only once the
    /// payload is verified: it is written to a temporary file beside it and renamed after the
    /// tag checks out. On any error nothing is left behind.
    ///
    /// The file is readable and writable by its owner only (mode `0600` on Unix, whatever
    /// the umask), the temporary one from the moment it is created; ask for another mode with
    /// [`Vault::retrieve_to_file_with_options`]. A file already at `path` is replaced
    /// atomically (by the rename), and does not pass its permissions on.
    ///
    /// # Errors
    ///
    /// As [`Vault::retrieve_to_writer_unverified`].
    pub async fn retrieve_to_file(
        &self,
        token: impl AsRef<str>,
        path: impl AsRef<Path>,
    ) -> Result<u64> {
        self.retrieve_to_file_with_options(token, path, &RetrieveOptions::new(), |_| {})
            .await
    }

    /// As [`Vault::retrieve_to_file`], calling `progress` with the number of bytes written so
    /// far each time more are written: for a progress bar. Those bytes are in the temporary
    /// file, not yet verified; the file appears at `path` only if this returns `Ok`.
    ///
    /// ```no_run
    /// # async fn example(vault: &privicore::Vault, token: &str) -> privicore::Result<()> {
    /// let written = vault
    ///     .retrieve_to_file_with_progress(token, "report.pdf", |bytes| {
    ///         eprint!("\r{bytes} bytes");
    ///     })
    ///     .await?;
    /// eprintln!("\rdone: {written} bytes");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Vault::retrieve_to_writer_unverified`].
    pub async fn retrieve_to_file_with_progress(
        &self,
        token: impl AsRef<str>,
        path: impl AsRef<Path>,
        progress: impl FnMut(u64) + Send,
    ) -> Result<u64> {
        self.retrieve_to_file_with_options(token, path, &RetrieveOptions::new(), progress)
            .await
    }

    /// As [`Vault::retrieve_to_file_with_progress`], with the output file's settings
    /// (pass `|_| {}` for no progress).
    ///
    /// The temporary file is created afresh (never opened if something is already at its
    /// name) with mode `0600` whatever `options` say, so that no one else can read the
    /// unverified bytes; the mode of `options` is set only after the tag has verified, just
    /// before the rename.
    ///
    /// ```no_run
    /// # async fn example(vault: &privicore::Vault, token: &str) -> privicore::Result<()> {
    /// use privicore::RetrieveOptions;
    ///
    /// // Group-readable, for a service that shares its output directory.
    /// let options = RetrieveOptions::new().mode(0o640);
    /// vault.retrieve_to_file_with_options(token, "report.pdf", &options, |_| {}).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Vault::retrieve_to_writer_unverified`].
    pub async fn retrieve_to_file_with_options(
        &self,
        token: impl AsRef<str>,
        path: impl AsRef<Path>,
        options: &RetrieveOptions,
        progress: impl FnMut(u64) + Send,
    ) -> Result<u64> {
        let path = path.as_ref();
        // Removed again on every way out but success, including this future being dropped
        // half way (a timeout, a `select!`, Ctrl-C in a program that handles it): what it
        // holds is not authenticated yet.
        let part = PartFile::new(temporary_path(path));
        let file = create_private(part.path())
            .await
            .map_err(|e| Error::io("create the output file", e))?;
        let mut counted = Progress {
            inner: file,
            written: 0,
            report: Box::new(progress),
        };
        let written = self
            .retrieve_to_writer_unverified(token, &mut counted)
            .await?;
        // Verified from here on.
        let file = counted.inner;
        file.sync_all()
            .await
            .map_err(|e| Error::io("write the output file", e))?;
        set_mode(&file, options.mode)
            .await
            .map_err(|e| Error::io("set the output file's permissions", e))?;
        drop(file);
        tokio::fs::rename(part.path(), path)
            .await
            .map_err(|e| Error::io("move the output file into place", e))?;
        part.keep();
        Ok(written)
    }

    /// Replaces the payload of a permanent data token (the metadata is kept).
    ///
    /// # Errors
    ///
    /// As [`Vault::store`].
    pub async fn update(&self, token: impl AsRef<str>, data: &[u8]) -> Result<()> {
        self.key.count_message();
        let wire = cipher::encrypt_with(self.engine(), &self.key, data)?;
        let body = types::UpdateDataRequest {
            data_token: token.as_ref().to_owned(),
            data: base64::engine::general_purpose::STANDARD.encode(wire),
            meta: None,
        };
        self.session
            .command("update_data_token", |raw| {
                raw.update_data_token().body(body.clone()).send()
            })
            .await
            .map(drop)
    }

    /// Deletes a data token.
    ///
    /// # Errors
    ///
    /// As [`DataTokens::delete`](crate::DataTokens::delete).
    pub async fn delete(&self, token: impl AsRef<str>) -> Result<()> {
        self.session.data_tokens().delete(token.as_ref()).await
    }

    /// Reserve token space, wait for it, and fetch the temporary token.
    async fn reserve(&self, options: &StoreOptions) -> Result<Reservation> {
        let body = types::ReserveTokenSpaceBody {
            context: options.context.clone(),
            ttl: std::num::NonZeroU64::new(options.ttl_minutes),
            meta: None,
        };
        let id = self
            .session
            .command("reserve_token_space", |raw| {
                raw.reserve_token_space().body(body.clone()).send()
            })
            .await?;
        const OP: &str = "retrieve_temporary_data_token";
        let mut wait = std::time::Duration::from_millis(20);
        for attempt in 1..=TEMPORARY_TOKEN_TRIES {
            let answer = self
                .session
                .read(OP, |raw| {
                    raw.retrieve_temporary_data_token()
                        .command_id(id.as_str())
                        .send()
                })
                .await;
            match answer {
                Ok(answer) => {
                    return Ok(Reservation {
                        temporary_token: answer.token.clone(),
                        answer,
                    });
                }
                // Not settled yet (the guide's reading of a 404 here).
                Err(Error::Api { status: 404, .. }) if attempt < TEMPORARY_TOKEN_TRIES => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Timeout {
            operation: OP,
            waiting_for: "the reservation to settle",
            after: wait,
        })
    }

    async fn exchange_inline(&self, reservation: &Reservation, plaintext: &[u8]) -> Result<()> {
        self.key.count_message();
        let wire = cipher::encrypt_with(self.engine(), &self.key, plaintext)?;
        let body = types::ExchangeDataForTokenBody {
            temporary_token_space: reservation.temporary_token.clone(),
            data: base64::engine::general_purpose::STANDARD.encode(wire),
        };
        self.session
            .command("exchange_data_for_token", |raw| {
                raw.exchange_data_for_token().body(body.clone()).send()
            })
            .await
            .map(drop)
    }

    async fn upload<R>(&self, reservation: &Reservation, reader: R) -> Result<()>
    where
        R: AsyncRead + Send + 'static,
    {
        const OP: &str = "upload_stream";
        let UploadTarget { base, auth, form } =
            upload_target(&reservation.answer, &self.session.client().config().api_url)?;
        self.session.client().wire().upload_target(form);
        let transfer = self.session.client().transfer_client(&base);
        // Encrypted on a task of its own, a few chunks ahead of the socket.
        self.key.count_message();
        let body = reqwest::Body::wrap_stream(pipeline::ahead(
            cipher::encrypt_reader_with(self.engine(), &self.key, reader),
            || {
                Err(std::io::Error::other(
                    "the encryption stopped before the end of the payload",
                ))
            },
        ));
        // A streamed body cannot be sent twice: exactly one attempt.
        let mut body = Some(body);
        self.session
            .client()
            .call_once(OP, || {
                let builder = transfer.upload_stream().auth(auth.as_str());
                let builder = match body.take() {
                    Some(body) => builder.body(body),
                    None => builder,
                };
                builder.send()
            })
            .await
            .map(drop)
    }

    async fn configure(
        &self,
        reservation: &Reservation,
        options: &StoreOptions,
        size: u64,
    ) -> Result<DataToken> {
        const OP: &str = "configure_file_meta";
        let (file_name, extension) = options.resolved_name();
        let body = types::ConfigureFileMetaBody {
            token: reservation.temporary_token.clone(),
            file_name,
            extension,
            context: options.context.clone(),
            size: i64::try_from(size)
                .map_err(|_| Error::InvalidInput("the payload is too large".into()))?,
            path: options.path.clone(),
        };
        let raw = self.session.raw();
        let answer = match self
            .session
            .client()
            .call_once(OP, || raw.configure_file_meta().body(body.clone()).send())
            .await
        {
            Ok(answer) => answer.into_inner(),
            // Sent, but no readable answer: the payload may be stored (see `Vault::store`).
            Err(error @ (Error::Decode { .. } | Error::Transport { .. })) => {
                return Err(unconfirmed(OP, error));
            }
            // The server answered with an error: it stored nothing.
            Err(error) => return Err(error),
        };
        let token = match answer {
            PermanentDataToken::String(token) => token,
            PermanentDataToken::Object { token } => token,
        };
        if token.trim().is_empty() {
            // A success without the token: as unknown an outcome as a lost answer.
            return Err(unconfirmed(
                OP,
                Error::Decode {
                    request_id: None,
                    operation: OP,
                    message: "the permanent data token is empty".into(),
                },
            ));
        }
        Ok(DataToken(token))
    }
}

/// `error`, from the step that makes a payload permanent, as the unknown outcome it is.
fn unconfirmed(operation: &'static str, error: Error) -> Error {
    Error::StoreUnconfirmed {
        operation,
        request_id: error.request_id().map(str::to_owned),
        source: Box::new(error),
    }
}

impl Session {
    /// A vault that encrypts with `key` (which never leaves the process).
    pub fn vault(&self, key: VaultKey) -> Vault {
        Vault::new(self.clone(), key)
    }
}

/// Where a data request's ciphertext is.
pub(crate) enum Location {
    Inline(Vec<u8>),
    Download { base: String, auth: String },
}

/// Whether a data request message is a status text rather than the result
/// (docs/protocol.md §14.3): the official page says `output_type` 0 messages are textual status
/// messages sent while the data is prepared, the guides that they carry the ciphertext inline.
/// Both are served by reading a type-0 body as the result only when it could be one: a
/// transfer URL, or well-formed base64 of at least a sealed empty payload (IV + tag).
pub(crate) fn is_status_text(output_type: i64, body: &str) -> bool {
    if output_type != 0 {
        return false;
    }
    let body = body.trim();
    if body.contains("?auth=") || body.contains("&auth=") {
        return false;
    }
    !base64::engine::general_purpose::STANDARD
        .decode(body)
        .is_ok_and(|bytes| bytes.len() >= cipher::OVERHEAD)
}

/// Reads a data request's answer: `output_type` 1 is a download URL; 0 is, by the official
/// reading, a status text and, by the unofficial one, the ciphertext inline. A body that looks
/// like a URL is downloaded whatever its type; otherwise it must be base64.
pub(crate) fn locate(ready: &DataReady) -> Result<Location> {
    const OP: &str = "request_data";
    let body = ready.body.trim();
    if ready.output_type == 1 || body.contains("?auth=") || body.contains("&auth=") {
        let (base, auth) = split_transfer_url(OP, body)?;
        return Ok(Location::Download { base, auth });
    }
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map(Location::Inline)
        .map_err(|_| Error::Decode {
            request_id: None,
            operation: OP,
            message: format!(
                "output_type {} answer is neither a download URL nor base64 data",
                ready.output_type
            ),
        })
}

/// Splits `http://host:port/path?auth=TOKEN` into the base URL and the single-use token.
/// The official template has no scheme (`host:port?auth=…`): HTTPS is assumed then.
fn split_transfer_url(operation: &'static str, text: &str) -> Result<(String, String)> {
    let bad = |what: &str| Error::Decode {
        request_id: None,
        operation,
        message: format!("the transfer URL {what}"),
    };
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("https://{text}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|_| bad("does not parse"))?;
    let auth = url
        .query_pairs()
        .find(|(k, _)| k == "auth")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| bad("has no auth token"))?;
    let host = url.host_str().ok_or_else(|| bad("has no host"))?;
    let mut base = format!("{}://{}", url.scheme(), host);
    if let Some(port) = url.port() {
        base.push_str(&format!(":{port}"));
    }
    base.push_str(url.path().trim_end_matches('/'));
    Ok((base, auth))
}

/// A writer that reports the running count of bytes written through it.
struct Progress<'a, W> {
    inner: W,
    written: u64,
    report: Box<dyn FnMut(u64) + Send + 'a>,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Progress<'_, W> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let poll = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = poll
            && n > 0
        {
            self.written += n as u64;
            let written = self.written;
            (self.report)(written);
        }
        poll
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The payload reader during an upload: counts the bytes read, and keeps the first read
/// error, so that a failed upload can be reported as the reader's failure (with its own
/// error) rather than as a transport error around it.
struct Watched<R> {
    inner: R,
    watch: Arc<Watch>,
}

#[derive(Default)]
struct Watch {
    count: std::sync::atomic::AtomicU64,
    error: std::sync::Mutex<Option<std::io::Error>>,
}

impl Watch {
    fn count(&self) -> u64 {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn take_error(&self) -> Option<std::io::Error> {
        self.error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl<R> Watched<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            watch: Arc::default(),
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Watched<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.watch
            .count
            .fetch_add(read as u64, std::sync::atomic::Ordering::SeqCst);
        match poll {
            std::task::Poll::Ready(Err(err)) => {
                let kind = err.kind();
                let mut slot = self
                    .watch
                    .error
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                slot.get_or_insert(err);
                std::task::Poll::Ready(Err(std::io::Error::new(kind, "reading the payload failed")))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_urls_split() {
        assert_eq!(
            split_transfer_url("op", "http://127.0.0.1:8010/?auth=abc").expect("valid"),
            ("http://127.0.0.1:8010".to_string(), "abc".to_string())
        );
        assert_eq!(
            split_transfer_url("op", "dl.example.com:8011?auth=x%2By").expect("valid"),
            ("https://dl.example.com:8011".to_string(), "x+y".to_string())
        );
        assert!(split_transfer_url("op", "http://h/?token=abc").is_err());
        assert!(split_transfer_url("op", "http://h/?auth=").is_err());
    }

    #[test]
    fn errors_about_urls_do_not_echo_the_token() {
        let err = split_transfer_url("op", "::not a url?auth=secret-token").expect_err("bad");
        assert!(!err.to_string().contains("secret-token"));
    }

    #[test]
    fn status_texts_are_told_from_results() {
        let sealed_empty = "A".repeat(40); // base64 of 30 bytes: at least IV + tag
        assert!(is_status_text(0, "Preparing data for download (1 of 3)"));
        assert!(is_status_text(0, "AAEC"), "too short to be sealed data");
        assert!(!is_status_text(0, &sealed_empty));
        assert!(!is_status_text(0, "http://h:1/?auth=t"));
        assert!(!is_status_text(1, "Preparing data for download"));
    }

    #[test]
    fn answers_are_located() {
        let ready = |output_type, body: &str| DataReady {
            output_type,
            body: body.into(),
            data_context: None,
        };
        assert!(matches!(
            locate(&ready(1, "http://h:1/?auth=t")),
            Ok(Location::Download { .. })
        ));
        assert!(
            matches!(locate(&ready(0, "AAEC")), Ok(Location::Inline(bytes)) if bytes == [0, 1, 2])
        );
        assert!(matches!(
            locate(&ready(0, "http://h:1/?auth=t")),
            Ok(Location::Download { .. })
        ));
        assert!(locate(&ready(0, "not base64!")).is_err());
    }

    #[test]
    fn default_names() {
        assert_eq!(
            StoreOptions::default().resolved_name(),
            ("data.bin".into(), "bin".into())
        );
        assert_eq!(
            StoreOptions::new("c").file_name("a.pdf").resolved_name(),
            ("a.pdf".into(), "pdf".into())
        );
    }
}
