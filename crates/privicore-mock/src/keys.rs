//! The "signed" public-key format (docs/protocol.md §8.2): 100 bytes as 200 hex characters,
//! `tag (31 42 05 00) || X25519 public key (32) || BLAKE2b-512(tag || key) (64)`.
//! Despite the name nothing is signed: the last 64 bytes are a plain integrity hash.

use blake2::{Blake2b512, Digest};
use x25519_dalek::{PublicKey, StaticSecret};

use crate::error::ApiFailure;

const TAG: [u8; 4] = [0x31, 0x42, 0x05, 0x00];

/// The 200-hex form of a 32-byte public key.
pub(crate) fn signed_public_key(key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(100);
    bytes.extend_from_slice(&TAG);
    bytes.extend_from_slice(key);
    let hash = Blake2b512::digest(&bytes);
    bytes.extend_from_slice(&hash);
    hex::encode(bytes)
}

/// A fresh X25519 key pair: the signed public key and the private key in hex.
pub(crate) fn generate() -> (String, String) {
    let secret = StaticSecret::from(crate::rng::key_bytes());
    let public = PublicKey::from(&secret);
    (
        signed_public_key(public.as_bytes()),
        hex::encode(secret.to_bytes()),
    )
}

fn bad(reason: &str, message: &str) -> ApiFailure {
    ApiFailure::unprocessable(reason, message)
}

/// Checks a signed public key: length, hex, version tag and hash.
pub(crate) fn validate(text: &str) -> Result<(), ApiFailure> {
    if text.len() != 200 {
        return Err(bad(
            "public_key.malformed",
            "publicKey must be 200 hex characters (tag, key and BLAKE2b-512 hash)",
        ));
    }
    let bytes = hex::decode(text)
        .map_err(|_| bad("public_key.malformed", "publicKey must be hexadecimal"))?;
    if bytes[..4] != TAG {
        return Err(bad(
            "public_key.unsupported_version",
            "publicKey must start with the version tag 31420500",
        ));
    }
    let hash = Blake2b512::digest(&bytes[..36]);
    if hash.as_slice() != &bytes[36..] {
        return Err(bad(
            "public_key.checksum_mismatch",
            "the BLAKE2b-512 hash in publicKey does not match the tag and key",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_validate_and_tampering_is_caught() {
        let (public, private) = generate();
        assert_eq!(public.len(), 200);
        assert_eq!(private.len(), 64);
        assert!(public.starts_with("31420500"));
        validate(&public).expect("valid");
        let mut tampered = public.clone().into_bytes();
        tampered[20] = if tampered[20] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert_eq!(
            validate(&tampered).expect_err("bad hash").reason,
            "public_key.checksum_mismatch"
        );
        let wrong_tag = format!("00{}", &public[2..]);
        assert_eq!(
            validate(&wrong_tag).expect_err("bad tag").reason,
            "public_key.unsupported_version"
        );
        assert_eq!(
            validate("abc").expect_err("short").reason,
            "public_key.malformed"
        );
        let not_hex = "z".repeat(200);
        assert_eq!(
            validate(&not_hex).expect_err("hex").reason,
            "public_key.malformed"
        );
    }
}
