//! What the case's actors did: their events in the case's hunted logs, re-read and checked
//! against the digests the hunt recorded. The timeline, scope and the report are all views of
//! this one activity.

use anyhow::{Context as _, bail};
use squall_case::affected::{self, Affected, Resource};
use squall_case::timeline::{self, Actors, Pivot, TimelineEvent, Window};
use squall_case::{CaseFile, Store};
use squall_core::touched::Rule;
use squall_core::verb::Verb;
use squall_core::{Change, Provider};
use squall_logs::Warning;

use crate::{Context, timespec};

/// The default actors to follow: who, from where, with which key.
pub const DEFAULT_PIVOTS: [Pivot; 3] = [Pivot::Principal, Pivot::Ip, Pivot::Key];

/// The actors, their events, and the problems met re-reading the sources. Sources that fail
/// their digest are added to the case file's integrity.
pub struct Activity {
    pub actors: Actors,
    pub events: Vec<TimelineEvent>,
    pub warnings: Vec<Warning>,
}

/// The case as its ledger tells it, refusing a case with no hunted logs (with the way out).
pub fn load(store: &impl Store, case: &str) -> anyhow::Result<CaseFile> {
    let file = CaseFile::load(store, case)?;
    if file.sources.is_empty() {
        bail!("case {case} has no hunted logs to read (help: `squall hunt LOGS --case {case}`)");
    }
    Ok(file)
}

/// The case's actors and their events in the case's sources, each source checked against its
/// digest as it is read.
pub fn activity(file: &mut CaseFile, pivots: &[Pivot], window: Window) -> Activity {
    let actors = Actors::from_detections(&file.detections);
    let built = timeline::build(&file.sources, &actors, pivots, window, &file.detections);
    file.integrity.failures.extend(built.failures);
    file.integrity.unchecked.extend(built.unchecked);
    Activity {
        actors,
        events: built.events,
        warnings: built.warnings,
    }
}

/// The window of a timeline: around one detection (its number in `case show`, from 1) or a
/// time, or from the first detection to the last; widened by `before`/`after` (`90m`, `24h`).
pub fn window(
    file: &CaseFile,
    around: Option<&str>,
    before: &str,
    after: &str,
) -> anyhow::Result<Window> {
    let detections = &file.detections;
    let before = timespec::duration_ms(before)?;
    let after = timespec::duration_ms(after)?;
    Ok(match around {
        Some(anchor) => {
            let at = match anchor.parse::<usize>() {
                Ok(n) => {
                    let d = detections.get(n.wrapping_sub(1)).with_context(|| {
                        format!(
                            "case {} has {} detections; --around takes 1 to {}",
                            file.case.id,
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
    })
}

/// A timeline's span as the analyst gives it: around a detection (its number in `case show`)
/// or a time, or the detections' own span; widened by `before` and `after` (`90m`, `24h`).
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    pub around: Option<&'a str>,
    pub before: &'a str,
    pub after: &'a str,
}

/// A case's actors' activity: the case loaded (refused without hunted logs), its sources re-read
/// within `span` (all of them without one, as scope and the report read them) and checked.
pub fn of_case(
    ctx: &Context,
    case: &str,
    pivots: &[Pivot],
    span: Option<Span<'_>>,
) -> anyhow::Result<(CaseFile, Activity)> {
    let mut file = load(&ctx.store()?, case)?;
    let window = match span {
        Some(s) => window(&file, s.around, s.before, s.after)?,
        None => Window::default(),
    };
    let activity = activity(&mut file, pivots, window);
    Ok((file, activity))
}

/// What a case touched (see [`squall_case::affected`]), with the events' accounts, regions,
/// addresses and actions around it.
pub struct Scope {
    pub affected: Affected,
    /// The verb that acts on each resource of `affected.resources`, in the same order (see
    /// [`verb_for`]): worked out once, for the rows and the `act:` lines alike.
    pub verbs: Vec<Option<(Verb, String)>>,
    /// Accounts, regions, source addresses and actions, each with first and last seen.
    pub context: Vec<timeline::Touched>,
}

/// The case's scope from its actors' activity.
pub fn scope(activity: &Activity) -> Scope {
    let affected = affected::affected(&activity.events);
    Scope {
        verbs: affected.resources.iter().map(verb_for).collect(),
        affected,
        context: timeline::context(&activity.events),
    }
}

/// The provider verb that acts on a touched resource, and the id it takes (see
/// `squall_aws::verbs`); `None` where no Squall verb acts on it yet.
///
/// A resource seen only through a shared source address, or already deleted, gets none: the
/// first may be a bystander, the second is gone.
pub fn verb_for(r: &Resource) -> Option<(Verb, String)> {
    if r.address_only || r.deleted() {
        return None;
    }
    let changes: Vec<Change> = r.changes.iter().map(|c| c.change).collect();
    let rules: Vec<Rule> = r.changes.iter().flat_map(|c| c.rules.clone()).collect();
    match r.provider? {
        Provider::Aws => {
            squall_aws::verbs::acting_on(r.kind, &r.id, r.parent.as_deref(), &changes, &rules)
        }
        Provider::Gcp => squall_gcp::propose::acting_on(r),
        Provider::Azure => None,
    }
}

/// One self-contained HTML timeline: no external resources, so it opens on an air-gapped
/// forensic workstation. Built with maud, which escapes every value it is given; control and
/// bidi characters are shown escaped as well.
pub fn html(file: &CaseFile, activity: &Activity, pivots: &[Pivot]) -> String {
    use maud::{DOCTYPE, PreEscaped, html};
    use squall_core::text;
    let (case, events, actors) = (&file.case, &activity.events, &activity.actors);
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
                                td {
                                    (t(&o(&s.action)))
                                    @if let Some(error) = &e.error {
                                        " " span.failed { "(failed: " (t(error)) ")" }
                                    }
                                }
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
    let mut out = page.into_string();
    out.push('\n');
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.3em} table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0} tr.detection{background:#fff1f0}
td.time{white-space:nowrap;font-family:monospace} .muted{color:#777}
p.integrity{background:#b00020;color:#fff;padding:.5em} span.failed{color:#b00020}
input{padding:.3em;width:30em;margin:.5em 0}";

const FILTER: &str = "document.getElementById('filter').addEventListener('input', function (ev) {
  var q = ev.target.value.toLowerCase();
  document.querySelectorAll('tbody tr').forEach(function (tr) {
    tr.style.display = tr.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
  });
});";
