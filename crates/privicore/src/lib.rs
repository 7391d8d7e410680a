//! Ergonomic Rust SDK for Privicore.
//!
//! This first layer holds the client-side cryptography:
//!
//! * [`vault_key`]: [`VaultKey`], the application's AES-256 key for payloads;
//! * [`cipher`]: AES-256-GCM in the Privicore wire format `IV || ciphertext || tag`, one-shot
//!   ([`cipher::encrypt`], [`cipher::decrypt`]) and streaming ([`Encryptor`], [`Decryptor`],
//!   [`cipher::encrypt_reader`], [`cipher::decrypt_to_writer`]);
//! * [`keys`]: the Curve25519 [`KeyPair`] of a profile and its [`SignedPublicKey`], the
//!   200-hex-character form that Privicore registers.
//!
//! Secrets are redacted in `Debug` output, zeroized on drop, and never appear in errors.
#![deny(missing_docs)]

pub mod cipher;
pub mod keys;
pub mod vault_key;

pub use cipher::{CipherError, Decryptor, Encryptor};
pub use keys::{KeyPair, SignedKeyError, SignedPublicKey};
pub use vault_key::{KeyError, VaultKey};

/// Fills `buf` from the operating system's random number generator.
///
/// Panics only if the operating system cannot provide random bytes: this does not depend on
/// any input, and no cryptographic operation can continue safely without them.
pub(crate) fn fill_random(buf: &mut [u8]) {
    if let Err(err) = getrandom::fill(buf) {
        panic!("the operating system's random number generator failed: {err}");
    }
}
