//! The commands: one function each, from the parsed command line to what to print ([`Outcome`])
//! or why not ([`Failure`]). Output of commands that read a valid inventory only; warnings and
//! failed constraints are notes on stderr.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::args::{Cli, Command, Format, GraphFormat, MachinesAction, RolesAction, TagsAction};
use super::clan::{self, Clan, Evaluator, Source};
use super::project::Project;
use super::report::{diagnose, Severity};
use super::tree::Handle;
use super::{edit, explain, graph, invalid_report, schema, select, table, Failure, Outcome};
use clan_inventory::inventory::{
    self, json::output_json, machine_not_defined, resolve, Input, MachineClass, Output,
};

/// What every command may need: the global options.
pub(crate) struct Ctx<'a> {
    cli: &'a Cli,
    /// Lines for stderr before the command's own: which of the two sources it read.
    notes: RefCell<String>,
}

impl Ctx<'_> {
    /// The project of the command: the whole clan of `--flake`, `--expr`, `--file CLAN.nix` or
    /// of a flake.nix here that names buildClan (through Nix, when there is one); else the
    /// positional FILE or `--file`, and `--modules`. The notes say which it read.
    fn open(&self, positional: Option<&PathBuf>) -> Result<Project, Failure> {
        let mut notes = self.notes.borrow_mut();
        let cli = self.cli;
        let nix_file = cli
            .file
            .as_ref()
            .filter(|f| f.extension().is_some_and(|e| e == "nix"));
        let asked = if let Some(r) = &cli.flake {
            Some(Source::Flake(r.clone()))
        } else if let Some(e) = &cli.nix_expr {
            Some(Source::Expr(e.clone()))
        } else {
            nix_file.map(|f| Source::File(f.clone()))
        };
        let explicit = asked.is_some();
        let candidates = match asked {
            Some(s) => vec![s],
            None if cli.file.is_none() && positional.is_none() => clan::detect(Path::new(".")),
            None => Vec::new(),
        };
        if let Some(first) = candidates.first() {
            if positional.is_some() {
                return Err(Failure::usage(
                    "an inventory FILE and a whole clan (--flake, --expr, --file CLAN.nix) given",
                ));
            }
            match Evaluator::find(cli.nix.as_deref(), cli.plugin.as_deref()) {
                Some(evaluator) => {
                    let clan = evaluate_first(&candidates, &evaluator, &mut notes)?;
                    let _ = writeln!(notes, "{}", clan.banner());
                    return Ok(Project::of_clan(clan));
                }
                None if explicit => {
                    return Err(Failure::usage(
                        "no nix to read the whole clan with: give --nix PATH, set CLAN_NIX, or put nix on PATH",
                    ))
                }
                None => {
                    let _ = writeln!(
                        notes,
                        "clan-inventory: inventory.json alone, without Nix: {} uses buildClan, but no nix was found (--nix, CLAN_NIX, PATH)",
                        entry_file(first)
                    );
                }
            }
        }
        let file = file_of(cli.file.as_ref(), positional)?;
        Project::open(&file, self.modules())
    }

    fn modules(&self) -> Option<&Path> {
        self.cli.modules.as_deref()
    }
}

/// `./flake.nix`, `./default.nix`: the file of a clan found in the current directory.
fn entry_file(source: &Source) -> String {
    match source {
        Source::Flake(_) => "./flake.nix".to_owned(),
        Source::File(f) => format!("./{}", f.display()),
        Source::Expr(_) => "--expr".to_owned(),
    }
}

/// The first of `candidates` (one given, or those found here) that Nix evaluates. A later one
/// is read only when the earlier fail (a flake whose inputs cannot be fetched, say), and the notes
/// say so with Nix's error; when all fail, the error of the first, and the notes name the others.
fn evaluate_first(
    candidates: &[Source],
    evaluator: &Evaluator,
    notes: &mut String,
) -> Result<Clan, Failure> {
    let mut first_failure: Option<Failure> = None;
    let mut failed: Vec<(String, String)> = Vec::new();
    for source in candidates {
        match Clan::evaluate(source.clone(), evaluator) {
            Ok(clan) => {
                for (file, why) in &failed {
                    let _ = writeln!(
                        notes,
                        "clan-inventory: {file} names buildClan but could not be evaluated, so {} is read instead (Nix: {why})",
                        entry_file(source)
                    );
                }
                return Ok(clan);
            }
            Err(f) => {
                failed.push((
                    entry_file(source),
                    clan::nix_error_line(&f.message).to_owned(),
                ));
                first_failure.get_or_insert(f);
            }
        }
    }
    for (file, why) in failed.iter().skip(1) {
        let _ = writeln!(
            notes,
            "clan-inventory: {file} names buildClan too, and could not be evaluated either (Nix: {why})"
        );
    }
    Err(first_failure.unwrap_or_else(|| Failure::usage("no clan to evaluate")))
}

/// Runs the command of the command line.
pub(crate) fn run(cli: &Cli) -> Result<Outcome, Failure> {
    let ctx = Ctx {
        cli,
        notes: RefCell::new(String::new()),
    };
    let result = match &cli.command {
        Command::Validate { input, format } => validate(&ctx, input.as_ref(), *format),
        Command::Resolve {
            input,
            machine,
            format,
        } => resolve_command(&ctx, input.as_ref(), machine.as_deref(), *format),
        Command::Explain { machine } => explain_command(&ctx, machine),
        Command::Select { expr, attrs } => select_command(&ctx, expr, *attrs),
        Command::Graph { format } => graph_command(&ctx, *format),
        Command::Schema => Ok(Outcome::out(schema::schema())),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "clan-inventory", &mut buf);
            Ok(Outcome::out(String::from_utf8_lossy(&buf).into_owned()))
        }
        Command::Machines { action } => machines(&ctx, action),
        Command::Tags { action } => tags(&ctx, action),
        Command::Roles { action } => roles(&ctx, action),
    };
    let notes = ctx.notes.take();
    match result {
        Ok(mut o) => {
            o.stderr.insert_str(0, &notes);
            Ok(o)
        }
        Err(mut f) => {
            f.message.insert_str(0, &notes);
            Err(f)
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

fn validate(ctx: &Ctx<'_>, input: Option<&PathBuf>, format: Format) -> Result<Outcome, Failure> {
    let project = ctx.open(input)?;
    let diagnostics = diagnose(&project);
    let count = |s: Severity| diagnostics.iter().filter(|d| d.severity == s).count();
    let (errors, warnings, constraints) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Constraint),
    );
    let out = match format {
        Format::Json => {
            let mut json = serde_json::json!({
                "file": project.subject_file(),
                "valid": errors == 0,
                "errors": diagnostics.iter().filter(|d| d.severity == Severity::Error).collect::<Vec<_>>(),
                "warnings": diagnostics.iter().filter(|d| d.severity == Severity::Warning).collect::<Vec<_>>(),
                "constraints": diagnostics.iter().filter(|d| d.severity == Severity::Constraint).collect::<Vec<_>>(),
            });
            if let Some(why) = &project.unchecked {
                json["unchecked"] = why.clone().into();
            }
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
            if let Some(why) = &project.unchecked {
                let _ = writeln!(s, "note: {why}");
            }
            let plural =
                |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
            let subject = project.clan.as_ref().map_or_else(
                || project.file.display().to_string(),
                |c| format!("the whole clan of {}", c.source.describe()),
            );
            let _ = writeln!(
                s,
                "{subject}: {}, {}, {}",
                plural(errors, "error"),
                plural(warnings, "warning"),
                plural(constraints, "failed constraint"),
            );
            s
        }
    };
    // The report is the product of `validate`: it goes to stdout even when the input is invalid.
    let mut outcome = Outcome::out(out);
    if errors + constraints > 0 {
        outcome.code = 1;
    }
    Ok(outcome)
}

fn resolve_command(
    ctx: &Ctx<'_>,
    input: Option<&PathBuf>,
    machine: Option<&str>,
    format: Format,
) -> Result<Outcome, Failure> {
    let project = ctx.open(input)?;
    with_valid(&project, |input| {
        let output = resolve(input);
        let index = machine.map(|m| machine_index(input, m)).transpose()?;
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
                Outcome::out(s)
            }
            Format::Text => {
                let mut outcome = Outcome::out(table::resolution(input, &output, index));
                notes(&mut outcome, &project, &output);
                outcome
            }
        })
    })
}

fn explain_command(ctx: &Ctx<'_>, machine: &str) -> Result<Outcome, Failure> {
    let project = ctx.open(None)?;
    with_valid(&project, |input| {
        let output = resolve(input);
        let i = machine_index(input, machine)?;
        let e = inventory::explain::explain(input, &output, i);
        let mut outcome = Outcome::out(explain::render(&project, input, &output, &e));
        unchecked_note(&mut outcome, &project);
        Ok(outcome)
    })
}

fn select_command(ctx: &Ctx<'_>, expr: &str, attrs: bool) -> Result<Outcome, Failure> {
    let parsed = select::parse(expr).map_err(|e| Failure::usage(format!("select: {e}")))?;
    let project = ctx.open(None)?;
    with_valid(&project, |input| {
        let output = resolve(input);
        let mut warnings = Vec::new();
        let set = select::eval(&parsed, input, &output, &mut warnings)
            .map_err(|e| Failure::usage(format!("select: {e}")))?;
        let flake = project
            .clan
            .as_ref()
            .and_then(|c| c.source.flake_ref())
            .unwrap_or(".");
        let mut s = String::new();
        let mut not_nixos = Vec::new();
        for (m, on) in input.machines.iter().zip(set) {
            if !on {
                continue;
            }
            if !attrs {
                let _ = writeln!(s, "{}", m.name);
            } else if m.class == MachineClass::Nixos {
                let _ = writeln!(
                    s,
                    "{flake}#nixosConfigurations.{}.config.system.build.toplevel",
                    m.name
                );
            } else {
                not_nixos.push(m.name.as_str());
            }
        }
        let mut outcome = Outcome::out(s);
        if !not_nixos.is_empty() {
            // buildClan makes nixosConfigurations only: a darwin machine has no attribute to build.
            outcome.note(format_args!(
                "note: select --attrs: not NixOS machines, so not in nixosConfigurations: {}",
                not_nixos.join(", ")
            ));
        }
        for w in warnings {
            outcome.note(format_args!("warning: select: {w}"));
        }
        unchecked_note(&mut outcome, &project);
        Ok(outcome)
    })
}

fn graph_command(ctx: &Ctx<'_>, format: GraphFormat) -> Result<Outcome, Failure> {
    let project = ctx.open(None)?;
    with_valid(&project, |input| {
        let output = resolve(input);
        let mut outcome = Outcome::out(match format {
            GraphFormat::Dot => graph::dot(input, &output),
            GraphFormat::Mermaid => graph::mermaid(input, &output),
        });
        unchecked_note(&mut outcome, &project);
        Ok(outcome)
    })
}

/// A value of the Nix side that an edit of inventory.json cannot change: why not, and where to.
fn defined_by_nix(what: &str, at: &str) -> Failure {
    Failure::invalid(format!(
        "{what} is defined in {at}, not in inventory.json: the Nix side is read-only here, change it there"
    ))
}

/// In a whole clan: the project to edit must have an inventory.json.
fn editable(project: &Project) -> Result<(), Failure> {
    match &project.clan {
        Some(c) if c.inventory_file.is_none() => Err(Failure::invalid(format!(
            "the clan has no inventory.json to edit (`{}` does not exist)",
            project.file.display()
        ))),
        _ => Ok(()),
    }
}

/// In a whole clan: makes an entry for `machine` in inventory.json when only the Nix side
/// (the Nix inventory, machines/, the `machines` argument) defines it, so that tags go beside.
fn entry_beside(inv: &mut serde_json::Value, project: &Project, machine: &str) {
    let known = project.inventory()["machines"].get(machine).is_some();
    if project.clan.is_none() || !known {
        return;
    }
    if let Some(root) = inv.as_object_mut() {
        let machines = root
            .entry("machines")
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let Some(ms) = machines.as_object_mut() {
            ms.entry(machine.to_owned())
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        }
    }
}

fn machines(ctx: &Ctx<'_>, action: &MachinesAction) -> Result<Outcome, Failure> {
    let project = ctx.open(None)?;
    editable(&project)?;
    if let (MachinesAction::Remove { name }, Some(clan)) = (action, &project.clan) {
        if let Some(at) = clan.machine_outside_file(name) {
            return Err(defined_by_nix(&format!("machine '{name}'"), &at));
        }
    }
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
                    class: class.map(super::args::Class::as_str),
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

fn tags(ctx: &Ctx<'_>, action: &TagsAction) -> Result<Outcome, Failure> {
    let project = ctx.open(None)?;
    editable(&project)?;
    if let (TagsAction::Remove { machine, tags }, Some(clan)) = (action, &project.clan) {
        for t in tags {
            if let Some(at) = clan.listed_in_nix(&["machines", machine, "tags"], t) {
                return Err(defined_by_nix(
                    &format!("tag '{t}' of machine '{machine}'"),
                    &at,
                ));
            }
        }
    }
    let done = match action {
        TagsAction::Add { machine, tags } => edit::apply(&project, |inv| {
            entry_beside(inv, &project, machine);
            edit::add_tags(inv, machine, tags)
        })?,
        TagsAction::Remove { machine, tags } => {
            edit::apply(&project, |inv| edit::remove_tags(inv, machine, tags))?
        }
    };
    Ok(edited(&project.file, &done))
}

fn roles(ctx: &Ctx<'_>, action: &RolesAction) -> Result<Outcome, Failure> {
    let project = ctx.open(None)?;
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
    let address = edit::address(role)?;
    if let (edit::Address::Instance([inst, _]), true) = (address, assign) {
        // Members are added to an instance that exists: a new one needs its module chosen (and
        // `a.b` may well be a mistyped SERVICE.INSTANCE.ROLE).
        let instances = project
            .inventory()
            .get("instances")
            .and_then(|v| v.as_object());
        if !instances.is_some_and(|i| i.contains_key(inst)) {
            let mut known: Vec<&str> = instances
                .map(|i| i.keys().map(String::as_str).collect())
                .unwrap_or_default();
            known.sort_unstable();
            let services = project
                .inventory()
                .get("services")
                .and_then(|v| v.as_object());
            let also = if services.is_some_and(|s| s.contains_key(inst)) {
                format!("; '{inst}' is a service of inventory.services, whose roles are SERVICE.INSTANCE.ROLE")
            } else {
                inventory::hint(inventory::did_you_mean(inst, known.iter().copied()).as_deref())
            };
            return Err(Failure::usage(format!(
                "no instance '{inst}' in inventory.instances (instances: {}): roles edits add members to an instance that exists; write a new one in inventory.json{also}",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            )));
        }
    }
    editable(&project)?;
    if let (false, Some(clan)) = (assign, &project.clan) {
        for (key, names) in [("machines", machines), ("tags", tags)] {
            for n in names {
                let at = match address {
                    edit::Address::Service([svc, inst, r]) => {
                        clan.listed_in_nix(&["services", svc, inst, "roles", r, key], n)
                    }
                    // A machine is an attribute of `machines`; a tag an element of the list
                    // form or an attribute of the attribute form.
                    edit::Address::Instance([inst, r]) => {
                        let path = ["instances", inst, "roles", r, key];
                        clan.listed_in_nix(&path, n).or_else(|| {
                            clan.defined_in_nix(&["instances", inst, "roles", r, key, n])
                        })
                    }
                };
                if let Some(at) = at {
                    let what = if key == "machines" { "machine" } else { "tag" };
                    return Err(defined_by_nix(&format!("{what} '{n}' of role {role}"), &at));
                }
            }
        }
    }
    let done = edit::apply(&project, |inv| match (address, assign) {
        (edit::Address::Service(_), true) => edit::assign(inv, role, machines, tags),
        (edit::Address::Service(_), false) => edit::unassign(inv, role, machines, tags),
        (edit::Address::Instance(a), true) => edit::assign_clan(inv, role, a, machines, tags),
        (edit::Address::Instance(a), false) => edit::unassign_clan(inv, role, a, machines, tags),
    })?;
    let mut outcome = edited(&project.file, &done);
    if !assign {
        still_members(&mut outcome, &done.next, role, machines);
    }
    if let edit::Address::Instance(_) = address {
        unchecked_note(&mut outcome, &project);
    }
    Ok(outcome)
}

/// The message of a written edit, with a warning for each constraint it made fail.
fn edited(file: &Path, applied: &edit::Applied) -> Outcome {
    let mut outcome = Outcome::out(format!("{}: {}\n", file.display(), applied.done));
    for f in &applied.new_failures {
        outcome.note(format_args!(
            "warning: written, but a constraint now fails (the machines of its instance will not build until it holds): {f}"
        ));
    }
    outcome
}

/// After an unassign: says which machines are still in the role through one of its tags, in
/// `project` as it is after the edit (for a whole clan: with the tags of the Nix side).
fn still_members(outcome: &mut Outcome, project: &Project, role: &str, machines: &[String]) {
    let Ok(input) = project.load() else { return };
    let output = resolve(&input);
    let [svc, inst, r] = match edit::address(role) {
        Ok(edit::Address::Service(a)) => a,
        Ok(edit::Address::Instance([inst, r])) => {
            let Some(i) = output.clan.instances.iter().find(|i| i.name == inst) else {
                return;
            };
            for role_out in i.roles.iter().filter(|x| x.name == r) {
                for m in machines {
                    if role_out
                        .members
                        .iter()
                        .any(|&k| input.machines[k as usize].name == *m)
                    {
                        outcome.note(format_args!(
                            "note: machine '{m}' is still in role {role} through roles.{r}.tags"
                        ));
                    }
                }
            }
            return;
        }
        Err(_) => return,
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
            if members
                .iter()
                .any(|&k| input.machines[k as usize].name == *m)
            {
                outcome.note(format_args!(
                    "note: machine '{m}' is still in role {role} through roles.{r}.tags"
                ));
            }
        }
    }
}

fn notes<V>(outcome: &mut Outcome, project: &Project, output: &Output<'_, V>) {
    for w in &output.warnings {
        outcome.note(format_args!("warning: {w}"));
    }
    for a in &output.assertions {
        outcome.note(format_args!("constraint: {a}"));
    }
    for a in &output.clan.assertions {
        outcome.note(format_args!("constraint: {a}"));
    }
    unchecked_note(outcome, project);
}

/// The note, once, that the modules of inventory.instances are not checked (when they are not).
fn unchecked_note(outcome: &mut Outcome, project: &Project) {
    if let Some(why) = &project.unchecked {
        outcome.note(format_args!("note: {why}"));
    }
}

fn machine_index<V>(input: &Input<V>, name: &str) -> Result<usize, Failure> {
    input
        .machines
        .binary_search_by(|m| m.name.as_str().cmp(name))
        .map_err(|_| {
            let suggestion =
                inventory::did_you_mean(name, input.machines.iter().map(|m| m.name.as_str()));
            Failure::usage(machine_not_defined(name, suggestion.as_deref()))
        })
}

/// Runs `f` on the loaded input, or fails with every located error.
fn with_valid(
    project: &Project,
    f: impl FnOnce(&Input<Handle<'_>>) -> Result<Outcome, Failure>,
) -> Result<Outcome, Failure> {
    match project.load() {
        Ok(input) => f(&input),
        Err(_) => Err(Failure::report(invalid_report(
            project,
            &format!("{} is invalid", project.subject()),
        ))),
    }
}
