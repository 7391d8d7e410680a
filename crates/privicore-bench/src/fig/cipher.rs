//! Figure 4: client-side encryption throughput.
//!
//! SDK: the streaming path the vault uses, [`privicore::cipher::encrypt_reader`] over an
//! in-memory reader (64 KiB chunks) and [`privicore::cipher::decrypt_to_writer_unverified`] over 64 KiB
//! wire chunks into a sink; and the streaming primitive alone,
//! [`privicore::Encryptor::encrypt_in_place`] over 64 KiB chunks of the buffer, which tells
//! the cost of the cryptography from the cost of moving bytes through a reader. Baseline: the
//! `aes-gcm` crate on the whole buffer in memory, in place (no copy, no allocation: the
//! fastest use of that crate).
//!
//! Anchor: OpenSSL's AES-256-GCM (`openssl speed`, see [`crate::openssl`]) over a buffer of
//! the same size, run a few times between the SDK's rounds: as fast as this processor does
//! AES-GCM. The `*_vs_openssl` figures put the SDK's medians against OpenSSL's median; when
//! there is no `openssl` they say `openssl: not available` instead.

use std::time::Instant;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use bytes::Bytes;
use futures::TryStreamExt;
use privicore::VaultKey;
use privicore::cipher::{IV_LEN, TAG_LEN};
use serde_json::json;

use crate::fig::Ctx;
use crate::measure::{Pairs, interleave, median};
use crate::openssl::{Direction, OpenSsl};
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

    let mut anchor = Anchor::new(size, ctx.pick(1, 2));

    let gbps =
        |bytes: usize, started: Instant| bytes as f64 / started.elapsed().as_secs_f64() / 1e9;
    ctx.runtime.block_on(async {
        anchor.sample();
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

        anchor.sample();
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

        anchor.sample();

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
        let against_openssl = vec![
            anchor.figure("cipher_encrypt_vs_openssl", Direction::Encrypt, &encrypt),
            anchor.figure(
                "cipher_encrypt_in_place_vs_openssl",
                Direction::Encrypt,
                &in_place,
            ),
            anchor.figure("cipher_decrypt_vs_openssl", Direction::Decrypt, &decrypt),
        ];
        let mut figures = vec![
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
        ];
        figures.extend(against_openssl);
        Ok(figures)
    })
}

/// OpenSSL's throughput on this machine, sampled between the SDK's rounds.
struct Anchor {
    /// The `openssl` found, or why there is none.
    openssl: std::result::Result<OpenSsl, String>,
    bytes: usize,
    seconds: u32,
    encrypt: Vec<f64>,
    decrypt: Vec<f64>,
    /// The first `openssl speed` failure: no more samples are taken after it.
    failed: Option<String>,
}

impl Anchor {
    fn new(bytes: usize, seconds: u32) -> Self {
        Self {
            openssl: OpenSsl::find(),
            bytes,
            seconds,
            encrypt: Vec::new(),
            decrypt: Vec::new(),
            failed: None,
        }
    }

    /// One encryption and one decryption run of `openssl speed`.
    fn sample(&mut self) {
        let Ok(openssl) = &self.openssl else { return };
        if self.failed.is_some() {
            return;
        }
        let runs = openssl
            .speed(Direction::Encrypt, self.bytes, self.seconds)
            .and_then(|e| {
                Ok((
                    e,
                    openssl.speed(Direction::Decrypt, self.bytes, self.seconds)?,
                ))
            });
        match runs {
            Ok((encrypt, decrypt)) => {
                self.encrypt.push(encrypt);
                self.decrypt.push(decrypt);
            }
            Err(error) => self.failed = Some(error.to_string()),
        }
    }

    /// The SDK's median (of `pairs`) against OpenSSL's median in `direction`, held to 1.10;
    /// a line that says why when there is no OpenSSL figure.
    fn figure(&self, name: &str, direction: Direction, pairs: &Pairs<f64>) -> Figure {
        let openssl = match (&self.openssl, &self.failed) {
            (Err(why), _) => {
                return Figure::skipped(name, "GB/s", &format!("openssl: not available: {why}"));
            }
            (Ok(_), Some(error)) => {
                return Figure::skipped(name, "GB/s", &format!("openssl: speed failed: {error}"));
            }
            (Ok(openssl), None) => openssl,
        };
        let samples = match direction {
            Direction::Encrypt => &self.encrypt,
            Direction::Decrypt => &self.decrypt,
        };
        let (sdk, _) = pairs.medians(|v| *v);
        Figure::rate_against(
            name,
            "GB/s",
            sdk,
            median(samples.iter().copied()),
            Target::RatioAtMost { max: 1.10 },
        )
        .with_detail(json!({
            "what": "the SDK's median (the same rounds as the figure without `_vs_openssl`) against the median of `openssl speed -mr -elapsed -evp aes-256-gcm` runs over a buffer of the same size, taken before, between and after the SDK's rounds",
            "openssl_version": openssl.version,
            "openssl_direction": format!("{direction:?}"),
            "openssl_seconds_per_run": self.seconds,
            "bytes": self.bytes,
            "sdk_engine": privicore::cipher::engine(),
            "sdk_gb_per_s": pairs.sdk,
            "openssl_gb_per_s": samples,
        }))
    }
}

fn check_len(got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("expected {want} bytes, got {got}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(openssl: std::result::Result<OpenSsl, String>, failed: Option<&str>) -> Anchor {
        Anchor {
            openssl,
            bytes: 1024,
            seconds: 1,
            encrypt: vec![2.0, 1.0, 3.0],
            decrypt: vec![4.0, 4.0, 4.0],
            failed: failed.map(str::to_owned),
        }
    }

    #[test]
    fn the_anchor_figures_put_the_sdk_median_against_openssl_or_say_why_not() {
        let pairs = Pairs {
            sdk: vec![1.0, 2.5, 4.0],
            baseline: vec![9.0, 9.0, 9.0],
        };
        let found = || {
            Ok(OpenSsl {
                version: "OpenSSL 3.0.19".into(),
            })
        };
        let encrypt = anchor(found(), None).figure("e", Direction::Encrypt, &pairs);
        assert_eq!(
            encrypt.line(),
            "bench e: 2.50 GB/s (baseline 2, ratio 0.80)"
        );
        let decrypt = anchor(found(), None).figure("d", Direction::Decrypt, &pairs);
        assert_eq!(
            decrypt.line(),
            "bench d: 2.50 GB/s (baseline 4, ratio 1.60)"
        );
        assert_eq!(decrypt.met, Some(false), "held to 1.10");

        let missing =
            anchor(Err("no such file".into()), None).figure("e", Direction::Encrypt, &pairs);
        assert_eq!(
            missing.line(),
            "bench e: skipped (openssl: not available: no such file)"
        );
        let failed = anchor(found(), Some("exit 1")).figure("e", Direction::Encrypt, &pairs);
        assert_eq!(
            failed.line(),
            "bench e: skipped (openssl: speed failed: exit 1)"
        );
    }
}
