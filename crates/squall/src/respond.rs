//! `squall respond`: shows the case's proposed response (proposing one first when there is
//! none), and records the analyst's approvals and skips.

use std::io::Write;

use squall_core::text;
use squall_flow::Context;
use squall_flow::proposal::{self, Carried, Current, Standing, Status};
use squall_flow::respond::{ImageProgress, Imaged};

use crate::cli::Format;
use crate::exit;
use crate::render::{self, format_or_default};

/// What the analyst said on the command line.
pub enum Word {
    /// Show the proposal, proposing one if the case has none.
    Show,
    Propose,
    Approve(String, Option<u32>),
    Skip {
        steps: String,
        reason: String,
        proposal: Option<u32>,
    },
    /// Carry out the approved steps (plans only without `yes`).
    Run {
        yes: bool,
        concurrency: usize,
        target: Box<squall_aws::Target>,
        /// Google Cloud's credentials, and the project its acquisitions go to.
        gcp: Box<squall_gcp::Target>,
        gcp_forensic_project: Option<String>,
        /// Where rotated keys' new secrets go; without it, rotation is left by hand.
        secrets: Option<std::path::PathBuf>,
    },
}

impl Word {
    pub fn of(
        propose: bool,
        approve: Option<String>,
        skip: Option<String>,
        reason: Option<String>,
        proposal: Option<u32>,
    ) -> Word {
        match (propose, approve, skip) {
            (true, ..) => Word::Propose,
            (_, Some(steps), _) => Word::Approve(steps, proposal),
            (_, _, Some(steps)) => Word::Skip {
                steps,
                reason: reason.unwrap_or_default(),
                proposal,
            },
            _ => Word::Show,
        }
    }
}

/// The command that carries out a step, shell-quoted, when a Squall verb does.
/// The response flags as the workflows take them (where they act is filled in once the
/// provider is reached).
pub fn response(r: &crate::cli::Response) -> squall_flow::respond::Response {
    squall_flow::respond::Response {
        case: r.case.clone(),
        approved: r.yes,
        concurrency: r.concurrency,
        place: Default::default(),
    }
}

fn command(s: &Standing, case: &str) -> Option<String> {
    let argv = match s.step.provider {
        squall_core::Provider::Aws => squall_aws::verbs::command_for(&s.step, case),
        squall_core::Provider::Gcp => squall_gcp::propose::command_for(&s.step, case),
        squall_core::Provider::Azure => None,
    };
    argv.map(|argv| render::shell_command(&argv))
}

fn status_word(s: &Status) -> String {
    match s {
        Status::Proposed => "proposed".into(),
        Status::Approved { by, .. } => format!("approved by {by}"),
        Status::Skipped { by, reason, .. } => format!("skipped by {by}: {reason}"),
        Status::Done { at } => format!("done {at}"),
    }
}

fn table(out: &mut dyn Write, case: &str, c: &Current) -> std::io::Result<()> {
    let count = |f: fn(&Status) -> bool| c.steps.iter().filter(|s| f(&s.status)).count();
    writeln!(
        out,
        "{case}: proposal {} by {} at {}: {} steps ({} approved, {} skipped, {} done)",
        c.proposal,
        text::terminal(&c.proposed_by),
        c.proposed_at,
        c.steps.len(),
        count(|s| matches!(s, Status::Approved { .. })),
        count(|s| matches!(s, Status::Skipped { .. })),
        count(|s| matches!(s, Status::Done { .. })),
    )?;
    let mut phase = None;
    for s in &c.steps {
        let step = &s.step;
        if phase != Some(step.phase) {
            phase = Some(step.phase);
            writeln!(out, "\n{}:", step.phase.name())?;
        }
        let after = if step.after.is_empty() {
            String::new()
        } else {
            let after: Vec<String> = step.after.iter().map(|n| format!("#{n}")).collect();
            format!(" (after {})", after.join(", "))
        };
        // The standing first: a resource name cannot push it out of sight.
        let (account, region) = (
            step.account.as_deref().map(|a| text::shortened(a, 40)),
            step.region.as_deref().map(|r| text::shortened(r, 40)),
        );
        let place = match (account, region) {
            (Some(a), Some(r)) => format!(" (account {a}, {r})"),
            (Some(a), None) => format!(" (account {a})"),
            (None, Some(r)) => format!(" ({r})"),
            (None, None) => String::new(),
        };
        let line = format!(
            "{:>3}. [{}] {} {}{place}{after}",
            step.step,
            status_word(&s.status),
            step.action,
            text::shortened(&step.resource, 160),
        );
        writeln!(out, "{}", text::terminal(&line))?;
        // A reason quotes the principal, which the attacker can make kilobytes long.
        let mut why = format!("     why: {}", text::shortened(&step.reason, 400));
        if let Some(r) = &step.record {
            let name = render::file_name(&r.file);
            why.push_str(&format!(" [{name} #{}]", r.record_index));
        }
        writeln!(out, "{}", text::terminal(&why))?;
        if let Some(hand) = &step.by_hand {
            writeln!(out, "     by hand: {}", text::terminal(hand))?;
        } else if let Some(cmd) = command(s, case) {
            writeln!(out, "     run: {}", text::terminal(&cmd))?;
        }
    }
    writeln!(
        out,
        "\nnext: `squall respond {case} --approve STEPS` (all, or 1,3-7) and `--skip STEPS \
         --reason TEXT` record your decision; each approved step runs through its command"
    )
}

/// Carries out the approved steps and prints their outcomes as every response verb does.
fn run(
    ctx: &Context,
    case: &str,
    yes: bool,
    concurrency: usize,
    how: &proposal::Carrying<'_>,
    format: Option<Format>,
) -> anyhow::Result<u8> {
    let r = squall_flow::respond::Response {
        case: case.to_string(),
        approved: yes,
        concurrency,
        place: Default::default(),
    };
    let carried = proposal::carry_out(ctx, &r, how, &mut render::plan_printer(case))?;
    let mut all = squall_flow::respond::Outcomes {
        outcomes: Vec::new(),
        approved: yes,
    };
    let mut left = 0;
    for (step, what) in carried {
        let n = step.step;
        // The resource, and what to do by hand about it, come from the log: bounded.
        let about = format!(
            "step {n} ({} {})",
            step.action,
            text::shortened(&step.resource, 160)
        );
        match what {
            Carried::Ran(o) => all.outcomes.extend(o.outcomes),
            Carried::ByHand(how) => {
                left += 1;
                say!(
                    "{}: by hand: {}",
                    text::terminal(&about),
                    text::terminal(&text::shortened(&how, 600))
                );
            }
            Carried::Waiting(steps) => {
                left += 1;
                let steps: Vec<String> = steps.iter().map(|s| format!("#{s}")).collect();
                say!(
                    "{}: waits for {} to be done",
                    text::terminal(&about),
                    steps.join(", ")
                );
            }
        }
    }
    if all.outcomes.is_empty() && left == 0 {
        say!(
            "{case}: no approved step is waiting (help: `squall respond {case}` shows the \
             proposal, `--approve STEPS` approves)"
        );
        return Ok(exit::OK);
    }
    let shared = crate::cli::Response {
        case: case.to_string(),
        yes,
        concurrency,
        format,
    };
    render::outcomes(&all, &shared)
}

pub fn respond(
    ctx: &Context,
    case: &str,
    word: Word,
    format: Option<Format>,
) -> anyhow::Result<u8> {
    let current = match word {
        Word::Run {
            yes,
            concurrency,
            target,
            gcp,
            gcp_forensic_project,
            secrets,
        } => {
            let how = proposal::Carrying {
                target: &target,
                gcp: &gcp,
                gcp_forensic_project: gcp_forensic_project.as_deref(),
                secrets: secrets.as_deref(),
            };
            return run(ctx, case, yes, concurrency, &how, format);
        }
        Word::Propose => {
            let c = proposal::propose(ctx, case)?;
            if c.proposal > 1 {
                say!(
                    "{case}: proposal {} replaces proposal {}: approve its steps again (steps \
                     already done stay done)",
                    c.proposal,
                    c.proposal - 1
                );
            }
            c
        }
        Word::Show => {
            let file = squall_case::CaseFile::load(&ctx.store()?, case)?;
            match proposal::current(&file) {
                Some(c) => c,
                None => proposal::propose(ctx, case)?,
            }
        }
        Word::Approve(steps, expected) => proposal::approve(ctx, case, &steps, expected)?,
        Word::Skip {
            steps,
            reason,
            proposal: expected,
        } => proposal::skip(ctx, case, &steps, &reason, expected)?,
    };
    let format = format_or_default(format);
    let header = [
        "step", "phase", "action", "resource", "status", "reason", "record", "after", "command",
        "by_hand",
    ];
    render::rows(
        format,
        &current.steps,
        &header,
        |s| {
            let step = &s.step;
            vec![
                step.step.to_string(),
                step.phase.name().to_string(),
                step.action.clone(),
                step.resource.clone(),
                status_word(&s.status),
                step.reason.clone(),
                step.record
                    .as_ref()
                    .map(|r| format!("{} #{}", r.file, r.record_index))
                    .unwrap_or_default(),
                step.after
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                command(s, case).unwrap_or_default(),
                step.by_hand.clone().unwrap_or_default(),
            ]
        },
        |out| table(out, case, &current),
    )?;
    Ok(exit::OK)
}

/// Shows each image's progress as a bar and says each result as soon as it is known.
pub fn image_progress(case: &str) -> impl FnMut(ImageProgress<'_>) + Send {
    let style = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    let mut bar: Option<indicatif::ProgressBar> = None;
    move |event| match event {
        ImageProgress::Started(snap) => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            let b = indicatif::ProgressBar::new(0).with_style(style.clone());
            b.set_message(format!("imaging {snap}"));
            bar = Some(b);
        }
        ImageProgress::Blocks { done, total } => {
            if let Some(b) = &bar {
                b.set_length(total);
                b.set_position(done);
            }
        }
        ImageProgress::Done(Imaged { snapshot, result }) => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            match result {
                Ok((img, e)) => say!(
                    "{snapshot}: {} ({} bytes{}) sha256 {} — evidence {} in case {case}",
                    img.path.display(),
                    img.bytes,
                    if img.resumed_bytes > 0 {
                        format!(", resumed after {} bytes", img.resumed_bytes)
                    } else {
                        String::new()
                    },
                    img.sha256,
                    e.id
                ),
                Err(e) => say!("error: imaging {snapshot}: {}", text::terminal(e)),
            }
        }
    }
}

/// An imaging run's exit code: failed when any image failed, whatever the rest did.
pub fn image_exit(imaged: &[Imaged]) -> u8 {
    if imaged.iter().any(|i| i.result.is_err()) {
        exit::FAILED
    } else {
        exit::OK
    }
}
