//! Load on the `privicore-mock` binary: many concurrent SDK clients (default 500), each a
//! session with its own profile, token and WebSocket, storing, reading back and deleting small
//! payloads in a loop. The sessions share one `privicore::Client` (building 500 TLS-capable
//! HTTP clients costs more than the run in a debug build); its pool opens a connection per
//! concurrent request, so the server still sees one HTTP connection and one WebSocket per
//! client. No operation may fail, and the server's memory (sampled from
//! `/proc/<pid>/status` while it runs) must stay bounded. Prints requests per second and the
//! p50 / p99 latency of each operation.
//!
//! `PRIVICORE_LOAD_SECONDS` sets the duration (default 3, a smoke run; the quoted figures come
//! from a 30-second run in release), `PRIVICORE_LOAD_CLIENTS` the number of clients.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use privicore::{Client, KeyPair, RetryPolicy, StoreOptions, VaultKey};
use secrecy::SecretString;

/// Requests each cycle sends to the API: reserve, temporary token, exchange, configure file
/// meta, request data, delete, profile id.
const REQUESTS_PER_CYCLE: u64 = 7;
/// Largest resident memory the server may reach, and the most it may grow in the second half
/// of the run (when every structure has reached its steady state).
const MAX_RSS_KIB: u64 = 1024 * 1024;
const MAX_LATE_GROWTH_KIB: i64 = 96 * 1024;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Kills the server however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `/proc/<pid>/status` figure in KiB.
fn proc_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[derive(Default)]
struct Samples {
    store: Vec<Duration>,
    retrieve: Vec<Duration>,
    delete: Vec<Duration>,
    read: Vec<Duration>,
    errors: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_load_the_binary_without_errors_in_bounded_memory() {
    let seconds = env_or("PRIVICORE_LOAD_SECONDS", 3);
    let clients = env_or("PRIVICORE_LOAD_CLIENTS", 500) as usize;
    let mut child = Command::new(env!("CARGO_BIN_EXE_privicore-mock"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let _running = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut url = |label: &str| {
        let line = lines.next().expect("a line").expect("utf-8");
        let (name, url) = line.split_once(' ').expect("`name url`");
        assert_eq!(name, label);
        url.to_owned()
    };
    let (api, ws) = (url("api"), url("ws"));
    assert!(api.starts_with("http://127.0.0.1:") && ws.starts_with("ws://127.0.0.1:"));
    let idle_rss = proc_kib(pid, "VmRSS:").unwrap_or(0);

    // Every client: its own profile, token and WebSocket.
    let setup = Instant::now();
    let client = Client::builder()
        .api_url(api)
        .ws_url(ws)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    let sessions: Vec<_> = futures::stream::iter(0..clients)
        .map(|i| {
            let client = client.clone();
            async move {
                client
                    .provision(
                        &format!("load-{i}@test"),
                        SecretString::from("load-test-password"),
                        &KeyPair::generate(),
                    )
                    .await
                    .expect("provisioned")
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let setup = setup.elapsed();

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let started = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                if let Some(rss) = proc_kib(pid, "VmRSS:") {
                    samples.push((started.elapsed(), rss));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            samples
        })
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers = sessions.into_iter().enumerate().map(|(i, session)| {
        tokio::spawn(async move {
            let vault = session.vault(VaultKey::generate());
            let data = vec![i as u8; 1024];
            let mut samples = Samples::default();
            let mut cycles = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let token = match vault.store(&data, &StoreOptions::new("load")).await {
                    Ok(token) => token,
                    Err(e) => {
                        samples.errors.push(format!("store: {e}"));
                        continue;
                    }
                };
                samples.store.push(t.elapsed());
                let t = Instant::now();
                match vault.retrieve(&token).await {
                    Ok(back) if back == data => samples.retrieve.push(t.elapsed()),
                    Ok(_) => samples.errors.push("retrieve: different bytes".into()),
                    Err(e) => samples.errors.push(format!("retrieve: {e}")),
                }
                let t = Instant::now();
                match vault.delete(&token).await {
                    Ok(()) => samples.delete.push(t.elapsed()),
                    Err(e) => samples.errors.push(format!("delete: {e}")),
                }
                let t = Instant::now();
                match session.profile_id().await {
                    Ok(_) => samples.read.push(t.elapsed()),
                    Err(e) => samples.errors.push(format!("read: {e}")),
                }
                cycles += 1;
            }
            (cycles, samples)
        })
    });
    let done = futures::future::join_all(workers);
    let results = tokio::time::timeout(Duration::from_secs(seconds + 120), done)
        .await
        .expect("the clients stop by themselves");
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let rss_samples = sampler.await.expect("sampler");
    let hwm = proc_kib(pid, "VmHWM:").unwrap_or(0);

    let mut all = Samples::default();
    let mut cycles = 0;
    let mut panics = 0;
    for result in results {
        match result {
            Ok((c, s)) => {
                cycles += c;
                all.store.extend(s.store);
                all.retrieve.extend(s.retrieve);
                all.delete.extend(s.delete);
                all.read.extend(s.read);
                all.errors.extend(s.errors);
            }
            Err(_) => panics += 1,
        }
    }
    let requests = cycles * REQUESTS_PER_CYCLE;
    println!(
        "load: {clients} clients for {:.1} s against the privicore-mock binary (setup {:.1} s)",
        elapsed.as_secs_f64(),
        setup.as_secs_f64()
    );
    println!(
        "  {cycles} store/retrieve/delete/read cycles, {requests} API requests: {:.0} requests/s ({:.0} cycles/s); errors: {}, panics: {panics}",
        requests as f64 / elapsed.as_secs_f64(),
        cycles as f64 / elapsed.as_secs_f64(),
        all.errors.len()
    );
    for (name, samples) in [
        ("store", &mut all.store),
        ("retrieve", &mut all.retrieve),
        ("delete", &mut all.delete),
        ("read", &mut all.read),
    ] {
        samples.sort_unstable();
        println!(
            "  {name:9} n={:6}  p50 {:7.1} ms  p99 {:7.1} ms  max {:7.1} ms",
            samples.len(),
            percentile(samples, 0.50).as_secs_f64() * 1e3,
            percentile(samples, 0.99).as_secs_f64() * 1e3,
            samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3
        );
    }
    let peak = rss_samples.iter().map(|(_, r)| *r).max().unwrap_or(0);
    let half = rss_samples
        .iter()
        .find(|(t, _)| *t >= elapsed / 2)
        .map_or(0, |(_, r)| *r as i64);
    let last = rss_samples.last().map_or(0, |(_, r)| *r as i64);
    println!(
        "  server memory: VmRSS idle {idle_rss} KiB, at half time {half} KiB, at the end {last} KiB, peak sampled {peak} KiB; VmHWM {hwm} KiB ({} samples)",
        rss_samples.len()
    );

    assert_eq!(panics, 0);
    assert!(
        all.errors.is_empty(),
        "{} errors, first: {:?}",
        all.errors.len(),
        all.errors.first()
    );
    assert!(cycles > 0, "some work was done");
    assert!(hwm < MAX_RSS_KIB, "the server peaked at {hwm} KiB");
    assert!(
        last - half < MAX_LATE_GROWTH_KIB,
        "the server grew by {} KiB in the second half",
        last - half
    );
}
