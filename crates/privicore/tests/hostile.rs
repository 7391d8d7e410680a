//! A hostile server: the mock answers every request with malformed, truncated, oversized,
//! wrong-typed or empty bodies, wrong status codes, redirect loops or no answer at all, and
//! sends garbage WebSocket frames. Every SDK entry point must return a typed error (never
//! panic), end within its configured timeouts, and leave memory where it was.
//!
//! The tests in this file measure the process's memory, so they run one at a time.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt, TryStreamExt};
use privicore::oauth::{AuthorizationCode, AuthorizationRequest};
use privicore::{
    Client, CommandId, Error, KeyPair, MemoryTokenStore, RetryPolicy, Session, StoreOptions,
    VaultKey,
};
use privicore_mock::{FaultConfig, MockServer};
use secrecy::SecretString;

/// Client timeouts for this test: short, so that a stalled answer costs little.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
const RETRIES: u32 = 1;
/// The longest chain of waits one entry point can make, each bounded by the timeouts above:
/// storing waits for the socket (command timeout), reserves (a request, one 401 replay with a
/// log-in before it, one retry), waits for the ack (command timeout) and asks request-status,
/// asks for the temporary token up to eight times (with backoff totalling 5.1 s), uploads and
/// configures: some 15 s at most, under 2 s in practice. Nothing may take longer than this,
/// which leaves a loaded machine ample room yet stays under the mock's 120 s stall, so a call
/// that waits on a stalled answer without its timeout still fails here.
const BOUND: Duration = Duration::from_secs(100);
/// The entry points that may succeed against a hostile server: name, the operation whose
/// answer can make it succeed, and why. Any other success fails the test. So does a success
/// of one of these that its reason does not cover: the entry point itself checks that what it
/// returned is what a hostile answer can produce (see [`entry_points`]), and the mock must have
/// answered that operation with a `200` at least as often as the entry point succeeded.
const MAY_SUCCEED: &[(&str, &str, &str)] = &[
    (
        "Client::health",
        "check_server_health",
        "every field of the health answer is optional, so any JSON object decodes (never with \
         an `ok` status)",
    ),
    (
        "Session::revoke",
        "revoke_authorization_token",
        "its answer has no body: any 200 is indistinguishable from a real revocation",
    ),
    (
        "DataTokens::list",
        "list_data_tokens",
        "`{\"items\":[],\"meta\":{...}}` is a valid empty page (never with an item)",
    ),
    (
        "DataTokens::list (oauth)",
        "list_data_tokens",
        "`{\"items\":[],\"meta\":{...}}` is a valid empty page (never with an item)",
    ),
    (
        "OAuthApps::list",
        "list_oauth_applications",
        "`{\"items\":[],\"meta\":{...}}` is a valid empty page (never with an item)",
    ),
    (
        "Session::oauth_scope",
        "retrieve_oauth_application_scope",
        "serde reads a struct from an array of its fields, so `[\"a\",\"b\"]` is a scope (never \
         the one granted)",
    ),
    (
        "OAuthClient::retrieve_authorization_code",
        "retrieve_oauth_authorization_code",
        "serde reads a struct from an array of its fields, so `[\"a\",\"b\"]` is a code (never \
         with the expiry a real answer carries)",
    ),
    (
        "Session::call (read)",
        "retrieve_unique_identifier",
        "the escape hatch returns the server's JSON undecoded: any JSON is an answer (checked: \
         never a non-empty device identifier)",
    ),
];
/// Size of the oversized bodies and frames.
const OVERSIZED: usize = 8 * 1024 * 1024;
/// Growth of resident memory allowed between two identical hostile passes.
const GROWTH_BOUND_KIB: i64 = 64 * 1024;
/// Calls of each entry point per pass.
const ROUNDS: usize = 5;

/// The tests here share the process's memory figures: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_allocator() {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: malloc_trim only releases free memory back to the system.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_allocator() {}

/// A `/proc/self/status` figure in KiB (0 where there is no procfs).
fn proc_kib(field: &str) -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kib() -> i64 {
    trim_allocator();
    proc_kib("VmRSS:")
}

type Call = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;
type EntryPoint = Box<dyn Fn() -> Call + Send + Sync>;

/// What the entry points need: a provisioned profile, an OAuth session, stored tokens.
struct Fixture {
    client: Client,
    session: Session,
    oauth_session: Session,
    oauth_client: privicore::oauth::OAuthClient,
    key: VaultKey,
    small: String,
    large: String,
    dir: std::path::PathBuf,
}

async fn fixture(mock: &MockServer, client: &Client) -> Fixture {
    let session = common::provisioned(client, "hostile@test").await;
    let app = session
        .oauth()
        .register("hostile", "https://app.test/cb", "all")
        .await
        .expect("app");
    let credentials = session.oauth().configuration(&app).await.expect("creds");
    let oauth_client =
        client.oauth_client(credentials.client_id.clone(), credentials.client_secret);
    let tokens = oauth_client
        .authorize(&session, &["all"])
        .await
        .expect("tokens");
    let oauth_session = client
        .oauth_session(tokens, Arc::new(MemoryTokenStore::new()))
        .await
        .expect("oauth session");
    let key = VaultKey::generate();
    let vault = session.vault(key.clone());
    let small = vault
        .store(b"small hostile payload", &StoreOptions::new("hostile"))
        .await
        .expect("small")
        .to_string();
    let large = vault
        .store(&vec![3u8; 200 * 1024], &StoreOptions::new("hostile"))
        .await
        .expect("large")
        .to_string();
    let dir = std::env::temp_dir().join(format!("privicore-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("upload.bin"), vec![5u8; 100 * 1024]).expect("file");
    let _ = mock;
    Fixture {
        client: client.clone(),
        session,
        oauth_session,
        oauth_client,
        key,
        small,
        large,
        dir,
    }
}

/// Every public entry point that talks to the server, by name.
fn entry_points(f: &Arc<Fixture>) -> Vec<(&'static str, EntryPoint)> {
    let mut points: Vec<(&'static str, EntryPoint)> = Vec::new();
    macro_rules! point {
        ($name:expr, |$f:ident| $body:expr) => {{
            let fixture = f.clone();
            points.push((
                $name,
                Box::new(move || {
                    let $f = fixture.clone();
                    Box::pin(async move { $body })
                }),
            ));
        }};
    }
    point!("Client::health", |f| {
        let health = f.client.health().await?;
        assert_ne!(
            health.status.as_deref(),
            Some("ok"),
            "a hostile server reported itself healthy"
        );
        Ok(())
    });
    point!("Client::register_profile", |f| f
        .client
        .register_profile("new@test", &SecretString::from("pw-hostile-1"))
        .await);
    point!("Client::login", |f| f
        .client
        .login("hostile@test", SecretString::from(common::PASSWORD))
        .await
        .map(drop));
    point!("Client::provision", |f| f
        .client
        .provision(
            "other@test",
            SecretString::from("pw-hostile-2"),
            &KeyPair::generate()
        )
        .await
        .map(drop));
    point!("Client::resume_oauth_session", |f| {
        let store = Arc::new(MemoryTokenStore::new());
        privicore::TokenStore::save(
            store.as_ref(),
            &f.oauth_session.oauth_tokens().expect("oauth"),
        )
        .await?;
        let session = f.client.resume_oauth_session(store).await?;
        session.profile_id().await.map(drop)
    });
    point!("OAuthClient::authorize", |f| f
        .oauth_client
        .authorize(&f.session, &["all"])
        .await
        .map(drop));
    point!("OAuthClient::retrieve_authorization_code", |f| {
        let code = f
            .oauth_client
            .retrieve_authorization_code(&AuthorizationRequest {
                id: CommandId::new("c-hostile")?,
                nonce: "n".into(),
            })
            .await?;
        assert!(
            code.expires_at.is_none(),
            "a hostile server produced a code with an expiry"
        );
        Ok(())
    });
    point!("OAuthClient::exchange_code", |f| f
        .oauth_client
        .exchange_code(&AuthorizationCode {
            code: SecretString::from("code-hostile"),
            expires_at: None,
        })
        .await
        .map(drop));
    point!("Session::profile_id", |f| f
        .session
        .profile_id()
        .await
        .map(drop));
    point!("Session::token_expiry", |f| f
        .session
        .token_expiry()
        .await
        .map(drop));
    point!("Session::public_key", |f| f
        .session
        .public_key()
        .await
        .map(drop));
    point!("Session::cab_public_key", |f| f
        .session
        .cab_public_key()
        .await
        .map(drop));
    point!("Session::register_public_key", |f| f
        .session
        .register_public_key(&KeyPair::generate().signed_public_key())
        .await);
    point!("Session::call (read)", |f| {
        let answer = f
            .session
            .call("retrieve_unique_identifier")
            .form("id", "x")
            .send()
            .await?;
        let device = answer
            .body()
            .and_then(|body| body.as_str())
            .unwrap_or_default();
        assert!(
            device.is_empty(),
            "a hostile server produced a device identifier: {answer:?}"
        );
        Ok(())
    });
    point!("Session::call (command)", |f| f
        .session
        .call("request_unique_identifier")
        .form("deviceName", "hostile")
        .send()
        .await
        .map(drop));
    point!("Session::await_command", |f| f
        .session
        .await_command("request_unique_identifier", &CommandId::new("c-unknown")?)
        .await);
    point!("Session::revoke", |f| f.session.revoke().await);
    point!("Session::refresh_oauth", |f| f
        .oauth_session
        .refresh_oauth()
        .await);
    point!("Session::oauth_scope", |f| {
        let scope = f.oauth_session.oauth_scope().await?;
        assert_ne!(
            scope.scope, "all",
            "a hostile server produced the scope granted"
        );
        Ok(())
    });
    point!("DataTokens::list", |f| {
        let items = f.session.data_tokens().list().per_page(2).collect().await?;
        assert!(
            items.is_empty(),
            "a hostile server produced {} data tokens",
            items.len()
        );
        Ok(())
    });
    point!("DataTokens::list (oauth)", |f| {
        let items = f
            .oauth_session
            .data_tokens()
            .list()
            .stream()
            .try_collect::<Vec<_>>()
            .await?;
        assert!(
            items.is_empty(),
            "a hostile server produced {} data tokens",
            items.len()
        );
        Ok(())
    });
    point!("DataTokens::delete", |f| f
        .session
        .data_tokens()
        .delete("nope")
        .await);
    point!("DataTokens::set_risk_meta", |f| f
        .session
        .data_tokens()
        .set_risk_meta(&f.small, "internal", "l", "h")
        .await);
    point!("OAuthApps::register", |f| f
        .session
        .oauth()
        .register("a", "https://a.test/cb", "all")
        .await
        .map(drop));
    point!("OAuthApps::configuration", |f| f
        .session
        .oauth()
        .configuration(&CommandId::new("app-x")?)
        .await
        .map(drop));
    point!("OAuthApps::request_authorization_code", |f| f
        .session
        .oauth()
        .request_authorization_code("client-x", &["all"])
        .await
        .map(drop));
    point!("OAuthApps::list", |f| {
        let apps = f.session.oauth().list(3).try_collect::<Vec<_>>().await?;
        assert!(
            apps.is_empty(),
            "a hostile server produced {} applications",
            apps.len()
        );
        Ok(())
    });
    point!("Vault::store (inline)", |f| f
        .session
        .vault(f.key.clone())
        .store(b"hostile inline", &StoreOptions::new("h"))
        .await
        .map(drop));
    point!("Vault::store (streamed)", |f| f
        .session
        .vault(f.key.clone())
        .store(&vec![9u8; 100 * 1024], &StoreOptions::new("h"))
        .await
        .map(drop));
    point!("Vault::store_file", |f| f
        .session
        .vault(f.key.clone())
        .store_file(f.dir.join("upload.bin"), &StoreOptions::new("h"))
        .await
        .map(drop));
    point!("Vault::retrieve (inline)", |f| {
        let back = f.session.vault(f.key.clone()).retrieve(&f.small).await?;
        panic!(
            "a hostile server produced an authentic payload of {} bytes",
            back.len()
        )
    });
    point!("Vault::retrieve (download)", |f| {
        let back = f.session.vault(f.key.clone()).retrieve(&f.large).await?;
        panic!(
            "a hostile server produced an authentic payload of {} bytes",
            back.len()
        )
    });
    point!("Vault::retrieve_to_file", |f| {
        let target = f.dir.join("out.bin");
        f.session
            .vault(f.key.clone())
            .retrieve_to_file(&f.large, &target)
            .await?;
        panic!("a hostile server produced an authentic file")
    });
    point!("Vault::update", |f| f
        .session
        .vault(f.key.clone())
        .update(&f.small, b"new")
        .await);
    point!("Vault::delete", |f| f
        .session
        .vault(f.key.clone())
        .delete("x")
        .await);
    points
}

/// The variant of an error, for the tally.
fn variant(error: &Error) -> String {
    match error {
        Error::Api { status, .. } => format!("Api({status})"),
        Error::Unauthorized { .. } => "Unauthorized".into(),
        Error::CommandRejected { .. } => "CommandRejected".into(),
        Error::Timeout { .. } => "Timeout".into(),
        Error::Decode { .. } => "Decode".into(),
        Error::Transport { .. } => "Transport".into(),
        Error::WebSocket(_) => "WebSocket".into(),
        Error::Cipher(_) => "Cipher".into(),
        Error::Key(_) => "Key".into(),
        Error::Credentials(_) => "Credentials".into(),
        other => format!("{other:?}").chars().take(24).collect(),
    }
}

#[derive(Default)]
struct Tally {
    ok: usize,
    errors: BTreeMap<String, usize>,
    panics: usize,
    slowest: Duration,
}

/// Runs every entry point `ROUNDS` times (the entry points concurrently, each one's rounds in
/// sequence), each call in its own task under a timeout of [`BOUND`].
async fn pass(points: &Arc<Vec<(&'static str, EntryPoint)>>) -> BTreeMap<&'static str, Tally> {
    let runs = (0..points.len()).map(|index| {
        let points = points.clone();
        async move {
            let (name, _) = &points[index];
            let mut tally = Tally::default();
            for _ in 0..ROUNDS {
                let points = points.clone();
                let started = Instant::now();
                let task =
                    tokio::spawn(
                        async move { tokio::time::timeout(BOUND, (points[index].1)()).await },
                    );
                match task.await {
                    Err(join) if join.is_panic() => tally.panics += 1,
                    Err(join) => panic!("{name}: task failed: {join}"),
                    Ok(Err(_)) => panic!("{name}: still running after {BOUND:?}"),
                    Ok(Ok(Ok(()))) => tally.ok += 1,
                    Ok(Ok(Err(error))) => {
                        // Every message stays small whatever the server sent.
                        let text = format!("{error} {error:?}");
                        assert!(
                            text.len() < 8 * 1024,
                            "{name}: {} bytes of error",
                            text.len()
                        );
                        *tally.errors.entry(variant(&error)).or_default() += 1;
                    }
                }
                tally.slowest = tally.slowest.max(started.elapsed());
            }
            (*name, tally)
        }
    });
    futures::future::join_all(runs).await.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_entry_point_refuses_a_hostile_server() {
    let _serial = SERIAL.lock().await;
    let (mock, client) = common::start_with(
        MockServer::builder()
            .seed(0x0405_711E)
            .inline_threshold(1024),
        |b| {
            b.request_timeout(REQUEST_TIMEOUT)
                .connect_timeout(REQUEST_TIMEOUT)
                .command_timeout(COMMAND_TIMEOUT)
                .retry_policy(
                    RetryPolicy::default()
                        .max_retries(RETRIES)
                        .initial_backoff(Duration::from_millis(10))
                        .max_backoff(Duration::from_millis(50)),
                )
        },
    )
    .await;
    let fixture = Arc::new(fixture(&mock, &client).await);
    let points = Arc::new(entry_points(&fixture));

    mock.faults().set(FaultConfig {
        hostile_rate: 1.0,
        hostile_body_len: OVERSIZED,
        ..FaultConfig::default()
    });
    // The sessions' sockets joined before: make them reconnect into the hostility.
    mock.drop_websockets();
    // From here on every answer the mock records is a hostile one.
    mock.clear_recorded();

    let before = rss_kib();
    let started = Instant::now();
    let first = pass(&points).await;
    let after_first = rss_kib();
    let second = pass(&points).await;
    let after_second = rss_kib();
    let elapsed = started.elapsed();
    let counts = mock.faults().counts();
    let recorded = mock.recorded();
    mock.faults().clear();
    // Requests that reached an operation; the ones still stalled are counted as hostile answers
    // already but recorded only once answered.
    let routed = recorded.iter().filter(|r| r.operation_id.is_some()).count() as u64;

    let mut panics = 0;
    let mut calls = 0;
    let mut oks = 0;
    let mut by_variant: BTreeMap<String, usize> = BTreeMap::new();
    println!(
        "hostile server: {} entry points × {ROUNDS} calls × 2 passes in {:.1} s",
        points.len(),
        elapsed.as_secs_f64()
    );
    for (name, tally) in first.iter() {
        let other = &second[name];
        let mut errors = tally.errors.clone();
        for (k, v) in &other.errors {
            *errors.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &errors {
            *by_variant.entry(k.clone()).or_default() += v;
        }
        panics += tally.panics + other.panics;
        oks += tally.ok + other.ok;
        calls += 2 * ROUNDS;
        println!(
            "  {name:42} ok {:2}  errors {errors:?}  slowest {:.2} s",
            tally.ok + other.ok,
            tally.slowest.max(other.slowest).as_secs_f64()
        );
    }
    println!(
        "  {calls} calls: {oks} ok, {} typed errors {by_variant:?}, panics: {panics}",
        calls - oks - panics
    );
    println!(
        "  hostile answers sent: {} (requests answered: {routed}), garbage frames sent: {}",
        counts.hostile_answers, counts.hostile_frames
    );
    println!(
        "  memory: VmRSS {before} KiB before, {after_first} KiB after pass 1, {after_second} KiB after pass 2 (growth {} KiB); VmHWM {} KiB",
        after_second - after_first,
        proc_kib("VmHWM:")
    );

    // Counting calls instead would depend on how many requests the calls happened to make.
    assert!(
        routed > 0 && counts.hostile_answers >= routed,
        "the server was hostile throughout: {} hostile answers for {routed} requests",
        counts.hostile_answers
    );
    assert_eq!(panics, 0, "no entry point panicked");
    // Only the listed entry points may succeed, and only as their reasons say.
    let mut unexpected = Vec::new();
    let mut by_operation: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
    for (name, tally) in first.iter() {
        let successes = tally.ok + second[name].ok;
        if successes == 0 {
            continue;
        }
        match MAY_SUCCEED.iter().find(|(listed, ..)| listed == name) {
            None => unexpected.push(format!("{name}: {successes} successes")),
            Some((_, operation, reason)) => {
                let entry = by_operation.entry(*operation).or_default();
                entry.0 += successes;
                entry.1.push(reason);
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "entry points that accepted a hostile server: {unexpected:?}"
    );
    for (operation, (successes, reasons)) in by_operation {
        let answered_200 = recorded
            .iter()
            .filter(|r| r.operation_id == Some(operation) && r.status == 200)
            .count();
        assert!(
            answered_200 >= successes,
            "{successes} successes rest on {operation}, which the mock answered with a 200 only \
             {answered_200} times: not explained by {reasons:?}"
        );
    }
    assert!(counts.hostile_frames > 0, "garbage frames were sent");
    assert!(
        after_second - after_first < GROWTH_BOUND_KIB,
        "memory grew by {} KiB between two identical passes",
        after_second - after_first
    );

    // The server turns friendly again: the same sessions work (nothing was corrupted).
    mock.drop_websockets();
    let vault = fixture.session.vault(fixture.key.clone());
    let token = vault
        .store(b"after the storm", &StoreOptions::new("after"))
        .await
        .expect("stored once the server behaves");
    assert_eq!(
        vault.retrieve(&token).await.expect("back"),
        b"after the storm"
    );
    let _ = std::fs::remove_dir_all(&fixture.dir);
}

/// A WebSocket that floods the session with large data answers for ids nobody asked about:
/// the session keeps a bounded amount of them for late waiters, not all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unrequested_data_answers_is_not_kept() {
    let _serial = SERIAL.lock().await;
    const FRAMES: usize = 100;
    const BODY: usize = 1024 * 1024;
    let mock = MockServer::start().await.expect("mock");
    let before = rss_kib();
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let ws_url = format!("ws://{}", listener.local_addr().expect("addr"));
    let (flooded_tx, flooded_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let mut socket = tokio_tungstenite::accept_async(stream)
            .await
            .expect("handshake");
        let _join = socket.next().await;
        let joined = r#"{"status":200,"data":{"channelId":"c"}}"#;
        socket
            .send(tokio_tungstenite::tungstenite::Message::text(joined))
            .await
            .expect("join reply");
        let body = "A".repeat(BODY);
        for i in 0..FRAMES {
            let frame = format!(
                r#"{{"data":{{"type":"X-DPT-CAB-REQUEST-ID","id":"flood-{i}","output_type":0,"body":"{body}"}}}}"#
            );
            socket
                .send(tokio_tungstenite::tungstenite::Message::text(frame))
                .await
                .expect("flood");
        }
        // Its pong comes back only once the session has read every frame before the ping.
        const DRAINED: &[u8] = b"drained";
        socket
            .send(tokio_tungstenite::tungstenite::Message::Ping(
                DRAINED.to_vec().into(),
            ))
            .await
            .expect("ping");
        while let Some(Ok(message)) = socket.next().await {
            if matches!(&message, tokio_tungstenite::tungstenite::Message::Pong(p) if p.as_ref() == DRAINED)
            {
                break;
            }
        }
        let _ = flooded_tx.send(());
        // Keep the socket open until the test ends.
        while socket.next().await.is_some() {}
    });
    // Provisioned through the real mock (whose socket relays the acks), then logged in with a
    // client whose socket is the flood.
    let friendly = common::builder(&mock).build().expect("friendly client");
    common::provisioned(&friendly, "flood@test").await;
    let client = Client::builder()
        .api_url(mock.api_url())
        .ws_url(ws_url)
        .build()
        .expect("client");
    let session = client
        .login("flood@test", SecretString::from(common::PASSWORD))
        .await
        .expect("logged in");
    tokio::time::timeout(common::EVENTUALLY, flooded_rx)
        .await
        .expect("the session read the whole flood in time")
        .expect("flooded");
    let after = rss_kib();
    println!(
        "flood: {FRAMES} unrequested data answers of {} KiB each in {:.1} s; VmRSS {before} KiB before, {after} KiB after (growth {} KiB)",
        BODY / 1024,
        started.elapsed().as_secs_f64(),
        after - before
    );
    assert!(
        after - before < 40 * 1024,
        "the session kept {} KiB of the {} KiB flood",
        after - before,
        FRAMES * BODY / 1024
    );
    session.profile_id().await.expect("the session still works");
    server.abort();
}
