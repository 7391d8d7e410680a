//! AES-256-GCM payload encryption in the wire format of docs/protocol.md §7.1.
//!
//! ```text
//! [ IV: 12 random bytes ][ ciphertext: as long as the plaintext ][ tag: 16 bytes ]
//! ```
//!
//! No associated data is used, and every payload gets a fresh random IV. The output agrees
//! byte for byte with any standard AES-GCM implementation (the tests check it against the
//! `aes-gcm` crate and Python's `cryptography`).
//!
//! Two engines do the work, chosen at run time: on x86-64 processors with VAES and
//! VPCLMULQDQ, one of this crate's own that encrypts and hashes sixteen blocks per pass
//! (4–5 GB/s on the benchmark machine, about twice `aes-gcm`); elsewhere RustCrypto's `aes`,
//! `ctr` and `ghash`. [`engine`] says which one runs.
//!
//! Three ways in:
//!
//! * one-shot, for payloads that fit in memory: [`encrypt`] and [`decrypt`];
//! * streaming and synchronous, in bounded memory whatever the payload size: [`Encryptor`] and
//!   [`Decryptor`];
//! * streaming and asynchronous, built on those: [`encrypt_reader`] (an `AsyncRead` into a
//!   `Stream` of wire chunks) and [`decrypt_to_writer`] (a `Stream` of wire chunks into an
//!   `AsyncWrite`).
//!
//! A streaming decryptor cannot know that the data is authentic before it has seen the tag at
//! the very end, so the plaintext it releases on the way is *provisional*: the caller must be
//! ready to throw it all away unless [`Decryptor::finish`] (or [`decrypt_to_writer`]) returns
//! `Ok`.
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

use std::fmt;
use std::io;

use aes::Aes256;
use aes::cipher::{
    BlockCipherEncrypt, InnerIvInit, KeyInit, StreamCipher, StreamCipherCore, array::Array,
};
use bytes::{Bytes, BytesMut};
use futures::Stream;
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use zeroize::Zeroize;

use crate::vault_key::VaultKey;

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

const BLOCK_LEN: usize = 16;

type Block = Array<u8, aes::cipher::consts::U16>;
type CtrCore = ctr::CtrCore<Aes256, ctr::flavors::Ctr32BE>;
type Ctr = ctr::Ctr32BE<Aes256>;

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
}

pub(crate) mod chunks;
#[cfg(target_arch = "x86_64")]
mod wide;

/// The GCM state for one payload: an engine, and the count of bytes it has processed.
struct Gcm {
    engine: Engine,
    /// Ciphertext bytes processed so far.
    len: u64,
}

/// Which implementation does the work. The wide one is chosen whenever the processor has
/// VAES and VPCLMULQDQ; the portable one (RustCrypto's `aes`, `ctr` and `ghash`) everywhere
/// else. They agree byte for byte (see the tests).
enum Engine {
    #[cfg(target_arch = "x86_64")]
    Wide(Box<wide::Wide>),
    Portable(Box<Portable>),
}

/// Which engine a test wants.
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
enum EngineChoice {
    Fastest,
    Portable,
}

impl Gcm {
    fn new(key: &VaultKey, iv: &[u8; IV_LEN]) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(wide) = wide::Wide::new(key.as_bytes(), iv) {
            return Self {
                engine: Engine::Wide(Box::new(wide)),
                len: 0,
            };
        }
        Self::portable(key, iv)
    }

    fn portable(key: &VaultKey, iv: &[u8; IV_LEN]) -> Self {
        Self {
            engine: Engine::Portable(Box::new(Portable::new(new_aes(key), iv))),
            len: 0,
        }
    }

    #[cfg(test)]
    fn with_engine(key: &VaultKey, iv: &[u8; IV_LEN], choice: EngineChoice) -> Self {
        match choice {
            EngineChoice::Fastest => Self::new(key, iv),
            EngineChoice::Portable => Self::portable(key, iv),
        }
    }

    /// Checks that `more` bytes still fit under [`MAX_PLAINTEXT_LEN`] and counts them.
    fn reserve(&mut self, more: usize) -> Result<(), CipherError> {
        count(&mut self.len, more)
    }

    fn encrypt_in_place(&mut self, buf: &mut [u8]) -> Result<(), CipherError> {
        self.reserve(buf.len())?;
        match &mut self.engine {
            #[cfg(target_arch = "x86_64")]
            Engine::Wide(wide) => wide.crypt_in_place(wide::Direction::Encrypt, buf),
            Engine::Portable(portable) => {
                portable.keystream(buf)?;
                portable.hash(buf);
            }
        }
        Ok(())
    }

    fn decrypt_in_place(&mut self, buf: &mut [u8]) -> Result<(), CipherError> {
        self.reserve(buf.len())?;
        match &mut self.engine {
            #[cfg(target_arch = "x86_64")]
            Engine::Wide(wide) => wide.crypt_in_place(wide::Direction::Decrypt, buf),
            Engine::Portable(portable) => {
                portable.hash(buf);
                portable.keystream(buf)?;
            }
        }
        Ok(())
    }

    /// Decrypts `ciphertext` into `out`, which has the same length: no copy first.
    fn decrypt_into(&mut self, ciphertext: &[u8], out: &mut [u8]) -> Result<(), CipherError> {
        debug_assert_eq!(ciphertext.len(), out.len());
        match &mut self.engine {
            #[cfg(target_arch = "x86_64")]
            Engine::Wide(wide) => {
                count(&mut self.len, ciphertext.len())?;
                wide.crypt_apart(wide::Direction::Decrypt, ciphertext, out);
                Ok(())
            }
            Engine::Portable(_) => {
                out.copy_from_slice(ciphertext);
                self.decrypt_in_place(out)
            }
        }
    }

    /// The tag over the ciphertext seen so far: GHASH(C || lengths) xor AES_K(J0).
    fn tag(&self) -> [u8; TAG_LEN] {
        match &self.engine {
            #[cfg(target_arch = "x86_64")]
            Engine::Wide(wide) => wide.tag(self.len),
            Engine::Portable(portable) => portable.tag(self.len),
        }
    }

    fn verify(&self, tag: &[u8]) -> Result<(), CipherError> {
        if bool::from(self.tag().ct_eq(tag)) {
            Ok(())
        } else {
            Err(CipherError::TagMismatch)
        }
    }
}

/// Adds `more` to the byte count `len`, unless that passes [`MAX_PLAINTEXT_LEN`].
fn count(len: &mut u64, more: usize) -> Result<(), CipherError> {
    let more = u64::try_from(more).map_err(|_| CipherError::TooLong)?;
    match len.checked_add(more) {
        Some(total) if total <= MAX_PLAINTEXT_LEN => {
            *len = total;
            Ok(())
        }
        _ => Err(CipherError::TooLong),
    }
}

/// The portable engine: the CTR keystream and the running GHASH of the ciphertext.
struct Portable {
    /// AES-CTR with a 32-bit big-endian counter, positioned at J0 + 1 (J0 = IV || 0^31 || 1).
    ctr: Ctr,
    ghash: GHash,
    /// AES_K(J0), XORed into the GHASH output to make the tag.
    tag_mask: [u8; BLOCK_LEN],
    /// Ciphertext bytes not yet hashed because they do not fill a 16-byte block.
    pending: [u8; BLOCK_LEN],
    pending_len: usize,
}

impl Portable {
    fn new(aes: Aes256, iv: &[u8; IV_LEN]) -> Self {
        // H = AES_K(0^128).
        let mut h = Block::default();
        aes.encrypt_block(&mut h);
        let ghash = GHash::new(&h);
        h.as_mut_slice().zeroize();

        // J0 = IV || 0^31 || 1 for a 96-bit IV. Its keystream block masks the tag; the data
        // then uses J0 + 1, J0 + 2, ... (the counter wraps in the low 32 bits only).
        let mut j0 = Block::default();
        j0[..IV_LEN].copy_from_slice(iv);
        j0[BLOCK_LEN - 1] = 1;
        let mut core = CtrCore::inner_iv_init(aes, &j0);
        let mut mask = Block::default();
        core.write_keystream_block(&mut mask);
        let mut tag_mask = [0u8; BLOCK_LEN];
        tag_mask.copy_from_slice(&mask);
        mask.as_mut_slice().zeroize();

        Self {
            ctr: Ctr::from_core(core),
            ghash,
            tag_mask,
            pending: [0u8; BLOCK_LEN],
            pending_len: 0,
        }
    }

    fn keystream(&mut self, buf: &mut [u8]) -> Result<(), CipherError> {
        // Cannot fail after `Gcm::reserve`: MAX_PLAINTEXT_LEN is exactly the counter's
        // capacity.
        self.ctr
            .try_apply_keystream(buf)
            .map_err(|_| CipherError::TooLong)
    }

    /// Feeds ciphertext into GHASH, whole blocks in bulk and the ragged end into `pending`.
    fn hash(&mut self, mut data: &[u8]) {
        if self.pending_len > 0 {
            let take = (BLOCK_LEN - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < BLOCK_LEN {
                return;
            }
            self.ghash.update(&[Block::from(self.pending)]);
            self.pending_len = 0;
        }
        let (blocks, rest) = Block::slice_as_chunks(data);
        self.ghash.update(blocks);
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    fn tag(&self, len: u64) -> [u8; TAG_LEN] {
        let mut ghash = self.ghash.clone();
        if self.pending_len > 0 {
            ghash.update_padded(&self.pending[..self.pending_len]);
        }
        // len(A) = 0 (no associated data) || len(C), both in bits, big-endian.
        let mut lengths = Block::default();
        lengths[8..].copy_from_slice(&(len * 8).to_be_bytes());
        ghash.update(&[lengths]);
        let mut tag = [0u8; TAG_LEN];
        for ((t, s), m) in tag.iter_mut().zip(ghash.finalize()).zip(self.tag_mask) {
            *t = s ^ m;
        }
        tag
    }
}

impl Drop for Portable {
    fn drop(&mut self) {
        // The AES key schedule, the CTR state and the GHASH key zeroize themselves.
        self.tag_mask.zeroize();
        self.pending.zeroize();
    }
}

fn new_aes(key: &VaultKey) -> Aes256 {
    Aes256::new(&Array::from(*key.as_bytes()))
}

fn random_iv() -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    crate::fill_random(&mut iv);
    iv
}

/// Which AES-256-GCM implementation this process uses, for diagnostics and benchmark
/// reports: `"vaes"` on x86-64 processors with VAES, VPCLMULQDQ and AVX2 (sixteen blocks per
/// pass, keystream and GHASH together), `"portable"` elsewhere (RustCrypto's `aes`, `ctr` and
/// `ghash`, which use AES-NI and PCLMULQDQ where they exist). Both produce the same bytes.
///
/// ```
/// assert!(["vaes", "portable"].contains(&privicore::cipher::engine()));
/// ```
#[must_use]
pub fn engine() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if wide::supported() {
        return "vaes";
    }
    "portable"
}

/// Encrypts `plaintext` with a fresh random IV into `IV || ciphertext || tag`.
///
/// # Errors
///
/// [`CipherError::TooLong`] when `plaintext` is longer than [`MAX_PLAINTEXT_LEN`].
///
/// # Panics
///
/// Only if the operating system cannot provide random bytes for the IV.
pub fn encrypt(key: &VaultKey, plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
    encrypt_with_iv(key, random_iv(), plaintext)
}

/// Encrypts with a caller-chosen IV. **Not for use outside tests**: reusing an IV with the same
/// key destroys the confidentiality and integrity of every payload that shares it. It exists so
/// that tests can compare the output with other implementations byte for byte.
#[doc(hidden)]
pub fn encrypt_with_iv(
    key: &VaultKey,
    iv: [u8; IV_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, CipherError> {
    // Check the limit before allocating.
    if plaintext.len() as u64 > MAX_PLAINTEXT_LEN {
        return Err(CipherError::TooLong);
    }
    let mut gcm = Gcm::new(key, &iv);
    let mut wire = Vec::with_capacity(plaintext.len() + OVERHEAD);
    wire.extend_from_slice(&iv);
    wire.extend_from_slice(plaintext);
    gcm.encrypt_in_place(&mut wire[IV_LEN..])?;
    wire.extend_from_slice(&gcm.tag());
    Ok(wire)
}

/// Decrypts `IV || ciphertext || tag`. The tag is checked (in constant time) before any
/// plaintext is produced, so an `Ok` result is authentic.
///
/// # Errors
///
/// [`CipherError::TooShort`] when `wire` is shorter than [`OVERHEAD`] bytes,
/// [`CipherError::TagMismatch`] for a wrong key or altered data, and [`CipherError::TooLong`]
/// when the ciphertext is longer than [`MAX_PLAINTEXT_LEN`].
pub fn decrypt(key: &VaultKey, wire: &[u8]) -> Result<Vec<u8>, CipherError> {
    if wire.len() < OVERHEAD {
        return Err(CipherError::TooShort {
            actual: wire.len() as u64,
        });
    }
    let (iv, rest) = wire.split_at(IV_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut iv_bytes = [0u8; IV_LEN];
    iv_bytes.copy_from_slice(iv);
    let mut gcm = Gcm::new(key, &iv_bytes);
    let mut plaintext = ciphertext.to_vec();
    gcm.decrypt_in_place(&mut plaintext)?;
    if let Err(err) = gcm.verify(tag) {
        // Nothing unauthenticated leaves this function.
        plaintext.zeroize();
        return Err(err);
    }
    Ok(plaintext)
}

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
/// ```
/// use privicore::{Encryptor, VaultKey};
///
/// let key = VaultKey::generate();
/// let mut enc = Encryptor::new(&key);
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
    /// Starts a payload with a fresh random IV.
    ///
    /// # Panics
    ///
    /// Only if the operating system cannot provide random bytes for the IV.
    #[must_use]
    pub fn new(key: &VaultKey) -> Self {
        Self::with_iv(key, random_iv())
    }

    /// Starts a payload with a caller-chosen IV. **Not for use outside tests**; see
    /// [`encrypt_with_iv`].
    #[doc(hidden)]
    #[must_use]
    pub fn with_iv(key: &VaultKey, iv: [u8; IV_LEN]) -> Self {
        Self {
            gcm: Gcm::new(key, &iv),
            iv,
        }
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
/// They come from [`Decryptor::update`], before the tag at the end of the payload has been
/// checked. Use them only in ways that can be undone (write them to a temporary file, hash
/// them, count them) until [`Decryptor::finish`] returns `Ok`; if it does not, every
/// provisional byte of the payload must be discarded.
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
/// the size of the largest chunk given to [`Decryptor::update`], plus a constant.
///
/// **Nothing released is authentic until [`Decryptor::finish`] returns `Ok`.**
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
///     provisional.extend_from_slice(dec.update(chunk)?.provisional_bytes());
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
    /// Reused buffer for the plaintext released by `update`.
    out: Vec<u8>,
    /// Wire bytes seen so far.
    seen: u64,
}

impl Decryptor {
    /// Starts decrypting one payload.
    #[must_use]
    pub fn new(key: &VaultKey) -> Self {
        Self {
            state: DecryptState::Iv {
                key: key.clone(),
                iv: [0u8; IV_LEN],
                have: 0,
            },
            tail: [0u8; TAG_LEN],
            tail_len: 0,
            out: Vec::new(),
            seen: 0,
        }
    }

    /// Takes the next chunk of wire bytes (any length, including zero) and returns the
    /// plaintext that can be released so far. That plaintext is **provisional**: see
    /// [`ProvisionalPlaintext`].
    ///
    /// # Errors
    ///
    /// [`CipherError::TooLong`] when the ciphertext passes [`MAX_PLAINTEXT_LEN`]. After an
    /// error the decryptor is spent: later calls, and [`Decryptor::finish`], return it again.
    pub fn update(&mut self, wire: &[u8]) -> Result<ProvisionalPlaintext<'_>, CipherError> {
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

        if let DecryptState::Iv { key, iv, have } = &mut self.state {
            let take = (IV_LEN - *have).min(input.len());
            iv[*have..*have + take].copy_from_slice(&input[..take]);
            *have += take;
            input = &input[take..];
            if *have < IV_LEN {
                return Ok(0);
            }
            let gcm = Gcm::new(key, iv);
            self.state = DecryptState::Body(Box::new(gcm));
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
            out.clear();
            self.state = DecryptState::Failed(err);
            return Err(err);
        }
        Ok(release)
    }

    /// Ends the payload and checks the tag in constant time. Only `Ok` makes the plaintext
    /// released by [`Decryptor::update`] authentic.
    ///
    /// # Errors
    ///
    /// [`CipherError::TagMismatch`] for a wrong key or altered or truncated data,
    /// [`CipherError::TooShort`] when fewer than [`OVERHEAD`] bytes arrived in all, and any
    /// error that [`Decryptor::update`] returned earlier.
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

impl fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decryptor")
            .field("bytes_seen", &self.seen)
            .finish_non_exhaustive()
    }
}

enum ReaderState<R> {
    Iv(Box<Encryptor>, R),
    Body(Box<Encryptor>, R),
    Tag(Box<Encryptor>),
    Done,
}

fn tag_chunk(enc: Encryptor) -> Bytes {
    Bytes::copy_from_slice(&enc.finish())
}

/// Encrypts everything `reader` yields into a stream of wire chunks: the IV first, then
/// ciphertext in chunks of up to [`STREAM_CHUNK_LEN`] (64 KiB), then the 16-byte tag.
/// Memory use stays around one chunk whatever the size of the input.
///
/// The stream ends after the first error (a read error, or [`CipherError::TooLong`] wrapped in
/// an [`io::Error`] of kind `Other`). It is `Send` when the reader is.
///
/// # Panics
///
/// Only if the operating system cannot provide random bytes for the IV.
///
/// ```
/// use futures::TryStreamExt;
/// use privicore::VaultKey;
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let key = VaultKey::generate();
/// let chunks: Vec<bytes::Bytes> =
///     privicore::cipher::encrypt_reader(&key, &b"hello"[..]).try_collect().await?;
/// let wire = chunks.concat();
/// assert_eq!(privicore::cipher::decrypt(&key, &wire).ok(), Some(b"hello".to_vec()));
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn encrypt_reader<R>(
    key: &VaultKey,
    reader: R,
) -> impl Stream<Item = io::Result<Bytes>> + use<R>
where
    R: AsyncRead,
{
    let state = ReaderState::Iv(Box::new(Encryptor::new(key)), Box::pin(reader));
    futures::stream::try_unfold(state, |state| async move {
        match state {
            ReaderState::Iv(enc, reader) => {
                let iv = Bytes::copy_from_slice(&enc.iv());
                Ok(Some((iv, ReaderState::Body(enc, reader))))
            }
            ReaderState::Body(mut enc, mut reader) => {
                let mut buf = BytesMut::with_capacity(STREAM_CHUNK_LEN);
                let mut eof = false;
                while buf.len() < STREAM_CHUNK_LEN {
                    if reader.read_buf(&mut buf).await? == 0 {
                        eof = true;
                        break;
                    }
                }
                if buf.is_empty() {
                    return Ok(Some((tag_chunk(*enc), ReaderState::Done)));
                }
                enc.encrypt_in_place(&mut buf).map_err(io::Error::other)?;
                // At end of input the tag goes out on the next poll, without reading again.
                let next = if eof {
                    ReaderState::Tag(enc)
                } else {
                    ReaderState::Body(enc, reader)
                };
                Ok(Some((buf.freeze(), next)))
            }
            ReaderState::Tag(enc) => Ok(Some((tag_chunk(*enc), ReaderState::Done))),
            ReaderState::Done => Ok(None),
        }
    })
}

/// Why [`decrypt_to_writer`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptStreamError<E> {
    /// The input stream yielded an error.
    #[error("reading the encrypted stream failed")]
    Source(#[source] E),
    /// Writing (or flushing) the plaintext failed.
    #[error("writing the decrypted data failed")]
    Write(#[source] io::Error),
    /// The payload is malformed or not authentic ([`CipherError::TagMismatch`] in particular).
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// The decryption stopped before the end of the stream (its task ended abnormally), so
    /// the tag was never checked: nothing written is authentic.
    #[error("the decryption stopped before the end of the payload")]
    Interrupted,
}

/// Decrypts a stream of wire chunks (with arbitrary boundaries) into `writer`, in bounded
/// memory, and returns the number of plaintext bytes written once the tag has been verified.
///
/// **The bytes written are not authentic until this function returns `Ok`.** Plaintext is
/// written as it is decrypted, before the tag at the end can be checked. The caller decides
/// what makes the output final: for instance, write to a temporary file and rename it only
/// after `Ok`, and delete it on any error. On error the writer may hold any prefix of the
/// (unauthenticated) plaintext.
///
/// The writer is flushed, not shut down, before `Ok` is returned.
///
/// # Errors
///
/// [`DecryptStreamError::Source`] for an error from the stream,
/// [`DecryptStreamError::Write`] for an error from the writer, and
/// [`DecryptStreamError::Cipher`] when the payload is too short, too long or not authentic.
///
/// ```
/// use privicore::VaultKey;
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let key = VaultKey::generate();
/// let wire = privicore::cipher::encrypt(&key, b"hello").expect("short payload");
/// let chunks = futures::stream::iter(
///     wire.chunks(7).map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c))),
/// );
/// let mut out = Vec::new();
/// let written = privicore::cipher::decrypt_to_writer(&key, chunks, &mut out).await;
/// assert_eq!(written.ok(), Some(5));
/// assert_eq!(out, b"hello");
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn decrypt_to_writer<S, B, E, W>(
    key: &VaultKey,
    stream: S,
    writer: &mut W,
) -> Result<u64, DecryptStreamError<E>>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    W: AsyncWrite + Unpin + ?Sized,
{
    chunks::write_plaintext(chunks::decrypt_chunks(key, stream), writer).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcm_counter_capacity_matches_the_limit() {
        // After the tag mask, a Ctr32BE started at J0 has exactly MAX_PLAINTEXT_LEN bytes of
        // keystream left, so `reserve` is the only limit that can ever trigger.
        let key = VaultKey::from_bytes(&[7; 32]).expect("32 bytes");
        let mut gcm = Gcm::portable(&key, &[0; IV_LEN]);
        let Engine::Portable(portable) = &gcm.engine else {
            unreachable!("asked for the portable engine")
        };
        assert_eq!(
            aes::cipher::StreamCipherCore::remaining_blocks(portable.ctr.get_core()),
            Some(usize::try_from(MAX_PLAINTEXT_LEN / 16).expect("64-bit"))
        );
        gcm.len = MAX_PLAINTEXT_LEN - 1;
        assert_eq!(gcm.reserve(1), Ok(()));
        assert_eq!(gcm.reserve(1), Err(CipherError::TooLong));
        assert_eq!(gcm.reserve(usize::MAX), Err(CipherError::TooLong));
    }

    /// Deterministic bytes for the engine comparisons (a xorshift generator).
    fn pattern(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect()
    }

    /// Lengths around every boundary the engines have: blocks (16), the wide engine's group
    /// (256), and a 64 KiB chunk.
    fn boundary_lengths() -> Vec<usize> {
        let mut lengths: Vec<usize> = (0..=530).collect();
        lengths.extend(4096 - 17..=4096 + 17);
        lengths.extend([65_535, 65_536, 65_537, 65_536 + 255, 65_536 + 257]);
        lengths
    }

    fn reference(key: &[u8; 32], iv: &[u8; IV_LEN], plaintext: &[u8]) -> Vec<u8> {
        use aes_gcm::aead::{Aead, KeyInit as _};
        let gcm = aes_gcm::Aes256Gcm::new_from_slice(key).expect("32 bytes");
        let mut wire = iv.to_vec();
        wire.extend(gcm.encrypt(iv.into(), plaintext).expect("encrypts"));
        wire
    }

    /// Encrypts with the chosen engine, feeding it the given chunk sizes in turn.
    fn encrypt_chunked(
        key: &VaultKey,
        iv: &[u8; IV_LEN],
        plaintext: &[u8],
        sizes: &[usize],
        choice: EngineChoice,
    ) -> Vec<u8> {
        let mut gcm = Gcm::with_engine(key, iv, choice);
        let mut wire = iv.to_vec();
        let mut rest = plaintext;
        for size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*size).clamp(1, rest.len()));
            let mut buf = chunk.to_vec();
            gcm.encrypt_in_place(&mut buf).expect("under the limit");
            wire.extend(buf);
            rest = tail;
        }
        wire.extend(gcm.tag());
        wire
    }

    /// Decrypts with the chosen engine, alternating in-place and out-of-place calls.
    fn decrypt_chunked(
        key: &VaultKey,
        wire: &[u8],
        sizes: &[usize],
        choice: EngineChoice,
    ) -> Result<Vec<u8>, CipherError> {
        let iv: [u8; IV_LEN] = wire[..IV_LEN].try_into().expect("an IV");
        let (ciphertext, tag) = wire[IV_LEN..].split_at(wire.len() - OVERHEAD);
        let mut gcm = Gcm::with_engine(key, &iv, choice);
        let mut plaintext = Vec::new();
        let mut rest = ciphertext;
        for (i, size) in sizes.iter().cycle().enumerate() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*size).clamp(1, rest.len()));
            let mut out = vec![0u8; chunk.len()];
            if i % 2 == 0 {
                gcm.decrypt_into(chunk, &mut out)?;
            } else {
                out.copy_from_slice(chunk);
                gcm.decrypt_in_place(&mut out)?;
            }
            plaintext.extend(out);
            rest = tail;
        }
        gcm.verify(tag)?;
        Ok(plaintext)
    }

    #[test]
    fn both_engines_agree_with_aes_gcm_at_every_boundary() {
        let key_bytes: [u8; 32] = pattern(32, 1).try_into().expect("32 bytes");
        let key = VaultKey::from_bytes(&key_bytes).expect("32 bytes");
        let iv: [u8; IV_LEN] = pattern(IV_LEN, 2).try_into().expect("12 bytes");
        // Whole, then ragged chunk patterns that cross block and group boundaries.
        let chunkings: [&[usize]; 4] = [
            &[usize::MAX],
            &[1, 15, 16, 17],
            &[255, 257, 3],
            &[4096 + 5, 31],
        ];
        for len in boundary_lengths() {
            let plaintext = pattern(len, len as u64 + 3);
            let expected = reference(&key_bytes, &iv, &plaintext);
            for choice in [EngineChoice::Fastest, EngineChoice::Portable] {
                for sizes in chunkings {
                    let wire = encrypt_chunked(&key, &iv, &plaintext, sizes, choice);
                    assert!(
                        wire == expected,
                        "{choice:?} encrypting {len} bytes in {sizes:?}"
                    );
                    let back = decrypt_chunked(&key, &expected, sizes, choice);
                    assert!(
                        back.as_deref() == Ok(&plaintext[..]),
                        "{choice:?} decrypting {len} bytes in {sizes:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn both_engines_refuse_a_flipped_bit_anywhere() {
        let key = VaultKey::from_bytes(&[9; 32]).expect("32 bytes");
        let iv = [4u8; IV_LEN];
        let plaintext = pattern(3 * 256 + 21, 5);
        let wire = encrypt_chunked(&key, &iv, &plaintext, &[usize::MAX], EngineChoice::Portable);
        for choice in [EngineChoice::Fastest, EngineChoice::Portable] {
            for at in (IV_LEN..wire.len()).step_by(7) {
                let mut bad = wire.clone();
                bad[at] ^= 0x10;
                assert_eq!(
                    decrypt_chunked(&key, &bad, &[usize::MAX], choice),
                    Err(CipherError::TagMismatch),
                    "{choice:?} accepted a flipped bit at {at}"
                );
            }
        }
    }

    #[test]
    fn the_wide_engine_runs_where_the_processor_allows() {
        // Says which engine the other tests exercised, so that a run on a machine without
        // VAES cannot pass for a test of the wide engine.
        let key = VaultKey::from_bytes(&[7; 32]).expect("32 bytes");
        let gcm = Gcm::new(&key, &[0; IV_LEN]);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            matches!(gcm.engine, Engine::Wide(_)),
            wide::supported(),
            "the wide engine must be chosen exactly when the processor supports it"
        );
        #[cfg(not(target_arch = "x86_64"))]
        assert!(matches!(gcm.engine, Engine::Portable(_)));
        let wide = !matches!(gcm.engine, Engine::Portable(_));
        assert_eq!(engine(), if wide { "vaes" } else { "portable" });
        eprintln!("cipher engine on this machine: {}", engine());
    }

    #[test]
    fn decryptor_reports_too_long_and_stays_failed() {
        let key = VaultKey::from_bytes(&[7; 32]).expect("32 bytes");
        let mut dec = Decryptor::new(&key);
        assert!(dec.update(&[0; IV_LEN + TAG_LEN]).is_ok());
        if let DecryptState::Body(gcm) = &mut dec.state {
            gcm.len = MAX_PLAINTEXT_LEN;
        }
        assert_eq!(dec.update(&[1]).map(|p| p.len()), Err(CipherError::TooLong));
        assert_eq!(dec.update(&[]).map(|p| p.len()), Err(CipherError::TooLong));
        assert_eq!(dec.finish(), Err(CipherError::TooLong));
    }

    #[test]
    fn encryptor_rejects_past_the_limit_without_touching_the_buffer() {
        let key = VaultKey::from_bytes(&[7; 32]).expect("32 bytes");
        let mut enc = Encryptor::with_iv(&key, [0; IV_LEN]);
        enc.gcm.len = MAX_PLAINTEXT_LEN - 2;
        let mut buf = [9u8; 3];
        assert_eq!(enc.encrypt_in_place(&mut buf), Err(CipherError::TooLong));
        assert_eq!(buf, [9u8; 3]);
    }
}
