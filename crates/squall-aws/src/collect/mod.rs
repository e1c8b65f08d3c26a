//! `collect aws logs`: a trail's delivered files fetched from its bucket into the case, the
//! digests checked, and what the bucket cannot hold (the hours the trail was stopped, the
//! minutes not yet delivered) asked of `LookupEvents`.
//!
//! The collector never sees the case: it hands each finished file to a [`Sink`], which
//! records it (the workflow: as evidence, in batches), and returns what it found as the
//! ledger's own `logs.collected` payload. A file is written under a `.part` name and renamed
//! when whole, so a killed run leaves nothing that looks complete; a file already there is
//! hashed again and either matches its record, is recorded now (it was renamed but not yet
//! recorded), or is reported and left alone (it changed: evidence is never overwritten).

pub mod digest;
pub mod layout;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use aws_sdk_s3::Client as S3;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};
use squall_core::entry::{CollectedGap, LogsCollected};

use crate::services::{cloudtrail, s3};
use crate::{AwsError, Target, connect};
use layout::{DigestName, LogName};

/// Which logs to collect, and how: what the analyst chose, apart from the window.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Accounts whose logs to fetch; none means every account the bucket holds.
    pub accounts: Vec<String>,
    /// Regions to fetch; none means every region the bucket holds.
    pub regions: Vec<String>,
    /// The bucket and prefix, when the trail cannot be asked (or is not the one wanted).
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    /// The trail to read the bucket of (name or ARN), among several.
    pub trail: Option<String>,
    /// The account that holds the bucket (an organization's log archive), reached through
    /// the target's role.
    pub log_account: Option<String>,
    /// Downloads at once.
    pub parallel: usize,
    /// Whether to ask `LookupEvents` for what the bucket lacks.
    pub lookup: bool,
    /// At most this many events from `LookupEvents` in one run.
    pub lookup_limit: u64,
}

/// What to collect, and where to put it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub scope: Scope,
    /// Where log files go (`<case>/logs/aws`) and digests (`<case>/digests/aws`).
    pub logs_dir: PathBuf,
    pub digests_dir: PathBuf,
    /// Files the case already records, by path, with their SHA-256.
    pub recorded: HashMap<PathBuf, String>,
}

/// A file ready to be recorded as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// `s3://bucket/key` or `cloudtrail:LookupEvents ...`.
    pub source: String,
    pub description: String,
    pub kind: FileKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Log,
    Digest,
    Lookup,
}

/// How far the collection is, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// What the listing found to fetch.
    Listed { files: u64, bytes: u64 },
    /// One more file fetched (or found already there).
    Fetched { bytes: u64 },
    /// A phase begins (listing, checking digests, asking LookupEvents).
    Phase(String),
}

/// Where the collector puts what it finds.
pub trait Sink {
    /// Records finished files; an error stops the collection (nothing unrecorded is lost:
    /// the files stay, and a second run records them).
    fn record(&mut self, files: &[File]) -> Result<(), String>;
    fn progress(&mut self, progress: Progress);
}

/// Files recorded together, so that a long collection is not a transaction a file.
const BATCH: usize = 64;

/// Tries per file when the connection breaks mid-body (the SDK retries the call itself).
const TRIES: usize = 3;

/// Delivery lags: a file written up to this long after `until` may hold events before it.
fn delivery_lag() -> Duration {
    Duration::hours(1)
}

/// Collects the trail's files for the window. Errors only when nothing can be collected
/// (no credentials, no bucket); everything else is in the report.
pub async fn collect(
    target: &Target,
    req: &Request,
    sink: &mut dyn Sink,
) -> Result<LogsCollected, AwsError> {
    let now = Utc::now();
    let until = req.until.unwrap_or(now).min(now);
    let since = req.since.unwrap_or(until - Duration::days(1));
    let mut report = LogsCollected {
        provider: "aws".into(),
        since: stamp(since),
        until: stamp(until),
        ..LogsCollected::default()
    };
    let home = connect(target).await;
    let caller = crate::identity(&aws_sdk_sts::Client::new(&home)).await?;

    sink.progress(Progress::Phase("finding the trail's bucket".into()));
    let trails = cloudtrail::deliveries(&aws_sdk_cloudtrail::Client::new(&home)).await;
    let chosen = match &trails {
        Ok(trails) => choose(trails, req.scope.trail.as_deref(), &mut report.warnings),
        Err(e) => {
            report
                .warnings
                .push(format!("the trails could not be read: {e}"));
            None
        }
    };
    let (bucket, prefix) = match (&req.scope.bucket, &chosen) {
        (Some(b), _) => (b.clone(), req.scope.prefix.clone()),
        (None, Some(t)) if t.bucket.is_some() => {
            (t.bucket.clone().unwrap_or_default(), t.prefix.clone())
        }
        _ => {
            return Err(AwsError::Call {
                call: "cloudtrail:DescribeTrails",
                on: String::new(),
                message: "no trail delivering to S3 was found (help: --bucket and --prefix name where the logs are)".into(),
            });
        }
    };
    report.trail = chosen.as_ref().map(|t| t.arn.clone());
    report.source = format!(
        "s3://{bucket}/{}",
        prefix
            .as_deref()
            .map(|p| format!("{}/", p.trim_matches('/')))
            .unwrap_or_default()
    );
    let stopped = match &chosen {
        Some(t) => {
            match cloudtrail::trail_status(&aws_sdk_cloudtrail::Client::new(&home), &t.arn).await {
                Ok(s) if !s.logging => Some(
                    s.stopped_at
                        .as_deref()
                        .and_then(digest::time)
                        .unwrap_or(since)
                        .max(since),
                ),
                Ok(_) => None,
                Err(e) => {
                    report
                        .warnings
                        .push(format!("whether the trail logs now is unknown: {e}"));
                    None
                }
            }
        }
        None => None,
    };

    let store = match &req.scope.log_account {
        Some(account) => connect(&target.in_account(account)).await,
        None => home.clone(),
    };
    let s3 = s3_client(&store, &bucket).await?;
    sink.progress(Progress::Phase(format!("listing s3://{bucket}")));
    let found = list(
        &s3,
        &bucket,
        prefix.as_deref(),
        req,
        since,
        until,
        &mut report,
    )
    .await?;
    report.accounts = found.accounts.iter().cloned().collect();
    report.regions = found.regions.iter().cloned().collect();
    sink.progress(Progress::Listed {
        files: (found.logs.len() + found.digests.len()) as u64,
        bytes: found
            .logs
            .iter()
            .chain(&found.digests)
            .map(|o| o.object.size)
            .sum(),
    });

    // The files, fetched in parallel; recorded in batches as they finish.
    let fetched = fetch_all(&s3, &bucket, req, &found, sink, &mut report).await?;

    sink.progress(Progress::Phase("checking the digests".into()));
    let keys = public_keys(&home, &fetched.digests).await;
    let listed = |key: &str| {
        key.rsplit_once('/')
            .is_some_and(|(folder, _)| found.listed.contains(&format!("{folder}/")))
    };
    let checked = digest::check(
        &fetched.digests,
        &fetched.logs,
        &listed,
        &|region, fingerprint| match keys.get(region) {
            Some(Ok(keys)) => keys
                .iter()
                .find(|k| k.fingerprint == fingerprint)
                .map(|k| k.der.clone())
                .ok_or_else(|| format!("no public key with fingerprint {fingerprint} in {region}")),
            Some(Err(e)) => Err(format!("public keys of {region} not fetched ({e})")),
            None => Err(format!("public keys of {region} not fetched")),
        },
    );
    report.digests = fetched.digests.len() as u64;
    report.digests_verified = checked.verified;
    report.integrity.extend(checked.failures);
    report.unchecked.extend(checked.unchecked);
    if fetched.digests.is_empty() && !fetched.logs.is_empty() {
        report.unchecked.push(
            "no digest files in the window: log file validation is off, so nothing shows whether files were altered or deleted".into(),
        );
    }

    // What the bucket lacks.
    let mut gaps: Vec<digest::Gap> = checked.gaps;
    for (account, region) in found.places() {
        let newest = fetched
            .newest
            .get(&(account.clone(), region.clone()))
            .copied()
            .unwrap_or(since)
            .max(since);
        if until > newest {
            gaps.push(digest::Gap {
                account: account.clone(),
                region: region.clone(),
                from: newest,
                to: until,
                why: "after the newest delivered event".into(),
            });
        }
        if let Some(from) = stopped {
            gaps.push(digest::Gap {
                account: account.clone(),
                region: region.clone(),
                from,
                to: until,
                why: "the trail is not logging".into(),
            });
        }
        for (from, to) in fetched.stops.get(&account).into_iter().flatten() {
            gaps.push(digest::Gap {
                account: account.clone(),
                region: region.clone(),
                from: (*from).max(since),
                to: to.unwrap_or(until).min(until),
                why: "the trail was stopped (StopLogging)".into(),
            });
        }
    }
    let gaps = merge(gaps);
    if req.scope.lookup {
        sink.progress(Progress::Phase(
            "asking LookupEvents for what the bucket lacks".into(),
        ));
        fill(
            target,
            &home,
            &caller.account,
            req,
            &gaps,
            &fetched,
            sink,
            &mut report,
            now,
        )
        .await?;
    } else {
        report.gaps = gaps
            .into_iter()
            .map(|g| CollectedGap {
                account: g.account,
                region: g.region,
                from: stamp(g.from),
                to: stamp(g.to),
                why: g.why,
                events: 0,
                path: None,
            })
            .collect();
    }
    Ok(report)
}

/// The trail to read: the one named, else the organization's, multi-region, validated one.
fn choose(
    trails: &[cloudtrail::Delivery],
    wanted: Option<&str>,
    warnings: &mut Vec<String>,
) -> Option<cloudtrail::Delivery> {
    if let Some(w) = wanted {
        let found = trails.iter().find(|t| t.name == w || t.arn == w).cloned();
        if found.is_none() {
            warnings.push(format!("no trail named {w} is visible here"));
        }
        return found;
    }
    let mut usable: Vec<&cloudtrail::Delivery> =
        trails.iter().filter(|t| t.bucket.is_some()).collect();
    usable.sort_by_key(|t| {
        (
            !t.organization,
            !t.multi_region,
            !t.validation,
            t.arn.clone(),
        )
    });
    let first = usable.first().copied().cloned();
    let others: BTreeSet<&str> = usable
        .iter()
        .skip(1)
        .filter(|t| t.bucket != first.as_ref().and_then(|f| f.bucket.clone()))
        .map(|t| t.name.as_str())
        .collect();
    if let Some(f) = &first
        && !others.is_empty()
    {
        warnings.push(format!(
            "collecting trail {} only; other trails deliver elsewhere ({}): --trail picks one",
            f.name,
            others.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    first
}

/// An S3 client in the bucket's own region (path-style when the endpoint is a test server).
async fn s3_client(config: &crate::SdkConfig, bucket: &str) -> Result<S3, AwsError> {
    let path_style = config.endpoint_url().is_some();
    let base = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    let region = s3::bucket_region(&S3::from_conf(base), bucket).await?;
    Ok(S3::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .region(aws_sdk_s3::config::Region::new(region))
            .build(),
    ))
}

/// An object to fetch, with what its name says.
#[derive(Debug, Clone)]
struct Wanted {
    object: s3::Object,
    log: Option<LogName>,
    digest: Option<DigestName>,
}

/// What the listing found.
#[derive(Debug, Default)]
struct Found {
    logs: Vec<Wanted>,
    digests: Vec<Wanted>,
    /// Every day folder listed (`…/YYYY/MM/DD/`).
    listed: HashSet<String>,
    accounts: BTreeSet<String>,
    regions: BTreeSet<String>,
    /// The (account, region) folders that exist.
    places: BTreeSet<(String, String)>,
}

impl Found {
    fn places(&self) -> Vec<(String, String)> {
        self.places.iter().cloned().collect()
    }
}

/// Finds the accounts and regions under the logs' root (an organization's layout too), then
/// lists only the day folders of the window.
async fn list(
    s3: &S3,
    bucket: &str,
    prefix: Option<&str>,
    req: &Request,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    report: &mut LogsCollected,
) -> Result<Found, AwsError> {
    let root = layout::logs_root(prefix);
    let top = s3::folders(s3, bucket, &root).await?;
    let mut homes: Vec<(String, String)> = Vec::new(); // (base, account)
    for name in &top {
        if layout::is_account(name) {
            homes.push((root.clone(), name.clone()));
        } else if layout::is_organization(name) {
            let base = format!("{root}{name}/");
            for account in s3::folders(s3, bucket, &base).await? {
                if layout::is_account(&account) {
                    homes.push((base.clone(), account));
                }
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
    let wanted = |list: &[String], v: &str| list.is_empty() || list.iter().any(|w| w == v);
    for a in &req.scope.accounts {
        if !homes.iter().any(|(_, h)| h == a) {
            report
                .warnings
                .push(format!("s3://{bucket}/{root} holds no logs of account {a}"));
        }
    }
    homes.retain(|(_, a)| wanted(&req.scope.accounts, a));
    let mut found = Found::default();
    let mut days: Vec<(String, String, String, &'static str, chrono::NaiveDate)> = Vec::new();
    for (base, account) in &homes {
        let regions = s3::folders(s3, bucket, &format!("{base}{account}/CloudTrail/")).await?;
        let digest_regions =
            s3::folders(s3, bucket, &format!("{base}{account}/CloudTrail-Digest/"))
                .await
                .unwrap_or_default();
        for region in regions
            .iter()
            .filter(|r| layout::is_region(r) && wanted(&req.scope.regions, r))
        {
            found.places.insert((account.clone(), region.clone()));
            for day in layout::days(since, until + delivery_lag()) {
                days.push((
                    base.clone(),
                    account.clone(),
                    region.clone(),
                    "CloudTrail",
                    day,
                ));
            }
        }
        for region in digest_regions
            .iter()
            .filter(|r| layout::is_region(r) && wanted(&req.scope.regions, r))
        {
            for day in layout::days(since, until + delivery_lag() * 2) {
                days.push((
                    base.clone(),
                    account.clone(),
                    region.clone(),
                    "CloudTrail-Digest",
                    day,
                ));
            }
        }
        found.accounts.insert(account.clone());
    }
    for r in &req.scope.regions {
        if !found.places.iter().any(|(_, p)| p == r) {
            report
                .warnings
                .push(format!("s3://{bucket}/{root} holds no logs of region {r}"));
        }
    }
    found.regions = found.places.iter().map(|(_, r)| r.clone()).collect();
    let listings = futures_util::stream::iter(days.into_iter().map(
        |(base, account, region, folder, day)| {
            let prefix = layout::day_prefix(&base, &account, folder, &region, day);
            async move {
                let objects = s3::objects(s3, bucket, &prefix).await;
                (prefix, account, region, folder, objects)
            }
        },
    ))
    .buffer_unordered(req.scope.parallel.max(1))
    .collect::<Vec<_>>()
    .await;
    let mut odd = Vec::new();
    for (prefix, account, region, folder, objects) in listings {
        let objects = match objects {
            Ok(o) => o,
            Err(e) => {
                report
                    .failures
                    .push(format!("{e}: the files there were not collected"));
                continue;
            }
        };
        found.listed.insert(prefix.clone());
        for object in objects {
            let name = object.key.strip_prefix(&prefix).unwrap_or_default();
            if folder == "CloudTrail" {
                match layout::log_name(name) {
                    Some(n) if n.account == account && n.region == region => {
                        if n.stamp >= since && n.stamp <= until + delivery_lag() {
                            found.logs.push(Wanted {
                                object,
                                log: Some(n),
                                digest: None,
                            });
                        }
                    }
                    _ => odd.push(object.key),
                }
            } else {
                match layout::digest_name(name) {
                    Some(n) if n.account == account && n.region == region => {
                        if n.end >= since && n.end <= until + delivery_lag() * 2 {
                            found.digests.push(Wanted {
                                object,
                                log: None,
                                digest: Some(n),
                            });
                        }
                    }
                    _ => odd.push(object.key),
                }
            }
        }
    }
    if !odd.is_empty() {
        odd.sort();
        report.warnings.push(format!(
            "{} object(s) among the logs are not named as CloudTrail names its files and were not collected: {}{}",
            odd.len(),
            odd.iter().take(5).map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", "),
            if odd.len() > 5 { ", ..." } else { "" }
        ));
    }
    found.logs.sort_by(|a, b| a.object.key.cmp(&b.object.key));
    found
        .digests
        .sort_by(|a, b| a.object.key.cmp(&b.object.key));
    Ok(found)
}

/// An account and a region.
type Place = (String, String);

/// When a trail was stopped, and started again (if it was).
type Stopped = (DateTime<Utc>, Option<DateTime<Utc>>);

/// The times of an account's StopLogging and StartLogging calls.
type StopsAndStarts = (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>);

/// What fetching found, for the digests' check and the gaps.
#[derive(Debug, Default)]
struct Fetched {
    /// By key.
    logs: HashMap<String, digest::Log>,
    digests: Vec<digest::Fetched>,
    /// The newest event delivered, by (account, region).
    newest: HashMap<(String, String), DateTime<Utc>>,
    /// When each account's trail was stopped, and started again (if it was).
    stops: HashMap<String, Vec<Stopped>>,
    /// Log files by (account, region), with their paths and stamps: where `LookupEvents`'
    /// events are looked for before being written again.
    paths: HashMap<Place, Vec<(DateTime<Utc>, PathBuf)>>,
}

/// One file fetched (or found already there) and read.
struct Got {
    wanted: Wanted,
    path: PathBuf,
    sha256: String,
    size: u64,
    inflated_sha256: String,
    /// Already recorded by the case.
    recorded: bool,
    signature: Option<String>,
    read: Option<Read_>,
    digest: Option<digest::Digest>,
}

/// What a log file's records say that collecting needs.
#[derive(Debug, Default)]
struct Read_ {
    newest: Option<DateTime<Utc>>,
    stops: Vec<DateTime<Utc>>,
    starts: Vec<DateTime<Utc>>,
}

async fn fetch_all(
    s3: &S3,
    bucket: &str,
    req: &Request,
    found: &Found,
    sink: &mut dyn Sink,
    report: &mut LogsCollected,
) -> Result<Fetched, AwsError> {
    let jobs = found.logs.iter().chain(&found.digests).cloned();
    let mut results = futures_util::stream::iter(jobs.map(|w| fetch_one(s3, bucket, req, w)))
        .buffer_unordered(req.scope.parallel.max(1));
    let mut out = Fetched::default();
    let mut batch = Vec::new();
    let mut stops: HashMap<String, StopsAndStarts> = HashMap::new();
    while let Some(result) = results.next().await {
        let got = match result {
            Ok(g) => g,
            Err(e) => {
                report.failures.push(e);
                continue;
            }
        };
        sink.progress(Progress::Fetched { bytes: got.size });
        report.files += 1;
        report.bytes += got.size;
        let source = format!("s3://{bucket}/{}", got.wanted.object.key);
        let file = |description: String, kind| File {
            path: got.path.clone(),
            sha256: got.sha256.clone(),
            size: got.size,
            source: source.clone(),
            description,
            kind,
        };
        if let Some(n) = &got.wanted.log {
            let place = (n.account.clone(), n.region.clone());
            out.logs.insert(
                got.wanted.object.key.clone(),
                digest::Log {
                    account: n.account.clone(),
                    region: n.region.clone(),
                    stamp: n.stamp,
                    inflated_sha256: got.inflated_sha256.clone(),
                },
            );
            out.paths
                .entry(place.clone())
                .or_default()
                .push((n.stamp, got.path.clone()));
            if let Some(read) = &got.read {
                if let Some(t) = read.newest {
                    let newest = out.newest.entry(place).or_insert(t);
                    *newest = (*newest).max(t);
                }
                let s = stops.entry(n.account.clone()).or_default();
                s.0.extend(&read.stops);
                s.1.extend(&read.starts);
            }
            if !got.recorded {
                batch.push(file(
                    format!(
                        "CloudTrail log file of account {}, region {}, delivered {} (ETag {})",
                        n.account,
                        n.region,
                        stamp(n.stamp),
                        got.wanted.object.etag
                    ),
                    FileKind::Log,
                ));
            }
        } else if let (Some(n), Some(d)) = (&got.wanted.digest, &got.digest) {
            out.digests.push(digest::Fetched {
                bucket: bucket.to_string(),
                key: got.wanted.object.key.clone(),
                region: n.region.clone(),
                trail: n.trail.clone(),
                inflated_sha256: got.inflated_sha256.clone(),
                signature: got.signature.clone(),
                digest: d.clone(),
            });
            if !got.recorded {
                batch.push(file(
                    format!(
                        "CloudTrail digest file of trail {}, account {}, region {}, ending {}{}",
                        n.trail,
                        n.account,
                        n.region,
                        stamp(n.end),
                        got.signature
                            .as_deref()
                            .map(|s| format!(", signature {s}"))
                            .unwrap_or_default()
                    ),
                    FileKind::Digest,
                ));
            }
        }
        if got.recorded {
            report.already += 1;
        }
        if batch.len() >= BATCH {
            sink.record(&batch).map_err(recording)?;
            batch.clear();
        }
    }
    sink.record(&batch).map_err(recording)?;
    for (account, (mut stopped, mut started)) in stops {
        stopped.sort();
        started.sort();
        let spans = out.stops.entry(account).or_default();
        for s in stopped {
            spans.push((s, started.iter().find(|t| **t > s).copied()));
        }
    }
    Ok(out)
}

fn recording(e: String) -> AwsError {
    AwsError::Call {
        call: "recording",
        on: String::new(),
        message: e,
    }
}

/// Fetches one object into its place (or takes the copy already there) and reads it.
async fn fetch_one(s3: &S3, bucket: &str, req: &Request, wanted: Wanted) -> Result<Got, String> {
    let key = wanted.object.key.clone();
    let name = key.rsplit('/').next().unwrap_or_default().to_string();
    let (dir, is_log) = match (&wanted.log, &wanted.digest) {
        (Some(n), _) => (
            req.logs_dir
                .join(&n.account)
                .join(&n.region)
                .join(n.stamp.format("%Y/%m/%d").to_string()),
            true,
        ),
        (_, Some(n)) => (
            req.digests_dir
                .join(&n.account)
                .join(&n.region)
                .join(n.end.format("%Y/%m/%d").to_string()),
            false,
        ),
        _ => return Err(format!("s3://{bucket}/{key}: not a CloudTrail file")),
    };
    let path = dir.join(&name);
    let mut last = String::new();
    for _ in 0..TRIES {
        match fetch_into(s3, bucket, &key, &dir, &path, &wanted, req, is_log).await {
            Ok(got) => return Ok(got),
            Err(Fail::Final(e)) => return Err(e),
            Err(Fail::Again(e)) => last = e,
        }
    }
    Err(last)
}

enum Fail {
    /// Worth another try (the body broke off).
    Again(String),
    /// Not (the call failed after the SDK's retries, or the copy here differs).
    Final(String),
}

#[allow(clippy::too_many_arguments)]
async fn fetch_into(
    s3: &S3,
    bucket: &str,
    key: &str,
    dir: &Path,
    path: &Path,
    wanted: &Wanted,
    req: &Request,
    is_log: bool,
) -> Result<Got, Fail> {
    let at = format!("s3://{bucket}/{key}");
    let recorded = req.recorded.get(path).cloned();
    let present = tokio::fs::symlink_metadata(path).await.is_ok();
    // A digest is always fetched again: its signature lives beside it in S3.
    let (signature, body) = if is_log && present {
        (None, None)
    } else {
        let body = s3::get(s3, bucket, key)
            .await
            .map_err(|e| Fail::Final(e.to_string()))?;
        (body.metadata.get("signature").cloned(), Some(body))
    };
    let mut received = None;
    if let Some(body) = body {
        let write_to = if present { None } else { Some(path) };
        received = Some(receive(body, dir, write_to, &at).await?);
    }
    let owned = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || inspect(&owned, is_log))
        .await
        .map_err(|e| Fail::Final(format!("{at}: {e}")))?
        .map_err(|e| Fail::Final(format!("{at}: {} cannot be read: {e}", path.display())))?;
    if let Some((sha256, size)) = &received {
        if *size != wanted.object.size && wanted.object.size != 0 {
            return Err(Fail::Again(format!(
                "{at}: {size} bytes received, the listing said {}",
                wanted.object.size
            )));
        }
        if *sha256 != read.sha256 {
            let why = if present {
                format!(
                    "{at}: the copy in the case ({}) differs from the bucket's: left as it is",
                    path.display()
                )
            } else {
                format!(
                    "{at}: what was written to {} is not what was received",
                    path.display()
                )
            };
            return Err(Fail::Final(why));
        }
    }
    if let Some(r) = &recorded
        && *r != read.sha256
    {
        return Err(Fail::Final(format!(
            "{}: changed since the case recorded it (sha256 {r} then, {} now): left as it is",
            path.display(),
            read.sha256
        )));
    }
    Ok(Got {
        wanted: wanted.clone(),
        path: path.to_path_buf(),
        sha256: read.sha256,
        size: read.size,
        inflated_sha256: read.inflated_sha256,
        recorded: recorded.is_some(),
        signature,
        read: read.records,
        digest: read.digest,
    })
}

/// Streams a body into `<path>.part` (then renamed) or, when `path` is `None`, only hashes it;
/// returns its SHA-256 and size.
async fn receive(
    body: s3::Body,
    dir: &Path,
    path: Option<&Path>,
    at: &str,
) -> Result<(String, u64), Fail> {
    use tokio::io::AsyncWriteExt;
    let mut out = match path {
        Some(path) => {
            crate_dir(dir).map_err(|e| Fail::Final(format!("{}: {e}", dir.display())))?;
            let part = part_of(path);
            let _ = tokio::fs::remove_file(&part).await;
            let file =
                new_file(&part).map_err(|e| Fail::Final(format!("{}: {e}", part.display())))?;
            Some((tokio::fs::File::from_std(file), part))
        }
        None => None,
    };
    let mut stream = body.stream;
    let mut hash = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Fail::Again(format!("{at}: the download broke off ({e})")))?;
        hash.update(&chunk);
        size += chunk.len() as u64;
        if let Some((file, part)) = &mut out {
            file.write_all(&chunk)
                .await
                .map_err(|e| Fail::Final(format!("{}: {e}", part.display())))?;
        }
    }
    if let (Some((file, part)), Some(path)) = (out, path) {
        file.sync_all()
            .await
            .map_err(|e| Fail::Final(format!("{}: {e}", part.display())))?;
        tokio::fs::rename(&part, path)
            .await
            .map_err(|e| Fail::Final(format!("{}: {e}", path.display())))?;
    }
    Ok((squall_core::digest::hex(&hash.finalize()), size))
}

fn part_of(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".part");
    PathBuf::from(p)
}

/// Owner-only folders and files, as everything in a case's folder.
fn crate_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn new_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// A file read once: its digest as stored, its content's digest, and what its records say.
struct Inspected {
    sha256: String,
    size: u64,
    inflated_sha256: String,
    records: Option<Read_>,
    digest: Option<digest::Digest>,
}

/// Reads a stored `.json.gz` file once: hashes it as stored and uncompressed, and reads what
/// the collection needs of it (a log's event times and trail stops; a digest's content).
fn inspect(path: &Path, is_log: bool) -> std::io::Result<Inspected> {
    let file = std::fs::File::open(path)?;
    let stored = Hashing::new(file);
    let mut inflated = Hashing::new(flate2::read::MultiGzDecoder::new(stored));
    let mut buffered = std::io::BufReader::new(&mut inflated);
    let (records, digest) = if is_log {
        let parsed: Result<Delivered, _> = serde_json::from_reader(&mut buffered);
        (parsed.ok().map(|d| d.summary()), None)
    } else {
        (
            None,
            serde_json::from_reader::<_, digest::Digest>(&mut buffered).ok(),
        )
    };
    // What the parser left (or all of it, when it gave up) is hashed too.
    std::io::copy(&mut buffered, &mut std::io::sink())?;
    drop(buffered);
    let inflated_sha256 = inflated.finish().0;
    let (sha256, size) = inflated.inner.get_mut().finish();
    Ok(Inspected {
        sha256,
        size,
        inflated_sha256,
        records,
        digest,
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
    fn finish(&mut self) -> (String, u64) {
        (
            squall_core::digest::hex(&std::mem::take(&mut self.hash).finalize()),
            self.size,
        )
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

/// A delivered file's records, as far as collecting reads them.
#[derive(serde::Deserialize)]
struct Delivered {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}

#[derive(serde::Deserialize)]
struct Record {
    #[serde(rename = "eventTime", default)]
    time: Option<String>,
    #[serde(rename = "eventName", default)]
    name: Option<String>,
    #[serde(rename = "errorCode", default)]
    error: Option<serde::de::IgnoredAny>,
    #[serde(rename = "eventID", default)]
    id: Option<String>,
}

impl Delivered {
    fn summary(&self) -> Read_ {
        let mut read = Read_::default();
        for r in &self.records {
            let Some(t) = r.time.as_deref().and_then(digest::time) else {
                continue;
            };
            read.newest = Some(read.newest.map_or(t, |n| n.max(t)));
            if r.error.is_none() {
                match r.name.as_deref() {
                    Some("StopLogging" | "DeleteTrail") => read.stops.push(t),
                    Some("StartLogging" | "CreateTrail") => read.starts.push(t),
                    _ => {}
                }
            }
        }
        read
    }
}

/// Merges overlapping gaps of the same place; their reasons are joined.
fn merge(mut gaps: Vec<digest::Gap>) -> Vec<digest::Gap> {
    gaps.retain(|g| g.to > g.from);
    gaps.sort_by(|a, b| (&a.account, &a.region, a.from).cmp(&(&b.account, &b.region, b.from)));
    let mut out: Vec<digest::Gap> = Vec::new();
    for g in gaps {
        match out.last_mut() {
            Some(last)
                if last.account == g.account && last.region == g.region && g.from <= last.to =>
            {
                last.to = last.to.max(g.to);
                if !last.why.contains(&g.why) {
                    last.why = format!("{}; {}", last.why, g.why);
                }
            }
            _ => out.push(g),
        }
    }
    out
}

/// The public keys of every region with digests, for the digests' time span.
async fn public_keys(
    config: &crate::SdkConfig,
    digests: &[digest::Fetched],
) -> HashMap<String, Result<Vec<cloudtrail::PublicKey>, String>> {
    let mut spans: BTreeMap<&str, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for d in digests {
        if let (Some(s), Some(e)) = (
            digest::time(&d.digest.digest_start_time),
            digest::time(&d.digest.digest_end_time),
        ) {
            let span = spans.entry(&d.region).or_insert((s, e));
            span.0 = span.0.min(s);
            span.1 = span.1.max(e);
        }
    }
    let mut keys = HashMap::new();
    for (region, (start, end)) in spans {
        let client = aws_sdk_cloudtrail::Client::from_conf(
            aws_sdk_cloudtrail::config::Builder::from(config)
                .region(aws_sdk_cloudtrail::config::Region::new(region.to_string()))
                .build(),
        );
        let found = cloudtrail::public_keys(&client, start, end)
            .await
            .map_err(|e| e.to_string());
        keys.insert(region.to_string(), found);
    }
    keys
}

/// Asks `LookupEvents` for each gap, in the gap's account and region, and writes what the
/// collected files do not already hold as a file of CloudTrail records.
#[allow(clippy::too_many_arguments)]
async fn fill(
    target: &Target,
    home: &crate::SdkConfig,
    caller: &str,
    req: &Request,
    gaps: &[digest::Gap],
    fetched: &Fetched,
    sink: &mut dyn Sink,
    report: &mut LogsCollected,
    now: DateTime<Utc>,
) -> Result<(), AwsError> {
    let oldest = now - Duration::days(90);
    let mut budget = req.scope.lookup_limit;
    let mut configs: HashMap<String, Option<crate::SdkConfig>> = HashMap::new();
    for g in gaps {
        let mut gap = CollectedGap {
            account: g.account.clone(),
            region: g.region.clone(),
            from: stamp(g.from),
            to: stamp(g.to),
            why: g.why.clone(),
            events: 0,
            path: None,
        };
        let config = match configs.get(&g.account) {
            Some(c) => c.clone(),
            None => {
                let c = if g.account == caller {
                    Some(home.clone())
                } else if target.role_name.is_some() {
                    Some(connect(&target.in_account(&g.account)).await)
                } else {
                    report.warnings.push(format!(
                        "account {}: LookupEvents not asked (its events are only visible from inside it: --role-name)",
                        g.account
                    ));
                    None
                };
                configs.insert(g.account.clone(), c.clone());
                c
            }
        };
        let from = g.from.max(oldest);
        match config {
            Some(config) if g.to > from && budget > 0 => {
                match lookup(&config, g, from, req, fetched, &mut budget, report).await {
                    Ok(Some(file)) => {
                        gap.events = file.1;
                        gap.path = Some(file.0.path.display().to_string());
                        sink.record(std::slice::from_ref(&file.0))
                            .map_err(recording)?;
                    }
                    Ok(None) => {}
                    Err(e) => report.failures.push(format!(
                        "account {} region {}: the gap {}..{} was not filled: {e}",
                        g.account, g.region, gap.from, gap.to
                    )),
                }
            }
            _ => {}
        }
        report.gaps.push(gap);
    }
    if budget == 0 {
        report.warnings.push(format!(
            "LookupEvents stopped at --lookup-limit {} events: some gaps are only partly filled",
            req.scope.lookup_limit
        ));
    }
    Ok(())
}

/// One gap's events, less those the collection already holds, written to a file.
async fn lookup(
    config: &crate::SdkConfig,
    g: &digest::Gap,
    from: DateTime<Utc>,
    req: &Request,
    fetched: &Fetched,
    budget: &mut u64,
    report: &mut LogsCollected,
) -> Result<Option<(File, u64)>, String> {
    let client = aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(config)
            .region(aws_sdk_cloudtrail::config::Region::new(g.region.clone()))
            .build(),
    );
    let dir = req.logs_dir.join(&g.account).join(&g.region).join("lookup");
    let known = {
        let files: Vec<PathBuf> = fetched
            .paths
            .get(&(g.account.clone(), g.region.clone()))
            .into_iter()
            .flatten()
            .filter(|(stamp, _)| *stamp >= from)
            .map(|(_, p)| p.clone())
            .chain(
                std::fs::read_dir(&dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json")),
            )
            .collect();
        let (from, to) = (from, g.to);
        tokio::task::spawn_blocking(move || known_ids(&files, from, to))
            .await
            .map_err(|e| e.to_string())?
    };
    let mut events: Vec<(String, String)> = Vec::new(); // (time, record)
    let mut token = None;
    loop {
        let (page, next) = cloudtrail::lookup_page(&client, from, g.to, token)
            .await
            .map_err(|e| e.to_string())?;
        for raw in page {
            let Ok(head) = serde_json::from_str::<Record>(&raw) else {
                report.warnings.push(format!(
                    "account {} region {}: LookupEvents gave an event that is not a CloudTrail record; left out",
                    g.account, g.region
                ));
                continue;
            };
            if head.id.as_ref().is_some_and(|id| known.contains(id)) {
                continue;
            }
            *budget = budget.saturating_sub(1);
            events.push((head.time.unwrap_or_default(), raw));
        }
        if next.is_none() || *budget == 0 {
            break;
        }
        token = next;
    }
    if events.is_empty() {
        return Ok(None);
    }
    events.sort();
    let name = format!(
        "{}_LookupEvents_{}_{}_{}.json",
        g.account,
        g.region,
        g.from.format("%Y%m%dT%H%M%SZ"),
        g.to.format("%Y%m%dT%H%M%SZ")
    );
    let path = dir.join(&name);
    let mut text = String::from("{\"Records\":[");
    for (i, (_, raw)) in events.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(raw.trim());
    }
    text.push_str("]}\n");
    crate_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if tokio::fs::symlink_metadata(&path).await.is_ok() {
        return Err(format!(
            "{} is already there: left as it is",
            path.display()
        ));
    }
    let part = part_of(&path);
    let _ = std::fs::remove_file(&part);
    {
        use std::io::Write;
        let mut f = new_file(&part).map_err(|e| format!("{}: {e}", part.display()))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("{}: {e}", part.display()))?;
    }
    std::fs::rename(&part, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    let n = events.len() as u64;
    Ok(Some((
        File {
            path,
            sha256: digest::sha256_hex(text.as_bytes()),
            size: text.len() as u64,
            source: format!(
                "cloudtrail:LookupEvents account {} region {} from {} to {}",
                g.account,
                g.region,
                stamp(from),
                stamp(g.to)
            ),
            description: format!(
                "{n} CloudTrail event(s) from LookupEvents of account {}, region {}, {} to {} ({}), not in the delivered files",
                g.account,
                g.region,
                stamp(from),
                stamp(g.to),
                g.why
            ),
            kind: FileKind::Lookup,
        },
        n,
    )))
}

/// The event ids already collected between two times, from delivered files (gz) and earlier
/// `LookupEvents` files (plain JSON).
fn known_ids(files: &[PathBuf], from: DateTime<Utc>, to: DateTime<Utc>) -> HashSet<String> {
    let mut ids = HashSet::new();
    for path in files {
        let Ok(file) = std::fs::File::open(path) else {
            continue;
        };
        let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
                file,
            )))
        } else {
            Box::new(std::io::BufReader::new(file))
        };
        let Ok(d) = serde_json::from_reader::<_, Delivered>(reader) else {
            continue;
        };
        for r in d.records {
            let within = r.time.as_deref().and_then(digest::time).is_some_and(|t| {
                t >= from - Duration::minutes(1) && t <= to + Duration::minutes(1)
            });
            if let (true, Some(id)) = (within, r.id) {
                ids.insert(id);
            }
        }
    }
    ids
}

/// RFC 3339 in seconds, `Z`.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
