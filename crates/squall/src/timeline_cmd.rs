//! `squall timeline`: the actors' activity around a case's detections, for people (table,
//! HTML), for tools (JSONL, CSV) and for Timesketch.

use std::io::{IsTerminal, Write};

use anyhow::{Context as _, bail};
use squall_case::Store;
use squall_case::timeline::{self, Actors, Pivot, TimelineEvent, Window};

use crate::case_cmd::Context;
use crate::cli::{Format, TimelineArgs, TimelineFormat};
use crate::{exit, timespec};

/// The case's sources, or an error that says how to get some.
fn sources(store: &impl Store, case: &str) -> anyhow::Result<Vec<String>> {
    let sources = store.sources(case)?;
    if sources.is_empty() {
        bail!("case {case} has no hunted logs to read (help: `squall hunt LOGS --case {case}`)");
    }
    Ok(sources)
}

/// The default actors to follow: who, from where, with which key.
pub const DEFAULT_PIVOTS: [Pivot; 3] = [Pivot::Principal, Pivot::Ip, Pivot::Key];

/// The case's actors and their events in the case's sources, reporting unreadable input as
/// warnings.
pub fn activity(
    sources: &[String],
    detections: &[squall_case::AttachedDetection],
    pivots: &[Pivot],
    window: Window,
) -> (Actors, Vec<TimelineEvent>) {
    let actors = Actors::from_detections(detections);
    let (events, warnings) = timeline::build(sources, &actors, pivots, window, detections);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    (actors, events)
}

pub fn scope(ctx: &Context, case: &str, format: Option<Format>) -> anyhow::Result<u8> {
    let store = ctx.store()?;
    store.case(case)?;
    let detections = store.detections(case)?;
    let sources = sources(&store, case)?;
    let (_, events) = activity(&sources, &detections, &DEFAULT_PIVOTS, Window::default());
    let touched = timeline::scope(&events);
    let format = format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    let mut out = std::io::stdout().lock();
    match format {
        Format::Table => {
            writeln!(
                out,
                "{case}: {} events of the case's actors in {} hunted files",
                events.len(),
                sources.len()
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
                    t.value, t.first_seen, t.last_seen, t.events
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
                w.write_record([
                    t.kind,
                    &t.value,
                    &t.first_seen,
                    &t.last_seen,
                    &t.events.to_string(),
                ])?;
            }
            w.flush()?;
        }
    }
    Ok(exit::OK)
}

pub fn run(ctx: &Context, args: TimelineArgs) -> anyhow::Result<u8> {
    let store = ctx.store()?;
    let case = store.case(&args.case)?;
    let detections = store.detections(&args.case)?;
    let sources = sources(&store, &args.case)?;
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
    let (actors, events) = activity(&sources, &detections, &pivots, window);
    let format = args.format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            TimelineFormat::Table
        } else {
            TimelineFormat::Jsonl
        },
    );
    let mut buf = Vec::new();
    write(&mut buf, format, &events, &case, &actors, &pivots)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &buf).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "{}: {} events written to {}",
                args.case,
                events.len(),
                path.display()
            );
        }
        None => std::io::stdout().lock().write_all(&buf)?,
    }
    Ok(exit::OK)
}

fn write(
    out: &mut Vec<u8>,
    format: TimelineFormat,
    events: &[TimelineEvent],
    case: &squall_case::Case,
    actors: &Actors,
    pivots: &[Pivot],
) -> anyhow::Result<()> {
    match format {
        TimelineFormat::Table => {
            for e in events {
                let mark = if e.detections.is_empty() { " " } else { "!" };
                writeln!(out, "{mark} {:<26} {}", e.time, timeline::message(e))?;
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
                w.write_record(row.values().map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                }))?;
            }
            if !header_written {
                w.write_record(["message", "datetime", "timestamp", "timestamp_desc"])?;
            }
            w.flush()?;
        }
        TimelineFormat::Html => html(out, events, case, actors, pivots)?,
    }
    Ok(())
}

fn esc(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

/// One file, no external resources: it opens on an air-gapped forensic workstation.
fn html(
    out: &mut Vec<u8>,
    events: &[TimelineEvent],
    case: &squall_case::Case,
    actors: &Actors,
    pivots: &[Pivot],
) -> anyhow::Result<()> {
    let list = |set: &std::collections::BTreeSet<String>| {
        if set.is_empty() {
            "-".to_string()
        } else {
            set.iter().map(|v| esc(v)).collect::<Vec<_>>().join(", ")
        }
    };
    write!(
        out,
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{id} timeline</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}}
h1{{font-size:1.3em}} table{{border-collapse:collapse;width:100%}}
th,td{{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}}
th{{background:#f4f4f4;position:sticky;top:0}} tr.detection{{background:#fff1f0}}
td.time{{white-space:nowrap;font-family:monospace}} .muted{{color:#777}}
input{{padding:.3em;width:30em;margin:.5em 0}}
</style></head><body>
<h1>{id}: {title}</h1>
<p class="muted">Generated by squall {version} at {generated}. {count} events; followed: {pivots}.</p>
<p>Principals: {principals}<br>Addresses: {ips}<br>Keys: {keys}</p>
<input id="filter" placeholder="Filter rows" aria-label="Filter rows">
<table><thead><tr><th>Time</th><th>Principal</th><th>Action</th><th>Resource</th><th>Source IP</th><th>Account</th><th>Region</th><th>Detections</th><th>Evidence</th></tr></thead><tbody>
"#,
        id = esc(&case.id),
        title = esc(&case.title),
        version = env!("CARGO_PKG_VERSION"),
        generated = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        count = events.len(),
        pivots = pivots
            .iter()
            .map(|p| format!("{p:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join(", "),
        principals = list(&actors.principals),
        ips = list(&actors.ips),
        keys = list(&actors.keys),
    )?;
    for e in events {
        let s = &e.summary;
        let o = |v: &Option<String>| esc(v.as_deref().unwrap_or("-"));
        writeln!(
            out,
            r#"<tr{class}><td class="time">{time}</td><td>{principal}</td><td>{action}</td><td>{resource}</td><td>{ip}</td><td>{account}</td><td>{region}</td><td>{detections}</td><td class="muted">{file} #{index}<br>{event_id}</td></tr>"#,
            class = if e.detections.is_empty() {
                ""
            } else {
                r#" class="detection""#
            },
            time = esc(&e.time),
            principal = o(&s.principal),
            action = o(&s.action),
            resource = o(&s.resource),
            ip = o(&s.source_ip),
            account = o(&s.account),
            region = o(&s.region),
            detections = esc(&e.detections.join("; ")),
            file = esc(&e.file),
            index = e.record_index,
            event_id = o(&s.event_id),
        )?;
    }
    write!(
        out,
        r#"</tbody></table>
<script>
document.getElementById('filter').addEventListener('input', function (ev) {{
  var q = ev.target.value.toLowerCase();
  document.querySelectorAll('tbody tr').forEach(function (tr) {{
    tr.style.display = tr.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
  }});
}});
</script>
</body></html>
"#
    )?;
    Ok(())
}
