//! The diagnostics of `validate`: every error of the core with the place in the file it points at,
//! then warnings, then failed constraints; as text lines (`FILE:LINE:COL: error: MESSAGE`, the form
//! editors and compilers use) or as JSON.

use std::path::PathBuf;

use serde::Serialize;

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
    /// The file the problem is in: the inventory, or a module's README for its constraints.
    pub(crate) file: String,
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
}

impl Diagnostic {
    pub(crate) fn text(&self) -> String {
        let mut place = self.file.clone();
        if let (Some(l), Some(c)) = (self.line, self.column) {
            place = format!("{place}:{l}:{c}");
        }
        format!("{place}: {}: {}", self.severity.word(), self.message)
    }
}

/// Every diagnostic of the project: structural errors if there are any; else reference errors,
/// then warnings (tags that match no machine), then, for a valid input, failed constraints.
pub(crate) fn diagnose(project: &Project) -> Vec<Diagnostic> {
    let input = match decode(&mut project.tree(), &&project.args) {
        Ok(input) => input,
        Err(Errors::Invalid(errors)) => return errors_of(project, &errors),
        Err(Errors::Source { error, .. }) => match error {},
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
            file,
            line: at.map(|(l, _)| l),
            column: at.map(|(_, c)| c),
        };
    }
    let steps = if path.root == "inventory" {
        &path.steps[..]
    } else {
        &[]
    };
    // A whole clan: a value that only the Nix side writes is placed in its Nix file.
    if let Some(clan) = &project.clan {
        let names: Vec<&str> = steps
            .iter()
            .map_while(|s| match s {
                Step::Attr(a) => Some(a.as_str()),
                Step::Index(_) => None,
            })
            .collect();
        // In a list that both sides fill, the side that has the name the message is about.
        let in_file = match subject {
            Some(name) if clan.listed_in_nix(&names, name).is_some() => {
                project.file_lists(steps, name)
            }
            _ => project.file_has(steps),
        };
        if !steps.is_empty() && !in_file {
            if let Some((file, line, column)) = clan.nix_position(&names) {
                return Diagnostic {
                    severity,
                    path: Some(path.to_string()),
                    message,
                    file,
                    line: Some(line),
                    column: Some(column),
                };
            }
        }
    }
    let refine = subject.map_or(Refine::None, Refine::Name);
    let (line, column) = project.locate(steps, refine);
    Diagnostic {
        severity,
        path: Some(path.to_string()),
        message,
        file,
        line: Some(line),
        column: Some(column),
    }
}
