//! Everything that can be wrong with an inventory, with the exact texts of docs/semantics.md.

use std::fmt;

use super::Kind;

/// One problem with the input. `path` is already rendered (see `path.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The value at `path` has the wrong type.
    WrongType {
        path: String,
        expected: &'static str,
        found: Kind,
    },
    /// The value at `path` has the right type but a value out of range.
    BadValue {
        path: String,
        expected: &'static str,
        found: String,
    },
    /// An attribute set at `path` has an attribute it does not know.
    UnknownAttribute {
        path: String,
        name: String,
        known: &'static [&'static str],
    },
    /// A name or string at `path` is not UTF-8.
    NotUtf8 {
        path: String,
        what: &'static str,
        lossy: String,
    },
    /// A service with no module.
    NoModule {
        path: String,
        name: String,
        modules: Vec<String>,
    },
    /// A service name that would clash with the generated options.
    ReservedService { path: String, name: String },
    /// A machine name that `inventory.machines` does not define.
    UndefinedMachine {
        path: String,
        name: String,
        suggestion: Option<String>,
    },
    /// A role name the module does not define.
    UndefinedRole {
        path: String,
        role: String,
        module: String,
        roles: Vec<String>,
    },
    /// A constraint whose `min` is above its `max`.
    MinAboveMax { path: String, min: i64, max: i64 },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn suggestion(bad: &str, known: &[String]) -> String {
    super::did_you_mean(bad, known.iter().map(String::as_str))
        .map(|s| format!("; did you mean '{s}'?"))
        .unwrap_or_default()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WrongType {
                path,
                expected,
                found,
            } => {
                write!(f, "{path}: expected {expected}, found {}", found.describe())
            }
            Error::BadValue {
                path,
                expected,
                found,
            } => write!(f, "{path}: expected {expected}, found {found}"),
            Error::UnknownAttribute { path, name, known } => {
                let known: Vec<String> = known.iter().map(|s| (*s).to_owned()).collect();
                write!(
                    f,
                    "{path}: unknown attribute '{name}' (attributes: {}){}",
                    list(&known),
                    suggestion(name, &known)
                )
            }
            Error::NotUtf8 { path, what, lossy } => {
                write!(f, "{path}: {what} '{lossy}' is not valid UTF-8")
            }
            Error::NoModule {
                path,
                name,
                modules,
            } => {
                write!(
                    f,
                    "{path}: no module named '{name}' (modules: {}){}",
                    list(modules),
                    suggestion(name, modules)
                )
            }
            Error::ReservedService { path, name } => {
                write!(f, "{path}: the service name '{name}' is reserved (it would clash with clan.inventory)")
            }
            Error::UndefinedMachine {
                path,
                name,
                suggestion,
            } => {
                write!(
                    f,
                    "{path}: machine '{name}' is not defined in inventory.machines"
                )?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean '{s}'?"),
                    None => Ok(()),
                }
            }
            Error::UndefinedRole {
                path,
                role,
                module,
                roles,
            } => write!(
                f,
                "{path}: role '{role}' is not defined by module '{module}' (roles: {}){}",
                list(roles),
                suggestion(role, roles)
            ),
            Error::MinAboveMax { path, min, max } => {
                write!(f, "{path}: min ({min}) is greater than max ({max})")
            }
        }
    }
}

impl std::error::Error for Error {}

/// What stops an evaluation: invalid input, or an evaluation error of the source itself.
#[derive(Debug)]
pub enum Errors<E> {
    /// At least one problem with the input, in walk order.
    Invalid(Vec<Error>),
    /// The source failed to evaluate the structural value at `path` (a `throw` in `machines`, say).
    Source { path: String, error: E },
}
