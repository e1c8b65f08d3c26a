//! `squall`: the one binary an incident responder runs. Thin on purpose: it parses arguments,
//! wires the library crates together and turns outcomes into exit codes.

mod cli;
mod examples;
mod hunt_cmd;
mod output;
mod timespec;

use std::process::ExitCode;

use clap::Parser;

/// Exit codes, documented in `squall --help` and the README.
pub mod exit {
    /// The run completed (with or without detections).
    pub const OK: u8 = 0;
    /// `--fail-on-detection` and something was detected.
    pub const DETECTED: u8 = 1;
    /// Bad usage, nothing could be read, or a warning under `--strict`.
    pub const ERROR: u8 = 2;
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Hunt(args) => hunt_cmd::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
