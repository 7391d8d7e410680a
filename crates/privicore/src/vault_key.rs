//! [`VaultKey`]: the application's 256-bit AES key for payload encryption.
//!
//! The key never leaves the client: Privicore only ever sees ciphertext made with it
//! (docs/protocol.md §7.3). Lose it and the stored data cannot be read back.

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::key_usage::KeyUsage;

/// Length of a [`VaultKey`] in bytes (AES-256).
pub const KEY_LEN: usize = 32;

/// Length of a [`VaultKey`] written as hex, in characters.
pub const KEY_HEX_LEN: usize = 2 * KEY_LEN;

/// The most messages one key may encrypt with random 96-bit IVs: 2^32 (NIST SP 800-38D,
/// §8.3). Past it, the chance that two payloads share an IV, which breaks both their secrecy
/// and the authenticity of everything under the key, exceeds 2^-32.
pub const RANDOM_IV_MESSAGE_LIMIT: u64 = 1 << 32;

/// The count of messages encrypted under one [`VaultKey`] past which the SDK logs a
/// `tracing` warning, once per key: 2^31, half of [`RANDOM_IV_MESSAGE_LIMIT`], to leave time
/// to rotate the key.
pub const IV_WARNING_THRESHOLD: u64 = RANDOM_IV_MESSAGE_LIMIT / 2;

/// Why a [`VaultKey`] could not be built.
///
/// No variant carries, or prints, any part of the rejected input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Raw key bytes of the wrong length were given.
    #[error("a vault key is {expected} bytes long, got {actual} bytes", expected = KEY_LEN)]
    InvalidLength {
        /// Number of bytes that was given.
        actual: usize,
    },
    /// A hex key of the wrong length was given (surrounding whitespace ignored).
    #[error(
        "a hex vault key is {expected} hex characters long, got {actual} characters",
        expected = KEY_HEX_LEN
    )]
    InvalidHexLength {
        /// Number of characters (bytes of UTF-8) that was given, whitespace trimmed.
        actual: usize,
    },
    /// A hex key of the right length contained a character that is not a hex digit.
    #[error("a hex vault key may contain only the characters 0-9, a-f and A-F")]
    InvalidHex,
}

/// A 256-bit AES-GCM key that encrypts payloads before they are uploaded.
///
/// * The bytes live on the heap and are zeroized when the key is dropped.
/// * `Debug` prints `VaultKey([REDACTED])`; there is no `Display`.
/// * Read the key out only through [`VaultKey::to_hex`], which returns a [`SecretString`].
///
/// # How many messages one key may encrypt
///
/// Every payload is encrypted under a fresh random 96-bit IV, and with random IVs one key may
/// encrypt at most 2^32 messages ([`RANDOM_IV_MESSAGE_LIMIT`], NIST SP 800-38D §8.3). The key
/// counts the messages a [`Vault`](crate::Vault) encrypts with it
/// ([`VaultKey::messages_encrypted`]; clones share the count, a key rebuilt from its bytes
/// starts again at zero) and logs a `tracing` warning, once, when the count passes
/// [`IV_WARNING_THRESHOLD`] (2^31). Rotate to a new key well before the limit.
///
/// ```
/// use privicore::VaultKey;
/// use secrecy::ExposeSecret;
///
/// let key = VaultKey::generate();
/// let hex = key.to_hex();
/// assert_eq!(hex.expose_secret().len(), 64);
/// let again = VaultKey::from_hex(hex.expose_secret())?;
/// assert_eq!(format!("{again:?}"), "VaultKey([REDACTED])");
/// # Ok::<(), privicore::KeyError>(())
/// ```
#[derive(Clone)]
pub struct VaultKey {
    bytes: Box<[u8; KEY_LEN]>,
    /// Shared by clones: a vault holds its own clone, and the application's copy must see
    /// the same count.
    usage: Arc<KeyUsage>,
}

impl VaultKey {
    /// Generates a fresh random key from the operating system's random number generator.
    ///
    /// # Panics
    ///
    /// Only if the operating system cannot provide random bytes (`getrandom` fails), which does
    /// not depend on any input and leaves no safe way to continue.
    #[must_use]
    pub fn generate() -> Self {
        let mut key = Self::zeroed();
        crate::fill_random(&mut key.bytes[..]);
        key
    }

    /// Builds a key from exactly [`KEY_LEN`] (32) raw bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidLength`] when `bytes` is not 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != KEY_LEN {
            return Err(KeyError::InvalidLength {
                actual: bytes.len(),
            });
        }
        let mut key = Self::zeroed();
        key.bytes.copy_from_slice(bytes);
        Ok(key)
    }

    /// Parses a key written as 64 hex digits (either case). Leading and trailing whitespace
    /// (such as the newline at the end of a key file) is ignored.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidHexLength`] when the trimmed text is not 64 characters long, and
    /// [`KeyError::InvalidHex`] when it contains a non-hex character. Neither echoes the input.
    pub fn from_hex(hex: &str) -> Result<Self, KeyError> {
        let hex = hex.trim();
        if hex.len() != KEY_HEX_LEN {
            return Err(KeyError::InvalidHexLength { actual: hex.len() });
        }
        let mut key = Self::zeroed();
        // Decode straight into the zeroized heap buffer: no unprotected copy is made.
        // On error `key` is dropped, which wipes any partly decoded bytes.
        hex::decode_to_slice(hex, &mut key.bytes[..]).map_err(|_| KeyError::InvalidHex)?;
        Ok(key)
    }

    /// Writes the key as 64 lowercase hex digits, wrapped in a [`SecretString`] so that it is
    /// redacted in `Debug` output and zeroized when dropped.
    #[must_use]
    pub fn to_hex(&self) -> SecretString {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        // Exact capacity: the conversion into `SecretString` (`into_boxed_str`) then does not
        // reallocate, so no unwiped copy of the hex text is left behind.
        let mut out = String::with_capacity(KEY_HEX_LEN);
        for byte in self.bytes.iter() {
            out.push(char::from(DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        SecretString::from(out)
    }

    /// The number of messages the SDK has encrypted with this key (or a clone of it) in
    /// this process: one per payload stored or updated through a [`Vault`](crate::Vault).
    ///
    /// ```
    /// let key = privicore::VaultKey::generate();
    /// assert_eq!(key.messages_encrypted(), 0);
    /// ```
    #[must_use]
    pub fn messages_encrypted(&self) -> u64 {
        self.usage.messages()
    }

    /// Counts one message about to be encrypted under this key (each gets a fresh random
    /// IV), warning once past [`IV_WARNING_THRESHOLD`].
    pub(crate) fn count_message(&self) {
        self.usage.record(IV_WARNING_THRESHOLD);
    }

    fn zeroed() -> Self {
        Self {
            bytes: Box::new([0u8; KEY_LEN]),
            usage: Arc::default(),
        }
    }

    /// The raw key bytes, for the cipher in this crate only.
    pub(crate) fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl Drop for VaultKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for VaultKey {}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn hex_round_trip_and_case() {
        let key = VaultKey::from_bytes(&[0xab; 32]).expect("32 bytes");
        assert_eq!(key.to_hex().expose_secret(), "ab".repeat(32));
        let upper = VaultKey::from_hex(&format!("  {}\n", "AB".repeat(32))).expect("valid hex");
        assert_eq!(upper.as_bytes(), &[0xab; 32]);
    }

    #[test]
    fn errors_are_typed_and_do_not_echo_input() {
        assert_eq!(
            VaultKey::from_bytes(&[1; 31]).map(drop),
            Err(KeyError::InvalidLength { actual: 31 })
        );
        assert_eq!(
            VaultKey::from_hex(&"a".repeat(63)).map(drop),
            Err(KeyError::InvalidHexLength { actual: 63 })
        );
        let secretish = format!("{}zz", "5e".repeat(31));
        let err = VaultKey::from_hex(&secretish).map(drop).unwrap_err();
        assert_eq!(err, KeyError::InvalidHex);
        assert!(!err.to_string().contains("5e5e"));
        assert!(!format!("{err:?}").contains("5e5e"));
    }

    #[test]
    fn clones_share_the_message_count_and_a_rebuilt_key_starts_again() {
        let key = VaultKey::generate();
        let clone = key.clone();
        clone.count_message();
        key.count_message();
        assert_eq!(
            (key.messages_encrypted(), clone.messages_encrypted()),
            (2, 2)
        );
        let rebuilt = VaultKey::from_bytes(key.as_bytes()).expect("32 bytes");
        assert_eq!(rebuilt.messages_encrypted(), 0);
    }

    #[test]
    fn generated_keys_differ_and_debug_is_redacted() {
        let a = VaultKey::generate();
        let b = VaultKey::generate();
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_eq!(format!("{a:?}"), "VaultKey([REDACTED])");
    }
}
