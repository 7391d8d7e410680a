//! `privicore man`: the man page (roff), generated from the command tree itself.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::error::{Context, Result};
use crate::output;

/// Prints `privicore.1`, or with `--out-dir` writes it and one page per command there
/// (`privicore-store.1`, `privicore-tokens-list.1`, ...).
pub fn run(args: &ManArgs) -> Result<()> {
    match &args.out_dir {
        None => {
            let mut out = Vec::new();
            page(&mut out).context("render the man page")?;
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&out)?;
            stdout.flush()?;
            Ok(())
        }
        Some(dir) => {
            let written = write_all(dir)
                .with_context(|| format!("write the man pages to {}", dir.display()))?;
            output::note(format_args!(
                "wrote {written} man pages to {}",
                dir.display()
            ));
            Ok(())
        }
    }
}

/// The main page, `privicore.1`.
pub fn page(out: &mut Vec<u8>) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Writes every page into `dir` (created if missing) and returns how many.
fn write_all(dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let command = Cli::command();
    clap_mangen::generate_to(command, dir)?;
    let count = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("privicore") && name.ends_with(".1")
        })
        .count();
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_top_level_command() {
        let mut out = Vec::new();
        page(&mut out).expect("renders");
        let page = String::from_utf8(out).expect("UTF-8");
        assert!(page.contains(".TH privicore 1"), "{page}");
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name();
            assert!(
                page.contains(&format!("privicore\\-{name}")),
                "`{name}` missing"
            );
        }
    }
}
