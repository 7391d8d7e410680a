//! Secrets on the fault paths: a session at TRACE level under every fault (5xx, truncated and
//! malformed answers, early expiry and renewal, rejected commands, lost acks, dropped sockets),
//! and every error it produced, printed with `Display` and `Debug`, must not show a single
//! secret the mock issued or the test used. And the file token store: files are created
//! `0600` and replaced atomically (a reader never sees a partial file, nothing is left behind).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Capture;
use privicore::{FileTokenStore, OAuthTokens, StoreOptions, TokenStore, VaultKey};
use privicore_mock::leak_check::Secrets;
use privicore_mock::{FaultConfig, MockServer};
use secrecy::{ExposeSecret, SecretString};

/// Spaces and reserved characters, as the password's.
const WRONG_PASSWORD: &str = "Wr0ng fault/passphrase+&";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_logs_under_faults_leak_no_secret() {
    privicore_mock::leak_check::start();
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // Global (not thread-local): the session's background tasks run on other threads.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let (mock, client) = common::start_with(
        MockServer::builder().seed(0x5EC2).inline_threshold(1024),
        |b| {
            b.command_timeout(Duration::from_secs(3))
                .request_timeout(Duration::from_secs(3))
        },
    )
    .await;
    // Spaces and reserved characters: its percent- and form-encoded forms differ from it.
    let password = "Fault path/passphrase+for leak-check?";
    let session = client
        .provision(
            "fault-leaks@test",
            SecretString::from(password),
            &privicore::KeyPair::generate(),
        )
        .await
        .expect("provisioned");
    let app = session
        .oauth()
        .register("leaks", "https://app.test/cb", "all")
        .await
        .expect("app");
    let credentials = session.oauth().configuration(&app).await.expect("creds");
    let oauth = client.oauth_client(
        credentials.client_id.clone(),
        credentials.client_secret.clone(),
    );
    let tokens = oauth.authorize(&session, &["all"]).await.expect("tokens");
    let dir = tempdir("fault-leaks");
    let store = Arc::new(FileTokenStore::new(dir.join("tokens.json")));
    let oauth_session = client
        .oauth_session(tokens, store.clone())
        .await
        .expect("oauth session");
    let key = VaultKey::generate();
    let vault = session.vault(key.clone());

    mock.faults().set(FaultConfig {
        jitter: Duration::from_millis(3),
        error_rate: 0.15,
        reject_rate: 0.1,
        early_expiry_rate: 0.1,
        truncate_rate: 0.1,
        malform_rate: 0.1,
        lost_ack_rate: 0.05,
        ws_drop_every: Some(Duration::from_millis(700)),
        ..FaultConfig::default()
    });
    let mut errors = Vec::new();
    let mut ok = 0;
    for i in 0..40usize {
        let data = vec![i as u8; if i % 4 == 0 { 70 * 1024 } else { 200 }];
        let outcome = async {
            let token = vault.store(&data, &StoreOptions::new("leaks")).await?;
            vault.retrieve(&token).await?;
            session.profile_id().await?;
            oauth_session.data_tokens().list().collect().await?;
            if i % 10 == 0 {
                oauth_session.refresh_oauth().await?;
            }
            Ok::<_, privicore::Error>(())
        }
        .await;
        match outcome {
            Ok(()) => ok += 1,
            Err(e) => errors.push(e),
        }
    }
    // Wrong credentials under faults too.
    for _ in 0..5 {
        if let Err(e) = client
            .login("fault-leaks@test", SecretString::from(WRONG_PASSWORD))
            .await
        {
            errors.push(e);
        }
    }
    let counts = mock.faults().counts();
    mock.faults().clear();

    let logs = capture.text();
    let shown: String = errors.iter().map(|e| format!("{e}\n{e:?}\n")).collect();
    let haystack = format!("{logs}\n{shown}");
    let mut secrets = Secrets::new();
    secrets
        .text("password", password)
        .text("wrong password", WRONG_PASSWORD)
        .key("vault key", &common::key_bytes(&key))
        .client(
            "client secret",
            &credentials.client_id,
            credentials.client_secret.expose_secret(),
        )
        .issued();
    let found = secrets.find(&haystack);
    println!(
        "fault paths: {ok} rounds ok, {} errors; faults injected: {} × 5xx, {} truncated, {} malformed, {} rejected, {} expired early, {} acks lost, {} socket drops",
        errors.len(),
        counts.unavailable_503 + counts.internal_500,
        counts.truncated,
        counts.malformed,
        counts.rejected_commands,
        counts.early_expiries,
        counts.lost_acks,
        counts.ws_drops
    );
    println!(
        "scanned {} bytes of TRACE logs and {} bytes of error text for {} secrets in {} forms: {} found",
        logs.len(),
        shown.len(),
        secrets.len(),
        secrets.forms(),
        found.len()
    );
    assert!(errors.len() >= 5, "the faults produced errors to inspect");
    assert!(
        secrets.len() > 20,
        "the mock issued tokens under faults: {}",
        secrets.len()
    );
    assert!(found.is_empty(), "secrets found: {}", common::names(&found));
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("tokens.json")), 0o600);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "privicore-{name}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn tokens(n: usize) -> OAuthTokens {
    OAuthTokens {
        // Long values, so that a torn write would be visible as broken JSON.
        access_token: SecretString::from(format!("access-{n}-{}", "a".repeat(64 * 1024))),
        expires_at: chrono::Utc::now(),
        refresh_token: Some(SecretString::from(format!("refresh-{n}"))),
        refresh_token_expires_at: None,
        scope: Some("all".into()),
        client_id: Some("client".into()),
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_files_are_0600_and_replaced_atomically() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempdir("token-file");
    let path = dir.join("tokens.json");
    // A file left by someone else, readable by all: the store replaces it with a 0600 one.
    std::fs::write(&path, b"{}").expect("old file");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let store = Arc::new(FileTokenStore::new(&path));
    store.save(&tokens(0)).await.expect("saved");
    assert_eq!(mode(&path), 0o600, "created owner-only");

    // A reader loads continuously while the writer replaces the file 200 times: every load
    // is a whole token set, never a torn one.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let store = store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut loads = 0;
            let mut seen = std::collections::BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let loaded = store
                    .load()
                    .await
                    .expect("every load parses")
                    .expect("present");
                let refresh = loaded.refresh_token.expect("refresh");
                let n: usize = refresh
                    .expose_secret()
                    .trim_start_matches("refresh-")
                    .parse()
                    .expect("a number");
                assert!(
                    loaded
                        .access_token
                        .expose_secret()
                        .starts_with(&format!("access-{n}-")),
                    "access and refresh tokens come from the same save"
                );
                seen.insert(n);
                loads += 1;
                tokio::task::yield_now().await;
            }
            (loads, seen.len())
        })
    };
    let mut inodes = std::collections::BTreeSet::new();
    for n in 1..=200 {
        store.save(&tokens(n)).await.expect("saved");
        inodes.insert(std::fs::metadata(&path).expect("metadata").ino());
        assert_eq!(mode(&path), 0o600);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (loads, versions) = reader.await.expect("reader");
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    println!(
        "token file: 200 saves, {loads} concurrent loads saw {versions} versions, none torn; {} distinct inodes (replaced by rename), mode 0600, files left: {leftovers:?}",
        inodes.len()
    );
    assert!(loads > 0);
    assert!(
        inodes.len() > 1,
        "the file is replaced (rename), not rewritten in place"
    );
    assert_eq!(
        leftovers,
        vec!["tokens.json".to_string()],
        "no temporary file left"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
