//! A profile's Curve25519 key pair and the "signed public key" form that Privicore registers
//! (docs/protocol.md §8.2).
//!
//! The key pair is an X25519 box key pair, as made by tweetnacl's `nacl.box.keyPair()`: a
//! 32-byte secret key and the 32-byte public key derived from it. It is not an Ed25519 signing
//! key.
//!
//! Despite its name, a [`SignedPublicKey`] is not signed: it is the public key framed by a
//! version tag and followed by an unkeyed BLAKE2b-512 hash, written as 200 lowercase hex
//! characters:
//!
//! ```text
//! hex( 31 42 05 00 || public key (32 bytes) || BLAKE2b-512(31 42 05 00 || public key) )
//! ```
//!
//! ```
//! use privicore::{KeyPair, SignedPublicKey};
//!
//! let pair = KeyPair::generate();
//! let signed = pair.signed_public_key();
//! assert_eq!(signed.as_str().len(), 200);
//! let parsed = SignedPublicKey::parse(signed.as_str())?;
//! assert_eq!(parsed.public_key(), pair.public_key());
//! # Ok::<(), privicore::SignedKeyError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use blake2::{Blake2b512, Digest};
use secrecy::SecretBox;
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

/// Length of a Curve25519 public or secret key, in bytes.
pub const KEY_LEN: usize = 32;

/// The version tag at the start of a signed public key.
pub const SIGNED_KEY_VERSION_TAG: [u8; 4] = [0x31, 0x42, 0x05, 0x00];

/// Length of a signed public key in bytes: tag (4), key (32), BLAKE2b-512 hash (64).
pub const SIGNED_KEY_LEN: usize = 4 + KEY_LEN + 64;

/// Length of a signed public key written as hex, in characters (200).
pub const SIGNED_KEY_HEX_LEN: usize = 2 * SIGNED_KEY_LEN;

const TAG_LEN: usize = SIGNED_KEY_VERSION_TAG.len();
const HASHED_LEN: usize = TAG_LEN + KEY_LEN;

/// A profile's Curve25519 (X25519) key pair.
///
/// The secret key is zeroized on drop and `Debug` prints only the public key.
///
/// ```
/// use privicore::KeyPair;
///
/// let pair = KeyPair::from_seed([7; 32]);
/// assert!(format!("{pair:?}").contains("[REDACTED]"));
/// assert_eq!(KeyPair::from_seed([7; 32]).public_key(), pair.public_key());
/// ```
#[derive(Clone)]
pub struct KeyPair {
    secret: StaticSecret,
    public: PublicKey,
}

impl KeyPair {
    /// Generates a fresh key pair from the operating system's random number generator.
    ///
    /// # Panics
    ///
    /// Only if the operating system cannot provide random bytes.
    #[must_use]
    pub fn generate() -> Self {
        let mut seed = [0u8; KEY_LEN];
        crate::fill_random(&mut seed);
        let pair = Self::from_seed(seed);
        seed.zeroize();
        pair
    }

    /// Builds the key pair whose 32-byte secret key is `seed` (clamped by X25519 when used, as
    /// in NaCl and RFC 7748). Deterministic: for test vectors and for restoring a stored key.
    #[must_use]
    pub fn from_seed(seed: [u8; KEY_LEN]) -> Self {
        let secret = StaticSecret::from(seed);
        let public = PublicKey::from(&secret);
        Self { secret, public }
    }

    /// The 32-byte public key.
    #[must_use]
    pub fn public_key(&self) -> [u8; KEY_LEN] {
        self.public.to_bytes()
    }

    /// The public key in the 200-hex-character form that Privicore registers.
    #[must_use]
    pub fn signed_public_key(&self) -> SignedPublicKey {
        SignedPublicKey::from_public_key(self.public.to_bytes())
    }

    /// The 32-byte secret key (the seed given to [`KeyPair::from_seed`]), for storing the key
    /// pair. It is wrapped in a [`SecretBox`]: redacted in `Debug` and zeroized on drop.
    #[must_use]
    pub fn secret_key(&self) -> SecretBox<[u8; KEY_LEN]> {
        SecretBox::new(Box::new(self.secret.to_bytes()))
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &HexBytes(self.public.as_bytes()))
            .field("secret", &format_args!("[REDACTED]"))
            .finish()
    }
}

struct HexBytes<'a>(&'a [u8]);

impl fmt::Debug for HexBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// Why a string is not a valid signed public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignedKeyError {
    /// The string is not 200 characters long.
    #[error(
        "a signed public key is {expected} hex characters long, got {actual}",
        expected = SIGNED_KEY_HEX_LEN
    )]
    InvalidLength {
        /// Length of the string given, in bytes of UTF-8.
        actual: usize,
    },
    /// The string contains a character that is not a hex digit.
    #[error("a signed public key may contain only hex digits")]
    InvalidHex,
    /// The first four bytes are not the version tag `31 42 05 00`.
    #[error("unsupported signed public key version tag {}", hex::encode(found))]
    WrongVersionTag {
        /// The four bytes found instead (public data).
        found: [u8; TAG_LEN],
    },
    /// The BLAKE2b-512 hash does not match the tag and key: the key was altered or mistyped.
    #[error("the signed public key's BLAKE2b-512 hash does not match its key")]
    HashMismatch,
}

/// A Curve25519 public key in Privicore's registration format: 200 lowercase hex characters
/// (see the [module documentation](self)).
///
/// Built from a public key with [`SignedPublicKey::from_public_key`] (or
/// [`KeyPair::signed_public_key`]), or checked from text with [`SignedPublicKey::parse`]. It
/// holds public data only; `Display` and [`SignedPublicKey::as_str`] give the 200-character
/// form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SignedPublicKey {
    hex: String,
    public_key: [u8; KEY_LEN],
}

impl SignedPublicKey {
    /// Frames a 32-byte Curve25519 public key: tag, key, BLAKE2b-512 of both, as hex.
    #[must_use]
    pub fn from_public_key(public_key: [u8; KEY_LEN]) -> Self {
        let mut bytes = [0u8; SIGNED_KEY_LEN];
        bytes[..TAG_LEN].copy_from_slice(&SIGNED_KEY_VERSION_TAG);
        bytes[TAG_LEN..HASHED_LEN].copy_from_slice(&public_key);
        let hash = Blake2b512::digest(&bytes[..HASHED_LEN]);
        bytes[HASHED_LEN..].copy_from_slice(&hash);
        Self {
            hex: hex::encode(bytes),
            public_key,
        }
    }

    /// Checks a signed public key given as 200 hex characters. Upper-case digits are accepted
    /// and normalized to lower case; nothing else (no whitespace) is.
    ///
    /// # Errors
    ///
    /// In the order they are checked: [`SignedKeyError::InvalidLength`],
    /// [`SignedKeyError::InvalidHex`], [`SignedKeyError::WrongVersionTag`] and
    /// [`SignedKeyError::HashMismatch`].
    pub fn parse(text: &str) -> Result<Self, SignedKeyError> {
        if text.len() != SIGNED_KEY_HEX_LEN {
            return Err(SignedKeyError::InvalidLength { actual: text.len() });
        }
        let mut bytes = [0u8; SIGNED_KEY_LEN];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| SignedKeyError::InvalidHex)?;

        let mut found = [0u8; TAG_LEN];
        found.copy_from_slice(&bytes[..TAG_LEN]);
        if found != SIGNED_KEY_VERSION_TAG {
            return Err(SignedKeyError::WrongVersionTag { found });
        }
        let hash = Blake2b512::digest(&bytes[..HASHED_LEN]);
        if !bool::from(hash.as_slice().ct_eq(&bytes[HASHED_LEN..])) {
            return Err(SignedKeyError::HashMismatch);
        }
        let mut public_key = [0u8; KEY_LEN];
        public_key.copy_from_slice(&bytes[TAG_LEN..HASHED_LEN]);
        Ok(Self {
            hex: text.to_ascii_lowercase(),
            public_key,
        })
    }

    /// The 32-byte Curve25519 public key inside.
    #[must_use]
    pub fn public_key(&self) -> [u8; KEY_LEN] {
        self.public_key
    }

    /// The 200 lowercase hex characters, as sent to `POST /public-key/register-public-key`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for SignedPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex)
    }
}

impl fmt::Debug for SignedPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SignedPublicKey").field(&self.hex).finish()
    }
}

impl FromStr for SignedPublicKey {
    type Err = SignedKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for SignedPublicKey {
    fn as_ref(&self) -> &str {
        &self.hex
    }
}

impl From<&KeyPair> for SignedPublicKey {
    fn from(pair: &KeyPair) -> Self {
        pair.signed_public_key()
    }
}
