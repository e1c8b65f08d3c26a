//! The one place output is written: every verb's results as a table, JSON, JSON Lines or CSV,
//! the integrity banner, and detections (whose JSON field names are the stable interface
//! documented in the README; tables are for people and may change). Text from logs, files and
//! payloads passes through `squall_core::text` on its way to any of them.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;
use squall_case::Integrity;
use squall_core::text;
use squall_detect::Detection;

use squall_flow::respond::{Outcomes, PlanShown};

use crate::cli::{Format, Response};
use crate::exit;

/// `squall <words>`, each word quoted for a POSIX shell, for the commands scope and respond
/// suggest. The provider's verbs propose only well-formed ids, after `--`; the quoting is the
/// second wall, not the first.
pub fn shell_command(argv: &[String]) -> String {
    std::iter::once("squall")
        .chain(argv.iter().map(String::as_str))
        .map(|w| match shlex::try_quote(w) {
            Ok(q) => q.into_owned(),
            // A NUL cannot be passed to a command at all; say so rather than print it.
            Err(_) => "'<argument with a NUL byte>'".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A log file by its name, as tables cite records (`[trail.json #4]`); JSON keeps the path.
pub fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// The format asked for, else a table for a person at a terminal and JSON for a pipe.
pub fn format_or_default(format: Option<Format>) -> Format {
    format.unwrap_or(if io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    })
}

/// Writes rows in the chosen format: JSON (one array), JSON Lines, CSV (`header`, then each
/// row's `cells` through [`csv_row`]), or the view's own `table` layout.
pub fn rows<T: Serialize>(
    format: Format,
    rows: &[T],
    header: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
    table: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Format::Table => table(&mut out)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, rows)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for r in rows {
                serde_json::to_writer(&mut out, r)?;
                writeln!(out)?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(header)?;
            for r in rows {
                csv_row(&mut w, cells(r))?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

/// Says a failed integrity check at the top of a table (stdout, where the reader looks) and on
/// stderr (where a script's operator looks when stdout goes to a file).
pub fn banner(out: &mut dyn Write, integrity: &Integrity) -> io::Result<()> {
    if let Some(banner) = integrity.banner() {
        let banner = text::terminal(&banner);
        writeln!(out, "{banner}\n")?;
        say!("squall: {banner}");
    }
    Ok(())
}

/// For formats meant for tools, the failed check goes to stderr (and the exit code) only.
pub fn banner_stderr(integrity: &Integrity) {
    if let Some(banner) = integrity.banner() {
        say!("squall: {}", text::terminal(&banner));
    }
}

/// The exit code of a view: TAMPERED when the case did not verify.
pub fn view_exit(integrity: &Integrity) -> u8 {
    if integrity.verified() {
        exit::OK
    } else {
        exit::TAMPERED
    }
}

/// Warnings met re-reading a case's logs, as many as a hunt shows by default: a damaged corpus
/// must not bury the output.
pub fn warnings(warnings: &[squall_logs::Warning]) {
    const SHOWN: usize = 20;
    for w in warnings.iter().take(SHOWN) {
        say!("warning: {}", text::terminal(&w.to_string()));
    }
    if warnings.len() > SHOWN {
        say!(
            "warning: {} more warnings not shown ({} in all)",
            warnings.len() - SHOWN,
            warnings.len()
        );
    }
}

/// Writes one CSV row of text cells, each through [`text::csv_cell`]: the one way a CSV row is
/// written, so no cell can start a spreadsheet formula.
pub fn csv_row<W: Write, S: AsRef<str>>(
    w: &mut csv::Writer<W>,
    cells: impl IntoIterator<Item = S>,
) -> csv::Result<()> {
    w.write_record(
        cells
            .into_iter()
            .map(|c| text::csv_cell(c.as_ref()).into_owned()),
    )
}

/// The table's columns: what a responder scans first.
const COLUMNS: [&str; 9] = [
    "TIME",
    "LEVEL",
    "RULE",
    "PRINCIPAL",
    "SOURCE IP",
    "ACTION",
    "RESOURCE",
    "ACCOUNT",
    "REGION",
];
/// Widest a column may get before its cells are shortened.
const MAX_WIDTH: [usize; 9] = [24, 8, 48, 48, 18, 40, 40, 14, 14];

/// Table cells; log fields (and rule titles, which come from rule files) are shown through
/// [`text::terminal`], so they cannot drive the terminal or forge rows.
fn cells(d: &Detection) -> [String; 9] {
    let s = &d.summary;
    let opt = |v: &Option<String>| text::terminal_or_dash(v.as_deref()).into_owned();
    [
        opt(&s.time),
        d.rule.level.name().to_string(),
        text::terminal(&d.rule.title).into_owned(),
        opt(&s.principal),
        opt(&s.source_ip),
        opt(&s.action),
        opt(&s.resource),
        opt(&s.account),
        opt(&s.region),
    ]
}

/// Shortens from the left for identifiers whose end tells most (ARNs), elsewhere from the right.
fn fit(text: &str, width: usize, keep_end: bool) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    if keep_end {
        let tail: String = text.chars().skip(n - (width - 1)).collect();
        format!("…{tail}")
    } else {
        let head: String = text.chars().take(width - 1).collect();
        format!("{head}…")
    }
}

fn write_table(out: &mut dyn Write, detections: &[Detection]) -> io::Result<()> {
    if detections.is_empty() {
        return writeln!(out, "No detections.");
    }
    let rows: Vec<[String; 9]> = detections
        .iter()
        .map(|d| {
            let mut c = cells(d);
            for (i, cell) in c.iter_mut().enumerate() {
                *cell = fit(cell, MAX_WIDTH[i], matches!(i, 3 | 6));
            }
            c
        })
        .collect();
    let mut widths = COLUMNS.map(|c| c.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cols: &[String]| -> io::Result<()> {
        let mut text = String::new();
        for (i, (cell, w)) in cols.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if i + 1 < cols.len() {
                text.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &COLUMNS.map(String::from))?;
    for row in &rows {
        line(out, row)?;
    }
    Ok(())
}

/// The plans of a response verb, on stderr (stdout is for the outcomes), whatever the
/// provider; warns once when the attacker will notice before the case was triaged.
pub fn plan_printer(case: &str) -> impl FnMut(PlanShown<'_>) {
    move |shown| {
        let _ = write_plan(&mut std::io::stderr().lock(), &shown, case);
    }
}

fn write_plan(out: &mut dyn Write, shown: &PlanShown<'_>, case: &str) -> io::Result<()> {
    let p = shown.plan;
    // A volume or snapshot says whose it is: the instance its state names.
    let of = match p.before.get("instance") {
        Some(serde_json::Value::String(i)) if *i != p.resource => format!(" (instance {i})"),
        Some(serde_json::Value::Null) => " (instance unknown)".to_string(),
        _ => String::new(),
    };
    writeln!(
        out,
        "plan: {} {}{}\n  before: {}\n  after:  {}",
        text::terminal(&p.action),
        text::terminal(&p.resource),
        text::terminal(&of),
        // JSON escapes C0 controls but not C1 or bidi ones, and states quote names and
        // descriptions an attacker may have set (a security group's, a tag's).
        text::terminal(&p.before.to_string()),
        text::terminal(&p.after.to_string())
    )?;
    for n in &p.notes {
        writeln!(out, "  note: {}", text::terminal(n))?;
    }
    if p.already_done {
        writeln!(out, "  already done: nothing to change")?;
    } else if shown.warn_untriaged {
        writeln!(
            out,
            "  warning: the attacker will notice; case {case} is not triaged yet (scope first: `squall scope {case}`)"
        )?;
    }
    Ok(())
}

/// Prints each resource's outcome and the run's summary; FAILED when any resource failed.
pub fn outcomes(outcomes: &Outcomes, r: &Response) -> anyhow::Result<u8> {
    for o in outcomes.failed() {
        say!(
            "error: {} {}: {}",
            text::terminal(&o.action),
            text::terminal(&o.resource),
            text::terminal(o.error.as_deref().unwrap_or("failed"))
        );
    }
    let list = &outcomes.outcomes;
    rows(
        format_or_default(r.format),
        list,
        &["resource", "action", "outcome", "ledger_seq", "error"],
        |o| {
            vec![
                o.resource.clone(),
                o.action.clone(),
                o.status.name().to_string(),
                o.ledger_seq.map_or(String::new(), |s| s.to_string()),
                o.error.clone().unwrap_or_default(),
            ]
        },
        |out| {
            writeln!(
                out,
                "{:<24} {:<22} {:<10} {:<7} ERROR",
                "RESOURCE", "ACTION", "OUTCOME", "LEDGER"
            )?;
            for o in list {
                writeln!(
                    out,
                    "{:<24} {:<22} {:<10} {:<7} {}",
                    text::terminal(&o.resource),
                    text::terminal(&o.action),
                    o.status,
                    o.ledger_seq.map_or("-".to_string(), |s| s.to_string()),
                    text::terminal(o.error.as_deref().unwrap_or(""))
                )?;
            }
            Ok(())
        },
    )?;
    say!("{}", outcomes.summary(&r.case));
    Ok(if outcomes.failed().next().is_some() {
        exit::FAILED
    } else {
        exit::OK
    })
}

/// Whether a format is written as detections arrive (constant memory) or at the end, sorted.
pub fn streams(format: Format) -> bool {
    matches!(format, Format::Jsonl | Format::Csv)
}

/// What a streaming format writes before the first detection.
pub fn write_header(out: &mut dyn Write, format: Format) -> anyhow::Result<()> {
    if format == Format::Csv {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(squall_detect::CSV_HEADER)?;
        w.flush()?;
    }
    Ok(())
}

/// Rows of a streaming format, for any number of detections.
pub fn write_rows(
    out: &mut dyn Write,
    format: Format,
    detections: &[Detection],
) -> anyhow::Result<()> {
    match format {
        Format::Csv => {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(out);
            for d in detections {
                csv_row(&mut w, d.csv_record())?;
            }
            w.flush()?;
        }
        _ => {
            let mut buf = Vec::with_capacity(detections.len() * 700);
            for d in detections {
                d.write_json_line(&mut buf);
            }
            out.write_all(&buf)?;
        }
    }
    Ok(())
}

/// Writes a complete, already sorted list in a collecting format (table or JSON).
pub fn write_all(
    out: &mut dyn Write,
    format: Format,
    detections: &[Detection],
) -> anyhow::Result<()> {
    match format {
        Format::Table => write_table(out, detections)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, detections)?;
            writeln!(out)?;
        }
        Format::Jsonl | Format::Csv => {
            write_header(out, format)?;
            write_rows(out, format, detections)?;
        }
    }
    Ok(())
}

/// A log collection's outcome, whatever the provider: problems first, then what was
/// collected; the exit code (1 the provider's integrity records say files were tampered with,
/// 3 some not fetched, 2 warnings under `--strict`).
pub fn collection(
    case: &str,
    collected: &squall_flow::collect::Collected,
    format: Option<Format>,
    strict: bool,
) -> anyhow::Result<u8> {
    let c = &collected.report;
    for f in &collected.integrity {
        say!("squall: case {} does not verify: {f}", case);
    }
    let format = format_or_default(format);
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json | Format::Jsonl => {
            let value = serde_json::json!({
                "case": case,
                "recorded": collected.recorded,
                "collected": c,
            });
            if format == Format::Json {
                serde_json::to_writer_pretty(&mut out, &value)?;
            } else {
                serde_json::to_writer(&mut out, &value)?;
            }
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "kind", "account", "region", "from", "to", "events", "detail",
            ])?;
            for g in &c.gaps {
                csv_row(
                    &mut w,
                    [
                        "gap",
                        &g.account,
                        &g.region,
                        &g.from,
                        &g.to,
                        &g.events.to_string(),
                        &match &g.note {
                            Some(note) => format!("{}; {note}", g.why),
                            None => g.why.clone(),
                        },
                    ],
                )?;
            }
            for (kind, list) in [
                ("integrity", &c.integrity),
                ("not-fetched", &c.failures),
                ("unchecked", &c.unchecked),
                ("warning", &c.warnings),
            ] {
                for detail in list {
                    csv_row(&mut w, [kind, "", "", "", "", "", detail])?;
                }
            }
            w.flush()?;
        }
        Format::Table => {
            let t = |s: &str| text::terminal(s).into_owned();
            for p in &c.integrity {
                writeln!(out, "INTEGRITY: {}", t(p))?;
            }
            for p in &c.failures {
                writeln!(out, "NOT FETCHED: {}", t(p))?;
            }
            writeln!(
                out,
                "case {}: {} file(s), {} byte(s) from {} ({} to {}), {} recorded now, {} already in the case",
                t(case),
                c.files,
                c.bytes,
                t(&c.source),
                c.since,
                c.until,
                collected.recorded,
                c.already
            )?;
            if c.provider == "gcp" {
                writeln!(out, "projects: {}", t(&c.accounts.join(", ")))?;
            } else {
                writeln!(
                    out,
                    "accounts: {}; regions: {}",
                    t(&c.accounts.join(", ")),
                    t(&c.regions.join(", "))
                )?;
                writeln!(
                    out,
                    "digests: {} of {} verified; {} integrity problem(s)",
                    c.digests_verified,
                    c.digests,
                    c.integrity.len()
                )?;
            }
            for g in &c.gaps {
                writeln!(
                    out,
                    "gap {} {} {} .. {}: {} — {}",
                    t(&g.account),
                    t(&g.region),
                    g.from,
                    g.to,
                    t(&g.why),
                    match (&g.note, &g.path) {
                        (Some(note), _) => t(note),
                        (None, Some(p)) =>
                            format!("{} event(s) from LookupEvents in {}", g.events, t(p)),
                        (None, None) => "LookupEvents had nothing the files lack".into(),
                    }
                )?;
            }
            for u in &c.unchecked {
                writeln!(out, "unchecked: {}", t(u))?;
            }
            writeln!(out, "next: squall hunt --case {}", t(case))?;
        }
    }
    for w in &c.warnings {
        say!("warning: {w}");
    }
    Ok(
        if !c.integrity.is_empty() || !collected.integrity.is_empty() {
            exit::TAMPERED
        } else if !c.failures.is_empty() {
            exit::FAILED
        } else if strict && !(c.warnings.is_empty() && c.unchecked.is_empty()) {
            exit::ERROR
        } else {
            exit::OK
        },
    )
}

/// An inventory's findings under its account or project line, most severe first; every field
/// but severity and kind was read from the estate, where anyone may have written it.
pub fn estate_findings(
    out: &mut impl std::io::Write,
    findings: &[squall_core::asset::EstateFinding],
) -> std::io::Result<()> {
    for f in findings {
        writeln!(
            out,
            "  {:<6} {:<30} {:<12} {}",
            f.severity,
            f.kind,
            text::terminal(f.region.as_deref().unwrap_or("global")),
            text::terminal(&f.message)
        )?;
    }
    if findings.is_empty() {
        writeln!(out, "  no findings")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_arns_keep_their_end() {
        let arn = "arn:aws:sts::111122223333:assumed-role/incident-responder/alice";
        let short = fit(arn, 20, true);
        assert_eq!(short.chars().count(), 20);
        assert!(short.ends_with("responder/alice"));
        assert_eq!(fit("short", 20, true), "short");
    }

    #[test]
    fn a_volume_or_snapshot_plan_names_its_instance() {
        let mut plan = squall_core::Plan {
            action: "acquire-volume".into(),
            resource: "vol-1".into(),
            before: serde_json::json!({"instance": "i-1", "snapshot": null}),
            after: serde_json::json!({"snapshot_state": "completed"}),
            visible_to_attacker: false,
            already_done: false,
            notes: vec![],
        };
        let line = |plan: &squall_core::Plan| {
            let mut out = Vec::new();
            let shown = PlanShown {
                plan,
                warn_untriaged: false,
            };
            write_plan(&mut out, &shown, "C-0001").unwrap();
            String::from_utf8(out)
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(line(&plan), "plan: acquire-volume vol-1 (instance i-1)");
        plan.before["instance"] = serde_json::Value::Null;
        assert_eq!(line(&plan), "plan: acquire-volume vol-1 (instance unknown)");
        // An instance's own plan does not name itself twice; others name no instance.
        plan.resource = "i-1".into();
        plan.before = serde_json::json!({"instance": "i-1"});
        assert_eq!(line(&plan), "plan: acquire-volume i-1");
        plan.before = serde_json::json!({"state": "running"});
        assert_eq!(line(&plan), "plan: acquire-volume i-1");
    }

    #[test]
    fn a_plans_states_cannot_drive_the_terminal() {
        let plan = squall_core::Plan {
            action: "isolate-instance".into(),
            resource: "i-1".into(),
            // A security group named with C1 CSI and a bidi override: JSON leaves both as is.
            before: serde_json::json!({"groups": ["sg-1 \u{9b}2J\u{202e}evil"]}),
            after: serde_json::json!({"groups": ["squall-isolation"]}),
            visible_to_attacker: true,
            already_done: false,
            notes: vec!["x\u{1b}]0;t\u{7}".into()],
        };
        let shown = PlanShown {
            plan: &plan,
            warn_untriaged: true,
        };
        let mut out = Vec::new();
        write_plan(&mut out, &shown, "C-0001").unwrap();
        let out = String::from_utf8(out).unwrap();
        for c in ['\u{9b}', '\u{202e}', '\u{1b}', '\u{7}'] {
            assert!(!out.contains(c), "{c:?} in {out:?}");
        }
        assert!(out.contains("scope first"), "{out}");
    }

    #[test]
    fn hostile_fields_stay_text_in_tables_and_csv() {
        let summary = squall_logs::Summary {
            principal: Some("=HYPERLINK(\"http://e.vil\")".into()),
            action: Some("x\x1b]0;owned\x07\x1b[2J\r\nforged row".into()),
            ..Default::default()
        };
        let d = Detection {
            rule: std::sync::Arc::new(squall_detect::RuleMeta::new(
                "r".into(),
                "t".into(),
                squall_detect::Level::High,
                vec![],
                "builtin:x".into(),
                squall_logs::LogSource::CloudTrail,
            )),
            summary: std::sync::Arc::new(summary),
            event_millis: None,
            evidence: squall_detect::Evidence {
                file: "-cmd".into(),
                record_index: 0,
                line: None,
                byte_offset: 0,
                record_sha256: String::new(),
            },
            correlation: None,
        };
        let mut table = Vec::new();
        write_table(&mut table, std::slice::from_ref(&d)).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert!(
            !table.contains('\x1b') && !table.contains('\r'),
            "{table:?}"
        );
        assert_eq!(table.lines().count(), 2, "{table}");
        let mut csv = Vec::new();
        write_rows(&mut csv, Format::Csv, &[d]).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(
            csv.contains("'=HYPERLINK") && csv.contains("'-cmd"),
            "{csv}"
        );
        assert!(!csv.contains('\x1b'), "{csv:?}");
    }
}
