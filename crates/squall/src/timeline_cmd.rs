//! `squall timeline`: the actors' activity around a case's detections, for people (table,
//! HTML), for tools (JSONL, CSV) and for Timesketch.

use std::io::{IsTerminal, Write};

use anyhow::{Context as _, bail};
use squall_case::timeline::{self, Actors, Pivot, TimelineEvent, Window};
use squall_case::{CaseFile, Store, text};

use crate::case_cmd::{self, Context};
use crate::cli::{Format, TimelineArgs, TimelineFormat};
use crate::{output, timespec};

/// The case as its ledger tells it; an error that says how to get sources when it has none.
fn load(store: &impl Store, case: &str) -> anyhow::Result<CaseFile> {
    let file = CaseFile::load(store, case)?;
    if file.sources.is_empty() {
        bail!("case {case} has no hunted logs to read (help: `squall hunt LOGS --case {case}`)");
    }
    Ok(file)
}

/// The default actors to follow: who, from where, with which key.
pub const DEFAULT_PIVOTS: [Pivot; 3] = [Pivot::Principal, Pivot::Ip, Pivot::Key];

/// The case's actors and their events in the case's sources, each source checked against its
/// digest as it is read (what fails is added to the case's integrity); unreadable input is
/// reported as warnings.
pub fn activity(
    file: &mut CaseFile,
    pivots: &[Pivot],
    window: Window,
) -> (Actors, Vec<TimelineEvent>) {
    let actors = Actors::from_detections(&file.detections);
    let built = timeline::build(&file.sources, &actors, pivots, window, &file.detections);
    file.integrity.failures.extend(built.failures);
    file.integrity.unchecked.extend(built.unchecked);
    let warnings = built.warnings;
    // As many as the hunt shows by default; a damaged corpus must not bury the output.
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
    (actors, built.events)
}

pub fn scope(ctx: &Context, case: &str, format: Option<Format>) -> anyhow::Result<u8> {
    let store = ctx.store()?;
    let mut file = load(&store, case)?;
    let (_, events) = activity(&mut file, &DEFAULT_PIVOTS, Window::default());
    let sources = file.sources.len();
    let touched = timeline::scope(&events);
    let format = format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    let mut out = std::io::stdout().lock();
    if format != Format::Table
        && let Some(banner) = file.integrity.banner()
    {
        say!("squall: {}", text::terminal(&banner));
    }
    match format {
        Format::Table => {
            case_cmd::print_banner(&mut out, &file.integrity)?;
            writeln!(
                out,
                "{case}: {} events of the case's actors in {sources} hunted files",
                events.len(),
            )?;
            let mut kind = "";
            for t in &touched {
                if t.kind != kind {
                    kind = t.kind;
                    writeln!(out, "\n{kind}:")?;
                }
                writeln!(
                    out,
                    "  {:<60} {} .. {}  ({} events)",
                    text::terminal(&t.value),
                    text::terminal(&t.first_seen),
                    text::terminal(&t.last_seen),
                    t.events
                )?;
            }
        }
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&touched)?)?,
        Format::Jsonl => {
            for t in &touched {
                writeln!(out, "{}", serde_json::to_string(t)?)?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["kind", "value", "first_seen", "last_seen", "events"])?;
            for t in &touched {
                output::csv_row(
                    &mut w,
                    [
                        t.kind,
                        &t.value,
                        &t.first_seen,
                        &t.last_seen,
                        &t.events.to_string(),
                    ],
                )?;
            }
            w.flush()?;
        }
    }
    Ok(case_cmd::view_exit(&file.integrity))
}

pub fn run(ctx: &Context, args: TimelineArgs) -> anyhow::Result<u8> {
    let store = ctx.store()?;
    let mut file = load(&store, &args.case)?;
    let detections = &file.detections;
    let before = timespec::duration_ms(&args.before)?;
    let after = timespec::duration_ms(&args.after)?;
    let window = match &args.around {
        Some(anchor) => {
            let at = match anchor.parse::<usize>() {
                Ok(n) => {
                    let d = detections.get(n.wrapping_sub(1)).with_context(|| {
                        format!(
                            "case {} has {} detections; --around takes 1 to {}",
                            args.case,
                            detections.len(),
                            detections.len()
                        )
                    })?;
                    let t = d
                        .event_time
                        .as_deref()
                        .context("that detection has no event time")?;
                    timespec::parse(t, chrono::Utc::now())?
                }
                Err(_) => timespec::parse(anchor, chrono::Utc::now())?,
            };
            Window {
                from: Some(at - before),
                to: Some(at + after),
            }
        }
        None => {
            let times: Vec<i64> = detections
                .iter()
                .filter_map(|d| d.event_time.as_deref())
                .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis())
                .collect();
            Window {
                from: times.iter().min().map(|t| t - before),
                to: times.iter().max().map(|t| t + after),
            }
        }
    };
    let pivots = if args.pivot.is_empty() {
        DEFAULT_PIVOTS.to_vec()
    } else {
        args.pivot.clone()
    };
    let (actors, events) = activity(&mut file, &pivots, window);
    let format = args.format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            TimelineFormat::Table
        } else {
            TimelineFormat::Jsonl
        },
    );
    let mut buf = Vec::new();
    if format == TimelineFormat::Table {
        case_cmd::print_banner(&mut buf, &file.integrity)?;
    } else if let Some(banner) = file.integrity.banner() {
        // JSON Lines and CSV rows are for tools (Timesketch refuses a row that is not an
        // event), so the warning goes to stderr and the exit code; HTML shows it on the page.
        say!("squall: {}", text::terminal(&banner));
    }
    write(&mut buf, format, &events, &file, &actors, &pivots)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &buf).with_context(|| format!("writing {}", path.display()))?;
            say!(
                "{}: {} events written to {}",
                args.case,
                events.len(),
                path.display()
            );
        }
        None => std::io::stdout().lock().write_all(&buf)?,
    }
    Ok(case_cmd::view_exit(&file.integrity))
}

fn write(
    out: &mut Vec<u8>,
    format: TimelineFormat,
    events: &[TimelineEvent],
    file: &CaseFile,
    actors: &Actors,
    pivots: &[Pivot],
) -> anyhow::Result<()> {
    match format {
        TimelineFormat::Table => {
            for e in events {
                let mark = if e.detections.is_empty() { " " } else { "!" };
                writeln!(
                    out,
                    "{mark} {:<26} {}",
                    text::terminal(&e.time),
                    text::terminal(&timeline::message(e))
                )?;
            }
            if events.is_empty() {
                writeln!(out, "No events of the case's actors in the window.")?;
            }
        }
        TimelineFormat::Jsonl => {
            for e in events {
                serde_json::to_writer(&mut *out, e)?;
                out.push(b'\n');
            }
        }
        TimelineFormat::Timesketch => {
            for e in events {
                serde_json::to_writer(&mut *out, &timeline::timesketch_row(e))?;
                out.push(b'\n');
            }
        }
        TimelineFormat::Csv | TimelineFormat::TimesketchCsv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            let mut header_written = false;
            for e in events {
                let mut row = timeline::timesketch_row(e);
                if format == TimelineFormat::Csv {
                    row.remove("timestamp_desc");
                }
                if !header_written {
                    w.write_record(row.keys())?;
                    header_written = true;
                }
                output::csv_row(
                    &mut w,
                    row.values().map(|v| match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }),
                )?;
            }
            if !header_written {
                w.write_record(["message", "datetime", "timestamp", "timestamp_desc"])?;
            }
            w.flush()?;
        }
        TimelineFormat::Html => html(out, events, file, actors, pivots),
    }
    Ok(())
}

/// One file, no external resources: it opens on an air-gapped forensic workstation. Built
/// with maud, which escapes every value it is given.
fn html(
    out: &mut Vec<u8>,
    events: &[TimelineEvent],
    file: &CaseFile,
    actors: &Actors,
    pivots: &[Pivot],
) {
    use maud::{DOCTYPE, PreEscaped, html};
    let case = &file.case;
    let list = |set: &std::collections::BTreeSet<String>| {
        if set.is_empty() {
            "-".to_string()
        } else {
            set.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let pivots = pivots
        .iter()
        .map(|p| format!("{p:?}").to_lowercase())
        .collect::<Vec<_>>()
        .join(", ");
    let generated = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // maud escapes markup; `t` shows control and bidi characters escaped as well.
    let t = |v: &str| text::terminal(v).into_owned();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (case.id) " timeline" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                @if let Some(banner) = file.integrity.banner() {
                    p.integrity { strong { (t(&banner)) } }
                }
                h1 { (case.id) ": " (t(&case.title)) }
                p.muted {
                    "Generated by squall " (env!("CARGO_PKG_VERSION")) " at " (generated) ". "
                    (events.len()) " events; followed: " (pivots) "."
                }
                p {
                    "Principals: " (t(&list(&actors.principals))) br;
                    "Addresses: " (t(&list(&actors.ips))) br;
                    "Keys: " (t(&list(&actors.keys)))
                }
                input #filter placeholder="Filter rows" aria-label="Filter rows";
                table {
                    thead { tr {
                        th { "Time" } th { "Principal" } th { "Action" } th { "Resource" }
                        th { "Source IP" } th { "Account" } th { "Region" } th { "Detections" }
                        th { "Evidence" }
                    } }
                    tbody {
                        @for e in events {
                            @let s = &e.summary;
                            tr class=[(!e.detections.is_empty()).then_some("detection")] {
                                td.time { (t(&e.time)) }
                                td { (t(&o(&s.principal))) }
                                td { (t(&o(&s.action))) }
                                td { (t(&o(&s.resource))) }
                                td { (t(&o(&s.source_ip))) }
                                td { (t(&o(&s.account))) }
                                td { (t(&o(&s.region))) }
                                td { (t(&e.detections.join("; "))) }
                                td.muted { (t(&e.file)) " #" (e.record_index) br; (t(&o(&s.event_id))) }
                            }
                        }
                    }
                }
                script { (PreEscaped(FILTER)) }
            }
        }
    };
    out.extend_from_slice(page.into_string().as_bytes());
    out.push(b'\n');
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.3em} table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0} tr.detection{background:#fff1f0}
td.time{white-space:nowrap;font-family:monospace} .muted{color:#777}
p.integrity{background:#b00020;color:#fff;padding:.5em}
input{padding:.3em;width:30em;margin:.5em 0}";

const FILTER: &str = "document.getElementById('filter').addEventListener('input', function (ev) {
  var q = ev.target.value.toLowerCase();
  document.querySelectorAll('tbody tr').forEach(function (tr) {
    tr.style.display = tr.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
  });
});";
