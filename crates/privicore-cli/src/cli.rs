//! The command tree, as clap sees it.
//!
//! Secrets never come from flags (a flag's value shows in `ps` and in shell history): the
//! password, the vault key and the client secret are read from the environment, or from a
//! command named in the config file (the password may also be typed at a prompt), so no secret
//! is declared here at all.
//!
//! Flags carry no `env =` attribute: a flag, its environment variable, the config file's
//! profile and the default are weighed in one place, `settings::resolve`, which also knows
//! where each value came from (`privicore config` shows it).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
#[cfg(feature = "mock")]
use privicore_mock::Variant;

const AFTER_HELP: &str = "\
Environment (a flag beats its variable, which beats the config file):
  PRIVICORE_API_URL, PRIVICORE_WS_URL   the server (or --api / --ws)
  PRIVICORE_USERNAME                    the profile (or --username)
  PRIVICORE_PASSWORD                    its password (else password_command, else a prompt)
  PRIVICORE_VAULT_KEY                   64 hex digits, from `privicore key generate`
  PRIVICORE_CLIENT_SECRET               an OAuth application's secret (oauth authorize)
  PRIVICORE_TOKEN_FILE                  where OAuth tokens are kept (or --token-file)
  PRIVICORE_CONFIG, PRIVICORE_PROFILE   the config file and its profile (or --config / --profile)

Config file: $XDG_CONFIG_HOME/privicore/config.toml (else ~/.config/privicore/config.toml);
`privicore config` shows what is in effect and where each value comes from.

Start with `privicore demo`: it needs no configuration.";

/// `privicore`: the command-line tool for the Privicore tokenization vault.
#[derive(Debug, Parser)]
#[command(
    name = "privicore",
    version,
    about = "Privicore from the terminal: encrypt locally, store, retrieve, and manage tokens",
    after_help = AFTER_HELP,
    arg_required_else_help = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub globals: GlobalArgs,
}

/// Which config file, and which of its profiles, to read (given anywhere on the line).
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Config file (default: privicore/config.toml in your config directory; or
    /// PRIVICORE_CONFIG)
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Profile of the config file to use (default: its default_profile; or PRIVICORE_PROFILE)
    #[arg(long, value_name = "NAME", global = true)]
    pub profile: Option<String>,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole story (provision, store, retrieve, OAuth, delete) against an embedded mock
    /// server, with no configuration; or against --api/--ws
    Demo(DemoArgs),
    /// Profiles: provision the one named by the credentials
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Encrypt a file locally with PRIVICORE_VAULT_KEY and store it; prints its data token
    Store(StoreArgs),
    /// Retrieve a data token's payload and decrypt it, to a file or to stdout
    Retrieve(RetrieveArgs),
    /// List and delete data tokens
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Vault keys: generate one
    #[command(subcommand)]
    Key(KeyCommand),
    /// OAuth applications: register one, obtain, refresh and inspect its tokens
    #[command(subcommand)]
    Oauth(OauthCommand),
    /// Run the embedded mock Privicore server in the foreground until Ctrl-C
    #[cfg(feature = "mock")]
    Mock(MockArgs),
    /// Check a server with a short, safe sequence (log in, store a few bytes, read them back,
    /// delete them, revoke the login) and report which wire variant it speaks at each open
    /// point
    Doctor(DoctorArgs),
    /// Show the settings in effect and where each comes from (secrets masked)
    Config(ConfigArgs),
    /// Print a completion script for bash, zsh, fish, powershell or elvish
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command with --out-dir
    Man(ManArgs),
}

/// Where the server is.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The API base URL.
    #[arg(
        long,
        value_name = "URL",
        help = "API base URL, e.g. https://sandbox.privicore.com:9009 (or PRIVICORE_API_URL)"
    )]
    pub api: Option<String>,
    /// The WebSocket URL.
    #[arg(
        long,
        value_name = "URL",
        help = "WebSocket URL that carries acknowledgements, e.g. wss://sandbox.privicore.com:8083 (or PRIVICORE_WS_URL)"
    )]
    pub ws: Option<String>,
}

/// Where the server is, and who logs in (the password comes from PRIVICORE_PASSWORD or a
/// prompt).
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Profile username, or PRIVICORE_USERNAME (the password is read from PRIVICORE_PASSWORD,
    /// the config file's password_command, or asked for)
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
}

/// `privicore demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Size of the large file in bytes (kept small by the tests)
    #[arg(long, value_name = "BYTES", default_value_t = 20 * 1024 * 1024, hide = true)]
    pub large_size: u64,
    /// Print the closing summary as JSON on stdout (the narration goes to stderr)
    #[arg(long)]
    pub json: bool,
}

/// `privicore profile ...`.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Register the profile named by the credentials, log in, and register a fresh public key
    Provision(ProvisionArgs),
}

/// `privicore profile provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    #[command(flatten)]
    pub login: LoginArgs,
    /// Also save the profile's new private key (hex) to this file, readable by you only;
    /// without it the private key is discarded (this tool never needs it)
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `privicore store`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    #[command(flatten)]
    pub login: LoginArgs,
    /// The file to store (`-` reads standard input)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Context label to group the token under
    #[arg(long, value_name = "C", default_value = "default")]
    pub context: String,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `privicore retrieve`.
#[derive(Debug, Args)]
pub struct RetrieveArgs {
    #[command(flatten)]
    pub login: LoginArgs,
    /// The data token
    #[arg(value_name = "TOKEN")]
    pub token: String,
    /// Write to this file, which appears only once the payload is verified (default: stdout)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the result as JSON (only with --output: without it stdout carries the payload)
    #[arg(long, requires = "output")]
    pub json: bool,
}

/// `privicore tokens ...`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List every data token, page by page
    List(ListArgs),
    /// Delete a data token
    Delete(DeleteArgs),
}

/// `privicore tokens list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub login: LoginArgs,
    /// Only tokens with this context
    #[arg(long, value_name = "C")]
    pub context: Option<String>,
    /// Tokens fetched per request
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub per_page: u64,
    /// Print a JSON array
    #[arg(long)]
    pub json: bool,
}

/// `privicore tokens delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub login: LoginArgs,
    /// The data token
    #[arg(value_name = "TOKEN")]
    pub token: String,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `privicore key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print a fresh random vault key (64 hex digits) for PRIVICORE_VAULT_KEY
    Generate(GenerateArgs),
}

/// `privicore key generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Print the key as JSON (`{"vault_key": "..."}`)
    #[arg(long)]
    pub json: bool,
}

/// `privicore oauth ...`.
#[derive(Debug, Subcommand)]
pub enum OauthCommand {
    /// Register an application; prints its id, client id and client secret (shown once)
    Register(RegisterArgs),
    /// Obtain tokens for an application (client secret from PRIVICORE_CLIENT_SECRET) and
    /// save them to a token file
    Authorize(AuthorizeArgs),
    /// Refresh the access token in a token file
    Refresh(RefreshArgs),
    /// Show a token file's scope and expiry (never the tokens)
    Inspect(InspectArgs),
}

/// `privicore oauth register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub login: LoginArgs,
    /// Application name
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Where the application receives its authorization codes
    #[arg(long, value_name = "U")]
    pub redirect_uri: String,
    /// Scopes the application may ask for (e.g. `all`)
    #[arg(long, value_name = "S")]
    pub scopes: String,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `privicore oauth authorize`.
#[derive(Debug, Args)]
pub struct AuthorizeArgs {
    #[command(flatten)]
    pub login: LoginArgs,
    /// The application's client id
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// Scope to ask for (repeat for several)
    #[arg(long = "scope", value_name = "S", default_value = "all")]
    pub scopes: Vec<String>,
    #[command(flatten)]
    pub token_file: TokenFileArgs,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `privicore oauth refresh`.
#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub token_file: TokenFileArgs,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `privicore oauth inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub token_file: TokenFileArgs,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// Where OAuth tokens are kept.
#[derive(Debug, Args)]
pub struct TokenFileArgs {
    /// Token file, or PRIVICORE_TOKEN_FILE (default: privicore/oauth-tokens.json in your
    /// config directory, else ./privicore-oauth.json)
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// `privicore doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub login: LoginArgs,
    /// Longest wait, in seconds, for the WebSocket to join and for each acknowledgement
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// `privicore mock`.
#[cfg(feature = "mock")]
#[derive(Debug, Args)]
pub struct MockArgs {
    /// API port P; the WebSocket, stream and download servers take P+1, P+2, P+3
    /// (0 picks four free ports)
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub port: u16,
    /// The wire to speak where the sources allow more than one (docs/protocol.md §14):
    /// `probe`, the live wire as the aligned probe describes it, or one other reading
    #[arg(long, value_name = "NAME", default_value_t = Variant::Probe, value_parser = variants())]
    pub variant: Variant,
}

/// The `--variant` names, each with its one-line summary for `--help`.
#[cfg(feature = "mock")]
fn variants() -> impl clap::builder::TypedValueParser<Value = Variant> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser as _};
    PossibleValuesParser::new(
        Variant::all()
            .iter()
            .map(|v| PossibleValue::new(v.name()).help(v.summary())),
    )
    .try_map(|name| name.parse::<Variant>())
}

/// `privicore config`: the same flags a command takes, to see what they would resolve to.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub login: LoginArgs,
    #[command(flatten)]
    pub token_file: TokenFileArgs,
    /// Print the settings as JSON
    #[arg(long)]
    pub json: bool,
}

/// `privicore completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `privicore man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write privicore.1 and one page per command (privicore-store.1, ...) into this directory
    /// instead of printing the main page
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
