//! `privicore tokens list` and `privicore tokens delete`.

use crate::common::{Mock, key, one_line_error, stdout};

/// A user with `n` tokens in context `ctx` and one in `other`; returns the key and the tokens.
fn stored(mock: &Mock, user: &str, n: usize) -> (String, Vec<String>) {
    mock.provision(user);
    let key = key();
    let mut tokens = Vec::new();
    for i in 0..n {
        let file = mock.path(&format!("{user}-{i}.txt"));
        std::fs::write(&file, format!("payload {i}")).expect("write");
        let token = stdout(
            mock.as_user(user, &key)
                .args(["store", "--context", "ctx"])
                .arg(&file),
        );
        tokens.push(token.trim().to_owned());
    }
    let file = mock.path(&format!("{user}-other.txt"));
    std::fs::write(&file, "elsewhere").expect("write");
    stdout(
        mock.as_user(user, &key)
            .args(["store", "--context", "other"])
            .arg(&file),
    );
    (key, tokens)
}

#[test]
fn lists_every_page_in_json_and_text() {
    let mock = Mock::start();
    let (key, tokens) = stored(&mock, "lister", 5);
    let before = mock.server.count("list_data_tokens");
    let out = stdout(mock.as_user("lister", &key).args([
        "tokens",
        "list",
        "--json",
        "--per-page",
        "2",
        "--context",
        "ctx",
    ]));
    let items: Vec<serde_json::Value> = serde_json::from_str(&out).expect("a JSON array");
    let mut listed: Vec<&str> = items.iter().filter_map(|i| i["token"].as_str()).collect();
    let mut expected: Vec<&str> = tokens.iter().map(String::as_str).collect();
    listed.sort_unstable();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    // Five tokens, two per page: three pages were read.
    assert_eq!(mock.server.count("list_data_tokens") - before, 3);

    let text = stdout(mock.as_user("lister", &key).args(["tokens", "list"]));
    assert!(text.starts_with("TOKEN"), "{text}");
    assert!(text.trim_end().ends_with("6 data tokens"), "{text}");
    for token in &tokens {
        assert!(text.contains(token.as_str()));
    }
    assert!(text.contains("lister-0.txt"));
}

#[test]
fn an_empty_list() {
    let mock = Mock::start();
    mock.provision("empty");
    let key = key();
    let json = stdout(
        mock.as_user("empty", &key)
            .args(["tokens", "list", "--json"]),
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).expect("JSON"),
        serde_json::json!([])
    );
    let text = stdout(mock.as_user("empty", &key).args(["tokens", "list"]));
    assert_eq!(text, "0 data tokens\n");
}

#[test]
fn listing_needs_no_vault_key() {
    let mock = Mock::start();
    mock.provision("keyless");
    stdout(
        mock.as_user("keyless", "ignored")
            .env_remove("PRIVICORE_VAULT_KEY")
            .args(["tokens", "list"]),
    );
}

#[test]
fn deletes_a_token_and_refuses_an_unknown_one() {
    let mock = Mock::start();
    let (key, tokens) = stored(&mock, "deleter", 2);
    let out = stdout(
        mock.as_user("deleter", &key)
            .args(["tokens", "delete", &tokens[0]]),
    );
    assert_eq!(out, format!("deleted {}\n", tokens[0]));
    let json = stdout(mock.as_user("deleter", &key).args([
        "tokens",
        "list",
        "--json",
        "--context",
        "ctx",
    ]));
    let items: Vec<serde_json::Value> = serde_json::from_str(&json).expect("JSON");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["token"], tokens[1].as_str());

    // Deleting it again: it is unknown now.
    let err = one_line_error(
        mock.as_user("deleter", &key)
            .args(["tokens", "delete", &tokens[0]]),
        1,
    );
    assert!(err.contains(&format!("delete {}", tokens[0])), "{err}");
    assert!(err.contains("not_found"), "{err}");
}

#[test]
fn wrong_credentials_and_missing_settings() {
    let mock = Mock::start();
    mock.provision("tok-user");
    for args in [&["tokens", "list"][..], &["tokens", "delete", "t"]] {
        let err = one_line_error(
            mock.as_user("tok-user", "k")
                .env("PRIVICORE_PASSWORD", "wrong")
                .args(args),
            1,
        );
        assert!(err.contains("unauthorized"), "{err}");
        let err = one_line_error(
            mock.as_user("tok-user", "k")
                .env_remove("PRIVICORE_USERNAME")
                .args(args),
            1,
        );
        assert!(err.contains("PRIVICORE_USERNAME"), "{err}");
    }
}

#[test]
fn every_command_revokes_its_login_token_whatever_the_outcome() {
    let mock = Mock::start();
    let (key, tokens) = stored(&mock, "revoker", 1);
    let logins = || mock.server.count("authenticate");
    let revokes = || mock.server.count("revoke_authorization_token");
    let (logins_before, revokes_before) = (logins(), revokes());
    let live = mock.server.stats().tokens;
    stdout(mock.as_user("revoker", &key).args(["tokens", "list"]));
    // A command that fails after logging in revokes too.
    one_line_error(
        mock.as_user("revoker", &key)
            .args(["tokens", "delete", "no-such-token"]),
        1,
    );
    stdout(
        mock.as_user("revoker", &key)
            .args(["tokens", "delete", &tokens[0]]),
    );
    assert_eq!(logins() - logins_before, 3);
    assert_eq!(revokes() - revokes_before, 3);
    assert_eq!(
        mock.server.stats().tokens,
        live,
        "no live login token is left behind"
    );
}
