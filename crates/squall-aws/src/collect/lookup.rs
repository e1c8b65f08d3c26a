//! What the bucket lacks, asked of `LookupEvents`: the management events of each gap, in the
//! gap's account and region, less those the case already holds, written as a CloudTrail file.
//! A file an earlier run wrote is trusted only as the case recorded it (or recorded now, when
//! a killed run wrote it but did not record it); one whose events have all been delivered
//! since is named as superseded, so a hunt does not count them twice.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest as _, Sha256};
use squall_core::entry::LogsCollected;

use super::fetch::{Places, hash_file, part_of, publish};
use super::records::{self, Head};
use super::{File, FileKind, Request, Sink, digest, stamp};
use crate::services::cloudtrail;
use crate::{AwsError, SdkConfig, Target, connect};

/// The folder of a place's `LookupEvents` files.
fn folder(req: &Request, account: &str, region: &str) -> PathBuf {
    req.logs_dir.join(account).join(region).join("lookup")
}

/// The `LookupEvents` files a place holds that the case can trust: recorded as they are, or
/// recorded now (an interrupted run wrote them whole but did not record them). A changed one
/// is reported and not trusted.
pub(super) async fn adopt(
    req: &Request,
    places: &[(String, String)],
    sink: &mut dyn Sink,
    report: &mut LogsCollected,
) -> Result<HashMap<(String, String), Vec<PathBuf>>, String> {
    let mut trusted: HashMap<(String, String), Vec<PathBuf>> = HashMap::new();
    for (account, region) in places {
        let dir = folder(req, account, region);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        let mut adopted = Vec::new();
        for path in paths {
            if path.extension().is_some_and(|e| e == "part") {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let Ok((sha256, size)) = hash_file(path.clone()).await else {
                report
                    .failures
                    .push(format!("{}: cannot be read: not used", path.display()));
                continue;
            };
            match req.recorded.get(&path) {
                Some(r) if r.sha256 == sha256 => {}
                Some(r) => {
                    report.integrity.push(format!(
                        "{}: changed since the case recorded it (sha256 {} then, {sha256} now): not trusted",
                        path.display(),
                        r.sha256
                    ));
                    continue;
                }
                None => adopted.push(File {
                    path: path.clone(),
                    sha256,
                    size,
                    source: format!("cloudtrail:LookupEvents account {account} region {region}"),
                    description: format!(
                        "CloudTrail events from LookupEvents of account {account}, region {region}, written by an interrupted collection"
                    ),
                    kind: FileKind::Lookup,
                }),
            }
            trusted
                .entry((account.clone(), region.clone()))
                .or_default()
                .push(path);
        }
        sink.record(&adopted)?;
    }
    Ok(trusted)
}

/// Asks `LookupEvents` for each gap and writes what the case does not hold yet.
#[allow(clippy::too_many_arguments)]
pub(super) async fn fill(
    target: &Target,
    home: &SdkConfig,
    caller: &str,
    req: &Request,
    gaps: Vec<digest::Gap>,
    delivered: &Places,
    trusted: &HashMap<(String, String), Vec<PathBuf>>,
    sink: &mut dyn Sink,
    report: &mut LogsCollected,
    now: DateTime<Utc>,
) -> Result<(), AwsError> {
    let oldest = now - Duration::days(90);
    let mut budget = req.scope.lookup_limit;
    let mut configs: HashMap<String, Option<SdkConfig>> = HashMap::new();
    for g in gaps {
        let mut gap = super::collected(&g);
        if !configs.contains_key(&g.account) {
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
            configs.insert(g.account.clone(), c);
        }
        let from = g.from.max(oldest);
        let config = configs.get(&g.account).cloned().flatten();
        gap.note = if config.is_none() {
            Some("not asked: no --role-name for this account".into())
        } else if g.to <= from {
            Some("not asked: older than LookupEvents keeps (90 days)".into())
        } else if budget == 0 {
            Some("not asked: --lookup-limit reached".into())
        } else {
            None
        };
        if let Some(config) = &config
            && gap.note.is_none()
        {
            let place = (g.account.clone(), g.region.clone());
            let mut known_from: Vec<PathBuf> = delivered
                .get(&place)
                .into_iter()
                .flatten()
                .filter(|(stamp, _)| *stamp >= from)
                .map(|(_, p)| p.clone())
                .collect();
            known_from.extend(trusted.get(&place).into_iter().flatten().cloned());
            let window = (from - Duration::minutes(1), g.to + Duration::minutes(1));
            let known = tokio::task::spawn_blocking(move || ids_between(&known_from, window))
                .await
                .map_err(|e| AwsError::Call {
                    call: "reading collected files",
                    on: String::new(),
                    message: e.to_string(),
                })?;
            match ask(config, &g, from, req, &known, &mut budget, now).await {
                Ok(Some((asked, n))) => {
                    gap.events = n;
                    gap.path = Some(asked.file.path.display().to_string());
                    sink.record(std::slice::from_ref(&asked.file))
                        .map_err(super::recording)?;
                    match asked.stopped {
                        Some(Stopped::Error(why)) => {
                            report.failures.push(format!(
                                "account {} region {}: the gap {}..{} was only partly filled ({n} events): {why}",
                                g.account, g.region, gap.from, gap.to
                            ));
                            gap.note = Some(format!("partly filled: {why}"));
                        }
                        Some(Stopped::Limit) => {
                            gap.note = Some("partly filled: --lookup-limit reached".into());
                        }
                        None => {}
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    report.failures.push(format!(
                        "account {} region {}: the gap {}..{} was not filled: {e}",
                        g.account, g.region, gap.from, gap.to
                    ));
                    gap.note = Some(format!("not filled: {e}"));
                }
            }
        }
        report.gaps.push(gap);
    }
    if budget == 0 && req.scope.lookup_limit > 0 {
        report.warnings.push(format!(
            "LookupEvents reached --lookup-limit {} events: a gap may be only partly filled (run again to go on)",
            req.scope.lookup_limit
        ));
    }
    Ok(())
}

/// One gap's events, less those known, streamed into a new file of the run.
async fn ask(
    config: &SdkConfig,
    g: &digest::Gap,
    from: DateTime<Utc>,
    req: &Request,
    known: &HashSet<String>,
    budget: &mut u64,
    now: DateTime<Utc>,
) -> Result<Option<(Asked, u64)>, String> {
    let client = aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(config)
            .region(aws_sdk_cloudtrail::config::Region::new(g.region.clone()))
            .build(),
    );
    let dir = folder(req, &g.account, &g.region);
    squall_core::files::private_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = format!(
        "{}_LookupEvents_{}_{}_{}_asked{}.json",
        g.account,
        g.region,
        g.from.format("%Y%m%dT%H%M%SZ"),
        g.to.format("%Y%m%dT%H%M%SZ"),
        now.format("%Y%m%dT%H%M%SZ")
    );
    let path = dir.join(&name);
    let part = part_of(&path);
    let _ = std::fs::remove_file(&part);
    let mut out = Hashed::new(
        squall_core::files::new_private_file(&part)
            .map_err(|e| format!("{}: {e}", part.display()))?,
    );
    // Pages of events the case holds cost calls too: at most as many as the events asked
    // for and known could fill.
    let max_pages = budget.saturating_add(known.len() as u64) / 50 + 2;
    let mut n = 0u64;
    let mut stopped = None;
    let written = async {
        out.write_all(b"{\"Records\":[")?;
        let mut token = None;
        let mut pages = 0u64;
        'pages: loop {
            let (page, next) = match cloudtrail::lookup_page(&client, from, g.to, token).await {
                Ok(p) => p,
                Err(e) => {
                    // What came before stays: written, recorded, and said to be partial.
                    stopped = Some(Stopped::Error(e.to_string()));
                    break;
                }
            };
            for raw in page {
                // An event that does not read is written all the same: the hunt names it.
                let head = serde_json::from_str::<Head>(&raw).unwrap_or_default();
                if head.id.as_ref().is_some_and(|id| known.contains(id)) {
                    continue;
                }
                if *budget == 0 {
                    stopped = Some(Stopped::Limit);
                    break 'pages;
                }
                *budget -= 1;
                if n > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(raw.trim().as_bytes())?;
                n += 1;
            }
            if next.is_none() {
                break;
            }
            token = next;
            if page_count_reached(&mut pages, max_pages) {
                stopped = Some(Stopped::Error(
                    "more pages than the events asked for could fill".into(),
                ));
                break;
            }
        }
        out.write_all(b"]}\n")?;
        out.file.sync_all()
    }
    .await;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&part);
        return Err(e.to_string());
    }
    if n == 0 {
        let _ = std::fs::remove_file(&part);
        return match stopped {
            Some(Stopped::Error(why)) => Err(why),
            Some(Stopped::Limit) | None => Ok(None),
        };
    }
    publish(&part, &path).map_err(|e| e.to_string())?;
    Ok(Some((
        Asked {
            stopped,
            file: File {
                path,
                sha256: squall_core::digest::hex(&out.hash.finalize()),
                size: out.size,
                source: format!(
                    "cloudtrail:LookupEvents account {} region {} from {} to {}",
                    g.account,
                    g.region,
                    stamp(from),
                    stamp(g.to)
                ),
                description: format!(
                    "{n} CloudTrail event(s) from LookupEvents of account {}, region {}, {} to {} ({}), not in the collected files",
                    g.account,
                    g.region,
                    stamp(from),
                    stamp(g.to),
                    g.why
                ),
                kind: FileKind::Lookup,
            },
        },
        n,
    )))
}

/// A gap's events as written, and why the asking stopped short, when it did.
struct Asked {
    file: File,
    stopped: Option<Stopped>,
}

/// Why asking for a gap's events stopped before its end.
enum Stopped {
    /// `--lookup-limit`: a bound the analyst set; a later run goes on.
    Limit,
    /// A call failed (after the SDK's retries), or the pages ran past their bound.
    Error(String),
}

/// Counts a page; whether the bound is reached.
fn page_count_reached(pages: &mut u64, max: u64) -> bool {
    *pages += 1;
    *pages >= max
}

/// A file written and hashed in the same pass.
struct Hashed {
    file: std::fs::File,
    hash: Sha256,
    size: u64,
}

impl Hashed {
    fn new(file: std::fs::File) -> Self {
        Hashed {
            file,
            hash: Sha256::new(),
            size: 0,
        }
    }
}

impl Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The event ids of records between two times, in delivered (gz) and LookupEvents (plain)
/// files.
fn ids_between(files: &[PathBuf], (from, to): (DateTime<Utc>, DateTime<Utc>)) -> HashSet<String> {
    let mut ids = HashSet::new();
    for path in files {
        let _ = each_in(path, &mut |h| {
            if h.time().is_some_and(|t| t >= from && t <= to)
                && let Some(id) = h.id
            {
                ids.insert(id);
            }
        });
    }
    ids
}

/// Every record of a collected file, gz or plain.
fn each_in(path: &Path, each: &mut dyn FnMut(Head)) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let gz = path.extension().is_some_and(|e| e == "gz");
    let reader: Box<dyn std::io::Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        )))
    } else {
        Box::new(file)
    };
    records::each_record(reader, each).map_err(|e| e.to_string())
}

/// The trusted `LookupEvents` files whose every event has been delivered since: a hunt of the
/// case leaves them out. One only partly delivered stays, and is said.
pub(super) fn superseded(
    trusted: &HashMap<(String, String), Vec<PathBuf>>,
    delivered: &Places,
    report: &mut LogsCollected,
) {
    for (place, files) in trusted {
        for path in files {
            let mut events: Vec<(DateTime<Utc>, String)> = Vec::new();
            let _ = each_in(path, &mut |h| {
                if let (Some(t), Some(id)) = (h.time(), h.id) {
                    events.push((t, id));
                }
            });
            let Some(first) = events.iter().map(|(t, _)| *t).min() else {
                continue;
            };
            let last = events.iter().map(|(t, _)| *t).max().unwrap_or(first);
            let files: Vec<PathBuf> = delivered
                .get(place)
                .into_iter()
                .flatten()
                .filter(|(stamp, _)| *stamp >= first)
                .map(|(_, p)| p.clone())
                .collect();
            let there = ids_between(&files, (first, last));
            let both = events.iter().filter(|(_, id)| there.contains(id)).count();
            if both == events.len() {
                report.superseded.push(path.display().to_string());
            } else if both > 0 {
                report.warnings.push(format!(
                    "{} of the {} events in {} have been delivered since: a hunt of the case counts those twice",
                    both,
                    events.len(),
                    path.display()
                ));
            }
        }
    }
}
