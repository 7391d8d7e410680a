//! A mock Privicore in the test process and the `privicore` binary pointed at it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use privicore::{Client, KeyPair};
use privicore_mock::{MockServer, MockServerBuilder};
use secrecy::SecretString;
use tempfile::TempDir;

/// The password every test profile gets (distinctive, so the secrets test can look for it).
pub const PASSWORD: &str = "pw-Tr0ub4dor-and-3-horses";

/// Every variable the binary reads: cleared so the developer's own settings never leak in.
const VARIABLES: [&str; 10] = [
    "PRIVICORE_API_URL",
    "PRIVICORE_WS_URL",
    "PRIVICORE_USERNAME",
    "PRIVICORE_PASSWORD",
    "PRIVICORE_VAULT_KEY",
    "PRIVICORE_CLIENT_SECRET",
    "PRIVICORE_TOKEN_FILE",
    "XDG_CONFIG_HOME",
    "PRIVICORE_CONFIG",
    "PRIVICORE_PROFILE",
];

/// A running mock (on its own runtime, so the blocking test thread can run the binary) and a
/// scratch directory.
pub struct Mock {
    pub runtime: tokio::runtime::Runtime,
    pub server: MockServer,
    pub dir: TempDir,
}

impl Mock {
    pub fn start() -> Self {
        Self::start_with(MockServer::builder())
    }

    /// A mock with non-default settings (e.g. a wire variant).
    pub fn start_with(builder: MockServerBuilder) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let server = runtime.block_on(builder.start()).expect("the mock starts");
        Self {
            runtime,
            server,
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// The binary with no server configured (only a scratch config directory).
    pub fn bare(&self) -> Command {
        bare(self.dir.path())
    }

    /// The binary pointed at the mock (no credentials).
    pub fn cmd(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("PRIVICORE_API_URL", self.server.api_url())
            .env("PRIVICORE_WS_URL", self.server.ws_url());
        cmd
    }

    /// The binary pointed at the mock, logged in as `user` with a vault key.
    pub fn as_user(&self, user: &str, key: &str) -> Command {
        let mut cmd = self.cmd();
        cmd.env("PRIVICORE_USERNAME", user)
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .env("PRIVICORE_VAULT_KEY", key);
        cmd
    }

    /// A client of the mock, for setting up and checking from the test.
    pub fn client(&self) -> Client {
        Client::builder()
            .api_url(self.server.api_url())
            .ws_url(self.server.ws_url())
            .command_timeout(Duration::from_secs(10))
            .build()
            .expect("a client")
    }

    /// Provisions `user` (password [`PASSWORD`]) through the SDK.
    pub fn provision(&self, user: &str) {
        let client = self.client();
        self.runtime
            .block_on(client.provision(user, SecretString::from(PASSWORD), &KeyPair::generate()))
            .expect("provisioning succeeds");
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The binary with every Privicore variable cleared and a scratch config directory.
pub fn bare(config_home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_privicore"));
    for name in VARIABLES {
        cmd.env_remove(name);
    }
    cmd.env("XDG_CONFIG_HOME", config_home.join("config"))
        .env("HOME", config_home)
        // Not a terminal: a prompt for a password must never be reached in a test.
        .write_stdin(Vec::new())
        .timeout(Duration::from_secs(120));
    cmd
}

/// A fresh vault key, made by the binary.
pub fn key() -> String {
    let output = bare(Path::new("/nonexistent"))
        .args(["key", "generate"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// Stdout of a successful run.
pub fn stdout(cmd: &mut Command) -> String {
    let output = cmd.output().expect("runs");
    assert!(
        output.status.success(),
        "failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Stderr of a failed run, checked to be exactly one `error: ` line with exit code `code`.
pub fn one_line_error(cmd: &mut Command, code: i32) -> String {
    let output = cmd.output().expect("runs");
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "stderr: {stderr}");
    stderr
}

/// Pseudo-random bytes (incompressible), reproducible from `seed`.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}
