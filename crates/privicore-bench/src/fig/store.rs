//! Figure 2: 1,000 small stores, 64 in flight on one session.
//!
//! SDK: `vault.store(payload, options)`. Baseline: the same six steps by hand on one reqwest
//! pool and one WebSocket: reserve-token-space, its ack, retrieve-temporary-data-token,
//! AES-256-GCM with the `aes-gcm` crate and base64, exchange-data-for-token, its ack,
//! configure-file-meta. The two sides use different profiles: the mock pushes a profile's
//! acks to every socket joined for it, and neither side should read the other's.

use std::time::Instant;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine as _;
use futures::{StreamExt, TryStreamExt};
use privicore::{StoreOptions, VaultKey};
use privicore_mock::MockServer;
use serde_json::{Value, json};

use crate::alloc::Counter;
use crate::fig::Ctx;
use crate::measure::interleave;
use crate::mock::InProcess;
use crate::raw::{self, Raw, Temporary, Urls};
use crate::report::{Figure, Target};
use crate::{Result, payload, sdk};

/// Stores per round.
const STORES: usize = 1000;
/// Stores in flight.
const IN_FLIGHT: usize = 64;
/// Plaintext bytes per store: well under the inline threshold.
const PAYLOAD: usize = 1024;

/// Measures the figure.
pub fn run(ctx: &Ctx) -> Result<Vec<Figure>> {
    // The mock's default 5 ms ack delay stays: a real engine does not ack instantly, and the
    // SDK must keep 64 commands in flight across it.
    let mock = InProcess::start(MockServer::builder().record_limit(0))?;
    // Each round is 1,000 stores (a third of a second or so); the spread between rounds on a
    // shared machine is wide, so there are many.
    let rounds = ctx.pick(6, 20);
    ctx.runtime.block_on(async {
        let client = sdk::client(&mock.api(), &mock.ws())?;
        let (_, session) = sdk::provision(&client, "store-sdk").await?;
        let vault = session.vault(VaultKey::generate());
        let options = StoreOptions::new("bench");

        let (raw_user, _raw_setup) = sdk::provision(&client, "store-raw").await?;
        let mut raw = Raw::login(&mock.api(), &raw_user, sdk::PASSWORD).await?;
        raw.connect_acks(&mock.ws()).await?;
        let urls = Urls::new(&mock.api());
        let cipher = Baseline::new()?;
        let data = payload::bytes(PAYLOAD);

        let sdk_batch = async |count: usize| -> Result<()> {
            futures::stream::iter(0..count)
                .map(|_| vault.store(&data, &options))
                .buffer_unordered(IN_FLIGHT)
                .try_for_each(|_| async { Ok(()) })
                .await?;
            Ok(())
        };
        let raw_batch = async |count: usize| -> Result<()> {
            futures::stream::iter(0..count)
                .map(|_| store(&raw, &urls, &cipher, &data))
                .buffer_unordered(IN_FLIGHT)
                .try_for_each(|_| async { Ok(()) })
                .await
        };

        // Warm-up: both sockets joined, both pools full.
        sdk_batch(IN_FLIGHT).await?;
        raw_batch(IN_FLIGHT).await?;

        let pairs = interleave(
            rounds,
            async || {
                let started = Instant::now();
                sdk_batch(STORES).await?;
                Ok(started.elapsed().as_secs_f64() * 1e3)
            },
            async || {
                let started = Instant::now();
                raw_batch(STORES).await?;
                Ok(started.elapsed().as_secs_f64() * 1e3)
            },
        )
        .await?;

        // Untimed: allocations per store on the client's threads.
        let counter = Counter::start();
        sdk_batch(200).await?;
        let sdk_allocs = counter.stop().per(200);
        let counter = Counter::start();
        raw_batch(200).await?;
        let raw_allocs = counter.stop().per(200);

        Ok(vec![
            Figure::times(
                "store_1000",
                "ms",
                &pairs,
                Target::RatioAtMost { max: 1.15 },
            )
            .with_detail(json!({
                "what": "wall time of 1,000 stores of 1 KiB (reserve, ack, temporary token, encrypt, exchange, ack, configure), 64 in flight on one session and one WebSocket; mock ack delay 5 ms",
                "rounds_per_side": rounds,
                "sdk_ms": pairs.sdk,
                "baseline_ms": pairs.baseline,
                "allocations_per_store": {"sdk": sdk_allocs.0, "baseline": raw_allocs.0},
                "allocated_bytes_per_store": {"sdk": sdk_allocs.1, "baseline": raw_allocs.1},
            })),
        ])
    })
}

/// The baseline's encryption: `aes-gcm` in memory, in the Privicore wire format.
pub struct Baseline {
    cipher: Aes256Gcm,
}

impl Baseline {
    /// A random key.
    pub fn new() -> Result<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| format!("no random key: {e}"))?;
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| "a 32-byte key")?;
        Ok(Self { cipher })
    }

    /// `IV || ciphertext || tag`.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut iv = [0u8; 12];
        getrandom::fill(&mut iv).map_err(|e| format!("no random IV: {e}"))?;
        let mut wire = Vec::with_capacity(plaintext.len() + 28);
        wire.extend_from_slice(&iv);
        wire.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_inout_detached(&iv.into(), &[], (&mut wire[12..]).into())
            .map_err(|_| "aes-gcm refused the payload")?;
        wire.extend_from_slice(&tag);
        Ok(wire)
    }
}

/// One store, by hand.
pub async fn store(raw: &Raw, urls: &Urls, cipher: &Baseline, plaintext: &[u8]) -> Result<String> {
    let id = raw
        .command(&urls.reserve, &[("context", "bench"), ("ttl", "5")])
        .await?;
    let temporary: Temporary = raw
        .get(&format!("{}{id}", urls.temporary))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let data = base64::engine::general_purpose::STANDARD.encode(cipher.encrypt(plaintext)?);
    raw.command(
        &urls.exchange,
        &[
            ("temporaryTokenSpace", temporary.token.as_str()),
            ("data", data.as_str()),
        ],
    )
    .await?;
    configure(raw, urls, &temporary.token, plaintext.len() as u64).await
}

/// configure-file-meta: the temporary token becomes a permanent one.
pub async fn configure(raw: &Raw, urls: &Urls, temporary: &str, size: u64) -> Result<String> {
    let size = size.to_string();
    let answer: Value = raw
        .post(&urls.configure)
        .form(&[
            ("token", temporary),
            ("fileName", "data.bin"),
            ("extension", "bin"),
            ("context", "bench"),
            ("size", size.as_str()),
            ("path", "/"),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    raw::permanent_token(&answer)
}
