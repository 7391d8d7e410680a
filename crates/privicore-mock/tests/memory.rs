//! Memory stays flat: 10,000 data tokens stored and deleted in two rounds of 5,000. The
//! server's counts return to their baseline, and the process's resident memory after the
//! second round has not grown by more than a small bound over the first (a leak of the
//! 5,000 payloads alone would be 20 MiB).
//!
//! The 50,000 requests go over a small pipelined HTTP/1.1 client written here: in an
//! unoptimised build a full HTTP client costs more per request than the mock itself, and
//! the test is about the mock's state, not the client. Each step is sent for all tokens of a
//! round at once (reserve all, then fetch every temporary token, then upload, ...), which is
//! also the harshest pattern for the server: 5,000 reservations and tokens held together.
//!
//! Alone in its test binary so that no other test moves the RSS figure.

mod common;

use std::time::Duration;

use common::{WAIT, active_profile};
use privicore_mock::{MockServer, Stats};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ROUND: usize = 5_000;
const PAYLOAD: usize = 4 * 1024;
/// Connections per step: one per core is enough to keep the server busy.
const CONNECTIONS: usize = 2;
/// Growth allowed between the two rounds: allocator slack, not state.
const BOUND_KIB: i64 = 6 * 1024;

/// Hands the allocator's free pages back to the system, so that the RSS figure reflects what
/// is live rather than how glibc's per-thread arenas happened to be fragmented (which varies
/// from run to run by several MiB when the server's tasks move between threads).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_allocator() {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: malloc_trim only releases free memory; it is safe to call at any time.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_allocator() {}

/// Resident set size in KiB, from /proc/self/status, after trimming the allocator.
fn rss_kib() -> i64 {
    trim_allocator();
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// One HTTP/1.1 request, ready to write.
fn request(
    method: &str,
    target: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nhost: mock\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        head.push_str(&format!("x-dpt-authorization: {token}\r\n"));
    }
    if !content_type.is_empty() {
        head.push_str(&format!("content-type: {content_type}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs)
        .expect("form")
        .into_bytes()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends `requests` pipelined on one connection to `base` and returns the answers in order
/// (status, body). Writing and reading run concurrently so neither side's buffers fill up.
async fn pipeline(base: &str, requests: Vec<Vec<u8>>) -> Vec<(u16, Vec<u8>)> {
    let address = base.trim_start_matches("http://");
    let stream = TcpStream::connect(address).await.expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    let count = requests.len();
    let write = tokio::spawn(async move {
        for chunk in requests.chunks(64) {
            writer.write_all(&chunk.concat()).await.expect("write");
        }
        writer
    });
    let mut answers = Vec::with_capacity(count);
    let mut buffer: Vec<u8> = Vec::with_capacity(128 * 1024);
    // Parsed bytes are skipped with `start` and compacted only once per read, so a read that
    // brings hundreds of answers does not shift the buffer hundreds of times.
    let mut start = 0;
    let mut scratch = vec![0u8; 64 * 1024];
    while answers.len() < count {
        let pending = &buffer[start..];
        if let Some(end) = find(pending, b"\r\n\r\n") {
            let head = std::str::from_utf8(&pending[..end]).expect("ascii head");
            let status: u16 = head[9..12].parse().expect("status");
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("content-length");
            if pending.len() >= end + 4 + length {
                answers.push((status, pending[end + 4..end + 4 + length].to_vec()));
                start += end + 4 + length;
                continue;
            }
        }
        buffer.drain(..start);
        start = 0;
        let n = reader.read(&mut scratch).await.expect("read");
        assert!(n > 0, "connection closed after {} answers", answers.len());
        buffer.extend_from_slice(&scratch[..n]);
    }
    drop(write.await.expect("writer"));
    answers
}

/// Splits `requests` over a few connections and returns the answers in the original order.
async fn send_all(base: &str, requests: Vec<Vec<u8>>) -> Vec<(u16, Vec<u8>)> {
    let per = requests.len().div_ceil(CONNECTIONS).max(1);
    let mut parts = Vec::new();
    let mut rest = requests;
    while !rest.is_empty() {
        let tail = rest.split_off(per.min(rest.len()));
        parts.push(tokio::spawn(pipeline_owned(base.to_owned(), rest)));
        rest = tail;
    }
    let mut answers = Vec::new();
    for part in parts {
        answers.extend(part.await.expect("pipeline task"));
    }
    answers
}

async fn pipeline_owned(base: String, requests: Vec<Vec<u8>>) -> Vec<(u16, Vec<u8>)> {
    pipeline(&base, requests).await
}

fn ok_json(answers: Vec<(u16, Vec<u8>)>, step: &str) -> Vec<Value> {
    answers
        .into_iter()
        .map(|(status, body)| {
            assert!(
                (200..300).contains(&status),
                "{step}: {status} {}",
                String::from_utf8_lossy(&body)
            );
            if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&body).expect("JSON")
            }
        })
        .collect()
}

fn id_of(value: &Value) -> String {
    value[0]
        .as_str()
        .or(value.as_str())
        .expect("command id")
        .to_owned()
}

/// Stores a round of tokens: reserve, temporary token, stream upload, file meta.
async fn store(server: &MockServer, token: &str, payload: &[u8], first: usize) -> Vec<String> {
    let api = server.api_url();
    let form_type = "application/x-www-form-urlencoded";
    let reserve: Vec<Vec<u8>> = (0..ROUND)
        .map(|_| {
            request(
                "POST",
                "/data-token/reserve-token-space",
                Some(token),
                form_type,
                &form(&[("context", "bulk")]),
            )
        })
        .collect();
    let ids: Vec<String> = ok_json(send_all(api, reserve).await, "reserve")
        .iter()
        .map(id_of)
        .collect();
    let temps = ids
        .iter()
        .map(|id| {
            request(
                "GET",
                &format!("/data-token/retrieve-temporary-data-token/{id}"),
                Some(token),
                "",
                b"",
            )
        })
        .collect();
    let temps = ok_json(send_all(api, temps).await, "temporary token");
    let uploads = temps
        .iter()
        .map(|t| {
            let stream = t["stream"].as_str().expect("stream URI");
            let (_, token) = stream.split_once("?auth=").expect("the URI's auth query");
            request(
                "POST",
                &format!("/?auth={token}"),
                None,
                "application/octet-stream",
                payload,
            )
        })
        .collect();
    ok_json(send_all(server.stream_url(), uploads).await, "upload");
    let size = (payload.len() - common::WIRE_OVERHEAD).to_string();
    let metas = temps
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let name = format!("f{}", first + i);
            let body = form(&[
                ("token", t["token"].as_str().expect("temporary token")),
                ("fileName", &name),
                ("extension", "bin"),
                ("context", "bulk"),
                ("size", &size),
                ("path", "/"),
            ]);
            request(
                "POST",
                "/data-token/configure-file-meta",
                Some(token),
                form_type,
                &body,
            )
        })
        .collect();
    ok_json(send_all(api, metas).await, "file meta")
        .iter()
        .map(|t| t.as_str().expect("bare token").to_owned())
        .collect()
}

async fn delete(server: &MockServer, token: &str, tokens: &[String]) {
    let deletes = tokens
        .iter()
        .map(|t| {
            request(
                "POST",
                "/data-token/delete-data",
                Some(token),
                "application/x-www-form-urlencoded",
                &form(&[("token", t)]),
            )
        })
        .collect();
    ok_json(send_all(server.api_url(), deletes).await, "delete");
}

/// Stats without the recording figure, which fills up to its limit and then stays there.
fn held(server: &MockServer) -> Stats {
    Stats {
        recorded: 0,
        ..server.stats()
    }
}

async fn settle(server: &MockServer, baseline: Stats) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while held(server) != baseline {
        assert!(
            tokio::time::Instant::now() < deadline,
            "state did not return to baseline: {:?} vs {baseline:?}",
            held(server)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_flat_across_10_000_stored_and_deleted_tokens() {
    let server = MockServer::builder()
        .ack_delay(Duration::ZERO)
        .command_retention(Duration::from_millis(50))
        .start()
        .await
        .expect("server starts");
    let token = active_profile(server.api_url(), "bulk", "pw").await;
    let payload: Vec<u8> = (0..PAYLOAD).map(|i| (i % 251) as u8).collect();
    let baseline = Stats {
        commands: 0,
        ..held(&server)
    };
    settle(&server, baseline).await;
    let start = rss_kib();

    let mut after_first = 0;
    for round in 0..2 {
        let tokens = store(&server, &token, &payload, round * ROUND).await;
        assert_eq!(server.stats().data_tokens, ROUND, "every token is held");
        delete(&server, &token, &tokens).await;
        settle(&server, baseline).await;
        if round == 0 {
            after_first = rss_kib();
        }
    }
    let after_second = rss_kib();
    let growth = after_second - after_first;
    eprintln!(
        "RSS: start {start} KiB, after the first {ROUND}: {after_first} KiB, after the second \
         {ROUND}: {after_second} KiB, growth {growth} KiB (bound {BOUND_KIB} KiB)"
    );
    assert_eq!(server.count("delete_data"), 2 * ROUND as u64);
    assert_eq!(server.count("upload_stream"), 2 * ROUND as u64);
    assert!(
        growth < BOUND_KIB,
        "RSS grew by {growth} KiB between the rounds (bound {BOUND_KIB} KiB)"
    );
}
