//! Files Squall writes that only their owner may read: a case's folder and its evidence, the
//! store, signing keys, rotated secrets. The one place that sets those permissions, for every
//! crate (a provider crate writes collected logs and secrets, and depends on no store).

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
