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
mod fetch;
pub mod layout;
mod lookup;
pub mod records;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use aws_sdk_s3::Client as S3;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures_util::StreamExt;
use squall_core::entry::{CollectedGap, LogsCollected};

use crate::services::{cloudtrail, s3};
use crate::{AwsError, Target, connect};
use fetch::{Fail, Named};

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
    /// Files the case already records, by path.
    pub recorded: HashMap<PathBuf, Recorded>,
}

/// A file as the case recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub sha256: String,
    pub size: u64,
    /// Where it came from (`s3://bucket/key`).
    pub source: Option<String>,
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

/// How late a file may be delivered after the events it holds: one written up to this long
/// after `until` is fetched (digests, hourly, up to twice this).
fn lag() -> Duration {
    Duration::hours(1)
}

/// At most this many lines in each of the report's lists; the rest are counted.
const MAX_LINES: usize = 1000;

/// Collects the trail's files for the window. Errors only when nothing can be collected
/// (no credentials, no bucket) or the case cannot record; everything else is in the report.
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
    let trails = match cloudtrail::deliveries(&aws_sdk_cloudtrail::Client::new(&home)).await {
        Ok(t) => t,
        Err(e) => {
            report
                .warnings
                .push(format!("the trails could not be read: {e}"));
            Vec::new()
        }
    };
    let scope = &req.scope;
    let chosen = choose(&trails, scope, &mut report.warnings);
    let (bucket, prefix) = match (&scope.bucket, &chosen) {
        (Some(b), _) => (b.clone(), scope.prefix.clone()),
        (None, Some(t)) => (t.bucket.clone().unwrap_or_default(), t.prefix.clone()),
        (None, None) => {
            return Err(AwsError::Call {
                call: "cloudtrail:DescribeTrails",
                on: String::new(),
                message: "no trail delivering to S3 was found (help: --bucket and --prefix name where the logs are)".into(),
            });
        }
    };
    if !layout::is_bucket(&bucket) {
        return Err(AwsError::Call {
            call: "s3",
            on: format!("{bucket:?}"),
            message: "not an S3 bucket name".into(),
        });
    }
    report.trail = chosen.as_ref().map(|t| t.arn.clone());
    report.source = format!(
        "s3://{bucket}/{}",
        prefix
            .as_deref()
            .map(|p| format!("{}/", p.trim_matches('/')))
            .unwrap_or_default()
    );
    // Another trail writing to the same place may not validate: its files are in no digest.
    let writers = trails
        .iter()
        .filter(|t| t.bucket.as_deref() == Some(&bucket) && same_prefix(&t.prefix, &prefix))
        .count();
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

    let store = match &scope.log_account {
        Some(account) => connect(&target.in_account(account)).await,
        None => home.clone(),
    };
    let s3 = s3_client(&store, &bucket).await?;
    sink.progress(Progress::Phase(format!("listing s3://{bucket}")));
    let found = fetch::list(
        &s3,
        &bucket,
        prefix.as_deref(),
        req,
        (since, until),
        &mut report,
    )
    .await?;
    let places: Vec<(String, String)> = found.places.iter().cloned().collect();
    report.accounts = places
        .iter()
        .map(|(a, _)| a.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    report.regions = places
        .iter()
        .map(|(_, r)| r.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    sink.progress(Progress::Listed {
        files: found.wanted.len() as u64,
        bytes: found.wanted.iter().map(|w| w.object.size).sum(),
    });

    // The files, fetched in parallel; recorded in batches as they finish.
    let fetched = fetch_all(&s3, &bucket, req, &found, sink, &mut report).await?;

    sink.progress(Progress::Phase("checking the digests".into()));
    let keys = public_keys(&home, &fetched.digests).await;
    let checked = digest::check(
        &bucket,
        &fetched.digests,
        &fetched.logs,
        &digest::Listing {
            keys: &found.keys,
            folders: &found.folders,
            strays_are_failures: writers == 1,
            home_region: chosen.as_ref().and_then(|t| t.home_region.as_deref()),
            trail: chosen.as_ref().map(|t| t.name.as_str()),
        },
        &keys,
    );
    report.digests = fetched.digests.len() as u64;
    report.digests_verified = checked.verified;
    report.integrity.extend(checked.failures);
    report.unchecked.extend(checked.unchecked);
    if fetched.digests.is_empty() && !fetched.logs.is_empty() {
        report.unchecked.push(
            "no digest files in the window: log file validation is off (or its digests are gone), so nothing shows whether files were altered or deleted".into(),
        );
    }

    // What the bucket lacks: from records only of files the digests do not disown.
    let mut newest: HashMap<(String, String), DateTime<Utc>> = HashMap::new();
    let mut stops: HashMap<String, StopsAndStarts> = HashMap::new();
    for (key, (place, summary)) in &fetched.summaries {
        if checked.untrusted.contains(key) {
            continue;
        }
        if let Some(t) = summary.newest {
            let n = newest.entry(place.clone()).or_insert(t);
            *n = (*n).max(t);
        }
        // A call names the trail by ARN, or by name in the trail's own account (a member
        // account's own trail may share its name).
        let ours = |named: &Option<String>| match (&chosen, named) {
            (Some(t), Some(n)) => {
                *n == t.arn || (*n == t.name && trail_account(&t.arn) == Some(place.0.as_str()))
            }
            _ => true,
        };
        // The trail's own stops blind it everywhere it delivers; without a known trail, a
        // stop counts in the account that made it.
        let s = stops
            .entry(match &chosen {
                Some(_) => String::new(),
                None => place.0.clone(),
            })
            .or_default();
        s.0.extend(
            summary
                .stops
                .iter()
                .filter(|(_, n)| ours(n))
                .map(|(t, _)| *t),
        );
        s.1.extend(
            summary
                .starts
                .iter()
                .filter(|(_, n)| ours(n))
                .map(|(t, _)| *t),
        );
    }
    let mut gaps: Vec<digest::Gap> = checked.gaps;
    let gap = |place: &(String, String), from, to, why: &str| digest::Gap {
        account: place.0.clone(),
        region: place.1.clone(),
        from,
        to,
        why: why.to_string(),
    };

    // A validating trail writes digests for every region it logs: a region with logs and no
    // digest where others have them lost its digests; one whose digests stop early is vouched
    // for only up to there.
    let validating = chosen.as_ref().is_some_and(|t| t.validation) && writers == 1;
    for (place, files) in &fetched.paths {
        let listed_digests = found.wanted.iter().any(
            |w| matches!(&w.named, Named::Digest(n) if n.account == place.0 && n.region == place.1),
        );
        let oldest_log = files.iter().map(|(stamp, _)| *stamp).min();
        // Where the account's other regions are vouched for up to.
        let others = checked
            .last_vouched
            .iter()
            .filter(|((a, r), _)| *a == place.0 && *r != place.1)
            .map(|(_, end)| *end)
            .max();
        let whole = gap(place, since, until, "no verified digest covers this time");
        match checked.last_vouched.get(place) {
            None if listed_digests => gaps.push(whole),
            None if validating
                && oldest_log
                    .zip(others)
                    .is_some_and(|(log, other)| log + lag() < other) =>
            {
                report.integrity.push(format!(
                    "account {} region {}: logs but no digest, though the trail validates and the account's other regions have digests of later hours: digests deleted",
                    place.0, place.1
                ));
                gaps.push(whole);
            }
            Some(end) if *end < until - lag() * 2 => {
                report.unchecked.push(format!(
                    "account {} region {}: the digests end at {}; the files after are vouched for by nothing",
                    place.0,
                    place.1,
                    stamp(*end)
                ));
                gaps.push(digest::Gap {
                    from: *end,
                    ..whole
                });
            }
            _ => {}
        }
    }
    // A file too large to be CloudTrail's sits where one of its was: its hour is asked for.
    for w in &found.oversized {
        if let Named::Log(n) = &w.named {
            gaps.push(gap(
                &(n.account.clone(), n.region.clone()),
                n.stamp - lag(),
                n.stamp,
                "a file too large to be CloudTrail's is in place of this time's",
            ));
        }
    }
    for place in &places {
        // Delivery runs some minutes behind, and not in event order.
        let delivered = newest
            .get(place)
            .map_or(since, |t| *t - Duration::minutes(15))
            .max(since);
        gaps.push(gap(
            place,
            delivered,
            until,
            "after the newest delivered event",
        ));
        if let Some(from) = stopped {
            gaps.push(gap(place, from, until, "the trail is not logging"));
        }
        let whose = match &chosen {
            Some(_) => String::new(),
            None => place.0.clone(),
        };
        if let Some((stopped, started)) = stops.get(&whose) {
            for s in stopped {
                let to = started
                    .iter()
                    .filter(|t| *t > s)
                    .min()
                    .copied()
                    .unwrap_or(until);
                gaps.push(gap(
                    place,
                    (*s).max(since),
                    to.min(until),
                    "the trail was stopped (StopLogging or DeleteTrail)",
                ));
            }
        }
    }
    let gaps = merge(gaps);
    // What a gap's events are compared with: the files the digests do not disown.
    let untrusted: std::collections::HashSet<&PathBuf> = found
        .wanted
        .iter()
        .filter(|w| checked.untrusted.contains(&w.object.key))
        .map(|w| &w.path)
        .collect();
    let delivered: fetch::Places = fetched
        .paths
        .iter()
        .map(|(place, files)| {
            let kept = files
                .iter()
                .filter(|(_, p)| !untrusted.contains(p))
                .cloned()
                .collect();
            (place.clone(), kept)
        })
        .collect();
    let trusted = lookup::adopt(req, &places, sink, &mut report)
        .await
        .map_err(recording)?;
    if scope.lookup {
        sink.progress(Progress::Phase(
            "asking LookupEvents for what the bucket lacks".into(),
        ));
        lookup::fill(
            target,
            &home,
            &caller.account,
            req,
            gaps,
            &delivered,
            &trusted,
            sink,
            &mut report,
            now,
        )
        .await?;
    } else {
        report.gaps = gaps
            .iter()
            .map(|g| CollectedGap {
                note: Some("not asked: --no-lookup".into()),
                ..collected(g)
            })
            .collect();
    }
    lookup::superseded(&trusted, &delivered, &mut report);
    for list in [
        &mut report.failures,
        &mut report.integrity,
        &mut report.unchecked,
        &mut report.warnings,
    ] {
        if list.len() > MAX_LINES {
            let more = list.len() - MAX_LINES;
            list.truncate(MAX_LINES);
            list.push(format!("... and {more} more"));
        }
    }
    Ok(report)
}

/// The account in a trail's ARN (`arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`).
fn trail_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

/// Whether two trail prefixes name the same place (`None`, empty and `/` are no prefix).
fn same_prefix(a: &Option<String>, b: &Option<String>) -> bool {
    let norm = |p: &Option<String>| {
        p.as_deref()
            .unwrap_or_default()
            .trim_matches('/')
            .to_string()
    };
    norm(a) == norm(b)
}

/// The trail to read: the one named; with `--bucket`, one delivering there; else the
/// organization's, multi-region, validated one.
fn choose(
    trails: &[cloudtrail::Delivery],
    scope: &Scope,
    warnings: &mut Vec<String>,
) -> Option<cloudtrail::Delivery> {
    if let Some(w) = &scope.trail {
        let found = trails.iter().find(|t| t.name == *w || t.arn == *w).cloned();
        if found.is_none() {
            warnings.push(format!("no trail named {w} is visible here"));
        }
        return found;
    }
    let mut usable: Vec<&cloudtrail::Delivery> = trails
        .iter()
        .filter(|t| t.bucket.is_some())
        .filter(|t| match &scope.bucket {
            Some(b) => t.bucket.as_ref() == Some(b) && same_prefix(&t.prefix, &scope.prefix),
            None => true,
        })
        .collect();
    usable.sort_by_key(|t| {
        (
            !t.organization,
            !t.multi_region,
            !t.validation,
            t.arn.clone(),
        )
    });
    let first = usable.first().copied().cloned();
    let others: std::collections::BTreeSet<&str> = usable
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

/// The times an account's trail was stopped, and started.
type StopsAndStarts = (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>);

/// What fetching found, for the digests' check and the gaps.
#[derive(Debug, Default)]
struct Fetched {
    /// By key.
    logs: HashMap<String, digest::Log>,
    digests: Vec<digest::Fetched>,
    /// What each log file's records say, by key, with its place.
    summaries: HashMap<String, ((String, String), records::Summary)>,
    /// Log files by place, with their stamps and paths.
    paths: fetch::Places,
}

async fn fetch_all(
    s3: &S3,
    bucket: &str,
    req: &Request,
    found: &fetch::Found,
    sink: &mut dyn Sink,
    report: &mut LogsCollected,
) -> Result<Fetched, AwsError> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let reading = tokio::sync::Semaphore::new(cores);
    let mut results = futures_util::stream::iter(
        found
            .wanted
            .iter()
            .cloned()
            .map(|w| fetch::fetch(s3, bucket, req, &reading, w)),
    )
    .buffer_unordered(req.scope.parallel.max(1));
    let mut out = Fetched::default();
    let mut batch = Vec::new();
    while let Some(result) = results.next().await {
        let got = match result {
            Ok(g) => g,
            Err(Fail::Changed(e)) => {
                report.integrity.push(e);
                continue;
            }
            Err(Fail::Final(e) | Fail::Again(e)) => {
                report.failures.push(e);
                continue;
            }
        };
        sink.progress(Progress::Fetched { bytes: got.size });
        report.files += 1;
        report.bytes += got.size;
        if got.recorded {
            report.already += 1;
        }
        if let Some(why) = &got.unreadable {
            report
                .integrity
                .push(format!("{why}: kept as evidence, not read"));
        }
        let key = got.wanted.object.key.clone();
        let description = match &got.wanted.named {
            Named::Log(n) => {
                let place = (n.account.clone(), n.region.clone());
                out.logs.insert(
                    key.clone(),
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
                    .push((n.stamp, got.wanted.path.clone()));
                if let Some(s) = got.summary.clone() {
                    out.summaries.insert(key.clone(), (place, s));
                }
                format!(
                    "CloudTrail log file of account {}, region {}, delivered {} (ETag {})",
                    n.account,
                    n.region,
                    stamp(n.stamp),
                    got.wanted.object.etag
                )
            }
            Named::Digest(n) => {
                out.digests.push(digest::Fetched {
                    bucket: bucket.to_string(),
                    key: key.clone(),
                    account: n.account.clone(),
                    region: n.region.clone(),
                    trail: n.trail.clone(),
                    home_region: n.home_region.clone(),
                    end: n.end,
                    backfill: n.backfill,
                    inflated_sha256: got.inflated_sha256.clone().unwrap_or_default(),
                    signature: got.signature.clone(),
                    signature_algorithm: got.signature_algorithm.clone(),
                    digest: got.digest.clone(),
                });
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
                )
            }
        };
        if !got.recorded {
            batch.push(File {
                path: got.wanted.path.clone(),
                sha256: got.sha256.clone(),
                size: got.size,
                source: format!("s3://{bucket}/{key}"),
                description,
                kind: match got.wanted.named {
                    Named::Log(_) => FileKind::Log,
                    Named::Digest(_) => FileKind::Digest,
                },
            });
        }
        if batch.len() >= BATCH {
            sink.record(&batch).map_err(recording)?;
            batch.clear();
        }
    }
    sink.record(&batch).map_err(recording)?;
    Ok(out)
}

fn recording(e: String) -> AwsError {
    AwsError::Call {
        call: "recording",
        on: String::new(),
        message: e,
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

/// The public keys of every region (and home region) with digests, for the hours their
/// names say they end (content can be planted; a name was checked to lie in the window), and
/// an hour more for keys rotated while they were signed.
async fn public_keys(config: &crate::SdkConfig, digests: &[digest::Fetched]) -> digest::Keys {
    let now = Utc::now();
    let mut spans: BTreeMap<&str, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for f in digests {
        for region in [f.region.as_str(), f.home_region.as_str()] {
            let span = spans.entry(region).or_insert((f.end, f.end));
            span.0 = span.0.min(f.end);
            span.1 = span.1.max(f.end);
        }
    }
    let mut keys = HashMap::new();
    for (region, (first, last)) in spans {
        let client = aws_sdk_cloudtrail::Client::from_conf(
            aws_sdk_cloudtrail::config::Builder::from(config)
                .region(aws_sdk_cloudtrail::config::Region::new(region.to_string()))
                .build(),
        );
        let found = cloudtrail::public_keys(&client, first - lag(), (last + lag()).min(now))
            .await
            .map(|keys| keys.into_iter().map(|k| (k.fingerprint, k.der)).collect())
            .map_err(|e| e.to_string());
        keys.insert(region.to_string(), found);
    }
    keys
}

/// A gap as the ledger records it, before anything was asked for it.
fn collected(g: &digest::Gap) -> CollectedGap {
    CollectedGap {
        account: g.account.clone(),
        region: g.region.clone(),
        from: stamp(g.from),
        to: stamp(g.to),
        why: g.why.clone(),
        events: 0,
        path: None,
        note: None,
    }
}

/// RFC 3339 in seconds, `Z`.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
