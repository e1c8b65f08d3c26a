//! Files Squall writes that only their owner may read: a case's folder and its evidence, the
//! store, signing keys, rotated secrets. The one place that sets those permissions, for every
//! crate (a provider crate writes collected logs and secrets, and depends on no store). And
//! the small settings files a user hands a verb (a tag or label map), read one way.

use std::path::Path;

/// Creates a folder (and its parents) readable by its owner only.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates a new file readable by its owner only, never replacing one: a file or link already
/// at the path is an error, not a target to write through.
pub fn new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Whether a new secret can be written at `path`: nothing there (not even a dangling link,
/// which `exists()` would not see but creating the file would trip over), in a folder that is.
/// Asked while planning, so a secret with nowhere to go is never made.
pub fn ready_for_new(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(format!(
            "{shown} exists: the new secret is written only to a new file (help: choose another --secret-file)"
        ));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "{} is not a folder, so {shown} cannot be written (help: create it, or choose another --secret-file)",
            parent.display()
        ));
    }
    Ok(())
}

/// Reads a small settings file as YAML, or TOML when its name ends in `.toml`; errors name the
/// file.
pub fn read_yaml_or_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        yaml_serde::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn a_secret_is_never_sent_where_it_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let dangling = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("nowhere/x"), &dangling).unwrap();
        let err = super::ready_for_new(&dangling).unwrap_err();
        assert!(err.contains("exists"), "{err}");
        let missing = dir.path().join("no-such-folder/creds");
        let err = super::ready_for_new(&missing).unwrap_err();
        assert!(err.contains("not a folder"), "{err}");
        assert!(super::new_private_file(&dangling).is_err());
        assert!(super::ready_for_new(&dir.path().join("creds")).is_ok());
    }
}
