//! The permissions of the files `Vault::retrieve_to_file` writes: the temporary file is
//! owner-only while the unverified plaintext is written into it, and the output is owner-only
//! afterwards unless the caller asks for another mode, whatever the umask.
//!
//! A binary of its own, with one test: it sets the process umask, which any other test running
//! beside it would see.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use privicore::{RetrieveOptions, StoreOptions, VaultKey};

/// The permission bits of `path`, in octal as `ls` shows them.
fn mode(path: &Path) -> String {
    let bits = std::fs::metadata(path)
        .expect("the file exists")
        .permissions()
        .mode();
    format!("{:o}", bits & 0o7777)
}

/// The modes of the `.part` files in `dir` right now.
fn part_modes(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "part"))
        .map(|p| mode(&p))
        .collect()
}

fn tempdir() -> PathBuf {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    let dir = std::env::temp_dir().join(format!(
        "privicore-modes-{}-{:x}",
        std::process::id(),
        h.finish()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn set_umask(mask: libc::mode_t) -> libc::mode_t {
    // SAFETY: `umask` only swaps the process's file mode creation mask; it touches no memory.
    unsafe { libc::umask(mask) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_part_file_is_owner_only_while_written_and_the_output_after() {
    // The most permissive umask: any bit the SDK does not take away itself shows.
    let saved = set_umask(0);
    let (_mock, client) = common::start().await;
    let session = common::provisioned(&client, "modes@test").await;
    let vault = session.vault(VaultKey::generate());
    // Streamed, so that the file is written in many pieces while the download runs.
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 7).map(|i| (i % 253) as u8).collect();
    let token = vault
        .store(&data, &StoreOptions::new("modes"))
        .await
        .expect("stored");
    let dir = tempdir();

    // Default: 0600 while written (seen from the progress hook, which runs after each write
    // into the temporary file) and after.
    let target = dir.join("out.bin");
    let mut seen: Vec<String> = Vec::new();
    let written = vault
        .retrieve_to_file_with_progress(&token, &target, |_| seen.extend(part_modes(&dir)))
        .await
        .expect("retrieved");
    assert_eq!(written, data.len() as u64);
    seen.dedup();
    println!(
        "umask 000: .part modes seen mid-transfer {seen:?}, output mode {}",
        mode(&target)
    );
    assert!(!seen.is_empty(), "the .part file was seen while written");
    assert_eq!(seen, ["600"], "the .part file is owner-only while written");
    assert_eq!(mode(&target), "600", "the output is owner-only");
    assert!(std::fs::read(&target).expect("read") == data);

    // A file already at the target, readable by all, is replaced and does not pass its mode on.
    let existing = dir.join("existing.bin");
    std::fs::write(&existing, b"old contents").expect("written");
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    vault
        .retrieve_to_file(&token, &existing)
        .await
        .expect("retrieved over it");
    println!("replaced 644 file: output mode {}", mode(&existing));
    assert_eq!(mode(&existing), "600");
    assert!(std::fs::read(&existing).expect("read") == data);

    // A mode asked for is set exactly, even under a umask that would take bits from it, and
    // only after verification: the .part file is still owner-only while written.
    set_umask(0o077);
    let shared = dir.join("shared.bin");
    let mut seen: Vec<String> = Vec::new();
    vault
        .retrieve_to_file_with_options(&token, &shared, &RetrieveOptions::new().mode(0o644), |_| {
            seen.extend(part_modes(&dir))
        })
        .await
        .expect("retrieved");
    seen.dedup();
    println!(
        "umask 077, mode 644 asked: .part modes {seen:?}, output mode {}",
        mode(&shared)
    );
    assert_eq!(seen, ["600"]);
    assert_eq!(mode(&shared), "644", "exactly the mode asked for");

    set_umask(saved);
    let _ = std::fs::remove_dir_all(&dir);
}
