//! How many messages a [`VaultKey`](crate::VaultKey) has encrypted, and the warning when that
//! nears the limit of random IVs.
//!
//! Every payload gets a fresh random 96-bit IV. NIST SP 800-38D (§8.3) allows at most 2^32
//! encryptions under one key with random IVs: past that, the chance that two payloads share an
//! IV (which gives away the XOR of their plaintexts and lets anyone forge tags) exceeds 2^-32.
//! The SDK counts the messages each key encrypts and warns once the count passes
//! [`IV_WARNING_THRESHOLD`](crate::vault_key::IV_WARNING_THRESHOLD), early enough to rotate
//! the key before the limit.

use std::sync::atomic::{AtomicU64, Ordering};

/// The count of messages encrypted under one key, shared by the key and its clones.
#[derive(Debug, Default)]
pub(crate) struct KeyUsage {
    messages: AtomicU64,
}

impl KeyUsage {
    /// Messages counted so far.
    pub(crate) fn messages(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }

    /// Counts one more message and warns, exactly once per key, when this one is the first
    /// past `threshold` (also when several threads count at once: each gets its own previous
    /// value). Returns whether it warned. The warning names counts only, never the key.
    pub(crate) fn record(&self, threshold: u64) -> bool {
        let before = self.messages.fetch_add(1, Ordering::Relaxed);
        if before != threshold {
            return false;
        }
        tracing::warn!(
            messages_encrypted = before + 1,
            threshold,
            limit = crate::vault_key::RANDOM_IV_MESSAGE_LIMIT,
            "this vault key has encrypted more messages than the warning threshold; under random \
             96-bit IVs a key may encrypt at most 2^32 messages (NIST SP 800-38D): rotate to a \
             new key"
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A `MakeWriter` that keeps everything written, to read the log back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
        }
    }

    #[test]
    fn the_count_grows_per_message_and_the_warning_fires_once_past_the_threshold() {
        let log = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(log.clone())
            .with_ansi(false)
            .finish();
        let usage = KeyUsage::default();
        let warned: Vec<bool> = tracing::subscriber::with_default(subscriber, || {
            (0..6).map(|_| usage.record(3)).collect()
        });
        let text = log.text();
        println!("captured log:\n{text}");
        assert_eq!(usage.messages(), 6);
        assert_eq!(warned, [false, false, false, true, false, false]);
        assert_eq!(text.matches("WARN").count(), 1, "one warning: {text}");
        assert!(text.contains("messages_encrypted=4"), "{text}");
        assert!(text.contains("threshold=3"), "{text}");
    }

    #[test]
    fn threads_counting_at_once_see_one_warning_between_them() {
        let usage = Arc::new(KeyUsage::default());
        let warnings: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let usage = usage.clone();
                    scope.spawn(move || (0..1000).filter(|_| usage.record(1500)).count())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .sum()
        });
        assert_eq!(usage.messages(), 4000);
        assert_eq!(warnings, 1);
    }
}
