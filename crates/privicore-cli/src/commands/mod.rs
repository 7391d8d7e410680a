//! One module per command group; [`run`] sends each command to its module.

pub mod data;
pub mod demo;
pub mod key;
pub mod mock;
pub mod oauth;
pub mod profile;
pub mod tokens;

use crate::cli::{Command, KeyCommand, OauthCommand, ProfileCommand, TokensCommand};
use crate::error::Result;

/// Runs one command to completion.
pub async fn run(command: Command) -> Result<()> {
    match command {
        Command::Demo(args) => demo::run(args).await,
        Command::Profile(ProfileCommand::Provision(args)) => profile::provision(args).await,
        Command::Store(args) => data::store(args).await,
        Command::Retrieve(args) => data::retrieve(args).await,
        Command::Tokens(TokensCommand::List(args)) => tokens::list(args).await,
        Command::Tokens(TokensCommand::Delete(args)) => tokens::delete(args).await,
        Command::Key(KeyCommand::Generate) => key::generate(),
        Command::Oauth(OauthCommand::Register(args)) => oauth::register(args).await,
        Command::Oauth(OauthCommand::Authorize(args)) => oauth::authorize(args).await,
        Command::Oauth(OauthCommand::Refresh(args)) => oauth::refresh(args).await,
        Command::Oauth(OauthCommand::Inspect(args)) => oauth::inspect(args).await,
        Command::Mock(args) => mock::run(args).await,
    }
}
