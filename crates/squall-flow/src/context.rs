//! Who acts and where the store is, resolved once per run and passed to every workflow.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use squall_case::SqliteStore;
use squall_case::home::CaseFolder;
use squall_case::signing::AnalystKey;

/// The analyst, the home holding the store and the cases' folders, and the optional signing
/// key every ledger entry of this run is signed with.
#[derive(Debug, Clone)]
pub struct Context {
    pub home: PathBuf,
    pub actor: String,
    pub sign_key: Option<PathBuf>,
}

impl Context {
    /// `home` as given (`--home`/`SQUALL_HOME`) or the default; `actor` as given or
    /// `$USER@hostname`.
    pub fn new(
        home: Option<&Path>,
        actor: Option<String>,
        sign_key: Option<PathBuf>,
    ) -> anyhow::Result<Context> {
        let home = squall_case::home::resolve(home)
            .context("no home directory (help: set --home or SQUALL_HOME)")?;
        let actor = actor
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(default_actor);
        Ok(Context {
            home,
            actor,
            sign_key,
        })
    }

    /// The store, signing with the run's key when one was given.
    pub fn store(&self) -> anyhow::Result<SqliteStore> {
        let mut store = SqliteStore::open(&squall_case::home::store_path(&self.home))?;
        if let Some(path) = &self.sign_key {
            store.sign_with(AnalystKey::load(path).map_err(anyhow::Error::msg)?);
        }
        Ok(store)
    }

    /// The folder of a case's own files (see [`CaseFolder`]).
    pub fn case_folder(&self, case: &str) -> anyhow::Result<CaseFolder> {
        CaseFolder::open(&self.home, case)
            .with_context(|| format!("creating the folder of case {case}"))
    }
}

/// `user@hostname`: who ran the command, as the ledger records it. `$USER` (or `%USERNAME%`)
/// when set, else the operating system's name for the account running Squall (a service or a
/// `sudo -i` shell may have no `$USER`; "unknown" in a ledger defends nothing).
fn default_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| whoami::fallible::username().ok())
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host}")
}
