//! `squall`: the one binary an incident responder runs. Thin on purpose: it parses arguments,
//! wires the library crates together and turns outcomes into exit codes.

/// `eprintln!` for messages that quote anything not written by Squall itself (ids, paths,
/// owners, provider messages): the whole line goes through the terminal neutralizer.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", squall_case::text::terminal(&format!($($arg)*)))
    };
}

mod aws_cmd;
mod case_cmd;
mod cli;
mod config;
mod examples;
mod hunt_cmd;
mod output;
mod timeline_cmd;
mod timespec;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

/// Exit codes, documented in `squall --help` and the README.
pub mod exit {
    /// The run completed (with or without detections).
    pub const OK: u8 = 0;
    /// `--fail-on-detection` and something was detected.
    pub const DETECTED: u8 = 1;
    /// A ledger or integrity check failed: `ledger verify` says TAMPERED, and every view of a
    /// case (show, timeline, scope, triage, report) still prints, under a warning at its top.
    pub const TAMPERED: u8 = 1;
    /// Bad usage, nothing could be read, or a warning under `--strict`.
    pub const ERROR: u8 = 2;
    /// A response action failed on at least one resource (the others ran; see the summary).
    pub const FAILED: u8 = 3;
}

fn run() -> anyhow::Result<u8> {
    let matches = cli::Cli::command().get_matches();
    let cli = cli::Cli::from_arg_matches(&matches)?;
    let config = config::load(cli.config.as_deref())?;
    let context =
        || case_cmd::Context::new(cli.home.as_deref(), cli.actor.clone(), cli.sign_key.clone());
    match cli.command {
        cli::Command::Hunt(mut args) => {
            let sub = matches.subcommand_matches("hunt").expect("hunt matches");
            let given = |id: &str| {
                matches!(
                    sub.value_source(id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            };
            let from_cli = config::CliSet {
                max_warnings: given("max_warnings"),
                max_record_mib: given("max_record_mib"),
            };
            config.hunt.apply(&mut args, &from_cli)?;
            let ctx = if args.case.is_some() || args.new_case.is_some() {
                Some(case_cmd::Context::new(
                    cli.home.as_deref(),
                    cli.actor,
                    cli.sign_key,
                )?)
            } else {
                None
            };
            let home = squall_case::home::resolve(cli.home.as_deref());
            hunt_cmd::run(args, ctx.as_ref(), home.as_deref())
        }
        cli::Command::Case(cmd) => case_cmd::case(&context()?, cmd),
        cli::Command::Timeline(args) => timeline_cmd::run(&context()?, args),
        cli::Command::Scope { case, format } => timeline_cmd::scope(&context()?, &case, format),
        cli::Command::Key(cmd) => case_cmd::key(cmd),
        cli::Command::Contain(cmd) => aws_cmd::contain(&context()?, &config.aws, cmd),
        cli::Command::Release(cmd) => aws_cmd::release(&context()?, &config.aws, cmd),
        cli::Command::Acquire(cmd) => aws_cmd::acquire(&context()?, &config.aws, cmd),
        cli::Command::Recover(cmd) => aws_cmd::recover(&context()?, &config.aws, cmd),
        cli::Command::Inventory(cmd) => case_cmd::inventory(&context()?, &config.aws, cmd),
        cli::Command::Triage { case, format } => case_cmd::triage(&context()?, &case, format),
        cli::Command::Report {
            case,
            format,
            output,
        } => case_cmd::report(&context()?, &case, format, output.as_deref()),
        cli::Command::Ledger(cmd) => case_cmd::ledger(&context()?, cmd),
        cli::Command::Evidence(cmd) => case_cmd::evidence(&context()?, cmd),
    }
}

fn main() -> ExitCode {
    let result = run();
    match result {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            // Errors quote paths, ids and provider messages, any of which an attacker may have
            // written: shown, never obeyed.
            eprintln!("error: {}", squall_case::text::terminal(&format!("{e:#}")));
            ExitCode::from(exit::ERROR)
        }
    }
}
