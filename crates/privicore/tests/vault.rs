//! Store and retrieve round trips against the embedded mock, at every size class, and the
//! failures that must leave nothing behind.

mod common;

use base64::Engine;
use privicore::cipher::OVERHEAD;
use privicore::{DEFAULT_INLINE_THRESHOLD, Error, StoreOptions, VaultKey};
use privicore_mock::{CommandOutcome, MockServer, StoredData};

/// What the mock holds for `token`, if anything.
fn held(mock: &MockServer, token: &str) -> Option<StoredData> {
    mock.stored_data()
        .into_iter()
        .find(|held| held.token == token)
}

/// Deterministic, incompressible-looking bytes.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u64::from(seed) | 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

// Multi-threaded, so that the stream path's encryption and decryption run on tasks of their
// own in parallel with the transfer (the other tests run on one thread).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_at_every_size_class() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "sizes@test").await;
    let vault = session.vault(VaultKey::generate());
    let t = DEFAULT_INLINE_THRESHOLD;
    let sizes = [0, 1, 1024, t - 1, t, t + 1, 10 * 1024 * 1024];
    for (i, size) in sizes.into_iter().enumerate() {
        let data = payload(size, i as u8);
        mock.clear_recorded();
        let token = vault
            .store(&data, &StoreOptions::new("sizes"))
            .await
            .expect("stored");
        let inline = mock.count("exchange_data_for_token");
        let streamed = mock.count("upload_stream");
        assert_eq!(
            (inline, streamed),
            if size <= t { (1, 0) } else { (0, 1) },
            "size {size}: path"
        );
        let kept = held(&mock, token.as_str()).expect("the mock holds the token");
        assert_eq!(
            (kept.context.as_str(), kept.stored_len, kept.declared_size),
            ("sizes", size + OVERHEAD, Some(size as i64)),
            "size {size}: one ciphertext of the whole payload, and its plaintext size declared"
        );
        let back = vault.retrieve(&token).await.expect("retrieved");
        assert!(
            back == data,
            "size {size}: the round trip is byte-identical"
        );
    }
}

/// Yields `good` bytes of zeros, then fails.
struct FailingReader {
    good: usize,
}

impl tokio::io::AsyncRead for FailingReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.good == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("the disk went away")));
        }
        let n = self.good.min(buf.remaining());
        buf.put_slice(&vec![0u8; n]);
        self.good -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_fails_mid_stream_fails_the_store_and_nothing_is_kept() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "failing-reader@test").await;
    let vault = session.vault(VaultKey::generate());
    let before = vault.list().collect().await.expect("listed").len();
    let held_before = mock.stored_data();
    let failed = vault
        .store_reader(
            FailingReader { good: 300 * 1024 },
            &StoreOptions::new("broken"),
        )
        .await;
    let err = failed.expect_err("a failing reader cannot make a data token");
    assert!(
        matches!(&err, Error::Io { source, .. } if source.to_string() == "the disk went away"),
        "the failure is the reader's, with its own error: got {err:?}"
    );
    assert_eq!(
        err.to_string(),
        "could not read the payload: the disk went away"
    );
    assert_eq!(
        mock.count("configure_file_meta"),
        0,
        "no token was configured"
    );
    assert_eq!(vault.list().collect().await.expect("listed").len(), before);
    assert_eq!(
        mock.stored_data(),
        held_before,
        "the mock holds nothing new"
    );
}

#[tokio::test]
async fn files_round_trip_through_the_stream_path() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "files@test").await;
    let vault = session.vault(VaultKey::generate());
    let dir = tempdir();
    let source = dir.join("report.pdf");
    let data = payload(3 * 1024 * 1024 + 7, 9);
    std::fs::write(&source, &data).expect("written");
    let token = vault
        .store_file(&source, &StoreOptions::new("files"))
        .await
        .expect("stored");
    let listed = session
        .data_tokens()
        .list()
        .token(token.as_str())
        .collect()
        .await
        .expect("listed");
    let meta = listed[0]
        .meta
        .as_ref()
        .and_then(|m| m.file.as_ref())
        .expect("file meta");
    assert_eq!(meta.file_name.as_deref(), Some("report.pdf"));
    assert_eq!(meta.extension.as_deref(), Some("pdf"));
    assert_eq!(meta.size, Some(data.len() as i64));
    let kept = held(&mock, token.as_str()).expect("the mock holds the token");
    assert_eq!(
        (kept.stored_len, kept.declared_size),
        (data.len() + OVERHEAD, Some(data.len() as i64))
    );

    let target = dir.join("out.pdf");
    let written = vault
        .retrieve_to_file(&token, &target)
        .await
        .expect("retrieved");
    assert_eq!(written, data.len() as u64);
    assert!(std::fs::read(&target).expect("read") == data);
    assert_eq!(
        leftovers(&dir),
        vec!["out.pdf".to_string(), "report.pdf".to_string()]
    );
}

#[tokio::test]
async fn a_wrong_key_a_tampered_and_a_truncated_payload_fail_and_leave_no_file() {
    let (mock, client) =
        common::start_with(MockServer::builder().inline_threshold(1024), |b| b).await;
    let session = common::provisioned(&client, "tamper@test").await;
    let key = VaultKey::generate();
    let vault = session.vault(key.clone());
    let dir = tempdir();
    // One inline (small) and one downloaded (large) payload of each kind.
    for size in [100usize, 200 * 1024] {
        let data = payload(size, 3);
        let token = vault
            .store(&data, &StoreOptions::new("tamper"))
            .await
            .expect("stored");

        let target = dir.join(format!("wrong-key-{size}"));
        let error = session
            .vault(VaultKey::generate())
            .retrieve_to_file(&token, &target)
            .await
            .expect_err("wrong key");
        assert!(
            matches!(error, Error::Cipher(privicore::CipherError::TagMismatch)),
            "{error:?}"
        );
        assert!(!target.exists());

        let mut wire = privicore::cipher::encrypt(&key, &data).expect("encrypted");
        let middle = wire.len() / 2;
        wire[middle] ^= 0x01;
        replace_ciphertext(&mock, &session, token.as_str(), &wire).await;
        let target = dir.join(format!("tampered-{size}"));
        let error = vault
            .retrieve_to_file(&token, &target)
            .await
            .expect_err("tampered");
        assert!(
            matches!(error, Error::Cipher(privicore::CipherError::TagMismatch)),
            "{error:?}"
        );
        assert!(!target.exists());

        let wire = privicore::cipher::encrypt(&key, &data).expect("encrypted");
        replace_ciphertext(&mock, &session, token.as_str(), &wire[..wire.len() - 5]).await;
        let target = dir.join(format!("truncated-{size}"));
        let error = vault
            .retrieve_to_file(&token, &target)
            .await
            .expect_err("truncated");
        assert!(matches!(error, Error::Cipher(_)), "{error:?}");
        assert!(!target.exists());
    }
    assert!(
        leftovers(&dir).is_empty(),
        "no temporary file is left: {:?}",
        leftovers(&dir)
    );
}

#[tokio::test]
async fn a_retrieval_into_a_file_that_is_cancelled_half_way_leaves_nothing_behind() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "cancelled@test").await;
    let vault = session.vault(VaultKey::generate());
    let token = vault
        .store(&payload(2 * 1024 * 1024, 3), &StoreOptions::new("cancel"))
        .await
        .expect("stored");
    let dir = tempdir();
    let target = dir.join("out.bin");
    // Every request now waits, so the retrieval is still running when the cancel comes.
    mock.faults()
        .update(|f| f.latency = std::time::Duration::from_millis(300));
    let part_appeared = async {
        while leftovers(&dir).is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    };
    tokio::select! {
        result = vault.retrieve_to_file(&token, &target) => {
            panic!("the retrieval finished before it could be cancelled: {result:?}")
        }
        () = part_appeared => {}
    }
    // The retrieval future is dropped here, half way.
    assert!(
        leftovers(&dir).is_empty(),
        "left behind: {:?}",
        leftovers(&dir)
    );
    assert!(!target.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_retrieval_into_a_file_reports_its_progress_up_to_the_whole_size() {
    let (_mock, client) = common::start().await;
    let session = common::provisioned(&client, "progress@test").await;
    let vault = session.vault(VaultKey::generate());
    let data = payload(3 * 1024 * 1024 + 5, 8);
    let token = vault
        .store(&data, &StoreOptions::new("progress"))
        .await
        .expect("stored");
    let dir = tempdir();
    let target = dir.join("out.bin");
    let mut seen: Vec<u64> = Vec::new();
    let written = vault
        .retrieve_to_file_with_progress(&token, &target, |n| seen.push(n))
        .await
        .expect("retrieved");
    assert_eq!(written, data.len() as u64);
    assert!(
        seen.len() > 1,
        "more than one report for 3 MiB: {}",
        seen.len()
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "the count only grows");
    assert_eq!(seen.last(), Some(&written));
    assert!(std::fs::read(&target).expect("the file") == data);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each message encrypted under a key counts on it (random-IV limit, NIST SP 800-38D), on
/// every path, and the application's clone of the key sees the vault's count.
#[tokio::test]
async fn every_store_and_update_counts_one_message_on_the_key() {
    let (_mock, client) = common::start().await;
    let session = common::provisioned(&client, "count@test").await;
    let key = VaultKey::generate();
    let vault = session.vault(key.clone());
    assert_eq!(key.messages_encrypted(), 0);
    let options = StoreOptions::new("count");
    let small = vault.store(b"inline", &options).await.expect("stored");
    assert_eq!(key.messages_encrypted(), 1, "inline store");
    let large = payload(DEFAULT_INLINE_THRESHOLD + 1, 4);
    vault.store(&large, &options).await.expect("stored");
    assert_eq!(key.messages_encrypted(), 2, "streamed store");
    vault
        .store_reader(std::io::Cursor::new(large), &options)
        .await
        .expect("stored");
    assert_eq!(key.messages_encrypted(), 3, "streamed store from a reader");
    vault.update(&small, b"again").await.expect("updated");
    assert_eq!(key.messages_encrypted(), 4, "update");
    assert_eq!(vault.retrieve(&small).await.expect("retrieved"), b"again");
    assert_eq!(key.messages_encrypted(), 4, "decrypting counts nothing");
}

#[tokio::test]
async fn update_and_delete_go_through_the_same_handle() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "update@test").await;
    let vault = session.vault(VaultKey::generate());
    let token = vault
        .store(b"first", &StoreOptions::new("update"))
        .await
        .expect("stored");
    assert_eq!(
        held(&mock, token.as_str()).map(|kept| kept.stored_len),
        Some(b"first".len() + OVERHEAD)
    );
    vault
        .update(&token, b"second version")
        .await
        .expect("updated");
    assert_eq!(
        held(&mock, token.as_str()).map(|kept| kept.stored_len),
        Some(b"second version".len() + OVERHEAD),
        "the mock holds the new ciphertext under the same token"
    );
    assert_eq!(
        vault.retrieve(&token).await.expect("retrieved"),
        b"second version"
    );
    vault.delete(&token).await.expect("deleted");
    assert_eq!(held(&mock, token.as_str()), None, "the mock let it go");
    assert!(
        vault
            .list()
            .context("update")
            .collect()
            .await
            .expect("listed")
            .is_empty()
    );
    let error = vault
        .retrieve(&token)
        .await
        .expect_err("a deleted token cannot be retrieved");
    assert_eq!(error.status(), Some(404), "{error:?}");
}

/// Stores `wire` as the token's ciphertext, bypassing the vault (as a corrupted server would).
async fn replace_ciphertext(
    mock: &MockServer,
    session: &privicore::Session,
    token: &str,
    wire: &[u8],
) {
    let body = serde_json::json!({
        "dataToken": token,
        "data": base64::engine::general_purpose::STANDARD.encode(wire),
    });
    let answer = session
        .call("update_data_token")
        .json_body(body)
        .send()
        .await
        .expect("replaced");
    let id = answer.command_id().expect("a command");
    assert_eq!(
        mock.command_outcome(id.as_str()),
        Some(CommandOutcome::Completed)
    );
    assert_eq!(
        held(mock, token).map(|kept| kept.stored_len),
        Some(wire.len()),
        "the mock holds the replacement"
    );
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "privicore-vault-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A damaged answer to configure-file-meta, after the server stored the payload, is
/// `StoreUnconfirmed`, naming the request (`x-request-id`) that created the token.
#[tokio::test]
async fn a_lost_answer_to_the_last_step_is_an_unconfirmed_store() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "unconfirmed@test").await;
    let vault = session.vault(VaultKey::generate());
    for (truncate, malform) in [(1.0, 0.0), (0.0, 1.0)] {
        mock.faults().set(privicore_mock::FaultConfig {
            truncate_rate: truncate,
            malform_rate: malform,
            mangle_operations: vec!["configure_file_meta".into()],
            ..privicore_mock::FaultConfig::default()
        });
        let error = vault
            .store(b"may be stored", &StoreOptions::new("unconfirmed"))
            .await
            .expect_err("the answer is damaged");
        let Error::StoreUnconfirmed {
            operation: "configure_file_meta",
            request_id: Some(id),
            source,
        } = &error
        else {
            panic!("{error:?}");
        };
        assert!(matches!(**source, Error::Decode { .. }), "{source:?}");
        let made: Vec<_> = mock
            .stored_data()
            .into_iter()
            .filter(|d| d.created_by_request.as_deref() == Some(id.as_str()))
            .collect();
        assert_eq!(made.len(), 1, "the request {id} stored one payload");
        mock.faults().clear();
        vault.delete(&made[0].token).await.expect("deleted");
    }
}

/// A refused data request is acknowledged on its command id only: retrieving reports the
/// rejection instead of waiting for a result that never comes (and timing out).
#[tokio::test]
async fn a_refused_data_request_is_reported_as_rejected() {
    let (mock, client) = common::start_with(MockServer::builder(), |b| {
        b.command_timeout(std::time::Duration::from_secs(20))
    })
    .await;
    let session = common::provisioned(&client, "refused-read@test").await;
    let vault = session.vault(VaultKey::generate());
    let token = vault
        .store(b"kept", &StoreOptions::new("refused"))
        .await
        .expect("stored");
    mock.faults().update(|f| f.reject_rate = 1.0);
    let error = vault.retrieve(&token).await.expect_err("refused");
    mock.faults().clear();
    assert!(
        matches!(
            &error,
            Error::CommandRejected { operation: "request_data", reason, .. }
                if reason == "fault.injected_rejection"
        ),
        "{error:?}"
    );
    assert_eq!(vault.retrieve(&token).await.expect("read back"), b"kept");
}
