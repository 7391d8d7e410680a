//! One module per command group; [`run`] sends each command to its module.

pub mod completions;
pub mod config;
pub mod data;
pub mod demo;
pub mod doctor;
pub mod key;
pub mod man;
#[cfg(feature = "mock")]
pub mod mock;
pub mod oauth;
pub mod profile;
pub mod tokens;

use crate::cli::{Command, KeyCommand, OauthCommand, ProfileCommand, TokensCommand};
use crate::error::Result;

/// Runs one command to completion.
/// Runs `command` until it ends or Ctrl-C comes. On Ctrl-C the command's future is dropped,
/// which is what cleans up after it: a retrieval's temporary file is deleted, an upload is
/// abandoned before its token is configured. The process must not simply die on the signal,
/// which would leave such files behind. `mock` is the exception: it stops cleanly on the
/// signal by itself.
pub async fn run_until_interrupted(command: Command) -> Result<()> {
    #[cfg(feature = "mock")]
    if matches!(command, Command::Mock(_)) {
        return run(command).await;
    }
    tokio::select! {
        result = run(command) => result,
        // If the signal cannot be listened for, the branch is disabled and the command runs
        // on as it would have without this.
        Ok(()) = tokio::signal::ctrl_c() => Err(crate::error::CliError::interrupted()),
    }
}

/// Runs `command`.
pub async fn run(command: Command) -> Result<()> {
    match command {
        Command::Demo(args) => demo::run(args).await,
        Command::Profile(ProfileCommand::Provision(args)) => profile::provision(args).await,
        Command::Store(args) => data::store(args).await,
        Command::Retrieve(args) => data::retrieve(args).await,
        Command::Tokens(TokensCommand::List(args)) => tokens::list(args).await,
        Command::Tokens(TokensCommand::Delete(args)) => tokens::delete(args).await,
        Command::Key(KeyCommand::Generate(args)) => key::generate(&args),
        Command::Oauth(OauthCommand::Register(args)) => oauth::register(args).await,
        Command::Oauth(OauthCommand::Authorize(args)) => oauth::authorize(args).await,
        Command::Oauth(OauthCommand::Refresh(args)) => oauth::refresh(args).await,
        Command::Oauth(OauthCommand::Inspect(args)) => oauth::inspect(args).await,
        #[cfg(feature = "mock")]
        Command::Mock(args) => mock::run(args).await,
        Command::Doctor(args) => doctor::run(args).await,
        Command::Config(args) => config::show(args).await,
        Command::Completions(args) => completions::print(&args),
        Command::Man(args) => man::run(&args),
    }
}
