//! `privicore completions SHELL`: a completion script generated from the command tree itself,
//! so it never lags behind a new command or flag.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Context, Result};

/// Writes the script for `args.shell` to stdout.
pub fn print(args: &CompletionsArgs) -> Result<()> {
    let mut out = Vec::new();
    generate(args.shell, &mut out);
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .context("write the completion script")?;
    stdout.flush().context("write the completion script")?;
    Ok(())
}

/// The script for `shell`, into `out`.
pub fn generate(shell: clap_complete::Shell, out: &mut Vec<u8>) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "privicore", out);
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    /// Every command's name, nested ones too, from the command tree clap parses.
    fn names(command: &clap::Command, out: &mut Vec<String>) {
        for sub in command.get_subcommands() {
            out.push(sub.get_name().to_owned());
            names(sub, out);
        }
    }

    #[test]
    fn every_shell_completes_every_command() {
        let mut all = Vec::new();
        names(&Cli::command(), &mut all);
        assert!(all.len() > 10, "{all:?}");
        for shell in clap_complete::Shell::value_variants() {
            let mut out = Vec::new();
            generate(*shell, &mut out);
            let script = String::from_utf8(out).expect("UTF-8");
            for name in &all {
                assert!(script.contains(name.as_str()), "{shell}: `{name}` missing");
            }
        }
    }
}
