//! Streaming SHA-256 for chain of custody: files of any size, read once, with progress.

use std::io::Read;

use sha2::{Digest, Sha256};

/// Hashes everything `reader` yields; `on_progress` gets the bytes done so far.
pub fn sha256_stream(
    mut reader: impl Read,
    on_progress: &mut dyn FnMut(u64),
) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        on_progress(total);
    }
    Ok((hex(&hasher.finalize()), total))
}

/// A file's digest and size, with the checks a chain of custody needs: only regular files
/// (a FIFO or `/dev/zero` would block or never end), and a file that changes while it is read
/// is an error rather than a digest of nothing that ever existed on disk.
pub fn sha256_file(
    path: &std::path::Path,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(String, u64), String> {
    let shown = crate::text::terminal(&path.display().to_string()).into_owned();
    let before = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if !before.is_file() {
        return Err(format!(
            "{shown}: not a regular file ({}); only regular files can be hashed",
            file_kind(&before)
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    // The opened file, not the name, is what was read: check it is still the same file.
    let opened = file.metadata().map_err(|e| format!("{shown}: {e}"))?;
    if !opened.is_file() || !same_file(&before, &opened) {
        return Err(format!("{shown}: replaced while being opened"));
    }
    let (digest, size) = sha256_stream(file, on_progress).map_err(|e| format!("{shown}: {e}"))?;
    let after = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if size != before.len() || !same_file(&before, &after) || changed(&before, &after) {
        return Err(format!(
            "{shown}: changed while it was being hashed ({} bytes before, {size} read, {} after); \
             hash it again once nothing writes to it",
            before.len(),
            after.len()
        ));
    }
    Ok((digest, size))
}

/// What kind of file a special file is, in words.
pub fn file_kind(m: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if m.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

fn changed(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() != b.len() || a.modified().ok() != b.modified().ok()
}

pub use squall_core::digest::hex;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_refused_by_type() {
        let err = sha256_file(std::path::Path::new("/dev/zero"), &mut |_| {}).unwrap_err();
        assert!(err.contains("character device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = sha256_file(&fifo, &mut |_| {}).unwrap_err();
        assert!(err.contains("FIFO"), "{err}");
    }

    #[test]
    fn a_file_that_grows_while_hashed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, vec![b'a'; 4 << 20]).unwrap();
        let mut appended = false;
        let err = sha256_file(&path, &mut |_| {
            if !appended {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                f.write_all(b"more").unwrap();
                appended = true;
            }
        })
        .unwrap_err();
        assert!(err.contains("changed while"), "{err}");
        let (digest, size) = sha256_file(&path, &mut |_| {}).unwrap();
        assert_eq!((digest.len(), size), (64, (4 << 20) + 4));
    }

    #[test]
    fn matches_the_known_digest() {
        let (hex, n) = sha256_stream(&b"abc"[..], &mut |_| {}).unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
