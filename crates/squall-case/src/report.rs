//! The postmortem: everything the case recorded, told in order, with the durations the team
//! will be asked about. Markdown to edit and circulate, or one HTML file to archive.
//!
//! The report is built once as a small document (headings, paragraphs, lists, tables of
//! typed spans) and then rendered: to Markdown with every piece of recorded text escaped by
//! [`crate::text::markdown`], and to HTML through maud, which escapes everything it is given.
//! Nothing a log or a ledger payload says can become a heading, a link or a tag.

use std::fmt::Write;

use maud::{DOCTYPE, Markup, PreEscaped, Render, html};
use serde_json::Value;
use squall_core::entry::{
    ActionExecuted, ActionFailed, ActionPlanned, ActionVerified, CaseAssigned, CaseOpened,
    CaseStatus, CaseTriaged, EvidenceAdded, HuntRun, Kind, LogsCollected, Note, Payload,
    ResponseApproved, ResponseProposed, ResponseSkipped, Stage, TaskAdded, TaskDone, Verified,
};
use squall_core::finding::Location;

use crate::affected;
use crate::casefile::CaseFile;
use crate::ledger::Entry;
use crate::store::{AttachedDetection, Case};
use crate::text;
use crate::timeline::{self, TimelineEvent};

/// What the report is made from: the case as its ledger tells it (with what the checks found)
/// and the attacker timeline read from its checked sources.
pub struct ReportInput<'a> {
    pub file: &'a CaseFile,
    /// The attacker timeline (empty when the case has no hunted logs).
    pub timeline: &'a [TimelineEvent],
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

/// A payload read as its kind's type; one not of that shape (a damaged entry) reads as empty,
/// as a missing field read by name did.
fn read<P: Payload + Default>(payload: &Value) -> P {
    P::from_value(payload).unwrap_or_default()
}

/// The response timeline: what the team did, from the ledger.
fn response_line(e: &Entry) -> Option<String> {
    let p = &e.payload;
    let Some(kind) = Kind::parse(&e.kind) else {
        return Some(e.kind.clone());
    };
    Some(match kind {
        Kind::CaseOpened => format!("case opened: {}", read::<CaseOpened>(p).title),
        Kind::CaseAssigned => format!("assigned to {}", read::<CaseAssigned>(p).owner),
        Kind::CaseStatus => {
            let CaseStatus { from, to, reason } = read(p);
            let reason = if reason.is_empty() {
                String::new()
            } else {
                format!(" ({reason})")
            };
            format!("{from} → {to}{reason}")
        }
        Kind::CaseTriaged => format!("triaged: severity {}", read::<CaseTriaged>(p).severity),
        Kind::HuntRun => {
            let run: HuntRun = read(p);
            format!(
                "hunt over {} file(s), {} record(s), {} detection(s)",
                run.files.len(),
                run.records,
                run.detections
            )
        }
        Kind::TaskAdded => {
            let t: TaskAdded = read(p);
            format!("task {} added: {}", t.task, t.text)
        }
        Kind::TaskDone => {
            let t: TaskDone = read(p);
            format!("task {} done: {}", t.task, t.result)
        }
        Kind::LogsCollected => {
            let c: LogsCollected = read(p);
            format!(
                "{} logs collected from {} for {} to {}: {} file(s), {} byte(s); {} of {} digest(s) verified; {} integrity problem(s), {} file(s) not fetched; {} event(s) filled in {} gap(s)",
                c.provider,
                c.source,
                c.since,
                c.until,
                c.files,
                c.bytes,
                c.digests_verified,
                c.digests,
                c.integrity.len(),
                c.failures.len(),
                c.gaps.iter().map(|g| g.events).sum::<u64>(),
                c.gaps.len()
            )
        }
        Kind::EvidenceAdded => {
            let ev: EvidenceAdded = read(p);
            format!(
                "evidence #{} added: {} (sha256 {})",
                ev.evidence_id, ev.path, ev.sha256
            )
        }
        // Lessons have their own section.
        Kind::Note => match read::<Note>(p) {
            Note { lesson: true, .. } => return None,
            Note { text, .. } => format!("note: {text}"),
        },
        Kind::DetectionAttached => return None,
        Kind::ActionPlanned | Kind::ActionExecuted | Kind::ActionVerified | Kind::ActionFailed => {
            Step::read(e).map_or_else(|| e.kind.clone(), |step| step.line())
        }
        Kind::InventoryImported | Kind::InventoryAdopted => e.kind.clone(),
        Kind::ResponseProposed => match ResponseProposed::from_value(p) {
            Some(r) => format!(
                "response proposed: {} step(s) (proposal {})",
                r.steps.len(),
                r.proposal
            ),
            None => e.kind.clone(),
        },
        Kind::ResponseApproved => match ResponseApproved::from_value(p) {
            Some(r) => format!(
                "steps {} of proposal {} approved",
                list(&r.steps),
                r.proposal
            ),
            None => e.kind.clone(),
        },
        Kind::ResponseSkipped => match ResponseSkipped::from_value(p) {
            Some(r) => format!(
                "steps {} of proposal {} skipped: {}",
                list(&r.steps),
                r.proposal,
                r.reason
            ),
            None => e.kind.clone(),
        },
    })
}

/// The latest proposed response, each step with where it stands: what the team decided to do,
/// did, skipped and why, and what is still open.
fn proposed_response(file: &CaseFile) -> Vec<Block> {
    use crate::proposal::Status;
    let Some(c) = crate::proposal::current(file) else {
        return Vec::new();
    };
    let rows = c
        .steps
        .iter()
        .map(|s| {
            let step = &s.step;
            let standing = match &s.status {
                Status::Proposed => "proposed, not decided".to_string(),
                Status::Approved { by, .. } => format!("approved by {by}, not done"),
                Status::Skipped { by, reason, .. } => format!("skipped by {by}: {reason}"),
                Status::Done { at } => format!("done {at}"),
            };
            let mut why = step.reason.clone();
            if let Some(hand) = &step.by_hand {
                why.push_str(&format!("; by hand: {hand}"));
            }
            vec![
                cell(step.step.to_string()),
                cell(step.phase.name()),
                cell(&step.action),
                cell(&step.resource),
                cell(standing),
                cell(why),
            ]
        })
        .collect();
    vec![
        Block::Heading(2, cell("Proposed response")),
        Block::Para(cell(format!(
            "Proposal {} by {} at {}.",
            c.proposal, c.proposed_by, c.proposed_at
        ))),
        Block::Table(
            vec!["#", "Phase", "Action", "Resource", "Standing", "Why"],
            rows,
        ),
    ]
}

/// Step numbers as a list: `1, 3, 4`.
fn list(steps: &[u32]) -> String {
    steps
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One step of a response action: an `action.*` entry read through the types the driver
/// writes.
enum Step {
    Planned(ActionPlanned),
    Executed(ActionExecuted),
    Verified(ActionVerified),
    Failed(ActionFailed),
}

impl Step {
    /// The entry as a step; `None` for other kinds, and for a payload not of its kind's shape.
    fn read(e: &Entry) -> Option<Step> {
        let p = &e.payload;
        match Kind::parse(&e.kind)? {
            Kind::ActionPlanned => ActionPlanned::from_value(p).map(Step::Planned),
            Kind::ActionExecuted => ActionExecuted::from_value(p).map(Step::Executed),
            Kind::ActionVerified => ActionVerified::from_value(p).map(Step::Verified),
            Kind::ActionFailed => ActionFailed::from_value(p).map(Step::Failed),
            _ => None,
        }
    }

    /// The action and resource it is about (a plan carries them inside; a failure to plan
    /// recorded before actions named themselves names none, and reads as "plan").
    fn target(&self) -> (&str, &str) {
        let (action, resource) = match self {
            Step::Planned(p) => (p.plan.action.as_str(), &p.plan.resource),
            Step::Executed(x) => (x.action.as_str(), &x.resource),
            Step::Verified(v) => (v.action.as_str(), &v.resource),
            Step::Failed(f) => (f.action.as_deref().unwrap_or_default(), &f.resource),
        };
        let action = if action.is_empty() { "plan" } else { action };
        (action, resource)
    }

    /// The action's outcome as of this step.
    fn outcome(&self) -> &'static str {
        match self {
            Step::Planned(_) => "planned",
            Step::Executed(_) => "executed",
            Step::Verified(ActionVerified {
                how: Verified::Unchanged { .. },
                ..
            }) => "unchanged",
            Step::Verified(_) => "verified",
            Step::Failed(_) => "failed",
        }
    }

    /// The step, in words.
    fn line(&self) -> String {
        let (action, resource) = self.target();
        match self {
            Step::Planned(p) => format!(
                "planned {action} on {resource} (approved by {})",
                p.approved_by
            ),
            Step::Executed(_) => format!("executed {action} on {resource}"),
            Step::Verified(ActionVerified {
                how: Verified::Unchanged { .. },
                ..
            }) => format!("{action} on {resource}: already done, nothing changed"),
            Step::Verified(_) => format!("verified {action} on {resource}"),
            Step::Failed(f) => {
                let shown = |v: &Option<Value>| v.clone().unwrap_or_default().to_string();
                let why = match f.error.as_deref() {
                    None | Some("") => format!(
                        "expected {}, observed {}",
                        shown(&f.expected),
                        shown(&f.observed)
                    ),
                    Some(error) => error.to_string(),
                };
                let stage = match f.stage {
                    Stage::Plan => "plan",
                    Stage::Execute => "execute",
                    Stage::Verify => "verify",
                    // The first release recorded no stage; its failures read as execution's.
                    Stage::Unrecorded => "execution",
                };
                format!("{action} on {resource} failed at {stage}: {why}")
            }
        }
    }
}

/// Each action on each resource, from its plan to its last recorded step: the outcome and how
/// long it took. Rows in the order the actions were planned.
fn action_rows(ledger: &[Entry]) -> Vec<[String; 6]> {
    let mut rows: Vec<([String; 6], String)> = Vec::new();
    for (e, step) in ledger.iter().filter_map(|e| Some((e, Step::read(e)?))) {
        let (action, resource) = step.target();
        let outcome = step.outcome();
        let open = rows.iter_mut().rev().find(|(r, _)| {
            r[1] == action
                && r[2] == resource
                && r[3] != "verified"
                && r[3] != "unchanged"
                && r[3] != "failed"
        });
        match open {
            Some((row, started)) if !matches!(step, Step::Planned(_)) => {
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

/// A piece of inline text: recorded text, a literal (a path, a digest), or emphasis.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Span {
    Text(String),
    Code(String),
    Strong(String),
}

type Inline = Vec<Span>;

/// The report's structure, rendered to Markdown or HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Heading(u8, Inline),
    Para(Inline),
    List(Vec<Inline>),
    Table(Vec<&'static str>, Vec<Vec<Inline>>),
}

fn t(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

fn code(s: impl Into<String>) -> Span {
    Span::Code(s.into())
}

fn cell(s: impl Into<String>) -> Inline {
    vec![t(s)]
}

fn dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "—".into())
}

/// Where a detection's record is: its file and position (a detection that is not a finding,
/// a damaged entry, has none to show).
fn evidence_of(d: &AttachedDetection) -> Inline {
    match d.finding.as_ref().map(|f| &f.location) {
        Some(Location::LogRecord {
            file, record_index, ..
        }) => vec![code(file), t(format!(" #{record_index}"))],
        _ => cell("—"),
    }
}

/// What the attacker touched: each change with its record, what was only used, and the calls
/// that failed (which changed nothing), from the same checked events as the timeline.
fn touched(timeline: &[TimelineEvent]) -> Vec<Block> {
    if timeline.is_empty() {
        return Vec::new();
    }
    let a = affected::affected(timeline);
    let mut doc = vec![Block::Heading(2, cell("What the attacker touched"))];
    let record = |s: &affected::Seen| vec![code(&s.file), t(format!(" #{}", s.record_index))];
    let mut changes: Vec<_> = a
        .resources
        .iter()
        .flat_map(|r| r.changes.iter().map(move |c| (r, c)))
        .collect();
    // In the order they happened, as the reader of a postmortem follows them.
    changes.sort_by(|(_, a), (_, b)| {
        (&a.record.time, &a.record.file, a.record.record_index).cmp(&(
            &b.record.time,
            &b.record.file,
            b.record.record_index,
        ))
    });
    let changes: Vec<Vec<Inline>> = changes
        .into_iter()
        .map(|(r, c)| {
            let mut what = c.change.past().to_string();
            if let Some(p) = &c.parent {
                what.push_str(&format!(" → {p}"));
            }
            if let Some(d) = &c.detail {
                what.push_str(&format!(" ({d})"));
            }
            // The attacker names sessions: a principal can be kilobytes, once per change.
            let by = c
                .record
                .principal
                .as_deref()
                .map_or_else(|| "—".to_string(), |p| text::shortened(p, 160).into_owned());
            vec![
                cell(&c.record.time),
                cell(r.kind.name().replace('_', " ")),
                cell(&r.id),
                cell(what),
                cell(by),
                record(&c.record),
            ]
        })
        .collect();
    if changes.is_empty() {
        doc.push(Block::Para(cell("No changes in the hunted logs.")));
    } else {
        doc.push(Block::Table(
            vec!["Time", "Kind", "Resource", "Change", "By", "Evidence"],
            changes,
        ));
    }
    let used: Vec<Inline> = a
        .resources
        .iter()
        .filter(|r| !r.changed() && r.kind != squall_core::touched::Kind::Resource)
        .map(|r| {
            // Ids are the attacker's text: a text span escapes them, a code span would not.
            let mut line = vec![t(format!("{} {}", r.kind.name().replace('_', " "), r.id))];
            if let Some(p) = &r.parent {
                line.push(t(format!(" ({p})")));
            }
            line.push(t(format!(
                ": used {} to {}, {} event(s)",
                r.first_seen, r.last_seen, r.events
            )));
            line
        })
        .collect();
    if !used.is_empty() {
        doc.push(Block::Heading(3, cell("Used, not changed")));
        doc.push(Block::List(used));
    }
    if !a.failed.is_empty() {
        doc.push(Block::Heading(3, cell("Failed calls (no change)")));
        doc.push(Block::Table(
            vec!["Time", "Call", "Error", "Tried", "By", "Evidence"],
            a.failed
                .iter()
                .map(|f| {
                    vec![
                        cell(&f.record.time),
                        cell(dash(&f.record.action)),
                        cell(&f.error),
                        cell(f.attempted.join("; ")),
                        cell(dash(&f.record.principal)),
                        record(&f.record),
                    ]
                })
                .collect(),
        ));
    }
    doc
}

/// The report as a document.
fn document(r: &ReportInput<'_>) -> Vec<Block> {
    let file = r.file;
    let c = &file.case;
    let mut doc = Vec::new();
    if let Some(banner) = file.integrity.banner() {
        doc.push(Block::Para(vec![Span::Strong(banner)]));
    }
    doc.push(Block::Heading(
        1,
        vec![t(format!("Postmortem {}: {}", c.id, c.title))],
    ));
    doc.push(Block::Para(vec![
        t("Status "),
        Span::Strong(c.status.clone()),
        t(", severity "),
        Span::Strong(dash(&c.severity)),
        t(format!(
            ", owner {}. Generated by squall {} at {}.",
            dash(&c.owner),
            env!("CARGO_PKG_VERSION"),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )),
    ]));
    doc.push(Block::Heading(2, cell("Summary")));
    let times = || {
        file.detections
            .iter()
            .filter_map(|d| d.event_time.as_deref())
    };
    let (first, last) = (times().min(), times().max());
    let mut summary = vec![t(format!(
        "{} detection(s) between {} and {}; {} piece(s) of evidence; {} ledger entries (",
        file.detections.len(),
        first.unwrap_or("—"),
        last.unwrap_or("—"),
        file.evidence.len(),
        file.ledger.len(),
    ))];
    if file.integrity.verified() {
        summary.push(t(file.integrity.summary()));
    } else {
        summary.push(Span::Strong(file.integrity.summary()));
    }
    summary.push(t(")."));
    doc.push(Block::Para(summary));
    if !file.integrity.unchecked.is_empty() {
        doc.push(Block::List(
            file.integrity
                .unchecked
                .iter()
                .map(|u| cell(format!("unchecked: {u}")))
                .collect(),
        ));
    }
    doc.push(Block::Heading(2, cell("Durations")));
    doc.push(Block::Table(
        vec!["Phase", "Duration"],
        durations(c, first)
            .into_iter()
            .map(|(label, value)| vec![cell(label), cell(value)])
            .collect(),
    ));
    if let Some(triage) = file
        .ledger
        .iter()
        .rev()
        .find(|e| e.kind == Kind::CaseTriaged)
    {
        doc.push(Block::Heading(2, cell("Triage")));
        let triage: CaseTriaged = read(&triage.payload);
        doc.push(Block::List(triage.reasons.into_iter().map(cell).collect()));
        for a in triage.assets {
            doc.push(Block::Heading(3, cell(a.id)));
            let mut list: Vec<Inline> = Vec::new();
            for f in a.flags {
                list.push(vec![Span::Strong(f)]);
            }
            for ans in a.answers {
                list.push(cell(format!("{} {}", ans.question, ans.answer)));
            }
            for q in a.questions {
                list.push(cell(format!("{} (open: ask {})", q.question, q.ask)));
            }
            doc.push(Block::List(list));
        }
    }
    doc.push(Block::Heading(2, cell("Attacker timeline")));
    if r.timeline.is_empty() {
        doc.push(Block::Para(cell("No hunted logs recorded on the case.")));
    } else {
        doc.push(Block::Table(
            vec!["Time", "Event", "Evidence"],
            r.timeline
                .iter()
                .map(|e| {
                    vec![
                        cell(&e.time),
                        cell(timeline::message(e)),
                        vec![code(&e.file), t(format!(" #{}", e.record_index))],
                    ]
                })
                .collect(),
        ));
    }
    doc.extend(touched(r.timeline));
    doc.push(Block::Heading(2, cell("Response timeline")));
    doc.push(Block::Table(
        vec!["Time", "Who", "What"],
        file.ledger
            .iter()
            .filter_map(|e| Some(vec![cell(&e.time), cell(&e.actor), cell(response_line(e)?)]))
            .collect(),
    ));
    doc.push(Block::Heading(2, cell("Detections")));
    doc.push(Block::Table(
        vec!["Time", "Level", "Rule", "Principal", "Evidence"],
        file.detections
            .iter()
            .map(|d| {
                let principal = d
                    .finding
                    .as_ref()
                    .and_then(|f| f.fields.principal.as_deref());
                vec![
                    cell(d.event_time.as_deref().unwrap_or("—")),
                    cell(&d.level),
                    cell(&d.title),
                    cell(principal.unwrap_or("—")),
                    evidence_of(d),
                ]
            })
            .collect(),
    ));
    doc.push(Block::Heading(2, cell("Evidence")));
    doc.push(Block::Table(
        vec!["#", "File", "Size", "SHA-256", "Description", "Added"],
        file.evidence
            .iter()
            .map(|e| {
                vec![
                    cell(e.id.to_string()),
                    vec![code(&e.path)],
                    cell(e.size.to_string()),
                    vec![code(&e.sha256)],
                    cell(&e.description),
                    cell(format!("{} by {}", e.added_at, e.added_by)),
                ]
            })
            .collect(),
    ));
    doc.extend(proposed_response(file));
    doc.push(Block::Heading(2, cell("Actions")));
    if file
        .ledger
        .iter()
        .any(|e| Kind::parse(&e.kind).is_some_and(Kind::is_action))
    {
        doc.push(Block::Table(
            vec![
                "Planned",
                "Action",
                "Resource",
                "Outcome",
                "Took",
                "Ledger entry",
            ],
            action_rows(&file.ledger)
                .into_iter()
                .map(|row| row.into_iter().map(cell).collect())
                .collect(),
        ));
        doc.push(Block::Para(vec![
            t("Each step, with the state before, the expected and the observed state, is in the ledger ("),
            code(format!("squall ledger export {}", c.id)),
            t(")."),
        ]));
    } else {
        doc.push(Block::Para(cell(
            "No response actions were run through Squall on this case.",
        )));
    }
    doc.extend(open_tasks(file));
    doc.push(Block::Heading(2, cell("Lessons learned")));
    let lessons: Vec<Inline> = file
        .notes
        .iter()
        .filter(|n| n.lesson)
        .map(|n| cell(format!("{} ({}, {})", n.text, n.actor, n.time)))
        .collect();
    if lessons.is_empty() {
        doc.push(Block::Para(vec![
            t("None recorded yet ("),
            code(format!("squall case note {} --lesson \"...\"", c.id)),
            t(")."),
        ]));
    } else {
        doc.push(Block::List(lessons));
    }
    doc
}

/// The tasks the case still has open, in their own section so a postmortem cannot read as
/// finished while work is left; none when every task is done.
fn open_tasks(file: &CaseFile) -> Vec<Block> {
    let open: Vec<Inline> = file
        .tasks
        .iter()
        .filter(|task| !task.done)
        .map(|task| {
            let owner = task.owner.as_deref().unwrap_or("no owner");
            cell(format!(
                "task {}: {} ({owner}, added {})",
                task.id, task.text, task.created_at
            ))
        })
        .collect();
    if open.is_empty() {
        return Vec::new();
    }
    vec![
        Block::Heading(2, cell("Open tasks")),
        Block::List(open),
        Block::Para(vec![
            t("Finish each with "),
            code(format!(
                "squall case done {} N --result \"...\"",
                file.case.id
            )),
            t("."),
        ]),
    ]
}

/// Markdown: the report to edit and send.
pub fn markdown(r: &ReportInput<'_>) -> String {
    let mut s = String::new();
    for block in document(r) {
        match block {
            Block::Heading(level, spans) => {
                let _ = writeln!(
                    s,
                    "{} {}\n",
                    "#".repeat(level as usize),
                    md_inline(&spans, false)
                );
            }
            Block::Para(spans) => {
                let _ = writeln!(s, "{}\n", md_inline(&spans, false));
            }
            Block::List(items) => {
                for item in &items {
                    let _ = writeln!(s, "- {}", md_inline(item, false));
                }
                s.push('\n');
            }
            Block::Table(head, rows) => {
                let _ = writeln!(s, "| {} |", head.join(" | "));
                let _ = writeln!(s, "|{}", " --- |".repeat(head.len()));
                for row in &rows {
                    let cells: Vec<String> = row.iter().map(|c| md_inline(c, true)).collect();
                    let _ = writeln!(s, "| {} |", cells.join(" | "));
                }
                s.push('\n');
            }
        }
    }
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}

/// Inline Markdown. In a table a `|` must be escaped even inside a code span (GFM).
fn md_inline(spans: &[Span], in_table: bool) -> String {
    let mut out = String::new();
    for span in spans {
        match span {
            Span::Text(x) => out.push_str(&text::markdown(x)),
            Span::Strong(x) => {
                let _ = write!(out, "**{}**", text::markdown(x));
            }
            Span::Code(x) => out.push_str(&md_code(x, in_table)),
        }
    }
    out
}

/// A code span that holds any text: a fence longer than the text's longest run of backticks,
/// padded when the text starts or ends with one; line breaks and controls shown escaped.
fn md_code(x: &str, in_table: bool) -> String {
    let mut body = text::terminal(x).into_owned();
    if in_table {
        body = body.replace('|', "\\|");
    }
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') || body.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

impl Render for Span {
    fn render(&self) -> Markup {
        // maud escapes markup; control and bidi characters are shown escaped too, so a field
        // cannot reorder the page's text or write raw escapes to a terminal it is printed on.
        match self {
            Span::Text(x) => html! { (text::terminal(x)) },
            Span::Code(x) => html! { code { (text::terminal(x)) } },
            Span::Strong(x) => html! { strong { (text::terminal(x)) } },
        }
    }
}

struct Spans<'a>(&'a [Span]);

impl Render for Spans<'_> {
    fn render(&self) -> Markup {
        html! { @for s in self.0 { (s) } }
    }
}

impl Render for Block {
    fn render(&self) -> Markup {
        match self {
            Block::Heading(1, s) => html! { h1 { (Spans(s)) } },
            Block::Heading(2, s) => html! { h2 { (Spans(s)) } },
            Block::Heading(_, s) => html! { h3 { (Spans(s)) } },
            Block::Para(s) => html! { p { (Spans(s)) } },
            Block::List(items) => html! { ul { @for i in items { li { (Spans(i)) } } } },
            Block::Table(head, rows) => html! {
                table {
                    tr { @for h in head { th { (h) } } }
                    @for row in rows { tr { @for c in row { td { (Spans(c)) } } } }
                }
            },
        }
    }
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:72em;margin:2em auto;padding:0 1em;color:#222}\n\
table{border-collapse:collapse;width:100%;margin:.5em 0} th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}\n\
th{background:#f4f4f4} code{font-size:.9em;word-break:break-all} h2{border-bottom:1px solid #ccc;padding-bottom:.2em}\n";

/// HTML: the same report as one self-contained file, for the case archive.
pub fn html(r: &ReportInput<'_>) -> String {
    let doc = document(r);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Postmortem " (r.file.case.id) }
                style { (PreEscaped(STYLE)) }
            }
            body { @for b in &doc { (b) } }
        }
    };
    page.into_string() + "\n"
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
        use squall_core::respond::Plan;
        let plan = |action: &str, resource: &str| {
            (
                Kind::ActionPlanned,
                ActionPlanned {
                    plan: Plan {
                        action: action.into(),
                        resource: resource.into(),
                        before: json!({"s": 0}),
                        after: json!({"s": 1}),
                        visible_to_attacker: true,
                        already_done: false,
                        notes: Vec::new(),
                    },
                    approved_by: "alice".into(),
                    account: None,
                    region: None,
                }
                .to_value(),
            )
        };
        let executed = |action: &str, resource: &str| {
            (
                Kind::ActionExecuted,
                ActionExecuted {
                    action: action.into(),
                    resource: resource.into(),
                    result: json!({}),
                }
                .to_value(),
            )
        };
        let verified = |action: &str, resource: &str, how: Verified| {
            (
                Kind::ActionVerified,
                ActionVerified {
                    action: action.into(),
                    resource: resource.into(),
                    account: None,
                    region: None,
                    how,
                }
                .to_value(),
            )
        };
        let failed = |action: Option<&str>, resource: &str, stage, error: &str| {
            (
                Kind::ActionFailed,
                ActionFailed {
                    action: action.map(Into::into),
                    resource: resource.into(),
                    part_of: None,
                    stage,
                    error: Some(error.into()),
                    expected: None,
                    observed: None,
                }
                .to_value(),
            )
        };
        let changed = Verified::Changed {
            expected: json!({"s": 1}),
            observed: json!({"s": 1}),
        };
        let unchanged = Verified::Unchanged {
            state: json!({"s": 1}),
            note: crate::respond::UNCHANGED_NOTE.into(),
        };
        let steps = [
            (2, "2026-01-01T00:00:00Z", plan("isolate-instance", "i-1")),
            (3, "2026-01-01T00:00:00Z", plan("isolate-instance", "i-2")),
            (
                4,
                "2026-01-01T00:00:05Z",
                executed("isolate-instance", "i-1"),
            ),
            (
                5,
                "2026-01-01T00:00:07Z",
                verified("isolate-instance", "i-1", changed),
            ),
            (
                6,
                "2026-01-01T00:00:09Z",
                failed(Some("isolate-instance"), "i-2", Stage::Execute, "throttled"),
            ),
            (
                7,
                "2026-01-01T00:01:00Z",
                failed(None, "i-3", Stage::Plan, "no such instance"),
            ),
            (8, "2026-01-01T00:02:00Z", plan("isolate-instance", "i-1")),
            (
                9,
                "2026-01-01T00:02:00Z",
                verified("isolate-instance", "i-1", unchanged),
            ),
        ];
        let ledger: Vec<Entry> = steps
            .into_iter()
            .map(|(seq, time, (kind, payload))| entry(seq, time, kind.as_str(), payload))
            .collect();
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
        let line = |e: &Entry| response_line(e).unwrap();
        assert_eq!(
            line(&ledger[4]),
            "isolate-instance on i-2 failed at execute: throttled"
        );
        assert_eq!(
            line(&ledger[0]),
            "planned isolate-instance on i-1 (approved by alice)"
        );
        assert_eq!(
            line(&ledger[7]),
            "isolate-instance on i-1: already done, nothing changed"
        );
    }

    #[test]
    fn the_first_releases_action_entries_read_as_they_did() {
        use serde_json::json;
        // No result when executed; no stage when execution or verification failed.
        let ledger = [
            entry(
                1,
                "2026-01-01T00:00:00Z",
                "action.executed",
                json!({"action": "deactivate-access-key", "resource": "AKIA1"}),
            ),
            entry(
                2,
                "2026-01-01T00:00:01Z",
                "action.failed",
                json!({"action": "deactivate-access-key", "resource": "AKIA1",
                       "expected": {"status": "Inactive"}, "observed": {"status": "Active"}}),
            ),
            entry(
                3,
                "2026-01-01T00:00:02Z",
                "action.failed",
                json!({"action": "deactivate-access-key", "resource": "AKIA2", "error": "throttled"}),
            ),
        ];
        let lines: Vec<String> = ledger.iter().filter_map(response_line).collect();
        assert_eq!(
            lines,
            [
                "executed deactivate-access-key on AKIA1",
                r#"deactivate-access-key on AKIA1 failed at execution: expected {"status":"Inactive"}, observed {"status":"Active"}"#,
                "deactivate-access-key on AKIA2 failed at execution: throttled",
            ]
        );
        let outcomes: Vec<String> = action_rows(&ledger)
            .into_iter()
            .map(|r| r[3].clone())
            .collect();
        assert_eq!(outcomes, ["failed", "failed"]);
    }

    #[test]
    fn a_kind_no_release_wrote_is_named_and_a_lesson_is_left_to_its_section() {
        use serde_json::json;
        let forged = entry(1, "t", "case.frobbed", json!({"x": 1}));
        assert_eq!(response_line(&forged).as_deref(), Some("case.frobbed"));
        let lesson = Note {
            text: "use OIDC".into(),
            lesson: true,
        };
        assert_eq!(
            response_line(&entry(2, "t", Note::KIND.as_str(), lesson.to_value())),
            None
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
    fn recorded_text_becomes_no_markup_in_either_format() {
        let hostile = "x</td><script>alert(1)</script>\n## Summary\n\nAll clear | ok `tick`";
        let doc = [
            Block::Heading(1, cell(hostile)),
            Block::Table(
                vec!["A", "B"],
                vec![vec![cell(hostile), vec![code(hostile)]]],
            ),
        ];
        let Block::Table(_, rows) = &doc[1] else {
            unreachable!()
        };
        let heading = md_inline(&[t(hostile)], false);
        let text_cell = md_inline(&rows[0][0], true);
        let code_cell = md_inline(&rows[0][1], true);
        for md in [&heading, &text_cell] {
            for bad in ["<script", "</td>", "\n"] {
                assert!(!md.contains(bad), "{bad:?} in {md}");
            }
            for c in ['`', '|', '<', '[', '*'] {
                assert!(!crate::text::unescaped(md, c), "{c:?} in {md}");
            }
        }
        // A code span shows its text literally (no HTML, no Markdown inside), as one span.
        assert!(
            code_cell.starts_with("`` ") && code_cell.ends_with(" ``"),
            "{code_cell}"
        );
        assert!(!code_cell.contains('\n'), "{code_cell}");
        // In a table, every `|` from the text is escaped, inside code spans too.
        assert!(!crate::text::unescaped(&code_cell, '|'), "{code_cell}");
        let html: String = doc.iter().map(|b| b.render().into_string()).collect();
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn code_spans_hold_any_run_of_backticks() {
        assert_eq!(md_code("a`b", false), "``a`b``");
        assert_eq!(md_code("`x`", false), "`` `x` ``");
        assert_eq!(md_code("a|b", true), "`a\\|b`");
    }
}
