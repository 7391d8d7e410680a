//! `privicore oauth register | authorize | refresh | inspect`.

use std::path::Path;

use predicates::prelude::*;

use crate::common::{Mock, one_line_error, stdout};

/// Registers an application for `user` through the binary; returns (client id, secret).
pub fn register(mock: &Mock, user: &str) -> (String, String) {
    let out = stdout(mock.as_user(user, "").args([
        "oauth",
        "register",
        "billing",
        "--redirect-uri",
        "https://app.example/cb",
        "--scopes",
        "all",
        "--json",
    ]));
    let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    (
        value["client_id"].as_str().expect("client id").to_owned(),
        value["client_secret"].as_str().expect("secret").to_owned(),
    )
}

/// The access and refresh tokens in a token file.
pub fn tokens_in(path: &Path) -> (String, String) {
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("the token file")).expect("JSON");
    (
        value["access_token"].as_str().expect("access").to_owned(),
        value["refresh_token"].as_str().expect("refresh").to_owned(),
    )
}

#[test]
fn register_prints_the_credentials_once_with_a_warning() {
    let mock = Mock::start();
    mock.provision("owner");
    let assert = mock
        .as_user("owner", "")
        .args([
            "oauth",
            "register",
            "crm",
            "--redirect-uri",
            "https://crm.example/cb",
            "--scopes",
            "all",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("shown this once"));
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(out.contains("application id"), "{out}");
    assert!(out.contains("client id"), "{out}");
    assert!(out.contains("client secret"), "{out}");
    let (_, secret) = register(&mock, "owner");
    assert!(!secret.is_empty());
}

#[test]
fn authorize_saves_tokens_that_refresh_and_inspect_use() {
    let mock = Mock::start();
    mock.provision("oauth-owner");
    let (client_id, secret) = register(&mock, "oauth-owner");
    let file = mock.path("tokens.json");
    let out = stdout(
        mock.as_user("oauth-owner", "")
            .env("PRIVICORE_CLIENT_SECRET", &secret)
            .args([
                "oauth",
                "authorize",
                "--client-id",
                &client_id,
                "--token-file",
            ])
            .arg(&file),
    );
    assert!(out.starts_with("authorized; tokens saved"), "{out}");
    assert!(out.contains("scope          all"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let first = tokens_in(&file);

    let inspect = stdout(
        mock.bare()
            .args(["oauth", "inspect", "--json", "--token-file"])
            .arg(&file),
    );
    let value: serde_json::Value = serde_json::from_str(&inspect).expect("JSON");
    assert_eq!(value["scope"], "all");
    assert_eq!(value["client_id"], client_id.as_str());
    assert_eq!(value["expired"], false);
    assert_eq!(value["has_refresh_token"], true);
    let text = stdout(
        mock.bare()
            .args(["oauth", "inspect", "--token-file"])
            .arg(&file),
    );
    assert!(text.contains("access token   expires"), "{text}");

    // Two refreshes in a row: each rotates, each saves the new tokens.
    for _ in 0..2 {
        let before = tokens_in(&file);
        let out = stdout(
            mock.cmd()
                .args(["oauth", "refresh", "--json", "--token-file"])
                .arg(&file),
        );
        let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(value["scope"], "all");
        let after = tokens_in(&file);
        assert_ne!(before.0, after.0, "a new access token");
        assert_ne!(before.1, after.1, "a rotated refresh token");
    }
    assert_ne!(tokens_in(&file), first);
}

#[test]
fn the_default_token_file_lives_in_the_config_directory() {
    let mock = Mock::start();
    mock.provision("default-file");
    let (client_id, secret) = register(&mock, "default-file");
    stdout(
        mock.as_user("default-file", "")
            .env("PRIVICORE_CLIENT_SECRET", &secret)
            .args(["oauth", "authorize", "--client-id", &client_id]),
    );
    let expected = mock.dir.path().join("config/privicore/oauth-tokens.json");
    assert!(expected.exists(), "{}", expected.display());
    stdout(mock.bare().args(["oauth", "inspect"]));
    stdout(mock.cmd().args(["oauth", "refresh"]));
}

#[test]
fn error_paths() {
    let mock = Mock::start();
    mock.provision("err-owner");
    let (client_id, secret) = register(&mock, "err-owner");
    let file = mock.path("tokens.json");

    // Wrong client secret.
    let err = one_line_error(
        mock.as_user("err-owner", "")
            .env("PRIVICORE_CLIENT_SECRET", "not-the-secret")
            .args([
                "oauth",
                "authorize",
                "--client-id",
                &client_id,
                "--token-file",
            ])
            .arg(&file),
        1,
    );
    assert!(err.contains("unauthorized"), "{err}");
    assert!(!file.exists());

    // Missing client secret: refused before logging in.
    let err = one_line_error(
        mock.as_user("err-owner", "")
            .args([
                "oauth",
                "authorize",
                "--client-id",
                &client_id,
                "--token-file",
            ])
            .arg(&file),
        1,
    );
    assert!(err.contains("PRIVICORE_CLIENT_SECRET"), "{err}");

    // Wrong profile credentials.
    for args in [
        &[
            "oauth",
            "register",
            "x",
            "--redirect-uri",
            "https://x/cb",
            "--scopes",
            "all",
        ][..],
        &["oauth", "authorize", "--client-id", &client_id],
    ] {
        let err = one_line_error(
            mock.as_user("err-owner", "")
                .env("PRIVICORE_PASSWORD", "wrong")
                .env("PRIVICORE_CLIENT_SECRET", &secret)
                .args(args),
            1,
        );
        assert!(err.contains("unauthorized"), "{err}");
    }

    // No token file yet.
    for args in [&["oauth", "inspect"][..], &["oauth", "refresh"]] {
        let err = one_line_error(mock.cmd().args(args).arg("--token-file").arg(&file), 1);
        assert!(err.contains("oauth authorize"), "{err}");
    }

    // A file that is not a token file.
    std::fs::write(&file, "{ not json").expect("write");
    for args in [&["oauth", "inspect"][..], &["oauth", "refresh"]] {
        let err = one_line_error(mock.cmd().args(args).arg("--token-file").arg(&file), 1);
        assert!(err.contains("not a token file"), "{err}");
    }

    // A spent refresh token: the server refuses it.
    let good = mock.path("good.json");
    stdout(
        mock.as_user("err-owner", "")
            .env("PRIVICORE_CLIENT_SECRET", &secret)
            .args([
                "oauth",
                "authorize",
                "--client-id",
                &client_id,
                "--token-file",
            ])
            .arg(&good),
    );
    let stale = std::fs::read(&good).expect("read");
    stdout(
        mock.cmd()
            .args(["oauth", "refresh", "--token-file"])
            .arg(&good),
    );
    std::fs::write(&good, stale).expect("restore the old tokens");
    let err = one_line_error(
        mock.cmd()
            .args(["oauth", "refresh", "--token-file"])
            .arg(&good),
        1,
    );
    assert!(err.contains("refresh the access token"), "{err}");
}
