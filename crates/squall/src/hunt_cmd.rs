//! `squall hunt`: wiring rules, inputs, the hunt pipeline, output and the run summary.

use std::collections::HashMap;
use std::io::{BufWriter, IsTerminal, Stdout, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use squall_detect::{Detection, HuntOptions, Level, Progress, RuleSet, Sink};
use squall_logs::{ReadOptions, Warning};

use crate::cli::{Format, HuntArgs};
use crate::{case_cmd, examples, exit, output, timespec};

/// Prints warnings as they come, up to a limit, without tearing the progress bar.
struct WarningPrinter {
    bar: Option<ProgressBar>,
    shown: AtomicU64,
    limit: u64,
    lock: Mutex<()>,
}

impl WarningPrinter {
    fn print(&self, text: &str) {
        let n = self.shown.fetch_add(1, Ordering::Relaxed);
        if n > self.limit {
            return;
        }
        let line = if n == self.limit {
            "warning: more warnings not shown (see the summary; --max-warnings raises the limit)"
                .to_string()
        } else {
            // Warnings quote file names and record text: shown, never obeyed.
            format!("warning: {}", squall_case::text::terminal(text))
        };
        let _guard = self.lock.lock().unwrap();
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

/// The most detections one hunt attaches to a case.
const MAX_CASE_DETECTIONS: usize = 50_000;

/// Where `squall hunt` sends what the workers find: streaming formats are serialized on the
/// worker's thread and written under a lock; table and JSON are kept for sorting at the end.
struct Output<'a> {
    printer: &'a WarningPrinter,
    format: Format,
    min_level: Option<Level>,
    stdout: Mutex<BufWriter<Stdout>>,
    kept: Mutex<Vec<Detection>>,
    by_level: [AtomicU64; 5],
    /// Detections to attach to a case after the hunt (`--case`, `--new-case`).
    to_attach: Option<Mutex<Vec<squall_case::NewDetection>>>,
    /// Each input's name → its absolute path, resolved once (only with `--case`).
    canonical: HashMap<String, String>,
    /// More detections than a case takes (see [`MAX_CASE_DETECTIONS`]).
    too_many: AtomicBool,
    /// The first write error; a closed pipe (`| head`) stops output but not the hunt's counts.
    failed: Mutex<Option<anyhow::Error>>,
}

impl Output<'_> {
    fn count(&self) -> u64 {
        self.by_level
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    fn record_failure(&self, e: anyhow::Error) {
        let mut failed = self.failed.lock().unwrap();
        if failed.is_none() {
            *failed = Some(e);
        }
    }
}

impl Sink for Output<'_> {
    fn warning(&self, warning: &Warning) {
        self.printer.print(&warning.to_string());
    }

    fn detections(&self, mut found: Vec<Detection>) {
        if let Some(min) = self.min_level {
            found.retain(|d| d.rule.level >= min);
        }
        for d in &found {
            self.by_level[d.rule.level as usize].fetch_add(1, Ordering::Relaxed);
        }
        if found.is_empty() {
            return;
        }
        if let Some(attach) = &self.to_attach {
            let new: Vec<_> = found
                .iter()
                .map(|d| to_new_detection(d, &self.canonical))
                .collect();
            let mut attach = attach.lock().unwrap();
            // A case is for the detections an analyst will read; past this many the hunt is
            // noise to be narrowed first, and holding them all would cost the memory the
            // streaming design saves. The attach step refuses it with a hint.
            if attach.len() < MAX_CASE_DETECTIONS {
                attach.extend(new);
            } else {
                self.too_many.store(true, Ordering::Relaxed);
            }
        }
        if !output::streams(self.format) {
            self.kept.lock().unwrap().extend(found);
            return;
        }
        let mut buf = Vec::with_capacity(found.len() * 700);
        if let Err(e) = output::write_rows(&mut buf, self.format, &found) {
            self.record_failure(e);
            return;
        }
        if self.failed.lock().unwrap().is_some() {
            return;
        }
        if let Err(e) = self.stdout.lock().unwrap().write_all(&buf) {
            self.record_failure(e.into());
        }
    }
}

/// A detection as the case store keeps it; the file is made absolute so the same record found
/// through another relative path is recognised.
fn to_new_detection(
    d: &Detection,
    canonical: &HashMap<String, String>,
) -> squall_case::NewDetection {
    let file = canonical
        .get(&*d.evidence.file)
        .cloned()
        .unwrap_or_else(|| d.evidence.file.to_string());
    squall_case::NewDetection {
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

fn thousands(n: u64) -> String {
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

/// `home` is where the bundled example logs are written when no path is given.
pub fn run(
    args: HuntArgs,
    case_ctx: Option<&case_cmd::Context>,
    home: Option<&std::path::Path>,
) -> anyhow::Result<u8> {
    let now = chrono::Utc::now();
    let since = args
        .since
        .as_deref()
        .map(|t| timespec::parse(t, now))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|t| timespec::parse(t, now))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        bail!("--since must be before --until");
    }
    if args.threads == Some(0) {
        bail!("--threads must be at least 1");
    }

    // `--case` is checked before anything is read. Standard input is saved into the case's
    // folder first (a case's sources must be files it can check later), so with `-` a
    // `--new-case` is opened first too; otherwise it opens with the hunt's record.
    let reads_stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    let case_id = match case_ctx {
        Some(ctx) if args.case.is_some() || reads_stdin => {
            Some(case_for_hunt(ctx, &args, reads_stdin)?)
        }
        _ => None,
    };
    let mut args = args;
    if let (Some(ctx), Some(case)) = (case_ctx, &case_id)
        && reads_stdin
    {
        let saved = save_stdin(&ctx.home, case)?;
        if !args.quiet {
            eprintln!(
                "squall: standard input saved to {} for case {case}",
                squall_case::text::terminal(&saved.display().to_string())
            );
        }
        for p in args.paths.iter_mut().filter(|p| p.as_os_str() == "-") {
            *p = saved.clone();
        }
    }
    let args = args;

    let paths = if args.paths.is_empty() {
        let root = examples::materialize(home)?;
        if !args.quiet {
            eprintln!(
                "squall: no paths given; hunting the bundled example logs in {}",
                root.display()
            );
        }
        examples::files(&root)
    } else {
        args.paths.clone()
    };

    let stderr_tty = std::io::stderr().is_terminal();
    let show_progress = stderr_tty && !args.quiet;
    let started = Instant::now();

    let mut rules = squall_detect::load(&args.rules, !args.no_builtin, args.min_level);
    let discovery = squall_logs::discover(&paths);
    let total_disk: u64 = discovery.inputs.iter().filter_map(|i| i.size).sum();
    let bar = show_progress.then(|| {
        let bar = ProgressBar::with_draw_target(Some(total_disk), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {bytes}/{total_bytes} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    });
    let printer = WarningPrinter {
        bar: bar.clone(),
        shown: AtomicU64::new(0),
        limit: args.max_warnings,
        lock: Mutex::new(()),
    };
    for p in &rules.problems {
        printer.print(&format!("rule {p}"));
    }
    for w in &discovery.warnings {
        printer.print(&w.to_string());
    }
    if discovery.inputs.is_empty() {
        bail!(
            "no log files found under {} (help: give files or folders holding .json, .jsonl, .gz or .zst logs)",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if rules.active_rules() == 0 {
        bail!("no usable rules (help: --rules DIR, or drop --no-builtin)");
    }

    let options = HuntOptions {
        forced: args.input_format,
        since,
        until,
        threads: args.threads.unwrap_or(0),
        read: ReadOptions {
            max_record: args.max_record_mib.max(1) << 20,
        },
        hash_files: case_ctx.is_some(),
    };
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Jsonl
    });
    let sink = Output {
        printer: &printer,
        format,
        min_level: args.min_level,
        stdout: Mutex::new(BufWriter::with_capacity(256 << 10, std::io::stdout())),
        kept: Mutex::new(Vec::new()),
        by_level: Default::default(),
        to_attach: case_ctx.map(|_| Mutex::new(Vec::new())),
        canonical: if case_ctx.is_some() {
            discovery
                .inputs
                .iter()
                .filter_map(|i| {
                    let path = std::fs::canonicalize(i.path.as_ref()?).ok()?;
                    Some((i.name.clone(), path.display().to_string()))
                })
                .collect()
        } else {
            HashMap::new()
        },
        too_many: AtomicBool::new(false),
        failed: Mutex::new(None),
    };
    if output::streams(format)
        && let Err(e) = output::write_header(&mut *sink.stdout.lock().unwrap(), format)
    {
        sink.record_failure(e);
    }
    let progress = Progress::default();
    let done = AtomicBool::new(false);
    let stats = std::thread::scope(|s| {
        if let Some(bar) = &bar {
            let (progress, done, files) = (&progress, &done, discovery.inputs.len());
            s.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let records = progress.records.load(Ordering::Relaxed);
                    let secs = started.elapsed().as_secs_f64().max(0.001);
                    bar.set_position(progress.disk_bytes.load(Ordering::Relaxed));
                    bar.set_message(format!(
                        "files {}/{files}  {} records  {:.0} records/s",
                        progress.files_done.load(Ordering::Relaxed),
                        thousands(records),
                        records as f64 / secs
                    ));
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
        let stats = squall_detect::hunt(&discovery.inputs, &mut rules, &options, &progress, &sink);
        done.store(true, Ordering::Relaxed);
        stats
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let elapsed = started.elapsed();

    let detected = sink.count();
    let mut kept = std::mem::take(&mut *sink.kept.lock().unwrap());
    let mut stdout = sink.stdout.into_inner().unwrap();
    let mut result = sink.failed.into_inner().unwrap().map_or(Ok(()), Err);
    if result.is_ok() && !output::streams(format) {
        squall_detect::sort_detections(&mut kept);
        result = output::write_all(&mut stdout, format, &kept);
    }
    let result = result.and_then(|()| stdout.flush().map_err(anyhow::Error::from));
    if let Err(e) = result {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        let broken_pipe = e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
        if !broken_pipe {
            return Err(e.context("writing the detections"));
        }
    }

    let stats = &stats;
    if sink.too_many.load(Ordering::Relaxed) {
        bail!(
            "more than {MAX_CASE_DETECTIONS} detections: nothing was attached to a case \
             (help: narrow the hunt with --min-level, --since/--until or fewer --rules)"
        );
    }
    let mut case_warnings = 0u64;
    if let (Some(ctx), Some(attach)) = (case_ctx, sink.to_attach) {
        let mut found = attach.into_inner().unwrap();
        squall_case::NewDetection::sort_by_time(&mut found);
        let mut files = Vec::new();
        let mut sources = Vec::new();
        for (index, input) in discovery.inputs.iter().enumerate() {
            if input.path.is_none() {
                continue;
            }
            let absolute = sink
                .canonical
                .get(&input.name)
                .unwrap_or(&input.name)
                .clone();
            // The digest of the very bytes the hunt parsed (see `HuntOptions::hash_files`).
            match stats.digests.get(&index) {
                Some(d) => sources.push(squall_case::SourceDigest {
                    path: absolute.clone(),
                    sha256: d.sha256.clone(),
                    size: d.size,
                }),
                None => {
                    case_warnings += 1;
                    printer.print(&format!(
                        "{}: not hashed (it could not be read to its end); the case cannot \
                         check it later",
                        input.name
                    ));
                }
            }
            files.push(absolute);
        }
        let run = squall_case::HuntRun {
            inputs: paths.iter().map(|p| p.display().to_string()).collect(),
            files,
            records: stats.records,
            rules: rules.active_rules() as u64,
            detections: found.len() as u64,
            sources,
        };
        let new_case = squall_case::NewCase {
            title: new_case_title(&args),
            // A case opened by a hunt starts at its worst detection's level.
            severity: found
                .iter()
                .map(|d| d.level.clone())
                .max_by_key(|l| l.parse::<Level>().ok()),
            owner: None,
        };
        let target = match &case_id {
            Some(id) => squall_case::HuntCase::Existing(id),
            None => squall_case::HuntCase::New(&new_case),
        };
        let mut store = ctx.store()?;
        // Whether a detection is attached already is read from the store's tables: on a case
        // whose tables disagree with its ledger, that answer may have been forged.
        if let Some(id) = &case_id
            && let Some(banner) = squall_case::CaseFile::load(&store, id)?.integrity.banner()
        {
            case_warnings += 1;
            printer.print(&format!(
                "{id}: attaching to a case that fails its integrity check; detections may be \
                 wrongly taken as attached already: {banner}"
            ));
        }
        let (case, _, outcome) =
            squall_case::Store::record_hunt(&mut store, target, &ctx.actor, &run, &found)?;
        for conflict in &outcome.conflicts {
            case_warnings += 1;
            printer.print(conflict);
        }
        eprintln!(
            "squall: {case}: {} detection(s) attached, {} already attached",
            outcome.added, outcome.already_attached
        );
    }
    let warnings = stats.warnings
        + rules.problems.len() as u64
        + discovery.warnings.len() as u64
        + case_warnings;
    if !args.quiet {
        print_summary(&rules, &discovery, stats, &sink.by_level, warnings, elapsed);
    }
    if stats.records == 0
        && stats.files > 0
        && stats.skipped.is_empty()
        && discovery.digests.is_empty()
    {
        eprintln!("squall: the inputs held no records");
    }
    if args.strict && warnings > 0 {
        eprintln!("squall: {warnings} warning(s) and --strict: failing");
        return Ok(exit::ERROR);
    }
    let readable: u64 = stats.by_source.values().sum();
    if readable == 0 && !stats.skipped.is_empty() {
        eprintln!("squall: no record could be read (see the warnings above)");
        return Ok(exit::ERROR);
    }
    if args.fail_on_detection && detected > 0 {
        return Ok(exit::DETECTED);
    }
    Ok(exit::OK)
}

/// The case a hunt files its detections in, when it must be known before the hunt reads
/// anything: `--case`, checked to exist, or `--new-case` when standard input is saved into it.
fn case_for_hunt(
    ctx: &case_cmd::Context,
    args: &HuntArgs,
    reads_stdin: bool,
) -> anyhow::Result<String> {
    use squall_case::Store;
    let mut store = ctx.store()?;
    match &args.case {
        Some(id) => Ok(store.case(id)?.id),
        None if reads_stdin => {
            let new = squall_case::NewCase {
                title: new_case_title(args),
                severity: None,
                owner: None,
            };
            Ok(store.open_case(&ctx.actor, &new)?.id)
        }
        None => bail!("a case hunt needs --case or --new-case"),
    }
}

/// `--new-case`'s title, or one made from the inputs when it is empty.
fn new_case_title(args: &HuntArgs) -> String {
    match &args.new_case {
        Some(title) if !title.trim().is_empty() => title.clone(),
        _ => {
            let inputs: Vec<_> = args.paths.iter().map(|p| p.display().to_string()).collect();
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
fn save_stdin(home: &std::path::Path, case: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = squall_case::home::case_dir(home, case)
        .with_context(|| format!("creating the folder of case {case}"))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
    let path = dir.join(format!("stdin-{stamp}.log"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file)
        .and_then(|_| file.sync_all())
        .with_context(|| format!("saving standard input to {}", path.display()))?;
    Ok(path)
}

fn print_summary(
    rules: &RuleSet,
    discovery: &squall_logs::Discovery,
    stats: &squall_detect::Stats,
    by_level: &[AtomicU64; 5],
    warnings: u64,
    elapsed: Duration,
) {
    let secs = elapsed.as_secs_f64().max(0.001);
    let mut e = std::io::stderr().lock();
    let _ = writeln!(
        e,
        "\nsquall hunt: {} files ({} read, {} decompressed), {} records in {:.2} s ({} records/s)",
        thousands(stats.files),
        megabytes(stats.disk_bytes),
        megabytes(stats.bytes),
        thousands(stats.records),
        secs,
        thousands((stats.records as f64 / secs) as u64),
    );
    if !discovery.digests.is_empty() {
        let _ = writeln!(e, "  digest files passed over: {}", discovery.digests.len());
    }
    if !stats.by_source.is_empty() {
        let parts: Vec<_> = stats
            .by_source
            .iter()
            .map(|(k, v)| format!("{k} {}", thousands(*v)))
            .collect();
        let _ = writeln!(e, "  records by log: {}", parts.join(", "));
    }
    let mut levels = Vec::new();
    for level in Level::ALL.iter().rev() {
        let n = by_level[*level as usize].load(Ordering::Relaxed);
        if n > 0 {
            levels.push(format!("{} {level}", thousands(n)));
        }
    }
    let _ = writeln!(
        e,
        "  detections: {}",
        if levels.is_empty() {
            "none".to_string()
        } else {
            levels.join(", ")
        }
    );
    if !stats.skipped.is_empty() {
        let parts: Vec<_> = stats
            .skipped
            .iter()
            .map(|(k, v)| format!("{k} {}", thousands(*v)))
            .collect();
        let _ = writeln!(e, "  skipped: {}", parts.join(", "));
    }
    if stats.outside_window > 0 {
        let _ = writeln!(
            e,
            "  outside --since/--until: {}",
            thousands(stats.outside_window)
        );
    }
    if stats.untimed_correlation_inputs > 0 {
        let _ = writeln!(
            e,
            "  records without a time, left out of correlations: {}",
            thousands(stats.untimed_correlation_inputs)
        );
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
    let _ = writeln!(e, "{line}");
    if warnings > 0 {
        let _ = writeln!(e, "  warnings: {warnings}");
    }
}
