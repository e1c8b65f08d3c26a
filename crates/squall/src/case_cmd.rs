//! `squall case`, `squall ledger`, `squall evidence`: the verbs over the case store.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use squall_case::signing::AnalystKey;
use squall_case::text;
use squall_case::{Case, CaseFile, Entry, NewCase, NewEvidence, SqliteStore, Store};

use crate::cli::{
    CaseCommand, EvidenceCommand, Format, InventoryCommand, LedgerCommand, ReportFormat,
};
use crate::exit;

/// Who acts and where the store is: resolved once per run.
pub struct Context {
    pub home: PathBuf,
    pub actor: String,
    pub sign_key: Option<PathBuf>,
}

impl Context {
    pub fn new(
        home: Option<&Path>,
        actor: Option<String>,
        sign_key: Option<PathBuf>,
    ) -> anyhow::Result<Context> {
        let home = squall_case::home::resolve(home)
            .context("no home directory (help: set --home or SQUALL_HOME)")?;
        let actor = actor
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(default_actor);
        Ok(Context {
            home,
            actor,
            sign_key,
        })
    }

    pub fn store(&self) -> anyhow::Result<SqliteStore> {
        let mut store = SqliteStore::open(&squall_case::home::store_path(&self.home))?;
        if let Some(path) = &self.sign_key {
            store.sign_with(AnalystKey::load(path).map_err(anyhow::Error::msg)?);
        }
        Ok(store)
    }
}

/// `$USER@hostname`: who ran the command, as the ledger records it.
fn default_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host}")
}

pub fn format_or_default(format: Option<Format>) -> Format {
    format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    })
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

fn print_cases(cases: &[Case], format: Format) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(cases)?)?,
        Format::Jsonl => {
            for c in cases {
                writeln!(out, "{}", serde_json::to_string(c)?)?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["id", "status", "severity", "owner", "created_at", "title"])?;
            for c in cases {
                crate::output::csv_row(
                    &mut w,
                    [
                        c.id.as_str(),
                        &c.status,
                        opt(&c.severity),
                        opt(&c.owner),
                        &c.created_at,
                        &c.title,
                    ],
                )?;
            }
            w.flush()?;
        }
        Format::Table => {
            if cases.is_empty() {
                writeln!(out, "No cases. (help: `squall case new --title ...`)")?;
            }
            for c in cases {
                writeln!(
                    out,
                    "{:<8} {:<10} {:<9} {:<16} {}  {}",
                    text::terminal(&c.id),
                    text::terminal(&c.status),
                    text::terminal(opt(&c.severity)),
                    text::terminal(opt(&c.owner)),
                    text::terminal(&c.created_at.chars().take(19).collect::<String>()),
                    text::terminal(&c.title)
                )?;
            }
        }
    }
    Ok(())
}

/// Says a failed integrity check at the top of a table (stdout, where the reader looks) and on
/// stderr (where a script's operator looks when stdout goes to a file).
pub fn print_banner(
    out: &mut dyn Write,
    integrity: &squall_case::Integrity,
) -> std::io::Result<()> {
    if let Some(banner) = integrity.banner() {
        let banner = text::terminal(&banner);
        writeln!(out, "{banner}\n")?;
        say!("squall: {banner}");
    }
    Ok(())
}

/// The exit code of a view: TAMPERED when the case did not verify.
pub fn view_exit(integrity: &squall_case::Integrity) -> u8 {
    if integrity.verified() {
        exit::OK
    } else {
        exit::TAMPERED
    }
}

fn show(store: &SqliteStore, id: &str, format: Format) -> anyhow::Result<u8> {
    let file = CaseFile::load(store, id)?;
    let (case, detections, evidence, tasks) =
        (&file.case, &file.detections, &file.evidence, &file.tasks);
    // Affected assets: the accounts (and regions) the detections name.
    let mut affected: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for d in detections {
        if let Some(account) = d.detection["account"].as_str() {
            let regions = affected.entry(account.to_string()).or_default();
            regions.extend(d.detection["region"].as_str().map(str::to_string));
        }
    }
    let mut out = std::io::stdout().lock();
    if format != Format::Table {
        let notes: Vec<_> = file
            .notes
            .iter()
            .map(|n| serde_json::json!({"time": n.time, "actor": n.actor, "text": n.text}))
            .collect();
        let affected: Vec<_> = affected
            .iter()
            .map(|(a, r)| serde_json::json!({"account": a, "regions": r}))
            .collect();
        let doc = serde_json::json!({
            "integrity": file.integrity,
            "case": case, "affected": affected, "detections": detections, "evidence": evidence,
            "tasks": tasks, "notes": notes,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        if let Some(banner) = file.integrity.banner() {
            say!("squall: {}", text::terminal(&banner));
        }
        return Ok(view_exit(&file.integrity));
    }
    print_banner(&mut out, &file.integrity)?;
    let t = |s: &str| text::terminal(s).into_owned();
    let o = |v: &Option<String>| text::terminal_or_dash(v.as_deref()).into_owned();
    writeln!(out, "{}  {}", case.id, t(&case.title))?;
    writeln!(
        out,
        "status {}  severity {}  owner {}",
        t(&case.status),
        o(&case.severity),
        o(&case.owner)
    )?;
    for (phase, time) in [
        ("opened", Some(&case.created_at)),
        ("identified", case.identified_at.as_ref()),
        ("triaged", case.triaged_at.as_ref()),
        ("contained", case.contained_at.as_ref()),
        ("recovered", case.recovered_at.as_ref()),
        ("closed", case.closed_at.as_ref()),
    ] {
        if let Some(time) = time {
            writeln!(out, "  {phase:<11} {}", t(time))?;
        }
    }
    writeln!(
        out,
        "ledger: {} entries, head {}{}",
        case.head_seq,
        case.head_hash,
        if file.integrity.verified() {
            " (verified)"
        } else {
            " (NOT VERIFIED, see above)"
        }
    )?;
    writeln!(out, "\ndetections ({}):", detections.len())?;
    for d in detections {
        writeln!(
            out,
            "  {}  {:<8} {}  {}",
            o(&d.event_time),
            t(&d.level),
            t(&d.title),
            text::terminal_or_dash(d.detection["principal"].as_str())
        )?;
    }
    writeln!(out, "\naffected ({}):", affected.len())?;
    for (account, regions) in &affected {
        let regions: Vec<_> = regions.iter().map(|r| t(r)).collect();
        writeln!(out, "  {}  {}", t(account), regions.join(", "))?;
    }
    writeln!(out, "\ntasks ({}):", tasks.len())?;
    for task in tasks {
        let mark = if task.done { "x" } else { " " };
        writeln!(
            out,
            "  [{mark}] {} {}  ({})",
            task.id,
            t(&task.text),
            o(&task.owner)
        )?;
    }
    writeln!(out, "\nevidence ({}):", evidence.len())?;
    for e in evidence {
        writeln!(
            out,
            "  #{} {}  {} bytes  sha256 {}  ({})",
            e.id,
            t(&e.path),
            e.size,
            t(&e.sha256),
            t(&e.description)
        )?;
    }
    writeln!(out, "\nnotes ({}):", file.notes.len())?;
    for n in &file.notes {
        writeln!(out, "  {} {}: {}", t(&n.time), t(&n.actor), t(&n.text))?;
    }
    Ok(view_exit(&file.integrity))
}

pub fn case(ctx: &Context, cmd: CaseCommand) -> anyhow::Result<u8> {
    let mut store = ctx.store()?;
    match cmd {
        CaseCommand::New {
            title,
            severity,
            owner,
            format,
        } => {
            let new = NewCase {
                title,
                severity: severity.map(|s| s.name().to_string()),
                owner,
            };
            let case = store.open_case(&ctx.actor, &new)?;
            match format_or_default(format) {
                Format::Table => println!("{}", case.id),
                f => print_cases(&[case], f)?,
            }
        }
        CaseCommand::List { format } => {
            // Each case as its ledger tells it; a case whose checks fail is named first.
            let mut cases = Vec::new();
            let mut failed = Vec::new();
            for row in store.cases()? {
                let file = CaseFile::load(&store, &row.id)?;
                if let Some(banner) = file.integrity.banner() {
                    failed.push(format!("{}: {banner}", row.id));
                }
                cases.push(file.case);
            }
            let format = format_or_default(format);
            for f in &failed {
                if format == Format::Table {
                    println!("{}", text::terminal(f));
                }
                say!("squall: {}", text::terminal(f));
            }
            if format == Format::Table && !failed.is_empty() {
                println!();
            }
            print_cases(&cases, format)?;
            if !failed.is_empty() {
                return Ok(exit::TAMPERED);
            }
        }
        CaseCommand::Show { case, format } => {
            return show(&store, &case, format_or_default(format));
        }
        CaseCommand::Note { case, text, lesson } => {
            let e = store.note(&case, &ctx.actor, &text, lesson)?;
            say!("{case}: note recorded as ledger entry {}", e.seq);
        }
        CaseCommand::Task { case, text, owner } => {
            let t = store.add_task(&case, &ctx.actor, &text, owner.as_deref())?;
            say!("{case}: task {} added", t.id);
        }
        CaseCommand::Done { case, task, result } => {
            let e = store.finish_task(&case, &ctx.actor, task, &result)?;
            say!("{case}: task {task} done (ledger entry {})", e.seq);
        }
        CaseCommand::Assign { case, owner } => {
            let e = store.assign(&case, &ctx.actor, &owner)?;
            say!("{case}: assigned to {owner} (ledger entry {})", e.seq);
        }
        CaseCommand::Status {
            case,
            status,
            reason,
        } => {
            let e = store.set_status(&case, &ctx.actor, &status, &reason)?;
            say!("{case}: {status} (ledger entry {})", e.seq);
        }
        CaseCommand::Close { case, reason } => {
            let e = store.set_status(&case, &ctx.actor, "closed", &reason)?;
            say!("{case}: closed (ledger entry {})", e.seq);
        }
    }
    Ok(exit::OK)
}

/// Reads an export: the entries, or the first line that is not one (a verdict, since an
/// export is untrusted input and malformed is just another way of being tampered with).
fn read_export(path: &Path) -> anyhow::Result<Result<Vec<Entry>, squall_case::Break>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut entries = Vec::new();
    let lines = bytes.split(|b| *b == b'\n');
    for (i, line) in lines.filter(|l| !l.trim_ascii().is_empty()).enumerate() {
        match serde_json::from_slice(line) {
            Ok(e) => entries.push(e),
            Err(e) => {
                return Ok(Err(squall_case::Break {
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
        return Ok(Err(squall_case::Break {
            position: 1,
            claimed_seq: None,
            problem: "the export holds no entries (a case's ledger begins with case.opened)".into(),
        }));
    }
    Ok(Ok(entries))
}

pub fn ledger(ctx: &Context, cmd: LedgerCommand) -> anyhow::Result<u8> {
    match cmd {
        LedgerCommand::Verify {
            case,
            file,
            expect_head,
            require_signed,
            signer,
        } => {
            let (name, entries, mut head, store) = match (case, file) {
                (Some(id), _) => {
                    let store = ctx.store()?;
                    let c = store.case(&id)?;
                    let entries = store.ledger(&id)?;
                    (id, entries, c.head(), Some(store))
                }
                (None, Some(path)) => {
                    let name = text::terminal(&path.display().to_string()).into_owned();
                    match read_export(&path)? {
                        Ok(entries) => (name, entries, None, None),
                        Err(b) => {
                            println!("{name}: TAMPERED at {}", text::terminal(&b.to_string()));
                            return Ok(exit::TAMPERED);
                        }
                    }
                }
                (None, None) => bail!("give a case or --file"),
            };
            if let Some(hash) = expect_head {
                let seq = match &head {
                    Some(h) => h.seq,
                    None => entries
                        .iter()
                        .find(|e| e.hash == hash)
                        .map_or(u64::MAX, |e| e.seq),
                };
                head = Some(squall_case::Head { seq, hash });
            }
            let policy = squall_case::SignaturePolicy {
                require_signed,
                signers: signer,
            };
            let head = match squall_case::verify_signed(&entries, head.as_ref(), &policy) {
                Ok(head) => head,
                Err(b) => {
                    println!("{name}: TAMPERED at {}", text::terminal(&b.to_string()));
                    return Ok(exit::TAMPERED);
                }
            };
            // In the store, the ledger is also what the case's tables and hunted files are
            // checked against: verifying it verifies what `case show` and the report present.
            let mut checked = String::new();
            if let Some(store) = &store {
                let mut file = CaseFile::load(store, &name)?;
                let sources = file.sources.len();
                file.checked_sources();
                if let Some(first) = file.integrity.failures.first() {
                    println!(
                        "{name}: TAMPERED: {} (and {} more problem(s); `squall case show {name}` lists them)",
                        text::terminal(first),
                        file.integrity.failures.len() - 1
                    );
                    return Ok(exit::TAMPERED);
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
            println!(
                "{name}: intact, {} entries ({signed} signed), {head}{checked}",
                entries.len()
            );
            Ok(exit::OK)
        }
        LedgerCommand::Export { case, output } => {
            let store = ctx.store()?;
            let entries = store.ledger(&case)?;
            let mut text = String::new();
            for e in &entries {
                text.push_str(&serde_json::to_string(e)?);
                text.push('\n');
            }
            match output {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    say!(
                        "{case}: {} ledger entries written to {}",
                        entries.len(),
                        path.display()
                    );
                }
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
            Ok(exit::OK)
        }
    }
}

pub fn evidence(ctx: &Context, cmd: EvidenceCommand) -> anyhow::Result<u8> {
    match cmd {
        EvidenceCommand::Add {
            case,
            file,
            description,
            source,
        } => {
            let mut store = ctx.store()?;
            store.case(&case)?; // fail before reading a large file for nothing
            let path = std::fs::canonicalize(&file).with_context(|| {
                format!(
                    "evidence file {}",
                    text::terminal(&file.display().to_string())
                )
            })?;
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let bar = (std::io::stderr().is_terminal() && size > 64 << 20).then(|| {
                let bar = indicatif::ProgressBar::new(size);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "hashing [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .expect("valid template"),
                );
                bar
            });
            let hashed = squall_case::hash::sha256_file(&path, &mut |n| {
                if let Some(b) = &bar {
                    b.set_position(n);
                }
            });
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let (sha256, size) = hashed.map_err(anyhow::Error::msg)?;
            let shown = path.display().to_string();
            let item = store.add_evidence(
                &case,
                &ctx.actor,
                &NewEvidence {
                    path: shown.clone(),
                    sha256: sha256.clone(),
                    size,
                    description,
                    source,
                    stored_at: shown,
                },
            )?;
            println!("{sha256}  {}", text::terminal(&item.path));
            say!(
                "{case}: evidence #{} recorded ({} bytes, ledger entry {})",
                item.id,
                item.size,
                item.ledger_seq
            );
            Ok(exit::OK)
        }
    }
}

pub fn inventory(
    ctx: &Context,
    aws: &crate::config::AwsConfig,
    cmd: InventoryCommand,
) -> anyhow::Result<u8> {
    let mut store = ctx.store()?;
    match cmd {
        InventoryCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let assets = squall_case::inventory::parse(&file, &text).map_err(anyhow::Error::msg)?;
            let n = store.import_inventory(&ctx.actor, &file.display().to_string(), &assets)?;
            say!("{n} account(s) imported from {}", file.display());
        }
        InventoryCommand::Aws(args) => {
            return crate::aws_cmd::inventory(ctx, aws, &mut store, args);
        }
        InventoryCommand::List { format } => {
            let checked = store.inventory_checked()?;
            let assets = checked.assets;
            let format = format_or_default(format);
            let failed = (!checked.failures.is_empty()).then(|| {
                format!(
                    "INTEGRITY CHECK FAILED: {}",
                    text::terminal(&checked.failures.join("; "))
                )
            });
            if let Some(banner) = &failed {
                say!("squall: {banner}");
                if format == Format::Table {
                    println!("{banner}\n");
                }
            }
            match format {
                Format::Table => {
                    for a in &assets {
                        let env = a.env.map(|e| format!("{e:?}").to_lowercase());
                        println!(
                            "{:<6} {:<14} {:<24} {:<8} {}",
                            format!("{:?}", a.provider).to_lowercase(),
                            text::terminal(&a.id),
                            text::terminal(opt(&a.name)),
                            opt(&env),
                            text::terminal(opt(&a.owner))
                        );
                    }
                }
                Format::Jsonl => {
                    for a in &assets {
                        println!("{}", serde_json::to_string(a)?);
                    }
                }
                _ => println!("{}", serde_json::to_string_pretty(&assets)?),
            }
            if failed.is_some() {
                return Ok(exit::TAMPERED);
            }
        }
    }
    Ok(exit::OK)
}

pub fn triage(ctx: &Context, case: &str, format: Option<Format>) -> anyhow::Result<u8> {
    let mut store = ctx.store()?;
    let mut file = CaseFile::load(&store, case)?;
    // The answers come from the inventory as its log tells it; an edited table is named.
    let inventory = store.inventory_checked()?;
    file.integrity.failures.extend(inventory.failures);
    file.integrity.unchecked.extend(inventory.unchecked);
    let t = squall_case::triage::triage(&file.detections, &inventory.assets);
    let entry = store.record_triage(case, &ctx.actor, &t.severity, serde_json::to_value(&t)?)?;
    let x = |s: &str| text::terminal(s).into_owned();
    match format_or_default(format) {
        Format::Table => {
            let mut out = std::io::stdout().lock();
            print_banner(&mut out, &file.integrity)?;
            writeln!(out, "{case}: severity {}", x(&t.severity))?;
            for r in &t.reasons {
                writeln!(out, "  because {}", x(r))?;
            }
            for a in &t.assets {
                let name = a
                    .name
                    .as_deref()
                    .map(|n| format!(" ({})", x(n)))
                    .unwrap_or_default();
                writeln!(out, "\n{}{name}", x(&a.id))?;
                for f in &a.flags {
                    writeln!(out, "  ! {}", x(f))?;
                }
                for ans in &a.answers {
                    writeln!(out, "  {:<52} {}", x(ans.question), x(&ans.answer))?;
                }
                for q in &a.questions {
                    writeln!(out, "  {:<52} ? ask {}", x(q.question), x(&q.ask))?;
                }
            }
        }
        _ => {
            if let Some(banner) = file.integrity.banner() {
                say!("squall: {}", x(&banner));
            }
            println!("{}", serde_json::to_string_pretty(&t)?)
        }
    }
    say!("{case}: triage recorded as ledger entry {}", entry.seq);
    Ok(view_exit(&file.integrity))
}

pub fn report(
    ctx: &Context,
    case: &str,
    format: ReportFormat,
    output: Option<&Path>,
) -> anyhow::Result<u8> {
    use squall_case::report::{self, ReportInput};
    let store = ctx.store()?;
    let mut file = CaseFile::load(&store, case)?;
    let events = crate::timeline_cmd::activity(
        &mut file,
        &crate::timeline_cmd::DEFAULT_PIVOTS,
        squall_case::timeline::Window::default(),
    )
    .1;
    let input = ReportInput {
        file: &file,
        timeline: &events,
    };
    let rendered = match format {
        ReportFormat::Md => report::markdown(&input),
        ReportFormat::Html => report::html(&input),
    };
    match output {
        Some(path) => {
            std::fs::write(path, rendered)
                .with_context(|| format!("writing {}", path.display()))?;
            say!("{case}: report written to {}", path.display());
        }
        None => std::io::stdout().lock().write_all(rendered.as_bytes())?,
    }
    if let Some(banner) = file.integrity.banner() {
        say!("squall: {}", text::terminal(&banner));
    }
    Ok(view_exit(&file.integrity))
}

pub fn key(cmd: crate::cli::KeyCommand) -> anyhow::Result<u8> {
    match cmd {
        crate::cli::KeyCommand::Generate { output } => {
            let key = AnalystKey::generate().map_err(anyhow::Error::msg)?;
            key.save(&output).map_err(anyhow::Error::msg)?;
            println!("{}", key.public_hex());
            say!(
                "key written to {} (keep it private; give the public key above to verifiers)",
                output.display()
            );
        }
        crate::cli::KeyCommand::Show { file } => {
            println!(
                "{}",
                AnalystKey::load(&file)
                    .map_err(anyhow::Error::msg)?
                    .public_hex()
            );
        }
    }
    Ok(exit::OK)
}
