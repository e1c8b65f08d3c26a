//! A raw disk image on the workstation, the same on every provider: `<name>.raw`, with
//! `<name>.raw.sha256` beside it in `sha256sum` format once complete, and `<name>.raw.progress`
//! while it is being written, saying how far the file is durable so that an interrupted run
//! resumes there (re-hashing what is already on disk) instead of starting over.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What a folder holds of an image, as the files say: the raw image with its `.sha256`
/// beside it and no `.progress` left is complete; a `.progress` file is an interrupted image
/// to resume.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum OnDisk {
    Absent,
    /// Durable up to `committed` bytes.
    Partial {
        committed: u64,
    },
    /// Imaged: the file, the digest its checksum file gives, its size.
    Complete {
        path: PathBuf,
        sha256: String,
        bytes: u64,
    },
}

/// An image made (or found complete), as a front end tells of it, whatever the provider.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Made {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// Bytes already on disk from an interrupted run, trusted after re-hashing.
    pub resumed_bytes: u64,
}

/// What every provider's progress file holds at least (each adds what tells its source
/// apart: a block size, an object's generation).
#[derive(serde::Deserialize)]
struct Durable {
    snapshot: String,
    committed: u64,
}

/// The image file of `name` in `dir`.
pub fn raw_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.raw"))
}

/// The progress file of `name`'s image in `dir`.
pub fn progress_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.raw.progress"))
}

/// The checksum file of `name`'s image in `dir`: its SHA-256 in `sha256sum` format.
fn checksum_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.raw.sha256"))
}

/// What `dir` holds of `name`'s image (see [`OnDisk`]). A checksum file that is not a
/// SHA-256 in `sha256sum` format does not make an image complete.
pub fn on_disk(dir: &Path, name: &str) -> OnDisk {
    let path = raw_path(dir, name);
    if let Some(p) = std::fs::read(progress_path(dir, name))
        .ok()
        .and_then(|b| serde_json::from_slice::<Durable>(&b).ok())
        .filter(|p| p.snapshot == name)
    {
        return OnDisk::Partial {
            committed: p.committed,
        };
    }
    let sha256 = std::fs::read_to_string(checksum_path(dir, name))
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_string))
        .filter(|h| crate::digest::is_sha256_hex(h));
    match (sha256, std::fs::metadata(&path)) {
        (Some(sha256), Ok(m)) => OnDisk::Complete {
            path,
            sha256,
            bytes: m.len(),
        },
        _ => OnDisk::Absent,
    }
}

/// [`on_disk`], where a complete image must also be `bytes` long (when known): a checksum
/// file left beside a file cut short, or of another disk, vouches for nothing.
pub fn on_disk_sized(dir: &Path, name: &str, bytes: Option<u64>) -> OnDisk {
    match on_disk(dir, name) {
        OnDisk::Complete { bytes: have, .. } if bytes.is_some_and(|b| b != have) => OnDisk::Absent,
        here => here,
    }
}

/// Writes a progress file whole or not at all (through a rename), so that a crash leaves the
/// last one that was true.
pub fn save_progress(path: &Path, progress: &impl serde::Serialize) -> std::io::Result<()> {
    let tmp = path.with_extension("progress.tmp");
    std::fs::write(&tmp, serde_json::to_vec(progress).unwrap_or_default())?;
    std::fs::rename(&tmp, path)
}

/// `name`'s image file in `dir`, opened to be written from where an earlier run left it
/// durable: the progress file (of type `P`, a provider's own) is believed only when it is this
/// image's, `accept` takes it (same block size, same object generation...) and the file still
/// holds the bytes it vouches for; those bytes are then fed to `update` (the hasher, whose
/// digest must cover every byte), and the file is cut to them. A checksum file left from an
/// earlier image is removed first: it must not vouch for this one while it is written.
/// Returns the file and the progress it resumes from.
pub fn reopen<P: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    accept: impl FnOnce(&P) -> bool,
    update: impl FnMut(&[u8]),
) -> std::io::Result<(File, Option<(P, u64)>)> {
    std::fs::create_dir_all(dir)?;
    match std::fs::remove_file(checksum_path(dir, name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(raw_path(dir, name))?;
    let held = file.metadata()?.len();
    let bytes = std::fs::read(progress_path(dir, name)).unwrap_or_default();
    let resumed = serde_json::from_slice::<Durable>(&bytes)
        .ok()
        .filter(|d| d.snapshot == name && d.committed <= held)
        .and_then(|d| Some((serde_json::from_slice::<P>(&bytes).ok()?, d.committed)))
        .filter(|(p, _)| accept(p));
    let committed = resumed.as_ref().map_or(0, |(_, c)| *c);
    rehash(&mut file, committed, update)?;
    file.set_len(committed)?;
    file.seek(SeekFrom::Start(committed))?;
    Ok((file, resumed))
}

/// Reads back the first `upto` bytes of `file` into `update` (a hasher), for a resumed image
/// whose digest must still cover every byte.
pub fn rehash(file: &mut File, upto: u64, mut update: impl FnMut(&[u8])) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let mut left = upto;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        file.read_exact(&mut buf[..want])?;
        update(&buf[..want]);
        left -= want as u64;
    }
    Ok(())
}

/// Marks `name`'s image in `dir` complete: its checksum file written (`sha256sum -c` reads
/// it), then its progress file removed.
pub fn complete(dir: &Path, name: &str, sha256: &str) -> std::io::Result<()> {
    std::fs::write(checksum_path(dir, name), format!("{sha256}  {name}.raw\n"))?;
    match std::fs::remove_file(progress_path(dir, name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_complete_only_with_its_checksum_and_no_progress_left() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(on_disk(d, "snap-1"), OnDisk::Absent);
        std::fs::write(d.join("snap-1.raw"), [0u8; 16]).unwrap();
        assert_eq!(on_disk(d, "snap-1"), OnDisk::Absent, "no checksum yet");
        std::fs::write(d.join("snap-1.raw.sha256"), "not-a-digest  snap-1.raw\n").unwrap();
        assert_eq!(on_disk(d, "snap-1"), OnDisk::Absent);
        let digest = "ab".repeat(32);
        complete(d, "snap-1", &digest).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join("snap-1.raw.sha256")).unwrap(),
            format!("{digest}  snap-1.raw\n")
        );
        assert_eq!(
            on_disk(d, "snap-1"),
            OnDisk::Complete {
                path: d.join("snap-1.raw"),
                sha256: digest,
                bytes: 16
            }
        );
        // A file of another length than the disk's is not the image its checksum was of.
        assert!(matches!(
            on_disk_sized(d, "snap-1", Some(16)),
            OnDisk::Complete { .. }
        ));
        assert!(matches!(
            on_disk_sized(d, "snap-1", None),
            OnDisk::Complete { .. }
        ));
        assert_eq!(on_disk_sized(d, "snap-1", Some(1 << 30)), OnDisk::Absent);
        // A re-image under way: what is durable, whatever an earlier checksum says; extra
        // fields of a provider's own are read past, another image's progress is not this one's.
        let progress = progress_path(d, "snap-1");
        save_progress(
            &progress,
            &serde_json::json!({"snapshot": "snap-1", "committed": 4096, "block_size": 512}),
        )
        .unwrap();
        assert_eq!(on_disk(d, "snap-1"), OnDisk::Partial { committed: 4096 });
        save_progress(
            &progress,
            &serde_json::json!({"snapshot": "snap-2", "committed": 4096}),
        )
        .unwrap();
        assert!(matches!(on_disk(d, "snap-1"), OnDisk::Complete { .. }));
    }

    #[test]
    fn an_image_resumes_only_from_what_its_file_still_holds() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct P {
            snapshot: String,
            committed: u64,
            generation: i64,
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let data: Vec<u8> = (0..4096u32).map(|i| (i % 7) as u8).collect();
        std::fs::write(raw_path(d, "s"), &data).unwrap();
        std::fs::write(
            d.join("s.raw.sha256"),
            format!("{}  s.raw\n", "ab".repeat(32)),
        )
        .unwrap();
        let progress = |committed: u64| {
            save_progress(
                &progress_path(d, "s"),
                &P {
                    snapshot: "s".into(),
                    committed,
                    generation: 7,
                },
            )
            .unwrap()
        };
        progress(1024);
        let mut fed = Vec::new();
        let (file, resumed) =
            reopen::<P>(d, "s", |p| p.generation == 7, |b| fed.extend_from_slice(b)).unwrap();
        assert_eq!(resumed.map(|(p, c)| (p.generation, c)), Some((7, 1024)));
        assert_eq!(fed, data[..1024]);
        assert_eq!(file.metadata().unwrap().len(), 1024);
        assert!(!d.join("s.raw.sha256").exists(), "a stale checksum is gone");
        // Another generation, or more than the file holds: started over.
        let (_, resumed) = reopen::<P>(d, "s", |p| p.generation == 8, |_| {}).unwrap();
        assert!(resumed.is_none());
        progress(1024);
        std::fs::write(raw_path(d, "s"), &data[..100]).unwrap();
        let (file, resumed) = reopen::<P>(d, "s", |_| true, |_| {}).unwrap();
        assert!(resumed.is_none());
        assert_eq!(file.metadata().unwrap().len(), 0);
    }

    #[test]
    fn rehash_feeds_exactly_the_durable_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.raw");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut seen = Vec::new();
        rehash(&mut File::open(&path).unwrap(), 2_500_000, |b| {
            seen.extend_from_slice(b)
        })
        .unwrap();
        assert_eq!(seen, data[..2_500_000]);
    }
}
