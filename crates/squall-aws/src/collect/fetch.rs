//! Listing a bucket's CloudTrail folders for a window, and fetching each file into the case:
//! written as `.part`, synced, and published under its name only if nothing is there (a file
//! of the case is never replaced); a file already there is hashed again and taken, recorded,
//! or reported.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use aws_sdk_s3::Client as S3;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};
use squall_core::entry::LogsCollected;

use super::layout::{self, DigestName, LogName};
use super::records::{self, Summary};
use super::{Request, digest, lag};
use crate::AwsError;
use crate::services::s3;

/// What an object's name says it is.
#[derive(Debug, Clone)]
pub(super) enum Named {
    Log(LogName),
    Digest(DigestName),
}

/// An object to fetch, and where it goes.
#[derive(Debug, Clone)]
pub(super) struct Wanted {
    pub object: s3::Object,
    pub named: Named,
    pub path: PathBuf,
}

/// What the listing found.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub wanted: Vec<Wanted>,
    /// Objects with a CloudTrail name but a size no CloudTrail file has: not fetched.
    pub oversized: Vec<Wanted>,
    /// Every key listed, fetched or not: a file a digest names that is among them was not
    /// deleted.
    pub keys: HashSet<String>,
    /// Every day folder listed (`…/YYYY/MM/DD/`).
    pub folders: HashSet<String>,
    /// The (account, region) folders that exist.
    pub places: BTreeSet<(String, String)>,
}

/// A day folder to list.
struct Day {
    prefix: String,
    account: String,
    region: String,
    digests: bool,
    /// Where its files go: `<logs or digests>/BUCKET/[o-…/]ACCOUNT/REGION/YYYY/MM/DD/`.
    dir: PathBuf,
}

/// Objects in a listing that CloudTrail would not have named so: counted, a few kept to name.
const ODD_SHOWN: usize = 5;

/// Finds the accounts and regions under the logs' root (an organization's layout too), then
/// lists only the day folders of the window.
pub(super) async fn list(
    s3: &S3,
    bucket: &str,
    prefix: Option<&str>,
    req: &Request,
    (since, until): (DateTime<Utc>, DateTime<Utc>),
    report: &mut LogsCollected,
) -> Result<Found, AwsError> {
    let root = layout::logs_root(prefix);
    let top = s3::folders(s3, bucket, &root).await?;
    let mut homes: Vec<(String, Option<String>, String)> = Vec::new(); // (base, org, account)
    for name in &top {
        if layout::is_account(name) {
            homes.push((root.clone(), None, name.clone()));
        } else if layout::is_organization(name) {
            let base = format!("{root}{name}/");
            match s3::folders(s3, bucket, &base).await {
                Ok(accounts) => homes.extend(
                    accounts
                        .into_iter()
                        .filter(|a| layout::is_account(a))
                        .map(|a| (base.clone(), Some(name.clone()), a)),
                ),
                Err(e) => report
                    .failures
                    .push(format!("{e}: that organization's logs were not collected")),
            }
        }
    }
    if homes.is_empty() {
        return Err(AwsError::Call {
            call: "s3:ListObjectsV2",
            on: format!("s3://{bucket}/{root}"),
            message: "no CloudTrail logs there (help: --prefix, if the trail writes under one)"
                .into(),
        });
    }
    let scope = &req.scope;
    let wanted = |list: &[String], v: &str| list.is_empty() || list.iter().any(|w| w == v);
    for a in &scope.accounts {
        if !homes.iter().any(|(_, _, h)| h == a) {
            report
                .warnings
                .push(format!("s3://{bucket}/{root} holds no logs of account {a}"));
        }
    }
    homes.retain(|(_, _, a)| wanted(&scope.accounts, a));
    let mut found = Found::default();
    let mut days = Vec::new();
    for (base, org, account) in &homes {
        // Files of another bucket, or of the other layout, never share a name here.
        let local = |dir: &Path| match org {
            Some(org) => dir.join(bucket).join(org).join(account),
            None => dir.join(bucket).join(account),
        };
        // A region counts when it has logs or digests: one whose logs were all deleted still
        // has its digests, which name what is gone.
        let mut regions = std::collections::BTreeSet::new();
        for folder in ["CloudTrail", "CloudTrail-Digest"] {
            match s3::folders(s3, bucket, &format!("{base}{account}/{folder}/")).await {
                Ok(r) => regions.extend(
                    r.into_iter()
                        .filter(|r| layout::is_region(r) && wanted(&scope.regions, r)),
                ),
                Err(e) => report.failures.push(format!(
                    "{e}: account {account}'s {folder} files were not collected"
                )),
            }
        }
        for region in regions {
            found.places.insert((account.clone(), region.clone()));
            for (folder, digests, dir, late) in [
                ("CloudTrail", false, local(&req.logs_dir), lag()),
                (
                    "CloudTrail-Digest",
                    true,
                    local(&req.digests_dir),
                    lag() * 2,
                ),
            ] {
                for day in layout::days(since, until + late) {
                    days.push(Day {
                        prefix: layout::day_prefix(base, account, folder, &region, day),
                        account: account.clone(),
                        region: region.clone(),
                        digests,
                        dir: dir.join(&region).join(day.format("%Y/%m/%d").to_string()),
                    });
                }
            }
        }
    }
    for r in &scope.regions {
        if !found.places.iter().any(|(_, p)| p == r) {
            report
                .warnings
                .push(format!("s3://{bucket}/{root} holds no logs of region {r}"));
        }
    }
    let listings = futures_util::stream::iter(days.into_iter().map(|day| async move {
        let objects = s3::objects(s3, bucket, &day.prefix).await;
        (day, objects)
    }))
    .buffer_unordered(scope.parallel.max(1))
    .collect::<Vec<_>>()
    .await;
    let (mut odd, mut odd_shown) = (0usize, Vec::new());
    let mut paths = HashSet::new();
    for (day, objects) in listings {
        let objects = match objects {
            Ok(o) => o,
            Err(e) => {
                report
                    .failures
                    .push(format!("{e}: the files there were not collected"));
                continue;
            }
        };
        found.folders.insert(day.prefix.clone());
        for object in objects {
            found.keys.insert(object.key.clone());
            let name = object
                .key
                .strip_prefix(&day.prefix)
                .unwrap_or_default()
                .to_string();
            let named = if day.digests {
                layout::digest_name(&name)
                    .filter(|n| n.account == day.account && n.region == day.region)
                    .map(|n| {
                        (n.end <= until + lag() * 2 && n.end >= since).then_some(Named::Digest(n))
                    })
            } else {
                layout::log_name(&name)
                    .filter(|n| n.account == day.account && n.region == day.region)
                    .map(|n| {
                        (n.stamp <= until + lag() && n.stamp >= since).then_some(Named::Log(n))
                    })
            };
            match named {
                None => {
                    odd += 1;
                    if odd_shown.len() < ODD_SHOWN {
                        odd_shown.push(format!("{:?}", object.key));
                    }
                }
                Some(None) => {}
                Some(Some(named)) if object.size > max_size(&named) => {
                    report.integrity.push(format!(
                        "s3://{bucket}/{}: {} bytes, more than CloudTrail writes in one file: not collected",
                        object.key, object.size
                    ));
                    let path = day.dir.join(&name);
                    found.oversized.push(Wanted {
                        object,
                        named,
                        path,
                    });
                }
                Some(Some(named)) => {
                    let path = day.dir.join(&name);
                    if paths.insert(path.clone()) {
                        found.wanted.push(Wanted {
                            object,
                            named,
                            path,
                        });
                    } else {
                        report.integrity.push(format!(
                            "s3://{bucket}/{} has the name of a file already taken from another folder: not collected",
                            object.key
                        ));
                    }
                }
            }
        }
    }
    if odd > 0 {
        report.warnings.push(format!(
            "{odd} object(s) among the logs are not named as CloudTrail names its files and were not collected: {}{}",
            odd_shown.join(", "),
            if odd > ODD_SHOWN { ", ..." } else { "" }
        ));
    }
    found.wanted.sort_by(|a, b| a.object.key.cmp(&b.object.key));
    Ok(found)
}

/// The most a file of its kind can be, stored.
fn max_size(named: &Named) -> u64 {
    match named {
        Named::Log(_) => MAX_STORED,
        Named::Digest(_) => MAX_DIGEST,
    }
}

/// A delivery file is at most this, compressed (CloudTrail's are a few MB).
const MAX_STORED: u64 = 1 << 30;

/// One file fetched (or found already there) and read.
pub(super) struct Got {
    pub wanted: Wanted,
    pub sha256: String,
    pub size: u64,
    /// Already recorded by the case.
    pub recorded: bool,
    /// The uncompressed content's SHA-256; `None` when it did not decompress (said in
    /// `unreadable`).
    pub inflated_sha256: Option<String>,
    pub unreadable: Option<String>,
    pub summary: Option<Summary>,
    pub digest: Option<digest::Digest>,
    pub signature: Option<String>,
    pub signature_algorithm: Option<String>,
}

/// Why a file was not taken.
pub(super) enum Fail {
    /// Worth another try (the body broke off, or came short).
    Again(String),
    /// Not (the call failed after the SDK's retries; the file could not be written).
    Final(String),
    /// The case's copy is not what it recorded, or not the bucket's: evidence left as it is.
    Changed(String),
}

/// Tries per file when the connection breaks mid-body (the SDK retries the call itself).
const TRIES: usize = 3;

/// A digest is small; more than this is not one.
const MAX_DIGEST: u64 = 64 << 20;

/// Uncompressed, a delivered file is at most this (CloudTrail's are tens of MB): past it, a
/// file is not read further.
const MAX_INFLATED: u64 = 2 << 30;

pub(super) async fn fetch(
    s3: &S3,
    bucket: &str,
    req: &Request,
    reading: &tokio::sync::Semaphore,
    wanted: Wanted,
) -> Result<Got, Fail> {
    let mut last = String::new();
    for _ in 0..TRIES {
        match fetch_once(s3, bucket, req, reading, &wanted).await {
            Err(Fail::Again(e)) => last = e,
            other => return other,
        }
    }
    Err(Fail::Final(last))
}

async fn fetch_once(
    s3: &S3,
    bucket: &str,
    req: &Request,
    reading: &tokio::sync::Semaphore,
    wanted: &Wanted,
) -> Result<Got, Fail> {
    let at = format!("s3://{bucket}/{}", wanted.object.key);
    let path = &wanted.path;
    let recorded = req.recorded.get(path).cloned();
    if let Some(r) = &recorded {
        if r.source.as_deref() != Some(at.as_str()) {
            return Err(Fail::Changed(format!(
                "{}: the case's copy came from {}, not {at}: left as it is",
                path.display(),
                r.source.as_deref().unwrap_or("elsewhere")
            )));
        }
        if r.size != wanted.object.size {
            return Err(Fail::Changed(format!(
                "{at}: {} bytes now, {} when the case collected it: the object changed since",
                wanted.object.size, r.size
            )));
        }
    }
    let present = tokio::fs::symlink_metadata(path).await.is_ok();
    let (kind, is_digest) = match &wanted.named {
        Named::Log(n) => (Kind::Log(n.stamp), false),
        Named::Digest(_) => (Kind::Digest, true),
    };
    let (mut signature, mut signature_algorithm, mut received) = (None, None, None);
    if is_digest || !present {
        // A digest is always fetched: its signature lives beside it in S3.
        let body = s3::get(s3, bucket, &wanted.object.key)
            .await
            .map_err(|e| Fail::Final(e.to_string()))?;
        signature = body
            .metadata
            .get("signature")
            .filter(|s| is_hex(s))
            .cloned();
        signature_algorithm = body
            .metadata
            .get("signature-algorithm")
            .map(|a| a.chars().take(64).collect());
        let part = part_of(path);
        if !present {
            squall_core::files::private_dir(path.parent().unwrap_or(path))
                .map_err(|e| Fail::Final(format!("{}: {e}", path.display())))?;
        }
        let (sha256, size) =
            receive(body.stream, (!present).then_some(part.as_path()), &at).await?;
        let expected = wanted.object.size;
        if size != expected {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(Fail::Again(format!(
                "{at}: {size} bytes received, the listing said {expected}"
            )));
        }
        if !present {
            publish(&part, path).map_err(|e| Fail::Final(format!("{at}: {e}")))?;
        }
        received = Some(sha256);
    }
    // One pass over the case's copy: its digest as stored, and its content.
    let owned = path.clone();
    let copy = {
        // Decompressing is the work: as many at once as there are cores.
        let _permit = reading
            .acquire()
            .await
            .map_err(|e| Fail::Final(e.to_string()))?;
        tokio::task::spawn_blocking(move || read_copy(&owned, kind))
            .await
            .map_err(|e| Fail::Final(format!("{at}: {e}")))?
            .map_err(|e| Fail::Final(format!("{}: {e}", path.display())))?
    };
    match &received {
        Some(sha256) if *sha256 != copy.sha256 && present => {
            return Err(Fail::Changed(format!(
                "{}: the case's copy differs from {at} (sha256 {} here, {sha256} there): left as it is",
                path.display(),
                copy.sha256
            )));
        }
        Some(sha256) if *sha256 != copy.sha256 => {
            return Err(Fail::Final(format!(
                "{}: what was written is not what was received from {at}",
                path.display()
            )));
        }
        None if recorded.is_none() && copy.size != wanted.object.size => {
            return Err(Fail::Changed(format!(
                "{}: {} bytes, but {at} has {}: left as it is",
                path.display(),
                copy.size,
                wanted.object.size
            )));
        }
        _ => {}
    }
    if let Some(r) = &recorded
        && r.sha256 != copy.sha256
    {
        return Err(Fail::Changed(format!(
            "{}: changed since the case recorded it (sha256 {} then, {} now): left as it is",
            path.display(),
            r.sha256,
            copy.sha256
        )));
    }
    let (inflated_sha256, unreadable, summary, digest) = match copy.content {
        Ok((h, Said::Log(s))) => (Some(h), None, Some(s), None),
        Ok((h, Said::Digest(d))) => (Some(h), None, None, d.map(|d| *d)),
        Err(why) => (None, Some(format!("{at}: {why}")), None, None),
    };
    Ok(Got {
        wanted: wanted.clone(),
        sha256: copy.sha256,
        size: copy.size,
        recorded: recorded.is_some(),
        inflated_sha256,
        unreadable,
        summary,
        digest,
        signature,
        signature_algorithm,
    })
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len() <= 4096 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Streams a body into `part` (or, when `None`, only hashes it); returns its SHA-256 and size.
async fn receive(
    mut stream: aws_sdk_s3::primitives::ByteStream,
    part: Option<&Path>,
    at: &str,
) -> Result<(String, u64), Fail> {
    use tokio::io::AsyncWriteExt;
    let mut out = match part {
        Some(part) => {
            let _ = tokio::fs::remove_file(part).await;
            let file = squall_core::files::new_private_file(part)
                .map_err(|e| Fail::Final(format!("{}: {e}", part.display())))?;
            Some(tokio::fs::File::from_std(file))
        }
        None => None,
    };
    let mut hash = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Fail::Again(format!("{at}: the download broke off ({e})")))?;
        hash.update(&chunk);
        size += chunk.len() as u64;
        if let Some(file) = &mut out {
            file.write_all(&chunk)
                .await
                .map_err(|e| Fail::Final(format!("{at}: {e}")))?;
        }
    }
    if let Some(file) = out {
        file.sync_all()
            .await
            .map_err(|e| Fail::Final(format!("{at}: {e}")))?;
    }
    Ok((squall_core::digest::hex(&hash.finalize()), size))
}

/// `<path>.part`.
pub(super) fn part_of(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".part");
    PathBuf::from(p)
}

/// Gives a whole `.part` its name, only if nothing has it: a file the case holds is never
/// replaced, even by a second collection running at once.
pub(super) fn publish(part: &Path, path: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(part, path) {
        Ok(()) => std::fs::remove_file(part),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(part);
            Err(std::io::Error::new(
                e.kind(),
                format!("{} is already there: left as it is", path.display()),
            ))
        }
        Err(e) => Err(e),
    }
}

/// A stored file's SHA-256 and size.
pub(super) async fn hash_file(path: PathBuf) -> std::io::Result<(String, u64)> {
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path)?;
        let mut hash = Sha256::new();
        let size = std::io::copy(&mut file, &mut hash)?;
        Ok((squall_core::digest::hex(&hash.finalize()), size))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// What a stored file is read as: a log written at a time, or a digest.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Log(DateTime<Utc>),
    Digest,
}

/// What collecting reads of a stored file's content.
enum Said {
    /// What the records say.
    Log(Summary),
    /// The digest, if it reads as one.
    Digest(Option<Box<digest::Digest>>),
}

/// The case's copy of a file, read once.
struct Copy {
    /// As stored.
    sha256: String,
    size: u64,
    /// The uncompressed content's SHA-256 and what it says, or why it does not decompress.
    content: Result<(String, Said), String>,
}

/// Reads a stored file once: its digest and size as stored and, decompressing it in the same
/// pass, its content's digest and what collecting reads of it. Only a file that cannot be read
/// at all is an error; one that does not decompress is said in `content`.
fn read_copy(path: &Path, kind: Kind) -> std::io::Result<Copy> {
    let stored = Hashing::new(std::fs::File::open(path)?);
    let limit = match kind {
        Kind::Log(_) => MAX_INFLATED,
        Kind::Digest => MAX_DIGEST,
    };
    let mut inflated = Hashing::new(
        flate2::read::MultiGzDecoder::new(std::io::BufReader::new(stored)).take(limit + 1),
    );
    let read = match kind {
        Kind::Digest => {
            let mut bytes = Vec::new();
            inflated
                .read_to_end(&mut bytes)
                .map(|_| Said::Digest(serde_json::from_slice(&bytes).ok().map(Box::new)))
        }
        Kind::Log(stamp) => {
            let mut summary = Summary::default();
            // A file that is not CloudTrail JSON is still hashed; the hunt names what it finds.
            let _ = records::each_record(&mut inflated, &mut |h| summary.add(&h, stamp));
            std::io::copy(&mut inflated, &mut std::io::sink()).map(|_| Said::Log(summary))
        }
    };
    let content = match read {
        Err(e) => Err(format!("does not decompress ({e})")),
        Ok(_) if inflated.size > limit => Err(format!(
            "more than {limit} bytes uncompressed: not read further"
        )),
        Ok(r) => Ok((squall_core::digest::hex(&inflated.hash.finalize()), r)),
    };
    // Whatever the decompression did, every stored byte is hashed.
    let mut rest = inflated.inner.into_inner().into_inner();
    std::io::copy(&mut rest, &mut std::io::sink())?;
    let stored = rest.into_inner();
    Ok(Copy {
        sha256: squall_core::digest::hex(&stored.hash.finalize()),
        size: stored.size,
        content,
    })
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    size: u64,
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
            size: 0,
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// Log files by (account, region), with their stamps and paths.
pub(super) type Places = HashMap<(String, String), Vec<(DateTime<Utc>, PathBuf)>>;
