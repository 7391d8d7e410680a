//! The differential check of `tests/differential/mod.rs` (wide engine vs portable engine vs the
//! `aes-gcm` crate) over a deterministic corpus, so that the normal test suite runs what the
//! fuzz target `gcm_differential` runs, without a fuzzer.

mod differential;

/// Deterministic pseudo-random bytes (splitmix64), so that a failure reproduces.
fn corpus_input(seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let len = 49 + (next() % 200) as usize;
    (0..len).map(|_| next() as u8).collect()
}

#[test]
fn wide_portable_and_aes_gcm_agree_on_a_deterministic_corpus() {
    const CASES: u64 = 2000;
    let mut comparisons = 0;
    for seed in 0..CASES {
        comparisons += differential::check(&corpus_input(seed));
    }
    // Edge inputs: empty (every field zero), and the longest plaintext.
    comparisons += differential::check(&[]);
    let mut longest = vec![0xffu8; 60];
    longest[44..46].copy_from_slice(&(differential::MAX_LEN as u16).to_le_bytes());
    comparisons += differential::check(&longest);

    let engines = differential::engines();
    let cases = CASES as usize + 2;
    println!(
        "differential: {cases} cases, {comparisons} engine comparisons with aes-gcm (engines: {engines:?})"
    );
    assert_eq!(comparisons, cases * engines.len());
}
