//! The plaintext guard: a test registers the plaintexts it hands to a client
//! ([`MockServer::forbid_plaintext`](crate::MockServer::forbid_plaintext)), and the mock checks
//! every payload it stores (inline exchange, stream upload, update) against them. A client that
//! forgot to encrypt, or "encrypted" with a null cipher, is caught at the moment it stores.
//!
//! Such a client sends the plaintext whole, or right after a nonce or a small header, so the
//! check looks for a registered plaintext starting at any of the first [`SCAN`] offsets of the
//! stored bytes. Scanning every offset of every payload against every plaintext would make a
//! thousand-payload soak quadratic; payloads are indexed by their first [`KEY`] bytes instead.

use std::collections::HashMap;

use bytes::Bytes;

/// Offsets of a stored payload where a plaintext is looked for.
const SCAN: usize = 64;
/// Length of the index key; plaintexts at least this long are found at any scanned offset.
const KEY: usize = 16;
/// Plaintexts shorter than this are only compared whole: a few bytes may match by chance.
const SHORTEST_SCANNED: usize = 8;

/// A stored payload that contained a registered plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaintextHit {
    /// The operation that stored it (`exchange_data_for_token`, `upload_stream`,
    /// `update_data_token`).
    pub operation: &'static str,
    /// Where the plaintext starts in the stored bytes.
    pub offset: usize,
    /// The plaintext's length.
    pub len: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Plaintexts of at least `KEY` bytes, by their first `KEY` bytes.
    long: HashMap<[u8; KEY], Vec<Bytes>>,
    /// Shorter non-empty plaintexts.
    short: Vec<Bytes>,
    checked: u64,
    hits: Vec<PlaintextHit>,
}

impl Registry {
    pub fn register(&mut self, plaintext: &[u8]) {
        if plaintext.is_empty() {
            // Every payload "contains" the empty string: nothing to check.
            return;
        }
        let bytes = Bytes::copy_from_slice(plaintext);
        match <[u8; KEY]>::try_from(&plaintext[..KEY.min(plaintext.len())]) {
            Ok(key) => self.long.entry(key).or_default().push(bytes),
            Err(_) => self.short.push(bytes),
        }
    }

    /// Checks one stored payload.
    pub fn check(&mut self, operation: &'static str, stored: &[u8]) {
        if self.long.is_empty() && self.short.is_empty() {
            return;
        }
        self.checked += 1;
        let mut hit = None;
        'offsets: for offset in 0..=SCAN.min(stored.len()) {
            let rest = &stored[offset..];
            if let Some(key) = rest.get(..KEY).and_then(|k| <[u8; KEY]>::try_from(k).ok())
                && let Some(candidates) = self.long.get(&key)
                && let Some(p) = candidates.iter().find(|p| rest.starts_with(p))
            {
                hit = Some((offset, p.len()));
                break 'offsets;
            }
            for p in &self.short {
                let whole = offset == 0 && stored == p.as_ref();
                if whole || (p.len() >= SHORTEST_SCANNED && rest.starts_with(p)) {
                    hit = Some((offset, p.len()));
                    break 'offsets;
                }
            }
        }
        if let Some((offset, len)) = hit {
            self.hits.push(PlaintextHit {
                operation,
                offset,
                len,
            });
        }
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }

    pub fn hits(&self) -> Vec<PlaintextHit> {
        self.hits.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_is_found_whole_or_after_a_header() {
        let mut registry = Registry::default();
        let long = b"a plaintext that is long enough to be indexed".to_vec();
        registry.register(&long);
        registry.register(b"short pt");
        registry.register(b"abc");
        registry.check("op", &long);
        let mut framed = vec![0u8; 12];
        framed.extend_from_slice(&long);
        registry.check("op", &framed);
        registry.check("op", b"xxxxshort ptyyyy");
        registry.check("op", b"abc");
        registry.check("op", b"zabcz");
        registry.check("op", b"something else entirely, no plaintext here");
        let offsets: Vec<usize> = registry.hits().iter().map(|h| h.offset).collect();
        assert_eq!(offsets, vec![0, 12, 4, 0]);
        assert_eq!(registry.checked(), 6);
    }
}
