//! One-shot encryption and decryption, for payloads that fit in memory.

use zeroize::Zeroize;

use super::engine::Gcm;
use super::{CipherError, Engine, IV_LEN, MAX_PLAINTEXT_LEN, OVERHEAD, TAG_LEN, random_iv};
use crate::vault_key::VaultKey;

/// Encrypts `plaintext` with a fresh random IV into `IV || ciphertext || tag`, on the
/// process-wide engine ([`Engine::from_env`]).
///
/// Random 96-bit IVs keep the chance of a repeat negligible only up to about 2^32 payloads
/// per key (NIST SP 800-38D, section 8.3): rotate the key before that.
///
/// # Errors
///
/// [`CipherError::TooLong`] when `plaintext` is longer than [`MAX_PLAINTEXT_LEN`];
/// [`CipherError::UnknownEngine`] or [`CipherError::EngineUnavailable`] when
/// [`Engine::ENV`] asks for an engine that does not exist or that this processor cannot run.
///
/// # Panics
///
/// Only if the operating system cannot provide random bytes for the IV.
pub fn encrypt(key: &VaultKey, plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
    encrypt_with(Engine::process_default()?, key, plaintext)
}

/// [`encrypt`] on the given engine.
///
/// # Errors
///
/// As [`encrypt`]; [`CipherError::EngineUnavailable`] when this processor cannot run
/// `engine`.
///
/// # Panics
///
/// Only if the operating system cannot provide random bytes for the IV.
pub fn encrypt_with(
    engine: Engine,
    key: &VaultKey,
    plaintext: &[u8],
) -> Result<Vec<u8>, CipherError> {
    seal(engine, key, random_iv(), plaintext)
}

/// Encrypts with a caller-chosen IV, on the process-wide engine. **Hazardous**: reusing an IV
/// with the same key destroys the confidentiality and integrity of every payload that shares
/// it. It exists so that tests can compare the output with other implementations byte for
/// byte; only the non-default `hazmat` feature exposes it.
///
/// # Errors
///
/// As [`encrypt`].
#[cfg(feature = "hazmat")]
pub fn encrypt_with_iv(
    key: &VaultKey,
    iv: [u8; IV_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, CipherError> {
    seal(Engine::process_default()?, key, iv, plaintext)
}

fn seal(
    engine: Engine,
    key: &VaultKey,
    iv: [u8; IV_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, CipherError> {
    // Check the limit before allocating.
    if plaintext.len() as u64 > MAX_PLAINTEXT_LEN {
        return Err(CipherError::TooLong);
    }
    let mut gcm = Gcm::new(key, &iv, engine)?;
    let mut wire = Vec::with_capacity(plaintext.len() + OVERHEAD);
    wire.extend_from_slice(&iv);
    wire.extend_from_slice(plaintext);
    gcm.encrypt_in_place(&mut wire[IV_LEN..])?;
    wire.extend_from_slice(&gcm.tag());
    Ok(wire)
}

/// Decrypts `IV || ciphertext || tag` on the process-wide engine ([`Engine::from_env`]). The
/// tag is checked (in constant time) before any plaintext is produced, so an `Ok` result is
/// authentic.
///
/// # Errors
///
/// [`CipherError::TooShort`] when `wire` is shorter than [`OVERHEAD`] bytes,
/// [`CipherError::TagMismatch`] for a wrong key or altered data, and [`CipherError::TooLong`]
/// when the ciphertext is longer than [`MAX_PLAINTEXT_LEN`]; [`CipherError::UnknownEngine`]
/// or [`CipherError::EngineUnavailable`] as for [`encrypt`].
pub fn decrypt(key: &VaultKey, wire: &[u8]) -> Result<Vec<u8>, CipherError> {
    decrypt_with(Engine::process_default()?, key, wire)
}

/// [`decrypt`] on the given engine.
///
/// # Errors
///
/// As [`decrypt`]; [`CipherError::EngineUnavailable`] when this processor cannot run
/// `engine`.
pub fn decrypt_with(engine: Engine, key: &VaultKey, wire: &[u8]) -> Result<Vec<u8>, CipherError> {
    if wire.len() < OVERHEAD {
        return Err(CipherError::TooShort {
            actual: wire.len() as u64,
        });
    }
    let (iv, rest) = wire.split_at(IV_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut iv_bytes = [0u8; IV_LEN];
    iv_bytes.copy_from_slice(iv);
    let mut gcm = Gcm::new(key, &iv_bytes, engine)?;
    let mut plaintext = ciphertext.to_vec();
    gcm.decrypt_in_place(&mut plaintext)?;
    if let Err(err) = gcm.verify(tag) {
        // Nothing unauthenticated leaves this function.
        plaintext.zeroize();
        return Err(err);
    }
    Ok(plaintext)
}
