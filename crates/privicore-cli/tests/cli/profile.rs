//! `privicore profile provision`.

use secrecy::SecretString;

use crate::common::{Mock, PASSWORD, one_line_error, stdout};

#[test]
fn provisions_a_profile_that_can_log_in() {
    let mock = Mock::start();
    let out = stdout(
        mock.cmd()
            .env("PRIVICORE_USERNAME", "new-user")
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .args(["profile", "provision"]),
    );
    assert!(
        out.starts_with("provisioned profile new-user (id "),
        "{out}"
    );
    let client = mock.client();
    let session = mock
        .runtime
        .block_on(client.login("new-user", SecretString::from(PASSWORD)))
        .expect("the new profile logs in");
    // The public key was registered: the profile is usable.
    mock.runtime
        .block_on(session.public_key())
        .expect("a public key is registered");
}

#[test]
fn json_output_and_username_flag() {
    let mock = Mock::start();
    let out = stdout(mock.cmd().env("PRIVICORE_PASSWORD", PASSWORD).args([
        "profile",
        "provision",
        "--username",
        "flag-user",
        "--json",
    ]));
    let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(value["username"], "flag-user");
    assert!(
        value["profile_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
}

#[test]
fn saves_the_private_key_only_when_asked_and_never_over_a_file() {
    let mock = Mock::start();
    let key_file = mock.path("profile.key");
    stdout(
        mock.cmd()
            .env("PRIVICORE_USERNAME", "keyed")
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .args(["profile", "provision", "--key-file"])
            .arg(&key_file),
    );
    let text = std::fs::read_to_string(&key_file).expect("the key file");
    assert_eq!(text.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // An existing file is refused before anything is registered.
    let err = one_line_error(
        mock.cmd()
            .env("PRIVICORE_USERNAME", "keyed-again")
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .args(["profile", "provision", "--key-file"])
            .arg(&key_file),
        1,
    );
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(mock.server.count("register_profile"), 1);
    assert_eq!(std::fs::read_to_string(&key_file).expect("kept"), text);
}

#[test]
fn a_taken_username_fails() {
    let mock = Mock::start();
    mock.provision("taken");
    let err = one_line_error(
        mock.cmd()
            .env("PRIVICORE_USERNAME", "taken")
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .args(["profile", "provision"]),
        1,
    );
    assert!(err.contains("409"), "{err}");
    assert!(err.contains("username_taken"), "{err}");
}

#[test]
fn missing_settings_are_named() {
    let mock = Mock::start();
    let err = one_line_error(
        mock.bare()
            .env("PRIVICORE_USERNAME", "u")
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .args(["profile", "provision"]),
        1,
    );
    assert!(err.contains("PRIVICORE_API_URL"), "{err}");
    let err = one_line_error(
        mock.cmd()
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .args(["profile", "provision"]),
        1,
    );
    assert!(err.contains("PRIVICORE_USERNAME"), "{err}");
    // No password and no terminal: fail at once instead of waiting on a prompt.
    let err = one_line_error(
        mock.cmd()
            .env("PRIVICORE_USERNAME", "u")
            .args(["profile", "provision"]),
        1,
    );
    assert!(err.contains("PRIVICORE_PASSWORD"), "{err}");
    assert_eq!(mock.server.count("register_profile"), 0);
}

#[test]
fn an_unreachable_or_malformed_server_fails_in_one_line() {
    let mock = Mock::start();
    let err = one_line_error(
        mock.bare()
            .env("PRIVICORE_API_URL", "not a url")
            .env("PRIVICORE_USERNAME", "u")
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .args(["profile", "provision"]),
        1,
    );
    assert!(err.contains("API URL"), "{err}");
    // Port 9 (discard) on loopback: nothing listens there in a test machine.
    one_line_error(
        mock.bare()
            .env("PRIVICORE_API_URL", "http://127.0.0.1:9")
            .env("PRIVICORE_USERNAME", "u")
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .args(["profile", "provision"]),
        1,
    );
}
