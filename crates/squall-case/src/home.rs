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
    CaseFolder::open(home, case).map(|f| f.root)
}

/// Where a case keeps its own files: `<home>/cases/<id>/`, beside the store, owner-only like
/// it. Every verb that writes a file for a case (a saved standard input, collected logs, disk
/// images, exports) asks this for the place, so a case's files are found, archived and
/// deleted together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFolder {
    root: PathBuf,
}

impl CaseFolder {
    /// The folder of `case` under `home`, created (0700) if it is not there yet.
    pub fn open(home: &Path, case: &str) -> std::io::Result<CaseFolder> {
        // Case ids are `C-0001`; anything else could climb out of the home.
        if case.is_empty() || !case.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a case id: {case:?}"),
            ));
        }
        let root = home.join("cases").join(case);
        private_dir(&root)?;
        Ok(CaseFolder { root })
    }

    /// The case's folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where standard input given to a hunt is saved, named by the time it was read.
    pub fn stdin_file(&self, stamp: &str) -> PathBuf {
        self.root.join(format!("stdin-{stamp}.log"))
    }

    /// Logs collected from a provider's APIs (`logs/aws/`, `logs/gcp/`, ...).
    pub fn collected_logs(&self, provider: &str) -> std::io::Result<PathBuf> {
        self.sub(&["logs", provider])
    }

    /// Where every provider's collected logs are (what `hunt --case` with no path reads).
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The integrity records delivered beside collected logs (CloudTrail's digest files):
    /// evidence, but not logs to hunt.
    pub fn collected_digests(&self, provider: &str) -> std::io::Result<PathBuf> {
        self.sub(&["digests", provider])
    }

    /// Raw disk images acquired for the case.
    pub fn images(&self) -> std::io::Result<PathBuf> {
        self.sub(&["images"])
    }

    /// Ledger exports, reports and timelines handed to others.
    pub fn exports(&self) -> std::io::Result<PathBuf> {
        self.sub(&["exports"])
    }

    fn sub(&self, parts: &[&str]) -> std::io::Result<PathBuf> {
        if parts
            .iter()
            .any(|p| p.is_empty() || p.contains(['/', '\\']) || *p == "..")
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a folder name: {parts:?}"),
            ));
        }
        let dir = parts.iter().fold(self.root.clone(), |d, p| d.join(p));
        private_dir(&dir)?;
        Ok(dir)
    }
}

/// The home, a case's folder and everything in them are its owner's only.
pub use squall_core::files::{new_private_file, private_dir};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_folder_is_private_and_cannot_climb_out() {
        let home = tempfile::tempdir().unwrap();
        let f = CaseFolder::open(home.path(), "C-0001").unwrap();
        let images = f.images().unwrap();
        assert_eq!(images, home.path().join("cases/C-0001/images"));
        assert!(
            f.collected_logs("aws")
                .unwrap()
                .ends_with("cases/C-0001/logs/aws")
        );
        assert!(f.collected_logs("../x").is_err());
        assert!(CaseFolder::open(home.path(), "../../etc").is_err());
        assert!(CaseFolder::open(home.path(), "").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for d in [f.root().to_path_buf(), images, f.exports().unwrap()] {
                let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o700, "{}", d.display());
            }
        }
        assert_eq!(
            f.stdin_file("x"),
            home.path().join("cases/C-0001/stdin-x.log")
        );
    }
}
