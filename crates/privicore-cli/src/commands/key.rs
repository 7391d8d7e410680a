//! `privicore key generate`: the one command whose job is to print a secret.

use privicore::VaultKey;
use secrecy::ExposeSecret;

use crate::error::Result;
use crate::output;

/// Prints a fresh vault key: 64 hex digits from the operating system's random number
/// generator, ready for `PRIVICORE_VAULT_KEY`.
pub fn generate() -> Result<()> {
    let key = VaultKey::generate();
    output::line(key.to_hex().expose_secret())?;
    output::note(
        "keep this key secret and safe: whatever is stored with it can be read back only with it",
    );
    Ok(())
}
