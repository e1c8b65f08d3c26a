//! `squall scope`: what the case touched, grouped by kind, each resource with its changes and
//! the record they come from, the failed calls apart, and the command that acts on each kind.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use squall_core::verb::Verb;

use squall_case::affected::{Changed, FailedCall, Resource, Seen};
use squall_case::timeline::Touched;
use squall_core::text;
use squall_flow::Context;
use squall_flow::activity::{self, DEFAULT_PIVOTS, Scope};

use crate::cli::Format;
use crate::render::{self, banner, banner_stderr, format_or_default, view_exit};

/// The verb that acts on a resource, and the id it takes.
type Acting = (Verb, String);

/// One row of `scope --format json|jsonl|csv`: a resource, a failed call, or context (an
/// account, region, address or action). `kind`, `value`, `first_seen`, `last_seen` and
/// `events` are what earlier releases printed for every row.
#[derive(Serialize, Default)]
struct Row<'a> {
    kind: &'static str,
    value: &'a str,
    first_seen: &'a str,
    last_seen: &'a str,
    events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    /// The changes made to the resource, each with its record; empty when only used.
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<&'a [Changed]>,
    /// A failed call's error and what it would have changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempted: Option<&'a [String]>,
    /// The first record naming the resource, or the failed call's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<&'a Seen>,
    /// Named only by events that share a source address with the case's actors: listed,
    /// never acted on.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    address_only: bool,
    /// The Squall command that acts on the resource, shell-quoted.
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<String>,
}

fn resource_row<'a>(r: &'a Resource, verb: Option<&Acting>, case: &str) -> Row<'a> {
    Row {
        kind: r.kind.name(),
        value: &r.id,
        first_seen: &r.first_seen,
        last_seen: &r.last_seen,
        events: r.events,
        parent: r.parent.as_deref(),
        detail: r.detail.as_deref(),
        account: r.account.as_deref(),
        region: r.region.as_deref(),
        changes: Some(&r.changes),
        record: Some(&r.first_record),
        address_only: r.address_only,
        command: verb.map(|(verb, id)| render::shell_command(&verb.argv(case, [id.as_str()]))),
        ..Row::default()
    }
}

fn failed_row(f: &FailedCall) -> Row<'_> {
    Row {
        kind: "failed_call",
        value: f.record.action.as_deref().unwrap_or("(unknown action)"),
        first_seen: &f.record.time,
        last_seen: &f.record.time,
        events: 1,
        error: Some(&f.error),
        attempted: Some(&f.attempted),
        record: Some(&f.record),
        ..Row::default()
    }
}

fn context_row(t: &Touched) -> Row<'_> {
    Row {
        kind: t.kind,
        value: &t.value,
        first_seen: &t.first_seen,
        last_seen: &t.last_seen,
        events: t.events,
        ..Row::default()
    }
}

/// `file #index`, the file by its name: the JSON carries the full path.
fn at(s: &Seen) -> String {
    format!("[{} #{}]", render::file_name(&s.file), s.record_index)
}

/// A principal or an id as a table line shows it: the attacker picks session names, so one
/// ARN can be kilobytes long; the JSON keeps it whole.
fn short(s: &str) -> std::borrow::Cow<'_, str> {
    text::shortened(s, 160)
}

/// Ids per `act:` line, so a line stays well within what a shell takes.
const IDS_PER_LINE: usize = 50;

fn change_line(c: &Changed) -> String {
    let mut line = format!("{} {}", c.change.past(), c.record.time);
    if let Some(p) = &c.parent {
        line.push_str(&format!(" → {p}"));
    }
    if let Some(d) = &c.detail {
        line.push_str(&format!(" ({d})"));
    }
    if let Some(who) = &c.record.principal {
        line.push_str(&format!(" by {}", short(who)));
    }
    format!("{line}  {}", at(&c.record))
}

fn table(out: &mut dyn Write, case: &str, scope: &Scope) -> std::io::Result<()> {
    let a = &scope.affected;
    let mut kinds: BTreeMap<_, Vec<(&Resource, Option<&Acting>)>> = BTreeMap::new();
    for (r, verb) in a.resources.iter().zip(&scope.verbs) {
        kinds.entry(r.kind).or_default().push((r, verb.as_ref()));
    }
    // With several AWS accounts, each AWS command names the one it acts in (Google Cloud's
    // names carry their project).
    let aws = |r: &Resource| r.provider == Some(squall_core::Provider::Aws);
    let accounts: std::collections::BTreeSet<_> = a
        .resources
        .iter()
        .zip(&scope.verbs)
        .filter(|(r, verb)| verb.is_some() && aws(r))
        .map(|(r, _)| r.account.clone())
        .collect();
    for (kind, resources) in &kinds {
        writeln!(out, "\n{} ({}):", kind.plural(), resources.len())?;
        let mut verbs: BTreeMap<_, Vec<String>> = BTreeMap::new();
        for (r, verb) in resources {
            let mut line = format!("  {}", short(&r.id));
            if let Some(p) = &r.parent {
                line.push_str(&format!("  ({})", short(p)));
            }
            if let Some(d) = &r.detail {
                line.push_str(&format!("  {d}"));
            }
            if r.address_only {
                line.push_str("  [same source address only: not acted on]");
            }
            if r.changed() {
                writeln!(out, "{}", text::terminal(&line))?;
                for c in &r.changes {
                    writeln!(out, "      {}", text::terminal(&change_line(c)))?;
                }
            } else {
                let seen = format!(
                    "  used {} .. {} ({} events)  {}",
                    r.first_seen,
                    r.last_seen,
                    r.events,
                    at(&r.first_record)
                );
                writeln!(out, "{}{}", text::terminal(&line), text::terminal(&seen))?;
            }
            if let Some((verb, id)) = verb {
                verbs
                    .entry((aws(r), r.account.clone(), verb.clone()))
                    .or_default()
                    .push(id.clone());
            }
        }
        for ((on_aws, account, verb), ids) in verbs {
            // Several session keys of one role name the role once.
            let mut seen = std::collections::HashSet::new();
            let ids: Vec<String> = ids
                .into_iter()
                .filter(|id| seen.insert(id.clone()))
                .collect();
            for chunk in ids.chunks(IDS_PER_LINE) {
                let mut argv = verb.argv(case, chunk.iter().map(String::as_str));
                if let (true, Some(account)) = (on_aws && accounts.len() > 1, &account) {
                    let at = argv
                        .iter()
                        .position(|w| w == "--case")
                        .unwrap_or(argv.len());
                    argv.splice(at..at, ["--account".to_string(), account.clone()]);
                }
                writeln!(
                    out,
                    "  act: {}",
                    text::terminal(&render::shell_command(&argv))
                )?;
            }
        }
    }
    if !a.failed.is_empty() {
        writeln!(out, "\nfailed calls, not changes ({}):", a.failed.len())?;
        for f in &a.failed {
            let r = &f.record;
            let mut line = format!(
                "  {}  {}  {}",
                r.time,
                r.action.as_deref().unwrap_or("(unknown action)"),
                f.error
            );
            if let Some(who) = &r.principal {
                line.push_str(&format!(" by {}", short(who)));
            }
            if !f.attempted.is_empty() {
                line.push_str(&format!(" (tried: {})", f.attempted.join("; ")));
            }
            writeln!(out, "{}  {}", text::terminal(&line), text::terminal(&at(r)))?;
        }
    }
    let mut kind = "";
    for t in &scope.context {
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
    Ok(())
}

/// One CSV row's cells.
fn cells(r: &Row<'_>) -> Vec<String> {
    let o = |v: Option<&str>| v.unwrap_or_default().to_string();
    let changes = r
        .changes
        .unwrap_or_default()
        .iter()
        .map(change_line)
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        r.kind.to_string(),
        r.value.to_string(),
        r.first_seen.to_string(),
        r.last_seen.to_string(),
        r.events.to_string(),
        o(r.parent),
        o(r.detail),
        changes,
        o(r.error),
        r.attempted.unwrap_or_default().join("; "),
        r.record
            .map(|s| format!("{} #{}", s.file, s.record_index))
            .unwrap_or_default(),
        r.command.clone().unwrap_or_default(),
        if r.address_only { "yes" } else { "" }.to_string(),
    ]
}

pub fn scope(ctx: &Context, case: &str, format: Option<Format>) -> anyhow::Result<u8> {
    let (file, activity) = activity::of_case(ctx, case, &DEFAULT_PIVOTS, None)?;
    render::warnings(&activity.warnings);
    let scope = activity::scope(&activity);
    let a = &scope.affected;
    let mut rows: Vec<Row<'_>> = a
        .resources
        .iter()
        .zip(&scope.verbs)
        .map(|(r, verb)| resource_row(r, verb.as_ref(), case))
        .collect();
    rows.extend(a.failed.iter().map(failed_row));
    rows.extend(scope.context.iter().map(context_row));
    let format = format_or_default(format);
    if format != Format::Table {
        banner_stderr(&file.integrity);
    }
    let header = [
        "kind",
        "value",
        "first_seen",
        "last_seen",
        "events",
        "parent",
        "detail",
        "changes",
        "error",
        "attempted",
        "record",
        "command",
        "address_only",
    ];
    render::rows(format, &rows, &header, cells, |out| {
        banner(out, &file.integrity)?;
        let changed = a.resources.iter().filter(|r| r.changed()).count();
        writeln!(
            out,
            "{case}: {} events of the case's actors in {} hunted files: {} resources touched, \
             {changed} changed ({} changes), {} failed calls",
            activity.events.len(),
            file.sources.len(),
            a.resources.len(),
            a.change_count(),
            a.failed.len(),
        )?;
        table(out, case, &scope)
    })?;
    Ok(view_exit(&file.integrity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_what_the_attacker_named() {
        let argv = vec![
            "contain".to_string(),
            "aws".into(),
            "user".into(),
            "--".into(),
            "x; rm -rf ~".into(),
        ];
        assert_eq!(
            render::shell_command(&argv),
            "squall contain aws user -- 'x; rm -rf ~'"
        );
        let nul = vec!["a\0b".to_string()];
        assert!(render::shell_command(&nul).contains("NUL"));
        assert_eq!(short("abc"), "abc");
        assert!(short(&"a".repeat(20_000)).ends_with("(19840 more bytes)"));
    }
}
