//! What every binary test needs: the `squall` command isolated from the developer's own
//! settings, and its JSON output read back.
#![allow(dead_code)] // each test file uses its own part of this module

pub mod drill;
pub mod moto;
pub mod proxy;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// `squall` with a private home and none of the caller's SQUALL_* settings or config file.
pub fn squall(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("squall").unwrap();
    cmd.env("SQUALL_HOME", home)
        .env("SQUALL_ACTOR", "alice@ws1")
        .env("XDG_CONFIG_HOME", "/nonexistent/squall-test-config");
    for var in [
        "SQUALL_CONFIG",
        "SQUALL_RULES",
        "SQUALL_FORMAT",
        "SQUALL_MIN_LEVEL",
        "SQUALL_STRICT",
        "SQUALL_NO_BUILTIN",
        "SQUALL_SIGN_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A test that needs an outside helper (moto, Timesketch's validator, jq, unshare) and cannot
/// find it: skipped with a message on a developer's machine, a failure when `CI` is set, so a
/// broken install step can never pass as green.
pub fn skip_or_fail(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}: CI must provide it (see .ci/run)"
    );
    eprintln!("SKIPPED: {why}");
}

/// Runs a command that must succeed and parses its standard output as one JSON document.
pub fn json_of(cmd: &mut Command) -> Value {
    let out = cmd.assert().success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

/// Runs a command that must succeed and parses its standard output as JSON Lines.
pub fn lines(cmd: &mut Command) -> Vec<Value> {
    let out = cmd.assert().success();
    String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
