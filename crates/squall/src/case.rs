//! The case verbs' front end: `case`, `ledger`, `evidence`, `inventory import|list`, `triage`,
//! `report`, `timeline`, `scope`, `key`. The work is `squall_flow`'s; this prints it. Every
//! view of a case says a failed integrity check first and exits 1.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context as _;
use squall_case::signing::AnalystKey;
use squall_case::timeline::{self, Pivot};
use squall_case::{Case, NewCase, Store};
use squall_core::text;
use squall_flow::Context;
use squall_flow::activity::{self, Activity, DEFAULT_PIVOTS, Span};
use squall_flow::case as flow;

use crate::cli::{
    CaseCommand, EvidenceCommand, Format, InventoryCommand, LedgerCommand, ReportFormat,
    TimelineArgs, TimelineFormat,
};
use crate::render::{self, banner, banner_stderr, format_or_default, view_exit};
use crate::{exit, render::csv_row};

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

fn print_cases(cases: &[Case], format: Format) -> anyhow::Result<()> {
    let header = ["id", "status", "severity", "owner", "created_at", "title"];
    render::rows(
        format,
        cases,
        &header,
        |c| {
            let cells = [
                &c.id,
                &c.status,
                opt(&c.severity),
                opt(&c.owner),
                &c.created_at,
            ];
            let mut cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
            cells.push(c.title.clone());
            cells
        },
        |out| {
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
            Ok(())
        },
    )
}

fn show(ctx: &Context, id: &str, format: Format) -> anyhow::Result<u8> {
    let (file, affected) = flow::show(ctx, id)?;
    let (case, detections, evidence, tasks) =
        (&file.case, &file.detections, &file.evidence, &file.tasks);
    let mut out = std::io::stdout().lock();
    if format != Format::Table {
        let doc = flow::show_json(&file, &affected);
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        banner_stderr(&file.integrity);
        return Ok(view_exit(&file.integrity));
    }
    banner(&mut out, &file.integrity)?;
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
    let verified = if file.integrity.verified() {
        " (verified)"
    } else {
        " (NOT VERIFIED, see above)"
    };
    writeln!(
        out,
        "ledger: {} entries, head {}{verified}",
        case.head_seq, case.head_hash
    )?;
    writeln!(out, "\ndetections ({}):", detections.len())?;
    // Numbered as `timeline --around N` counts them.
    for (n, d) in detections.iter().enumerate() {
        writeln!(
            out,
            "  {:<4} {}  {:<8} {}  {}",
            format!("#{}", n + 1),
            o(&d.event_time),
            t(&d.level),
            t(&d.title),
            text::terminal_or_dash(
                d.finding
                    .as_ref()
                    .and_then(|f| f.fields.principal.as_deref())
            )
        )?;
    }
    writeln!(out, "\naffected ({}):", affected.len())?;
    for a in &affected {
        let regions: Vec<_> = a.regions.iter().map(|r| t(r)).collect();
        writeln!(out, "  {}  {}", t(&a.account), regions.join(", "))?;
    }
    writeln!(out, "\ntasks ({}):", tasks.len())?;
    for task in tasks {
        let mark = if task.done { "x" } else { " " };
        let (id, text, owner) = (task.id, t(&task.text), o(&task.owner));
        writeln!(out, "  [{mark}] {id} {text}  ({owner})")?;
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
    let store = || ctx.store();
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
            let case = store()?.open_case(&ctx.actor, &new)?;
            match format_or_default(format) {
                Format::Table => println!("{}", case.id),
                f => print_cases(&[case], f)?,
            }
        }
        CaseCommand::List { format } => {
            // Each case as its ledger tells it; a case whose checks fail is named first.
            let list = flow::list(ctx)?;
            let format = format_or_default(format);
            for f in &list.failed {
                if format == Format::Table {
                    println!("{}", text::terminal(f));
                }
                say!("squall: {}", text::terminal(f));
            }
            if format == Format::Table && !list.failed.is_empty() {
                println!();
            }
            print_cases(&list.cases, format)?;
            if !list.failed.is_empty() {
                return Ok(exit::TAMPERED);
            }
        }
        CaseCommand::Show { case, format } => {
            return show(ctx, &case, format_or_default(format));
        }
        CaseCommand::Note { case, text, lesson } => {
            let e = store()?.note(&case, &ctx.actor, &text, lesson)?;
            say!("{case}: note recorded as ledger entry {}", e.seq);
        }
        CaseCommand::Task { case, text, owner } => {
            let t = store()?.add_task(&case, &ctx.actor, &text, owner.as_deref())?;
            say!("{case}: task {} added", t.id);
        }
        CaseCommand::Done { case, task, result } => {
            let e = store()?.finish_task(&case, &ctx.actor, task, &result)?;
            say!("{case}: task {task} done (ledger entry {})", e.seq);
        }
        CaseCommand::Assign { case, owner } => {
            let e = store()?.assign(&case, &ctx.actor, &owner)?;
            say!("{case}: assigned to {owner} (ledger entry {})", e.seq);
        }
        CaseCommand::Status {
            case,
            status,
            reason,
            strict,
        } => move_case(ctx, &case, &status, &reason, strict)?,
        CaseCommand::Close {
            case,
            reason,
            strict,
        } => move_case(ctx, &case, "closed", &reason, strict)?,
    }
    Ok(exit::OK)
}

/// `case status` and `case close`: the move, and a warning naming the tasks left open.
fn move_case(
    ctx: &Context,
    case: &str,
    status: &str,
    reason: &str,
    strict: bool,
) -> anyhow::Result<()> {
    let change = flow::set_status(ctx, case, status, reason, strict)?;
    if !change.open_tasks.is_empty() {
        say!(
            "warning: {case}: {status} with {}",
            flow::open_tasks_line(&change.open_tasks)
        );
    }
    say!("{case}: {status} (ledger entry {})", change.seq);
    Ok(())
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
            let (name, which) = match (&case, &file) {
                (Some(id), _) => (id.clone(), flow::Ledger::Case(id)),
                (None, Some(path)) => (path.display().to_string(), flow::Ledger::Export(path)),
                (None, None) => anyhow::bail!("give a case or --file"),
            };
            let policy = squall_case::SignaturePolicy {
                require_signed,
                signers: signer,
            };
            let verdict = flow::verify(ctx, which, expect_head, &policy)?;
            println!("{}", text::terminal(&format!("{name}: {}", verdict.line)));
            Ok(if verdict.intact {
                exit::OK
            } else {
                exit::TAMPERED
            })
        }
        LedgerCommand::Export { case, output } => {
            let (text, entries) = flow::export(ctx, &case)?;
            match output {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    say!(
                        "{case}: {entries} ledger entries written to {}",
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
    let EvidenceCommand::Add {
        case,
        file,
        description,
        source,
    } = cmd;
    let req = flow::EvidenceFile {
        case: case.clone(),
        file,
        description,
        source,
    };
    // A bar only for files that take a while to hash, and only for a person watching.
    let mut bar: Option<Option<indicatif::ProgressBar>> = None;
    let item = flow::add_evidence(ctx, req, &mut |done, size| {
        let bar = bar.get_or_insert_with(|| {
            (std::io::stderr().is_terminal() && size > 64 << 20).then(|| {
                indicatif::ProgressBar::new(size).with_style(
                    indicatif::ProgressStyle::with_template(
                        "hashing [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .expect("valid template"),
                )
            })
        });
        if let Some(b) = bar {
            b.set_position(done);
        }
    });
    if let Some(Some(b)) = bar {
        b.finish_and_clear();
    }
    let item = item?;
    println!("{}  {}", item.sha256, text::terminal(&item.path));
    say!(
        "{case}: evidence #{} recorded ({} bytes, ledger entry {})",
        item.id,
        item.size,
        item.ledger_seq
    );
    Ok(exit::OK)
}

pub fn inventory(
    ctx: &Context,
    config: &crate::config::Config,
    cmd: InventoryCommand,
) -> anyhow::Result<u8> {
    match cmd {
        InventoryCommand::Import { file } => {
            let n = flow::import_inventory(ctx, &file)?;
            match n.resources {
                0 => say!("{} account(s) imported from {}", n.accounts, file.display()),
                r => say!(
                    "{} account(s) and {r} resource(s) imported from {}",
                    n.accounts,
                    file.display()
                ),
            }
            Ok(exit::OK)
        }
        InventoryCommand::Aws(args) => crate::aws::inventory(ctx, &config.aws, args),
        InventoryCommand::Gcp(args) => crate::gcp::inventory(ctx, &config.gcp, args),
        InventoryCommand::List { format } => {
            let checked = flow::inventory(ctx)?;
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
            let name = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            let env = |a: &squall_core::Asset| a.env.map(|e| format!("{e:?}").to_lowercase());
            render::rows(
                format,
                &assets,
                &["provider", "id", "name", "env", "owner"],
                |a| {
                    let (p, n, o) = (a.provider.name(), name(a.name.clone()), opt(&a.owner));
                    vec![p.into(), a.id.clone(), n, name(env(a)), o.into()]
                },
                |out| {
                    for a in &assets {
                        writeln!(
                            out,
                            "{:<6} {:<14} {:<24} {:<8} {}",
                            a.provider.name(),
                            text::terminal(&a.id),
                            text::terminal(opt(&a.name)),
                            opt(&env(a)),
                            text::terminal(opt(&a.owner))
                        )?;
                    }
                    Ok(())
                },
            )?;
            Ok(if failed.is_some() {
                exit::TAMPERED
            } else {
                exit::OK
            })
        }
    }
}

pub fn triage(ctx: &Context, case: &str, format: Option<Format>) -> anyhow::Result<u8> {
    let (file, t, seq) = flow::triage(ctx, case)?;
    let x = |s: &str| text::terminal(s).into_owned();
    match format_or_default(format) {
        Format::Table => {
            let mut out = std::io::stdout().lock();
            banner(&mut out, &file.integrity)?;
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
            banner_stderr(&file.integrity);
            println!("{}", serde_json::to_string_pretty(&t)?)
        }
    }
    say!("{case}: triage recorded as ledger entry {seq}");
    Ok(view_exit(&file.integrity))
}

pub fn report(
    ctx: &Context,
    case: &str,
    format: ReportFormat,
    output: Option<&Path>,
) -> anyhow::Result<u8> {
    let format = match format {
        ReportFormat::Md => flow::ReportFormat::Markdown,
        ReportFormat::Html => flow::ReportFormat::Html,
    };
    let (rendered, file, warnings) = flow::report(ctx, case, format)?;
    render::warnings(&warnings);
    match output {
        Some(path) => {
            std::fs::write(path, rendered)
                .with_context(|| format!("writing {}", path.display()))?;
            say!("{case}: report written to {}", path.display());
        }
        None => std::io::stdout().lock().write_all(rendered.as_bytes())?,
    }
    banner_stderr(&file.integrity);
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
            let key = AnalystKey::load(&file).map_err(anyhow::Error::msg)?;
            println!("{}", key.public_hex());
        }
    }
    Ok(exit::OK)
}

/// The case's actors' activity, its re-read warnings shown.
fn activity(
    ctx: &Context,
    case: &str,
    pivots: &[Pivot],
    span: Option<Span<'_>>,
) -> anyhow::Result<(squall_case::CaseFile, Activity)> {
    let (file, activity) = activity::of_case(ctx, case, pivots, span)?;
    render::warnings(&activity.warnings);
    Ok((file, activity))
}

pub fn timeline(ctx: &Context, args: TimelineArgs) -> anyhow::Result<u8> {
    let pivots = if args.pivot.is_empty() {
        DEFAULT_PIVOTS.to_vec()
    } else {
        args.pivot.clone()
    };
    let span = Span {
        around: args.around.as_deref(),
        before: &args.before,
        after: &args.after,
    };
    let (file, activity) = self::activity(ctx, &args.case, &pivots, Some(span))?;
    let events = &activity.events;
    let format = args.format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            TimelineFormat::Table
        } else {
            TimelineFormat::Jsonl
        },
    );
    let mut out = Vec::new();
    if format == TimelineFormat::Table {
        banner(&mut out, &file.integrity)?;
    } else {
        // JSON Lines and CSV rows are for tools (Timesketch refuses a row that is not an
        // event), so the warning goes to stderr and the exit code; HTML shows it on the page.
        banner_stderr(&file.integrity);
    }
    match format {
        TimelineFormat::Table => {
            for e in events {
                let mark = if e.detections.is_empty() { " " } else { "!" };
                let (time, message) = (text::terminal(&e.time), timeline::message(e));
                writeln!(out, "{mark} {time:<26} {}", text::terminal(&message))?;
            }
            if events.is_empty() {
                writeln!(out, "No events of the case's actors in the window.")?;
            }
        }
        TimelineFormat::Jsonl | TimelineFormat::Timesketch => {
            for e in events {
                match format {
                    TimelineFormat::Jsonl => serde_json::to_writer(&mut out, e)?,
                    _ => serde_json::to_writer(&mut out, &timeline::timesketch_row(e))?,
                }
                out.push(b'\n');
            }
        }
        TimelineFormat::Csv | TimelineFormat::TimesketchCsv => {
            let mut w = csv::Writer::from_writer(&mut out);
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
                csv_row(
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
        TimelineFormat::Html => {
            out.extend_from_slice(activity::html(&file, &activity, &pivots).as_bytes())
        }
    }
    match &args.output {
        Some(path) => {
            std::fs::write(path, &out).with_context(|| format!("writing {}", path.display()))?;
            let (case, n) = (&args.case, events.len());
            say!("{case}: {n} events written to {}", path.display());
        }
        None => std::io::stdout().lock().write_all(&out)?,
    }
    Ok(view_exit(&file.integrity))
}
