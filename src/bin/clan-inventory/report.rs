//! The diagnostics of `validate`: every error of the core with the place in the file it points at,
//! then warnings, then failed constraints; as text lines (`FILE:LINE:COL: error: MESSAGE`, the form
//! editors and compilers use) or as JSON.

use std::path::PathBuf;

use serde::Serialize;

use super::clan::Clan;
use super::locate::Refine;
use super::project::Project;
use clan_inventory::inventory::{
    decode, resolve, validate, warnings, AttrPath, Error, Errors, Step,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Error,
    Warning,
    /// A failed constraint: the builtin turns it into a NixOS assertion, so the machines of the
    /// instance do not build.
    Constraint,
}

impl Severity {
    fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Constraint => "constraint",
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Diagnostic {
    pub(crate) severity: Severity,
    /// The attribute path of the problem, as the message shows it.
    pub(crate) path: Option<String>,
    /// The whole message, exactly as the builtin words it.
    pub(crate) message: String,
    /// The file the problem is in: the inventory, a Nix file, or a module's README for its
    /// constraints; `None` when Nix gives no file (a value written in `--expr`).
    pub(crate) file: Option<String>,
    /// Then: where it is instead, e.g. `the inventory argument of buildClan in --expr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<String>,
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
}

impl Diagnostic {
    pub(crate) fn text(&self) -> String {
        let mut place = self
            .file
            .clone()
            .or_else(|| self.source.clone())
            .unwrap_or_default();
        if let (Some(l), Some(c)) = (self.line, self.column) {
            place = format!("{place}:{l}:{c}");
        }
        format!("{place}: {}: {}", self.severity.word(), self.message)
    }
}

/// Every diagnostic of the project: structural errors if there are any; else reference errors,
/// then warnings (tags that match no machine), then, for a valid input, failed constraints.
pub(crate) fn diagnose(project: &Project) -> Vec<Diagnostic> {
    // A clan service module that fails to evaluate is an error; the rest is checked without it.
    let mut failed: Vec<Diagnostic> = project
        .service_modules_failure
        .iter()
        .map(|(path, message)| place(project, Severity::Error, path, message.clone(), None))
        .collect();
    failed.extend(diagnose_input(project));
    failed
}

fn diagnose_input(project: &Project) -> Vec<Diagnostic> {
    let (mut tree, root) = project.tree();
    let input = match decode(&mut tree, &root) {
        Ok(input) => input,
        Err(Errors::Invalid(errors)) => return errors_of(project, &errors),
        // A value of the Nix side that throws (or is not data): the builtin would stop there too.
        Err(Errors::Source { path, error }) => {
            let message = project.source_error(&path, error);
            return vec![place(project, Severity::Error, &path, message, None)];
        }
    };
    let invalid = validate(&input).err();
    let mut out = errors_of(project, invalid.as_deref().unwrap_or_default());
    for w in warnings(&input) {
        out.push(place(
            project,
            Severity::Warning,
            w.path(),
            w.to_string(),
            w.subject(),
        ));
    }
    if invalid.is_some() {
        return out;
    }
    let output = resolve(&input);
    for inst in &output.instances {
        for failure in &inst.failures {
            // The message is the builtin's assertion text; the path is only for placing it.
            out.push(place(
                project,
                Severity::Constraint,
                &failure.path(),
                failure.to_string(),
                None,
            ));
        }
    }
    for failure in &output.clan.assertions {
        out.push(place(
            project,
            Severity::Constraint,
            &failure.path(),
            failure.to_string(),
            None,
        ));
    }
    out
}

fn errors_of(project: &Project, errors: &[Error]) -> Vec<Diagnostic> {
    errors
        .iter()
        .map(|e| {
            place(
                project,
                Severity::Error,
                e.path(),
                e.to_string(),
                e.subject(),
            )
        })
        .collect()
}

/// The diagnostic of `message` about `path`, and about the name `subject` inside the value there
/// when there is one: placed in the inventory file, or in the module's README for its constraints.
fn place(
    project: &Project,
    severity: Severity,
    path: &AttrPath,
    message: String,
    subject: Option<&str>,
) -> Diagnostic {
    let file = project.file.display().to_string();
    if let ("modules", Some(Step::Attr(module))) = (path.root, path.steps.first()) {
        // Constraints come from the module's README: no position inside the TOML. In a whole
        // clan, a module of the `modules` argument has them where that argument puts them.
        let (file, at) = project
            .clan
            .as_ref()
            .and_then(|c| c.module_constraints_at(module))
            .unwrap_or_else(|| {
                let readme: PathBuf = project.modules_dir.join(module).join("README.md");
                (readme.display().to_string(), None)
            });
        return Diagnostic {
            severity,
            path: Some(path.to_string()),
            message,
            file: Some(file),
            source: None,
            line: at.map(|(l, _)| l),
            column: at.map(|(_, c)| c),
        };
    }
    if let ("serviceModules", Some(Step::Attr(input)), Some(Step::Attr(name))) =
        (path.root, path.steps.first(), path.steps.get(1))
    {
        // What the core reads of a clan service module: placed where the module is given.
        let (file, source, at) = match project
            .clan
            .as_ref()
            .and_then(|c| c.service_module_position(input, name))
        {
            Some((file, at)) => (Some(file), None, at),
            None => (
                None,
                project
                    .clan
                    .as_ref()
                    .map(|c| c.service_module_place(input, name)),
                None,
            ),
        };
        return Diagnostic {
            severity,
            path: Some(path.to_string()),
            message,
            file,
            source,
            line: at.map(|(l, _)| l),
            column: at.map(|(_, c)| c),
        };
    }
    let steps = if path.root == "inventory" {
        &path.steps[..]
    } else {
        &[]
    };
    if let Some(clan) = &project.clan {
        if let Some(place) = nix_place(project, clan, steps, subject) {
            return Diagnostic {
                severity,
                path: Some(path.to_string()),
                message,
                file: place.file,
                source: place.source,
                line: place.line,
                column: place.column,
            };
        }
    }
    let refine = subject.map_or(Refine::None, Refine::Name);
    let (line, column) = project.locate(steps, refine);
    Diagnostic {
        severity,
        path: Some(path.to_string()),
        message,
        file: Some(file),
        source: None,
        line: Some(line),
        column: Some(column),
    }
}

/// Where a diagnostic is when it is not in inventory.json.
struct Place {
    file: Option<String>,
    source: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
}

/// In a whole clan, where the value at `steps` (and the name `subject` in it) is written when
/// inventory.json does not hold it: the Nix file and position when Nix has one, else the
/// buildClan argument that holds it. `None` when inventory.json holds it, or when neither side
/// writes it and the clan has an inventory.json (then its nearest attribute is the place).
fn nix_place(
    project: &Project,
    clan: &Clan,
    steps: &[Step],
    subject: Option<&str>,
) -> Option<Place> {
    let names: Vec<&str> = steps
        .iter()
        .map_while(|s| match s {
            Step::Attr(a) => Some(a.as_str()),
            Step::Index(_) => None,
        })
        .collect();
    // The subject is an element of a list there, or an attribute of a set there.
    let mut with_subject = names.clone();
    let nix_holds = match subject {
        Some(name) if clan.listed_in_nix(&names, name).is_some() => true,
        Some(name) => {
            with_subject.push(name);
            clan.defined_in_nix(&with_subject).is_some()
        }
        None => !names.is_empty() && clan.defined_in_nix(&names).is_some(),
    };
    let has_file = clan.inventory_file.is_some();
    let file_holds = has_file
        && match subject {
            // In a list or set that both sides fill, the side that has the name.
            Some(name) if nix_holds => {
                let mut inner = steps.to_vec();
                inner.push(Step::Attr(name.to_owned()));
                project.file_lists(steps, name) || project.file_has(&inner)
            }
            _ => project.file_has(steps),
        };
    if file_holds {
        return None;
    }
    if nix_holds {
        let position = clan
            .nix_position(&with_subject)
            .or_else(|| clan.nix_position(&names));
        return Some(match position {
            Some((file, line, column)) => Place {
                file: Some(file),
                source: None,
                line: Some(line),
                column: Some(column),
            },
            None => Place {
                file: None,
                source: Some(clan.argument_place()),
                line: None,
                column: None,
            },
        });
    }
    (!has_file).then(|| Place {
        file: None,
        source: Some(format!("the buildClan call of {}", clan.source.describe())),
        line: None,
        column: None,
    })
}
