//! Cloud Storage's JSON API media downloads (`GET /storage/v1/b/{bucket}/o/{object}?alt=media`,
//! with `Range` and `generation`), answered with the headers Google's client reads
//! (`x-goog-generation`, `x-goog-stored-content-length`, `x-goog-hash: crc32c=...`); and the
//! imaging worker Squall starts, simulated: the fake cannot boot its script, so when an
//! instance is inserted with Squall's imaging metadata it does what the script does — reads
//! the disk attached read-only as `squall-device`, writes it to `squall-object` with a report
//! of its SHA-256 and sizes — and powers the instance off. That tests the orchestration
//! (names, read-only attachment, waiting, reading the report, downloading, comparing, cleaning
//! up), not the script itself.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::World;
use crate::error::ApiError;

/// A disk's content, generated rather than stored: 1 MiB blocks, every sixteenth beginning
/// with a line naming the disk and the block, the rest zeros (a mostly empty disk, as most
/// are) or, `dense`, a pattern of the block's number (a full disk: nothing to skip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Content {
    Bytes(Vec<u8>),
    Disk { seed: String, len: u64, dense: bool },
}

const BLOCK: u64 = 1 << 20;

impl Content {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::Disk { len, .. } => *len,
        }
    }

    /// Bytes `from..to`, in chunks of at most a block.
    pub(crate) fn chunks(&self, from: u64, to: u64) -> impl Iterator<Item = Vec<u8>> + '_ {
        let mut at = from;
        std::iter::from_fn(move || {
            if at >= to {
                return None;
            }
            let block = at / BLOCK;
            let end = ((block + 1) * BLOCK).min(to);
            let chunk = match self {
                Content::Bytes(b) => b[at as usize..end as usize].to_vec(),
                Content::Disk { seed, dense, .. } => {
                    let mut whole = vec![0u8; BLOCK as usize];
                    if *dense {
                        let word = (block.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1).to_le_bytes();
                        for w in whole.chunks_exact_mut(8) {
                            w.copy_from_slice(&word);
                        }
                    }
                    if block.is_multiple_of(16) {
                        let line = format!("squall-fake disk {seed} block {block}\n");
                        whole[..line.len()].copy_from_slice(line.as_bytes());
                    }
                    let lo = (at - block * BLOCK) as usize;
                    whole[lo..lo + (end - at) as usize].to_vec()
                }
            };
            at = end;
            Some(chunk)
        })
    }

    /// What a disk seeded `seed` (its source disk's id) holds, `len` bytes, full or mostly
    /// empty as the fake is set.
    pub(crate) fn disk(w: &World, seed: &str, len: u64) -> Content {
        Content::Disk {
            seed: seed.to_string(),
            len,
            dense: w.dense_disks,
        }
    }

    /// SHA-256 (hex) and CRC32C of the whole content, a generated disk's computed once per
    /// fake (a benchmark warms them before it starts its clock).
    pub(crate) fn digests_in(&self, w: &mut World) -> (String, u32) {
        let Content::Disk { seed, len, dense } = self else {
            return self.digests();
        };
        let key = (seed.clone(), *len, *dense);
        if let Some(d) = w.disk_digests.get(&key) {
            return d.clone();
        }
        let d = self.digests();
        w.disk_digests.insert(key, d.clone());
        d
    }

    /// SHA-256 (hex) and CRC32C of the whole content.
    pub(crate) fn digests(&self) -> (String, u32) {
        let mut sha = Sha256::new();
        let mut crc = 0u32;
        for chunk in self.chunks(0, self.len()) {
            sha.update(&chunk);
            crc = crc32c::crc32c_append(crc, &chunk);
        }
        (hex(&sha.finalize()), crc)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An object: its content, generation, and checksum as Cloud Storage keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub(crate) content: Content,
    pub(crate) generation: i64,
    pub(crate) crc32c: u32,
}

/// Buckets the fake has, and their objects (`bucket` → `object name` → object).
pub(crate) type Buckets = BTreeMap<String, BTreeMap<String, Object>>;

pub(crate) fn put(w: &mut World, bucket: &str, name: &str, content: Content) -> bool {
    let (_, crc32c) = content.digests_in(w);
    let generation = 1_700_000_000_000_000 + w.next() as i64;
    match w.buckets.get_mut(bucket) {
        Some(b) => {
            b.insert(
                name.to_string(),
                Object {
                    content,
                    generation,
                    crc32c,
                },
            );
            true
        }
        None => false,
    }
}

/// A media download, or Google's error.
pub(crate) fn media(
    w: &World,
    segments: &[String],
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let [_, _, b, bucket, o, object] = segments else {
        return Err(ApiError::not_found(&segments.join("/")));
    };
    if b != "b" || o != "o" || query.get("alt").map(String::as_str) != Some("media") {
        return Err(ApiError::invalid(
            "the fake serves only media downloads (alt=media)",
        ));
    }
    let missing = || {
        ApiError::new(
            404,
            "notFound",
            format!("No such object: {bucket}/{object}"),
        )
    };
    let Some(objects) = w.buckets.get(bucket.as_str()) else {
        return Err(ApiError::new(
            404,
            "notFound",
            "The specified bucket does not exist.",
        ));
    };
    let found = objects.get(object.as_str()).ok_or_else(missing)?;
    if let Some(g) = query.get("generation")
        && g.parse::<i64>().ok() != Some(found.generation)
    {
        return Err(missing());
    }
    let len = found.content.len();
    let start = match headers.get("range").and_then(|v| v.to_str().ok()) {
        None => 0,
        Some(r) => r
            .strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::invalid(format!("the fake reads only `bytes=N-` ranges, not {r}"))
            })?,
    };
    if start > len || (start == len && len > 0) {
        return Err(ApiError::new(
            416,
            "requestedRangeNotSatisfiable",
            "The requested range cannot be satisfied.",
        ));
    }
    // Made a block at a time as the client reads, never held whole.
    let content = found.content.clone();
    let body = Body::from_stream(futures_util::stream::unfold(start, move |at| {
        let chunk = content.chunks(at, len).next();
        async move {
            let chunk = chunk?;
            let next = at + chunk.len() as u64;
            Some((Ok::<_, std::convert::Infallible>(Bytes::from(chunk)), next))
        }
    }));
    let crc = base64_crc(found.crc32c);
    let mut r = (
        if start > 0 {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        },
        body,
    )
        .into_response();
    let h = r.headers_mut();
    let mut set = |k: &'static str, v: String| {
        h.insert(k, v.parse().expect("a header value"));
    };
    set("content-type", "application/octet-stream".into());
    set("content-length", (len - start).to_string());
    set("x-goog-generation", found.generation.to_string());
    set("x-goog-metageneration", "1".into());
    set("x-goog-stored-content-length", len.to_string());
    set("x-goog-stored-content-encoding", "identity".into());
    set("x-goog-storage-class", "STANDARD".into());
    set("x-goog-hash", format!("crc32c={crc}"));
    if start > 0 {
        set(
            "content-range",
            format!("bytes {start}-{}/{len}", len.saturating_sub(1)),
        );
    }
    Ok(r)
}

fn base64_crc(crc: u32) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

/// What the simulated worker does wrong, when a test asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerFault {
    /// Writes an error report instead of the image.
    Fails(String),
    /// Reports a digest that is not of what it wrote.
    WrongDigest,
    /// Reads only the first `n` bytes of the device, and says so.
    ShortRead(u64),
    /// Keeps running (never powers off).
    Hangs,
}

/// An instance was inserted: if it carries Squall's imaging metadata, do what its script
/// would (going wrong as the next queued fault says), then power it off.
pub(crate) fn run_worker(w: &mut World, key: &str) {
    let fault = w.worker_faults.pop();
    run_worker_with(w, key, fault);
}

/// A worker left running finishes now, without fault.
pub(crate) fn run_worker_again(w: &mut World, key: &str) {
    run_worker_with(w, key, None);
}

fn run_worker_with(w: &mut World, key: &str, fault: Option<WorkerFault>) {
    let Some(doc) = w.instances.get(key).cloned() else {
        return;
    };
    let item = |k: &str| {
        doc["metadata"]["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["key"] == json!(k))
            .and_then(|i| i["value"].as_str())
            .map(str::to_string)
    };
    let (Some(object), Some(device), Some(_script)) = (
        item("squall-object"),
        item("squall-device"),
        item("startup-script"),
    ) else {
        return;
    };
    if fault == Some(WorkerFault::Hangs) {
        return;
    }
    let Some((bucket, name)) = object
        .strip_prefix("gs://")
        .and_then(|o| o.split_once('/'))
        .map(|(b, n)| (b.to_string(), n.to_string()))
    else {
        power_off(w, key);
        return;
    };
    let fail = |w: &mut World, why: &str| {
        put(
            w,
            &bucket,
            &format!("{name}.error"),
            Content::Bytes(format!("{why}\n").into_bytes()),
        );
    };
    // The device: the disk attached under that name, read-only (the script would find a
    // read-write attachment just as readable; the fake insists, to test Squall asks for it).
    let attached = doc["disks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["deviceName"] == json!(device))
        .cloned();
    let disk = attached
        .as_ref()
        .and_then(|d| d["source"].as_str())
        .and_then(|s| s.find("projects/").map(|i| s[i..].to_string()))
        .and_then(|k| w.disks.get(&k).cloned());
    match (attached, disk, fault) {
        (_, _, Some(WorkerFault::Fails(why))) => fail(w, &why),
        (None, _, _) | (_, None, _) => fail(
            w,
            &format!("no block device /dev/disk/by-id/google-{device}"),
        ),
        (Some(a), _, _) if a["mode"] != json!("READ_ONLY") => {
            fail(w, "the fake's worker reads only a disk attached READ_ONLY")
        }
        (Some(_), Some(disk), fault) => {
            let size: u64 = disk["sizeGb"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let device_bytes = size << 30;
            // A disk made from a snapshot holds what the snapshot's source disk held.
            let seed = disk["sourceSnapshotId"]
                .as_str()
                .and_then(|id| {
                    w.snapshots
                        .values()
                        .find(|s| s["id"] == json!(id))
                        .and_then(|s| s["sourceDiskId"].as_str())
                })
                .unwrap_or_else(|| disk["id"].as_str().unwrap_or_default())
                .to_string();
            let read = match fault {
                Some(WorkerFault::ShortRead(n)) => n.min(device_bytes),
                _ => device_bytes,
            };
            let content = Content::disk(w, &seed, read);
            let (mut sha, _) = content.digests_in(w);
            if fault == Some(WorkerFault::WrongDigest) {
                sha = "0".repeat(64);
            }
            if put(w, &bucket, &name, content) {
                let report = json!({
                    "snapshot_id": item("squall-snapshot-id").unwrap_or_default(),
                    "sha256": sha,
                    "bytes": read,
                    "device_bytes": device_bytes,
                });
                put(
                    w,
                    &bucket,
                    &format!("{name}.result"),
                    Content::Bytes(report.to_string().into_bytes()),
                );
            }
        }
    }
    power_off(w, key);
}

fn power_off(w: &mut World, key: &str) {
    if let Some(doc) = w.instances.get_mut(key) {
        doc["status"] = json!("TERMINATED");
    }
}

/// The content a disk made from `snapshot` (by key) holds, as the simulated worker reads it:
/// for a test to check an image against.
pub(crate) fn snapshot_content(w: &World, snapshot: &str) -> Option<Content> {
    let s = w.snapshots.get(snapshot)?;
    let size: u64 = s["diskSizeGb"].as_str()?.parse().ok()?;
    Some(Content::disk(w, s["sourceDiskId"].as_str()?, size << 30))
}

/// What a bucket holds, for a test: object name, size, generation.
pub(crate) fn listing(w: &World, bucket: &str) -> Vec<(String, u64, i64)> {
    w.buckets
        .get(bucket)
        .into_iter()
        .flatten()
        .map(|(k, o)| (k.clone(), o.content.len(), o.generation))
        .collect()
}

/// The value a test reads a small object as.
pub(crate) fn text(w: &World, bucket: &str, name: &str) -> Option<Value> {
    let o = w.buckets.get(bucket)?.get(name)?;
    match &o.content {
        Content::Bytes(b) => Some(json!(String::from_utf8_lossy(b))),
        Content::Disk { len, .. } => Some(json!({"disk_bytes": len})),
    }
}
