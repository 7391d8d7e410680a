//! The command tree and usage errors.

use predicates::prelude::*;

use crate::common::{bare, one_line_error};

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().expect("dir");
    let assert = bare(dir.path()).arg("--help").assert().success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let mut commands = vec![
        "demo",
        "profile",
        "store",
        "retrieve",
        "tokens",
        "key",
        "oauth",
        "config",
        "completions",
        "man",
        "doctor",
    ];
    if cfg!(feature = "mock") {
        commands.push("mock");
    }
    for command in commands {
        assert!(
            out.contains(&format!("  {command} ")),
            "{command} missing:\n{out}"
        );
    }
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().expect("dir");
    let mut all = vec![
        &["demo"][..],
        &["profile", "provision"],
        &["store"],
        &["retrieve"],
        &["tokens", "list"],
        &["tokens", "delete"],
        &["key", "generate"],
        &["oauth", "register"],
        &["oauth", "authorize"],
        &["oauth", "refresh"],
        &["oauth", "inspect"],
        &["config"],
        &["completions"],
        &["man"],
        &["doctor"],
    ];
    if cfg!(feature = "mock") {
        all.push(&["mock"]);
    }
    for args in all {
        bare(dir.path())
            .args(args)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: privicore"));
    }
}

#[test]
fn no_command_shows_help_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("dir");
    bare(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage: privicore"));
}

#[test]
fn usage_errors_are_one_line_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("dir");
    for args in [
        &["store"][..],
        &["frobnicate"],
        &["tokens", "list", "--per-page", "0"],
        &["tokens", "list", "--jsn"],
        &["oauth", "register", "app"],
        &["retrieve", "t", "--json"],
        &["completions", "tcsh"],
    ] {
        let err = one_line_error(bare(dir.path()).args(args), 2);
        assert!(err.contains("--help"), "{err}");
    }
}

#[test]
fn the_hidden_demo_flag_stays_hidden() {
    let dir = tempfile::tempdir().expect("dir");
    bare(dir.path())
        .args(["demo", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("large-size").not());
}
