//! Prints the AES-256-GCM engines this processor runs, one name a line (`portable` always,
//! then `wide` where the processor has VAES and VPCLMULQDQ). `.ci/run` reads it to run the
//! cipher, vault and property tests once per engine with `PRIVICORE_GCM_ENGINE` set.

use privicore::cipher::Engine;

fn main() {
    for engine in [Engine::Portable, Engine::Wide] {
        if engine.is_available() {
            println!("{engine}");
        }
    }
}
