//! A snapshot read into a raw disk image through the EBS direct APIs, for chain of custody:
//! no volume is created, no instance attached. Blocks are fetched in parallel (bounded) but
//! written and hashed in order, so the image's SHA-256 comes out of the same single pass.
//! Each block's own checksum is checked as it arrives; blocks the snapshot does not hold read
//! as zeros. A `.progress` file next to the image records how far the image is durable, so an
//! interrupted run resumes there (re-hashing what is already on disk) instead of starting over.

use std::io::{Seek, SeekFrom, Write};
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

pub use squall_core::image::{OnDisk, on_disk, on_disk_sized};

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
    squall_core::image::save_progress(path, p).map_err(io(path, "writing progress"))
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
    let path = squall_core::image::raw_path(dir, snapshot);
    let progress_path = squall_core::image::progress_path(dir, snapshot);
    let mut hasher = Sha256::new();
    let (mut file, resumed) = squall_core::image::reopen(
        dir,
        snapshot,
        |p: &Progress| p.block_size == list.block_size && p.volume_bytes == list.volume_bytes,
        |b| hasher.update(b),
    )
    .map_err(io(&path, "resuming the image"))?;
    let committed = resumed.map_or(0, |(_, c)| c);
    // Only what the progress file vouches for is kept (`reopen` cut the file there); the rest
    // must read as zeros until written (absent blocks are never written).
    file.set_len(list.volume_bytes)
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
    squall_core::image::complete(dir, snapshot, &sha256)
        .map_err(io(&path, "writing the checksum file"))?;
    on_progress(list.volume_bytes, list.volume_bytes);
    Ok(Image {
        snapshot: snapshot.to_string(),
        path,
        sha256,
        bytes: list.volume_bytes,
        blocks: list.blocks.len() as u64,
        resumed_bytes: committed,
    })
}
