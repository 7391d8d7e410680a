//! The portable engine: RustCrypto's `aes`, `ctr` and `ghash` (which use AES-NI and
//! PCLMULQDQ where the processor has them).

use aes::Aes256;
use aes::cipher::{
    BlockCipherEncrypt, InnerIvInit, KeyInit, StreamCipher, StreamCipherCore, array::Array,
};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use zeroize::Zeroize;

use super::{CipherError, IV_LEN, TAG_LEN};
use crate::vault_key::VaultKey;

const BLOCK_LEN: usize = 16;

type Block = Array<u8, aes::cipher::consts::U16>;
type CtrCore = ctr::CtrCore<Aes256, ctr::flavors::Ctr32BE>;
type Ctr = ctr::Ctr32BE<Aes256>;

/// The portable engine: the CTR keystream and the running GHASH of the ciphertext.
pub(super) struct Portable {
    /// AES-CTR with a 32-bit big-endian counter, positioned at J0 + 1 (J0 = IV || 0^31 || 1).
    pub(super) ctr: Ctr,
    ghash: GHash,
    /// AES_K(J0), XORed into the GHASH output to make the tag.
    tag_mask: [u8; BLOCK_LEN],
    /// Ciphertext bytes not yet hashed because they do not fill a 16-byte block.
    pending: [u8; BLOCK_LEN],
    pending_len: usize,
}

impl Portable {
    pub(super) fn new(aes: Aes256, iv: &[u8; IV_LEN]) -> Self {
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

    /// Moves the keystream to counter block `counter` (at least 1: J0 itself).
    #[cfg(test)]
    pub(super) fn seek_to_counter(&mut self, counter: u32) {
        use aes::cipher::StreamCipherSeek;
        // The CTR state started at J0 (counter 1), so block position n is counter n + 1.
        self.ctr.seek(u64::from(counter.saturating_sub(1)) * 16);
    }

    pub(super) fn keystream(&mut self, buf: &mut [u8]) -> Result<(), CipherError> {
        // Cannot fail after `Gcm::reserve`: MAX_PLAINTEXT_LEN is exactly the counter's
        // capacity.
        self.ctr
            .try_apply_keystream(buf)
            .map_err(|_| CipherError::TooLong)
    }

    /// Feeds ciphertext into GHASH, whole blocks in bulk and the ragged end into `pending`.
    pub(super) fn hash(&mut self, mut data: &[u8]) {
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

    pub(super) fn tag(&self, len: u64) -> [u8; TAG_LEN] {
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

pub(super) fn new_aes(key: &VaultKey) -> Aes256 {
    Aes256::new(&Array::from(*key.as_bytes()))
}
