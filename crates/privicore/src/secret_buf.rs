//! Plaintext buffers that leave no copy behind: wiped when dropped, and, when they grow,
//! wiped in their old allocation too.
//!
//! Why: a `Vec<u8>` that grows copies its bytes to a new allocation and frees the old one as
//! it is, so a payload read or decrypted into a growing vector leaves pieces of itself in
//! freed memory. Ciphertext may be left anywhere; plaintext (what the caller handed to
//! `store`, what a download decrypted before its tag verified) only in buffers that are
//! zeroed when released.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use zeroize::{Zeroize, Zeroizing};

/// A growable plaintext buffer, zeroed when dropped and in every allocation it leaves.
#[derive(Default)]
pub(crate) struct SecretBuf {
    bytes: Zeroizing<Vec<u8>>,
}

impl SecretBuf {
    /// An empty buffer with room for `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            bytes: Zeroizing::new(Vec::with_capacity(capacity)),
        }
    }

    /// The bytes held.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// Appends `more`, moving to a larger allocation first if needed (the old one is wiped).
    pub(crate) fn extend_from_slice(&mut self, more: &[u8]) {
        if self.bytes.capacity() - self.bytes.len() < more.len() {
            drop(self.grow(more.len()));
        }
        self.bytes.extend_from_slice(more);
    }

    /// Moves the bytes to an allocation with room for `more` besides them (at least double
    /// the old one), and returns the old allocation, wiped (returned so that a test can see
    /// that it was).
    fn grow(&mut self, more: usize) -> Vec<u8> {
        let needed = self.bytes.len().saturating_add(more);
        let capacity = needed.max(self.bytes.capacity().saturating_mul(2)).max(64);
        let mut larger = Vec::with_capacity(capacity);
        larger.extend_from_slice(&self.bytes);
        let mut old = std::mem::replace(&mut *self.bytes, larger);
        wipe_keeping_len(&mut old);
        old
    }

    /// The plaintext, handed over to the caller (who owns it from here: nothing is wiped).
    pub(crate) fn into_vec(mut self) -> Vec<u8> {
        std::mem::take(&mut *self.bytes)
    }

    /// The bytes as a reader that keeps them wiped-on-drop while it is read.
    pub(crate) fn into_reader(self) -> SecretReader {
        SecretReader { bytes: self, at: 0 }
    }
}

/// Zeroes every byte of `buffer`, leaving its length as it was.
fn wipe_keeping_len(buffer: &mut [u8]) {
    buffer.zeroize();
}

impl AsyncWrite for SecretBuf {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A reader over a [`SecretBuf`]; the bytes are wiped when the reader is dropped.
pub(crate) struct SecretReader {
    bytes: SecretBuf,
    at: usize,
}

impl AsyncRead for SecretReader {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let rest = &this.bytes.as_slice()[this.at..];
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

/// Reads from `reader` until it ends or `limit` bytes have been read, into a [`SecretBuf`].
pub(crate) async fn read_up_to<R>(reader: &mut R, limit: u64) -> std::io::Result<SecretBuf>
where
    R: AsyncRead + Unpin + ?Sized,
{
    const STEP: usize = 16 * 1024;
    let mut out = SecretBuf::with_capacity(usize::try_from(limit).unwrap_or(usize::MAX).min(STEP));
    let mut chunk = Zeroizing::new([0u8; STEP]);
    let mut left = limit;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(STEP);
        let n = reader.read(&mut chunk[..want]).await?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
        left -= n as u64;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn growing_wipes_the_allocation_it_leaves() {
        let mut buf = SecretBuf::with_capacity(8);
        buf.extend_from_slice(&[0xAA; 8]);
        let old = buf.grow(100);
        println!("old allocation after the move: {old:02x?}");
        assert_eq!(old.len(), 8, "the old bytes are all looked at");
        assert!(old.iter().all(|b| *b == 0), "wiped: {old:02x?}");
        assert_eq!(buf.as_slice(), [0xAA; 8], "the bytes moved over whole");
        assert!(buf.bytes.capacity() >= 108);
    }

    #[tokio::test]
    async fn writes_and_reads_give_the_bytes_back_whole() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut buf = SecretBuf::default();
        for piece in data.chunks(777) {
            buf.write_all(piece).await.expect("in memory");
        }
        assert!(buf.as_slice() == data.as_slice());
        let mut reader = buf.into_reader();
        let back = read_up_to(&mut reader, 60_000).await.expect("in memory");
        assert!(back.as_slice() == &data[..60_000]);
        let rest = read_up_to(&mut reader, u64::MAX).await.expect("in memory");
        assert!(rest.into_vec() == data[60_000..]);
    }
}
