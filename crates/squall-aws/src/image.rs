//! A snapshot read into a raw disk image through the EBS direct APIs, for chain of custody:
//! no volume is created, no instance attached. Blocks are fetched in parallel (bounded) but
//! written and hashed in order, so the image's SHA-256 comes out of the same single pass.
//! Each block's own checksum is checked as it arrives; blocks the snapshot does not hold read
//! as zeros. A `.progress` file next to the image records how far the image is durable, so an
//! interrupted run resumes there (re-hashing what is already on disk) instead of starting over.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::AwsError;
use crate::services::ebs;

/// The image made from a snapshot.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Image {
    pub snapshot: String,
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// Blocks that held data (the rest of the volume is zeros).
    pub blocks: u64,
    /// Bytes already on disk from an interrupted run, trusted after re-hashing.
    pub resumed_bytes: u64,
}

/// What a folder holds of a snapshot's image, as the files say: the raw image with its
/// `.sha256` beside it and no `.progress` left is complete; a `.progress` file is an
/// interrupted image to resume.
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

/// What `dir` holds of `snapshot`'s image (see [`OnDisk`]). A checksum file that is not a
/// SHA-256 in `sha256sum` format does not make an image complete.
pub fn on_disk(dir: &Path, snapshot: &str) -> OnDisk {
    let path = dir.join(format!("{snapshot}.raw"));
    if let Some(p) = std::fs::read(dir.join(format!("{snapshot}.raw.progress")))
        .ok()
        .and_then(|b| serde_json::from_slice::<Progress>(&b).ok())
        .filter(|p| p.snapshot == snapshot)
    {
        return OnDisk::Partial {
            committed: p.committed,
        };
    }
    let sha256 = std::fs::read_to_string(dir.join(format!("{snapshot}.raw.sha256")))
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_string))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    match (sha256, std::fs::metadata(&path)) {
        (Some(sha256), Ok(m)) => OnDisk::Complete {
            path,
            sha256,
            bytes: m.len(),
        },
        _ => OnDisk::Absent,
    }
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Progress {
    snapshot: String,
    block_size: u64,
    volume_bytes: u64,
    /// Everything before this offset is written and synced.
    committed: u64,
}

static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

fn feed_zeros(hasher: &mut Sha256, mut n: u64) {
    while n > 0 {
        let take = n.min(ZEROS.len() as u64) as usize;
        hasher.update(&ZEROS[..take]);
        n -= take as u64;
    }
}

fn io(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> AwsError {
    let on = path.display().to_string();
    let what = what.to_string();
    move |e| AwsError::Call {
        call: "image",
        on: format!(" on {on}"),
        message: format!("{what}: {e}"),
    }
}

fn save_progress(path: &Path, p: &Progress) -> Result<(), AwsError> {
    let tmp = path.with_extension("progress.tmp");
    std::fs::write(&tmp, serde_json::to_vec(p).unwrap_or_default())
        .map_err(io(&tmp, "writing progress"))?;
    std::fs::rename(&tmp, path).map_err(io(path, "writing progress"))
}

/// Images `snapshot` into `dir/<snapshot>.raw` and writes `<snapshot>.raw.sha256` beside it in
/// `sha256sum` format. `on_progress(done, total)` is called as bytes are committed.
pub async fn image_snapshot(
    config: &aws_config::SdkConfig,
    snapshot: &str,
    dir: &Path,
    concurrency: usize,
    on_progress: impl Fn(u64, u64),
) -> Result<Image, AwsError> {
    let client = &aws_sdk_ebs::Client::new(config);
    let list = ebs::list_blocks(client, snapshot).await?;
    std::fs::create_dir_all(dir).map_err(io(dir, "creating the image folder"))?;
    let path = dir.join(format!("{snapshot}.raw"));
    let progress_path = dir.join(format!("{snapshot}.raw.progress"));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path, "opening the image"))?;

    let mut hasher = Sha256::new();
    let mut committed = 0u64;
    let previous: Option<Progress> = std::fs::read(&progress_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(p) = previous
        && p.snapshot == snapshot
        && p.block_size == list.block_size
        && p.volume_bytes == list.volume_bytes
    {
        committed = p.committed;
        rehash(&mut file, committed, &mut hasher).map_err(io(&path, "re-reading the image"))?;
    }
    let resumed_bytes = committed;
    // Only what the progress file vouches for is kept; the rest must read as zeros until
    // written (absent blocks are never written), whatever an earlier run left there.
    file.set_len(committed)
        .and_then(|_| file.set_len(list.volume_bytes))
        .map_err(io(&path, "sizing the image"))?;
    let mut progress = Progress {
        snapshot: snapshot.to_string(),
        block_size: list.block_size,
        volume_bytes: list.volume_bytes,
        committed,
    };
    save_progress(&progress_path, &progress)?;

    let bs = list.block_size;
    // Owned, so the stream of fetches holds no borrowing closure and the image can be made
    // inside a response action (whose futures must be `Send`).
    let todo: Vec<(u64, String)> = list
        .blocks
        .iter()
        .filter(|(i, _)| i * bs >= committed)
        .cloned()
        .collect();
    let todo = todo.into_iter().map(|(i, token)| async move {
        let got = ebs::get_block(client, snapshot, i, &token).await;
        (i, got)
    });
    let mut fetched = futures_util::stream::iter(todo).buffered(concurrency.max(1));
    let mut position = committed;
    let mut since_sync = 0u64;
    while let Some((index, got)) = fetched.next().await {
        let (data, checksum) = got?;
        let offset = index * bs;
        if data.len() as u64 != bs {
            return Err(AwsError::Call {
                call: "ebs:GetSnapshotBlock",
                on: format!(" on {snapshot} block {index}"),
                message: format!("{} bytes, but blocks are {bs} bytes", data.len()),
            });
        }
        if let Some(expected) = checksum {
            let actual = aws_smithy_types::base64::encode(Sha256::digest(&data));
            if actual != expected {
                return Err(AwsError::Call {
                    call: "ebs:GetSnapshotBlock",
                    on: format!(" on {snapshot} block {index}"),
                    message: format!(
                        "checksum mismatch (service {expected}, received {actual}); run again to resume"
                    ),
                });
            }
        }
        feed_zeros(&mut hasher, offset - position);
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.write_all(&data))
            .map_err(io(&path, "writing the image"))?;
        hasher.update(&data);
        position = offset + data.len() as u64;
        since_sync += data.len() as u64;
        if since_sync >= 64 << 20 {
            file.sync_data().map_err(io(&path, "syncing the image"))?;
            progress.committed = position;
            save_progress(&progress_path, &progress)?;
            since_sync = 0;
        }
        on_progress(position, list.volume_bytes);
    }
    feed_zeros(&mut hasher, list.volume_bytes.saturating_sub(position));
    file.sync_all().map_err(io(&path, "syncing the image"))?;
    let sha256 = squall_core::digest::hex(&hasher.finalize());
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    std::fs::write(
        dir.join(format!("{snapshot}.raw.sha256")),
        format!("{sha256}  {name}\n"),
    )
    .map_err(io(&path, "writing the checksum file"))?;
    let _ = std::fs::remove_file(&progress_path);
    on_progress(list.volume_bytes, list.volume_bytes);
    Ok(Image {
        snapshot: snapshot.to_string(),
        path,
        sha256,
        bytes: list.volume_bytes,
        blocks: list.blocks.len() as u64,
        resumed_bytes,
    })
}

fn rehash(file: &mut File, upto: u64, hasher: &mut Sha256) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let mut left = upto;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        file.read_exact(&mut buf[..want])?;
        hasher.update(&buf[..want]);
        left -= want as u64;
    }
    Ok(())
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
        std::fs::write(
            d.join("snap-1.raw.sha256"),
            format!("{digest}  snap-1.raw\n"),
        )
        .unwrap();
        assert_eq!(
            on_disk(d, "snap-1"),
            OnDisk::Complete {
                path: d.join("snap-1.raw"),
                sha256: digest,
                bytes: 16
            }
        );
        // A re-image under way: what is durable, whatever an earlier checksum says.
        save_progress(
            &d.join("snap-1.raw.progress"),
            &Progress {
                snapshot: "snap-1".into(),
                block_size: 524_288,
                volume_bytes: 1 << 30,
                committed: 4096,
            },
        )
        .unwrap();
        assert_eq!(on_disk(d, "snap-1"), OnDisk::Partial { committed: 4096 });
    }
}
