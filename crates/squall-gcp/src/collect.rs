//! `collect gcp logs`: Cloud Audit Logs of projects for a window, through the Logging API
//! (`entries.list`), written as LogEntry JSON Lines — the form sinks write and `squall hunt`
//! reads — one file per project and UTC hour, each handed to the caller to record as evidence
//! as soon as it is whole. The collector never sees the store.
//!
//! Resumable and never rewritten: an hour that can hold no more entries (its end more than
//! [`SETTLE`] ago) is written once, as `HH.jsonl`; a later run re-hashes what the case
//! recorded and skips it. An hour still filling is written as `HH.partial-<when>.jsonl`, and
//! once its whole file exists the partial ones are named superseded, so a hunt of the case
//! leaves them out rather than counting their entries twice. An hour without entries is an
//! empty file: the record that it was asked for and held nothing.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, DurationRound, Utc};
use google_cloud_gax::options::RequestOptionsBuilder;
use google_cloud_gax::paginator::Paginator;
use google_cloud_logging_v2::client::LoggingServiceV2;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Connection, GcpError};

/// How long after an hour ends its entries are taken to be all in: audit entries are
/// written within seconds to minutes of the call.
pub const SETTLE: Duration = Duration::minutes(30);

/// The audit logs a project writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuditLog {
    Activity,
    DataAccess,
    SystemEvent,
    Policy,
}

impl AuditLog {
    pub const ALL: [AuditLog; 4] = [
        AuditLog::Activity,
        AuditLog::DataAccess,
        AuditLog::SystemEvent,
        AuditLog::Policy,
    ];

    /// The log's id under `cloudaudit.googleapis.com/`.
    pub fn id(self) -> &'static str {
        match self {
            AuditLog::Activity => "activity",
            AuditLog::DataAccess => "data_access",
            AuditLog::SystemEvent => "system_event",
            AuditLog::Policy => "policy",
        }
    }
}

/// What to collect, and what the case already holds.
#[derive(Debug, Clone)]
pub struct Request {
    pub projects: Vec<String>,
    pub logs: Vec<AuditLog>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// The case's `logs/gcp/` folder.
    pub dir: PathBuf,
    /// Files the case recorded before (path → SHA-256).
    pub recorded: HashMap<PathBuf, String>,
    pub now: DateTime<Utc>,
}

/// A file ready to be recorded as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub source: String,
    pub description: String,
}

/// What a collection did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub files: u64,
    pub bytes: u64,
    pub already: u64,
    pub entries: u64,
    /// What could not be collected (a project, an hour), with why.
    pub failures: Vec<String>,
    /// Partial files an hour's whole file now replaces.
    pub superseded: Vec<String>,
}

/// The folder of one project's log: one log a file, so runs asking for different logs never
/// hold the same entry twice.
fn folder(dir: &Path, project: &str, log: AuditLog) -> PathBuf {
    dir.join(project).join(log.id())
}

fn hour_path(base: &Path, hour: DateTime<Utc>, partial: Option<DateTime<Utc>>) -> PathBuf {
    let day = base.join(hour.format("%Y/%m/%d").to_string());
    match partial {
        None => day.join(hour.format("%H.jsonl").to_string()),
        Some(at) => day.join(format!(
            "{}.partial-{}.jsonl",
            hour.format("%H"),
            at.format("%Y%m%dT%H%M%SZ")
        )),
    }
}

/// The Logging filter for the logs and window.
fn filter(project: &str, logs: &[AuditLog], from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let names: Vec<String> = logs
        .iter()
        .map(|l| {
            format!(
                "\"projects/{project}/logs/cloudaudit.googleapis.com%2F{}\"",
                l.id()
            )
        })
        .collect();
    format!(
        "logName=({}) AND timestamp>=\"{}\" AND timestamp<\"{}\"",
        names.join(" OR "),
        from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// Severity by name, as sinks and `gcloud` write it (the client reads it as a number).
const SEVERITIES: [(i64, &str); 9] = [
    (0, "DEFAULT"),
    (100, "DEBUG"),
    (200, "INFO"),
    (300, "NOTICE"),
    (400, "WARNING"),
    (500, "ERROR"),
    (600, "CRITICAL"),
    (700, "ALERT"),
    (800, "EMERGENCY"),
];

/// One entry as a line of LogEntry JSON.
fn line(
    entry: &google_cloud_logging_v2::model::LogEntry,
) -> Result<(Vec<u8>, Option<DateTime<Utc>>), String> {
    let mut v = serde_json::to_value(entry).map_err(|e| format!("an entry did not encode: {e}"))?;
    if let Some(n) = v["severity"].as_i64()
        && let Some((_, name)) = SEVERITIES.iter().find(|(x, _)| *x == n)
    {
        v["severity"] = Value::from(*name);
    }
    let time = v["timestamp"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let mut bytes = serde_json::to_vec(&v).map_err(|e| format!("an entry did not encode: {e}"))?;
    bytes.push(b'\n');
    Ok((bytes, time))
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut f = std::fs::File::open(path)?;
    std::io::copy(&mut f, &mut h)?;
    Ok(squall_core::digest::hex(&h.finalize()))
}

/// One hour's file as it is written: a `.part` beside its final name, hashed as it grows.
struct Hour {
    start: DateTime<Utc>,
    path: PathBuf,
    part: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    hash: Sha256,
    size: u64,
    entries: u64,
}

impl Hour {
    fn open(start: DateTime<Utc>, path: PathBuf) -> std::io::Result<Hour> {
        let dir = path.parent().expect("an hour's file is in a day folder");
        squall_core::files::private_dir(dir)?;
        let mut part = path.clone().into_os_string();
        part.push(".part");
        let part = PathBuf::from(part);
        // A `.part` left by a killed run is ours, and incomplete: start it again.
        std::fs::remove_file(&part).ok();
        let file = squall_core::files::new_private_file(&part)?;
        Ok(Hour {
            start,
            path,
            part,
            out: std::io::BufWriter::new(file),
            hash: Sha256::new(),
            size: 0,
            entries: 0,
        })
    }

    fn push(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.out.write_all(line)?;
        self.hash.update(line);
        self.size += line.len() as u64;
        self.entries += 1;
        Ok(())
    }

    /// Synced and published under its final name, which is never replaced: an existing
    /// file there must be this one, byte for byte.
    fn finish(self) -> Result<(PathBuf, String, u64, u64), String> {
        let sha = squall_core::digest::hex(&self.hash.finalize());
        let file = self
            .out
            .into_inner()
            .map_err(|e| format!("writing {}: {e}", self.part.display()))?;
        file.sync_all()
            .map_err(|e| format!("writing {}: {e}", self.part.display()))?;
        let published = std::fs::hard_link(&self.part, &self.path);
        std::fs::remove_file(&self.part).ok();
        match published {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let there = sha256_of(&self.path)
                    .map_err(|e| format!("reading {}: {e}", self.path.display()))?;
                if there != sha {
                    return Err(format!(
                        "{} exists with other content than the API gave now (sha256 {there}, now {sha}): left as it is",
                        self.path.display()
                    ));
                }
            }
            Err(e) => return Err(format!("publishing {}: {e}", self.path.display())),
        }
        Ok((self.path, sha, self.size, self.entries))
    }
}

/// Collects every project's logs; `record` hears each whole file (an error from it ends the
/// collection: nothing unrecorded is lost, a second run records it), `progress` each entry
/// count.
pub async fn collect(
    conn: &Connection,
    req: &Request,
    record: &mut dyn FnMut(&[File]) -> Result<(), String>,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, GcpError> {
    let client: LoggingServiceV2 = conn.client(LoggingServiceV2::builder()).await?;
    let mut report = Report::default();
    for project in &req.projects {
        for &log in &req.logs {
            let result =
                collect_project(&client, req, project, log, &mut report, record, progress).await;
            match result {
                Ok(()) => {}
                Err(Stop::Record(e)) => return Err(GcpError::Invalid(e)),
                Err(Stop::Project(e)) => report
                    .failures
                    .push(format!("project {project}, {} log: {e}", log.id())),
            }
        }
    }
    Ok(report)
}

enum Stop {
    /// The caller could not record: the collection ends.
    Record(String),
    /// This project could not be read further; the others go on.
    Project(String),
}

/// One project's one log: every hour of the window not already whole in the case, asked in
/// one query of whole hours and split as the entries come.
async fn collect_project(
    client: &LoggingServiceV2,
    req: &Request,
    project: &str,
    log: AuditLog,
    report: &mut Report,
    record: &mut dyn FnMut(&[File]) -> Result<(), String>,
    progress: &mut dyn FnMut(u64),
) -> Result<(), Stop> {
    let logs = [log];
    let base = folder(&req.dir, project, log);
    let first = req
        .since
        .duration_trunc(Duration::hours(1))
        .map_err(|e| Stop::Project(e.to_string()))?;
    let end = req.until.min(req.now);
    // Every hour of the window: its start, and whether it has settled.
    let mut hours = Vec::new();
    let mut h = first;
    while h < end {
        hours.push((h, h + Duration::hours(1) + SETTLE <= req.now));
        h += Duration::hours(1);
    }
    // The settled hours the case holds whole already are not asked again.
    let mut wanted = Vec::new();
    for (start, settled) in hours {
        let whole = hour_path(&base, start, None);
        if settled
            && let Some(sha) = req.recorded.get(&whole)
            && sha256_of(&whole).ok().as_ref() == Some(sha)
        {
            report.already += 1;
            report.files += 1;
            report.bytes += std::fs::metadata(&whole).map_or(0, |m| m.len());
            supersede(req, &base, start, report);
            continue;
        }
        wanted.push((start, settled));
    }
    let (Some(&(from, _)), Some(&(last, _))) = (wanted.first(), wanted.last()) else {
        return Ok(());
    };
    // Whole hours, never clipped to the window: an hour written whole must hold all of it.
    let to = (last + Duration::hours(1)).min(req.now);
    let query = filter(project, &logs, from, to);
    let mut pages = client
        .list_log_entries()
        .set_resource_names([format!("projects/{project}")])
        .set_filter(query.clone())
        .set_order_by("timestamp asc")
        .set_page_size(1000)
        // A read: safe to retry when the service is briefly unavailable.
        .with_idempotency(true)
        .by_page();
    let source = format!("logging.googleapis.com entries.list projects/{project} {query}");
    let mut next = wanted.into_iter().peekable();
    let mut open: Option<(Hour, bool)> = None;
    let mut batch: Vec<File> = Vec::new();
    // Closes the hour being written and opens every later wanted hour up to `until` (those
    // passed without entries are written empty).
    let mut advance = |until: Option<DateTime<Utc>>,
                       open: &mut Option<(Hour, bool)>,
                       batch: &mut Vec<File>,
                       report: &mut Report|
     -> Result<(), Stop> {
        loop {
            if let Some((hour, _)) = open
                && until.is_some_and(|t| t < hour.start + Duration::hours(1))
            {
                return Ok(());
            }
            if let Some((hour, settled)) = open.take() {
                let start = hour.start;
                let entries = hour.entries;
                let (path, sha256, size, _) = hour.finish().map_err(Stop::Project)?;
                report.files += 1;
                report.bytes += size;
                report.entries += entries;
                batch.push(File {
                    description: format!(
                        "Cloud Audit Logs ({}) of project {project}, {} to {}{}: {entries} entries",
                        req.logs
                            .iter()
                            .map(|l| l.id())
                            .collect::<Vec<_>>()
                            .join(", "),
                        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        (start + Duration::hours(1))
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        if settled {
                            ""
                        } else {
                            " (the hour was still filling)"
                        }
                    ),
                    path: path.clone(),
                    sha256,
                    size,
                    source: source.clone(),
                });
                // A whole hour supersedes its partial files; a newer partial, the older ones.
                supersede(req, &base, start, report);
                if batch.len() >= 64 {
                    record(batch).map_err(Stop::Record)?;
                    batch.clear();
                }
            }
            let Some((start, settled)) = next.next_if(|(s, _)| until.is_none_or(|t| *s <= t))
            else {
                return Ok(());
            };
            let path = hour_path(&base, start, (!settled).then_some(req.now));
            let hour = Hour::open(start, path)
                .map_err(|e| Stop::Project(format!("writing the hour of {start}: {e}")))?;
            *open = Some((hour, settled));
        }
    };
    let read = async {
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                Stop::Project(
                    GcpError::call("logging.entries.list", &format!("projects/{project}"), e)
                        .to_string(),
                )
            })?;
            for entry in &page.entries {
                let (bytes, time) = line(entry).map_err(Stop::Project)?;
                let Some(time) = time else {
                    return Err(Stop::Project("an entry without a timestamp".to_string()));
                };
                advance(Some(time), &mut open, &mut batch, report)?;
                match &mut open {
                    Some((hour, _)) if time >= hour.start => hour.push(&bytes).map_err(|e| {
                        Stop::Project(format!("writing {}: {e}", hour.part.display()))
                    })?,
                    // An hour the case holds whole already.
                    _ => {}
                }
            }
            progress(page.entries.len() as u64);
        }
        advance(None, &mut open, &mut batch, report)
    };
    let result = read.await;
    // What is whole is recorded, whatever ended the reading: the files are on disk, and a
    // later run must not find them unrecorded with other entries to hand.
    if let Some((hour, _)) = open.take() {
        std::fs::remove_file(&hour.part).ok();
    }
    if !batch.is_empty() {
        record(&batch).map_err(Stop::Record)?;
    }
    result
}

/// The partial files of an hour recorded before, now that its whole file is in the case.
fn supersede(req: &Request, base: &Path, hour: DateTime<Utc>, report: &mut Report) {
    let day = base.join(hour.format("%Y/%m/%d").to_string());
    let prefix = format!("{}.partial-", hour.format("%H"));
    for path in req.recorded.keys() {
        if path.parent() == Some(day.as_path())
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        {
            report.superseded.push(path.display().to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_filter_names_each_audit_log_and_the_window() {
        let f = filter(
            "acme-prod",
            &[AuditLog::Activity, AuditLog::DataAccess],
            t("2026-10-02T09:00:00Z"),
            t("2026-10-02T10:00:00Z"),
        );
        assert_eq!(
            f,
            "logName=(\"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity\" OR \"projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access\") AND timestamp>=\"2026-10-02T09:00:00Z\" AND timestamp<\"2026-10-02T10:00:00Z\""
        );
    }

    #[test]
    fn hours_are_named_whole_or_partial_under_their_log() {
        let base = folder(Path::new("/c/logs/gcp"), "p-1", AuditLog::Policy);
        assert_eq!(base, Path::new("/c/logs/gcp/p-1/policy"));
        let h = t("2026-10-02T09:00:00Z");
        assert_eq!(hour_path(&base, h, None), base.join("2026/10/02/09.jsonl"));
        assert_eq!(
            hour_path(&base, h, Some(t("2026-10-02T09:40:05Z"))),
            base.join("2026/10/02/09.partial-20261002T094005Z.jsonl")
        );
    }
}
