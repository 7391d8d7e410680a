//! AES-256-GCM payload encryption in the wire format of docs/protocol.md §7.1.
//!
//! ```text
//! [ IV: 12 random bytes ][ ciphertext: as long as the plaintext ][ tag: 16 bytes ]
//! ```
//!
//! No associated data is used, and every payload gets a fresh random IV. Random 96-bit IVs
//! keep the chance of a repeat negligible only up to about 2^32 payloads per key (NIST SP
//! 800-38D, section 8.3): rotate the key before that. The output agrees byte for byte with any
//! standard AES-GCM implementation (the tests check it against the `aes-gcm` crate, Python's
//! `cryptography`, and the Wycheproof and NIST CAVP test vectors on every engine).
//!
//! Two engines do the work ([`Engine`]): on x86-64 processors with VAES and VPCLMULQDQ, one
//! of this crate's own that encrypts and hashes sixteen blocks per pass (4–5 GB/s on the
//! benchmark machine, about twice `aes-gcm`); everywhere, RustCrypto's `aes`, `ctr` and
//! `ghash`. [`Engine::Auto`] picks the first where it runs; the client
//! ([`ClientBuilder::gcm_engine`](crate::ClientBuilder::gcm_engine)), the `*_with` functions
//! and the environment variable `PRIVICORE_GCM_ENGINE` can ask for one, and asking for one the
//! processor cannot run is an error, never a silent fallback. [`engine`] says which one runs.
//!
//! Three ways in:
//!
//! * one-shot, for payloads that fit in memory: [`encrypt`] and [`decrypt`];
//! * streaming and synchronous, in bounded memory whatever the payload size: [`Encryptor`] and
//!   [`Decryptor`];
//! * streaming and asynchronous, built on those: [`encrypt_reader`] (an `AsyncRead` into a
//!   `Stream` of wire chunks) and [`decrypt_to_writer_unverified`] (a `Stream` of wire chunks
//!   into an `AsyncWrite`).
//!
//! A streaming decryptor cannot know that the data is authentic before it has seen the tag at
//! the very end, so the plaintext it releases on the way is *unverified*: the caller must be
//! ready to throw it all away unless [`Decryptor::finish`] (or
//! [`decrypt_to_writer_unverified`]) returns `Ok`. The names say so
//! ([`Decryptor::update_unverified`]).
//!
//! The `hazmat` cargo feature (off by default) adds `encrypt_with_iv` and
//! `Encryptor::with_iv`, which take a caller-chosen IV, for tests against fixed vectors.
//!
//! ```
//! use privicore::VaultKey;
//! use privicore::cipher::{decrypt, encrypt, OVERHEAD};
//!
//! let key = VaultKey::generate();
//! let wire = encrypt(&key, b"hello")?;
//! assert_eq!(wire.len(), 5 + OVERHEAD);
//! assert_eq!(decrypt(&key, &wire)?, b"hello");
//! # Ok::<(), privicore::CipherError>(())
//! ```

/// Length of the IV (nonce) at the start of every payload, in bytes.
pub const IV_LEN: usize = 12;

/// Length of the authentication tag at the end of every payload, in bytes.
pub const TAG_LEN: usize = 16;

/// Bytes that encryption adds to a plaintext: the IV and the tag (28).
pub const OVERHEAD: usize = IV_LEN + TAG_LEN;

/// Longest plaintext that one AES-GCM payload may hold: 2^36 - 32 bytes (just under 64 GiB),
/// the limit of NIST SP 800-38D. Past it the 32-bit block counter would wrap around.
pub const MAX_PLAINTEXT_LEN: u64 = (1 << 36) - 32;

/// Size of the plaintext chunks that [`encrypt_reader`] reads and encrypts (64 KiB).
pub const STREAM_CHUNK_LEN: usize = 64 * 1024;

/// Why a payload could not be encrypted or decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CipherError {
    /// The input is shorter than an IV plus a tag, so it cannot be an encrypted payload.
    #[error(
        "an encrypted payload is at least {min} bytes (IV and tag), got {actual} bytes",
        min = OVERHEAD
    )]
    TooShort {
        /// Number of bytes that was given.
        actual: u64,
    },
    /// The tag does not match: wrong key, or the payload was altered or truncated.
    #[error("the payload failed authentication: wrong key, or altered or truncated data")]
    TagMismatch,
    /// The plaintext is longer than AES-GCM allows for one IV ([`MAX_PLAINTEXT_LEN`]).
    #[error("a payload may hold at most {max} bytes of plaintext", max = MAX_PLAINTEXT_LEN)]
    TooLong,
    /// An engine name (in `PRIVICORE_GCM_ENGINE`, or given to [`Engine`]'s `FromStr`) is not
    /// `auto`, `portable` or `wide`.
    #[error("unknown AES-GCM engine: expected auto, portable or wide")]
    UnknownEngine,
    /// The engine asked for cannot run on this processor (the wide engine needs AES-NI,
    /// PCLMULQDQ, AVX2, VAES and VPCLMULQDQ). No other engine is substituted.
    #[error("the {engine} AES-GCM engine cannot run on this processor")]
    EngineUnavailable {
        /// The engine that was asked for.
        engine: Engine,
    },
}

mod adapters;
mod choice;
pub(crate) mod chunks;
mod engine;
mod oneshot;
mod portable;
mod stream;
// The only module allowed `unsafe` (the crate root denies it): the intrinsics of the wide
// engine. See the module's documentation for why each use is sound.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod wide;

pub use adapters::{
    DecryptStreamError, decrypt_to_writer_unverified, encrypt_reader, encrypt_reader_with,
};
pub use choice::{Engine, engine};
#[cfg(feature = "hazmat")]
pub use oneshot::encrypt_with_iv;
pub use oneshot::{decrypt, decrypt_with, encrypt, encrypt_with};
pub use stream::{Decryptor, Encryptor, ProvisionalPlaintext};

fn random_iv() -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    crate::fill_random(&mut iv);
    iv
}
