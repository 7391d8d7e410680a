//! Fault soak: store-and-retrieve round trips of mixed sizes (every other one then deletes
//! what it stored), 32 in flight, against a mock that injects every fault at once: 10 % of
//! HTTP answers are 5xx, the WebSocket is dropped every two seconds, every request is delayed
//! with jitter, tokens expire early, some commands are rejected, some acknowledgements are
//! lost, and some answers to configure-file-meta, exchange-data-for-token and delete-data are
//! cut short or replaced by garbage **after** the mock carried the request out (the token
//! exists, the command runs), so the client loses only its view of a change that happened.
//!
//! Every round trip must end byte-identical, or with a typed error tied, one by one, to the
//! one thing the mock did that explains it: the request (by the `x-request-id` the SDK sends
//! with every attempt) whose answer the mock damaged in a way that matches the error, or the
//! command it failed on purpose. No injected fault may go unaccounted for: each explains
//! exactly one failure, or the SDK visibly recovered from it (it retried the call, replayed
//! the request after a 401, or asked request-status about the same command again).
//!
//! Afterwards, with the faults off, the mock must hold exactly the payloads the round trips
//! were told are stored (none lost, none stored twice), each of the right size, never the
//! plaintext, each reading back byte-identical; the payloads of deletes that went through
//! must be gone. The only other payloads allowed are those of stores that failed with
//! `StoreUnconfirmed`: the one payload the mock created for that very request, which the test
//! then deletes.
//!
//! `PRIVICORE_SOAK_ROUNDTRIPS` sets the number of round trips (default 1,000).

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use privicore::{DEFAULT_INLINE_THRESHOLD, Error, StoreOptions, VaultKey, cipher};
use privicore_mock::{CommandOutcome, FaultConfig, InjectedFault, MockServer, RecordedRequest};

const DEFAULT_ROUND_TRIPS: usize = 1_000;
const IN_FLIGHT: usize = 32;
/// Round trips whose index leaves this remainder modulo 2 delete what they stored.
const DELETES: usize = 1;
/// The operations whose answers are damaged after the mock carried them out.
const DAMAGED: [&str; 3] = [
    "configure_file_meta",
    "exchange_data_for_token",
    "delete_data",
];
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
    /// Stored and read back byte-identical (and kept).
    Identical { token: String },
    /// Stored, read back byte-identical, then deleted.
    Deleted { token: String },
    /// Stored, but reading it back failed.
    RetrieveFailed { token: String, error: Error },
    /// Stored and read back, but deleting it failed.
    DeleteFailed { token: String, error: Error },
    /// Storing failed.
    StoreFailed { error: Error },
}

/// One failed round trip.
struct Failure {
    round_trip: usize,
    /// The token it was told about, when storing worked.
    token: Option<String>,
    error: Error,
}

/// What the mock did that explains a failure.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Cause {
    /// The request at this index of the mock's records.
    Request(usize),
    /// The command with this id, which the mock failed on purpose.
    Rejected(String),
}

fn operation_of(error: &Error) -> Option<&'static str> {
    match error {
        Error::Api { operation, .. }
        | Error::Unauthorized { operation, .. }
        | Error::Decode { operation, .. }
        | Error::Transport { operation, .. }
        | Error::StoreUnconfirmed { operation, .. }
        | Error::CommandRejected { operation, .. }
        | Error::Timeout { operation, .. } => Some(operation),
        _ => None,
    }
}

/// A failure's kind, for the summary (without ids).
fn error_name(error: &Error) -> String {
    match error {
        Error::Api { status, .. } => format!("answered {status}"),
        Error::Unauthorized { .. } => "unauthorized".into(),
        Error::Decode { .. } => "answer not decodable".into(),
        Error::StoreUnconfirmed { .. } => "store unconfirmed".into(),
        Error::Transport { .. } => "transport error".into(),
        Error::CommandRejected { .. } => "command rejected".into(),
        other => format!("{other}"),
    }
}

/// A fault's kind, for the summary (without ids).
fn fault_name(fault: Option<&InjectedFault>) -> &'static str {
    match fault {
        Some(InjectedFault::Unavailable) => "503 injected",
        Some(InjectedFault::InternalError) => "500 injected",
        Some(InjectedFault::EarlyExpiry) => "token expired early",
        Some(InjectedFault::ExpiredToken) => "token expired early before",
        Some(InjectedFault::Truncated { .. }) => "answer truncated after the change",
        Some(InjectedFault::Malformed { .. }) => "answer malformed after the change",
        Some(_) => "other fault",
        None => "no fault",
    }
}

/// Whether `error` is what a client sees of `fault`, injected into an answer the mock gave
/// with `status`.
fn matches(error: &Error, fault: &InjectedFault, status: u16) -> bool {
    let damaged = matches!(
        fault,
        InjectedFault::Truncated { .. } | InjectedFault::Malformed { .. }
    );
    let refused = matches!(
        fault,
        InjectedFault::Unavailable | InjectedFault::InternalError
    );
    match error {
        Error::Api { status: s, .. } => refused && *s == status,
        Error::Unauthorized { .. } => matches!(
            fault,
            InjectedFault::EarlyExpiry | InjectedFault::ExpiredToken
        ),
        Error::Decode { .. } => damaged,
        Error::StoreUnconfirmed { source, .. } => {
            damaged && matches!(**source, Error::Decode { .. })
        }
        // The mock refuses an upload (a 5xx) before reading its body and closes the
        // connection, which the client sees as a transport error while still sending.
        Error::Transport {
            operation: "upload_stream",
            ..
        } => refused,
        _ => false,
    }
}

/// The one thing the mock did that explains `error`, or why there is none.
fn cause_of(
    error: &Error,
    recorded: &[RecordedRequest],
    by_id: &HashMap<&str, Vec<usize>>,
    rejected: &HashSet<String>,
) -> Result<Cause, String> {
    if let Error::CommandRejected { command_id, .. } = error {
        return if rejected.contains(command_id) {
            Ok(Cause::Rejected(command_id.clone()))
        } else {
            Err(format!(
                "command {command_id} failed, but the mock did not fail it on purpose"
            ))
        };
    }
    let Some(id) = error.request_id() else {
        return Err("the error names no request".into());
    };
    let Some(&last) = by_id.get(id).and_then(|seen| seen.last()) else {
        return Err(format!("the mock recorded no request {id}"));
    };
    let request = &recorded[last];
    let op = request.operation_id.unwrap_or("?");
    if request.operation_id != operation_of(error) {
        return Err(format!("request {id} was {op}, not the failed operation"));
    }
    match &request.fault {
        Some(fault) if matches(error, fault, request.status) => Ok(Cause::Request(last)),
        Some(fault) => Err(format!(
            "request {id} ({op}, answered {}) had the fault {fault:?}, which does not give this error",
            request.status
        )),
        None => Err(format!(
            "request {id} ({op}, answered {}) had no injected fault",
            request.status
        )),
    }
}

/// How the SDK recovered from a fault that explains no failure, if it did: it replayed the
/// same request after a 401, retried the call (`<call>-<attempt>`), or asked request-status
/// about the same command again later.
fn recovery(recorded: &[RecordedRequest], at: usize) -> Option<&'static str> {
    let request = &recorded[at];
    let id = request.request_id()?;
    let later = &recorded[at + 1..];
    if matches!(
        request.fault,
        Some(InjectedFault::EarlyExpiry | InjectedFault::ExpiredToken)
    ) && later.iter().any(|r| r.request_id() == Some(id))
    {
        return Some("replayed after the 401");
    }
    let (call, attempt) = id.rsplit_once('-')?;
    let next = format!("{call}-{}", attempt.parse::<u32>().ok()? + 1);
    if later.iter().any(|r| r.request_id() == Some(next.as_str())) {
        return Some("retried");
    }
    if request.operation_id == Some("request_command_status")
        && later
            .iter()
            .any(|r| r.operation_id == request.operation_id && r.path == request.path)
    {
        return Some("asked again about the same command");
    }
    None
}

/// A damaged request-status answer needs no recovery when the command's outcome reached the
/// SDK anyway: a status poll is a read that changes nothing, and the session stops polling
/// once the outcome arrives on the WebSocket (a retry waiting out its backoff is dropped then).
/// The command must really have finished on the mock.
fn outcome_pushed(mock: &MockServer, request: &RecordedRequest) -> Option<&'static str> {
    if request.operation_id != Some("request_command_status") {
        return None;
    }
    let id = request.path.rsplit('/').next()?;
    match mock.command_outcome(id) {
        Some(CommandOutcome::Completed | CommandOutcome::Failed(_)) => {
            Some("its outcome arrived anyway (a status poll is a read)")
        }
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
        truncate_rate: 0.04,
        malform_rate: 0.04,
        mangle_operations: DAMAGED.iter().map(|op| op.to_string()).collect(),
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
                            let token = token.to_string();
                            if i % 2 != DELETES {
                                Outcome::Identical { token }
                            } else {
                                match vault.delete(&token).await {
                                    Ok(()) => Outcome::Deleted { token },
                                    Err(error) => Outcome::DeleteFailed { token, error },
                                }
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
    let mut completed = 0;
    let mut kept: Vec<(usize, String)> = Vec::new();
    let mut deleted: Vec<(usize, String)> = Vec::new();
    let mut failures: Vec<Failure> = Vec::new();
    for joined in results {
        let Ok((i, len, outcome)) = joined else {
            panics += 1;
            continue;
        };
        let (token, error) = match outcome {
            Outcome::Identical { token } => {
                completed += 1;
                sizes.insert(token.clone(), len);
                kept.push((i, token));
                continue;
            }
            Outcome::Deleted { token } => {
                completed += 1;
                deleted.push((i, token));
                continue;
            }
            Outcome::RetrieveFailed { token, error } | Outcome::DeleteFailed { token, error } => {
                sizes.insert(token.clone(), len);
                (Some(token), error)
            }
            Outcome::StoreFailed { error } => (None, error),
        };
        failures.push(Failure {
            round_trip: i,
            token,
            error,
        });
    }
    failures.sort_by_key(|f| f.round_trip);

    // Tie every failure to the one request or command of the mock's that explains it.
    let recorded = mock.recorded();
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (at, request) in recorded.iter().enumerate() {
        if let Some(id) = request.request_id() {
            by_id.entry(id).or_default().push(at);
        }
    }
    let rejected: HashSet<String> = mock.faults().rejected_commands().into_iter().collect();
    let mut causes: HashMap<Cause, usize> = HashMap::new();
    let mut cause_by_round_trip: HashMap<usize, Cause> = HashMap::new();
    let mut unexplained = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for failure in &failures {
        let i = failure.round_trip;
        let error = &failure.error;
        let fault = match cause_of(error, &recorded, &by_id, &rejected) {
            Ok(cause) => {
                let fault = match &cause {
                    Cause::Request(at) => fault_name(recorded[*at].fault.as_ref()).to_string(),
                    Cause::Rejected(_) => "command failed on purpose".to_string(),
                };
                if let Some(other) = causes.insert(cause.clone(), i) {
                    unexplained.push(format!(
                        "round trip {i}: {cause:?} already explains round trip {other}: {error:?}"
                    ));
                }
                cause_by_round_trip.insert(i, cause);
                fault
            }
            Err(why) => {
                unexplained.push(format!("round trip {i}: {why}: {error:?}"));
                "unexplained".to_string()
            }
        };
        let op = operation_of(error).unwrap_or("other");
        *kinds
            .entry(format!("{op}: {} ← {fault}", error_name(error)))
            .or_default() += 1;
    }

    // And every injected fault to the failure it explains, or to the SDK's recovery.
    let mut recovered: BTreeMap<String, usize> = BTreeMap::new();
    let mut unaccounted = Vec::new();
    for (at, request) in recorded.iter().enumerate() {
        let Some(fault) = &request.fault else {
            continue;
        };
        if causes.contains_key(&Cause::Request(at)) {
            continue;
        }
        let op = request.operation_id.unwrap_or("?");
        match recovery(&recorded, at).or_else(|| outcome_pushed(&mock, request)) {
            Some(how) => {
                *recovered
                    .entry(format!("{op}: {}, {how}", fault_name(Some(fault))))
                    .or_default() += 1
            }
            None => unaccounted.push(format!(
                "{fault:?} on {op} (request {:?}, answered {}): no failure and no recovery",
                request.request_id(),
                request.status
            )),
        }
    }
    let created_index: HashMap<&str, usize> = recorded
        .iter()
        .enumerate()
        .filter_map(|(at, r)| r.command_id.as_deref().map(|id| (id, at)))
        .collect();
    let created_by: HashMap<&str, &RecordedRequest> = recorded
        .iter()
        .filter_map(|r| r.command_id.as_deref().map(|id| (id, r)))
        .collect();
    for id in &rejected {
        if causes.contains_key(&Cause::Rejected(id.clone())) {
            continue;
        }
        // The client never learnt of a command whose `202` answer was damaged (that answer
        // explains the failure); a data request it gave up waiting for it asked again.
        if let Some(&at) = created_index.get(id.as_str()) {
            let op = recorded[at].operation_id.unwrap_or("?");
            if causes.contains_key(&Cause::Request(at)) {
                *recovered
                    .entry(format!(
                        "{op}: command rejected, but its answer was damaged"
                    ))
                    .or_default() += 1;
                continue;
            }
            if let Some(how) = recovery(&recorded, at) {
                *recovered
                    .entry(format!("{op}: command rejected, {how}"))
                    .or_default() += 1;
                continue;
            }
        }
        {
            let (op, request) = created_by.get(id.as_str()).map_or(("?", None), |r| {
                (r.operation_id.unwrap_or("?"), r.request_id())
            });
            unaccounted.push(format!(
                "command {id} ({op}, request {request:?}), failed on purpose: no round trip failed with it"
            ));
        }
    }

    // A delete whose answer was damaged after the mock accepted the command went through
    // exactly when that command completed; any other failed delete changed nothing.
    let mut gone: Vec<(usize, String)> = deleted.clone();
    for failure in &failures {
        let Some(token) = &failure.token else {
            continue;
        };
        let committed = match cause_by_round_trip.get(&failure.round_trip) {
            Some(Cause::Request(at)) => match &recorded[*at].fault {
                Some(
                    InjectedFault::Truncated {
                        command_id: Some(id),
                    }
                    | InjectedFault::Malformed {
                        command_id: Some(id),
                    },
                ) => {
                    let outcome = poll_outcome(&mock, id).await;
                    assert!(
                        !matches!(outcome, Some(CommandOutcome::Pending) | None),
                        "round trip {}: command {id} is still {outcome:?}",
                        failure.round_trip
                    );
                    outcome == Some(CommandOutcome::Completed)
                }
                _ => false,
            },
            _ => false,
        };
        if committed {
            gone.push((failure.round_trip, token.clone()));
        } else {
            kept.push((failure.round_trip, token.clone()));
        }
    }
    // A store that failed `StoreUnconfirmed` may have left the one payload its request made.
    let unconfirmed: HashMap<&str, usize> = failures
        .iter()
        .filter_map(|f| match &f.error {
            Error::StoreUnconfirmed {
                request_id: Some(id),
                ..
            } => Some((id.as_str(), f.round_trip)),
            _ => None,
        })
        .collect();
    let failed_by_request: HashMap<&str, &Failure> = failures
        .iter()
        .filter_map(|f| f.error.request_id().map(|id| (id, f)))
        .collect();

    // The mock's state: exactly the kept tokens, each once, each the right size; nothing
    // deleted; and nothing else but what unconfirmed stores reported.
    let held: Vec<_> = mock
        .stored_data()
        .into_iter()
        .filter(|d| d.profile_id == profile_id)
        .collect();
    let held_tokens: HashSet<&String> = held.iter().map(|d| &d.token).collect();
    assert_eq!(
        held_tokens.len(),
        held.len(),
        "the mock holds a token twice"
    );
    let told: Vec<&String> = kept.iter().chain(&deleted).map(|(_, t)| t).collect();
    let distinct: HashSet<&String> = told.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        told.len(),
        "a data token was returned twice"
    );
    let kept_tokens: HashSet<&String> = kept.iter().map(|(_, t)| t).collect();
    let lost: Vec<String> = kept
        .iter()
        .filter(|(_, t)| !held_tokens.contains(t))
        .map(|(i, t)| format!("round trip {i}: told {t} is stored, but the mock does not hold it"))
        .collect();
    let not_deleted: Vec<String> = gone
        .iter()
        .filter(|(_, t)| held_tokens.contains(t))
        .map(|(i, t)| format!("round trip {i}: {t} was deleted, but the mock still holds it"))
        .collect();
    let mut orphans = Vec::new();
    let mut reported = Vec::new();
    let mut unconfirmed_found: HashSet<usize> = HashSet::new();
    for d in &held {
        if kept_tokens.contains(&d.token) {
            continue;
        }
        let by = d.created_by_request.as_deref();
        match by.and_then(|id| unconfirmed.get(id)) {
            Some(&i) if unconfirmed_found.insert(i) => reported.push((i, d.token.clone())),
            _ => orphans.push(match by.and_then(|id| failed_by_request.get(id)) {
                Some(f) => format!(
                    "round trip {}: the mock holds a payload created by its request {by:?}, which its failure did not report: {:?}",
                    f.round_trip, f.error
                ),
                None => format!(
                    "a payload created by request {by:?}, which no round trip reported"
                ),
            }),
        }
    }
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

    // With the faults off, every kept payload reads back (also those whose first read
    // failed), and the payloads of unconfirmed stores can be deleted.
    let mut reread_failed = 0;
    let reread: Vec<_> = futures::stream::iter(kept.iter().map(|(_, t)| t.clone()))
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
    for (i, token) in &reported {
        vault
            .delete(token)
            .await
            .unwrap_or_else(|e| panic!("round trip {i}: deleting the unconfirmed payload: {e}"));
    }
    let after: HashSet<String> = mock.stored_data().into_iter().map(|d| d.token).collect();
    for (i, token) in &reported {
        assert!(
            !after.contains(token),
            "round trip {i}: the unconfirmed payload is still held"
        );
    }

    println!(
        "soak: {total} round trips, {IN_FLIGHT} in flight, {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "  completed byte-identical: {completed} ({} of them deleted); failed with a typed error: {}",
        deleted.len(),
        failures.len()
    );
    for (kind, count) in &kinds {
        println!("    {count:5} × {kind}");
    }
    println!("  faults the SDK recovered from:");
    for (kind, count) in &recovered {
        println!("    {count:5} × {kind}");
    }
    println!(
        "  faults injected: {} delayed, {} × 503, {} × 500, {} commands rejected, {} tokens expired early, {} answers truncated, {} malformed, {} acks lost, {} periodic WebSocket drops",
        faults.delayed,
        faults.unavailable_503,
        faults.internal_500,
        faults.rejected_commands,
        faults.early_expiries,
        faults.truncated,
        faults.malformed,
        faults.lost_acks,
        faults.ws_drops
    );
    println!(
        "  requests the mock answered: {}; stored payloads checked against the plaintexts: {checked}, plaintext found: {}",
        recorded.len(),
        plaintext_hits.len()
    );
    println!(
        "  tokens kept: {}, held by the mock: {}, unconfirmed stores: {} (payloads found and deleted: {}), lost: {}, re-reads failed: {reread_failed}, orphans: {}, panics: {panics}, unexplained errors: {}, unaccounted faults: {}",
        kept.len(),
        held.len(),
        unconfirmed.len(),
        reported.len(),
        lost.len(),
        orphans.len(),
        unexplained.len(),
        unaccounted.len()
    );

    assert_eq!(panics, 0, "no round trip panicked");
    assert!(
        unexplained.is_empty(),
        "failures the mock's records do not explain: {unexplained:#?}"
    );
    assert!(
        unaccounted.is_empty(),
        "injected faults nothing accounts for: {unaccounted:#?}"
    );
    assert!(lost.is_empty(), "lost: {lost:#?}");
    assert_eq!(reread_failed, 0, "kept payloads that did not read back");
    assert!(not_deleted.is_empty(), "{not_deleted:#?}");
    assert!(orphans.is_empty(), "orphans: {orphans:#?}");
    assert!(plaintext_hits.is_empty(), "{plaintext_hits:?}");
    assert!(checked as usize >= kept.len());
    // The run is meaningful only if the faults really happened and most round trips survived.
    assert!(faults.unavailable_503 + faults.internal_500 > 0);
    assert!(faults.rejected_commands > 0 || total < 200);
    for op in DAMAGED {
        let damaged = recorded
            .iter()
            .filter(|r| {
                r.operation_id == Some(op)
                    && matches!(
                        r.fault,
                        Some(InjectedFault::Truncated { .. } | InjectedFault::Malformed { .. })
                    )
            })
            .count();
        assert!(damaged > 0 || total < 200, "no answer to {op} was damaged");
    }
    // With 10 % of every request failing, 8 % of three answers damaged and no command ever
    // re-posted, about a third of the round trips complete; far fewer would mean the client
    // gives up on faults it could survive.
    assert!(
        completed * 5 >= total,
        "only {completed} of {total} round trips completed"
    );
}

/// The outcome of command `id`, waiting (bounded) for it to leave `Pending`: with the faults
/// off it finishes within the mock's acknowledgement delay.
async fn poll_outcome(mock: &MockServer, id: &str) -> Option<CommandOutcome> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let outcome = mock.command_outcome(id);
        if !matches!(outcome, Some(CommandOutcome::Pending)) || Instant::now() > deadline {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
