//! The ends of the 32-bit block counter: both engines near [`MAX_PLAINTEXT_LEN`], and the wide
//! engine across a counter wrap, against a keystream computed block by block with the `aes`
//! crate (so that neither engine's counter arithmetic is its own reference).
//!
//! A payload never wraps the counter: its blocks use counters 2 ..= 2^32 - 1 and
//! [`MAX_PLAINTEXT_LEN`] stops it there. The wrap test still holds the wide engine to GCM's
//! inc32 (the counter wraps in its 32 bits and never carries into the IV), since its sixteen
//! lanes do their own counter arithmetic.

use aes::cipher::{BlockCipherEncrypt, KeyInit, array::Array};

use super::*;

const KEY: [u8; 32] = [0x5c; 32];
const IV: [u8; IV_LEN] = [
    0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0xff,
];

/// The keystream of `blocks` blocks from counter block `IV || counter`, the counter wrapping
/// modulo 2^32 (GCM's inc32).
fn reference_keystream(counter: u32, blocks: usize) -> Vec<u8> {
    let aes = aes::Aes256::new(&Array::from(KEY));
    let mut out = Vec::with_capacity(blocks * 16);
    let mut ctr = counter;
    for _ in 0..blocks {
        let mut block = Array::default();
        block[..IV_LEN].copy_from_slice(&IV);
        block[IV_LEN..].copy_from_slice(&ctr.to_be_bytes());
        aes.encrypt_block(&mut block);
        out.extend_from_slice(&block);
        ctr = ctr.wrapping_add(1);
    }
    out
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

fn engines() -> Vec<Engine> {
    [Engine::Portable, Engine::Wide]
        .into_iter()
        .filter(|engine| engine.is_available())
        .collect()
}

/// Encrypts `data` in place in chunks of the given sizes (cycled), through whole groups,
/// single blocks and partial blocks.
fn encrypt_in_chunks(gcm: &mut Gcm, data: &mut [u8], sizes: &[usize]) {
    let mut rest = data;
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at_mut((*size).clamp(1, rest.len()));
        gcm.encrypt_in_place(chunk).expect("within the limit");
        rest = tail;
    }
}

#[test]
fn the_last_blocks_before_the_limit_match_the_reference_on_every_engine() {
    let key = VaultKey::from_bytes(&KEY).expect("32 bytes");
    // 40 blocks left: counters 2^32 - 40 ..= 2^32 - 1, the end of the longest payload.
    let first = u32::MAX - 39;
    let len = 40 * 16;
    let expected: Vec<u8> = plaintext(len)
        .iter()
        .zip(reference_keystream(first, 40))
        .map(|(p, k)| p ^ k)
        .collect();
    let mut tags = Vec::new();
    for engine in engines() {
        let mut gcm = Gcm::at_counter(&key, &IV, engine, first, true).expect("runs");
        assert_eq!(gcm.len, MAX_PLAINTEXT_LEN - len as u64);
        let mut data = plaintext(len);
        encrypt_in_chunks(&mut gcm, &mut data, &[5, 16 * 16, 11, 16, 300]);
        assert!(data == expected, "{engine}: keystream near the limit");
        assert_eq!(gcm.len, MAX_PLAINTEXT_LEN);
        // One byte more is past MAX_PLAINTEXT_LEN: a typed error, and the buffer untouched.
        let mut one = [0x42u8];
        assert_eq!(gcm.encrypt_in_place(&mut one), Err(CipherError::TooLong));
        assert_eq!(one, [0x42]);
        tags.push(gcm.tag());

        // Decryption near the limit gives the plaintext back, and refuses one byte more.
        let mut gcm = Gcm::at_counter(&key, &IV, engine, first, true).expect("runs");
        let mut back = vec![0u8; len];
        gcm.decrypt_into(&expected[..len - 7], &mut back[..len - 7])
            .expect("within the limit");
        back[len - 7..].copy_from_slice(&expected[len - 7..]);
        gcm.decrypt_in_place(&mut back[len - 7..])
            .expect("within the limit");
        assert!(
            back == plaintext(len),
            "{engine}: decryption near the limit"
        );
        assert_eq!(gcm.decrypt_in_place(&mut [0]), Err(CipherError::TooLong));
        assert_eq!(gcm.tag(), tags[tags.len() - 1], "{engine}: decryption tag");
    }
    assert!(
        tags.windows(2).all(|pair| pair[0] == pair[1]),
        "the engines' tags differ at the limit"
    );
    eprintln!("counter-limit test ran on {:?}", engines());
}

#[test]
fn the_wide_engine_wraps_its_counter_in_32_bits() {
    if !Engine::Wide.is_available() {
        // Said where the test output shows it; the portable engine is checked above.
        eprintln!(
            "the wide engine does not run on this processor: its wrap test has nothing to run"
        );
        return;
    }
    let key = VaultKey::from_bytes(&KEY).expect("32 bytes");
    // Eight blocks before the wrap, then on through 0, 1, 2 ...: two whole groups (the first
    // crosses the wrap inside its sixteen lanes), single blocks and a partial one.
    let first = u32::MAX - 7;
    let len: usize = 2 * 256 + 3 * 16 + 9;
    let blocks = len.div_ceil(16);
    let expected: Vec<u8> = plaintext(len)
        .iter()
        .zip(reference_keystream(first, blocks))
        .map(|(p, k)| p ^ k)
        .collect();
    for sizes in [&[usize::MAX][..], &[256, 16, 1, 15, 256], &[256 + 16, 7]] {
        let mut gcm = Gcm::at_counter(&key, &IV, Engine::Wide, first, false).expect("runs");
        let mut data = plaintext(len);
        encrypt_in_chunks(&mut gcm, &mut data, sizes);
        let wrong = data
            .chunks(16)
            .zip(expected.chunks(16))
            .position(|(a, b)| a != b);
        assert_eq!(
            wrong, None,
            "first wrong block across the wrap, chunks {sizes:?}"
        );
    }
}
