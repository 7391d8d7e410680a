//! Stores and retrieves a large generated payload through the stream path, verifying every
//! byte on the way back, and prints the time taken and this process's peak memory.
//!
//! Neither the payload nor the ciphertext is ever held in memory: the payload is generated
//! as it is read and checked as it is written back. To measure the SDK alone, run the mock
//! in another process (it keeps the ciphertext in memory):
//!
//! ```sh
//! cargo run --release -p privicore-mock -- --port 18009 &
//! PRIVICORE_API_URL=http://127.0.0.1:18009 PRIVICORE_WS_URL=ws://127.0.0.1:18010 \
//!     cargo run --release -p privicore --example large_roundtrip -- 1024
//! ```
//!
//! The argument is the size in MiB: by default 1024 against a server named in the environment,
//! 64 against the embedded mock (which holds the whole ciphertext in this process's memory,
//! and is what CI runs every example against).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use privicore::{KeyPair, StoreOptions, VaultKey};
use secrecy::SecretString;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[path = "common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, mock) = common::client().await?;
    let default_mib = if mock.is_some() { 64 } else { 1024 };
    let mib: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(default_mib);
    let size = mib * 1024 * 1024;
    if mock.is_some() {
        eprintln!(
            "note: the mock runs in this process, so the peak memory below includes the stored ciphertext"
        );
    }
    let name = format!("large-{}@privicore.test", std::process::id());
    let session = client
        .provision(
            &name,
            SecretString::from("a long passphrase".to_string()),
            &KeyPair::generate(),
        )
        .await?;
    let vault = session.vault(VaultKey::generate());

    let started = Instant::now();
    let token = vault
        .store_reader(Pattern::new(size), &StoreOptions::new("large"))
        .await?;
    let stored = started.elapsed();
    let started = Instant::now();
    let mut check = Verify::new(size);
    // Unverified bytes are fine here: `Verify` only compares them, and an error ends the run.
    let written = vault
        .retrieve_to_writer_unverified(&token, &mut check)
        .await?;
    let retrieved = started.elapsed();
    if written != size || check.position != size || check.mismatch {
        return Err(format!(
            "verification failed: {written} bytes back, mismatch {}",
            check.mismatch
        )
        .into());
    }
    println!("round trip of {mib} MiB verified byte for byte");
    println!(
        "store {:.2} s ({:.0} MiB/s), retrieve {:.2} s ({:.0} MiB/s)",
        stored.as_secs_f64(),
        mib as f64 / stored.as_secs_f64(),
        retrieved.as_secs_f64(),
        mib as f64 / retrieved.as_secs_f64()
    );
    println!(
        "peak memory (VmHWM) of this process: {}",
        peak_memory().unwrap_or_else(|| "unknown".into())
    );
    Ok(())
}

/// The kernel's record of this process's peak resident memory.
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .map(|l| l["VmHWM:".len()..].trim().to_string())
}

/// The byte at `position` of the generated payload.
fn byte_at(position: u64) -> u8 {
    let mut x = position.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (position >> 29);
    x ^= x >> 31;
    (x.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 56) as u8
}

/// Generates the payload as it is read.
struct Pattern {
    position: u64,
    size: u64,
}

impl Pattern {
    fn new(size: u64) -> Self {
        Self { position: 0, size }
    }
}

impl AsyncRead for Pattern {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.size - self.position) as usize;
        let start = self.position;
        let chunk: Vec<u8> = (0..n as u64).map(|i| byte_at(start + i)).collect();
        buf.put_slice(&chunk);
        self.position += n as u64;
        Poll::Ready(Ok(()))
    }
}

/// Checks what is written back against the generated payload.
struct Verify {
    position: u64,
    size: u64,
    mismatch: bool,
}

impl Verify {
    fn new(size: u64) -> Self {
        Self {
            position: 0,
            size,
            mismatch: false,
        }
    }
}

impl AsyncWrite for Verify {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let start = self.position;
        if start + data.len() as u64 > self.size
            || data
                .iter()
                .enumerate()
                .any(|(i, b)| *b != byte_at(start + i as u64))
        {
            self.mismatch = true;
        }
        self.position += data.len() as u64;
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
