//! Figure 4: client-side encryption throughput.
//!
//! SDK: the streaming path the vault uses, [`privicore::cipher::encrypt_reader`] over an
//! in-memory reader (64 KiB chunks) and [`privicore::cipher::decrypt_to_writer_unverified`] over 64 KiB
//! wire chunks into a sink; and the streaming primitive alone,
//! [`privicore::Encryptor::encrypt_in_place`] over 64 KiB chunks of the buffer, which tells
//! the cost of the cryptography from the cost of moving bytes through a reader. Baseline: the
//! `aes-gcm` crate on the whole buffer in memory, in place (no copy, no allocation: the
//! fastest use of that crate).

use std::time::Instant;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use bytes::Bytes;
use futures::TryStreamExt;
use privicore::VaultKey;
use privicore::cipher::{IV_LEN, TAG_LEN};
use serde_json::json;

use crate::fig::Ctx;
use crate::measure::interleave;
use crate::report::{Figure, Target};
use crate::{Result, payload};

const MIB: usize = 1024 * 1024;
const CHUNK: usize = privicore::cipher::STREAM_CHUNK_LEN;

/// Measures the figure.
pub fn run(ctx: &Ctx) -> Result<Vec<Figure>> {
    // Short samples, many rounds: this machine's speed flips between states (other builds,
    // shared cores) every few tens of milliseconds, and a pair of samples must see the same.
    let size = ctx.pick(16 * MIB, 64 * MIB);
    let rounds = ctx.pick(41, 61);
    let mut key_bytes = [0u8; 32];
    getrandom::fill(&mut key_bytes).map_err(|e| format!("no random key: {e}"))?;
    let key = VaultKey::from_bytes(&key_bytes)?;
    let gcm = Aes256Gcm::new_from_slice(&key_bytes).map_err(|_| "a 32-byte key")?;
    let nonce = [7u8; IV_LEN];

    let plaintext = payload::bytes(size);
    // The SDK's wire format, cut into the chunks a download would deliver.
    let wire = Bytes::from(privicore::cipher::encrypt(&key, &plaintext)?);
    let wire_chunks: Vec<Bytes> = (0..wire.len())
        .step_by(CHUNK)
        .map(|at| wire.slice(at..(at + CHUNK).min(wire.len())))
        .collect();
    // The baseline's buffer: encrypted in place, again and again (the keystream XOR costs
    // the same whatever the bytes).
    let mut buffer = plaintext.clone();
    // The baseline decrypts its own ciphertext in place, then re-encrypts it untimed.
    let mut sealed = plaintext.clone();
    let mut tag = gcm
        .encrypt_inout_detached(&nonce.into(), &[], sealed.as_mut_slice().into())
        .map_err(|_| "aes-gcm refused the buffer")?;

    let gbps =
        |bytes: usize, started: Instant| bytes as f64 / started.elapsed().as_secs_f64() / 1e9;
    ctx.runtime.block_on(async {
        let encrypt = interleave(
            rounds,
            async || {
                let started = Instant::now();
                let mut out = 0usize;
                let mut stream = std::pin::pin!(privicore::cipher::encrypt_reader(&key, plaintext.as_slice()));
                while let Some(chunk) = stream.try_next().await? {
                    out += chunk.len();
                }
                let rate = gbps(size, started);
                check_len(out, size + IV_LEN + TAG_LEN)?;
                Ok(rate)
            },
            async || {
                let started = Instant::now();
                let tag = gcm
                    .encrypt_inout_detached(&nonce.into(), &[], buffer.as_mut_slice().into())
                    .map_err(|_| "aes-gcm refused the buffer")?;
                let rate = gbps(size, started);
                std::hint::black_box(tag);
                Ok(rate)
            },
        )
        .await?;

        let mut chunked = plaintext.clone();
        let in_place = interleave(
            rounds,
            async || {
                let started = Instant::now();
                let mut encryptor = privicore::Encryptor::new(&key)?;
                for chunk in chunked.chunks_mut(CHUNK) {
                    encryptor.encrypt_in_place(chunk)?;
                }
                let tag = encryptor.finish();
                let rate = gbps(size, started);
                std::hint::black_box(tag);
                Ok(rate)
            },
            async || {
                let started = Instant::now();
                let tag = gcm
                    .encrypt_inout_detached(&nonce.into(), &[], buffer.as_mut_slice().into())
                    .map_err(|_| "aes-gcm refused the buffer")?;
                let rate = gbps(size, started);
                std::hint::black_box(tag);
                Ok(rate)
            },
        )
        .await?;

        let decrypt = interleave(
            rounds,
            async || {
                let started = Instant::now();
                let chunks = futures::stream::iter(wire_chunks.iter().cloned().map(Ok::<_, std::io::Error>));
                let written = privicore::cipher::decrypt_to_writer_unverified(&key, chunks, &mut tokio::io::sink())
                    .await
                    .map_err(|e| format!("the SDK did not decrypt: {e}"))?;
                let rate = gbps(size, started);
                check_len(written as usize, size)?;
                Ok(rate)
            },
            async || {
                let started = Instant::now();
                gcm.decrypt_inout_detached(&nonce.into(), &[], sealed.as_mut_slice().into(), &tag)
                    .map_err(|_| "aes-gcm did not decrypt")?;
                let rate = gbps(size, started);
                tag = gcm
                    .encrypt_inout_detached(&nonce.into(), &[], sealed.as_mut_slice().into())
                    .map_err(|_| "aes-gcm refused the buffer")?;
                Ok(rate)
            },
        )
        .await?;

        let target = Target::RatioAtMostValueAtLeast { max: 1.10, min: 1.0 };
        let figure = |name: &str, what: &str, pairs: crate::measure::Pairs<f64>| {
            Figure::rates(name, "GB/s", &pairs, target).with_detail(json!({
                "what": what,
                "bytes": size,
                "rounds_per_side": rounds,
                "sdk_gb_per_s": pairs.sdk,
                "baseline_gb_per_s": pairs.baseline,
            }))
        };
        Ok(vec![
            figure(
                "cipher_encrypt",
                "privicore::cipher::encrypt_reader (64 KiB chunks, async) vs aes-gcm encrypt_inout_detached on the whole buffer in place",
                encrypt,
            ),
            figure(
                "cipher_encrypt_in_place",
                "privicore::Encryptor::encrypt_in_place over 64 KiB chunks of the buffer (no copy) vs aes-gcm encrypt_inout_detached on the whole buffer in place",
                in_place,
            ),
            figure(
                "cipher_decrypt",
                "privicore::cipher::decrypt_to_writer_unverified (64 KiB wire chunks into a sink) vs aes-gcm decrypt_inout_detached on the whole buffer in place",
                decrypt,
            ),
        ])
    })
}

fn check_len(got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("expected {want} bytes, got {got}").into())
    }
}
