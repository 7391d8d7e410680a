//! AES-256-GCM for x86-64 processors with VAES and VPCLMULQDQ: two blocks per 256-bit
//! register, sixteen blocks per loop, the keystream and the GHASH of each group computed in
//! the same pass while the group is in the L1 cache.
//!
//! Why it exists: RustCrypto's `aes` and `polyval` (behind `ghash`) work on 128-bit registers
//! and in two passes, CTR then GHASH, which held the SDK's streaming encryption to about
//! 1.6 GB/s on the benchmark machine, less than its loopback network path moves (issue 7,
//! `docs/bench/README.md`). This engine is chosen at run time, only when the processor has
//! every feature it uses ([`Wide::new`] returns `None` otherwise); the portable RustCrypto
//! engine stays the fallback.
//!
//! GHASH is computed as POLYVAL over byte-reversed blocks (RFC 8452, appendix A). A group of
//! sixteen blocks is multiplied by the powers H^16 .. H^1 with Karatsuba (three carry-less
//! multiplications per block) and reduced once, by Montgomery reduction; single blocks use
//! the R/F multiplication of `polyval` 0.7 (<https://eprint.iacr.org/2025/2171.pdf>), which
//! also makes the powers. Karatsuba measured about 10 % faster than R/F for groups here. The
//! tests in `cipher.rs` hold every path against the portable engine and the `aes-gcm` crate,
//! at lengths and chunkings around the block and group boundaries.
//!
//! Memory is only touched through slices; the `unsafe` blocks are the unaligned loads and
//! stores of the intrinsics, each on a fixed-size array of exactly the bytes it moves (taken
//! from the data with a bounds-checked `first_chunk`, never padded), and the calls into
//! `#[target_feature]` functions, which [`Wide`]'s invariant makes sound. This is the crate's
//! only `unsafe` code: the crate root denies it everywhere else.

use core::arch::x86_64::{
    __m128i, __m256i, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_aeskeygenassist_si128,
    _mm_clmulepi64_si128, _mm_loadu_si128, _mm_set_epi64x, _mm_setzero_si128, _mm_shuffle_epi32,
    _mm_slli_si128, _mm_srli_si128, _mm_storeu_si128, _mm_xor_si128, _mm256_add_epi32,
    _mm256_aesenc_epi128, _mm256_aesenclast_epi128, _mm256_broadcastsi128_si256,
    _mm256_castsi256_si128, _mm256_clmulepi64_epi128, _mm256_extracti128_si256, _mm256_loadu_si256,
    _mm256_set_epi8, _mm256_set_epi32, _mm256_setzero_si256, _mm256_shuffle_epi8,
    _mm256_shuffle_epi32, _mm256_storeu_si256, _mm256_xor_si256, _mm256_zextsi128_si256,
};

use zeroize::Zeroize;

const BLOCK: usize = 16;
/// Blocks per loop iteration: eight 256-bit registers of two blocks.
const GROUP_BLOCKS: usize = 16;
const PAIRS: usize = GROUP_BLOCKS / 2;
const GROUP: usize = GROUP_BLOCKS * BLOCK;
const ROUNDS: usize = 14;

type RoundKeys = [__m128i; ROUNDS + 1];

/// x^63 + x^62 + x^57, the low half of POLYVAL's reduction polynomial.
const P1: u64 = 0xC200_0000_0000_0000;

/// Whether this processor can run the engine (`std` caches the detection).
pub(super) fn supported() -> bool {
    std::arch::is_x86_feature_detected!("aes")
        && std::arch::is_x86_feature_detected!("pclmulqdq")
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("vaes")
        && std::arch::is_x86_feature_detected!("vpclmulqdq")
}

/// Which way the data goes. GHASH always covers the ciphertext: the output when encrypting,
/// the input when decrypting.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Encrypt,
    Decrypt,
}

/// Where the input comes from and the output goes: one buffer, or two of the same length.
///
/// Every access is a fixed-size array of exactly the bytes the intrinsic reads or writes: a
/// range past the end is a panic (a bug in this file's length arithmetic), never a short or
/// zero-padded load.
trait Buffers {
    fn len(&self) -> usize;
    fn input<const N: usize>(&self, at: usize) -> &[u8; N];
    fn output<const N: usize>(&mut self, at: usize) -> &mut [u8; N];
}

/// The `N` bytes of `bytes` from `at`.
fn array<const N: usize>(bytes: &[u8], at: usize) -> &[u8; N] {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk)
        .expect("the engine reads only within its input")
}

/// The `N` bytes of `bytes` from `at`, to write.
fn array_mut<const N: usize>(bytes: &mut [u8], at: usize) -> &mut [u8; N] {
    bytes
        .get_mut(at..)
        .and_then(<[u8]>::first_chunk_mut)
        .expect("the engine writes only within its output")
}

struct InPlace<'a>(&'a mut [u8]);

impl Buffers for InPlace<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn input<const N: usize>(&self, at: usize) -> &[u8; N] {
        array(self.0, at)
    }
    fn output<const N: usize>(&mut self, at: usize) -> &mut [u8; N] {
        array_mut(self.0, at)
    }
}

struct Apart<'a> {
    src: &'a [u8],
    dst: &'a mut [u8],
}

impl Buffers for Apart<'_> {
    fn len(&self) -> usize {
        self.src.len().min(self.dst.len())
    }
    fn input<const N: usize>(&self, at: usize) -> &[u8; N] {
        array(self.src, at)
    }
    fn output<const N: usize>(&mut self, at: usize) -> &mut [u8; N] {
        array_mut(self.dst, at)
    }
}

/// The state of one payload. Everything but the IV and the counter is secret, and is zeroized
/// on drop.
///
/// Invariant: a `Wide` exists only if [`supported`] returned `true`. That is what makes the
/// calls from its safe methods into the `#[target_feature]` functions sound.
pub(super) struct Wide {
    /// AES-256 round keys.
    round_keys: [[u8; BLOCK]; ROUNDS + 1],
    /// H^1 .. H^16 in POLYVAL form (index 0 is H^1).
    h_pow: [[u8; BLOCK]; GROUP_BLOCKS],
    /// The R/F companion of H^1, for single blocks.
    d1: [u8; BLOCK],
    /// AES_K(J0), XORed into the hash to make the tag.
    tag_mask: [u8; BLOCK],
    iv: [u8; 12],
    /// The counter of the next keystream block (2, J0 + 1, for the first data block).
    counter: u32,
    /// The POLYVAL accumulator.
    acc: [u8; BLOCK],
    /// Bytes processed modulo 16: how far into `keystream` and `partial` the data is.
    offset: usize,
    /// Keystream of the block in progress (meaningful when `offset > 0`).
    keystream: [u8; BLOCK],
    /// Ciphertext of the block in progress, not yet hashed; zero past `offset`.
    partial: [u8; BLOCK],
}

impl Wide {
    /// Sets up one payload, or returns `None` when the processor lacks a feature.
    pub(super) fn new(key: &[u8; 32], iv: &[u8; 12]) -> Option<Self> {
        if !supported() {
            return None;
        }
        let mut wide = Self {
            round_keys: [[0; BLOCK]; ROUNDS + 1],
            h_pow: [[0; BLOCK]; GROUP_BLOCKS],
            d1: [0; BLOCK],
            tag_mask: [0; BLOCK],
            iv: *iv,
            counter: 2,
            acc: [0; BLOCK],
            offset: 0,
            keystream: [0; BLOCK],
            partial: [0; BLOCK],
        };
        // SAFETY: `supported()` returned true just above.
        unsafe { wide.init(key) };
        Some(wide)
    }

    /// Encrypts or decrypts `buf` in place, and hashes the ciphertext.
    pub(super) fn crypt_in_place(&mut self, direction: Direction, buf: &mut [u8]) {
        // SAFETY: see the type's invariant.
        unsafe { self.crypt(direction, &mut InPlace(buf)) }
    }

    /// Encrypts or decrypts `src` into `dst`, and hashes the ciphertext. Only the first
    /// `min(src.len(), dst.len())` bytes are processed; callers pass equal lengths.
    pub(super) fn crypt_apart(&mut self, direction: Direction, src: &[u8], dst: &mut [u8]) {
        // SAFETY: see the type's invariant.
        unsafe { self.crypt(direction, &mut Apart { src, dst }) }
    }

    /// Moves the keystream to counter block `counter`, for the tests that start a payload
    /// near the end of the 32-bit counter.
    #[cfg(test)]
    pub(super) fn set_counter(&mut self, counter: u32) {
        self.counter = counter;
    }

    /// The tag after `len` bytes of ciphertext: GHASH(C || lengths) xor AES_K(J0).
    pub(super) fn tag(&self, len: u64) -> [u8; BLOCK] {
        let mut acc = self.acc;
        // SAFETY: see the type's invariant.
        unsafe {
            if self.offset > 0 {
                // `partial` is zero past `offset`: it is the padded last block already.
                self.hash_block(&mut acc, &self.partial);
            }
            // len(A) = 0 || len(C), in bits, big-endian.
            let mut lengths = [0u8; BLOCK];
            lengths[8..].copy_from_slice(&len.wrapping_mul(8).to_be_bytes());
            self.hash_block(&mut acc, &lengths);
        }
        acc.reverse();
        for (byte, mask) in acc.iter_mut().zip(self.tag_mask) {
            *byte ^= mask;
        }
        acc
    }

    #[target_feature(enable = "aes,pclmulqdq,avx2")]
    fn init(&mut self, key: &[u8; 32]) {
        let rk = expand_key(key);
        for (slot, reg) in self.round_keys.iter_mut().zip(rk) {
            store128(slot, reg);
        }

        // H = AES_K(0), turned into POLYVAL's H: mulX(reverse(H)).
        let mut h = [0u8; BLOCK];
        store128(&mut h, encrypt_block(&rk, _mm_setzero_si128()));
        h.reverse();
        let mut h_polyval = mulx(u128::from_le_bytes(h)).to_le_bytes();
        h.zeroize();

        let h1 = load128(&h_polyval);
        h_polyval.zeroize();
        let d1 = compute_d(h1);
        store128(&mut self.d1, d1);
        let mut hk = h1;
        for k in 0..GROUP_BLOCKS {
            if k > 0 {
                hk = mul(hk, h1, d1);
            }
            store128(&mut self.h_pow[k], hk);
        }

        // J0 = IV || 1 masks the tag.
        let j0 = self.counter_block(1);
        store128(&mut self.tag_mask, encrypt_block(&rk, j0));
    }

    /// The counter block IV || counter, the counter big-endian.
    #[target_feature(enable = "sse2")]
    fn counter_block(&self, counter: u32) -> __m128i {
        let mut block = [0u8; BLOCK];
        block[..12].copy_from_slice(&self.iv);
        block[12..].copy_from_slice(&counter.to_be_bytes());
        load128(&block)
    }

    #[target_feature(enable = "sse2")]
    fn load_round_keys(&self) -> RoundKeys {
        let mut rk = [_mm_setzero_si128(); ROUNDS + 1];
        for (reg, bytes) in rk.iter_mut().zip(&self.round_keys) {
            *reg = load128(bytes);
        }
        rk
    }

    /// The keystream of the next block.
    #[target_feature(enable = "aes,sse2")]
    fn next_keystream(&mut self, rk: &RoundKeys) -> __m128i {
        let block = self.counter_block(self.counter);
        self.counter = self.counter.wrapping_add(1);
        encrypt_block(rk, block)
    }

    /// Hashes one block of ciphertext (in GHASH byte order) into `acc`.
    #[target_feature(enable = "pclmulqdq,sse2,ssse3")]
    fn hash_block(&self, acc: &mut [u8; BLOCK], ciphertext: &[u8; BLOCK]) {
        let mut reversed = *ciphertext;
        reversed.reverse();
        let x = _mm_xor_si128(load128(acc), load128(&reversed));
        let product = mul(x, load128(&self.h_pow[0]), load128(&self.d1));
        store128(acc, product);
    }

    /// Byte by byte through the block in progress, until it is complete or the data ends.
    /// Returns how many bytes it took.
    #[target_feature(enable = "pclmulqdq,sse2,ssse3")]
    fn crypt_partial(&mut self, direction: Direction, io: &mut impl Buffers, at: usize) -> usize {
        let take = (BLOCK - self.offset).min(io.len() - at);
        for i in 0..take {
            let [input] = *io.input::<1>(at + i);
            let output = input ^ self.keystream[self.offset];
            *io.output::<1>(at + i) = [output];
            self.partial[self.offset] = match direction {
                Direction::Encrypt => output,
                Direction::Decrypt => input,
            };
            self.offset += 1;
        }
        if self.offset == BLOCK {
            let mut acc = self.acc;
            self.hash_block(&mut acc, &self.partial);
            self.acc = acc;
            self.partial = [0; BLOCK];
            self.offset = 0;
        }
        take
    }

    #[target_feature(enable = "aes,pclmulqdq,avx2,vaes,vpclmulqdq")]
    fn crypt(&mut self, direction: Direction, io: &mut impl Buffers) {
        let len = io.len();
        let mut done = 0;
        if self.offset > 0 {
            done = self.crypt_partial(direction, io, 0);
        }
        if done == len {
            return;
        }
        let rk = self.load_round_keys();

        done += self.crypt_groups(direction, &rk, io, done);

        // Whole blocks that are left.
        while len - done >= BLOCK {
            let keystream = self.next_keystream(&rk);
            let input = load128(io.input(done));
            let output = _mm_xor_si128(input, keystream);
            store128(io.output(done), output);
            let mut ciphertext = [0u8; BLOCK];
            store128(
                &mut ciphertext,
                match direction {
                    Direction::Encrypt => output,
                    Direction::Decrypt => input,
                },
            );
            let mut acc = self.acc;
            self.hash_block(&mut acc, &ciphertext);
            self.acc = acc;
            done += BLOCK;
        }

        // The start of a last, partial block.
        if done < len {
            let keystream = self.next_keystream(&rk);
            store128(&mut self.keystream, keystream);
            done += self.crypt_partial(direction, io, done);
        }
        debug_assert_eq!(done, len);
    }

    /// Processes as many whole groups of sixteen blocks as there are from `at` on; returns
    /// the number of bytes done.
    #[target_feature(enable = "aes,pclmulqdq,avx2,vaes,vpclmulqdq")]
    fn crypt_groups(
        &mut self,
        direction: Direction,
        rk: &RoundKeys,
        io: &mut impl Buffers,
        at: usize,
    ) -> usize {
        let groups = (io.len() - at) / GROUP;
        if groups == 0 {
            return 0;
        }
        let rk: [__m256i; ROUNDS + 1] =
            core::array::from_fn(|i| _mm256_broadcastsi128_si256(rk[i]));
        // Reverses the bytes of each 128-bit lane: GHASH order to POLYVAL order.
        let reverse = _mm256_set_epi8(
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, //
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        );
        // Keeps the IV bytes, and turns the counter word from little- to big-endian.
        let counter_order = _mm256_set_epi8(
            12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, //
            12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
        );
        let two = _mm256_set_epi32(2, 0, 0, 0, 2, 0, 0, 0);
        let word = |i: usize| {
            i32::from_le_bytes([self.iv[i], self.iv[i + 1], self.iv[i + 2], self.iv[i + 3]])
        };
        let (a, b, c) = (word(0), word(4), word(8));
        let first = self.counter;
        // Two counter blocks, the counter as a little-endian word (it wraps in 32 bits).
        let mut counters = _mm256_set_epi32(
            first.wrapping_add(1).cast_signed(),
            c,
            b,
            a,
            first.cast_signed(),
            c,
            b,
            a,
        );

        // Register k multiplies blocks 2k and 2k+1 of a group by H^(16-2k) and H^(15-2k);
        // `h_mid` holds H1 xor H0 of each, for Karatsuba's middle product.
        let mut h = [_mm256_setzero_si256(); PAIRS];
        let mut h_mid = [_mm256_setzero_si256(); PAIRS];
        for k in 0..PAIRS {
            let lo = GROUP_BLOCKS - 1 - 2 * k;
            h[k] = pair(&self.h_pow[lo], &self.h_pow[lo - 1]);
            h_mid[k] = _mm256_xor_si256(h[k], _mm256_shuffle_epi32::<0x4e>(h[k]));
        }
        let mut acc = _mm256_zextsi128_si256(load128(&self.acc));

        for g in 0..groups {
            let base = at + g * GROUP;
            let mut ks = [_mm256_setzero_si256(); PAIRS];
            for reg in &mut ks {
                *reg = _mm256_xor_si256(_mm256_shuffle_epi8(counters, counter_order), rk[0]);
                counters = _mm256_add_epi32(counters, two);
            }
            for round_key in &rk[1..ROUNDS] {
                for reg in &mut ks {
                    *reg = _mm256_aesenc_epi128(*reg, *round_key);
                }
            }

            // Karatsuba, unreduced: sum of M0 H0, of M1 H1, and of (M0 + M1)(H0 + H1).
            let mut lo = _mm256_setzero_si256();
            let mut hi = _mm256_setzero_si256();
            let mut mid = _mm256_setzero_si256();
            for k in 0..PAIRS {
                let offset = base + 2 * BLOCK * k;
                let input = load256(io.input(offset));
                let output = _mm256_xor_si256(input, _mm256_aesenclast_epi128(ks[k], rk[ROUNDS]));
                store256(io.output(offset), output);
                let ciphertext = match direction {
                    Direction::Encrypt => output,
                    Direction::Decrypt => input,
                };
                let mut m = _mm256_shuffle_epi8(ciphertext, reverse);
                if k == 0 {
                    m = _mm256_xor_si256(m, acc);
                }
                lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128::<0x00>(m, h[k]));
                hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128::<0x11>(m, h[k]));
                let m_mid = _mm256_xor_si256(m, _mm256_shuffle_epi32::<0x4e>(m));
                mid = _mm256_xor_si256(mid, _mm256_clmulepi64_epi128::<0x00>(m_mid, h_mid[k]));
            }
            let fold = |x: __m256i| {
                _mm_xor_si128(_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x))
            };
            let (lo, hi, mid) = (fold(lo), fold(hi), fold(mid));
            let mid = _mm_xor_si128(mid, _mm_xor_si128(lo, hi));
            // The 256-bit product [X3 X2 X1 X0] = hi x^128 + mid x^64 + lo.
            let x01 = _mm_xor_si128(lo, _mm_slli_si128::<8>(mid));
            let x23 = _mm_xor_si128(hi, _mm_srli_si128::<8>(mid));
            acc = _mm256_zextsi128_si256(montgomery_reduce(x23, x01));
        }

        store128(&mut self.acc, _mm256_castsi256_si128(acc));
        // Sixteen counter values per group; a u32 holds the count, since a payload is at most
        // 2^32 - 2 blocks (MAX_PLAINTEXT_LEN).
        let used = u32::try_from(groups * GROUP_BLOCKS).unwrap_or(u32::MAX);
        self.counter = first.wrapping_add(used);
        groups * GROUP
    }
}

impl Drop for Wide {
    fn drop(&mut self) {
        self.round_keys.zeroize();
        self.h_pow.zeroize();
        self.d1.zeroize();
        self.tag_mask.zeroize();
        self.acc.zeroize();
        self.keystream.zeroize();
        self.partial.zeroize();
    }
}

/// Loads 16 bytes.
#[target_feature(enable = "sse2")]
fn load128(block: &[u8; BLOCK]) -> __m128i {
    // SAFETY: `block` is 16 readable bytes; the load has no alignment requirement.
    unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
}

/// Stores 16 bytes.
#[target_feature(enable = "sse2")]
fn store128(block: &mut [u8; BLOCK], value: __m128i) {
    // SAFETY: `block` is 16 writable bytes; the store has no alignment requirement.
    unsafe { _mm_storeu_si128(block.as_mut_ptr().cast(), value) }
}

/// Loads 32 bytes.
#[target_feature(enable = "avx")]
fn load256(pair: &[u8; 2 * BLOCK]) -> __m256i {
    // SAFETY: `pair` is 32 readable bytes; the load has no alignment requirement.
    unsafe { _mm256_loadu_si256(pair.as_ptr().cast()) }
}

/// Stores 32 bytes.
#[target_feature(enable = "avx")]
fn store256(pair: &mut [u8; 2 * BLOCK], value: __m256i) {
    // SAFETY: `pair` is 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_si256(pair.as_mut_ptr().cast(), value) }
}

/// A register holding `lo` in its low lane and `hi` in its high lane.
#[target_feature(enable = "avx")]
fn pair(lo: &[u8; BLOCK], hi: &[u8; BLOCK]) -> __m256i {
    let mut both = [0u8; 2 * BLOCK];
    both[..BLOCK].copy_from_slice(lo);
    both[BLOCK..].copy_from_slice(hi);
    let reg = load256(&both);
    both.zeroize();
    reg
}

/// AES-256 key expansion with AES-NI (FIPS 197, section 5.2).
#[target_feature(enable = "aes,sse2")]
fn expand_key(key: &[u8; 32]) -> RoundKeys {
    #[target_feature(enable = "sse2")]
    fn mix(key: __m128i, word: __m128i) -> __m128i {
        let key = _mm_xor_si128(key, _mm_slli_si128::<4>(key));
        let key = _mm_xor_si128(key, _mm_slli_si128::<4>(key));
        let key = _mm_xor_si128(key, _mm_slli_si128::<4>(key));
        _mm_xor_si128(key, word)
    }
    let mut rk = [_mm_setzero_si128(); ROUNDS + 1];
    let (first, second) = key.split_at(BLOCK);
    let mut even = load128(array(first, 0));
    let mut odd = load128(array(second, 0));
    rk[0] = even;
    rk[1] = odd;
    // Each round makes the next two round keys; the seventh makes only the last one.
    macro_rules! round {
        ($at:literal, $rcon:literal) => {
            even = mix(
                even,
                _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<$rcon>(odd)),
            );
            rk[$at] = even;
            odd = mix(
                odd,
                _mm_shuffle_epi32::<0xaa>(_mm_aeskeygenassist_si128::<0>(even)),
            );
            rk[$at + 1] = odd;
        };
    }
    round!(2, 0x01);
    round!(4, 0x02);
    round!(6, 0x04);
    round!(8, 0x08);
    round!(10, 0x10);
    round!(12, 0x20);
    rk[ROUNDS] = mix(
        even,
        _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<0x40>(odd)),
    );
    rk
}

#[target_feature(enable = "aes,sse2")]
fn encrypt_block(rk: &RoundKeys, block: __m128i) -> __m128i {
    let mut x = _mm_xor_si128(block, rk[0]);
    for round_key in &rk[1..ROUNDS] {
        x = _mm_aesenc_si128(x, *round_key);
    }
    _mm_aesenclast_si128(x, rk[ROUNDS])
}

/// mulX_POLYVAL (RFC 8452, appendix A) on a little-endian field element.
fn mulx(v: u128) -> u128 {
    let carry = v >> 127;
    (v << 1) ^ carry ^ (carry << 127) ^ (carry << 126) ^ (carry << 121)
}

/// D = swap(H) xor H0 * P1, the companion of H in the R/F multiplication.
#[target_feature(enable = "pclmulqdq,sse2")]
fn compute_d(h: __m128i) -> __m128i {
    let p = _mm_set_epi64x(P1.cast_signed(), 0);
    _mm_xor_si128(
        _mm_shuffle_epi32::<0x4e>(h),
        _mm_clmulepi64_si128::<0x10>(h, p),
    )
}

/// The R/F reduction: R xor F1 xor x^64 F0 xor P1 F0.
#[target_feature(enable = "pclmulqdq,sse2")]
fn reduce(r: __m128i, f: __m128i) -> __m128i {
    let p1 = _mm_set_epi64x(0, P1.cast_signed());
    let result = _mm_xor_si128(r, _mm_srli_si128::<8>(f));
    let result = _mm_xor_si128(result, _mm_slli_si128::<8>(f));
    _mm_xor_si128(result, _mm_clmulepi64_si128::<0x00>(f, p1))
}

/// X x^-128 mod P for a 256-bit carry-less product X = [X3 X2 X1 X0] (64-bit words), given
/// as its halves `x23` and `x01`: Montgomery reduction, clearing the low 64 bits twice.
///
/// Adding X0 P clears X0 (P = x^128 + x^127 + x^126 + x^121 + 1), which adds X0 c (c = P1 =
/// x^63 + x^62 + x^57) at x^64 and X0 at x^128; dividing by x^64 and doing the same for the
/// new low word gives `x23 + B + C` with A = X0 c, B = [X1 + A0, X0 + A1], C = (X1 + A0) c.
#[target_feature(enable = "pclmulqdq,sse2")]
fn montgomery_reduce(x23: __m128i, x01: __m128i) -> __m128i {
    let poly = _mm_set_epi64x(0, P1.cast_signed());
    let a = _mm_clmulepi64_si128::<0x00>(x01, poly);
    let b = _mm_xor_si128(x01, _mm_shuffle_epi32::<0x4e>(a));
    let c = _mm_clmulepi64_si128::<0x01>(b, poly);
    _mm_xor_si128(x23, _mm_xor_si128(b, c))
}

/// The POLYVAL product of `m` and the key `h` (with its companion `d`).
#[target_feature(enable = "pclmulqdq,sse2")]
fn mul(m: __m128i, h: __m128i, d: __m128i) -> __m128i {
    let r = _mm_xor_si128(
        _mm_clmulepi64_si128::<0x10>(m, d),
        _mm_clmulepi64_si128::<0x11>(m, h),
    );
    let f = _mm_xor_si128(
        _mm_clmulepi64_si128::<0x00>(m, d),
        _mm_clmulepi64_si128::<0x01>(m, h),
    );
    reduce(r, f)
}
