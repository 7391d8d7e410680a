//! Asynchronous adapters over the streaming types: [`encrypt_reader`] and
//! [`decrypt_to_writer_unverified`].

use std::io;

use bytes::{Bytes, BytesMut};
use futures::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use zeroize::Zeroize;

use super::{CipherError, Encryptor, Engine, STREAM_CHUNK_LEN, chunks};
use crate::vault_key::VaultKey;

enum ReaderState<R> {
    Iv(Box<Encryptor>, R),
    Body(Box<Encryptor>, R),
    Tag(Box<Encryptor>),
    /// The encryptor could not start (see [`Encryptor::new`]).
    Failed(CipherError),
    Done,
}

/// A buffer of plaintext read for encryption, zeroized when dropped: on a read or cipher
/// error, or when the stream is dropped while a read is pending, it still holds plaintext
/// (issue 15). A chunk that is encrypted in place leaves it with [`std::mem::take`].
struct WipeOnDrop<B: AsMut<[u8]>>(B);

impl<B: AsMut<[u8]>> Drop for WipeOnDrop<B> {
    fn drop(&mut self) {
        self.0.as_mut().zeroize();
    }
}

fn tag_chunk(enc: Encryptor) -> Bytes {
    Bytes::copy_from_slice(&enc.finish())
}

/// Encrypts everything `reader` yields into a stream of wire chunks: the IV first, then
/// ciphertext in chunks of up to [`STREAM_CHUNK_LEN`] (64 KiB), then the 16-byte tag.
/// Memory use stays around one chunk whatever the size of the input.
///
/// Runs on the process-wide engine ([`Engine::from_env`]). The stream ends after the first
/// error: a read error, or a [`CipherError`] ([`CipherError::TooLong`], or an engine error as
/// for [`Encryptor::new`], which comes first, before any IV) wrapped in an [`io::Error`] of
/// kind `Other`. It is `Send` when the reader is.
///
/// # Panics
///
/// Only if the operating system cannot provide random bytes for the IV.
///
/// ```
/// use futures::TryStreamExt;
/// use privicore::VaultKey;
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let key = VaultKey::generate();
/// let chunks: Vec<bytes::Bytes> =
///     privicore::cipher::encrypt_reader(&key, &b"hello"[..]).try_collect().await?;
/// let wire = chunks.concat();
/// assert_eq!(privicore::cipher::decrypt(&key, &wire).ok(), Some(b"hello".to_vec()));
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn encrypt_reader<R>(
    key: &VaultKey,
    reader: R,
) -> impl Stream<Item = io::Result<Bytes>> + use<R>
where
    R: AsyncRead,
{
    reader_stream(Encryptor::new(key), reader)
}

/// [`encrypt_reader`] on the given engine; an engine this processor cannot run makes the
/// stream's first item [`CipherError::EngineUnavailable`].
///
/// # Panics
///
/// Only if the operating system cannot provide random bytes for the IV.
pub fn encrypt_reader_with<R>(
    engine: Engine,
    key: &VaultKey,
    reader: R,
) -> impl Stream<Item = io::Result<Bytes>> + use<R>
where
    R: AsyncRead,
{
    reader_stream(Encryptor::with_engine(engine, key), reader)
}

fn reader_stream<R>(
    encryptor: Result<Encryptor, CipherError>,
    reader: R,
) -> impl Stream<Item = io::Result<Bytes>> + use<R>
where
    R: AsyncRead,
{
    let state = match encryptor {
        Ok(enc) => ReaderState::Iv(Box::new(enc), Box::pin(reader)),
        Err(err) => ReaderState::Failed(err),
    };
    futures::stream::try_unfold(state, |state| async move {
        match state {
            ReaderState::Failed(err) => Err(io::Error::other(err)),
            ReaderState::Iv(enc, reader) => {
                let iv = Bytes::copy_from_slice(&enc.iv());
                Ok(Some((iv, ReaderState::Body(enc, reader))))
            }
            ReaderState::Body(mut enc, mut reader) => {
                let mut buf = WipeOnDrop(BytesMut::with_capacity(STREAM_CHUNK_LEN));
                let mut eof = false;
                while buf.0.len() < STREAM_CHUNK_LEN {
                    if reader.read_buf(&mut buf.0).await? == 0 {
                        eof = true;
                        break;
                    }
                }
                if buf.0.is_empty() {
                    return Ok(Some((tag_chunk(*enc), ReaderState::Done)));
                }
                enc.encrypt_in_place(&mut buf.0).map_err(io::Error::other)?;
                // Ciphertext now: it leaves the guard unwiped.
                let ciphertext = std::mem::take(&mut buf.0);
                // At end of input the tag goes out on the next poll, without reading again.
                let next = if eof {
                    ReaderState::Tag(enc)
                } else {
                    ReaderState::Body(enc, reader)
                };
                Ok(Some((ciphertext.freeze(), next)))
            }
            ReaderState::Tag(enc) => Ok(Some((tag_chunk(*enc), ReaderState::Done))),
            ReaderState::Done => Ok(None),
        }
    })
}

/// Why [`decrypt_to_writer_unverified`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptStreamError<E> {
    /// The input stream yielded an error.
    #[error("reading the encrypted stream failed")]
    Source(#[source] E),
    /// Writing (or flushing) the plaintext failed.
    #[error("writing the decrypted data failed")]
    Write(#[source] io::Error),
    /// The payload is malformed or not authentic ([`CipherError::TagMismatch`] in particular).
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// The decryption stopped before the end of the stream (its task ended abnormally), so
    /// the tag was never checked: nothing written is authentic.
    #[error("the decryption stopped before the end of the payload")]
    Interrupted,
}

/// Decrypts a stream of wire chunks (with arbitrary boundaries) into `writer`, in bounded
/// memory, on the process-wide engine ([`Engine::from_env`]), and returns the number of
/// plaintext bytes written once the tag has been verified.
///
/// **The bytes written are unverified until this function returns `Ok`.** Plaintext is
/// written as it is decrypted, before the tag at the end can be checked, and an attacker who
/// altered the ciphertext chose it. The caller decides what makes the output final: for
/// instance, write to a temporary file and rename it only after `Ok`. On any error the writer
/// may hold any prefix of the unauthenticated plaintext, and the caller must discard all of
/// it (delete the temporary file, truncate the buffer) and use none of it.
///
/// The writer is flushed, not shut down, before `Ok` is returned.
///
/// # Errors
///
/// [`DecryptStreamError::Source`] for an error from the stream,
/// [`DecryptStreamError::Write`] for an error from the writer, and
/// [`DecryptStreamError::Cipher`] when the payload is too short, too long or not authentic,
/// or the process-wide engine cannot run (as for [`Encryptor::new`]).
///
/// ```
/// use privicore::VaultKey;
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let key = VaultKey::generate();
/// let wire = privicore::cipher::encrypt(&key, b"hello").expect("short payload");
/// let chunks = futures::stream::iter(
///     wire.chunks(7).map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c))),
/// );
/// let mut out = Vec::new();
/// let written = privicore::cipher::decrypt_to_writer_unverified(&key, chunks, &mut out).await;
/// assert_eq!(written.ok(), Some(5));
/// assert_eq!(out, b"hello");
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn decrypt_to_writer_unverified<S, B, E, W>(
    key: &VaultKey,
    stream: S,
    writer: &mut W,
) -> Result<u64, DecryptStreamError<E>>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    W: AsyncWrite + Unpin + ?Sized,
{
    let engine = Engine::from_env().map_err(DecryptStreamError::Cipher)?;
    chunks::write_plaintext(chunks::decrypt_chunks(engine, key, stream), writer).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plaintext_read_buffer_is_zeroized_when_dropped() {
        let mut bytes = [0xAAu8; 64];
        drop(WipeOnDrop(&mut bytes[..]));
        let left = bytes.iter().filter(|b| **b != 0).count();
        assert_eq!(left, 0, "{left} of {} bytes not wiped", bytes.len());
    }
}
