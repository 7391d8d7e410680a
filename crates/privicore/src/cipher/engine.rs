//! The GCM state of one payload, and the choice between the engines that compute it.

use subtle::ConstantTimeEq;

use super::portable::{Portable, new_aes};
#[cfg(target_arch = "x86_64")]
use super::wide;
use super::{CipherError, Engine, IV_LEN, MAX_PLAINTEXT_LEN, TAG_LEN};
use crate::vault_key::VaultKey;

/// The GCM state for one payload: an engine, and the count of bytes it has processed.
pub(super) struct Gcm {
    imp: Imp,
    /// Ciphertext bytes processed so far.
    pub(super) len: u64,
}

/// The implementation doing the work, as [`Engine::resolve`] chose it. They agree byte for
/// byte (see the tests).
enum Imp {
    #[cfg(target_arch = "x86_64")]
    Wide(Box<wide::Wide>),
    Portable(Box<Portable>),
}

impl Gcm {
    /// Starts a payload on `engine`.
    ///
    /// # Errors
    ///
    /// [`CipherError::EngineUnavailable`] when the processor cannot run `engine`: never a
    /// silent fallback to another engine.
    pub(super) fn new(
        key: &VaultKey,
        iv: &[u8; IV_LEN],
        engine: Engine,
    ) -> Result<Self, CipherError> {
        let imp = match engine.resolve()? {
            #[cfg(target_arch = "x86_64")]
            Engine::Wide => Imp::Wide(Box::new(
                wide::Wide::new(key.as_bytes(), iv)
                    .ok_or(CipherError::EngineUnavailable { engine })?,
            )),
            Engine::Portable => Imp::Portable(Box::new(Portable::new(new_aes(key), iv))),
            // `resolve` answers Wide only where the wide engine exists, and never Auto.
            _ => return Err(CipherError::EngineUnavailable { engine }),
        };
        Ok(Self { imp, len: 0 })
    }

    /// The engine doing the work.
    pub(super) fn engine(&self) -> Engine {
        match self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::Wide(_) => Engine::Wide,
            Imp::Portable(_) => Engine::Portable,
        }
    }

    /// Starts a payload on `engine` as if `counter - 2` blocks had been processed already:
    /// the next data block uses counter block `counter` (the first one of a payload is 2),
    /// and the byte count is set to match unless `count_bytes` is false (so that a test can go
    /// past the limit and watch the counter wrap). Only for the counter-limit tests.
    #[cfg(test)]
    pub(super) fn at_counter(
        key: &VaultKey,
        iv: &[u8; IV_LEN],
        engine: Engine,
        counter: u32,
        count_bytes: bool,
    ) -> Result<Self, CipherError> {
        let mut gcm = Self::new(key, iv, engine)?;
        match &mut gcm.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::Wide(wide) => wide.set_counter(counter),
            Imp::Portable(portable) => portable.seek_to_counter(counter),
        }
        if count_bytes {
            gcm.len = u64::from(counter.saturating_sub(2)) * 16;
        }
        Ok(gcm)
    }

    /// Checks that `more` bytes still fit under [`MAX_PLAINTEXT_LEN`] and counts them.
    fn reserve(&mut self, more: usize) -> Result<(), CipherError> {
        count(&mut self.len, more)
    }

    pub(super) fn encrypt_in_place(&mut self, buf: &mut [u8]) -> Result<(), CipherError> {
        self.reserve(buf.len())?;
        match &mut self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::Wide(wide) => wide.crypt_in_place(wide::Direction::Encrypt, buf),
            Imp::Portable(portable) => {
                portable.keystream(buf)?;
                portable.hash(buf);
            }
        }
        Ok(())
    }

    pub(super) fn decrypt_in_place(&mut self, buf: &mut [u8]) -> Result<(), CipherError> {
        self.reserve(buf.len())?;
        match &mut self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::Wide(wide) => wide.crypt_in_place(wide::Direction::Decrypt, buf),
            Imp::Portable(portable) => {
                portable.hash(buf);
                portable.keystream(buf)?;
            }
        }
        Ok(())
    }

    /// Decrypts `ciphertext` into `out`, which has the same length: no copy first.
    pub(super) fn decrypt_into(
        &mut self,
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<(), CipherError> {
        debug_assert_eq!(ciphertext.len(), out.len());
        match &mut self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::Wide(wide) => {
                count(&mut self.len, ciphertext.len())?;
                wide.crypt_apart(wide::Direction::Decrypt, ciphertext, out);
                Ok(())
            }
            Imp::Portable(_) => {
                out.copy_from_slice(ciphertext);
                self.decrypt_in_place(out)
            }
        }
    }

    /// The tag over the ciphertext seen so far: GHASH(C || lengths) xor AES_K(J0).
    pub(super) fn tag(&self) -> [u8; TAG_LEN] {
        match &self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::Wide(wide) => wide.tag(self.len),
            Imp::Portable(portable) => portable.tag(self.len),
        }
    }

    pub(super) fn verify(&self, tag: &[u8]) -> Result<(), CipherError> {
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

#[cfg(test)]
mod counter_limits;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cipher::OVERHEAD;

    #[test]
    fn gcm_counter_capacity_matches_the_limit() {
        // After the tag mask, a Ctr32BE started at J0 has exactly MAX_PLAINTEXT_LEN bytes of
        // keystream left, so `reserve` is the only limit that can ever trigger.
        let key = VaultKey::from_bytes(&[7; 32]).expect("32 bytes");
        let mut gcm = Gcm::new(&key, &[0; IV_LEN], Engine::Portable).expect("runs anywhere");
        let Imp::Portable(portable) = &gcm.imp else {
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

    /// The engines this processor runs: the portable one always, the wide one where it can.
    fn engines() -> Vec<Engine> {
        [Engine::Portable, Engine::Wide]
            .into_iter()
            .filter(|engine| engine.is_available())
            .collect()
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
        engine: Engine,
    ) -> Vec<u8> {
        let mut gcm = Gcm::new(key, iv, engine).expect("available");
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
        engine: Engine,
    ) -> Result<Vec<u8>, CipherError> {
        let iv: [u8; IV_LEN] = wire[..IV_LEN].try_into().expect("an IV");
        let (ciphertext, tag) = wire[IV_LEN..].split_at(wire.len() - OVERHEAD);
        let mut gcm = Gcm::new(key, &iv, engine).expect("available");
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
            for engine in engines() {
                for sizes in chunkings {
                    let wire = encrypt_chunked(&key, &iv, &plaintext, sizes, engine);
                    assert!(
                        wire == expected,
                        "{engine} encrypting {len} bytes in {sizes:?}"
                    );
                    let back = decrypt_chunked(&key, &expected, sizes, engine);
                    assert!(
                        back.as_deref() == Ok(&plaintext[..]),
                        "{engine} decrypting {len} bytes in {sizes:?}"
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
        let wire = encrypt_chunked(&key, &iv, &plaintext, &[usize::MAX], Engine::Portable);
        for engine in engines() {
            for at in (IV_LEN..wire.len()).step_by(7) {
                let mut bad = wire.clone();
                bad[at] ^= 0x10;
                assert_eq!(
                    decrypt_chunked(&key, &bad, &[usize::MAX], engine),
                    Err(CipherError::TagMismatch),
                    "{engine} accepted a flipped bit at {at}"
                );
            }
        }
    }

    #[test]
    fn each_engine_runs_exactly_when_asked_for() {
        // Says which engines the other tests exercised, so that a run on a machine without
        // VAES cannot pass for a test of the wide engine.
        let key = VaultKey::from_bytes(&[7; 32]).expect("32 bytes");
        let auto = Gcm::new(&key, &[0; IV_LEN], Engine::Auto).expect("auto always runs");
        assert_eq!(Some(auto.engine()), Engine::Auto.resolve().ok());
        for engine in [Engine::Portable, Engine::Wide] {
            match Gcm::new(&key, &[0; IV_LEN], engine) {
                Ok(gcm) => assert_eq!(gcm.engine(), engine),
                Err(err) => {
                    assert!(!engine.is_available(), "{engine} is available but failed");
                    assert_eq!(err, CipherError::EngineUnavailable { engine });
                }
            }
        }
        eprintln!("engines compared in these tests: {:?}", engines());
    }
}
