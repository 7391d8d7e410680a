//! Differential check of the AES-256-GCM engines: the wide engine (where the processor runs
//! it), the portable engine and the `aes-gcm` crate must produce the same bytes for the same
//! key, IV and plaintext, whatever the chunking and whether the SDK encrypts in place, and must
//! all refuse the same tampered payload.
//!
//! One function, two drivers: `tests/gcm_differential.rs` runs it over a deterministic corpus
//! in the normal test suite, and the fuzz target `fuzz/fuzz_targets/gcm_differential.rs` runs it
//! on libFuzzer's inputs (it includes this file by path).

use aes_gcm::aead::{Aead, KeyInit};
use privicore::cipher::{Engine, IV_LEN, decrypt_with};
use privicore::{CipherError, Decryptor, Encryptor, VaultKey};

/// Longest plaintext a case makes: four of the wide engine's 256-byte groups and some.
pub const MAX_LEN: usize = 1100;

/// The engines to compare with `aes-gcm`: the portable one always, the wide one where the
/// processor runs it.
pub fn engines() -> Vec<Engine> {
    [Engine::Portable, Engine::Wide]
        .into_iter()
        .filter(|engine| engine.is_available())
        .collect()
}

/// What one input decides: everything the fuzzer chooses.
struct Case<'a> {
    key: [u8; 32],
    iv: [u8; IV_LEN],
    plaintext: Vec<u8>,
    /// Chunk lengths (cycled); 0 becomes 1.
    cuts: &'a [u8],
    /// Bit i says whether chunk i is encrypted in place (`encrypt_in_place`) or into a new
    /// vector (`update`).
    in_place: u8,
    /// Which wire bit to flip for the tamper check.
    flip: u16,
}

/// Reads a case from arbitrary bytes: key (32), IV (12), length (2), in-place bits (1), flip
/// (2), number of cuts (1), the cuts, then plaintext bytes (repeated to the length). Missing
/// bytes read as zero, so every input is a case.
fn case(input: &[u8]) -> Case<'_> {
    let byte = |at: usize| input.get(at).copied().unwrap_or(0);
    let key = core::array::from_fn(byte);
    let iv = core::array::from_fn(|i| byte(32 + i));
    let len = usize::from(u16::from_le_bytes([byte(44), byte(45)])) % (MAX_LEN + 1);
    let in_place = byte(46);
    let flip = u16::from_le_bytes([byte(47), byte(48)]);
    let rest = input.get(49..).unwrap_or_default();
    let cut_count =
        usize::from(rest.first().copied().unwrap_or(0) % 8).min(rest.len().saturating_sub(1));
    let cuts = rest.get(1..=cut_count).unwrap_or_default();
    let source = rest.get(1 + cut_count..).unwrap_or_default();
    let plaintext = if source.is_empty() {
        vec![0; len]
    } else {
        source.iter().copied().cycle().take(len).collect()
    };
    Case {
        key,
        iv,
        plaintext,
        cuts,
        in_place,
        flip,
    }
}

/// Splits `data` into chunks of the lengths in `cuts` (cycled; 0 counts as 1), or one chunk.
fn chunks<'a>(data: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    if cuts.is_empty() {
        return vec![data];
    }
    let mut out = Vec::new();
    let mut rest = data;
    for cut in cuts.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        // Scaled so that chunks also span the wide engine's 256-byte groups.
        let n = (usize::from(*cut).max(1) * 3).min(rest.len());
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
    }
    out
}

/// Runs one input through every engine and `aes-gcm`; panics on any disagreement. Returns the
/// number of engines compared with `aes-gcm`.
pub fn check(input: &[u8]) -> usize {
    let case = case(input);
    let key = VaultKey::from_bytes(&case.key).expect("32 bytes");
    let reference = aes_gcm::Aes256Gcm::new_from_slice(&case.key)
        .expect("32 bytes")
        .encrypt(&case.iv.into(), case.plaintext.as_slice())
        .expect("aes-gcm encrypts");
    let mut wire = case.iv.to_vec();
    wire.extend_from_slice(&reference);

    let engines = engines();
    for &engine in &engines {
        // Encryption, chunked, each chunk in place or into a new vector.
        let mut enc = Encryptor::with_engine_and_iv(engine, &key, case.iv).expect("runs");
        let mut produced = enc.iv().to_vec();
        for (i, chunk) in chunks(&case.plaintext, case.cuts).into_iter().enumerate() {
            if case.in_place >> (i % 8) & 1 == 1 {
                let mut buf = chunk.to_vec();
                enc.encrypt_in_place(&mut buf).expect("short");
                produced.extend_from_slice(&buf);
            } else {
                produced.extend(enc.update(chunk).expect("short"));
            }
        }
        produced.extend_from_slice(&enc.finish());
        assert!(produced == wire, "{engine} differs from aes-gcm");

        // Decryption: one-shot (in place) and streamed (out of place), chunked.
        assert_eq!(
            decrypt_with(engine, &key, &wire).as_deref(),
            Ok(case.plaintext.as_slice()),
            "{engine} one-shot decryption"
        );
        let mut dec = Decryptor::with_engine(engine, &key);
        let mut streamed = Vec::new();
        for chunk in chunks(&wire, case.cuts) {
            streamed.extend_from_slice(
                dec.update_unverified(chunk)
                    .expect("short")
                    .provisional_bytes(),
            );
        }
        assert_eq!(dec.finish(), Ok(()), "{engine} streamed verdict");
        assert!(streamed == case.plaintext, "{engine} streamed decryption");

        // One flipped bit anywhere after the IV is refused by every implementation.
        let mut bad = wire.clone();
        let bits = (bad.len() - IV_LEN) * 8;
        let at = IV_LEN * 8 + usize::from(case.flip) % bits;
        bad[at / 8] ^= 1 << (at % 8);
        assert_eq!(
            decrypt_with(engine, &key, &bad).map(|p| p.len()),
            Err(CipherError::TagMismatch),
            "{engine} accepted a flipped bit"
        );
    }
    engines.len()
}
