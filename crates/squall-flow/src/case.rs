//! The case verbs that read or add to a case's record: its views (list, show, triage, report),
//! the ledger's verification and export, evidence, and the inventory triage answers from.
//! Every view is `CaseFile::load`: rebuilt from the ledger and checked against it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Serialize;
use squall_case::report::{self, ReportInput};
use squall_case::store::CheckedInventory;
use squall_case::timeline::Window;
use squall_case::triage::Triage;
use squall_case::{
    AttachedDetection, Break, Case, CaseFile, Entry, Evidence, Head, NewEvidence, SignaturePolicy,
    Store, Task,
};
use squall_logs::Warning;

use crate::Context;
use crate::activity::{self, DEFAULT_PIVOTS};

/// An account (project, subscription) the case's detections name, with their regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Affected {
    pub account: String,
    pub regions: BTreeSet<String>,
}

/// The accounts and regions the detections name, in account order.
pub fn affected(detections: &[AttachedDetection]) -> Vec<Affected> {
    let mut by_account: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in detections.iter().filter_map(|d| d.finding.as_ref()) {
        if let Some(account) = &f.fields.account {
            let regions = by_account.entry(account.clone()).or_default();
            regions.extend(f.fields.region.clone());
        }
    }
    by_account
        .into_iter()
        .map(|(account, regions)| Affected { account, regions })
        .collect()
}

/// Every case as its ledger tells it, and the problems of those that fail their checks.
pub struct CaseList {
    pub cases: Vec<Case>,
    /// `C-0001: INTEGRITY CHECK FAILED: ...`, one line per failing case.
    pub failed: Vec<String>,
}

/// `case list`: every case rebuilt from its ledger, so a tampered one is named, not shown as
/// its tables say.
pub fn list(ctx: &Context) -> anyhow::Result<CaseList> {
    let store = ctx.store()?;
    let mut list = CaseList {
        cases: Vec::new(),
        failed: Vec::new(),
    };
    for row in store.cases()? {
        let file = CaseFile::load(&store, &row.id)?;
        if let Some(banner) = file.integrity.banner() {
            list.failed.push(format!("{}: {banner}", row.id));
        }
        list.cases.push(file.case);
    }
    Ok(list)
}

/// `case show`: the case file and the accounts it touches.
pub fn show(ctx: &Context, case: &str) -> anyhow::Result<(CaseFile, Vec<Affected>)> {
    let file = CaseFile::load(&ctx.store()?, case)?;
    let affected = affected(&file.detections);
    Ok((file, affected))
}

/// The JSON document of `case show`.
pub fn show_json(file: &CaseFile, affected: &[Affected]) -> serde_json::Value {
    let notes: Vec<_> = file
        .notes
        .iter()
        .map(|n| serde_json::json!({"time": n.time, "actor": n.actor, "text": n.text}))
        .collect();
    serde_json::json!({
        "integrity": file.integrity,
        "case": file.case, "affected": affected, "detections": file.detections,
        "evidence": file.evidence, "tasks": file.tasks, "notes": notes,
    })
}

/// What `ledger verify` concluded, as the line it prints after the ledger's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub intact: bool,
    pub line: String,
}

impl Verdict {
    fn tampered(line: String) -> Verdict {
        Verdict {
            intact: false,
            line,
        }
    }
}

/// Which ledger to verify: a case in the store, or an export given to a third party.
pub enum Ledger<'a> {
    Case(&'a str),
    Export(&'a Path),
}

/// Verifies a ledger's chain and signatures; for a case in the store, also that its tables
/// and hunted files agree with it (what `case show` and the report present).
pub fn verify(
    ctx: &Context,
    which: Ledger<'_>,
    expect_head: Option<String>,
    policy: &SignaturePolicy,
) -> anyhow::Result<Verdict> {
    let (name, entries, mut head, file) = match which {
        Ledger::Case(id) => {
            // The case file holds the entries it was rebuilt from: verified below, not read
            // a second time.
            let mut file = CaseFile::load(&ctx.store()?, id)?;
            let entries = std::mem::take(&mut file.ledger);
            (id.to_string(), entries, file.case.head(), Some(file))
        }
        Ledger::Export(path) => match read_export(path)? {
            Ok(entries) => (path.display().to_string(), entries, None, None),
            Err(b) => return Ok(Verdict::tampered(format!("TAMPERED at {b}"))),
        },
    };
    if let Some(hash) = expect_head {
        let seq = match &head {
            Some(h) => h.seq,
            None => entries
                .iter()
                .find(|e| e.hash == hash)
                .map_or(u64::MAX, |e| e.seq),
        };
        head = Some(Head { seq, hash });
    }
    let head = match squall_case::verify_signed(&entries, head.as_ref(), policy) {
        Ok(head) => head,
        Err(b) => return Ok(Verdict::tampered(format!("TAMPERED at {b}"))),
    };
    let mut checked = String::new();
    if let Some(mut file) = file {
        let sources = file.sources.len();
        file.checked_sources();
        if let Some(first) = file.integrity.failures.first() {
            return Ok(Verdict::tampered(format!(
                "TAMPERED: {first} (and {} more problem(s); `squall case show {name}` lists them)",
                file.integrity.failures.len() - 1
            )));
        }
        let unchecked = file.integrity.unchecked.len();
        checked = format!(
            "; the case's tables agree with it; {} hunted file(s) unchanged{}",
            sources - unchecked,
            match unchecked {
                0 => String::new(),
                n => format!(", {n} not hashed when hunted (not checked)"),
            }
        );
    }
    let head = head.map_or("empty".into(), |h| {
        format!("head seq {} sha256 {}", h.seq, h.hash)
    });
    let signed = entries.iter().filter(|e| e.signature.is_some()).count();
    Ok(Verdict {
        intact: true,
        line: format!(
            "intact, {} entries ({signed} signed), {head}{checked}",
            entries.len()
        ),
    })
}

/// Reads an export: the entries, or the first line that is not one (a verdict, since an
/// export is untrusted input and malformed is just another way of being tampered with).
fn read_export(path: &Path) -> anyhow::Result<Result<Vec<Entry>, Break>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut entries = Vec::new();
    let lines = bytes.split(|b| *b == b'\n');
    for (i, line) in lines.filter(|l| !l.trim_ascii().is_empty()).enumerate() {
        match serde_json::from_slice(line) {
            Ok(e) => entries.push(e),
            Err(e) => {
                return Ok(Err(Break {
                    position: i as u64 + 1,
                    claimed_seq: None,
                    problem: format!("not a ledger entry ({e})"),
                }));
            }
        }
    }
    if entries.is_empty() {
        // Every case's ledger begins with `case.opened`: an empty export proves nothing, and
        // "intact, 0 entries" would read as a pass.
        return Ok(Err(Break {
            position: 1,
            claimed_seq: None,
            problem: "the export holds no entries (a case's ledger begins with case.opened)".into(),
        }));
    }
    Ok(Ok(entries))
}

/// The case's ledger as JSON Lines (what a third party verifies), and how many entries.
pub fn export(ctx: &Context, case: &str) -> anyhow::Result<(String, usize)> {
    let entries = ctx.store()?.ledger(case)?;
    let mut text = String::new();
    for e in &entries {
        text.push_str(&serde_json::to_string(e)?);
        text.push('\n');
    }
    Ok((text, entries.len()))
}

/// A file to record as evidence.
pub struct EvidenceFile {
    pub case: String,
    pub file: PathBuf,
    pub description: String,
    pub source: Option<String>,
}

/// Hashes a file and records it on the case; `progress(done, total)` is told as it hashes.
pub fn add_evidence(
    ctx: &Context,
    req: EvidenceFile,
    progress: &mut dyn FnMut(u64, u64),
) -> anyhow::Result<Evidence> {
    let mut store = ctx.store()?;
    store.case(&req.case)?; // fail before reading a large file for nothing
    let path = existing_file(&req.file, "evidence file")?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let (sha256, size) = squall_case::hash::sha256_file(&path, &mut |n| progress(n, size))
        .map_err(anyhow::Error::msg)?;
    let shown = path.display().to_string();
    Ok(store.add_evidence(
        &req.case,
        &ctx.actor,
        &NewEvidence {
            path: shown.clone(),
            sha256,
            size,
            description: req.description,
            source: req.source,
            stored_at: shown,
        },
    )?)
}

/// A case moved to a later phase: the ledger entry that records it, and the tasks still open
/// at a phase by which they should be done (recovered, closed), which the front end warns of.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub seq: u64,
    pub open_tasks: Vec<Task>,
}

/// The phases a case should reach with its tasks done: recovery means the estate is back,
/// and a closed case's open tasks are forgotten.
const TASKS_DONE_BY: [&str; 2] = ["recovered", "closed"];

/// `case status` / `case close`: moves the case on. Moving to recovered or closed with tasks
/// still open is reported in the result; with `strict` it is refused and nothing is recorded.
pub fn set_status(
    ctx: &Context,
    case: &str,
    status: &str,
    reason: &str,
    strict: bool,
) -> anyhow::Result<StatusChange> {
    let mut store = ctx.store()?;
    let open_tasks: Vec<Task> = if TASKS_DONE_BY.contains(&status) {
        // The tasks as the ledger tells them, not as a table may have been edited to say.
        CaseFile::load(&store, case)?
            .tasks
            .into_iter()
            .filter(|t| !t.done)
            .collect()
    } else {
        Vec::new()
    };
    if strict && !open_tasks.is_empty() {
        bail!(
            "{case}: not moved to {status}: {} (help: finish them with `squall case done {case} \
             N --result ...`, or move on without --strict)",
            open_tasks_line(&open_tasks)
        );
    }
    let entry = store.set_status(case, &ctx.actor, status, reason)?;
    Ok(StatusChange {
        seq: entry.seq,
        open_tasks,
    })
}

/// `N task(s) still open: #2 "Ask the owner" (carol), #3 ...`, for warnings and refusals.
pub fn open_tasks_line(tasks: &[Task]) -> String {
    let each: Vec<String> = tasks
        .iter()
        .map(|t| match &t.owner {
            Some(owner) => format!("#{} \"{}\" ({owner})", t.id, t.text),
            None => format!("#{} \"{}\"", t.id, t.text),
        })
        .collect();
    format!("{} task(s) still open: {}", tasks.len(), each.join(", "))
}

/// The absolute, canonical path of a file that must exist, so what is recorded reads the
/// same from any folder; a missing file is said plainly, with where it was looked for.
fn existing_file(file: &Path, what: &str) -> anyhow::Result<PathBuf> {
    match std::fs::canonicalize(file) {
        Ok(path) if path.is_file() => Ok(path),
        Ok(path) => {
            let kind = std::fs::metadata(&path)
                .map(|m| squall_case::hash::file_kind(&m))
                .unwrap_or("not a file");
            bail!("{what} {} is {kind}, not a regular file", path.display())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let looked = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
            bail!(
                "{what} {} does not exist (looked for {}); nothing was recorded",
                file.display(),
                looked.display()
            )
        }
        Err(e) => Err(e).with_context(|| format!("{what} {}", file.display())),
    }
}

/// What an inventory file held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub accounts: usize,
    pub resources: usize,
}

/// Imports an inventory file (YAML or TOML): its accounts, and its resources with their
/// tags. The inventory's log records the file by its absolute path.
pub fn import_inventory(ctx: &Context, file: &Path) -> anyhow::Result<Imported> {
    let path = existing_file(file, "inventory file")?;
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let inventory = squall_case::inventory::parse(file, &text).map_err(anyhow::Error::msg)?;
    let accounts = ctx.store()?.import_resources(
        &ctx.actor,
        &path.display().to_string(),
        &inventory.accounts,
        &inventory.resources,
    )?;
    Ok(Imported {
        accounts,
        resources: inventory.resources.len(),
    })
}

/// The accounts one inventory run stores. The inventory is read (and its log checked) once, at
/// the start: read again for every account, an organization of 500 projects re-read a log
/// growing by one entry each time.
pub(crate) struct AccountStore<'a> {
    store: squall_case::SqliteStore,
    actor: &'a str,
    /// `aws-api`, `gcp-api`: the reader, in the inventory's log.
    source: &'static str,
    /// What the inventory's log holds, by provider and id, as this run leaves it.
    known: std::collections::HashMap<(squall_core::Provider, String), squall_core::Asset>,
}

impl<'a> AccountStore<'a> {
    pub(crate) fn open(ctx: &'a Context, source: &'static str) -> anyhow::Result<Self> {
        let store = ctx.store()?;
        // The hand-written fields kept are the inventory's log's, not an edited table's.
        let known = store
            .inventory_checked()?
            .assets
            .into_iter()
            .map(|a| ((a.provider, a.id.clone()), a))
            .collect();
        Ok(AccountStore {
            store,
            actor: &ctx.actor,
            source,
            known,
        })
    }

    /// Merges what the API knows into the stored record, keeping what the team wrote by
    /// hand, and records the account's instances with their tags (triage reads their
    /// environment).
    pub(crate) fn put(
        &mut self,
        found: squall_core::Asset,
        resources: &[squall_core::Resource],
    ) -> anyhow::Result<()> {
        let key = (found.provider, found.id.clone());
        let mut asset = self
            .known
            .get(&key)
            .cloned()
            .unwrap_or_else(|| found.clone());
        asset.merge_from(found);
        self.store.import_resources(
            self.actor,
            self.source,
            std::slice::from_ref(&asset),
            resources,
        )?;
        self.known.insert(key, asset);
        Ok(())
    }
}

/// When the compromise began, as far as the case knows: its earliest detection's event time.
pub(crate) fn compromised_at(file: &squall_case::CaseFile) -> Option<String> {
    file.detections
        .iter()
        .filter_map(|d| d.event_time.clone())
        .reduce(|a, b| {
            if squall_case::casefile::earlier(&b, &a) {
                b
            } else {
                a
            }
        })
}

/// The inventory as its hash-chained log tells it, with the problems of an edited table.
pub fn inventory(ctx: &Context) -> anyhow::Result<CheckedInventory> {
    Ok(ctx.store()?.inventory_checked()?)
}

/// Triage, recorded in the ledger: the case file (with the inventory's checks added to its
/// integrity), the triage, and the ledger entry that holds it.
pub fn triage(ctx: &Context, case: &str) -> anyhow::Result<(CaseFile, Triage, u64)> {
    let mut store = ctx.store()?;
    let mut file = CaseFile::load(&store, case)?;
    // The answers come from the inventory as its log tells it; an edited table is named.
    let inventory = store.inventory_checked()?;
    file.integrity.failures.extend(inventory.failures);
    file.integrity.unchecked.extend(inventory.unchecked);
    let t = squall_case::triage::triage(&file.detections, &inventory.assets, &inventory.resources);
    let entry = store.record_triage(case, &ctx.actor, &t.severity, serde_json::to_value(&t)?)?;
    Ok((file, t, entry.seq))
}

/// The postmortem's two forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Html,
}

/// The postmortem: the rendered report, the case file it was built from (for its integrity)
/// and the problems met re-reading the hunted logs.
pub fn report(
    ctx: &Context,
    case: &str,
    format: ReportFormat,
) -> anyhow::Result<(String, CaseFile, Vec<Warning>)> {
    let store = ctx.store()?;
    let mut file = CaseFile::load(&store, case)?;
    let activity = activity::activity(&mut file, &DEFAULT_PIVOTS, Window::default());
    let input = ReportInput {
        file: &file,
        timeline: &activity.events,
    };
    let rendered = match format {
        ReportFormat::Markdown => report::markdown(&input),
        ReportFormat::Html => report::html(&input),
    };
    Ok((rendered, file, activity.warnings))
}
