//! Completion scripts and man pages: every command is in them, for every shell.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::{bare, one_line_error, stdout};

/// The command names `--help` lists under "Commands:" (`help` aside).
fn listed(dir: &Path, args: &[&str]) -> Vec<String> {
    let help = stdout(bare(dir).args(args).arg("--help"));
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command and subcommand the binary's own help lists, so that a command added later is
/// checked without touching this test.
fn every_command(dir: &Path) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for top in listed(dir, &[]) {
        for sub in listed(dir, &[top.as_str()]) {
            all.insert(sub);
        }
        all.insert(top);
    }
    all
}

#[test]
fn the_help_lists_what_this_test_relies_on() {
    let dir = tempfile::tempdir().expect("dir");
    let all = every_command(dir.path());
    for name in [
        "store",
        "retrieve",
        "tokens",
        "list",
        "delete",
        "oauth",
        "register",
        "authorize",
        "refresh",
        "inspect",
        "profile",
        "provision",
        "key",
        "generate",
        "demo",
        "config",
        "completions",
        "man",
    ] {
        assert!(all.contains(name), "{name} missing from {all:?}");
    }
}

#[test]
fn completions_name_every_command_in_every_shell() {
    let dir = tempfile::tempdir().expect("dir");
    let all = every_command(dir.path());
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout(bare(dir.path()).args(["completions", shell]));
        assert!(script.len() > 1000, "{shell}: {script}");
        for name in &all {
            assert!(
                script.contains(name.as_str()),
                "{shell}: `{name}` missing from the script"
            );
        }
        // Flags are completed too.
        assert!(script.contains("per-page"), "{shell}");
    }
    let err = one_line_error(bare(dir.path()).args(["completions", "tcsh"]), 2);
    assert!(err.contains("tcsh"), "{err}");
}

#[test]
fn the_man_page_names_every_command() {
    let dir = tempfile::tempdir().expect("dir");
    let page = stdout(bare(dir.path()).arg("man"));
    assert!(page.contains(".TH privicore 1"), "{page}");
    for top in listed(dir.path(), &[]) {
        assert!(
            page.contains(&format!("privicore\\-{top}")),
            "`{top}` missing from the man page"
        );
    }

    // One page per command, nested ones too.
    let out_dir = dir.path().join("man1");
    let assert = bare(dir.path())
        .args(["man", "--out-dir"])
        .arg(&out_dir)
        .assert()
        .success();
    assert!(assert.get_output().stdout.is_empty());
    let mut expected = vec!["privicore.1".to_owned()];
    for top in listed(dir.path(), &[]) {
        expected.push(format!("privicore-{top}.1"));
        for sub in listed(dir.path(), &[top.as_str()]) {
            expected.push(format!("privicore-{top}-{sub}.1"));
        }
    }
    for name in expected {
        let page =
            std::fs::read_to_string(out_dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(page.contains(".TH"), "{name}");
    }
}
