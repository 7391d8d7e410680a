//! `privicore key generate`: the one command whose job is to print a secret.

use privicore::VaultKey;
use secrecy::ExposeSecret;

use crate::cli::GenerateArgs;
use crate::error::Result;
use crate::output;
use crate::output::json::GeneratedKey;

/// Prints a fresh vault key: 64 hex digits from the operating system's random number
/// generator, ready for `PRIVICORE_VAULT_KEY` (or a `vault_key_command`).
pub fn generate(args: &GenerateArgs) -> Result<()> {
    let key = VaultKey::generate();
    let hex = key.to_hex();
    if args.json {
        output::json(&GeneratedKey {
            vault_key: hex.expose_secret(),
        })?;
    } else {
        output::line(hex.expose_secret())?;
    }
    output::note(
        "keep this key secret and safe: whatever is stored with it can be read back only with it",
    );
    Ok(())
}
