//! `collect aws logs`: a provider's logs fetched into the case's folder, each file recorded as
//! evidence as it lands, the collection's findings recorded as `logs.collected`; then
//! `hunt --case C` with no path hunts them (see [`collected_logs`]).

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context as _;
use squall_aws::Target;
use squall_aws::collect::{File, Progress, Recorded, Request, Scope, Sink};
use squall_case::{CaseFile, NewEvidence, Store};
use squall_core::entry::{Kind, LogsCollected, Payload};

use crate::{Context, respond, timespec};

/// What the analyst asked for: the window as typed, and the scope.
#[derive(Debug, Clone, Default)]
pub struct CollectRequest {
    pub case: String,
    pub since: String,
    pub until: Option<String>,
    pub scope: Scope,
}

/// What the collection did, and what the case said of itself before it began.
#[derive(Debug, Clone)]
pub struct Collected {
    pub report: LogsCollected,
    /// The case's own checks that failed (said before anything else).
    pub integrity: Vec<String>,
    /// Files recorded as evidence by this run.
    pub recorded: u64,
}

/// Collects a trail's logs for a window into case `req.case`. `progress` hears each phase and
/// file, for a bar.
pub fn collect_aws_logs(
    ctx: &Context,
    target: &Target,
    req: &CollectRequest,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<Collected> {
    let Begun {
        mut store,
        case,
        since,
        until,
        folder,
        lock: _lock,
        file,
    } = begin(ctx, &req.case, &req.since, req.until.as_deref())?;
    let recorded: HashMap<PathBuf, Recorded> = file
        .evidence
        .iter()
        .map(|e| {
            let r = Recorded {
                sha256: e.sha256.clone(),
                size: e.size,
                source: e.source.clone(),
            };
            (PathBuf::from(&e.path), r)
        })
        .collect();
    let request = Request {
        since: Some(since),
        until,
        scope: Scope {
            parallel: req.scope.parallel.max(1),
            ..req.scope.clone()
        },
        logs_dir: std::path::absolute(folder.collected_logs("aws")?)?,
        digests_dir: std::path::absolute(folder.collected_digests("aws")?)?,
        recorded,
    };
    let target = Target {
        case: Some(case.clone()),
        ..target.clone()
    };
    let mut sink = Recorder {
        store: &mut store,
        case: &case,
        actor: &ctx.actor,
        progress,
        recorded: 0,
    };
    let report =
        respond::runtime()?.block_on(squall_aws::collect::collect(&target, &request, &mut sink))?;
    let recorded = sink.recorded;
    store.record_collection(&case, &ctx.actor, &report)?;
    Ok(Collected {
        report,
        integrity: file.integrity.failures,
        recorded,
    })
}

/// A collection begun: the window read, the case's collection lock held (one collection of a
/// case at a time: two would race for the same files), and the case loaded under it, so what
/// an earlier run recorded is all there.
struct Begun {
    store: squall_case::SqliteStore,
    case: String,
    since: chrono::DateTime<chrono::Utc>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    folder: squall_case::home::CaseFolder,
    lock: std::fs::File,
    file: CaseFile,
}

fn begin(ctx: &Context, case: &str, since: &str, until: Option<&str>) -> anyhow::Result<Begun> {
    let store = ctx.store()?;
    let case = store.case(case)?.id;
    let now = chrono::Utc::now();
    let time = |t: &str, flag: &str| {
        timespec::parse(t, now)
            .ok()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .with_context(|| format!("{flag} {t:?} (help: RFC 3339, a date, or an age like 24h)"))
    };
    let since_at = time(since, "--since")?;
    let until = until.map(|u| time(u, "--until")).transpose()?;
    if until.is_some_and(|u| u <= since_at) {
        anyhow::bail!("--since must be before --until");
    }
    if since_at >= chrono::Utc::now() {
        anyhow::bail!("--since {since} is in the future");
    }
    let folder = ctx.case_folder(&case)?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(folder.root().join("collect.lock"))
        .context("the case's collection lock")?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!("another collection into case {case} is running")
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).context("the case's collection lock");
        }
    }
    let file = CaseFile::load(&store, &case)?;
    Ok(Begun {
        store,
        case,
        since: since_at,
        until,
        folder,
        lock,
        file,
    })
}

/// What `collect gcp logs` is asked for.
#[derive(Debug, Clone)]
pub struct GcpCollectRequest {
    pub case: String,
    pub since: String,
    pub until: Option<String>,
    pub projects: Vec<String>,
    pub logs: Vec<squall_gcp::collect::AuditLog>,
}

/// Collects projects' Cloud Audit Logs for a window into case `req.case`, each hour's file
/// recorded as evidence as it lands; `progress` hears entry counts.
pub fn collect_gcp_logs(
    ctx: &Context,
    target: &squall_gcp::Target,
    req: &GcpCollectRequest,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Collected> {
    let Begun {
        mut store,
        case,
        since,
        until,
        folder,
        lock: _lock,
        file,
    } = begin(ctx, &req.case, &req.since, req.until.as_deref())?;
    let now = chrono::Utc::now();
    let until = until.unwrap_or(now).min(now);
    let request = squall_gcp::collect::Request {
        projects: req.projects.clone(),
        logs: req.logs.clone(),
        since,
        until,
        dir: std::path::absolute(folder.collected_logs("gcp")?)?,
        recorded: file
            .evidence
            .iter()
            .map(|e| (PathBuf::from(&e.path), e.sha256.clone()))
            .collect(),
        now,
    };
    let target = squall_gcp::Target {
        case: Some(case.clone()),
        ..target.clone()
    };
    let mut recorded = 0u64;
    let report = respond::runtime()?.block_on(async {
        let conn = squall_gcp::connect(&target).await?;
        let mut record = |files: &[squall_gcp::collect::File]| -> Result<(), String> {
            let evidence: Vec<NewEvidence> = files
                .iter()
                .map(|f| collected_file(&f.path, &f.sha256, f.size, &f.description, &f.source))
                .collect();
            store
                .add_evidence_batch(&case, &ctx.actor, &evidence)
                .map_err(|e| e.to_string())?;
            recorded += files.len() as u64;
            Ok(())
        };
        squall_gcp::collect::collect(&conn, &request, &mut record, progress).await
    })?;
    let ids: Vec<&str> = req.logs.iter().map(|l| l.id()).collect();
    let report = LogsCollected {
        provider: "gcp".to_string(),
        since: since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        until: until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        source: format!(
            "logging.googleapis.com: cloudaudit.googleapis.com/{{{}}}",
            ids.join(",")
        ),
        trail: None,
        accounts: req.projects.clone(),
        regions: Vec::new(),
        files: report.files,
        bytes: report.bytes,
        already: report.already,
        digests: 0,
        digests_verified: 0,
        failures: report.failures,
        integrity: Vec::new(),
        unchecked: vec![format!(
            "Cloud Logging signs nothing: each file's SHA-256 is of the {} entries as read, not of anything Google vouches for",
            report.entries
        )],
        gaps: Vec::new(),
        superseded: report.superseded,
        warnings: Vec::new(),
    };
    store.record_collection(&case, &ctx.actor, &report)?;
    Ok(Collected {
        report,
        integrity: file.integrity.failures,
        recorded,
    })
}

/// A collected log file as evidence: where it is in the case folder, its digest as stored,
/// and where it came from.
fn collected_file(
    path: &std::path::Path,
    sha256: &str,
    size: u64,
    description: &str,
    source: &str,
) -> NewEvidence {
    NewEvidence {
        path: path.display().to_string(),
        sha256: sha256.to_string(),
        size,
        description: description.to_string(),
        source: Some(source.to_string()),
        stored_at: path.display().to_string(),
    }
}

/// Records each batch of finished files as evidence.
struct Recorder<'a> {
    store: &'a mut squall_case::SqliteStore,
    case: &'a str,
    actor: &'a str,
    progress: &'a mut dyn FnMut(Progress),
    recorded: u64,
}

impl Sink for Recorder<'_> {
    fn record(&mut self, files: &[File]) -> Result<(), String> {
        if files.is_empty() {
            return Ok(());
        }
        let evidence: Vec<NewEvidence> = files
            .iter()
            .map(|f| collected_file(&f.path, &f.sha256, f.size, &f.description, &f.source))
            .collect();
        self.store
            .add_evidence_batch(self.case, self.actor, &evidence)
            .map_err(|e| e.to_string())?;
        self.recorded += files.len() as u64;
        Ok(())
    }

    fn progress(&mut self, progress: Progress) {
        (self.progress)(progress);
    }
}

/// The log files collected for a case, as its ledger records them (evidence kept under the
/// case's `logs/` folder, less `LookupEvents` files whose events have all been delivered since),
/// with their digests; and what each collection found wrong, to say before a hunt of them.
pub fn collected_logs(ctx: &Context, file: &CaseFile) -> anyhow::Result<CollectedLogs> {
    let logs = std::path::absolute(ctx.case_folder(&file.case.id)?.logs())?;
    let store = ctx.store()?;
    let mut superseded = std::collections::HashSet::new();
    let mut problems = Vec::new();
    for e in store.ledger(&file.case.id)? {
        if e.kind != Kind::LogsCollected {
            continue;
        }
        let Some(c) = LogsCollected::from_value(&e.payload) else {
            continue;
        };
        superseded.extend(c.superseded.iter().cloned());
        // Every collection's, not only the latest: a later, narrower one does not clear them.
        for (what, list) in [
            ("integrity problem(s)", &c.integrity),
            ("file(s) not fetched", &c.failures),
        ] {
            if let Some(first) = list.first() {
                problems.push(format!(
                    "the {} log collection from {} of {} to {} (ledger entry {}) found {} {what}; the first: {first}",
                    c.provider,
                    c.source,
                    c.since,
                    c.until,
                    e.seq,
                    list.len(),
                ));
            }
        }
    }
    let mut found: Vec<(PathBuf, String)> = file
        .evidence
        .iter()
        .filter(|e| {
            std::path::Path::new(&e.path).starts_with(&logs) && !superseded.contains(&e.path)
        })
        .map(|e| (PathBuf::from(&e.path), e.sha256.clone()))
        .collect();
    found.sort();
    found.dedup();
    Ok(CollectedLogs {
        files: found,
        problems,
    })
}

/// A case's collected log files (path, SHA-256 when collected) and the problems their
/// collections reported.
#[derive(Debug, Clone, Default)]
pub struct CollectedLogs {
    pub files: Vec<(PathBuf, String)>,
    pub problems: Vec<String>,
}
