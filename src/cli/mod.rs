//! The `clan-inventory` command: the inventory core on an `inventory.json` and a modules
//! directory, without Nix. Exit codes: 0 ok, 1 invalid input, 2 usage.
#![forbid(unsafe_code)]

mod args;
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
mod write;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command, Format, GraphFormat, MachinesAction, RolesAction, TagsAction};
use project::Project;
use report::{diagnose, Severity};

use crate::inventory::{
    json::output_json, machine_not_defined, resolve, ConstraintFailure, Warning,
};

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

/// Runs the command line of the process.
#[must_use]
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(&cli) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(f) => {
            eprint!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// The inventory file of the command: the positional FILE or `--file`, `inventory.json` by default.
fn file_of(global: Option<&PathBuf>, positional: Option<&PathBuf>) -> Result<PathBuf, Failure> {
    match (global, positional) {
        (Some(a), Some(b)) if a != b => Err(Failure::usage(format!(
            "two inventory files given: `{}` and `{}`",
            a.display(),
            b.display()
        ))),
        (Some(f), _) | (None, Some(f)) => Ok(f.clone()),
        (None, None) => Ok(PathBuf::from("inventory.json")),
    }
}

/// Stdout of a successful command, or why it failed. Output of commands that read a valid
/// inventory only; warnings go to stderr as they come.
fn run(cli: &Cli) -> Result<String, Failure> {
    let modules = cli.modules.as_deref();
    let open = |positional: Option<&PathBuf>| -> Result<Project, Failure> {
        let file = file_of(cli.file.as_ref(), positional)?;
        Project::open(&file, modules)
    };
    match &cli.command {
        Command::Validate { input, format } => {
            let project = open(input.as_ref())?;
            validate(&project, *format)
        }
        Command::Resolve {
            input,
            machine,
            format,
        } => {
            let project = open(input.as_ref())?;
            with_valid(&project, |input| {
                let output = resolve(input);
                let index = machine
                    .as_deref()
                    .map(|m| machine_index(input, m))
                    .transpose()?;
                Ok(match format {
                    Format::Json => {
                        let mut json = output_json(input, &output);
                        if let Some(i) = index {
                            let name = &input.machines[i].name;
                            if let Some(serde_json::Value::Object(ms)) = json.get_mut("machines") {
                                ms.retain(|k, _| k == name);
                            }
                        }
                        let mut s = serde_json::to_string_pretty(&json).unwrap_or_default();
                        s.push('\n');
                        s
                    }
                    Format::Text => {
                        notes(&output.warnings, &output.assertions);
                        table::resolution(input, &output, index)
                    }
                })
            })
        }
        Command::Explain { machine } => {
            let project = open(None)?;
            with_valid(&project, |input| {
                let output = resolve(input);
                let i = machine_index(input, machine)?;
                let e = crate::inventory::explain::explain(input, &output, i);
                Ok(explain::render(input, &output, &e))
            })
        }
        Command::Select { expr } => {
            let parsed = select::parse(expr).map_err(|e| Failure::usage(format!("select: {e}")))?;
            let project = open(None)?;
            with_valid(&project, |input| {
                let output = resolve(input);
                let mut warnings = Vec::new();
                let set = select::eval(&parsed, input, &output, &mut warnings)
                    .map_err(|e| Failure::usage(format!("select: {e}")))?;
                for w in warnings {
                    eprintln!("warning: select: {w}");
                }
                let mut s = String::new();
                for (m, on) in input.machines.iter().zip(set) {
                    if on {
                        s.push_str(&m.name);
                        s.push('\n');
                    }
                }
                Ok(s)
            })
        }
        Command::Graph { format } => {
            let project = open(None)?;
            with_valid(&project, |input| {
                let output = resolve(input);
                Ok(match format {
                    GraphFormat::Dot => graph::dot(input, &output),
                    GraphFormat::Mermaid => graph::mermaid(input, &output),
                })
            })
        }
        Command::Schema => Ok(schema::schema()),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "clan-inventory", &mut buf);
            Ok(String::from_utf8_lossy(&buf).into_owned())
        }
        Command::Machines { action } => {
            let project = open(None)?;
            let done = match action {
                MachinesAction::Add {
                    name,
                    tags,
                    class,
                    target_host,
                } => edit::apply(&project, |inv| {
                    edit::add_machine(
                        inv,
                        &edit::NewMachine {
                            name,
                            tags,
                            class: class.map(args::Class::as_str),
                            target_host: target_host.as_deref(),
                        },
                    )
                })?,
                MachinesAction::Remove { name } => {
                    edit::apply(&project, |inv| edit::remove_machine(inv, name))?
                }
            };
            Ok(edited(&project.file, &done))
        }
        Command::Tags { action } => {
            let project = open(None)?;
            let done = match action {
                TagsAction::Add { machine, tags } => {
                    edit::apply(&project, |inv| edit::add_tags(inv, machine, tags))?
                }
                TagsAction::Remove { machine, tags } => {
                    edit::apply(&project, |inv| edit::remove_tags(inv, machine, tags))?
                }
            };
            Ok(edited(&project.file, &done))
        }
        Command::Roles { action } => {
            let project = open(None)?;
            let (role, machines, tags, assign) = match action {
                RolesAction::Assign {
                    role,
                    machines,
                    tags,
                } => (role, machines, tags, true),
                RolesAction::Unassign {
                    role,
                    machines,
                    tags,
                } => (role, machines, tags, false),
            };
            if machines.is_empty() && tags.is_empty() {
                return Err(Failure::usage("give at least one MACHINE or --tag"));
            }
            edit::role_address(role)?;
            let done = edit::apply(&project, |inv| {
                if assign {
                    edit::assign(inv, role, machines, tags)
                } else {
                    edit::unassign(inv, role, machines, tags)
                }
            })?;
            if !assign {
                still_members(&project.file, modules, role, machines);
            }
            Ok(edited(&project.file, &done))
        }
    }
}

fn edited(file: &Path, done: &str) -> String {
    format!("{}: {done}\n", file.display())
}

/// After an unassign: says which machines are still in the role through one of its tags.
fn still_members(file: &Path, modules: Option<&Path>, role: &str, machines: &[String]) {
    let Ok(project) = Project::open(file, modules) else {
        return;
    };
    let Ok(input) = project.load() else { return };
    let output = resolve(&input);
    let Ok([svc, inst, r]) = edit::role_address(role) else {
        return;
    };
    let Some(i) = output
        .instances
        .iter()
        .find(|i| i.service == svc && i.instance == inst)
    else {
        return;
    };
    for (name, members) in &i.roles {
        if *name != r {
            continue;
        }
        for m in machines {
            if members.iter().any(|&k| input.machines[k].name == *m) {
                eprintln!("note: machine '{m}' is still in role {role} through roles.{r}.tags");
            }
        }
    }
}

fn notes(warnings: &[Warning], assertions: &[ConstraintFailure]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
    for a in assertions {
        eprintln!("constraint: {a}");
    }
}

fn machine_index<V>(input: &crate::inventory::Input<V>, name: &str) -> Result<usize, Failure> {
    input
        .machines
        .binary_search_by(|m| m.name.as_str().cmp(name))
        .map_err(|_| {
            let suggestion = crate::inventory::did_you_mean(
                name,
                input.machines.iter().map(|m| m.name.as_str()),
            );
            Failure::usage(machine_not_defined(name, suggestion.as_deref()))
        })
}

/// Runs `f` on the loaded input, or fails with every located error.
fn with_valid(
    project: &Project,
    f: impl FnOnce(&crate::inventory::Input<&serde_json::Value>) -> Result<String, Failure>,
) -> Result<String, Failure> {
    match project.load() {
        Ok(input) => f(&input),
        Err(_) => Err(Failure::report(invalid_report(
            project,
            &format!("`{}` is invalid", project.file.display()),
        ))),
    }
}

fn validate(project: &Project, format: Format) -> Result<String, Failure> {
    let diagnostics = diagnose(project);
    let count = |s: Severity| diagnostics.iter().filter(|d| d.severity == s).count();
    let (errors, warnings, constraints) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Constraint),
    );
    let out = match format {
        Format::Json => {
            let json = serde_json::json!({
                "file": project.file.display().to_string(),
                "valid": errors == 0,
                "errors": diagnostics.iter().filter(|d| d.severity == Severity::Error).collect::<Vec<_>>(),
                "warnings": diagnostics.iter().filter(|d| d.severity == Severity::Warning).collect::<Vec<_>>(),
                "constraints": diagnostics.iter().filter(|d| d.severity == Severity::Constraint).collect::<Vec<_>>(),
            });
            let mut s = serde_json::to_string_pretty(&json).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Text => {
            let mut s = String::new();
            for d in &diagnostics {
                s.push_str(&d.text());
                s.push('\n');
            }
            let plural =
                |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
            let _ = writeln!(
                s,
                "{}: {}, {}, {}",
                project.file.display(),
                plural(errors, "error"),
                plural(warnings, "warning"),
                plural(constraints, "failed constraint"),
            );
            s
        }
    };
    if errors + constraints > 0 {
        // The report is the product of `validate`: it goes to stdout even when the input is invalid.
        print!("{out}");
        Err(Failure {
            code: 1,
            message: String::new(),
        })
    } else {
        Ok(out)
    }
}
