//! AES-256-GCM payload encryption: interop vectors, agreement with the `aes-gcm` crate,
//! streaming against one-shot, tampering, the async adapters and bounded memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write as _;
use std::process::{Command, Stdio};

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use privicore::cipher::{
    self, DecryptStreamError, IV_LEN, MAX_PLAINTEXT_LEN, OVERHEAD, STREAM_CHUNK_LEN, TAG_LEN,
    decrypt, decrypt_to_writer_unverified, encrypt, encrypt_reader, encrypt_with_iv,
};
use privicore::{CipherError, Decryptor, Encryptor, VaultKey};
use proptest::prelude::*;
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::io::AsyncReadExt;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Deterministic pseudo-random bytes (splitmix64), so that failures reproduce.
struct TestRng(u64);

impl TestRng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    fn key(&mut self) -> VaultKey {
        VaultKey::from_bytes(&self.bytes(32)).expect("32 bytes")
    }

    fn iv(&mut self) -> [u8; IV_LEN] {
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&self.bytes(IV_LEN));
        iv
    }
}

/// Splits `data` at random boundaries: mostly small pieces (to straddle the IV and the tag),
/// sometimes empty, sometimes large.
fn random_chunks<'a>(data: &'a [u8], rng: &mut TestRng) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = match rng.below(4) {
            0 => 0,
            1 => rng.below(20),
            2 => rng.below(100),
            _ => rng.below(5000),
        }
        .min(rest.len());
        let (head, tail) = rest.split_at(n);
        chunks.push(head);
        rest = tail;
    }
    chunks
}

fn stream_encrypt(key: &VaultKey, iv: [u8; IV_LEN], chunks: &[&[u8]]) -> Vec<u8> {
    let mut enc = Encryptor::with_iv(key, iv).expect("engine runs");
    let mut wire = enc.iv().to_vec();
    for chunk in chunks {
        let mut buf = chunk.to_vec();
        enc.encrypt_in_place(&mut buf).expect("within the limit");
        wire.extend_from_slice(&buf);
    }
    wire.extend_from_slice(&enc.finish());
    wire
}

/// Returns the provisional plaintext and the verdict of `finish`.
fn stream_decrypt(key: &VaultKey, chunks: &[&[u8]]) -> (Vec<u8>, Result<(), CipherError>) {
    let mut dec = Decryptor::new(key);
    let mut plain = Vec::new();
    for chunk in chunks {
        let released = dec.update_unverified(chunk).expect("within the limit");
        plain.extend_from_slice(released.provisional_bytes());
    }
    (plain, dec.finish())
}

fn hex_decode(s: &str) -> Vec<u8> {
    hex::decode(s).expect("vector files hold valid hex")
}

// ---------------------------------------------------------------------------------------------
// Interop vectors from Python's `cryptography` (tests/vectors/make_vectors.py)

#[derive(Deserialize)]
struct VectorFile {
    cases: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    key: String,
    iv: String,
    plaintext: String,
    wire: String,
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("vectors/aes_gcm.json");
    let file: VectorFile = serde_json::from_str(text).expect("aes_gcm.json parses");
    file.cases
}

#[test]
fn python_vectors_cover_the_agreed_sizes() {
    let sizes: Vec<usize> = vectors().iter().map(|v| v.plaintext.len() / 2).collect();
    assert_eq!(sizes, [0, 1, 15, 16, 17, 1000, 70000]);
}

#[test]
fn python_vectors_decrypt_one_shot() {
    for v in vectors() {
        let key = VaultKey::from_hex(&v.key).expect("vector key");
        let plain = decrypt(&key, &hex_decode(&v.wire)).expect(&v.name);
        assert_eq!(plain, hex_decode(&v.plaintext), "{}", v.name);
    }
}

#[test]
fn python_vectors_are_reproduced_by_encrypt_with_iv() {
    for v in vectors() {
        let key = VaultKey::from_hex(&v.key).expect("vector key");
        let iv: [u8; IV_LEN] = hex_decode(&v.iv).try_into().expect("12-byte iv");
        let wire = encrypt_with_iv(&key, iv, &hex_decode(&v.plaintext)).expect(&v.name);
        assert_eq!(hex::encode(wire), v.wire, "{}", v.name);
    }
}

#[test]
fn python_vectors_stream_with_random_chunking() {
    let mut rng = TestRng(1);
    for v in vectors() {
        let key = VaultKey::from_hex(&v.key).expect("vector key");
        let iv: [u8; IV_LEN] = hex_decode(&v.iv).try_into().expect("12-byte iv");
        let plaintext = hex_decode(&v.plaintext);
        let wire = hex_decode(&v.wire);
        for _ in 0..20 {
            let (plain, verdict) = stream_decrypt(&key, &random_chunks(&wire, &mut rng));
            assert_eq!(verdict, Ok(()), "{}", v.name);
            assert_eq!(plain, plaintext, "{}", v.name);

            let streamed = stream_encrypt(&key, iv, &random_chunks(&plaintext, &mut rng));
            assert_eq!(streamed, wire, "{}", v.name);
        }
        // Byte by byte: the IV and the tag straddle as many chunks as they can.
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        let (plain, verdict) = stream_decrypt(&key, &bytes);
        assert_eq!((plain, verdict), (plaintext, Ok(())), "{}", v.name);
    }
}

/// Says that a check did not run, and why, where the person running the tests sees it: straight
/// to stderr, which the test harness does not capture (its capture covers `print!` only).
fn skip_note(what: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {what} (set PRIVICORE_REQUIRE_PYTHON=1 to make this a failure; .ci/run does)"
    );
}

/// Rust-made ciphertext must open in Python's `cryptography`. Skips, saying so, only when
/// python3 or its `cryptography` package is missing; set `PRIVICORE_REQUIRE_PYTHON=1` to turn
/// that skip into a failure.
#[test]
fn rust_ciphertext_decrypts_in_python() {
    let required = std::env::var_os("PRIVICORE_REQUIRE_PYTHON").is_some_and(|v| v == "1");
    let probe = Command::new("python3")
        .args(["-c", "import cryptography"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match probe {
        Err(err) => {
            assert!(!required, "python3 is required but cannot run: {err}");
            skip_note("rust_ciphertext_decrypts_in_python: python3 is not available");
            return;
        }
        Ok(status) if !status.success() => {
            assert!(!required, "python3 has no `cryptography` package");
            skip_note("rust_ciphertext_decrypts_in_python: no python3 `cryptography`");
            return;
        }
        Ok(_) => {}
    }

    let mut rng = TestRng(2);
    let mut cases = Vec::new();
    for size in [0usize, 1, 15, 16, 17, 1000, 70000, 200_001] {
        let key = rng.key();
        let plaintext = rng.bytes(size);
        // Both the one-shot and the streaming encryptor, with their own random IVs.
        let one_shot = encrypt(&key, &plaintext).expect("small payload");
        let mut enc = Encryptor::new(&key).expect("engine runs");
        let mut streamed = enc.iv().to_vec();
        for chunk in random_chunks(&plaintext, &mut rng) {
            streamed.extend(enc.update(chunk).expect("small payload"));
        }
        streamed.extend_from_slice(&enc.finish());
        for wire in [one_shot, streamed] {
            cases.push(serde_json::json!({
                "key": key.to_hex().expose_secret(),
                "plaintext": hex::encode(&plaintext),
                "wire": hex::encode(&wire),
            }));
        }
    }
    let count = cases.len();

    let script = r#"
import json, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
cases = json.load(sys.stdin)
for i, c in enumerate(cases):
    wire = bytes.fromhex(c["wire"])
    plain = AESGCM(bytes.fromhex(c["key"])).decrypt(wire[:12], wire[12:], None)
    if plain != bytes.fromhex(c["plaintext"]):
        sys.exit(f"case {i}: plaintext differs")
print(f"python decrypted {len(cases)} payloads")
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 ran a moment ago");
    let input = serde_json::to_vec(&cases).expect("json");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(&input)
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3 finishes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python3 failed to decrypt Rust ciphertext: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        format!("python decrypted {count} payloads"),
        "python3 did not check every payload"
    );
    println!("{}", stdout.trim());
}

// ---------------------------------------------------------------------------------------------
// Agreement with the `aes-gcm` crate

#[test]
fn one_shot_agrees_with_the_aes_gcm_crate() {
    let mut rng = TestRng(3);
    let sizes = (0..=130).chain([255, 256, 257, 4095, 4096, 4097, 65_536, 100_003]);
    for size in sizes {
        let key_bytes = rng.bytes(32);
        let key = VaultKey::from_bytes(&key_bytes).expect("32 bytes");
        let iv = rng.iv();
        let plaintext = rng.bytes(size);

        let reference = Aes256Gcm::new_from_slice(&key_bytes).expect("32-byte key");
        let expected = reference
            .encrypt(&iv.into(), plaintext.as_slice())
            .expect("aes-gcm encrypts");
        let wire = encrypt_with_iv(&key, iv, &plaintext).expect("small payload");
        assert_eq!(&wire[..IV_LEN], &iv, "size {size}");
        assert_eq!(&wire[IV_LEN..], expected.as_slice(), "size {size}");

        let opened = reference
            .decrypt(&iv.into(), &wire[IV_LEN..])
            .expect("aes-gcm decrypts ours");
        assert_eq!(opened, plaintext, "size {size}");
    }
}

#[test]
fn encrypt_uses_a_fresh_iv_every_time() {
    let key = VaultKey::generate();
    let a = encrypt(&key, b"same plaintext").expect("small payload");
    let b = encrypt(&key, b"same plaintext").expect("small payload");
    assert_ne!(a[..IV_LEN], b[..IV_LEN]);
    assert_ne!(a, b);
    assert_ne!(
        Encryptor::new(&key).expect("engine runs").iv(),
        Encryptor::new(&key).expect("engine runs").iv()
    );
    assert_eq!(decrypt(&key, &a).expect("authentic"), b"same plaintext");
    assert_eq!(decrypt(&key, &b).expect("authentic"), b"same plaintext");
}

// ---------------------------------------------------------------------------------------------
// Tampering and malformed input

fn assert_rejected(key: &VaultKey, wire: &[u8], expected: CipherError, what: &str) {
    assert_eq!(decrypt(key, wire), Err(expected), "one-shot, {what}");
    let mut rng = TestRng(wire.len() as u64);
    for chunks in [
        vec![wire],
        wire.chunks(1).collect(),
        random_chunks(wire, &mut rng),
    ] {
        let (_, verdict) = stream_decrypt(key, &chunks);
        assert_eq!(verdict, Err(expected), "streaming, {what}");
    }
}

#[test]
fn tampering_is_detected() {
    let mut rng = TestRng(4);
    let key = rng.key();
    for size in [1usize, 16, 17, 1000] {
        let wire = encrypt(&key, &rng.bytes(size)).expect("small payload");
        let tag_at = wire.len() - TAG_LEN;

        for (at, what) in [
            (0, "flipped IV byte"),
            (IV_LEN, "flipped first ciphertext byte"),
            (tag_at - 1, "flipped last ciphertext byte"),
            (tag_at, "flipped first tag byte"),
            (wire.len() - 1, "flipped last tag byte"),
        ] {
            let mut bad = wire.clone();
            bad[at] ^= 0x01;
            assert_rejected(&key, &bad, CipherError::TagMismatch, what);
        }

        assert_rejected(&rng.key(), &wire, CipherError::TagMismatch, "wrong key");
        assert_rejected(
            &key,
            &wire[..wire.len() - 1],
            CipherError::TagMismatch,
            "last byte cut",
        );
        let mut longer = wire.clone();
        longer.push(0);
        assert_rejected(&key, &longer, CipherError::TagMismatch, "byte appended");
        // Dropping the ciphertext entirely leaves a valid-looking IV || "tag".
        let mut spliced = wire[..IV_LEN].to_vec();
        spliced.extend_from_slice(&wire[tag_at..]);
        assert_rejected(
            &key,
            &spliced,
            CipherError::TagMismatch,
            "ciphertext removed",
        );
    }
}

#[test]
fn empty_plaintext_tampering_is_detected() {
    let key = VaultKey::generate();
    let wire = encrypt(&key, b"").expect("empty payload");
    assert_eq!(wire.len(), OVERHEAD);
    for at in 0..wire.len() {
        let mut bad = wire.clone();
        bad[at] ^= 0x80;
        assert_rejected(&key, &bad, CipherError::TagMismatch, "flipped byte");
    }
}

#[test]
fn input_shorter_than_iv_and_tag_is_too_short() {
    let key = VaultKey::generate();
    let wire = encrypt(&key, b"").expect("empty payload");
    for len in 0..OVERHEAD {
        assert_rejected(
            &key,
            &wire[..len],
            CipherError::TooShort { actual: len as u64 },
            "truncated",
        );
    }
    let err = decrypt(&key, &wire[..5]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "an encrypted payload is at least 28 bytes (IV and tag), got 5 bytes"
    );
}

#[test]
fn errors_and_debug_output_hold_no_secrets() {
    let key = VaultKey::from_bytes(&[0x42; 32]).expect("32 bytes");
    let enc = Encryptor::with_iv(&key, [0x42; IV_LEN]).expect("engine runs");
    let dec = Decryptor::new(&key);
    for text in [
        format!("{key:?}"),
        format!("{enc:?}"),
        format!("{dec:?}"),
        format!("{:?}", CipherError::TagMismatch),
        CipherError::TagMismatch.to_string(),
    ] {
        assert!(!text.contains("42"), "{text}");
        assert!(!text.contains("66"), "{text}"); // 0x42 in decimal
    }
}

#[test]
fn oversized_plaintext_is_refused_not_panicked_on() {
    // A slice past the GCM limit cannot be allocated here, so check the limit's value and the
    // error's message; the unit tests in src/cipher.rs drive the counter to the limit itself.
    assert_eq!(MAX_PLAINTEXT_LEN, 68_719_476_704);
    assert!(CipherError::TooLong.to_string().contains("68719476704"));
}

// ---------------------------------------------------------------------------------------------
// Streaming against one-shot (proptest)

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn streaming_round_trip_matches_one_shot(
        key in prop::array::uniform32(any::<u8>()),
        iv in prop::array::uniform12(any::<u8>()),
        plaintext in prop::collection::vec(any::<u8>(), 0..20_000),
        seed in any::<u64>(),
    ) {
        let key = VaultKey::from_bytes(&key).expect("32 bytes");
        let mut rng = TestRng(seed);
        let one_shot = encrypt_with_iv(&key, iv, &plaintext).expect("small payload");

        let streamed = stream_encrypt(&key, iv, &random_chunks(&plaintext, &mut rng));
        prop_assert_eq!(&streamed, &one_shot);

        let (plain, verdict) = stream_decrypt(&key, &random_chunks(&one_shot, &mut rng));
        prop_assert_eq!(verdict, Ok(()));
        prop_assert_eq!(&plain, &plaintext);
        prop_assert_eq!(decrypt(&key, &one_shot), Ok(plaintext));
    }

    #[test]
    fn streaming_decryptor_never_accepts_a_flipped_bit(
        plaintext in prop::collection::vec(any::<u8>(), 0..3_000),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
        seed in any::<u64>(),
    ) {
        let key = VaultKey::generate();
        let mut wire = encrypt(&key, &plaintext).expect("small payload");
        let at = position.index(wire.len());
        wire[at] ^= 1 << bit;
        let mut rng = TestRng(seed);
        let (_, verdict) = stream_decrypt(&key, &random_chunks(&wire, &mut rng));
        prop_assert_eq!(verdict, Err(CipherError::TagMismatch));
        prop_assert_eq!(decrypt(&key, &wire), Err(CipherError::TagMismatch));
    }
}

// ---------------------------------------------------------------------------------------------
// Async adapters

#[tokio::test]
async fn encrypt_reader_yields_iv_then_64k_chunks_then_tag() {
    let mut rng = TestRng(5);
    let key = rng.key();
    let plaintext = rng.bytes(3 * STREAM_CHUNK_LEN + 1234);
    let chunks: Vec<Bytes> = encrypt_reader(&key, plaintext.as_slice())
        .try_collect()
        .await
        .expect("reading a slice cannot fail");
    let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
    assert_eq!(
        sizes,
        [
            IV_LEN,
            STREAM_CHUNK_LEN,
            STREAM_CHUNK_LEN,
            STREAM_CHUNK_LEN,
            1234,
            TAG_LEN
        ]
    );
    let wire = chunks.concat();
    assert_eq!(decrypt(&key, &wire).expect("authentic"), plaintext);
}

#[tokio::test]
async fn encrypt_reader_of_empty_input_is_iv_and_tag() {
    let key = VaultKey::generate();
    let chunks: Vec<Bytes> = encrypt_reader(&key, tokio::io::empty())
        .try_collect()
        .await
        .expect("empty reader");
    let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
    assert_eq!(sizes, [IV_LEN, TAG_LEN]);
    assert_eq!(decrypt(&key, &chunks.concat()).expect("authentic"), b"");
}

#[tokio::test]
async fn encrypt_reader_fills_chunks_from_a_trickling_reader() {
    // A reader that returns a few bytes per read still gives 64 KiB chunks.
    let mut rng = TestRng(6);
    let key = rng.key();
    let plaintext = rng.bytes(STREAM_CHUNK_LEN + 10);
    let (mut tx, rx) = tokio::io::duplex(7);
    let data = plaintext.clone();
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        tx.write_all(&data).await.expect("duplex write");
    });
    let chunks: Vec<Bytes> = encrypt_reader(&key, rx)
        .try_collect()
        .await
        .expect("duplex");
    writer.await.expect("writer task");
    let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
    assert_eq!(sizes, [IV_LEN, STREAM_CHUNK_LEN, 10, TAG_LEN]);
    assert_eq!(
        decrypt(&key, &chunks.concat()).expect("authentic"),
        plaintext
    );
}

#[tokio::test]
async fn encrypt_reader_passes_read_errors_on_and_stops() {
    struct Broken;
    impl tokio::io::AsyncRead for Broken {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Err(std::io::Error::other("disk on fire")))
        }
    }
    let key = VaultKey::generate();
    let items: Vec<std::io::Result<Bytes>> = encrypt_reader(&key, Broken).collect().await;
    assert_eq!(items.len(), 2, "the IV, then the error, then nothing");
    assert_eq!(items[0].as_ref().map(Bytes::len).ok(), Some(IV_LEN));
    let err = items[1].as_ref().expect_err("read error");
    assert_eq!(err.to_string(), "disk on fire");
}

fn rechunk(wire: &[u8], seed: u64) -> Vec<Result<Bytes, std::io::Error>> {
    let mut rng = TestRng(seed);
    random_chunks(wire, &mut rng)
        .into_iter()
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect()
}

#[tokio::test]
async fn decrypt_to_writer_round_trips_any_chunking() {
    let mut rng = TestRng(7);
    let key = rng.key();
    for size in [0usize, 1, 16, 17, 70_000] {
        let plaintext = rng.bytes(size);
        let wire = encrypt(&key, &plaintext).expect("small payload");
        for seed in 0..5 {
            let mut out = Vec::new();
            let stream = futures::stream::iter(rechunk(&wire, seed));
            let written = decrypt_to_writer_unverified(&key, stream, &mut out).await;
            assert_eq!(written.ok(), Some(size as u64));
            assert_eq!(out, plaintext);
        }
    }
}

#[tokio::test]
async fn decrypt_to_writer_reports_tampering_and_source_errors() {
    let key = VaultKey::generate();
    let mut wire = encrypt(&key, &[9u8; 5000]).expect("small payload");
    wire[100] ^= 4;
    let mut out = Vec::new();
    let stream = futures::stream::iter(rechunk(&wire, 1));
    let err = decrypt_to_writer_unverified(&key, stream, &mut out)
        .await
        .expect_err("tampered");
    assert!(matches!(
        err,
        DecryptStreamError::Cipher(CipherError::TagMismatch)
    ));

    let stream = futures::stream::iter(rechunk(&wire[..20], 1));
    let err = decrypt_to_writer_unverified(&key, stream, &mut Vec::new())
        .await
        .expect_err("too short");
    assert!(matches!(
        err,
        DecryptStreamError::Cipher(CipherError::TooShort { actual: 20 })
    ));

    let failing = futures::stream::iter([
        Ok(Bytes::from_static(&[0u8; 40])),
        Err(std::io::Error::other("connection reset")),
    ]);
    let err = decrypt_to_writer_unverified(&key, failing, &mut Vec::new())
        .await
        .expect_err("source error");
    match err {
        DecryptStreamError::Source(e) => assert_eq!(e.to_string(), "connection reset"),
        other => panic!("expected a source error, got {other:?}"),
    }
}

#[tokio::test]
async fn encrypt_reader_feeds_decrypt_to_writer() {
    let mut rng = TestRng(8);
    let key = rng.key();
    let plaintext = rng.bytes(2 * STREAM_CHUNK_LEN + 77);
    let stream = encrypt_reader(&key, plaintext.as_slice());
    let mut out = Vec::new();
    let written = decrypt_to_writer_unverified(&key, stream, &mut out).await;
    assert_eq!(written.ok(), Some(plaintext.len() as u64));
    assert_eq!(out, plaintext);
}

// ---------------------------------------------------------------------------------------------
// Bounded memory: a payload four times the budget streams through without the heap growing by
// more than the budget. (4 MiB keeps the unoptimized test build quick; the code paths are the
// same for any size.)
//
// The allocator counts bytes per thread, so tests running in parallel on other threads do
// not disturb the measurement.

struct PerThreadCounter;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters only
// observe sizes.
unsafe impl GlobalAlloc for PerThreadCounter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            track(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: PerThreadCounter = PerThreadCounter;

/// Runs `f` and returns how far this thread's live heap rose above its level at the start.
fn peak_growth(f: impl FnOnce()) -> isize {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    f();
    PEAK.with(Cell::get) - start
}

const BIG: usize = 4 * 1024 * 1024;
const MEMORY_BUDGET: isize = 1024 * 1024;

#[test]
fn sync_streaming_runs_in_bounded_memory() {
    let key = VaultKey::generate();
    let growth = peak_growth(|| {
        let mut enc = Encryptor::new(&key).expect("engine runs");
        let mut dec = Decryptor::new(&key);
        let mut buf = vec![0x5au8; STREAM_CHUNK_LEN];
        let mut total = 0usize;
        assert!(dec.update_unverified(&enc.iv()).expect("iv").is_empty());
        for _ in 0..BIG / STREAM_CHUNK_LEN {
            buf.fill(0x5a);
            enc.encrypt_in_place(&mut buf).expect("within the limit");
            let plain = dec.update_unverified(&buf).expect("within the limit");
            total += plain.len();
        }
        let tag = enc.finish();
        let last = dec.update_unverified(&tag).expect("tag").len();
        assert_eq!(total + last, BIG);
        dec.finish().expect("authentic");
    });
    assert!(growth < MEMORY_BUDGET, "peak heap growth {growth} bytes");
}

#[test]
fn async_streaming_runs_in_bounded_memory() {
    let key = VaultKey::generate();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let growth = peak_growth(|| {
        runtime.block_on(async {
            let source = tokio::io::repeat(0x5a).take(BIG as u64);
            let stream = encrypt_reader(&key, source);
            let mut sink = tokio::io::sink();
            let written = decrypt_to_writer_unverified(&key, stream, &mut sink).await;
            assert_eq!(written.ok(), Some(BIG as u64));
        });
    });
    assert!(growth < MEMORY_BUDGET, "peak heap growth {growth} bytes");
}

#[test]
fn decryptor_memory_follows_the_chunk_size_not_the_payload() {
    // Feeding 4 KiB chunks keeps the reused output buffer at about 4 KiB.
    let key = VaultKey::generate();
    let wire = cipher::encrypt(&key, &vec![1u8; 1 << 20]).expect("1 MiB");
    let growth = peak_growth(|| {
        let mut dec = Decryptor::new(&key);
        for chunk in wire.chunks(4096) {
            let _ = dec
                .update_unverified(chunk)
                .expect("within the limit")
                .len();
        }
        dec.finish().expect("authentic");
    });
    assert!(growth < 64 * 1024, "peak heap growth {growth} bytes");
}

// ---------------------------------------------------------------------------------------------
// The engine asked for is the engine that runs

/// `.ci/run` runs this file (with the vault and property tests) once per engine, with
/// `PRIVICORE_GCM_ENGINE` set: this shows that the setting reached every path those tests
/// use (the process-wide default and the client's), so that each run really tested its engine.
#[test]
fn the_engine_asked_for_in_the_environment_is_the_one_that_runs() {
    use privicore::cipher::Engine;
    let asked = std::env::var(Engine::ENV).unwrap_or_default();
    let requested: Engine = if asked.trim().is_empty() {
        Engine::Auto
    } else {
        asked.parse().expect("PRIVICORE_GCM_ENGINE names an engine")
    };
    let key = VaultKey::generate();
    let client = privicore::Client::builder()
        .api_url("http://127.0.0.1:9")
        .build()
        .map(|client| client.gcm_engine());
    match requested.resolve() {
        Ok(running) => {
            assert_eq!(cipher::engine(), running.name());
            assert_eq!(Encryptor::new(&key).expect("engine runs").engine(), running);
            assert_eq!(client.ok(), Some(running));
            // Straight to stderr, which the harness does not capture: CI's log shows it.
            let _ = writeln!(
                std::io::stderr().lock(),
                "== engine asked for: {requested}, running: {running}"
            );
        }
        Err(err) => {
            // Only where the processor lacks the engine asked for: everything refuses.
            assert_eq!(err, CipherError::EngineUnavailable { engine: requested });
            assert_eq!(cipher::engine(), "unavailable");
            assert_eq!(encrypt(&key, b"x").map(drop), Err(err));
            assert!(client.is_err());
            let _ = writeln!(
                std::io::stderr().lock(),
                "== engine asked for: {requested}, unavailable on this processor"
            );
        }
    }
}
