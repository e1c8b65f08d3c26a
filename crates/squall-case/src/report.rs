//! The postmortem: everything the case recorded, told in order, with the durations the team
//! will be asked about. Markdown to edit and circulate, or one HTML file to archive.

use std::fmt::Write;

use crate::ledger::Entry;
use crate::store::{AttachedDetection, Case, Evidence};
use crate::timeline::{self, TimelineEvent};

/// What the report is made from.
pub struct ReportInput<'a> {
    pub case: &'a Case,
    pub ledger: &'a [Entry],
    pub detections: &'a [AttachedDetection],
    pub evidence: &'a [Evidence],
    /// The attacker timeline (empty when the case has no hunted logs).
    pub timeline: &'a [TimelineEvent],
    /// Whether the ledger verified, and its head, as checked when the report was made.
    pub ledger_check: Result<String, String>,
}

/// A span between two RFC 3339 times, as people write it ("2 h 14 min").
pub fn duration(from: Option<&str>, to: Option<&str>) -> Option<String> {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    let secs = (parse(to?)? - parse(from?)?).num_seconds();
    if secs < 0 {
        return None;
    }
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    Some(match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    })
}

/// The phase durations: (label, from, to, value).
pub fn durations(case: &Case, first_event: Option<&str>) -> Vec<(&'static str, String)> {
    let opened = Some(case.created_at.as_str());
    let rows = [
        (
            "Time to detect (first malicious event → case opened)",
            first_event,
            opened,
        ),
        (
            "Time to triage (case opened → triaged)",
            opened,
            case.triaged_at.as_deref(),
        ),
        (
            "Time to contain (case opened → contained)",
            opened,
            case.contained_at.as_deref(),
        ),
        (
            "Time to recover (contained → recovered)",
            case.contained_at.as_deref(),
            case.recovered_at.as_deref(),
        ),
        (
            "Total (case opened → closed)",
            opened,
            case.closed_at.as_deref(),
        ),
    ];
    rows.into_iter()
        .map(|(label, a, b)| (label, duration(a, b).unwrap_or_else(|| "—".into())))
        .collect()
}

fn text(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The response timeline: what the team did, from the ledger.
fn response_line(e: &Entry) -> Option<String> {
    let p = &e.payload;
    Some(match e.kind.as_str() {
        "case.opened" => format!("case opened: {}", text(&p["title"])),
        "case.assigned" => format!("assigned to {}", text(&p["owner"])),
        "case.status" => {
            let reason = text(&p["reason"]);
            let reason = if reason.is_empty() {
                String::new()
            } else {
                format!(" ({reason})")
            };
            format!("{} → {}{reason}", text(&p["from"]), text(&p["to"]))
        }
        "case.triaged" => format!("triaged: severity {}", text(&p["severity"])),
        "hunt.run" => format!(
            "hunt over {} file(s), {} record(s), {} detection(s)",
            p["files"].as_array().map_or(0, Vec::len),
            p["records"],
            p["detections"]
        ),
        "task.added" => format!("task {} added: {}", p["task"], text(&p["text"])),
        "task.done" => format!("task {} done: {}", p["task"], text(&p["result"])),
        "evidence.added" => format!(
            "evidence #{} added: {} (sha256 {})",
            p["evidence_id"],
            text(&p["path"]),
            text(&p["sha256"])
        ),
        "note" if p["lesson"] == true => return None,
        "note" => format!("note: {}", text(&p["text"])),
        "detection.attached" => return None,
        kind if kind.starts_with("action.") => action_line(e),
        other => other.to_string(),
    })
}

/// The action and resource an `action.*` entry is about (a plan carries them inside).
fn action_of(e: &Entry) -> (&str, &str) {
    let p = &e.payload;
    let at = if e.kind == "action.planned" {
        &p["plan"]
    } else {
        p
    };
    let action = match text(&at["action"]) {
        "" => "plan",
        a => a,
    };
    (action, text(&at["resource"]))
}

/// One step of a response action, in words.
fn action_line(e: &Entry) -> String {
    let p = &e.payload;
    let (action, resource) = action_of(e);
    match e.kind.as_str() {
        "action.planned" => format!(
            "planned {action} on {resource} (approved by {})",
            text(&p["approved_by"])
        ),
        "action.executed" => format!("executed {action} on {resource}"),
        "action.verified" if p["note"].is_string() => {
            format!("{action} on {resource}: already done, nothing changed")
        }
        "action.verified" => format!("verified {action} on {resource}"),
        "action.failed" => {
            let why = match text(&p["error"]) {
                "" => format!("expected {}, observed {}", p["expected"], p["observed"]),
                error => error.to_string(),
            };
            format!(
                "{action} on {resource} failed at {}: {why}",
                match text(&p["stage"]) {
                    "" => "execution",
                    stage => stage,
                }
            )
        }
        other => other.to_string(),
    }
}

/// Each action on each resource, from its plan to its last recorded step: the outcome and how
/// long it took. Rows in the order the actions were planned.
fn action_rows(ledger: &[Entry]) -> Vec<[String; 6]> {
    let mut rows: Vec<([String; 6], String)> = Vec::new();
    for e in ledger.iter().filter(|e| e.kind.starts_with("action.")) {
        let (action, resource) = action_of(e);
        let outcome = match e.kind.as_str() {
            "action.planned" => "planned",
            "action.executed" => "executed",
            "action.verified" if e.payload["note"].is_string() => "unchanged",
            "action.verified" => "verified",
            _ => "failed",
        };
        let open = rows.iter_mut().rev().find(|(r, _)| {
            r[1] == action
                && r[2] == resource
                && r[3] != "verified"
                && r[3] != "unchanged"
                && r[3] != "failed"
        });
        match open {
            Some((row, started)) if e.kind != "action.planned" => {
                row[3] = outcome.to_string();
                row[4] = duration(Some(started), Some(&e.time)).unwrap_or_default();
                row[5] = e.seq.to_string();
            }
            _ => rows.push((
                [
                    e.time.clone(),
                    action.to_string(),
                    resource.to_string(),
                    outcome.to_string(),
                    String::new(),
                    e.seq.to_string(),
                ],
                e.time.clone(),
            )),
        }
    }
    rows.into_iter().map(|(r, _)| r).collect()
}

/// Markdown: the report to edit and send.
pub fn markdown(r: &ReportInput<'_>) -> String {
    let c = r.case;
    let mut s = String::new();
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let _ = writeln!(s, "# Postmortem {}: {}\n", c.id, c.title);
    let _ = writeln!(
        s,
        "Status **{}**, severity **{}**, owner {}. Generated by squall {} at {}.\n",
        c.status,
        o(&c.severity),
        o(&c.owner),
        env!("CARGO_PKG_VERSION"),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let _ = writeln!(s, "## Summary\n");
    let first = r
        .detections
        .iter()
        .filter_map(|d| d.event_time.as_deref())
        .min();
    let last = r
        .detections
        .iter()
        .filter_map(|d| d.event_time.as_deref())
        .max();
    let _ = writeln!(
        s,
        "{} detection(s) between {} and {}; {} piece(s) of evidence; {} ledger entries ({}).\n",
        r.detections.len(),
        first.unwrap_or("—"),
        last.unwrap_or("—"),
        r.evidence.len(),
        r.ledger.len(),
        match &r.ledger_check {
            Ok(head) => format!("verified, {head}"),
            Err(why) => format!("**LEDGER TAMPERED: {why}**"),
        }
    );
    let _ = writeln!(s, "## Durations\n\n| Phase | Duration |\n| --- | --- |");
    for (label, value) in durations(c, first) {
        let _ = writeln!(s, "| {label} | {value} |");
    }
    if let Some(triage) = r.ledger.iter().rev().find(|e| e.kind == "case.triaged") {
        let _ = writeln!(s, "\n## Triage\n");
        for reason in triage.payload["reasons"].as_array().into_iter().flatten() {
            let _ = writeln!(s, "- {}", text(reason));
        }
        for a in triage.payload["assets"].as_array().into_iter().flatten() {
            let _ = writeln!(s, "\n### {}\n", text(&a["id"]));
            for f in a["flags"].as_array().into_iter().flatten() {
                let _ = writeln!(s, "- **{}**", text(f));
            }
            for ans in a["answers"].as_array().into_iter().flatten() {
                let _ = writeln!(s, "- {} {}", text(&ans["question"]), text(&ans["answer"]));
            }
            for q in a["questions"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    s,
                    "- {} (open: ask {})",
                    text(&q["question"]),
                    text(&q["ask"])
                );
            }
        }
    }
    let _ = writeln!(s, "\n## Attacker timeline\n");
    if r.timeline.is_empty() {
        let _ = writeln!(s, "No hunted logs recorded on the case.");
    } else {
        let _ = writeln!(s, "| Time | Event | Evidence |\n| --- | --- | --- |");
        for e in r.timeline {
            let _ = writeln!(
                s,
                "| {} | {} | `{}` #{} |",
                e.time,
                md_cell(&timeline::message(e)),
                md_cell(&e.file),
                e.record_index
            );
        }
    }
    let _ = writeln!(
        s,
        "\n## Response timeline\n\n| Time | Who | What |\n| --- | --- | --- |"
    );
    for e in r.ledger {
        if let Some(line) = response_line(e) {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                e.time,
                md_cell(&e.actor),
                md_cell(&line)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n## Detections\n\n| Time | Level | Rule | Principal | Evidence |\n| --- | --- | --- | --- | --- |"
    );
    for d in r.detections {
        let ev = &d.detection["evidence"];
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | `{}` #{} |",
            d.event_time.as_deref().unwrap_or("—"),
            d.level,
            md_cell(&d.title),
            md_cell(d.detection["principal"].as_str().unwrap_or("—")),
            md_cell(ev["file"].as_str().unwrap_or("")),
            ev["record_index"]
        );
    }
    let _ = writeln!(
        s,
        "\n## Evidence\n\n| # | File | Size | SHA-256 | Description | Added |\n| --- | --- | --- | --- | --- | --- |"
    );
    for e in r.evidence {
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | `{}` | {} | {} by {} |",
            e.id,
            md_cell(&e.path),
            e.size,
            e.sha256,
            md_cell(&e.description),
            e.added_at,
            md_cell(&e.added_by)
        );
    }
    let _ = writeln!(s, "\n## Actions\n");
    let actions: Vec<_> = r
        .ledger
        .iter()
        .filter(|e| e.kind.starts_with("action."))
        .collect();
    if actions.is_empty() {
        let _ = writeln!(
            s,
            "No response actions were run through Squall on this case."
        );
    }
    if !actions.is_empty() {
        let _ = writeln!(
            s,
            "| Planned | Action | Resource | Outcome | Took | Ledger entry |\n| --- | --- | --- | --- | --- | --- |"
        );
        for row in action_rows(r.ledger) {
            let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
        let _ = writeln!(
            s,
            "\nEach step, with the state before, the expected and the observed state, is in the \
             ledger (`squall ledger export {}`).",
            c.id
        );
    }
    let _ = writeln!(s, "\n## Lessons learned\n");
    let lessons: Vec<_> = r
        .ledger
        .iter()
        .filter(|e| e.kind == "note" && e.payload["lesson"] == true)
        .collect();
    if lessons.is_empty() {
        let _ = writeln!(
            s,
            "None recorded yet (`squall case note {} --lesson \"...\"`).",
            c.id
        );
    }
    for l in lessons {
        let _ = writeln!(
            s,
            "- {} ({}, {})",
            text(&l.payload["text"]),
            l.actor,
            l.time
        );
    }
    s
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// HTML: the same report as one self-contained file, for the case archive.
pub fn html(r: &ReportInput<'_>) -> String {
    // The Markdown is rendered by a small converter for the constructs the report uses
    // (headings, paragraphs, lists, tables, emphasis, code), so the file needs nothing else.
    let md = markdown(r);
    let mut body = String::new();
    let mut in_table = false;
    let mut in_list = false;
    for line in md.lines() {
        let is_row = line.starts_with('|');
        if in_table && !is_row {
            body.push_str("</table>\n");
            in_table = false;
        }
        let is_item = line.starts_with("- ");
        if in_list && !is_item {
            body.push_str("</ul>\n");
            in_list = false;
        }
        if let Some(h) = line.strip_prefix("### ") {
            let _ = writeln!(body, "<h3>{}</h3>", inline(h));
        } else if let Some(h) = line.strip_prefix("## ") {
            let _ = writeln!(body, "<h2>{}</h2>", inline(h));
        } else if let Some(h) = line.strip_prefix("# ") {
            let _ = writeln!(body, "<h1>{}</h1>", inline(h));
        } else if is_row {
            if line.starts_with("| ---") {
                continue;
            }
            let cells = split_row(line);
            if !in_table {
                body.push_str("<table>\n<tr>");
                for c in &cells {
                    let _ = write!(body, "<th>{}</th>", inline(c));
                }
                body.push_str("</tr>\n");
                in_table = true;
            } else {
                body.push_str("<tr>");
                for c in &cells {
                    let _ = write!(body, "<td>{}</td>", inline(c));
                }
                body.push_str("</tr>\n");
            }
        } else if let Some(item) = line.strip_prefix("- ") {
            if !in_list {
                body.push_str("<ul>\n");
                in_list = true;
            }
            let _ = writeln!(body, "<li>{}</li>", inline(item));
        } else if !line.trim().is_empty() {
            let _ = writeln!(body, "<p>{}</p>", inline(line));
        }
    }
    if in_table {
        body.push_str("</table>\n");
    }
    if in_list {
        body.push_str("</ul>\n");
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Postmortem {id}</title>\n<style>\n\
         body{{font:15px/1.5 system-ui,sans-serif;max-width:72em;margin:2em auto;padding:0 1em;color:#222}}\n\
         table{{border-collapse:collapse;width:100%;margin:.5em 0}} th,td{{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}}\n\
         th{{background:#f4f4f4}} code{{font-size:.9em;word-break:break-all}} h2{{border-bottom:1px solid #ccc;padding-bottom:.2em}}\n\
         </style></head><body>\n{body}</body></html>\n",
        id = escape(&r.case.id),
    )
}

fn split_row(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    cells.push(cur.trim().to_string());
    cells
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `code` and **bold**, escaped.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
            continue;
        }
        let escaped = escape(part);
        let mut bold = escaped.split("**");
        let mut s = String::new();
        if let Some(first) = bold.next() {
            s.push_str(first);
        }
        for (j, chunk) in bold.enumerate() {
            s.push_str(if j % 2 == 0 { "<strong>" } else { "</strong>" });
            s.push_str(chunk);
        }
        out.push_str(&s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, time: &str, kind: &str, payload: serde_json::Value) -> Entry {
        Entry {
            seq,
            time: time.into(),
            actor: "alice".into(),
            kind: kind.into(),
            payload,
            prev_hash: String::new(),
            hash: String::new(),
            signer: None,
            signature: None,
        }
    }

    #[test]
    fn actions_read_as_one_row_per_resource_with_outcome_and_time_taken() {
        use serde_json::json;
        let plan = |action: &str, resource: &str| json!({"plan": {"action": action, "resource": resource}, "approved_by": "alice"});
        let step = |action: &str, resource: &str| json!({"action": action, "resource": resource});
        let ledger = [
            entry(
                2,
                "2026-01-01T00:00:00Z",
                "action.planned",
                plan("isolate-instance", "i-1"),
            ),
            entry(
                3,
                "2026-01-01T00:00:00Z",
                "action.planned",
                plan("isolate-instance", "i-2"),
            ),
            entry(
                4,
                "2026-01-01T00:00:05Z",
                "action.executed",
                step("isolate-instance", "i-1"),
            ),
            entry(
                5,
                "2026-01-01T00:00:07Z",
                "action.verified",
                step("isolate-instance", "i-1"),
            ),
            entry(
                6,
                "2026-01-01T00:00:09Z",
                "action.failed",
                json!({"action": "isolate-instance", "resource": "i-2", "stage": "execute", "error": "throttled"}),
            ),
            entry(
                7,
                "2026-01-01T00:01:00Z",
                "action.failed",
                json!({"stage": "plan", "resource": "i-3", "error": "no such instance"}),
            ),
            entry(
                8,
                "2026-01-01T00:02:00Z",
                "action.planned",
                plan("isolate-instance", "i-1"),
            ),
            entry(
                9,
                "2026-01-01T00:02:00Z",
                "action.verified",
                json!({"action": "isolate-instance", "resource": "i-1", "note": "already in the expected state"}),
            ),
        ];
        let rows = action_rows(&ledger);
        let short: Vec<(&str, &str, &str, &str)> = rows
            .iter()
            .map(|r| (r[1].as_str(), r[2].as_str(), r[3].as_str(), r[4].as_str()))
            .collect();
        assert_eq!(
            short,
            vec![
                ("isolate-instance", "i-1", "verified", "7 s"),
                ("isolate-instance", "i-2", "failed", "9 s"),
                ("plan", "i-3", "failed", ""),
                ("isolate-instance", "i-1", "unchanged", "0 s"),
            ]
        );
        assert_eq!(
            action_line(&ledger[4]),
            "isolate-instance on i-2 failed at execute: throttled"
        );
        assert_eq!(
            action_line(&ledger[0]),
            "planned isolate-instance on i-1 (approved by alice)"
        );
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(
            duration(Some("2026-01-01T00:00:00Z"), Some("2026-01-01T02:14:30Z")).as_deref(),
            Some("2 h 14 min")
        );
        assert_eq!(
            duration(Some("2026-01-01T00:00:00Z"), Some("2026-01-03T05:00:00Z")).as_deref(),
            Some("2 d 5 h")
        );
        assert_eq!(duration(Some("2026-01-01T00:00:00Z"), None), None);
        assert_eq!(
            duration(Some("2026-01-02T00:00:00Z"), Some("2026-01-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn html_escapes_what_it_is_given() {
        assert_eq!(
            inline("a <b> `c<d>` **e**"),
            "a &lt;b&gt; <code>c&lt;d&gt;</code> <strong>e</strong>"
        );
        assert_eq!(split_row("| a \\| b | c |"), vec!["a | b", "c"]);
    }
}
