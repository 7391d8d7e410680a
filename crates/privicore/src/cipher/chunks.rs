//! Streaming decryption as a stream of plaintext chunks, for the vault's download pipeline.
//!
//! [`decrypt_chunks`] turns wire chunks into plaintext chunks; [`write_plaintext`] writes them
//! out. Between the two the vault puts a task boundary ([`crate::pipeline::ahead`]), so that
//! decryption runs beside the socket reads and the writes. Each plaintext chunk lives in a
//! buffer from a small pool and goes back to it when the writer is done with it: a download
//! of any size reuses the same few buffers, with no allocation, zero-filling or page faults
//! per chunk (allocating a fresh buffer for every chunk cost as much CPU as the decryption,
//! measured in issue 7). A buffer is wiped each time it comes back, not only when it is
//! freed (issue 15): a spare buffer must not keep the last chunk's provisional plaintext
//! for the rest of the transfer. Only the bytes the chunk used are wiped: everything else in
//! a pooled buffer is already zero, so the cost is one pass over the plaintext per chunk.

use std::sync::{Arc, Mutex, PoisonError};

use futures::{Stream, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use zeroize::Zeroize;

use super::{DecryptStreamError, Decryptor, Engine};
use crate::vault_key::VaultKey;

/// Buffers kept for reuse: as many as can be in flight in the pipeline, plus the one being
/// filled and the one being written.
const POOLED: usize = crate::pipeline::DEPTH + 2;

/// Spare plaintext buffers, shared by a decryption and the chunks it has handed out.
#[derive(Default)]
struct Pool {
    spare: Mutex<Vec<Vec<u8>>>,
}

impl Pool {
    fn take(&self) -> Vec<u8> {
        self.spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    /// Takes `buffer` back after wiping its first `used` bytes, whether it is kept or freed.
    ///
    /// Invariant: every byte within the length of a pooled buffer is zero. A buffer leaves
    /// the pool that way, `Decryptor::release_into` writes only within the length it sets
    /// (and zeroizes the whole buffer when it fails), and a chunk's plaintext is its first
    /// `used` bytes; so wiping those restores the invariant. The length is kept, so that the
    /// next release does not zero-fill the buffer again.
    fn give_back(&self, mut buffer: Vec<u8>, used: usize) {
        let used = used.min(buffer.len());
        buffer[..used].zeroize();
        let mut spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
        if spare.len() < POOLED {
            spare.push(buffer);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let spare = self.spare.get_mut().unwrap_or_else(PoisonError::into_inner);
        // Already wiped when they came back (see `give_back`); wiped again whole, capacity
        // included, as the last line of defence before the memory is freed.
        for buffer in spare.iter_mut() {
            buffer.zeroize();
        }
    }
}

/// A chunk of provisional plaintext. Its buffer returns to the pool when it is dropped.
pub(crate) struct PlainChunk {
    buffer: Vec<u8>,
    len: usize,
    pool: Arc<Pool>,
}

impl AsRef<[u8]> for PlainChunk {
    fn as_ref(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

impl Drop for PlainChunk {
    fn drop(&mut self) {
        self.pool
            .give_back(std::mem::take(&mut self.buffer), self.len);
    }
}

/// Decrypts a stream of wire chunks into a stream of plaintext chunks on `engine`. **The
/// chunks are provisional**: the stream ends with `None` only once the tag has been verified,
/// and with an error (then `None`) otherwise. A chunk's plaintext is zeroized when the chunk
/// is dropped.
pub(crate) fn decrypt_chunks<S, B, E>(
    engine: Engine,
    key: &VaultKey,
    stream: S,
) -> impl Stream<Item = Result<PlainChunk, DecryptStreamError<E>>> + use<S, B, E>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    let pool = Arc::new(Pool::default());
    let state = Some((
        Box::pin(stream),
        Box::new(Decryptor::with_engine(engine, key)),
    ));
    futures::stream::unfold(state, move |state| {
        let pool = pool.clone();
        async move {
            let (mut stream, mut decryptor) = state?;
            loop {
                let failed = match stream.next().await {
                    Some(Ok(wire)) => {
                        let mut buffer = pool.take();
                        match decryptor.release_into(wire.as_ref(), &mut buffer) {
                            Ok(0) => {
                                pool.give_back(buffer, 0);
                                continue;
                            }
                            Ok(len) => {
                                let chunk = PlainChunk { buffer, len, pool };
                                return Some((Ok(chunk), Some((stream, decryptor))));
                            }
                            Err(err) => DecryptStreamError::Cipher(err),
                        }
                    }
                    Some(Err(err)) => DecryptStreamError::Source(err),
                    None => match decryptor.finish() {
                        Ok(()) => return None,
                        Err(err) => DecryptStreamError::Cipher(err),
                    },
                };
                return Some((Err(failed), None));
            }
        }
    })
}

/// Writes the chunks of [`decrypt_chunks`] to `writer`, flushes it once the stream has ended
/// verified, and returns the number of bytes written.
pub(crate) async fn write_plaintext<S, C, E, W>(
    chunks: S,
    writer: &mut W,
) -> Result<u64, DecryptStreamError<E>>
where
    S: Stream<Item = Result<C, DecryptStreamError<E>>>,
    C: AsRef<[u8]>,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut chunks = std::pin::pin!(chunks);
    let mut written: u64 = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        let bytes = chunk.as_ref();
        writer
            .write_all(bytes)
            .await
            .map_err(DecryptStreamError::Write)?;
        written += bytes.len() as u64;
    }
    writer.flush().await.map_err(DecryptStreamError::Write)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire_chunks(
        key: &VaultKey,
        len: usize,
        chunk: usize,
    ) -> (Vec<u8>, Vec<Result<Vec<u8>, ()>>) {
        let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let wire = super::super::encrypt(key, &plaintext).expect("encrypts");
        let chunks = wire.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
        (plaintext, chunks)
    }

    #[tokio::test]
    async fn a_consumer_that_drops_each_chunk_gets_the_same_buffer_back_every_time() {
        let key = VaultKey::generate();
        let (plaintext, chunks) = wire_chunks(&key, 100 * 4096, 4096);
        let mut stream = std::pin::pin!(decrypt_chunks(
            Engine::Auto,
            &key,
            futures::stream::iter(chunks)
        ));
        let mut buffers = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.expect("authentic");
            buffers.insert(chunk.buffer.as_ptr() as usize);
            out.extend_from_slice(chunk.as_ref());
        }
        assert!(out == plaintext, "the plaintext comes back whole");
        // The first release is shorter (the IV and the held-back tag come off it), so the
        // buffer grows once; after that it is the same one for every chunk.
        assert!(
            buffers.len() <= 2,
            "{} buffers for 100 chunks",
            buffers.len()
        );
    }

    #[tokio::test]
    async fn a_consumer_that_keeps_chunks_gets_fresh_buffers_and_the_pool_stays_bounded() {
        let key = VaultKey::generate();
        let (plaintext, chunks) = wire_chunks(&key, 50 * 1000 + 3, 1000);
        let stream = decrypt_chunks(Engine::Auto, &key, futures::stream::iter(chunks));
        let kept: Vec<PlainChunk> = stream.map(|c| c.expect("authentic")).collect().await;
        assert!(kept.concat_bytes() == plaintext);
        let pool = kept[0].pool.clone();
        drop(kept);
        assert_eq!(pool.spare.lock().expect("not poisoned").len(), POOLED);
    }

    #[test]
    fn a_buffer_given_back_comes_out_of_the_pool_all_zero() {
        let pool = Pool::default();
        let mut buffer = pool.take();
        buffer.resize(4096, 0xAA);
        pool.give_back(buffer, 4096);
        let back = pool.take();
        assert_eq!(
            back.len(),
            4096,
            "the length is kept (no zero-fill on the next release)"
        );
        let left = back.iter().filter(|b| **b != 0).count();
        assert_eq!(left, 0, "{left} of {} bytes not wiped", back.len());
    }

    #[tokio::test]
    async fn a_chunk_dropped_by_its_consumer_leaves_no_plaintext_in_the_pool() {
        let key = VaultKey::generate();
        // One release: 5000 bytes of a pattern with no zero byte.
        let plaintext = vec![0x5Cu8; 5000];
        let wire = super::super::encrypt(&key, &plaintext).expect("encrypts");
        let chunks = vec![Ok::<_, ()>(wire)];
        let mut stream = std::pin::pin!(decrypt_chunks(
            Engine::Auto,
            &key,
            futures::stream::iter(chunks)
        ));
        let chunk = stream.next().await.expect("a chunk").expect("authentic");
        assert!(chunk.as_ref() == plaintext.as_slice());
        let pool = chunk.pool.clone();
        drop(chunk);
        let back = pool.take();
        assert_eq!(back.len(), plaintext.len(), "the chunk's buffer is back");
        let left = back.iter().filter(|b| **b != 0).count();
        assert_eq!(left, 0, "{left} of {} plaintext bytes left", back.len());
    }

    trait Concat {
        fn concat_bytes(&self) -> Vec<u8>;
    }

    impl Concat for Vec<PlainChunk> {
        fn concat_bytes(&self) -> Vec<u8> {
            self.iter()
                .flat_map(|c| c.as_ref().iter().copied())
                .collect()
        }
    }

    #[tokio::test]
    async fn a_tampered_stream_ends_with_the_tag_error() {
        let key = VaultKey::generate();
        let (_, mut chunks) = wire_chunks(&key, 10_000, 999);
        if let Some(Ok(last)) = chunks.last_mut()
            && let Some(byte) = last.last_mut()
        {
            *byte ^= 1;
        }
        let items: Vec<_> = decrypt_chunks(Engine::Auto, &key, futures::stream::iter(chunks))
            .collect()
            .await;
        assert!(matches!(
            items.last(),
            Some(Err(DecryptStreamError::Cipher(
                super::super::CipherError::TagMismatch
            )))
        ));
        assert!(items[..items.len() - 1].iter().all(Result::is_ok));
    }
}
