//! `privicore demo`, end to end.

use crate::common::{Mock, bare, one_line_error};

/// Over the 48 KiB inline threshold, so the large file is streamed; small enough to be quick
/// in a debug build.
const LARGE: &str = "400000";

#[cfg(feature = "mock")]
#[test]
fn the_demo_runs_against_the_embedded_mock() {
    let dir = tempfile::tempdir().expect("dir");
    let output = bare(dir.path())
        .args(["demo", "--large-size", LARGE])
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.starts_with("Privicore demo against an embedded mock server"),
        "{out}"
    );
    for needle in [
        "Provisioned profile",
        "Logged in",
        "Stored small.txt",
        "Stored large.bin",
        "Listed the data tokens",
        "Retrieved small.txt: 200 B",
        "identical byte for byte",
        "Registered OAuth application",
        "Authorized it",
        "Opened an OAuth session",
        "Refreshed the OAuth access token",
        "Deleted",
        "step",
        "total",
        "Every check passed.",
    ] {
        assert!(out.contains(needle), "`{needle}` missing:\n{out}");
    }
    // No progress bar when stderr is not a terminal.
    assert!(err.is_empty(), "stderr:\n{err}");
}

#[test]
fn the_demo_runs_against_a_given_server() {
    let mock = Mock::start();
    let output = mock
        .cmd()
        .args(["demo", "--large-size", LARGE])
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        out.starts_with(&format!(
            "Privicore demo against the server at {}",
            mock.server.api_url()
        )),
        "{out}"
    );
    assert_eq!(mock.server.count("register_profile"), 1);
    assert_eq!(mock.server.count("upload_stream"), 1);
    assert!(!out.contains("start mock server"), "{out}");
    // It cleans up after itself.
    assert_eq!(mock.server.count("delete_data"), 2);
}

#[test]
fn the_demo_reports_failures_in_one_line() {
    let mock = Mock::start();
    // A server without its WebSocket URL cannot tell the whole story: a usage error.
    let err = one_line_error(mock.cmd().env_remove("PRIVICORE_WS_URL").arg("demo"), 2);
    assert!(err.contains("--ws"), "{err}");
    // Nothing listens there: the first step fails, named, exit code 1.
    let err = one_line_error(
        bare(mock.dir.path())
            .env("PRIVICORE_API_URL", "http://127.0.0.1:9")
            .env("PRIVICORE_WS_URL", "ws://127.0.0.1:9")
            .arg("demo"),
        1,
    );
    assert!(err.contains("demo step `provision profile`"), "{err}");
}
