//! Curve25519 key pairs and the 200-hex "signed public key" format, against vectors computed
//! by Python's `cryptography` (X25519) and `hashlib.blake2b` (tests/vectors/make_vectors.py).

use privicore::keys::{SIGNED_KEY_HEX_LEN, SIGNED_KEY_VERSION_TAG};
use privicore::{KeyPair, SignedKeyError, SignedPublicKey};
use secrecy::ExposeSecret;
use serde::Deserialize;

#[derive(Deserialize)]
struct VectorFile {
    cases: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    seed: String,
    public_key: String,
    signed: String,
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("vectors/signed_keys.json");
    let file: VectorFile = serde_json::from_str(text).expect("signed_keys.json parses");
    assert!(file.cases.len() >= 5);
    file.cases
}

fn seed(v: &Vector) -> [u8; 32] {
    hex::decode(&v.seed)
        .expect("hex seed")
        .try_into()
        .expect("32-byte seed")
}

/// A valid signed key to corrupt in the rejection tests.
fn valid() -> String {
    vectors()[3].signed.clone()
}

/// Flips one bit of the byte at `index` of the hex string's decoded bytes.
fn flip_byte(hex_text: &str, index: usize) -> String {
    let mut bytes = hex::decode(hex_text).expect("hex");
    bytes[index] ^= 0x01;
    hex::encode(bytes)
}

#[test]
fn python_vectors_match_key_derivation_and_signed_form() {
    for v in vectors() {
        let pair = KeyPair::from_seed(seed(&v));
        assert_eq!(hex::encode(pair.public_key()), v.public_key);
        let signed = pair.signed_public_key();
        assert_eq!(signed.as_str(), v.signed);
        assert_eq!(signed.to_string(), v.signed);
        assert_eq!(signed.as_str().len(), SIGNED_KEY_HEX_LEN);

        let from_pk = SignedPublicKey::from_public_key(pair.public_key());
        assert_eq!(from_pk, signed);

        let parsed = SignedPublicKey::parse(&v.signed).expect("python's form parses");
        assert_eq!(parsed, signed);
        assert_eq!(hex::encode(parsed.public_key()), v.public_key);
        assert_eq!(v.signed.parse::<SignedPublicKey>().ok(), Some(signed));
    }
}

#[test]
fn rfc7748_alice_key_pair() {
    // RFC 7748 section 6.1.
    let secret = hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    let pair = KeyPair::from_seed(secret);
    assert_eq!(
        hex::encode(pair.public_key()),
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    );
    assert_eq!(pair.secret_key().expose_secret(), &secret);
}

#[test]
fn signed_form_starts_with_the_version_tag_and_is_lowercase() {
    let signed = KeyPair::generate().signed_public_key();
    assert!(
        signed
            .as_str()
            .starts_with(&hex::encode(SIGNED_KEY_VERSION_TAG))
    );
    assert!(signed.as_str().starts_with("31420500"));
    assert!(
        signed
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
}

#[test]
fn generated_pairs_differ_and_round_trip_through_the_secret() {
    let a = KeyPair::generate();
    let b = KeyPair::generate();
    assert_ne!(a.public_key(), b.public_key());
    let restored = KeyPair::from_seed(*a.secret_key().expose_secret());
    assert_eq!(restored.public_key(), a.public_key());
}

#[test]
fn debug_output_redacts_the_secret_key() {
    let seed = [0x5c; 32];
    let pair = KeyPair::from_seed(seed);
    let debug = format!("{pair:?}");
    assert!(debug.contains("[REDACTED]"), "{debug}");
    assert!(debug.contains(&hex::encode(pair.public_key())), "{debug}");
    assert!(!debug.contains("5c5c"), "{debug}");
    assert!(!debug.contains("92, 92"), "{debug}"); // 0x5c as decimal array items
    let secret_debug = format!("{:?}", pair.secret_key());
    assert!(!secret_debug.contains("5c") && !secret_debug.contains("92"));
}

#[test]
fn upper_case_input_is_accepted_and_normalized() {
    let v = valid();
    let parsed = SignedPublicKey::parse(&v.to_ascii_uppercase()).expect("upper-case hex");
    assert_eq!(parsed.as_str(), v);
}

#[test]
fn wrong_lengths_are_rejected() {
    let v = valid();
    for text in [
        String::new(),
        v[..199].to_owned(),
        format!("{v}0"),
        v[..198].to_owned(),
        format!("{v}00"),
        format!(" {v}"),
        format!("{v}\n"),
    ] {
        assert_eq!(
            SignedPublicKey::parse(&text),
            Err(SignedKeyError::InvalidLength { actual: text.len() })
        );
    }
}

#[test]
fn non_hex_is_rejected() {
    let v = valid();
    for (at, replacement) in [(0, "g"), (100, "z"), (199, " "), (57, "-"), (3, "x")] {
        let mut text = v.clone();
        text.replace_range(at..at + 1, replacement);
        assert_eq!(
            SignedPublicKey::parse(&text),
            Err(SignedKeyError::InvalidHex),
            "char at {at}"
        );
    }
    // 200 bytes of UTF-8 that are not 200 hex digits.
    let mut text = v[..198].to_owned();
    text.push('é');
    assert_eq!(text.len(), 200);
    assert_eq!(
        SignedPublicKey::parse(&text),
        Err(SignedKeyError::InvalidHex)
    );
}

#[test]
fn wrong_version_tag_is_rejected() {
    let v = valid();
    for index in 0..4 {
        let text = flip_byte(&v, index);
        let mut found = SIGNED_KEY_VERSION_TAG;
        found[index] ^= 0x01;
        assert_eq!(
            SignedPublicKey::parse(&text),
            Err(SignedKeyError::WrongVersionTag { found })
        );
    }
    let err = SignedPublicKey::parse(&flip_byte(&v, 3)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported signed public key version tag 31420501"
    );
}

#[test]
fn flipped_key_or_hash_bytes_are_rejected() {
    let v = valid();
    // Bytes 4..36 are the key, 36..100 the hash: any change breaks the hash.
    for index in [4, 20, 35, 36, 60, 99] {
        assert_eq!(
            SignedPublicKey::parse(&flip_byte(&v, index)),
            Err(SignedKeyError::HashMismatch),
            "byte {index}"
        );
    }
    // A well-framed key with a hash over a different key.
    let other = SignedPublicKey::from_public_key([9; 32]);
    let spliced = format!("{}{}", &v[..72], &other.as_str()[72..]);
    assert_eq!(
        SignedPublicKey::parse(&spliced),
        Err(SignedKeyError::HashMismatch)
    );
}

#[test]
fn every_single_byte_corruption_is_rejected() {
    let v = valid();
    for index in 0..100 {
        assert!(
            SignedPublicKey::parse(&flip_byte(&v, index)).is_err(),
            "byte {index}"
        );
    }
}
