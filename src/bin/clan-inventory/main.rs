//! The `clan-inventory` command: the inventory core on a whole clan read through Nix, or on an
//! `inventory.json` and a modules directory without Nix. Exit codes: 0 ok, 1 invalid input, 2 usage. Each command is one
//! function of `command.rs` that returns what to print; only `main` prints.
#![forbid(unsafe_code)]

mod args;
mod clan;
mod command;
mod discover;
mod edit;
mod explain;
mod graph;
mod locate;
mod project;
mod report;
mod schema;
mod select;
mod table;
mod tree;
mod write;

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

use args::Cli;
use project::Project;
use report::{diagnose, Severity};

/// What a command did: its output on stdout, its notes (warnings, failed constraints) on stderr,
/// and the exit code (1 when `validate` found a problem: its report is still the output).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    stdout: String,
    stderr: String,
    code: u8,
}

impl Outcome {
    /// Success with this output.
    pub(crate) fn out(stdout: String) -> Self {
        Outcome {
            stdout,
            ..Outcome::default()
        }
    }

    /// Adds a line to stderr.
    pub(crate) fn note(&mut self, line: impl std::fmt::Display) {
        let _ = writeln!(self.stderr, "{line}");
    }
}

/// Why the command stops: what to print on stderr and the exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u8,
    /// Printed as it is, so it ends with a newline.
    message: String,
}

impl Failure {
    /// Invalid input (exit 1): `error: <message>`.
    pub(crate) fn invalid(message: impl std::fmt::Display) -> Self {
        Failure {
            code: 1,
            message: format!("error: {message}\n"),
        }
    }

    /// A command line that cannot be carried out (exit 2).
    pub(crate) fn usage(message: impl std::fmt::Display) -> Self {
        Failure {
            code: 2,
            message: format!("error: {message}\n"),
        }
    }

    /// Invalid input with a report already formatted.
    pub(crate) fn report(report: String) -> Self {
        Failure {
            code: 1,
            message: report,
        }
    }
}

/// `error: <why>` followed by the located errors of the project, one per line.
pub(crate) fn invalid_report(project: &Project, why: &str) -> String {
    let mut s = format!("error: {why}:\n");
    for d in diagnose(project) {
        if d.severity == Severity::Error {
            let _ = writeln!(s, "{}", d.text());
        }
    }
    s
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match command::run(&cli) {
        Ok(outcome) => {
            eprint!("{}", outcome.stderr);
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(outcome.stdout.as_bytes());
            let _ = stdout.flush();
            ExitCode::from(outcome.code)
        }
        Err(f) => {
            eprint!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}
