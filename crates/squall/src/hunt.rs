//! `squall hunt`: the progress bar, detections written as they are found, warnings, the run
//! summary and the exit code around `squall_flow::hunt`.

use std::io::{BufWriter, IsTerminal, Stdout, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use squall_detect::{Detection, Progress, Sink};
use squall_flow::hunt::{CaseTarget, Hunt, HuntRequest};
use squall_logs::Warning;

use crate::cli::{Format, HuntArgs};
use crate::{exit, render};

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
            format!("warning: {}", squall_core::text::terminal(text))
        };
        let _guard = self.lock.lock().unwrap();
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

/// Where `squall hunt` sends what the workers find: streaming formats are serialized on the
/// worker's thread and written under a lock; table and JSON are kept for sorting at the end.
struct Output<'a> {
    printer: &'a WarningPrinter,
    format: Format,
    stdout: Mutex<BufWriter<Stdout>>,
    kept: Mutex<Vec<Detection>>,
    by_level: [AtomicU64; 5],
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

    fn detections(&self, found: Vec<Detection>) {
        for d in &found {
            self.by_level[d.rule.level as usize].fetch_add(1, Ordering::Relaxed);
        }
        if !render::streams(self.format) {
            self.kept.lock().unwrap().extend(found);
            return;
        }
        let mut buf = Vec::with_capacity(found.len() * 700);
        if let Err(e) = render::write_rows(&mut buf, self.format, &found) {
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

/// `ctx` is given for a hunt into a case; `home` is where the bundled example logs are written
/// when no path is given.
pub fn run(
    args: HuntArgs,
    ctx: Option<&squall_flow::Context>,
    home: Option<&std::path::Path>,
) -> anyhow::Result<u8> {
    let case = match (&args.case, &args.new_case) {
        (Some(id), _) => Some(CaseTarget::Existing(id.clone())),
        (None, Some(title)) => Some(CaseTarget::New(title.clone())),
        (None, None) => None,
    };
    let request = HuntRequest {
        paths: args.paths.clone(),
        rules: args.rules.clone(),
        builtin: !args.no_builtin,
        min_level: args.min_level,
        since: args.since.clone(),
        until: args.until.clone(),
        threads: args.threads,
        input_format: args.input_format,
        max_record_mib: args.max_record_mib,
        aws_ip_ranges: args.aws_ip_ranges.clone(),
        case,
    };
    let mut hunt = Hunt::prepare(request, ctx, home)?;
    for problem in &hunt.integrity {
        eprintln!(
            "squall: INTEGRITY: {}",
            squall_core::text::terminal(problem)
        );
    }
    if !args.quiet {
        for notice in &hunt.notices {
            eprintln!("squall: {}", squall_core::text::terminal(notice));
        }
    }

    let stderr_tty = std::io::stderr().is_terminal();
    let show_progress = stderr_tty && !args.quiet;
    let started = Instant::now();
    let total_disk: u64 = hunt.discovery.inputs.iter().filter_map(|i| i.size).sum();
    let bar = show_progress.then(|| {
        let bar = ProgressBar::with_draw_target(Some(total_disk), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {bytes}/{total_bytes} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        // The first frame says what is being read; a rate appears with the first records.
        bar.set_message(progress_message(
            0,
            hunt.discovery.inputs.len(),
            0,
            Duration::ZERO,
        ));
        bar
    });
    let printer = WarningPrinter {
        bar: bar.clone(),
        shown: AtomicU64::new(0),
        limit: args.max_warnings,
        lock: Mutex::new(()),
    };
    for p in &hunt.rules.problems {
        printer.print(&format!("rule {p}"));
    }
    for w in &hunt.discovery.warnings {
        printer.print(&w.to_string());
    }
    hunt.check()?;

    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Jsonl
    });
    let sink = Output {
        printer: &printer,
        format,
        stdout: Mutex::new(BufWriter::with_capacity(256 << 10, std::io::stdout())),
        kept: Mutex::new(Vec::new()),
        by_level: Default::default(),
        failed: Mutex::new(None),
    };
    if render::streams(format)
        && let Err(e) = render::write_header(&mut *sink.stdout.lock().unwrap(), format)
    {
        sink.record_failure(e);
    }
    let progress = Progress::default();
    let done = AtomicBool::new(false);
    let files = hunt.discovery.inputs.len();
    let stats = std::thread::scope(|s| {
        if let Some(bar) = &bar {
            let (progress, done) = (&progress, &done);
            s.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    bar.set_position(progress.disk_bytes.load(Ordering::Relaxed));
                    bar.set_message(progress_message(
                        progress.files_done.load(Ordering::Relaxed),
                        files,
                        progress.records.load(Ordering::Relaxed),
                        started.elapsed(),
                    ));
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
        let stats = hunt.run(&progress, &sink);
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
    if result.is_ok() && !render::streams(format) {
        squall_detect::sort_detections(&mut kept);
        result = render::write_all(&mut stdout, format, &kept);
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
    let mut case_warnings = 0u64;
    if let Some(attached) = hunt.attach(stats)? {
        for w in &attached.warnings {
            case_warnings += 1;
            printer.print(w);
        }
        eprintln!(
            "squall: {}: {} detection(s) attached, {} already attached (what they touched: \
             `squall scope {}`)",
            attached.case, attached.added, attached.already_attached, attached.case
        );
    }
    let (rules, discovery) = (&hunt.rules, &hunt.discovery);
    let warnings = stats.warnings
        + rules.problems.len() as u64
        + discovery.warnings.len() as u64
        + hunt.integrity.len() as u64
        + case_warnings;
    if !args.quiet {
        let by_level = sink.by_level.each_ref().map(|n| n.load(Ordering::Relaxed));
        let lines = hunt.summary(stats, by_level, warnings, elapsed);
        eprintln!("\n{}", lines.join("\n"));
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

/// The progress bar's message. Until the first batch of records reaches the workers there is
/// no rate to show, only what is being read: a "0 records/s" frame would read as a stalled
/// hunt.
fn progress_message(files_done: u64, files: usize, records: u64, elapsed: Duration) -> String {
    if records == 0 {
        let plural = if files == 1 { "" } else { "s" };
        return format!("reading {files} file{plural}…");
    }
    let secs = elapsed.as_secs_f64().max(0.001);
    format!(
        "files {files_done}/{files}  {} records  {} records/s",
        squall_flow::hunt::thousands(records),
        squall_flow::hunt::thousands((records as f64 / secs) as u64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_frame_says_what_is_read_not_a_zero_rate() {
        let first = progress_message(0, 3, 0, Duration::ZERO);
        assert_eq!(first, "reading 3 files…");
        assert!(!first.contains("records/s"), "{first}");
        // Later frames, once records arrive, carry the count and the rate.
        let later = progress_message(1, 3, 5_000, Duration::from_secs(2));
        assert_eq!(later, "files 1/3  5,000 records  2,500 records/s");
    }
}
