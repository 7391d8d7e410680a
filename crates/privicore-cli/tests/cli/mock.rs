//! `privicore mock`: serves in the foreground, prints its URLs, stops cleanly on Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::one_line_error;

#[test]
fn serves_until_interrupted() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_privicore"))
        .args(["mock", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("HOME", dir.path())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut urls = Vec::new();
    for _ in 0..4 {
        let line = lines.next().expect("a line").expect("utf-8");
        let (name, url) = line.split_once(' ').expect("`name url`");
        urls.push((name.to_owned(), url.to_owned()));
    }
    let names: Vec<&str> = urls.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["api", "ws", "stream", "download"]);

    // Another program can use it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = privicore::Client::builder()
        .api_url(&urls[0].1)
        .ws_url(&urls[1].1)
        .build()
        .expect("client");
    let health = runtime.block_on(client.health()).expect("the mock answers");
    assert_eq!(serde_json::to_value(&health).expect("JSON")["status"], "ok");

    // Ctrl-C: a clean stop, exit code 0.
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the mock did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn a_busy_port_is_one_error_line() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("dir");
    let err = one_line_error(
        crate::common::bare(dir.path()).args(["mock", "--port", &port.to_string()]),
        1,
    );
    assert!(err.contains("start the mock server"), "{err}");
}
