//! Fault soak: store-and-retrieve round trips of mixed sizes, 32 in flight, against a mock that
//! injects every fault at once: 10 % of HTTP answers are 5xx, the WebSocket is dropped every
//! two seconds, every request is delayed with jitter, tokens expire early, some commands are
//! rejected and some acknowledgements are lost.
//!
//! Every round trip must end byte-identical, or with a typed error that the mock's own records
//! explain: a 5xx or 401 it really answered for that operation, or a command it really failed.
//! Afterwards, with the faults off, the mock's state must hold exactly one payload per stored
//! token (none lost, none stored twice, none left over by a failed store), each of the right
//! size, never the plaintext, and every one must read back byte-identical.
//!
//! `PRIVICORE_SOAK_ROUNDTRIPS` sets the number of round trips (default 1,000).

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use privicore::{DEFAULT_INLINE_THRESHOLD, Error, StoreOptions, VaultKey, cipher};
use privicore_mock::{CommandOutcome, FaultConfig, MockServer};

const DEFAULT_ROUND_TRIPS: usize = 1_000;
const IN_FLIGHT: usize = 32;
/// Payloads up to this size come back inline on the WebSocket; larger ones by download.
const MOCK_INLINE: usize = 16 * 1024;

fn round_trips() -> usize {
    std::env::var("PRIVICORE_SOAK_ROUNDTRIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROUND_TRIPS)
}

/// Deterministic, incompressible-looking bytes.
fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Mixed sizes covering every path: inline both ways, inline up and downloaded back, and
/// streamed up (above the SDK's inline threshold) and downloaded back.
fn size_of(i: usize) -> usize {
    let spread = (i * 7919) % 1000;
    match i % 10 {
        0..=4 => spread * 2,                              // 0 .. 2 KB
        5 | 6 => 2048 + spread * 14,                      // 2 .. 16 KB
        7 | 8 => MOCK_INLINE + 1 + spread * 32,           // 16 .. 48 KB
        _ => DEFAULT_INLINE_THRESHOLD + 1 + spread * 200, // 48 .. 250 KB
    }
}

enum Outcome {
    /// Stored and read back byte-identical.
    Identical { token: String },
    /// Stored, but reading it back failed.
    RetrieveFailed { token: String, error: Error },
    /// Storing failed.
    StoreFailed { error: Error },
}

/// A failed round trip's error, as something the mock's records can confirm.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Explained {
    /// The mock answered this status to this operation.
    Status(&'static str, u16),
    /// The mock failed this command with this reason.
    Rejected(String),
    /// The mock refused this upload (a 5xx) before reading its body and closed the
    /// connection, which the client sees as a transport error while still sending.
    UploadRefused,
}

fn explain(error: &Error) -> Option<Explained> {
    match error {
        Error::Api {
            operation, status, ..
        } => Some(Explained::Status(operation, *status)),
        Error::Unauthorized { operation, .. } => Some(Explained::Status(operation, 401)),
        Error::CommandRejected { command_id, .. } => Some(Explained::Rejected(command_id.clone())),
        Error::Transport {
            operation: "upload_stream",
            ..
        } => Some(Explained::UploadRefused),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_survive_every_fault_at_once() {
    let total = round_trips();
    let (mock, client) = common::start_with(
        MockServer::builder()
            .seed(0x50A4)
            .inline_threshold(MOCK_INLINE)
            .record_limit(usize::MAX),
        |b| {
            b.command_timeout(Duration::from_secs(10))
                .request_timeout(Duration::from_secs(10))
        },
    )
    .await;
    let session = common::provisioned(&client, "soak@test").await;
    let profile_id = session.profile_id().await.expect("profile id");
    let vault = session.vault(VaultKey::generate());
    mock.clear_recorded();
    mock.faults().reset_counts();
    mock.faults().set(FaultConfig {
        latency: Duration::from_millis(1),
        jitter: Duration::from_millis(4),
        error_rate: 0.10,
        reject_rate: 0.03,
        early_expiry_rate: 0.01,
        lost_ack_rate: 0.005,
        ws_drop_every: Some(Duration::from_secs(2)),
        ..FaultConfig::default()
    });
    let mock = Arc::new(mock);

    let started = Instant::now();
    let run = futures::stream::iter(0..total)
        .map(|i| {
            let vault = vault.clone();
            let mock = mock.clone();
            tokio::spawn(async move {
                let data = payload(size_of(i), i as u64 + 1);
                mock.forbid_plaintext(&data);
                let outcome = match vault.store(&data, &StoreOptions::new("soak")).await {
                    Err(error) => Outcome::StoreFailed { error },
                    Ok(token) => match vault.retrieve(&token).await {
                        Ok(back) => {
                            assert!(back == data, "round trip {i}: the bytes differ");
                            Outcome::Identical {
                                token: token.to_string(),
                            }
                        }
                        Err(error) => Outcome::RetrieveFailed {
                            token: token.to_string(),
                            error,
                        },
                    },
                };
                (i, data.len(), outcome)
            })
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<_>>();
    // Each round trip is bounded by the client's timeouts; this bounds the whole run.
    let limit = Duration::from_secs(120 + total as u64 / 4);
    let results = tokio::time::timeout(limit, run)
        .await
        .expect("the soak finished in time");
    let elapsed = started.elapsed();
    // The periodic drop is part of the run: wait for one rather than assume the run outlasted
    // its period.
    common::eventually("dropped the WebSockets periodically", || {
        mock.faults().counts().ws_drops > 0
    })
    .await;
    let faults = mock.faults().counts();
    mock.faults().clear();

    // Panics inside a round trip surface as join errors: counted, then the test fails.
    let mut panics = 0;
    let mut sizes: HashMap<String, usize> = HashMap::new();
    let mut identical = 0;
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    let mut explained: HashMap<Explained, usize> = HashMap::new();
    let mut unexplained = Vec::new();
    let mut stored_tokens = Vec::new();
    for joined in results {
        let Ok((i, len, outcome)) = joined else {
            panics += 1;
            continue;
        };
        let error = match outcome {
            Outcome::Identical { token } => {
                identical += 1;
                stored_tokens.push(token.clone());
                sizes.insert(token, len);
                continue;
            }
            Outcome::RetrieveFailed { token, error } => {
                stored_tokens.push(token.clone());
                sizes.insert(token, len);
                error
            }
            Outcome::StoreFailed { error } => error,
        };
        let kind = match &error {
            Error::Api {
                operation, status, ..
            } => format!("{operation}: {status}"),
            Error::Unauthorized { operation, .. } => format!("{operation}: 401"),
            Error::CommandRejected {
                operation, reason, ..
            } => format!("{operation}: rejected ({reason})"),
            other => format!("other: {other}"),
        };
        *failures.entry(kind).or_default() += 1;
        match explain(&error) {
            Some(e) => *explained.entry(e).or_default() += 1,
            None => unexplained.push(format!("round trip {i}: {error:?}")),
        }
    }

    // Cross-check every failure with what the mock did.
    let recorded = mock.recorded();
    let mut answered: HashMap<(String, u16), usize> = HashMap::new();
    for request in &recorded {
        if let Some(op) = request.operation_id {
            *answered
                .entry((op.to_string(), request.status))
                .or_default() += 1;
        }
    }
    for (reason, count) in &explained {
        match reason {
            Explained::Status(op, status) => {
                let seen = answered
                    .get(&(op.to_string(), *status))
                    .copied()
                    .unwrap_or(0);
                assert!(
                    seen >= *count,
                    "{count} round trips failed with {op}: {status}, but the mock answered that only {seen} times"
                );
            }
            Explained::UploadRefused => {
                let refused: usize = answered
                    .iter()
                    .filter(|((op, status), _)| op == "upload_stream" && *status >= 500)
                    .map(|(_, n)| n)
                    .sum();
                assert!(
                    refused >= *count,
                    "{count} uploads broke off, but the mock refused only {refused}"
                );
            }
            Explained::Rejected(id) => match mock.command_outcome(id) {
                Some(CommandOutcome::Failed(_)) => {}
                other => panic!("command {id} is reported rejected, but the mock says {other:?}"),
            },
        }
    }

    // The mock's state: exactly the stored tokens, each once, each the right size.
    let held: Vec<_> = mock
        .stored_data()
        .into_iter()
        .filter(|d| d.profile_id == profile_id)
        .collect();
    let distinct: HashSet<&String> = stored_tokens.iter().collect();
    assert_eq!(
        distinct.len(),
        stored_tokens.len(),
        "a data token was returned twice"
    );
    let held_tokens: HashSet<&String> = held.iter().map(|d| &d.token).collect();
    assert_eq!(
        held_tokens.len(),
        held.len(),
        "the mock holds a token twice"
    );
    let lost: Vec<&&String> = distinct.difference(&held_tokens).collect();
    let orphans: Vec<&&String> = held_tokens.difference(&distinct).collect();
    for d in &held {
        if let Some(&len) = sizes.get(&d.token) {
            assert_eq!(
                d.stored_len,
                len + cipher::OVERHEAD,
                "the mock holds the ciphertext"
            );
            assert_eq!(d.declared_size, Some(len as i64));
        }
    }
    let (plaintext_hits, checked) = mock.plaintext_hits();

    // With the faults off, every stored payload reads back (also those whose first read failed).
    let mut reread_failed = 0;
    let reread: Vec<_> = futures::stream::iter(stored_tokens.clone())
        .map(|token| {
            let vault = vault.clone();
            async move { (vault.retrieve(&token).await, token) }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    for (back, token) in reread {
        match back {
            Ok(bytes) if Some(&bytes.len()) == sizes.get(&token) => {}
            other => {
                reread_failed += 1;
                eprintln!("re-reading {token}: {:?}", other.map(|b| b.len()));
            }
        }
    }

    let payloads_lost = lost.len() + reread_failed;
    println!(
        "soak: {total} round trips, {IN_FLIGHT} in flight, {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "  completed byte-identical: {identical}; failed with a typed error: {}",
        total - identical - panics
    );
    for (kind, count) in &failures {
        println!("    {count:5} × {kind}");
    }
    println!(
        "  faults injected: {} delayed, {} × 503, {} × 500, {} commands rejected, {} tokens expired early, {} acks lost, {} periodic WebSocket drops",
        faults.delayed,
        faults.unavailable_503,
        faults.internal_500,
        faults.rejected_commands,
        faults.early_expiries,
        faults.lost_acks,
        faults.ws_drops
    );
    println!(
        "  requests the mock answered: {}; stored payloads checked against the plaintexts: {checked}, plaintext found: {}",
        recorded.len(),
        plaintext_hits.len()
    );
    println!(
        "  tokens stored: {}, held by the mock: {}, payloads lost: {payloads_lost}, orphans: {}, panics: {panics}, unexplained errors: {}",
        stored_tokens.len(),
        held.len(),
        orphans.len(),
        unexplained.len()
    );

    assert_eq!(panics, 0, "no round trip panicked");
    assert!(
        unexplained.is_empty(),
        "errors the mock's records do not explain: {unexplained:#?}"
    );
    assert_eq!(payloads_lost, 0, "lost: {lost:?}");
    assert!(orphans.is_empty(), "tokens no caller received: {orphans:?}");
    assert!(plaintext_hits.is_empty(), "{plaintext_hits:?}");
    assert!(checked as usize >= stored_tokens.len());
    // The run is meaningful only if the faults really happened and most round trips survived.
    assert!(faults.unavailable_503 + faults.internal_500 > 0);
    assert!(faults.rejected_commands > 0 || total < 200);
    // With 10 % of every request failing and no command ever re-posted, about a third of
    // the round trips complete (each needs some seven answers to get through); far fewer would
    // mean the client gives up on faults it could survive.
    assert!(
        identical * 5 >= total,
        "only {identical} of {total} round trips completed"
    );
}
