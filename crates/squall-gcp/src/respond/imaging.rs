//! A snapshot read into a raw disk image on the workstation. Compute Engine has no API that
//! reads a disk's or a snapshot's blocks (AWS's EBS direct APIs have no Google counterpart),
//! so the bytes are read where they can be: in the forensic project, a disk is made from the
//! snapshot and attached read-only to a short-lived worker instance with no external address,
//! whose startup script reads the whole device once, hashing it (SHA-256) as it streams it
//! into a Cloud Storage object, writes its digest and byte counts beside it, and powers off.
//! Squall then downloads the object into `<snapshot>.raw`, hashing it again in the same pass
//! as it writes it, and compares: the image is complete only when both digests and the sizes
//! (the worker's read, the device's, the disk's, the file's) agree. The worker and its copy
//! of the disk are deleted afterwards; the snapshot and the object stay.

use std::borrow::Cow;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use google_cloud_storage::client::Storage;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use squall_core::image::{self, OnDisk};
use squall_core::respond::{Action, ActionError, Plan};

use super::{CASE_LABEL, err, short_hash};
use crate::GcpError;
use crate::request::{InstanceRef, Worker};
use crate::services::compute::{self, Compute};
use crate::services::storage;

/// How often a worker is looked at while it reads.
pub const WORKER_POLL: Duration = Duration::from_secs(10);

/// The device name the evidence disk is attached as: `/dev/disk/by-id/google-evidence`.
pub const DEVICE: &str = "evidence";

/// The worker's startup script. It reads only what its metadata names, touches nothing but
/// the bucket object and its two companions, and powers the worker off whatever happens, so
/// a stopped worker means it is done.
pub const WORKER_SCRIPT: &str = r#"#!/bin/bash
# Squall imaging worker: read one disk attached read-only, stream it to Cloud Storage with its
# SHA-256 computed in the same pass, report, power off.
set -u -o pipefail
meta() { curl -sf -H 'Metadata-Flavor: Google' \
  "http://metadata.google.internal/computeMetadata/v1/instance/attributes/$1"; }
out=$(meta squall-object) && [ -n "$out" ] || { poweroff; exit 1; }
fail() { printf '%s\n' "$1" > /tmp/squall-error; gcloud storage cp /tmp/squall-error "$out.error"; poweroff; exit 1; }
device=$(meta squall-device) && [ -n "$device" ] || fail "no squall-device in the metadata"
snapshot_id=$(meta squall-snapshot-id) && [ -n "$snapshot_id" ] || fail "no squall-snapshot-id in the metadata"
dev=/dev/disk/by-id/google-$device
[ -b "$dev" ] || fail "no block device $dev"
# Booted from the evidence (its root file system has the worker image's UUID): read nothing.
root_disk=$(lsblk -no PKNAME "$(findmnt -no SOURCE /)")
[ "$root_disk" != "$(basename "$(readlink -f "$dev")")" ] || fail "the worker booted from the evidence disk"
device_bytes=$(blockdev --getsize64 "$dev") || fail "blockdev failed on $dev"
python3 -c '
import hashlib, json, sys
h, n = hashlib.sha256(), 0
with open(sys.argv[1], "rb", buffering=0) as f:
    while True:
        b = f.read(8 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
        sys.stdout.buffer.write(b)
sys.stdout.buffer.flush()
json.dump({"sha256": h.hexdigest(), "bytes": n}, open(sys.argv[2], "w"))
' "$dev" /tmp/squall-read | gcloud storage cp - "$out" || fail "reading $dev into $out failed"
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
r["device_bytes"] = int(sys.argv[2])
r["snapshot_id"] = sys.argv[3]
json.dump(r, open(sys.argv[4], "w"))
' /tmp/squall-read "$device_bytes" "$snapshot_id" /tmp/squall-result || fail "writing the report failed"
gcloud storage cp /tmp/squall-result "$out.result" || fail "uploading the report failed"
poweroff
"#;

/// What a worker reports of its read, written beside the image object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Report {
    /// The id of the snapshot it was told it reads (a snapshot taken again under the same
    /// name has another, and an old report must not stand for it).
    pub snapshot_id: String,
    pub sha256: String,
    /// Bytes it read and streamed.
    pub bytes: u64,
    /// The block device's size, as the kernel gave it.
    pub device_bytes: u64,
}

/// The image made from a snapshot.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Image {
    pub snapshot: String,
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// Bytes already on disk from an interrupted download, trusted after re-hashing.
    pub resumed_bytes: u64,
    /// `gs://BUCKET/OBJECT`: the worker's copy, left in the bucket.
    pub object: String,
    /// Cleaning up the worker failed: what was left behind and why.
    pub left_behind: Vec<String>,
}

impl Image {
    /// What the front end tells of it.
    pub fn made(&self) -> image::Made {
        image::Made {
            path: self.path.clone(),
            sha256: self.sha256.clone(),
            bytes: self.bytes,
            resumed_bytes: self.resumed_bytes,
        }
    }
}

/// Image one snapshot of the case.
pub struct ImageSnapshot<'a> {
    pub c: Compute,
    pub storage: Storage,
    /// `projects/F/global/snapshots/NAME`.
    pub snapshot: String,
    /// Where the worker runs (its project is the forensic one), and as what.
    pub worker: Worker,
    pub case: String,
    pub dir: PathBuf,
    /// How long the worker is waited for.
    pub wait: Duration,
    /// How often the worker is looked at while it reads.
    pub poll: Duration,
    /// `(snapshot, bytes written, total)`, as the download goes.
    pub progress: &'a (dyn Fn(&str, u64, u64) + Sync),
    pub imaged: Mutex<Option<Image>>,
}

/// The worker's (and its disk's) name for a case and snapshot: the same on every run, so a
/// re-run finds a worker still reading instead of starting another.
pub fn worker_name(case: &str, snapshot: &str) -> String {
    format!("squall-img-{}", short_hash(&[case, snapshot], 20))
}

/// Progress of a download: which object generation the bytes on disk came from.
#[derive(serde::Serialize, serde::Deserialize)]
struct Progress {
    snapshot: String,
    committed: u64,
    generation: i64,
}

impl ImageSnapshot<'_> {
    fn name(&self) -> &str {
        self.snapshot.rsplit('/').next().unwrap_or_default()
    }

    fn project(&self) -> &str {
        self.snapshot.split('/').nth(1).unwrap_or_default()
    }

    fn at(&self) -> InstanceRef {
        InstanceRef {
            project: self.project().to_string(),
            zone: self.worker.zone.clone(),
            name: worker_name(&self.case, &self.snapshot),
        }
    }

    /// The copy of the snapshot the worker reads (its boot disk takes the worker's own name).
    fn disk(&self) -> String {
        let at = self.at();
        format!(
            "projects/{}/zones/{}/disks/{}-{DEVICE}",
            at.project, at.zone, at.name
        )
    }

    fn object(&self) -> String {
        format!("squall-images/{}.raw", self.name())
    }

    fn gs(&self) -> String {
        format!("gs://{}/{}", self.worker.bucket, self.object())
    }

    fn labels(&self) -> Vec<(String, String)> {
        vec![
            (CASE_LABEL.to_string(), crate::label_value(&self.case)),
            ("squall-role".to_string(), "imaging-worker".to_string()),
        ]
    }

    /// What the folder holds of the image; a complete one only when the file is as long as
    /// the disk (a checksum file left beside a shorter file vouches for nothing).
    fn on_disk(&self, snap: &compute::Snapshot) -> OnDisk {
        let disk_bytes = u64::try_from(snap.disk_size_gb).unwrap_or(0) << 30;
        image::on_disk_sized(&self.dir, self.name(), Some(disk_bytes))
    }

    /// The worker's report and error, if it wrote either.
    async fn reported(&self) -> Result<(Option<Report>, Option<String>), GcpError> {
        let object = self.object();
        let bucket = &self.worker.bucket;
        let result = storage::read_small(&self.storage, bucket, &format!("{object}.result"), 4096)
            .await?
            .map(|b| parse_report(&b))
            .transpose()
            .map_err(|e| GcpError::Invalid(format!("{}.result: {e}", self.gs())))?;
        let error = storage::read_small(&self.storage, bucket, &format!("{object}.error"), 4096)
            .await?
            .map(|b| String::from_utf8_lossy(&b).trim().to_string());
        Ok((result, error))
    }

    /// Runs the worker unless it already reported; its report.
    async fn run_worker(&self, snap: &compute::Snapshot) -> Result<Report, GcpError> {
        let (report, error) = self.reported().await?;
        if let Some(r) = report {
            return Ok(r);
        }
        let at = self.at();
        if let Some(e) = error {
            let left = self.clean_up().await;
            return Err(worker_failed(&at, &self.gs(), Some(&e), &left));
        }
        match compute::disk_if_any(&self.c, &self.disk()).await? {
            Some(d) if d.source_snapshot_id.as_deref() != Some(snap.id.as_str()) => {
                return Err(GcpError::Invalid(format!(
                    "{} exists but was not made from snapshot {} (id {}): not read (help: delete it and run again)",
                    self.disk(),
                    self.snapshot,
                    snap.id
                )));
            }
            Some(_) => {}
            None => {
                compute::insert_disk_from_snapshot(
                    &self.c,
                    &at.project,
                    &at.zone,
                    &format!("{}-{DEVICE}", at.name),
                    &self.snapshot,
                    &self.labels(),
                    None,
                )
                .await?;
            }
        }
        if compute::instance_if_any(&self.c, &at).await?.is_none() {
            let spec = compute::Worker {
                at: at.clone(),
                machine_type: self.worker.machine_type.clone(),
                boot_image: self.worker.boot_image.clone(),
                evidence: self.disk(),
                device: DEVICE.to_string(),
                subnet: self.worker.subnet.clone(),
                service_account: self.worker.service_account.clone(),
                scopes: vec!["https://www.googleapis.com/auth/devstorage.read_write".to_string()],
                metadata: vec![
                    ("startup-script".to_string(), WORKER_SCRIPT.to_string()),
                    ("squall-object".to_string(), self.gs()),
                    ("squall-device".to_string(), DEVICE.to_string()),
                    ("squall-snapshot-id".to_string(), snap.id.clone()),
                ],
                labels: self.labels(),
            };
            compute::insert_worker(&self.c, &spec).await?;
        }
        // Powered off by its script when done, whatever the outcome.
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            let status = compute::instance_if_any(&self.c, &at)
                .await?
                .map(|i| i.status);
            match status.as_deref() {
                Some("TERMINATED" | "STOPPED") => break,
                None => {
                    return Err(GcpError::Invalid(format!(
                        "worker {at} is gone before it reported (help: run the acquisition again)"
                    )));
                }
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(GcpError::Invalid(format!(
                        "worker {at} still reading {} after {} s; it is left running (help: run the acquisition again to wait for it, or read its serial console: gcloud compute instances get-serial-port-output {} --zone {} --project {})",
                        self.snapshot,
                        self.wait.as_secs(),
                        at.name,
                        at.zone,
                        at.project
                    )));
                }
                _ => tokio::time::sleep(self.poll).await,
            }
        }
        let (why, left) = match self.reported().await? {
            (Some(r), _) => return Ok(r),
            (None, Some(e)) => (Some(e), self.clean_up().await),
            (None, None) => (None, Vec::new()),
        };
        Err(worker_failed(&at, &self.gs(), why.as_deref(), &left))
    }

    /// The worker and its disk deleted (never the snapshot, never the object): what could
    /// not be.
    async fn clean_up(&self) -> Vec<String> {
        let mut left = Vec::new();
        let at = self.at();
        if let Err(e) = compute::delete_instance(&self.c, &at).await {
            left.push(format!("worker {at}: {e}"));
            return left;
        }
        if let Err(e) = compute::delete_disk(&self.c, &self.disk()).await {
            left.push(format!("disk {}: {e}", self.disk()));
        }
        left
    }

    /// Downloads the object into the image file (resuming a download of the same object
    /// generation), hashing it in the same pass.
    async fn download(&self, expected: u64) -> Result<(String, u64, u64, i64), GcpError> {
        let dir = &self.dir;
        let name = self.name();
        let path = image::raw_path(dir, name);
        let progress_path = image::progress_path(dir, name);
        let mut hasher = Sha256::new();
        // Progress is believed only for an object this long.
        let (mut file, resumed) = image::reopen(
            dir,
            name,
            |p: &Progress| p.committed <= expected,
            |b| hasher.update(b),
        )
        .map_err(io(&path, "resuming the image"))?;
        let (mut committed, generation) = match resumed {
            Some((p, c)) => (c, Some(p.generation)),
            None => (0, None),
        };
        let resumed = committed;
        let mut position = committed;
        let mut since_sync = 0u64;
        if let (Some(g), true) = (generation, committed == expected) {
            // Every byte was synced before the last run stopped: nothing left to read.
            file.sync_all().map_err(io(&path, "syncing the image"))?;
            return Ok((
                squall_core::digest::hex(&hasher.finalize()),
                position,
                resumed,
                g,
            ));
        }
        let object = self.gs();
        let d = storage::download(
            &self.storage,
            &self.worker.bucket,
            &self.object(),
            committed,
            generation,
            |d, chunk| {
                if d.size != expected {
                    return Err(GcpError::Invalid(format!(
                        "{object} holds {} bytes, the worker reported {expected}; not downloaded",
                        d.size
                    )));
                }
                hasher.update(chunk);
                // Runs of zeros are skipped, not written: the file is sparse where the disk
                // never held data, and reads back the same.
                if chunk.iter().all(|b| *b == 0) {
                    file.seek(SeekFrom::Current(chunk.len() as i64))
                        .map_err(io(&path, "writing the image"))?;
                } else {
                    file.write_all(chunk)
                        .map_err(io(&path, "writing the image"))?;
                }
                position += chunk.len() as u64;
                since_sync += chunk.len() as u64;
                if since_sync >= 64 << 20 {
                    file.set_len(position)
                        .and_then(|_| file.sync_data())
                        .map_err(io(&path, "syncing the image"))?;
                    committed = position;
                    let p = Progress {
                        snapshot: name.to_string(),
                        committed,
                        generation: d.generation,
                    };
                    image::save_progress(&progress_path, &p)
                        .map_err(io(&progress_path, "writing progress"))?;
                    since_sync = 0;
                }
                (self.progress)(&self.snapshot, position, expected);
                Ok(())
            },
        )
        .await;
        let d = match d {
            Ok(d) => d,
            Err(e) if resumed > 0 && position == resumed => {
                // The generation read on from may be gone (the object was written again):
                // the next run starts over.
                let _ = std::fs::remove_file(&progress_path);
                return Err(e);
            }
            Err(e) => {
                let _ = file.sync_data();
                return Err(e);
            }
        };
        file.set_len(position)
            .and_then(|_| file.sync_all())
            .map_err(io(&path, "syncing the image"))?;
        Ok((
            squall_core::digest::hex(&hasher.finalize()),
            position,
            resumed,
            d.generation,
        ))
    }
}

fn io(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> GcpError {
    let on = path.display().to_string();
    let what = what.to_string();
    move |e| GcpError::Invalid(format!("{what} {on}: {e}"))
}

/// A worker that did not image its disk. One that reported an error was deleted with its
/// disk (`left` says what could not be); one that stopped without a word is kept for its
/// serial console.
fn worker_failed(at: &InstanceRef, object: &str, why: Option<&str>, left: &[String]) -> GcpError {
    let help = if why.is_none() {
        format!(
            "its serial console says why: gcloud compute instances get-serial-port-output {} --zone {} --project {}; then delete it and any {object}* objects, and run again",
            at.name, at.zone, at.project
        )
    } else {
        format!("delete {object}.error and any {object} object, and run again")
    };
    let left = if left.is_empty() {
        String::new()
    } else {
        format!("; could not delete: {}", left.join("; "))
    };
    GcpError::Invalid(format!(
        "worker {at} did not image {object}: {} (help: {help}){left}",
        why.map_or(Cow::Borrowed("it stopped without a report"), |why| {
            squall_core::text::shortened(why, 400)
        }),
    ))
}

/// A worker's report, checked: a digest, and counts.
fn parse_report(bytes: &[u8]) -> Result<Report, String> {
    let r: Report =
        serde_json::from_slice(bytes).map_err(|e| format!("not a worker's report: {e}"))?;
    if !squall_core::digest::is_sha256_hex(&r.sha256) {
        return Err("the report's sha256 is not a SHA-256".to_string());
    }
    Ok(Report {
        sha256: r.sha256.to_ascii_lowercase(),
        ..r
    })
}

/// Whether the worker's read, the device, the disk and the download all agree: the reasons
/// they do not.
pub fn disagreements(
    report: &Report,
    disk_bytes: u64,
    sha256: &str,
    downloaded: u64,
) -> Vec<String> {
    let mut why = Vec::new();
    if report.bytes != report.device_bytes {
        why.push(format!(
            "the worker read {} bytes of a {}-byte device",
            report.bytes, report.device_bytes
        ));
    }
    if report.device_bytes != disk_bytes {
        why.push(format!(
            "the device has {} bytes, the disk {disk_bytes}",
            report.device_bytes
        ));
    }
    if downloaded != report.bytes {
        why.push(format!(
            "{downloaded} bytes downloaded, {} read by the worker",
            report.bytes
        ));
    }
    if sha256 != report.sha256 {
        why.push(format!(
            "SHA-256 {sha256} downloaded, {} read by the worker",
            report.sha256
        ));
    }
    why
}

impl Action for ImageSnapshot<'_> {
    fn resource(&self) -> String {
        self.snapshot.clone()
    }

    fn action(&self) -> &'static str {
        "image-snapshot"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let snap = compute::snapshot(&self.c, self.project(), self.name())
            .await
            .map_err(err)?
            .ok_or_else(|| format!("{} does not exist: nothing to image", self.snapshot))?;
        if snap.status != "READY" {
            return Err(format!(
                "{} is {}: only a ready snapshot can be read (help: run again once it is READY)",
                self.snapshot, snap.status
            )
            .into());
        }
        let here = self.on_disk(&snap);
        let worker = compute::instance_if_any(&self.c, &self.at())
            .await
            .map_err(err)?;
        let before = json!({
            "snapshot_id": snap.id,
            "source_disk": snap.source_disk,
            "source_disk_id": snap.source_disk_id,
            "size_gb": snap.disk_size_gb,
            "image": here,
            "worker": worker.as_ref().map(|w| json!({"name": self.at().to_string(), "status": w.status})),
        });
        let mut p = Plan::new(
            self.action(),
            &self.snapshot,
            before,
            json!({"image": {"state": "complete"}}),
            false,
        );
        let raw = image::raw_path(&self.dir, self.name());
        p.notes.push(format!(
            "a disk made from the snapshot is read, attached read-only, by worker {} (no external address, service account {}) into {}; then downloaded into {} with its SHA-256, which must equal the worker's",
            self.at(),
            self.worker.service_account,
            self.gs(),
            raw.display()
        ));
        if self.worker.service_account == "default" {
            p.notes.push(
                "the worker runs as the project's default compute account, which often holds Editor: name one that can only write to the bucket with --worker-service-account".to_string(),
            );
        }
        if let OnDisk::Partial { committed } = here {
            p.notes.push(format!(
                "resumes the download after the {committed} bytes already synced"
            ));
        }
        p.notes.push(
            "the worker and its disk are deleted afterwards; the snapshot and the object stay"
                .to_string(),
        );
        Ok(p)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let snap = compute::snapshot(&self.c, self.project(), self.name())
            .await
            .map_err(err)?
            .ok_or_else(|| format!("{} is gone", self.snapshot))?;
        let disk_bytes = u64::try_from(snap.disk_size_gb).unwrap_or(0) << 30;
        let report = self.run_worker(&snap).await.map_err(err)?;
        if report.snapshot_id != snap.id {
            return Err(format!(
                "{}.result reports snapshot id {}, but {} is id {} (taken again since): not this snapshot's image (help: delete {} and {}.result, and run again)",
                self.gs(),
                squall_core::text::shortened(&report.snapshot_id, 40),
                self.snapshot,
                snap.id,
                self.gs(),
                self.gs()
            )
            .into());
        }
        let (sha256, bytes, resumed, generation) =
            self.download(report.bytes).await.map_err(err)?;
        let why = disagreements(&report, disk_bytes, &sha256, bytes);
        if !why.is_empty() {
            // Not an image: the next run downloads it again from the start.
            let _ = std::fs::remove_file(image::progress_path(&self.dir, self.name()));
            let left = self.clean_up().await;
            return Err(format!(
                "the image of {} does not match what the worker read: {}; no checksum written (help: delete {} and {}.result so that a new worker reads the snapshot again{})",
                self.snapshot,
                why.join("; "),
                self.gs(),
                self.gs(),
                if left.is_empty() {
                    String::new()
                } else {
                    format!("; also left: {}", left.join("; "))
                }
            )
            .into());
        }
        image::complete(&self.dir, self.name(), &sha256)
            .map_err(|e| format!("writing the checksum file in {}: {e}", self.dir.display()))?;
        let left_behind = self.clean_up().await;
        let img = Image {
            snapshot: self.snapshot.clone(),
            path: image::raw_path(&self.dir, self.name()),
            sha256,
            bytes,
            resumed_bytes: resumed,
            object: self.gs(),
            left_behind,
        };
        let facts = json!({"image": img, "worker_report": report, "generation": generation});
        *self.imaged.lock().unwrap_or_else(|p| p.into_inner()) = Some(img);
        Ok(facts)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let snap = compute::snapshot(&self.c, self.project(), self.name())
            .await
            .map_err(err)?
            .ok_or_else(|| format!("{} is gone", self.snapshot))?;
        Ok(json!({"image": self.on_disk(&snap)}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            snapshot_id: "9".into(),
            sha256: "ab".repeat(32),
            bytes: 1 << 30,
            device_bytes: 1 << 30,
        }
    }

    #[test]
    fn an_image_agrees_only_when_every_count_and_both_digests_do() {
        let r = report();
        assert!(disagreements(&r, 1 << 30, &r.sha256, 1 << 30).is_empty());
        let short = Report {
            bytes: 4096,
            ..report()
        };
        let why = disagreements(&short, 1 << 30, &r.sha256, 4096);
        assert_eq!(
            why,
            ["the worker read 4096 bytes of a 1073741824-byte device"]
        );
        assert_eq!(
            disagreements(&r, 2 << 30, &r.sha256, 1 << 30),
            ["the device has 1073741824 bytes, the disk 2147483648"]
        );
        let why = disagreements(&r, 1 << 30, &"cd".repeat(32), (1 << 30) - 1);
        assert_eq!(why.len(), 2, "{why:?}");
    }

    #[test]
    fn a_report_is_data_checked_before_it_is_believed() {
        let ok = format!(
            r#"{{"snapshot_id": "9", "sha256": "{}", "bytes": 10, "device_bytes": 10}}"#,
            "AB".repeat(32)
        );
        assert_eq!(parse_report(ok.as_bytes()).unwrap().sha256, "ab".repeat(32));
        assert!(
            parse_report(br#"{"snapshot_id": "9", "sha256": "x", "bytes": 1, "device_bytes": 1}"#)
                .is_err()
        );
        assert!(parse_report(br#"{"sha256": 5}"#).is_err());
        assert!(parse_report(b"\x1b[2J").is_err());
    }

    #[test]
    fn worker_names_are_valid_stable_and_per_case_and_snapshot() {
        let s = "projects/acme-forensics/global/snapshots/squall-abc";
        let n = worker_name("C-0001", s);
        assert!(crate::request::valid_name(&n), "{n}");
        assert_eq!(n, worker_name("C-0001", s));
        assert_ne!(n, worker_name("C-0002", s));
    }

    #[test]
    fn the_worker_script_reads_only_its_device_and_always_powers_off() {
        assert!(WORKER_SCRIPT.starts_with("#!/bin/bash\n"));
        assert!(WORKER_SCRIPT.contains("set -u -o pipefail"));
        assert!(WORKER_SCRIPT.contains("/dev/disk/by-id/google-"));
        assert!(WORKER_SCRIPT.trim_end().ends_with("poweroff"));
        assert!(!WORKER_SCRIPT.contains("mount"), "never mounted");
        assert!(WORKER_SCRIPT.contains("squall-snapshot-id"));
        assert!(WORKER_SCRIPT.contains("booted from the evidence disk"));
    }
}
