//! A full session at TRACE level, with every Debug output of the public types, must not show
//! a single secret: passwords, profile and OAuth tokens, refresh tokens, client secrets,
//! authorization codes, stream and download tokens, vault keys, private keys.

mod common;

use std::sync::Arc;

use common::Capture;
use privicore::{KeyPair, MemoryTokenStore, StoreOptions, VaultKey};
use privicore_mock::leak_check::Secrets;
use secrecy::{ExposeSecret, SecretString};

/// Spaces and reserved characters, as the password's.
const WRONG_PASSWORD: &str = "Wr0ng passphrase/for+leak check&";

#[tokio::test]
async fn a_full_session_at_trace_level_leaks_no_secret() {
    privicore_mock::leak_check::start();
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (mock, client) = common::start_with(
        privicore_mock::MockServer::builder().inline_threshold(1024),
        |b| b,
    )
    .await;
    // Spaces and reserved characters: its percent- and form-encoded forms differ from it.
    let password = "Sup3r secret/passphrase+for leak-check?";
    let keys = KeyPair::generate();
    let session = client
        .provision("leaks@test", SecretString::from(password), &keys)
        .await
        .expect("provisioned");
    let key = VaultKey::generate();
    let vault = session.vault(key.clone());
    let small = vault
        .store(b"small secret payload", &StoreOptions::new("leaks"))
        .await
        .expect("small");
    let large = vault
        .store(&vec![7u8; 300 * 1024], &StoreOptions::new("leaks"))
        .await
        .expect("large");
    vault.retrieve(&small).await.expect("small back");
    vault.retrieve(&large).await.expect("large back");
    session
        .data_tokens()
        .list()
        .collect()
        .await
        .expect("listed");

    let app = session
        .oauth()
        .register("leaks", "https://app.test/cb", "all")
        .await
        .expect("app");
    let credentials = session
        .oauth()
        .configuration(&app)
        .await
        .expect("credentials");
    let oauth = client.oauth_client(
        credentials.client_id.clone(),
        credentials.client_secret.clone(),
    );
    let tokens = oauth.authorize(&session, &["all"]).await.expect("tokens");
    let oauth_session = client
        .oauth_session(tokens.clone(), Arc::new(MemoryTokenStore::new()))
        .await
        .expect("oauth session");
    oauth_session.refresh_oauth().await.expect("refreshed");
    oauth_session
        .data_tokens()
        .list()
        .collect()
        .await
        .expect("listed with oauth");
    // The typed handlers: a directory user's password goes out through a builder, a generated
    // private key comes back in an answer.
    let directory_password = "Dir3ctory user/passphrase+for leak-check?";
    let directory_id = session
        .directories()
        .register_directory("leaks")
        .send()
        .await
        .expect("directory");
    let create = session
        .directories()
        .directory(directory_id.to_string())
        .create_directory_user("bob@leaks.test", SecretString::from(directory_password));
    let create_debug = format!("{create:?}");
    create.send().await.expect("directory user");
    let generated = session
        .public_keys()
        .generate_key_pair()
        .send()
        .await
        .expect("generated key pair");
    // A password change, then a login with the new password (the server expired the tokens).
    let new_password = "N3w secret/passphrase+for leak-check&";
    session
        .change_password(
            SecretString::from(password),
            SecretString::from(new_password),
        )
        .await
        .expect("password changed");
    mock.expire_tokens();
    session.profile_id().await.expect("logged in again");
    // Errors carry no secret either.
    let wrong = client
        .login("leaks@test", SecretString::from(WRONG_PASSWORD))
        .await
        .expect_err("wrong");
    session.revoke().await.expect("revoked");

    // Debug output of everything a user may print.
    let mut debug = format!(
        "{client:?} {session:?} {oauth_session:?} {credentials:?} {tokens:?} {key:?} {keys:?} {oauth:?} {wrong:?} {wrong} {:?}",
        oauth_session.oauth_tokens()
    );
    debug.push_str(&format!("{:?}", keys.signed_public_key()));
    debug.push_str(&format!("{create_debug} {generated:?}"));

    let logs = capture.text();
    assert!(
        logs.len() > 10_000,
        "the subscriber captured the session ({} bytes)",
        logs.len()
    );
    let haystack = format!("{logs}\n{debug}");

    let mut secrets = Secrets::new();
    secrets
        .text("password", password)
        .text("wrong password", WRONG_PASSWORD)
        .text("new password", new_password)
        .text("directory user password", directory_password)
        .text("generated private key", &generated.private_key)
        .key("vault key", &common::key_bytes(&key))
        .key("private key", keys.secret_key().expose_secret())
        .client(
            "client secret",
            &credentials.client_id,
            credentials.client_secret.expose_secret(),
        )
        .issued();
    assert!(
        secrets.len() > 15,
        "the mock issued tokens, codes and stream tokens: {}",
        secrets.len()
    );
    let found = secrets.find(&haystack);
    println!(
        "scanned {} bytes of TRACE logs and {} bytes of Debug output for {} secrets in {} forms: {} found",
        logs.len(),
        debug.len(),
        secrets.len(),
        secrets.forms(),
        found.len()
    );
    assert!(
        found.is_empty(),
        "secrets found in logs or Debug output: {}",
        common::names(&found)
    );
}
