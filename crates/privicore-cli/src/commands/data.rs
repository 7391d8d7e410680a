//! `privicore store` and `privicore retrieve`: payloads in and out of the vault, encrypted and
//! decrypted locally with `PRIVICORE_VAULT_KEY`.

use std::path::Path;

use privicore::{StoreOptions, Vault};
use tokio::io::AsyncRead;

use crate::cli::{RetrieveArgs, StoreArgs};
use crate::error::{CliError, Context, Result};
use crate::output::json::{Retrieved, Stored};
use crate::{output, progress, settings};

/// `privicore store FILE`.
pub async fn store(args: StoreArgs) -> Result<()> {
    // Everything local is checked before the network is touched: a bad key or an unreadable
    // file fails at once, without logging in.
    let key = settings::vault_key()?;
    let source = Source::open(&args.file).await?;
    settings::logged_in(&args.login, async |session| {
        let vault = session.vault(key);
        let (token, size) = store_reader(
            &vault,
            source.reader,
            source.size,
            &StoreOptions::new(args.context.clone()).file_name(source.name.clone()),
            &source.name,
        )
        .await
        .with_context(|| format!("store {}", args.file.display()))?;
        if args.json {
            output::json(&Stored {
                token: token.as_str(),
                file: args.file.display().to_string(),
                size,
                context: &args.context,
            })
        } else {
            output::line(token)
        }
    })
    .await
}

/// Stores everything `reader` yields, with a progress bar of `size` bytes when it is known,
/// and returns the token and the number of bytes stored.
pub async fn store_reader<R>(
    vault: &Vault,
    reader: R,
    size: Option<u64>,
    options: &StoreOptions,
    label: &str,
) -> Result<(privicore::DataToken, u64)>
where
    R: AsyncRead + Send + Unpin + 'static,
{
    let bar = progress::transfer(label, size);
    let counted = progress::Reader::new(reader, bar.clone());
    let result = vault.store_reader(counted, options).await;
    let stored = bar.position();
    bar.finish_and_clear();
    Ok((result?, stored))
}

/// A payload to store: a file, or standard input for `-`.
struct Source {
    reader: Box<dyn AsyncRead + Send + Unpin>,
    size: Option<u64>,
    name: String,
}

impl Source {
    async fn open(path: &Path) -> Result<Self> {
        if path.as_os_str() == "-" {
            return Ok(Self {
                reader: Box::new(tokio::io::stdin()),
                size: None,
                name: "stdin".into(),
            });
        }
        let cannot = || format!("cannot read {}", path.display());
        let file = tokio::fs::File::open(path).await.with_context(cannot)?;
        let metadata = file.metadata().await.with_context(cannot)?;
        if metadata.is_dir() {
            return Err(CliError::new(format!("{} is a directory", path.display())));
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("data.bin")
            .to_owned();
        // A regular file's length is its size; a pipe or device reports 0 and is counted as
        // it is read.
        let size = metadata.is_file().then_some(metadata.len());
        Ok(Self {
            reader: Box::new(file),
            size,
            name,
        })
    }
}

/// `privicore retrieve TOKEN [-o FILE]`.
pub async fn retrieve(args: RetrieveArgs) -> Result<()> {
    let key = settings::vault_key()?;
    settings::logged_in(&args.login, async |session| {
    let vault = session.vault(key);
    let what = format!("retrieve {}", args.token);
    match &args.output {
        Some(path) => {
            let bar = progress::transfer("retrieving", None);
            let shown = bar.clone();
            let result = vault
                .retrieve_to_file_with_progress(&args.token, path, move |written| {
                    shown.set_position(written);
                })
                .await;
            bar.finish_and_clear();
            let written = result.map_err(explain).context(&what)?;
            if args.json {
                return output::json(&Retrieved {
                    token: &args.token,
                    file: path.display().to_string(),
                    size: written,
                });
            }
            output::note(format!(
                "wrote {} to {}",
                output::bytes(written),
                path.display()
            ));
            Ok(())
        }
        None => {
            let bar = progress::transfer("retrieving", None);
            let mut out = progress::Writer::new(tokio::io::stdout(), bar.clone());
            let result = vault.retrieve_to_writer_unverified(&args.token, &mut out).await;
            bar.finish_and_clear();
            match result {
                Ok(_) => Ok(()),
                // Bytes may already be on stdout: say they are not to be trusted.
                Err(e) if bar.position() > 0 => Err(explain(e).context(&what).append(
                    "; the bytes already written to stdout are incomplete or not authentic: discard them",
                )),
                Err(e) => Err(explain(e).context(&what)),
            }
        }
    }
    })
    .await
}

/// Adds the likely cause to errors whose message alone leaves a person guessing.
fn explain(error: privicore::Error) -> CliError {
    let hint = match &error {
        privicore::Error::Cipher(_) => " (is PRIVICORE_VAULT_KEY the key it was stored with?)",
        _ => "",
    };
    CliError::from(error).append(hint)
}
