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

/// The folder of a case's own files (saved standard input, and later collected logs, images
/// and exports), beside the store and, like it, readable by its owner only. Created on first
/// use.
pub fn case_dir(home: &Path, case: &str) -> std::io::Result<PathBuf> {
    // Case ids are `C-0001`; anything else could climb out of the home.
    if case.is_empty() || !case.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a case id: {case:?}"),
        ));
    }
    let dir = home.join("cases").join(case);
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(&dir)?;
    Ok(dir)
}
