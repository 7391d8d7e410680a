//! `privicore profile provision`.

use std::io::Write;
use std::path::Path;

use privicore::KeyPair;
use secrecy::ExposeSecret;

use crate::cli::ProvisionArgs;
use crate::error::{CliError, Context, Result};
use crate::output::json::Provisioned;
use crate::{output, settings};

/// Registers the profile named by the credentials, logs in, and registers a fresh public key
/// (a profile has no use before its key is registered).
///
/// Privicore needs only the public half of the key pair, and nothing in this tool uses the
/// private half, so it is dropped (and zeroized) unless `--key-file` asks to keep it.
pub async fn provision(args: ProvisionArgs) -> Result<()> {
    let client = settings::client(&args.login.server)?;
    let username = settings::username(&args.login)?;
    // Refuse an existing key file before anything is registered: finding out afterwards
    // would leave a profile whose private key is lost.
    if let Some(path) = &args.key_file
        && path.exists()
    {
        return Err(CliError::new(format!(
            "{} already exists; choose a new file for the private key",
            path.display()
        )));
    }
    let password = settings::password(&username, true)?;
    let keys = KeyPair::generate();
    let session = client
        .provision(&username, password, &keys)
        .await
        .with_context(|| format!("provision {username}"))?;
    if let Some(path) = &args.key_file {
        save_private_key(path, &keys)
            .with_context(|| format!("save the private key to {}", path.display()))?;
    }
    let profile_id = session
        .profile_id()
        .await
        .context("read the new profile's id")?;
    if args.json {
        return output::json(&Provisioned {
            username: &username,
            profile_id: &profile_id,
            key_file: args.key_file.as_ref().map(|p| p.display().to_string()),
        });
    }
    output::line(format!(
        "provisioned profile {username} (id {profile_id}): registered, logged in, public key registered"
    ))?;
    if let Some(path) = &args.key_file {
        output::line(format!("private key saved to {}", path.display()))?;
    }
    Ok(())
}

/// Writes the private key as hex to a new file only its owner can read.
fn save_private_key(path: &Path, keys: &KeyPair) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    // `create_new`: never overwrite (that could destroy another key), never follow a link an
    // attacker planted.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let secret = keys.secret_key();
    let hex = secrecy::SecretString::from(hex::encode(secret.expose_secret()));
    let mut file = options.open(path)?;
    let written = writeln!(file, "{}", hex.expose_secret()).and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}
