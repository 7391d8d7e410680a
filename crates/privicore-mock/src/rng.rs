//! Randomness: unpredictable ids and secrets from the operating system, and a seeded generator
//! for fault decisions so that a run with the same seed and the same requests fails the same way.

/// SplitMix64: tiny, fast and good enough to decide faults and jitter. Not for secrets.
#[derive(Clone, Debug)]
pub(crate) struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        // 53 random bits make every f64 in [0, 1) with that spacing equally likely.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`; a rate of 0 (or NaN) draws nothing, so turning a fault off
    /// leaves the sequence of the other decisions untouched.
    pub fn chance(&mut self, p: f64) -> bool {
        if p.is_nan() || p <= 0.0 {
            return false;
        }
        p >= 1.0 || self.unit() < p
    }

    /// A number in `[0, bound]`.
    pub fn up_to(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        self.next_u64() % (bound.saturating_add(1))
    }
}

/// `N` bytes from the operating system. Should the OS source fail (it practically never does),
/// a generator seeded from the clock keeps the server answering rather than panicking.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if getrandom::fill(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut rng = SeededRng::new(nanos ^ (&buf as *const _ as u64));
        for chunk in buf.chunks_mut(8) {
            let bytes = rng.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
    buf
}

/// An opaque secret: 32 random bytes as 64 lowercase hex characters.
pub(crate) fn secret() -> String {
    let secret = hex::encode(random_bytes::<32>());
    crate::leak_check::remember(&secret);
    secret
}

/// A random (version 4) UUID, the format the official examples show for ids.
pub(crate) fn uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// 32 random bytes, e.g. for the engine's key pair.
pub(crate) fn key_bytes() -> [u8; 32] {
    random_bytes::<32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_rng_is_reproducible_and_in_range() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        for _ in 0..100 {
            let x = a.unit();
            assert_eq!(x.to_bits(), b.unit().to_bits());
            assert!((0.0..1.0).contains(&x));
        }
        assert!(!a.chance(0.0) && a.chance(1.0));
        assert!(a.up_to(5) <= 5);
    }

    #[test]
    fn ids_have_the_documented_shape() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        let s = secret();
        assert_eq!(s.len(), 64);
        assert_ne!(s, secret());
    }
}
