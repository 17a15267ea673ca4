//! The diagnostics of `validate`: every error of the core with the place in the file it points at,
//! then warnings, then failed constraints; as text lines (`FILE:LINE:COL: error: MESSAGE`, the form
//! editors and compilers use) or as JSON.

use std::path::PathBuf;

use serde::Serialize;

use super::locate::{locate, split_path, Refine, Step};
use super::project::Project;
use crate::inventory::json::JsonTree;
use crate::inventory::{decode, quote_attr, resolve, validate, warnings, Error, Errors};

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
    /// The attribute path the message starts with, when it has one.
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
    let input = match decode(&mut JsonTree::new(), &&project.args) {
        Ok(input) => input,
        Err(Errors::Invalid(errors)) => return errors_of(project, &errors),
        Err(Errors::Source { error, .. }) => match error {},
    };
    let invalid = validate(&input).err();
    let mut out = errors_of(project, invalid.as_deref().unwrap_or_default());
    for w in warnings(&input) {
        let tag = w
            .split_once(": tag '")
            .and_then(|(_, rest)| rest.split_once("' matches no machine"))
            .map(|(tag, _)| tag.to_owned());
        let refine = tag.as_deref().map_or(Refine::None, Refine::Name);
        out.push(place(project, Severity::Warning, w.clone(), refine));
    }
    if invalid.is_some() {
        return out;
    }
    let output = resolve(&input);
    for inst in &output.instances {
        for failure in &inst.failures {
            let mut d = place(
                project,
                Severity::Constraint,
                format!(
                    "inventory.services.{}.{}: {failure}",
                    quote_attr(inst.service),
                    quote_attr(inst.instance)
                ),
                Refine::None,
            );
            // The message is the builtin's assertion text; the path is only for placing it.
            d.message.clone_from(failure);
            out.push(d);
        }
    }
    out
}

fn errors_of(project: &Project, errors: &[Error]) -> Vec<Diagnostic> {
    errors
        .iter()
        .map(|e| place(project, Severity::Error, e.to_string(), refine(e)))
        .collect()
}

/// What inside the value at the error's path the error is about.
fn refine(e: &Error) -> Refine<'_> {
    match e {
        Error::UnknownAttribute { name, .. } | Error::UndefinedMachine { name, .. } => {
            Refine::Name(name)
        }
        Error::UndefinedRole { role, .. } => Refine::Name(role),
        _ => Refine::None,
    }
}

fn place(project: &Project, severity: Severity, message: String, refine: Refine<'_>) -> Diagnostic {
    let file = project.file.display().to_string();
    let Some((root, steps, rest)) = split_path(&message) else {
        return Diagnostic {
            severity,
            path: None,
            message,
            file,
            line: None,
            column: None,
        };
    };
    let path = Some(message[..message.len() - rest.len() - 2].to_owned());
    if let ("modules", Some(Step::Key(module))) = (root.as_str(), steps.first()) {
        // Constraints come from the module's README: no position inside the TOML.
        let readme: PathBuf = project.modules_dir.join(module).join("README.md");
        return Diagnostic {
            severity,
            path,
            message,
            file: readme.display().to_string(),
            line: None,
            column: None,
        };
    }
    let steps = if root == "inventory" { &steps[..] } else { &[] };
    let (line, column) = locate(&project.text, steps, refine);
    Diagnostic {
        severity,
        path,
        message,
        file,
        line: Some(line),
        column: Some(column),
    }
}
