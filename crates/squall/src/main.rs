//! `squall`: the one binary an incident responder runs, and only its front end: arguments,
//! config layering, rendering, progress and exit codes. The work is `squall_flow`'s workflows,
//! which a second front end (the web UI) calls the same way.

/// `eprintln!` for messages that quote anything not written by Squall itself (ids, paths,
/// owners, provider messages): the whole line goes through the terminal neutralizer.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", squall_core::text::terminal(&format!($($arg)*)))
    };
}

mod aws;
mod case;
mod cli;
mod config;
mod exit;
mod gcp;
mod hunt;
mod render;
mod respond;
mod scope;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

fn run() -> anyhow::Result<u8> {
    let matches = cli::Cli::command().get_matches();
    let cli = cli::Cli::from_arg_matches(&matches)?;
    let config = config::load(cli.config.as_deref())?;
    let context =
        || squall_flow::Context::new(cli.home.as_deref(), cli.actor.clone(), cli.sign_key.clone());
    use cli::{
        AcquireCommand, CollectCommand, Command, ContainCommand, RecoverCommand, ReleaseCommand,
    };
    match cli.command {
        Command::Hunt(mut args) => {
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
            config::apply_hunt(&config.hunt, &mut args, &from_cli)?;
            let into_case = args.case.is_some() || args.new_case.is_some();
            let ctx = into_case.then(context).transpose()?;
            let home = squall_case::home::resolve(cli.home.as_deref());
            hunt::run(args, ctx.as_ref(), home.as_deref())
        }
        Command::Case(cmd) => case::case(&context()?, cmd),
        Command::Timeline(args) => case::timeline(&context()?, args),
        Command::Scope { case, format } => scope::scope(&context()?, &case, format),
        Command::Respond {
            case,
            propose,
            approve,
            skip,
            reason,
            proposal,
            run,
            yes,
            secret_dir,
            concurrency,
            target,
            mut gcp,
            format,
        } => {
            let word = if run || yes {
                config::apply_gcp_identity(&config.gcp, &mut gcp);
                respond::Word::Run {
                    yes,
                    concurrency,
                    target: Box::new(aws::target(target, &config.aws)),
                    gcp: Box::new(gcp.target(None, Some(case.clone()))),
                    gcp_forensic_project: config.gcp.forensic_project.clone(),
                    secrets: secret_dir,
                }
            } else {
                respond::Word::of(propose, approve, skip, reason, proposal)
            };
            respond::respond(&context()?, &case, word, format)
        }
        Command::Key(cmd) => case::key(cmd),
        Command::Inventory(cmd) => case::inventory(&context()?, &config, cmd),
        Command::Collect(CollectCommand::Aws(cmd)) => aws::collect(&context()?, &config.aws, cmd),
        Command::Collect(CollectCommand::Gcp(cmd)) => gcp::collect(&context()?, &config.gcp, cmd),
        Command::Triage { case, format } => case::triage(&context()?, &case, format),
        Command::Report {
            case,
            format,
            output,
        } => case::report(&context()?, &case, format, output.as_deref()),
        Command::Ledger(cmd) => case::ledger(&context()?, cmd),
        Command::Evidence(cmd) => case::evidence(&context()?, cmd),
        // The providers: each verb names its provider once, and that provider's front end
        // takes it from there (its own target flags, its requests to `squall_flow`).
        Command::Contain(ContainCommand::Aws(cmd)) => aws::contain(&context()?, &config.aws, cmd),
        Command::Release(ReleaseCommand::Aws(cmd)) => aws::release(&context()?, &config.aws, cmd),
        Command::Contain(ContainCommand::Gcp(cmd)) => gcp::contain(&context()?, &config.gcp, cmd),
        Command::Release(ReleaseCommand::Gcp(cmd)) => gcp::release(&context()?, &config.gcp, cmd),
        Command::Acquire(AcquireCommand::Aws(cmd)) => aws::acquire(&context()?, &config.aws, cmd),
        Command::Acquire(AcquireCommand::Gcp(cmd)) => gcp::acquire(&context()?, &config.gcp, cmd),
        Command::Recover(RecoverCommand::Aws(cmd)) => aws::recover(&context()?, &config.aws, cmd),
        Command::Recover(RecoverCommand::Gcp(cmd)) => gcp::recover(&context()?, &config.gcp, cmd),
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
            eprintln!("error: {}", squall_core::text::terminal(&format!("{e:#}")));
            ExitCode::from(exit::ERROR)
        }
    }
}
