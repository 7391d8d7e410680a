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

/// `privicore mock` with `args`, its four URLs read; killed when dropped.
struct Serving {
    child: std::process::Child,
    api: String,
    /// Kept open: a server whose stdout was closed fails its next write and stops.
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
    _dir: tempfile::TempDir,
}

impl Serving {
    fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_privicore"))
            .args(["mock", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .env("HOME", dir.path())
            .spawn()
            .expect("starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().expect("a line").expect("utf-8");
        let api = line
            .strip_prefix("api ")
            .expect("`api URL` first")
            .to_owned();
        Self {
            child,
            api,
            _stdout: lines,
            _dir: dir,
        }
    }

    /// The status line's code and the `Allow` header of request-status by `method`, for an
    /// unknown command id (`404` where the method is served, `405` where it is not). Plain
    /// HTTP/1.1 over a socket: what a router answers, before any client logic.
    fn request_status(&self, method: &str) -> (u16, String) {
        use std::io::{Read as _, Write as _};
        let host = self.api.strip_prefix("http://").expect("http");
        let mut socket = std::net::TcpStream::connect(host).expect("connects");
        // The probe's POST carries `{}` as JSON; a GET carries nothing.
        let body = match method {
            "POST" => "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
            _ => "\r\n",
        };
        write!(
            socket,
            "{method} /request-status/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{body}"
        )
        .expect("sends");
        let mut answer = String::new();
        socket.read_to_string(&mut answer).expect("reads");
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let allow = answer
            .lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(name, _)| name.eq_ignore_ascii_case("allow"))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default();
        (status, allow)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What request-status answers one method with: the status and the `Allow` header.
type Answer<'a> = (u16, &'a str);

#[test]
fn variant_picks_the_wire_it_serves() {
    // (arguments, what POST gets, what GET gets)
    let cases: [(&[&str], Answer, Answer); 3] = [
        (&[], (404, ""), (405, "POST")),
        (&["--variant", "probe"], (404, ""), (405, "POST")),
        (&["--variant", "status-get-only"], (405, "GET"), (404, "")),
    ];
    for (args, post, get) in cases {
        let serving = Serving::start(args);
        let (post_status, post_allow) = serving.request_status("POST");
        let (get_status, get_allow) = serving.request_status("GET");
        assert_eq!(
            (
                (post_status, post_allow.as_str()),
                (get_status, get_allow.as_str())
            ),
            (post, get),
            "{args:?}"
        );
    }
}

#[test]
fn an_unknown_variant_is_a_usage_error_naming_the_valid_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let err = one_line_error(
        crate::common::bare(dir.path()).args(["mock", "--variant", "status-post"]),
        2,
    );
    assert!(err.contains("'status-post'"), "{err}");
    for variant in privicore_mock::Variant::all() {
        assert!(err.contains(variant.name()), "{variant} missing: {err}");
    }
}

#[test]
fn help_lists_every_variant() {
    let dir = tempfile::tempdir().expect("dir");
    let out = crate::common::stdout(crate::common::bare(dir.path()).args(["mock", "--help"]));
    for variant in privicore_mock::Variant::all() {
        assert!(
            out.lines().any(|l| l
                .trim_start()
                .starts_with(&format!("- {}:", variant.name()))
                && l.contains(variant.summary())),
            "{variant} missing:\n{out}"
        );
    }
}
