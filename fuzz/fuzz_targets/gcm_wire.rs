//! The AES-256-GCM wire format (IV || ciphertext || tag): one-shot and streamed decryption of
//! arbitrary bytes with arbitrary chunking must never panic and never accept forged input;
//! encryption of the same bytes round-trips through both, in any chunking, and agrees byte for
//! byte with the `aes-gcm` crate (the SDK's own VAES engine runs where the processor has it).
#![no_main]

use aes_gcm::aead::{Aead, KeyInit};
use libfuzzer_sys::fuzz_target;
use privicore::{Decryptor, Encryptor, VaultKey, cipher};

/// Splits `data` at points derived from `cuts`.
fn pieces<'a>(data: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    for cut in cuts {
        let at = usize::from(*cut) % (rest.len() + 1);
        let (head, tail) = rest.split_at(at);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

fn streamed(key: &VaultKey, parts: &[&[u8]]) -> Option<Vec<u8>> {
    let mut decryptor = Decryptor::new(key);
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(decryptor.update_unverified(part).ok()?.provisional_bytes());
    }
    decryptor.finish().ok()?;
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let key = VaultKey::from_bytes(&[0x42; 32]).expect("32 bytes");
    let (cuts, body) = data.split_at(data.len().min(4));
    // Arbitrary input is never authentic (forging a GCM tag is out of a fuzzer's reach).
    assert!(cipher::decrypt(&key, body).is_err());
    assert!(streamed(&key, &pieces(body, cuts)).is_none());
    // The same bytes as a plaintext round-trip, encrypted and decrypted in pieces.
    let mut encryptor = Encryptor::with_iv(&key, [7; cipher::IV_LEN]).expect("engine runs");
    let mut wire = encryptor.iv().to_vec();
    for part in pieces(body, cuts) {
        wire.extend_from_slice(&encryptor.update(part).expect("encrypts"));
    }
    wire.extend_from_slice(&encryptor.finish());
    let reference = aes_gcm::Aes256Gcm::new_from_slice(&[0x42; 32])
        .expect("32 bytes")
        .encrypt(&[7; cipher::IV_LEN].into(), body)
        .expect("encrypts");
    assert_eq!(&wire[cipher::IV_LEN..], &reference[..], "differs from aes-gcm");
    assert_eq!(cipher::decrypt(&key, &wire).expect("round trip"), body);
    assert_eq!(
        streamed(&key, &pieces(&wire, cuts)).expect("streamed"),
        body
    );
});
