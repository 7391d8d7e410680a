//! The signed public key parser (tag, key, BLAKE2b-512, as 200 hex characters). Must never
//! panic, and anything it accepts must print back as what it read (lower-cased) and re-frame to
//! the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privicore::SignedPublicKey;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = SignedPublicKey::parse(&text) {
        assert_eq!(key.as_str(), text.to_ascii_lowercase());
        assert_eq!(SignedPublicKey::from_public_key(key.public_key()), key);
    }
});
