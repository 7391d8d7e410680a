//! The `mock` feature: with it (the default) the binary carries the embedded mock server; a
//! slim build (`--no-default-features`) has no `mock` command, and its `demo` asks for a
//! server instead. Each build checks its own side.

use crate::common::{bare, one_line_error, stdout};

#[cfg(feature = "mock")]
#[test]
fn the_default_build_carries_the_mock() {
    let dir = tempfile::tempdir().expect("dir");
    let help = stdout(bare(dir.path()).arg("--help"));
    assert!(help.contains("  mock "), "{help}");
}

#[cfg(not(feature = "mock"))]
#[test]
fn a_slim_build_has_no_mock_and_says_what_the_demo_needs() {
    let dir = tempfile::tempdir().expect("dir");
    let help = stdout(bare(dir.path()).arg("--help"));
    assert!(!help.contains("  mock "), "{help}");
    let err = one_line_error(bare(dir.path()).args(["mock"]), 2);
    assert!(err.contains("unrecognized subcommand 'mock'"), "{err}");
    let err = one_line_error(bare(dir.path()).args(["demo"]), 2);
    assert!(
        err.contains("built without the embedded mock server (cargo feature `mock`)"),
        "{err}"
    );
    assert!(err.contains("--api and --ws"), "{err}");
}

/// Both builds: `demo` against a given server needs no feature.
#[test]
fn the_demo_needs_the_websocket_url_with_an_api_url() {
    let dir = tempfile::tempdir().expect("dir");
    let err = one_line_error(
        bare(dir.path())
            .env("PRIVICORE_API_URL", "http://127.0.0.1:9")
            .arg("demo"),
        2,
    );
    assert!(err.contains("--ws"), "{err}");
}
