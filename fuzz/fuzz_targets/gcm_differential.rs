//! Differential fuzzing of the AES-256-GCM engines: the wide engine (where the processor runs
//! it), the portable engine and the `aes-gcm` crate must agree byte for byte on the key, IV,
//! plaintext length, chunking and in-place choice the fuzzer picks, and must all refuse the
//! payload with one bit flipped. The check itself is shared with the normal test suite
//! (`crates/privicore/tests/gcm_differential.rs` runs it over a deterministic corpus).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/privicore/tests/differential/mod.rs"]
mod differential;

fuzz_target!(|data: &[u8]| {
    differential::check(data);
});
