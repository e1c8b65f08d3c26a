//! `squall case`, `squall ledger`, `squall evidence`: the verbs over the case store.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use squall_case::signing::AnalystKey;
use squall_case::{Case, Entry, NewCase, NewEvidence, SqliteStore, Store, verify};

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
                w.write_record([
                    c.id.as_str(),
                    &c.status,
                    opt(&c.severity),
                    opt(&c.owner),
                    &c.created_at,
                    &c.title,
                ])?;
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
                    c.id,
                    c.status,
                    opt(&c.severity),
                    opt(&c.owner),
                    &c.created_at[..19.min(c.created_at.len())],
                    c.title
                )?;
            }
        }
    }
    Ok(())
}

fn show(store: &SqliteStore, id: &str, format: Format) -> anyhow::Result<()> {
    let case = store.case(id)?;
    let detections = store.detections(id)?;
    let evidence = store.evidence(id)?;
    let tasks = store.tasks(id)?;
    // Affected assets: the accounts (and regions) the detections name.
    let mut affected: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for d in &detections {
        if let Some(account) = d.detection["account"].as_str() {
            let regions = affected.entry(account.to_string()).or_default();
            regions.extend(d.detection["region"].as_str().map(str::to_string));
        }
    }
    let notes: Vec<Entry> = store
        .ledger(id)?
        .into_iter()
        .filter(|e| e.kind == "note")
        .collect();
    let mut out = std::io::stdout().lock();
    if format != Format::Table {
        let notes: Vec<_> = notes
            .iter()
            .map(|n| serde_json::json!({"time": n.time, "actor": n.actor, "text": n.payload["text"]}))
            .collect();
        let affected: Vec<_> = affected
            .iter()
            .map(|(a, r)| serde_json::json!({"account": a, "regions": r}))
            .collect();
        let doc = serde_json::json!({
            "case": case, "affected": affected, "detections": detections, "evidence": evidence,
            "tasks": tasks, "notes": notes,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    writeln!(out, "{}  {}", case.id, case.title)?;
    writeln!(
        out,
        "status {}  severity {}  owner {}",
        case.status,
        opt(&case.severity),
        opt(&case.owner)
    )?;
    for (phase, t) in [
        ("opened", Some(&case.created_at)),
        ("identified", case.identified_at.as_ref()),
        ("triaged", case.triaged_at.as_ref()),
        ("contained", case.contained_at.as_ref()),
        ("recovered", case.recovered_at.as_ref()),
        ("closed", case.closed_at.as_ref()),
    ] {
        if let Some(t) = t {
            writeln!(out, "  {phase:<11} {t}")?;
        }
    }
    writeln!(
        out,
        "ledger: {} entries, head {}",
        case.head_seq, case.head_hash
    )?;
    writeln!(out, "\ndetections ({}):", detections.len())?;
    for d in &detections {
        let principal = d.detection["principal"].as_str().unwrap_or("-");
        writeln!(
            out,
            "  {}  {:<8} {}  {principal}",
            opt(&d.event_time),
            d.level,
            d.title
        )?;
    }
    writeln!(out, "\naffected ({}):", affected.len())?;
    for (account, regions) in &affected {
        let regions: Vec<_> = regions.iter().map(String::as_str).collect();
        writeln!(out, "  {account}  {}", regions.join(", "))?;
    }
    writeln!(out, "\ntasks ({}):", tasks.len())?;
    for t in &tasks {
        let mark = if t.done { "x" } else { " " };
        writeln!(out, "  [{mark}] {} {}  ({})", t.id, t.text, opt(&t.owner))?;
    }
    writeln!(out, "\nevidence ({}):", evidence.len())?;
    for e in &evidence {
        writeln!(
            out,
            "  #{} {}  {} bytes  sha256 {}  ({})",
            e.id, e.path, e.size, e.sha256, e.description
        )?;
    }
    writeln!(out, "\nnotes ({}):", notes.len())?;
    for n in &notes {
        writeln!(
            out,
            "  {} {}: {}",
            n.time,
            n.actor,
            n.payload["text"].as_str().unwrap_or("")
        )?;
    }
    Ok(())
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
        CaseCommand::List { format } => print_cases(&store.cases()?, format_or_default(format))?,
        CaseCommand::Show { case, format } => show(&store, &case, format_or_default(format))?,
        CaseCommand::Note { case, text, lesson } => {
            let e = store.note(&case, &ctx.actor, &text, lesson)?;
            eprintln!("{case}: note recorded as ledger entry {}", e.seq);
        }
        CaseCommand::Task { case, text, owner } => {
            let t = store.add_task(&case, &ctx.actor, &text, owner.as_deref())?;
            eprintln!("{case}: task {} added", t.id);
        }
        CaseCommand::Done { case, task, result } => {
            let e = store.finish_task(&case, &ctx.actor, task, &result)?;
            eprintln!("{case}: task {task} done (ledger entry {})", e.seq);
        }
        CaseCommand::Assign { case, owner } => {
            let e = store.assign(&case, &ctx.actor, &owner)?;
            eprintln!("{case}: assigned to {owner} (ledger entry {})", e.seq);
        }
        CaseCommand::Status {
            case,
            status,
            reason,
        } => {
            let e = store.set_status(&case, &ctx.actor, &status, &reason)?;
            eprintln!("{case}: {status} (ledger entry {})", e.seq);
        }
        CaseCommand::Close { case, reason } => {
            let e = store.set_status(&case, &ctx.actor, "closed", &reason)?;
            eprintln!("{case}: closed (ledger entry {})", e.seq);
        }
    }
    Ok(exit::OK)
}

fn read_export(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a ledger entry", path.display(), i + 1))
        })
        .collect()
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
            let (name, entries, mut head) = match (case, file) {
                (Some(id), _) => {
                    let store = ctx.store()?;
                    let c = store.case(&id)?;
                    (id.clone(), store.ledger(&id)?, c.head())
                }
                (None, Some(path)) => (path.display().to_string(), read_export(&path)?, None),
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
            // Signatures present are checked by `verify`; here, whether they are required and
            // whose they may be.
            let unsigned = entries.iter().find(|e| e.signature.is_none());
            let stranger = entries.iter().find(|e| {
                !signer.is_empty()
                    && e.signer
                        .as_ref()
                        .is_some_and(|s| !signer.iter().any(|k| k.eq_ignore_ascii_case(s)))
            });
            match verify(&entries, head.as_ref()) {
                Ok(_) if require_signed && unsigned.is_some() => {
                    let seq = unsigned.map_or(0, |e| e.seq);
                    println!("{name}: TAMPERED at entry {seq}: not signed");
                    Ok(exit::DETECTED)
                }
                Ok(_) if stranger.is_some() => {
                    let seq = stranger.map_or(0, |e| e.seq);
                    println!(
                        "{name}: TAMPERED at entry {seq}: signed by a key not given with --signer"
                    );
                    Ok(exit::DETECTED)
                }
                Ok(head) => {
                    let head = head.map_or("empty".into(), |h| {
                        format!("head seq {} sha256 {}", h.seq, h.hash)
                    });
                    let signed = entries.iter().filter(|e| e.signature.is_some()).count();
                    println!(
                        "{name}: intact, {} entries ({signed} signed), {head}",
                        entries.len()
                    );
                    Ok(exit::OK)
                }
                Err(b) => {
                    println!("{name}: TAMPERED at {b}");
                    Ok(exit::DETECTED)
                }
            }
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
                    eprintln!(
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
            let path = std::fs::canonicalize(&file)
                .with_context(|| format!("evidence file {}", file.display()))?;
            let handle = std::fs::File::open(&path)
                .with_context(|| format!("opening {}", path.display()))?;
            let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
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
            let (sha256, size) = squall_case::hash::sha256_stream(handle, &mut |n| {
                if let Some(b) = &bar {
                    b.set_position(n);
                }
            })
            .with_context(|| format!("reading {}", path.display()))?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
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
            println!("{sha256}  {}", item.path);
            eprintln!(
                "{case}: evidence #{} recorded ({} bytes, ledger entry {})",
                item.id, item.size, item.ledger_seq
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
            eprintln!("{n} account(s) imported from {}", file.display());
        }
        InventoryCommand::Aws(args) => {
            return crate::aws_cmd::inventory(ctx, aws, &mut store, args);
        }
        InventoryCommand::List { format } => {
            let assets = store.inventory()?;
            match format_or_default(format) {
                Format::Table => {
                    for a in &assets {
                        let env = a.env.map(|e| format!("{e:?}").to_lowercase());
                        println!(
                            "{:<6} {:<14} {:<24} {:<8} {}",
                            format!("{:?}", a.provider).to_lowercase(),
                            a.id,
                            opt(&a.name),
                            opt(&env),
                            opt(&a.owner)
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
        }
    }
    Ok(exit::OK)
}

pub fn triage(ctx: &Context, case: &str, format: Option<Format>) -> anyhow::Result<u8> {
    let mut store = ctx.store()?;
    store.case(case)?;
    let detections = store.detections(case)?;
    let t = squall_case::triage::triage(&detections, &store.inventory()?);
    let entry = store.record_triage(case, &ctx.actor, &t.severity, serde_json::to_value(&t)?)?;
    match format_or_default(format) {
        Format::Table => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{case}: severity {}", t.severity)?;
            for r in &t.reasons {
                writeln!(out, "  because {r}")?;
            }
            for a in &t.assets {
                let name = a
                    .name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                writeln!(out, "\n{}{name}", a.id)?;
                for f in &a.flags {
                    writeln!(out, "  ! {f}")?;
                }
                for ans in &a.answers {
                    writeln!(out, "  {:<52} {}", ans.question, ans.answer)?;
                }
                for q in &a.questions {
                    writeln!(out, "  {:<52} ? ask {}", q.question, q.ask)?;
                }
            }
        }
        _ => println!("{}", serde_json::to_string_pretty(&t)?),
    }
    eprintln!("{case}: triage recorded as ledger entry {}", entry.seq);
    Ok(exit::OK)
}

pub fn report(
    ctx: &Context,
    case: &str,
    format: ReportFormat,
    output: Option<&Path>,
) -> anyhow::Result<u8> {
    use squall_case::report::{self, ReportInput};
    let store = ctx.store()?;
    let c = store.case(case)?;
    let ledger = store.ledger(case)?;
    let detections = store.detections(case)?;
    let evidence = store.evidence(case)?;
    let sources = store.sources(case)?;
    let events = if sources.is_empty() {
        Vec::new()
    } else {
        crate::timeline_cmd::activity(
            &sources,
            &detections,
            &crate::timeline_cmd::DEFAULT_PIVOTS,
            squall_case::timeline::Window::default(),
        )
        .1
    };
    let ledger_check = match verify(&ledger, c.head().as_ref()) {
        Ok(head) => Ok(head.map_or("empty".into(), |h| {
            format!("head seq {} sha256 {}", h.seq, h.hash)
        })),
        Err(b) => Err(b.to_string()),
    };
    let input = ReportInput {
        case: &c,
        ledger: &ledger,
        detections: &detections,
        evidence: &evidence,
        timeline: &events,
        ledger_check,
    };
    let text = match format {
        ReportFormat::Md => report::markdown(&input),
        ReportFormat::Html => report::html(&input),
    };
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{case}: report written to {}", path.display());
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(exit::OK)
}

pub fn key(cmd: crate::cli::KeyCommand) -> anyhow::Result<u8> {
    match cmd {
        crate::cli::KeyCommand::Generate { output } => {
            let key = AnalystKey::generate().map_err(anyhow::Error::msg)?;
            key.save(&output).map_err(anyhow::Error::msg)?;
            println!("{}", key.public_hex());
            eprintln!(
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
