//! Streaming encryption and decryption in bounded memory: [`Encryptor`] and [`Decryptor`].

use std::fmt;

use zeroize::Zeroize;

use super::engine::Gcm;
use super::{CipherError, Engine, IV_LEN, TAG_LEN, random_iv};
#[cfg(doc)]
use super::{MAX_PLAINTEXT_LEN, OVERHEAD};
use crate::vault_key::VaultKey;

/// Streaming encryption in bounded memory, for payloads of any size up to
/// [`MAX_PLAINTEXT_LEN`].
///
/// The wire format is produced in three parts, which the caller must emit in this order:
///
/// 1. [`Encryptor::iv`]: the 12-byte IV;
/// 2. the ciphertext, from [`Encryptor::encrypt_in_place`] or [`Encryptor::update`] over the
///    plaintext in chunks of any size (the concatenation is the same whatever the chunking);
/// 3. [`Encryptor::finish`]: the 16-byte tag.
///
/// Every payload gets a fresh random IV; random 96-bit IVs keep the chance of a repeat
/// negligible only up to about 2^32 payloads per key (NIST SP 800-38D, section 8.3): rotate
/// the key before that.
///
/// ```
/// use privicore::{Encryptor, VaultKey};
///
/// let key = VaultKey::generate();
/// let mut enc = Encryptor::new(&key)?;
/// let mut wire = enc.iv().to_vec();
/// for chunk in [&b"hello, "[..], b"world"] {
///     wire.extend(enc.update(chunk)?);
/// }
/// wire.extend(enc.finish());
/// assert_eq!(privicore::cipher::decrypt(&key, &wire)?, b"hello, world");
/// # Ok::<(), privicore::CipherError>(())
/// ```
pub struct Encryptor {
    gcm: Gcm,
    iv: [u8; IV_LEN],
}

impl Encryptor {
    /// Starts a payload with a fresh random IV, on the process-wide engine
    /// ([`Engine::from_env`]).
    ///
    /// # Errors
    ///
    /// [`CipherError::UnknownEngine`] or [`CipherError::EngineUnavailable`] when
    /// [`Engine::ENV`] asks for an engine that does not exist or that this processor cannot
    /// run.
    ///
    /// # Panics
    ///
    /// Only if the operating system cannot provide random bytes for the IV.
    pub fn new(key: &VaultKey) -> Result<Self, CipherError> {
        Self::with_engine(Engine::process_default()?, key)
    }

    /// Starts a payload with a fresh random IV on the given engine.
    ///
    /// # Errors
    ///
    /// [`CipherError::EngineUnavailable`] when this processor cannot run `engine`.
    ///
    /// # Panics
    ///
    /// Only if the operating system cannot provide random bytes for the IV.
    pub fn with_engine(engine: Engine, key: &VaultKey) -> Result<Self, CipherError> {
        Self::start(engine, key, random_iv())
    }

    /// Starts a payload with a caller-chosen IV on the process-wide engine. **Hazardous**:
    /// see [`encrypt_with_iv`](super::encrypt_with_iv); only the `hazmat` feature exposes it.
    ///
    /// # Errors
    ///
    /// As [`Encryptor::new`].
    #[cfg(feature = "hazmat")]
    pub fn with_iv(key: &VaultKey, iv: [u8; IV_LEN]) -> Result<Self, CipherError> {
        Self::start(Engine::process_default()?, key, iv)
    }

    /// Starts a payload with a caller-chosen IV on the given engine. **Hazardous**: see
    /// [`encrypt_with_iv`](super::encrypt_with_iv); only the `hazmat` feature exposes it.
    ///
    /// # Errors
    ///
    /// As [`Encryptor::with_engine`].
    #[cfg(feature = "hazmat")]
    pub fn with_engine_and_iv(
        engine: Engine,
        key: &VaultKey,
        iv: [u8; IV_LEN],
    ) -> Result<Self, CipherError> {
        Self::start(engine, key, iv)
    }

    fn start(engine: Engine, key: &VaultKey, iv: [u8; IV_LEN]) -> Result<Self, CipherError> {
        Ok(Self {
            gcm: Gcm::new(key, &iv, engine)?,
            iv,
        })
    }

    /// The engine doing the work (never [`Engine::Auto`]).
    #[must_use]
    pub fn engine(&self) -> Engine {
        self.gcm.engine()
    }

    /// The IV: the first 12 bytes of the wire format, to be emitted before any ciphertext.
    #[must_use]
    pub fn iv(&self) -> [u8; IV_LEN] {
        self.iv
    }

    /// Encrypts the next chunk of plaintext in place, turning it into the next chunk of
    /// ciphertext. Chunks may have any length, including zero.
    ///
    /// # Errors
    ///
    /// [`CipherError::TooLong`] when the total plaintext would pass [`MAX_PLAINTEXT_LEN`]; the
    /// buffer is then left unchanged.
    pub fn encrypt_in_place(&mut self, buf: &mut [u8]) -> Result<(), CipherError> {
        self.gcm.encrypt_in_place(buf)
    }

    /// Encrypts the next chunk of plaintext into a new vector of ciphertext of the same length.
    ///
    /// # Errors
    ///
    /// [`CipherError::TooLong`] when the total plaintext would pass [`MAX_PLAINTEXT_LEN`].
    pub fn update(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
        let mut out = plaintext.to_vec();
        self.encrypt_in_place(&mut out)?;
        Ok(out)
    }

    /// Ends the payload and returns the 16-byte tag, the last bytes of the wire format.
    #[must_use]
    pub fn finish(self) -> [u8; TAG_LEN] {
        self.gcm.tag()
    }
}

impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryptor")
            .field("plaintext_len", &self.gcm.len)
            .finish_non_exhaustive()
    }
}

/// Decrypted bytes that have **not been authenticated yet**.
///
/// They come from [`Decryptor::update_unverified`], before the tag at the end of the payload
/// has been checked. Use them only in ways that can be undone (write them to a temporary file,
/// hash them, count them) until [`Decryptor::finish`] returns `Ok`; if it does not, every
/// provisional byte of the payload must be discarded (delete the temporary file, forget the
/// hash), because an attacker may have chosen them.
#[must_use = "provisional plaintext must be kept until Decryptor::finish verifies it"]
pub struct ProvisionalPlaintext<'a> {
    bytes: &'a [u8],
}

impl<'a> ProvisionalPlaintext<'a> {
    /// The decrypted bytes, still unauthenticated.
    #[must_use]
    pub fn provisional_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of decrypted bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether this chunk is empty (the decryptor may hold back bytes that might be the tag).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Debug for ProvisionalPlaintext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisionalPlaintext")
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

enum DecryptState {
    /// Collecting the IV; the key schedule waits here.
    Iv {
        key: VaultKey,
        engine: Engine,
        iv: [u8; IV_LEN],
        have: usize,
    },
    Body(Box<Gcm>),
    /// An error was returned; it is returned again by every later call.
    Failed(CipherError),
}

/// Streaming decryption in bounded memory, for wire bytes that arrive in chunks with arbitrary
/// boundaries.
///
/// The last 16 bytes seen so far might be the tag, so they are always held back. Everything
/// before them is decrypted and released at once as [`ProvisionalPlaintext`]. Memory use is
/// the size of the largest chunk given to [`Decryptor::update_unverified`], plus a constant.
///
/// **Nothing released is authentic until [`Decryptor::finish`] returns `Ok`.** The buffer
/// that holds the released plaintext is zeroized when the decryptor is dropped or fails.
///
/// ```
/// use privicore::{CipherError, Decryptor, VaultKey};
///
/// let key = VaultKey::generate();
/// let wire = privicore::cipher::encrypt(&key, b"hello, world")?;
///
/// let mut dec = Decryptor::new(&key);
/// let mut provisional = Vec::new();
/// for chunk in wire.chunks(5) {
///     provisional.extend_from_slice(dec.update_unverified(chunk)?.provisional_bytes());
/// }
/// dec.finish()?; // only now is `provisional` known to be authentic
/// assert_eq!(provisional, b"hello, world");
/// # Ok::<(), CipherError>(())
/// ```
pub struct Decryptor {
    state: DecryptState,
    /// The last bytes seen, which may be (part of) the tag.
    tail: [u8; TAG_LEN],
    tail_len: usize,
    /// Reused buffer for the plaintext released by `update_unverified`; zeroized on drop.
    out: Vec<u8>,
    /// Wire bytes seen so far.
    seen: u64,
}

impl Decryptor {
    /// Starts decrypting one payload on the process-wide engine ([`Engine::from_env`]). When
    /// [`Engine::ENV`] asks for an engine that does not exist or that this processor cannot
    /// run, the first call to [`Decryptor::update_unverified`] or [`Decryptor::finish`]
    /// returns that error.
    #[must_use]
    pub fn new(key: &VaultKey) -> Self {
        match Engine::process_default() {
            Ok(engine) => Self::with_engine(engine, key),
            Err(err) => Self::failed(err),
        }
    }

    /// Starts decrypting one payload on the given engine. When this processor cannot run it,
    /// the first call to [`Decryptor::update_unverified`] or [`Decryptor::finish`] returns
    /// [`CipherError::EngineUnavailable`].
    #[must_use]
    pub fn with_engine(engine: Engine, key: &VaultKey) -> Self {
        match engine.resolve() {
            Ok(engine) => Self::in_state(DecryptState::Iv {
                key: key.clone(),
                engine,
                iv: [0u8; IV_LEN],
                have: 0,
            }),
            Err(err) => Self::failed(err),
        }
    }

    fn failed(err: CipherError) -> Self {
        Self::in_state(DecryptState::Failed(err))
    }

    fn in_state(state: DecryptState) -> Self {
        Self {
            state,
            tail: [0u8; TAG_LEN],
            tail_len: 0,
            out: Vec::new(),
            seen: 0,
        }
    }

    /// Takes the next chunk of wire bytes (any length, including zero) and returns the
    /// plaintext that can be released so far. That plaintext is **unverified**: it is handed
    /// out before the tag at the end has been checked, and an attacker who altered the
    /// ciphertext chose it. Keep it where it can be undone until [`Decryptor::finish`]
    /// returns `Ok`, and discard all of it on any error (see [`ProvisionalPlaintext`]).
    ///
    /// # Errors
    ///
    /// [`CipherError::TooLong`] when the ciphertext passes [`MAX_PLAINTEXT_LEN`], and the
    /// engine errors of [`Decryptor::new`]. After an error the decryptor is spent: later
    /// calls, and [`Decryptor::finish`], return it again.
    pub fn update_unverified(
        &mut self,
        wire: &[u8],
    ) -> Result<ProvisionalPlaintext<'_>, CipherError> {
        let mut out = std::mem::take(&mut self.out);
        let released = self.release_into(wire, &mut out);
        self.out = out;
        Ok(ProvisionalPlaintext {
            bytes: &self.out[..released?],
        })
    }

    /// The core of `update`: decrypts what `wire` lets it release into the start of `out`
    /// (grown if it is too short, never shrunk) and returns how many bytes that is.
    pub(crate) fn release_into(
        &mut self,
        wire: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, CipherError> {
        self.seen = self.seen.saturating_add(wire.len() as u64);
        let mut input = wire;

        if let DecryptState::Iv {
            key,
            engine,
            iv,
            have,
        } = &mut self.state
        {
            let take = (IV_LEN - *have).min(input.len());
            iv[*have..*have + take].copy_from_slice(&input[..take]);
            *have += take;
            input = &input[take..];
            if *have < IV_LEN {
                return Ok(0);
            }
            self.state = match Gcm::new(key, iv, *engine) {
                Ok(gcm) => DecryptState::Body(Box::new(gcm)),
                Err(err) => DecryptState::Failed(err),
            };
        }

        let gcm = match &mut self.state {
            DecryptState::Body(gcm) => gcm,
            DecryptState::Failed(err) => return Err(*err),
            DecryptState::Iv { .. } => return Ok(0),
        };

        let available = self.tail_len + input.len();
        if available <= TAG_LEN {
            self.tail[self.tail_len..available].copy_from_slice(input);
            self.tail_len = available;
            return Ok(0);
        }

        // Release everything but the last TAG_LEN bytes of (held-back tail || input),
        // decrypting straight from the two into `out`: no copy of the input first.
        let release = available - TAG_LEN;
        let from_tail = self.tail_len.min(release);
        let from_input = release - from_tail;
        if out.len() < release {
            // A reused `out` keeps the length of the largest release so far, so that it is
            // not zero-filled again for every chunk.
            out.resize(release, 0);
        }
        let (head, body) = out[..release].split_at_mut(from_tail);
        let decrypted = gcm
            .decrypt_into(&self.tail[..from_tail], head)
            .and_then(|()| gcm.decrypt_into(&input[..from_input], body));

        // The new tail: what is left of the old one, then the rest of the input.
        let mut tail = [0u8; TAG_LEN];
        let kept = self.tail_len - from_tail;
        tail[..kept].copy_from_slice(&self.tail[from_tail..self.tail_len]);
        tail[kept..].copy_from_slice(&input[from_input..]);
        self.tail = tail;
        self.tail_len = TAG_LEN;

        if let Err(err) = decrypted {
            out.zeroize();
            self.state = DecryptState::Failed(err);
            return Err(err);
        }
        Ok(release)
    }

    /// Ends the payload and checks the tag in constant time. Only `Ok` makes the plaintext
    /// released by [`Decryptor::update_unverified`] authentic; on any error the caller must
    /// discard every byte it released.
    ///
    /// # Errors
    ///
    /// [`CipherError::TagMismatch`] for a wrong key or altered or truncated data,
    /// [`CipherError::TooShort`] when fewer than [`OVERHEAD`] bytes arrived in all, and any
    /// error that [`Decryptor::update_unverified`] returned earlier.
    pub fn finish(self) -> Result<(), CipherError> {
        match &self.state {
            DecryptState::Failed(err) => Err(*err),
            DecryptState::Body(gcm) if self.tail_len == TAG_LEN => {
                gcm.verify(&self.tail[..self.tail_len])
            }
            DecryptState::Iv { .. } | DecryptState::Body(_) => {
                Err(CipherError::TooShort { actual: self.seen })
            }
        }
    }
}

impl Drop for Decryptor {
    fn drop(&mut self) {
        // The released plaintext may be unauthentic or secret; either way it is not left
        // behind in freed memory.
        self.out.zeroize();
    }
}

impl fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decryptor")
            .field("bytes_seen", &self.seen)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cipher::MAX_PLAINTEXT_LEN;

    #[test]
    fn decryptor_reports_too_long_and_stays_failed() {
        let key = VaultKey::from_bytes(&[7; 32]).expect("32 bytes");
        let mut dec = Decryptor::new(&key);
        assert!(dec.update_unverified(&[0; IV_LEN + TAG_LEN]).is_ok());
        if let DecryptState::Body(gcm) = &mut dec.state {
            gcm.len = MAX_PLAINTEXT_LEN;
        }
        assert_eq!(
            dec.update_unverified(&[1]).map(|p| p.len()),
            Err(CipherError::TooLong)
        );
        assert_eq!(
            dec.update_unverified(&[]).map(|p| p.len()),
            Err(CipherError::TooLong)
        );
        assert_eq!(dec.finish(), Err(CipherError::TooLong));
    }

    #[test]
    fn encryptor_rejects_past_the_limit_without_touching_the_buffer() {
        let key = VaultKey::from_bytes(&[7; 32]).expect("32 bytes");
        let mut enc = Encryptor::start(Engine::Auto, &key, [0; IV_LEN]).expect("auto runs");
        enc.gcm.len = MAX_PLAINTEXT_LEN - 2;
        let mut buf = [9u8; 3];
        assert_eq!(enc.encrypt_in_place(&mut buf), Err(CipherError::TooLong));
        assert_eq!(buf, [9u8; 3]);
    }
}
