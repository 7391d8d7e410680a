//! Large payloads that are never in memory: generated as they are read, checked as they are
//! written back.
//!
//! The bytes repeat with a period of 1 MiB + 7: copying them is a `memcpy` from a small table
//! (so generation costs both sides of a figure the same, and little), and the odd period
//! means that a chunk delivered at the wrong offset does not match.

use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const PERIOD: usize = (1 << 20) + 7;

fn table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // splitmix64: incompressible enough, and the same on every run.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut table = Vec::with_capacity(PERIOD + 8);
        while table.len() < PERIOD {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            table.extend_from_slice(&z.to_le_bytes());
        }
        table.truncate(PERIOD);
        table
    })
}

/// Fills `buf` with the payload bytes starting at `position`.
pub fn fill(position: u64, buf: &mut [u8]) {
    let table = table();
    let mut offset = (position % PERIOD as u64) as usize;
    let mut done = 0;
    while done < buf.len() {
        let n = (PERIOD - offset).min(buf.len() - done);
        buf[done..done + n].copy_from_slice(&table[offset..offset + n]);
        done += n;
        offset = 0;
    }
}

/// Whether `data` equals the payload bytes starting at `position`.
pub fn matches(position: u64, data: &[u8]) -> bool {
    let table = table();
    let mut offset = (position % PERIOD as u64) as usize;
    let mut done = 0;
    while done < data.len() {
        let n = (PERIOD - offset).min(data.len() - done);
        if data[done..done + n] != table[offset..offset + n] {
            return false;
        }
        done += n;
        offset = 0;
    }
    true
}

/// The payload's first `len` bytes in memory (for small payloads).
pub fn bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    fill(0, &mut buf);
    buf
}

/// An `AsyncRead` of `size` payload bytes.
pub struct Pattern {
    position: u64,
    size: u64,
}

impl Pattern {
    /// `size` bytes.
    pub fn new(size: u64) -> Self {
        Self { position: 0, size }
    }
}

impl AsyncRead for Pattern {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.size - self.position) as usize;
        let position = self.position;
        fill(position, buf.initialize_unfilled_to(n));
        buf.advance(n);
        self.position += n as u64;
        Poll::Ready(Ok(()))
    }
}

/// The payload as a stream of `chunk`-byte pieces (what a hand-written upload sends).
pub fn chunks(size: u64, chunk: usize) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    futures::stream::unfold(0u64, move |position| async move {
        if position >= size {
            return None;
        }
        let n = (size - position).min(chunk as u64) as usize;
        let mut buf = vec![0; n];
        fill(position, &mut buf);
        Some((Ok(Bytes::from(buf)), position + n as u64))
    })
}

/// Checks everything written against the payload.
#[derive(Debug, Default)]
pub struct Verify {
    position: u64,
    mismatch: bool,
}

impl Verify {
    /// Takes `data` as the next bytes.
    pub fn check(&mut self, data: &[u8]) {
        if !self.mismatch && !matches(self.position, data) {
            self.mismatch = true;
        }
        self.position += data.len() as u64;
    }

    /// Whether exactly `size` correct bytes were written.
    pub fn verified(&self, size: u64) -> bool {
        !self.mismatch && self.position == size
    }
}

impl AsyncWrite for Verify {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_agree_whatever_the_boundaries() {
        let whole = bytes(3 * PERIOD + 11);
        let mut verify = Verify::default();
        for piece in whole.chunks(65_536) {
            verify.check(piece);
        }
        assert!(verify.verified(whole.len() as u64));
        let mut shifted = Verify::default();
        shifted.check(&whole[1..]);
        assert!(!shifted.verified(whole.len() as u64 - 1));
        assert!(matches(PERIOD as u64 + 5, &whole[PERIOD + 5..PERIOD + 900]));
    }
}
