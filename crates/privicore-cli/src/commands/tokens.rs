//! `privicore tokens list` and `privicore tokens delete`.

use std::io::Write;

use futures::TryStreamExt;
use privicore::DataTokenItem;

use crate::cli::{DeleteArgs, ListArgs};
use crate::error::{CliError, Context, Result};
use crate::output::json::{Deleted, TokenItem};
use crate::{output, settings};

/// `privicore tokens list`: every token, page by page, printed as it arrives (a long list
/// starts printing at once and is never held in memory whole).
pub async fn list(args: ListArgs) -> Result<()> {
    settings::logged_in(&args.login, async |session| {
        let mut listing = session.data_tokens().list().per_page(args.per_page);
        if let Some(context) = &args.context {
            listing = listing.context(context.clone());
        }
        let mut items = listing.stream();
        // Not locked across the awaits: the handle stays `Send`.
        let mut out = std::io::stdout();
        let mut count = 0u64;
        if args.json {
            // A JSON array written element by element: valid once the command succeeds.
            write!(out, "[")?;
            while let Some(item) = items.try_next().await.context("list data tokens")? {
                let text = serde_json::to_string(&TokenItem::new(&item))
                    .map_err(|e| CliError::new(format!("encode JSON: {e}")))?;
                let separator = if count == 0 { "\n  " } else { ",\n  " };
                write!(out, "{separator}{text}")?;
                count += 1;
            }
            writeln!(out, "{}]", if count == 0 { "" } else { "\n" })?;
        } else {
            while let Some(item) = items.try_next().await.context("list data tokens")? {
                if count == 0 {
                    writeln!(out, "{}", header())?;
                }
                writeln!(out, "{}", row(&item))?;
                count += 1;
            }
            let noun = if count == 1 { "token" } else { "tokens" };
            writeln!(out, "{count} data {noun}")?;
        }
        out.flush()?;
        Ok(())
    })
    .await
}

fn header() -> String {
    format!(
        "{:<64}  {:<20}  {:<24}  {:>10}  CREATED",
        "TOKEN", "CONTEXT", "NAME", "SIZE"
    )
}

fn row(item: &DataTokenItem) -> String {
    let file = item.meta.as_ref().and_then(|m| m.file.as_ref());
    let name = file.and_then(|f| f.file_name.as_deref()).unwrap_or("-");
    let size = file
        .and_then(|f| f.size)
        .and_then(|s| u64::try_from(s).ok())
        .map(output::bytes)
        .unwrap_or_else(|| "-".into());
    let created = item
        .created_at
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into());
    format!(
        "{:<64}  {:<20}  {:<24}  {:>10}  {created}",
        item.token,
        item.context.as_deref().unwrap_or("-"),
        name,
        size
    )
}

/// `privicore tokens delete TOKEN`.
pub async fn delete(args: DeleteArgs) -> Result<()> {
    settings::logged_in(&args.login, async |session| {
        session
            .data_tokens()
            .delete(&args.token)
            .await
            .with_context(|| format!("delete {}", args.token))?;
        if args.json {
            return output::json(&Deleted {
                token: &args.token,
                deleted: true,
            });
        }
        output::line(format!("deleted {}", args.token))
    })
    .await
}
