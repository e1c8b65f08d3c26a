//! The Squall home: where the case store and kept evidence live.
//!
//! `--home`, else `$SQUALL_HOME`, else `$XDG_DATA_HOME/squall`, else `~/.local/share/squall`.

use std::path::{Path, PathBuf};

/// Resolves the home; `explicit` is `--home` (or `$SQUALL_HOME`, which the CLI reads).
pub fn resolve(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("XDG_DATA_HOME").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p).join("squall"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/squall"))
}

/// The case store's file inside a home.
pub fn store_path(home: &Path) -> PathBuf {
    home.join("squall.db")
}
