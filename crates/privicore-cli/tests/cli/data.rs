//! `privicore store` and `privicore retrieve`.

use predicates::prelude::*;

use crate::common::{Mock, key, noise, one_line_error, stdout};

/// A provisioned user and a vault key.
fn setup(mock: &Mock, user: &str) -> String {
    mock.provision(user);
    key()
}

/// A provisioned user who has stored `len` bytes of noise; returns the vault key and the token.
fn stored(mock: &Mock, user: &str, len: usize) -> (String, String) {
    let key = setup(mock, user);
    let file = mock.path(&format!("{user}-payload"));
    std::fs::write(&file, noise(len, 3)).expect("write");
    let token = stdout(mock.as_user(user, &key).arg("store").arg(&file));
    (key, token.trim().to_owned())
}

/// The temporary `.part` files in the scratch directory.
fn part_files(mock: &Mock) -> Vec<String> {
    std::fs::read_dir(mock.dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part"))
        .collect()
}

#[test]
fn store_prints_the_token_and_retrieve_gives_the_bytes_back() {
    let mock = Mock::start();
    let key = setup(&mock, "data-user");
    for (name, len) in [("small", 200usize), ("large", 300_000)] {
        let file = mock.path(name);
        std::fs::write(&file, noise(len, len as u64)).expect("write");
        let out = stdout(mock.as_user("data-user", &key).arg("store").arg(&file));
        let token = out.trim();
        assert_eq!(out.lines().count(), 1, "only the token: {out}");
        assert!(!token.is_empty());

        // To stdout.
        let back = mock
            .as_user("data-user", &key)
            .args(["retrieve", token])
            .output()
            .expect("runs");
        assert!(
            back.status.success(),
            "{}",
            String::from_utf8_lossy(&back.stderr)
        );
        assert_eq!(back.stdout, noise(len, len as u64), "{name} via stdout");

        // To a file, atomically.
        let target = mock.path(&format!("{name}.back"));
        mock.as_user("data-user", &key)
            .args(["retrieve", token, "-o"])
            .arg(&target)
            .assert()
            .success()
            .stdout("");
        assert_eq!(
            std::fs::read(&target).expect("written"),
            noise(len, len as u64)
        );
    }
    // The large payload was streamed, not sent inline.
    assert_eq!(mock.server.count("upload_stream"), 1);
}

#[test]
fn store_json_and_context() {
    let mock = Mock::start();
    let key = setup(&mock, "json-user");
    let file = mock.path("invoice.pdf");
    std::fs::write(&file, b"%PDF-1.7 not really").expect("write");
    let out = stdout(
        mock.as_user("json-user", &key)
            .args(["store", "--json", "--context", "invoices"])
            .arg(&file),
    );
    let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(value["context"], "invoices");
    assert_eq!(value["size"], 19);
    let token = value["token"].as_str().expect("a token").to_owned();
    let list = stdout(mock.as_user("json-user", &key).args([
        "tokens",
        "list",
        "--json",
        "--context",
        "invoices",
    ]));
    let list: serde_json::Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!(list[0]["token"], token.as_str());
    assert_eq!(list[0]["file_name"], "invoice.pdf");
    assert_eq!(list[0]["size"], 19);
}

#[test]
fn store_reads_standard_input() {
    let mock = Mock::start();
    let key = setup(&mock, "stdin-user");
    let token = stdout(
        mock.as_user("stdin-user", &key)
            .args(["store", "-"])
            .write_stdin(noise(70_000, 7)),
    );
    let back = mock
        .as_user("stdin-user", &key)
        .args(["retrieve", token.trim()])
        .output()
        .expect("runs");
    assert_eq!(back.stdout, noise(70_000, 7));
}

#[test]
fn wrong_credentials_fail_before_anything_is_stored() {
    let mock = Mock::start();
    let key = setup(&mock, "cred-user");
    let file = mock.path("f");
    std::fs::write(&file, b"x").expect("write");
    let err = one_line_error(
        mock.as_user("cred-user", &key)
            .env("PRIVICORE_PASSWORD", "not-the-password")
            .arg("store")
            .arg(&file),
        1,
    );
    assert!(err.contains("log in as cred-user"), "{err}");
    assert!(err.contains("unauthorized"), "{err}");
    let err = one_line_error(
        mock.as_user("nobody", &key)
            .args(["retrieve", "some-token"]),
        1,
    );
    assert!(err.contains("unauthorized"), "{err}");
    assert_eq!(mock.server.count("reserve_token_space"), 0);
}

#[test]
fn unreadable_files_fail_without_logging_in() {
    let mock = Mock::start();
    let key = setup(&mock, "file-user");
    let logins = mock.server.count("authenticate");
    let err = one_line_error(
        mock.as_user("file-user", &key)
            .arg("store")
            .arg(mock.path("does-not-exist")),
        1,
    );
    assert!(err.contains("does-not-exist"), "{err}");
    let err = one_line_error(
        mock.as_user("file-user", &key)
            .arg("store")
            .arg(mock.dir.path()),
        1,
    );
    assert!(err.contains("is a directory"), "{err}");
    #[cfg(unix)]
    if running_as_root() {
        // Root reads a mode-000 file, so this case cannot be played; say so where it is seen
        // (stderr directly: the harness captures only `print!`).
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED unreadable_files_fail_without_logging_in: the mode-000 case (running as root)"
        );
    } else {
        use std::os::unix::fs::PermissionsExt;
        let locked = mock.path("locked");
        std::fs::write(&locked, b"x").expect("write");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        let err = one_line_error(mock.as_user("file-user", &key).arg("store").arg(&locked), 1);
        assert!(err.contains("ermission denied"), "{err}");
    }
    // Checked before logging in: no request reached the server.
    assert_eq!(mock.server.count("authenticate"), logins);
}

/// Root reads any file whatever its mode, so the permission case is skipped for root.
#[cfg(unix)]
fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(true)
}

#[test]
fn a_bad_or_missing_vault_key_is_refused_without_echoing_it() {
    let mock = Mock::start();
    mock.provision("key-user");
    let file = mock.path("f");
    std::fs::write(&file, b"x").expect("write");
    for bad in [
        "5ec7e75ec7e75ec7e7".to_owned(),
        format!("{}zz", "5ec7e7".repeat(10) + "ab"),
    ] {
        let err = one_line_error(mock.as_user("key-user", &bad).arg("store").arg(&file), 1);
        assert!(
            err.contains("PRIVICORE_VAULT_KEY is not a valid vault key"),
            "{err}"
        );
        assert!(!err.contains("5ec7e7"), "the key is echoed: {err}");
        let err = one_line_error(mock.as_user("key-user", &bad).args(["retrieve", "t"]), 1);
        assert!(!err.contains("5ec7e7"), "the key is echoed: {err}");
    }
    let err = one_line_error(
        mock.as_user("key-user", "x")
            .env_remove("PRIVICORE_VAULT_KEY")
            .arg("store")
            .arg(&file),
        1,
    );
    assert!(err.contains("PRIVICORE_VAULT_KEY is not set"), "{err}");
}

#[test]
fn retrieving_an_unknown_token_fails() {
    let mock = Mock::start();
    let key = setup(&mock, "unknown-user");
    let target = mock.path("out");
    let err = one_line_error(
        mock.as_user("unknown-user", &key)
            .args(["retrieve", "no-such-token", "-o"])
            .arg(&target),
        1,
    );
    assert!(err.contains("retrieve no-such-token"), "{err}");
    assert!(err.contains("not_found"), "{err}");
    assert!(!target.exists());
}

#[test]
fn retrieving_with_the_wrong_key_leaves_no_file() {
    let mock = Mock::start();
    let (_, token) = stored(&mock, "wrong-key-user", 100_000);
    let target = mock.path("out");
    let other = crate::common::key();
    let err = one_line_error(
        mock.as_user("wrong-key-user", &other)
            .args(["retrieve", &token, "-o"])
            .arg(&target),
        1,
    );
    assert!(err.contains("PRIVICORE_VAULT_KEY"), "{err}");
    assert!(!target.exists());
    assert!(part_files(&mock).is_empty());
    // To stdout, the error says the bytes already written must be discarded.
    mock.as_user("wrong-key-user", &other)
        .args(["retrieve", &token])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("discard"));
}

#[test]
fn ctrl_c_during_a_retrieval_into_a_file_exits_130_and_leaves_no_file() {
    let mock = Mock::start();
    let (key, token) = stored(&mock, "interrupted-user", 1_000_000);
    // Every request now waits, so the retrieval is still running when the signal comes.
    mock.server
        .faults()
        .update(|f| f.latency = std::time::Duration::from_millis(400));
    let target = mock.path("out");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_privicore"));
    command
        .env_clear()
        .env("HOME", mock.dir.path())
        .env("XDG_CONFIG_HOME", mock.path("config"))
        .env("PRIVICORE_API_URL", mock.server.api_url())
        .env("PRIVICORE_WS_URL", mock.server.ws_url())
        .env("PRIVICORE_USERNAME", "interrupted-user")
        .env("PRIVICORE_PASSWORD", crate::common::PASSWORD)
        .env("PRIVICORE_VAULT_KEY", &key)
        .args(["retrieve", &token, "-o"])
        .arg(&target)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while part_files(&mock).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no temporary file appeared"
        );
        assert!(
            child.try_wait().expect("waits").is_none(),
            "the retrieval ended before it could be interrupted"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    let output = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        part_files(&mock).is_empty(),
        "left behind: {:?}",
        part_files(&mock)
    );
    assert!(!target.exists());
}
