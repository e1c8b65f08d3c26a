//! A hunt, and a hunt into a case: the case is resolved before anything is read, standard input
//! is saved into the case's folder first (a case's sources must be files it can check later),
//! every file is hashed by the very read that parses it, and the detections are attached with
//! the hunt's record in one transaction.
//!
//! The front end supplies the [`Sink`] that shows detections as they are found and reads
//! [`Progress`] while the hunt runs; [`Hunt::run`] puts the case's collector in front of it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, bail};
use squall_case::{HuntCase, HuntRun, NewCase, NewDetection, SourceDigest, Store};
use squall_detect::aws_ranges::AwsRanges;
use squall_detect::{Detection, HuntOptions, Level, Progress, RuleSet, Sink, Stats};
use squall_logs::{Discovery, LogSource, ReadOptions, Warning};

use crate::{Context, examples, timespec};

/// The most detections one hunt attaches to a case: past this many the hunt is noise to be
/// narrowed first, and holding them all would cost the memory the streaming design saves.
pub const MAX_CASE_DETECTIONS: usize = 50_000;

/// Which case a hunt files its detections in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseTarget {
    /// `--case`: an existing case, checked before anything is read.
    Existing(String),
    /// `--new-case [TITLE]`: a new case, titled after the hunt when the title is empty.
    New(String),
}

/// What to hunt, as plain options.
#[derive(Debug, Clone, Default)]
pub struct HuntRequest {
    /// Files or folders; `-` is standard input; none means the bundled example logs.
    pub paths: Vec<PathBuf>,
    pub rules: Vec<PathBuf>,
    pub builtin: bool,
    pub min_level: Option<Level>,
    /// `--since`/`--until` as typed (RFC 3339, a date, or an age).
    pub since: Option<String>,
    pub until: Option<String>,
    pub threads: Option<usize>,
    pub input_format: Option<LogSource>,
    pub max_record_mib: usize,
    /// AWS's ip-ranges.json to place addresses with; the shipped copy when `None`.
    pub aws_ip_ranges: Option<PathBuf>,
    pub case: Option<CaseTarget>,
}

/// A hunt ready to run: its inputs found, its rules loaded, its case (if any) known.
pub struct Hunt {
    /// What was hunted: the paths given (`-` replaced by the saved file), or the bundled
    /// example files when none were.
    pub paths: Vec<PathBuf>,
    pub rules: RuleSet,
    pub discovery: Discovery,
    /// Things the analyst should know before the results (stdin saved, examples used).
    pub notices: Vec<String>,
    /// Failed checks of the inputs known before the hunt (what a log collection found
    /// missing or altered): said first, always, and counted as warnings.
    pub integrity: Vec<String>,
    options: HuntOptions,
    min_level: Option<Level>,
    case: Option<CaseHunt>,
}

/// The case side of a hunt.
struct CaseHunt {
    ctx: Context,
    /// Known before the hunt (`--case`, or `--new-case` with standard input); otherwise the
    /// case opens with the hunt's record.
    id: Option<String>,
    title: String,
    /// Each input's name → its absolute path, so the same record found through another
    /// relative path is recognised.
    canonical: HashMap<String, String>,
    found: Mutex<Vec<NewDetection>>,
    too_many: AtomicBool,
    /// Collected logs hunted (absolute path → SHA-256 recorded when collected): each is
    /// checked against what the hunt read.
    collected: HashMap<String, String>,
}

/// What attaching a hunt's detections to a case did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub case: String,
    pub added: u64,
    pub already_attached: u64,
    /// Problems to tell the analyst (files not hashed, a case failing its checks, conflicting
    /// event ids), in the order they were found; each counts as a warning.
    pub warnings: Vec<String>,
}

impl Hunt {
    /// Resolves the case, saves standard input, finds the inputs and loads the rules. `ctx`
    /// is needed only for a hunt into a case; `home` holds the bundled examples.
    pub fn prepare(
        req: HuntRequest,
        ctx: Option<&Context>,
        home: Option<&Path>,
    ) -> anyhow::Result<Hunt> {
        let now = chrono::Utc::now();
        let time = |t: &Option<String>| t.as_deref().map(|t| timespec::parse(t, now)).transpose();
        let (since, until) = (time(&req.since)?, time(&req.until)?);
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            bail!("--since must be before --until");
        }
        if req.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        let mut notices = Vec::new();
        let mut integrity = Vec::new();
        let mut paths = req.paths.clone();
        let reads_stdin = paths.iter().any(|p| p.as_os_str() == "-");
        let mut case = match (ctx, &req.case) {
            (Some(ctx), Some(target)) => {
                let title = new_case_title(target, &req.paths);
                let id = match target {
                    CaseTarget::Existing(id) => Some(ctx.store()?.case(id)?.id),
                    CaseTarget::New(_) if reads_stdin => {
                        let new = NewCase {
                            title: title.clone(),
                            severity: None,
                            owner: None,
                        };
                        Some(ctx.store()?.open_case(&ctx.actor, &new)?.id)
                    }
                    CaseTarget::New(_) => None,
                };
                if let Some(id) = id.as_deref().filter(|_| reads_stdin) {
                    let saved = save_stdin(ctx, id)?;
                    notices.push(format!(
                        "standard input saved to {} for case {id}",
                        saved.display()
                    ));
                    for p in paths.iter_mut().filter(|p| p.as_os_str() == "-") {
                        p.clone_from(&saved);
                    }
                }
                Some(CaseHunt {
                    ctx: ctx.clone(),
                    id,
                    title,
                    canonical: HashMap::new(),
                    found: Mutex::new(Vec::new()),
                    too_many: AtomicBool::new(false),
                    collected: HashMap::new(),
                })
            }
            _ => None,
        };
        // A case's collected logs, when it has some and no path was given.
        if let (true, Some(case), Some(ctx)) = (paths.is_empty(), &mut case, ctx)
            && let Some(id) = &case.id
        {
            let store = ctx.store()?;
            let file = squall_case::CaseFile::load(&store, id)?;
            let crate::collect::CollectedLogs {
                files: logs,
                problems,
            } = crate::collect::collected_logs(ctx, &file)?;
            if !logs.is_empty() {
                notices.push(format!(
                    "no paths given; hunting the {} log file(s) collected for case {id}",
                    logs.len()
                ));
                integrity.extend(problems);
                for (path, sha256) in logs {
                    let key = std::fs::canonicalize(&path)
                        .unwrap_or_else(|_| path.clone())
                        .display()
                        .to_string();
                    case.collected.insert(key, sha256);
                    paths.push(path);
                }
            }
        }
        if paths.is_empty() {
            let root = examples::materialize(home)?;
            notices.push(format!(
                "no paths given; hunting the bundled example logs in {}",
                root.display()
            ));
            paths = examples::files(&root);
        }
        let rules = squall_detect::load(&req.rules, req.builtin, req.min_level);
        // The stolen-credential detector is the only reader of AWS's ranges and the
        // inventory's addresses: without it, neither is loaded (a given file is still read,
        // so its errors are the same).
        let detector = !rules.native.is_empty();
        let ranges = match &req.aws_ip_ranges {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading --aws-ip-ranges {}", path.display()))?;
                let ranges = AwsRanges::parse_from(&text, &path.display().to_string())
                    .map_err(|e| anyhow::anyhow!("--aws-ip-ranges {}: {e}", path.display()))?;
                Some(Arc::new(ranges))
            }
            None if detector => Some(AwsRanges::shipped()),
            None => None,
        };
        // Old ranges place new AWS addresses outside AWS: say so while the detector runs.
        if detector
            && let Some(ranges) = &ranges
            && let Ok(published) =
                chrono::NaiveDateTime::parse_from_str(&ranges.published, "%Y-%m-%d-%H-%M-%S")
        {
            let age = (now.naive_utc() - published).num_days();
            if age > STALE_RANGES_DAYS {
                notices.push(format!(
                    "AWS's IP ranges in use were published {age} days ago ({}); give a newer copy of ip-ranges.json with --aws-ip-ranges FILE",
                    ranges.published
                ));
            }
        }
        let discovery = squall_logs::discover(&paths);
        let mut hunt = Hunt {
            paths,
            rules,
            discovery,
            notices,
            integrity,
            options: HuntOptions {
                forced: req.input_format,
                since,
                until,
                threads: req.threads.unwrap_or(0),
                read: ReadOptions {
                    max_record: req.max_record_mib.max(1) << 20,
                },
                hash_files: case.is_some(),
                aws_ranges: ranges,
                instance_addresses: match ctx {
                    Some(ctx) if case.is_some() && detector => instance_addresses(ctx)?,
                    _ => HashMap::new(),
                },
            },
            min_level: req.min_level,
            case,
        };
        if let Some(case) = &mut hunt.case {
            case.canonical = hunt
                .discovery
                .inputs
                .iter()
                .filter_map(|i| {
                    let path = std::fs::canonicalize(i.path.as_ref()?).ok()?;
                    Some((i.name.clone(), path.display().to_string()))
                })
                .collect();
        }
        Ok(hunt)
    }

    /// The problems that stop a hunt before it reads anything; the front end shows the rule
    /// problems and discovery warnings first, since they usually explain these.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.discovery.inputs.is_empty() {
            bail!(
                "no log files found under {} (help: give files or folders holding .json, .jsonl, .gz or .zst logs)",
                self.paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if self.rules.active_rules() == 0 {
            bail!("no usable rules (help: --rules DIR, or drop --no-builtin)");
        }
        Ok(())
    }

    /// Runs the hunt: detections at or above the minimum level reach `sink` as they are found
    /// (and, for a case, are kept to attach).
    pub fn run(&mut self, progress: &Progress, sink: &dyn Sink) -> Stats {
        let collector = Collector {
            inner: sink,
            min_level: self.min_level,
            case: self.case.as_ref(),
        };
        squall_detect::hunt(
            &self.discovery.inputs,
            &mut self.rules,
            &self.options,
            progress,
            &collector,
        )
    }

    /// Attaches what the hunt found to its case, with the hunt's record (inputs, files with
    /// their digests, counts) in one transaction; `None` without a case.
    pub fn attach(&mut self, stats: &Stats) -> anyhow::Result<Option<Attachment>> {
        let Some(case) = self.case.take() else {
            return Ok(None);
        };
        if case.too_many.load(Ordering::Relaxed) {
            bail!(
                "more than {MAX_CASE_DETECTIONS} detections: nothing was attached to a case \
                 (help: narrow the hunt with --min-level, --since/--until or fewer --rules)"
            );
        }
        let mut found = case.found.into_inner().unwrap();
        NewDetection::sort_by_time(&mut found);
        let mut warnings = Vec::new();
        let mut files = Vec::new();
        let mut sources = Vec::new();
        for (index, input) in self.discovery.inputs.iter().enumerate() {
            if input.path.is_none() {
                continue;
            }
            let absolute = case
                .canonical
                .get(&input.name)
                .unwrap_or(&input.name)
                .clone();
            // The digest of the very bytes the hunt parsed (see `HuntOptions::hash_files`).
            if let (Some(d), Some(then)) =
                (stats.digests.get(&index), case.collected.get(&absolute))
                && d.sha256 != *then
            {
                warnings.push(format!(
                    "{}: not what was collected (sha256 {then} when collected, {} now)",
                    input.name, d.sha256
                ));
            }
            match stats.digests.get(&index) {
                Some(d) => sources.push(SourceDigest {
                    path: absolute.clone(),
                    sha256: d.sha256.clone(),
                    size: d.size,
                }),
                None => warnings.push(format!(
                    "{}: not hashed (it could not be read to its end); the case cannot \
                     check it later",
                    input.name
                )),
            }
            files.push(absolute);
        }
        let run = HuntRun {
            inputs: self.paths.iter().map(|p| p.display().to_string()).collect(),
            files,
            records: stats.records,
            rules: self.rules.active_rules() as u64,
            detections: found.len() as u64,
            sources,
            aws_ip_ranges: self
                .options
                .aws_ranges
                .as_ref()
                .filter(|_| !self.rules.native.is_empty())
                .map(|r| SourceDigest {
                    path: format!("{} (published {})", r.source, r.published),
                    sha256: r.sha256.clone(),
                    size: r.size,
                }),
        };
        let new_case = NewCase {
            title: case.title.clone(),
            // A case opened by a hunt starts at its worst detection's level.
            severity: found
                .iter()
                .map(|d| d.level.clone())
                .max_by_key(|l| l.parse::<Level>().ok()),
            owner: None,
        };
        let target = match &case.id {
            Some(id) => HuntCase::Existing(id),
            None => HuntCase::New(&new_case),
        };
        let mut store = case.ctx.store()?;
        // Whether a detection is attached already is read from the store's tables: on a case
        // whose tables disagree with its ledger, that answer may have been forged.
        if let Some(id) = &case.id
            && let Some(banner) = squall_case::CaseFile::load(&store, id)?.integrity.banner()
        {
            warnings.push(format!(
                "{id}: attaching to a case that fails its integrity check; detections may be \
                 wrongly taken as attached already: {banner}"
            ));
        }
        let (id, _, outcome) = store.record_hunt(target, &case.ctx.actor, &run, &found)?;
        warnings.extend(outcome.conflicts);
        Ok(Some(Attachment {
            case: id,
            added: outcome.added,
            already_attached: outcome.already_attached,
            warnings,
        }))
    }

    /// The run's summary, a line each: files, bytes and rate; records by log; detections by
    /// level (`by_level` indexed by [`Level`]); what was skipped and why; the rules; warnings.
    pub fn summary(
        &self,
        stats: &Stats,
        by_level: [u64; 5],
        warnings: u64,
        elapsed: std::time::Duration,
    ) -> Vec<String> {
        let (rules, discovery) = (&self.rules, &self.discovery);
        let secs = elapsed.as_secs_f64().max(0.001);
        let mut e = Vec::new();
        e.push(format!(
        "squall hunt: {} files ({} read, {} decompressed), {} records in {:.2} s ({} records/s)",
        thousands(stats.files),
        megabytes(stats.disk_bytes),
        megabytes(stats.bytes),
        thousands(stats.records),
        secs,
        thousands((stats.records as f64 / secs) as u64),
    ));
        if !discovery.digests.is_empty() {
            e.push(format!(
                "  digest files passed over: {}",
                discovery.digests.len()
            ));
        }
        if !stats.by_source.is_empty() {
            let parts: Vec<_> = stats
                .by_source
                .iter()
                .map(|(k, v)| format!("{k} {}", thousands(*v)))
                .collect();
            e.push(format!("  records by log: {}", parts.join(", ")));
        }
        let mut levels = Vec::new();
        for level in Level::ALL.iter().rev() {
            let n = by_level[*level as usize];
            if n > 0 {
                levels.push(format!("{} {level}", thousands(n)));
            }
        }
        e.push(format!(
            "  detections: {}",
            if levels.is_empty() {
                "none".to_string()
            } else {
                levels.join(", ")
            }
        ));
        if !stats.skipped.is_empty() {
            let parts: Vec<_> = stats
                .skipped
                .iter()
                .map(|(k, v)| format!("{k} {}", thousands(*v)))
                .collect();
            e.push(format!("  skipped: {}", parts.join(", ")));
        }
        if stats.outside_window > 0 {
            e.push(format!(
                "  outside --since/--until: {}",
                thousands(stats.outside_window)
            ));
        }
        if stats.untimed_correlation_inputs > 0 {
            e.push(format!(
                "  records without a time, left out of correlations: {}",
                thousands(stats.untimed_correlation_inputs)
            ));
        }
        if stats.credential_pairs_dropped > 0 {
            e.push(format!(
                "  warning: the stolen-credential detector learned {} (key, address) pairs, its limit; {} uses of new pairs were not learned",
                thousands(stats.credential_pairs),
                thousands(stats.credential_pairs_dropped)
            ));
        }
        let builtin = rules
            .info
            .values()
            .filter(|r| r.source.starts_with("builtin:"))
            .count();
        let mut line = format!(
            "  rules: {} active ({} built-in, {} from --rules)",
            rules.active_rules(),
            builtin,
            rules.active_rules().saturating_sub(builtin)
        );
        let other: usize = rules.other_logsources.values().sum();
        if other > 0 {
            line.push_str(&format!(", {other} for logs squall does not read"));
        }
        if !rules.problems.is_empty() {
            line.push_str(&format!(", {} unusable", rules.problems.len()));
        }
        e.push(line);
        if warnings > 0 {
            e.push(format!("  warnings: {warnings}"));
        }
        e
    }
}

/// `1234567` → `1,234,567`, for counts people read.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn megabytes(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}

/// Stands in front of the front end's sink: drops detections below the minimum level (a
/// correlation may need rules below it) and keeps a copy of the rest for the case.
struct Collector<'a> {
    inner: &'a dyn Sink,
    min_level: Option<Level>,
    case: Option<&'a CaseHunt>,
}

impl Sink for Collector<'_> {
    fn warning(&self, warning: &Warning) {
        self.inner.warning(warning);
    }

    fn detections(&self, mut found: Vec<Detection>) {
        if let Some(min) = self.min_level {
            found.retain(|d| d.rule.level >= min);
        }
        if found.is_empty() {
            return;
        }
        if let Some(case) = self.case {
            let new: Vec<_> = found
                .iter()
                .map(|d| to_new_detection(d, &case.canonical))
                .collect();
            let mut kept = case.found.lock().unwrap();
            // Past the limit nothing more is held; `attach` refuses with a hint.
            if kept.len() < MAX_CASE_DETECTIONS {
                kept.extend(new);
            } else {
                case.too_many.store(true, Ordering::Relaxed);
            }
        }
        self.inner.detections(found);
    }
}

/// A detection as the case store keeps it; the file is made absolute so the same record found
/// through another relative path is recognised.
fn to_new_detection(d: &Detection, canonical: &HashMap<String, String>) -> NewDetection {
    let file = canonical
        .get(&*d.evidence.file)
        .cloned()
        .unwrap_or_else(|| d.evidence.file.to_string());
    NewDetection {
        rule_id: d.rule.id.clone(),
        title: d.rule.title.clone(),
        level: d.rule.level.name().to_string(),
        event_time: d.summary.time.clone(),
        event_id: d.summary.event_id.clone(),
        record_sha256: Some(d.evidence.record_sha256.clone()).filter(|h| !h.is_empty()),
        file,
        record_index: d.evidence.record_index,
        json: serde_json::to_value(d).unwrap_or(serde_json::Value::Null),
    }
}

/// `--new-case`'s title, or one made from the inputs when it is empty.
fn new_case_title(target: &CaseTarget, paths: &[PathBuf]) -> String {
    match target {
        CaseTarget::New(title) if !title.trim().is_empty() => title.clone(),
        _ => {
            let inputs: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
            format!(
                "Hunt of {} at {}",
                if inputs.is_empty() {
                    "the bundled example logs".to_string()
                } else {
                    inputs.join(", ")
                },
                chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
            )
        }
    }
}

/// Copies standard input into the case's folder (owner-only, never overwriting), so the hunt
/// reads a file the case can hash and check again; the bytes are kept as they came
/// (compressed or not).
fn save_stdin(ctx: &Context, case: &str) -> anyhow::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ").to_string();
    let path = ctx.case_folder(case)?.stdin_file(&stamp);
    let mut file = squall_case::home::new_private_file(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file)
        .and_then(|_| file.sync_all())
        .with_context(|| format!("saving standard input to {}", path.display()))?;
    Ok(path)
}

/// Past this age AWS's IP ranges are worth replacing (AWS adds ranges every few weeks).
const STALE_RANGES_DAYS: i64 = 180;

/// The instances' public addresses the inventory read (`inventory aws`), for a hunt into a
/// case: with them, the stolen-credential detector knows an instance's own address from a
/// thief's even when the instance's own calls are not in the logs. None without a store yet.
fn instance_addresses(ctx: &Context) -> anyhow::Result<HashMap<String, Vec<String>>> {
    if !squall_case::home::store_path(&ctx.home).exists() {
        return Ok(HashMap::new());
    }
    let inventory = ctx.store()?.inventory_checked()?;
    Ok(inventory
        .resources
        .into_iter()
        .filter(|r| r.provider == squall_core::Provider::Aws && !r.addresses.is_empty())
        .filter(|r| r.kind.as_deref() == Some("instance"))
        .map(|r| {
            // In the one spelling the detector compares (IPv6 canonical).
            let addresses = r
                .addresses
                .iter()
                .filter_map(|a| a.parse::<std::net::IpAddr>().ok())
                .map(|ip| ip.to_canonical().to_string())
                .collect();
            (r.id, addresses)
        })
        .collect())
}
