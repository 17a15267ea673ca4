//! Everything the core can tell about an inventory: errors (the input is rejected), warnings (it is
//! accepted, something in it does nothing) and failed constraints (the builtin turns them into NixOS
//! assertions). Each carries a structured [`AttrPath`] and typed data; text is made only here, by
//! the message functions at the end of this file, with the exact texts of docs/semantics.md. Their
//! twins in the pure-Nix implementation are the functions of the same names (camelCase) in
//! `nix/inventory/messages.nix`; `tests/nix/errors.nix` checks both against one table.

use std::fmt;

use super::path::AttrPath;
use super::schema::Record;
use super::Kind;

/// One problem with the input, at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The value at `path` has the wrong type.
    WrongType {
        path: AttrPath,
        expected: &'static str,
        found: Kind,
    },
    /// The value at `path` has the right type but a value out of range.
    BadValue {
        path: AttrPath,
        expected: &'static str,
        found: String,
    },
    /// An attribute set at `path`, of the shape `record`, has an attribute it does not know.
    UnknownAttribute {
        path: AttrPath,
        name: String,
        record: &'static Record,
    },
    /// A name or string at `path` is not UTF-8.
    NotUtf8 {
        path: AttrPath,
        what: &'static str,
        lossy: String,
    },
    /// A service with no module.
    NoModule {
        path: AttrPath,
        name: String,
        modules: Vec<String>,
    },
    /// A service name that would clash with the generated options.
    ReservedService { path: AttrPath, name: String },
    /// A machine name that `inventory.machines` does not define.
    UndefinedMachine {
        path: AttrPath,
        name: String,
        suggestion: Option<String>,
    },
    /// A role name the module does not define.
    UndefinedRole {
        path: AttrPath,
        role: String,
        module: String,
        roles: Vec<String>,
    },
    /// A constraint whose `min` is above its `max`.
    MinAboveMax { path: AttrPath, min: i64, max: i64 },
    /// A clan instance's `module.input` that `serviceModules` does not have.
    NoFlakeInput {
        path: AttrPath,
        input: String,
        inputs: Vec<String>,
    },
    /// A clan instance's `module.input` whose `serviceModules` entry is null.
    InputWithoutModules { path: AttrPath, input: String },
    /// A clan instance's `module.name` that its input does not publish.
    NoServiceModule {
        path: AttrPath,
        name: String,
        /// The resolved input (`self` for the clan's own modules).
        input: String,
        modules: Vec<String>,
    },
    /// A role of a clan instance that its clan service module does not define.
    UndefinedServiceRole {
        path: AttrPath,
        role: String,
        /// The service key, `<label>/<name>`.
        service: String,
        roles: Vec<String>,
    },
}

impl Error {
    /// Where the problem is.
    #[must_use]
    pub fn path(&self) -> &AttrPath {
        match self {
            Error::WrongType { path, .. }
            | Error::BadValue { path, .. }
            | Error::UnknownAttribute { path, .. }
            | Error::NotUtf8 { path, .. }
            | Error::NoModule { path, .. }
            | Error::ReservedService { path, .. }
            | Error::UndefinedMachine { path, .. }
            | Error::UndefinedRole { path, .. }
            | Error::MinAboveMax { path, .. }
            | Error::NoFlakeInput { path, .. }
            | Error::InputWithoutModules { path, .. }
            | Error::NoServiceModule { path, .. }
            | Error::UndefinedServiceRole { path, .. } => path,
        }
    }

    /// The name inside the value at [`Error::path`] that the problem is about, when it is one
    /// name: an unknown attribute, an undefined machine or role.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        match self {
            Error::UnknownAttribute { name, .. } | Error::UndefinedMachine { name, .. } => {
                Some(name)
            }
            Error::UndefinedRole { role, .. } | Error::UndefinedServiceRole { role, .. } => {
                Some(role)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&match self {
            Error::WrongType {
                path,
                expected,
                found,
            } => wrong_type(path, expected, found.describe()),
            Error::BadValue {
                path,
                expected,
                found,
            } => bad_value(path, expected, found),
            Error::UnknownAttribute { path, name, record } => {
                unknown_attribute(path, name, &record.names().collect::<Vec<_>>())
            }
            Error::NotUtf8 { path, what, lossy } => not_utf8(path, what, lossy),
            Error::NoModule {
                path,
                name,
                modules,
            } => no_module(path, name, modules),
            Error::ReservedService { path, name } => reserved_service(path, name),
            Error::UndefinedMachine {
                path,
                name,
                suggestion,
            } => undefined_machine(path, name, suggestion.as_deref()),
            Error::UndefinedRole {
                path,
                role,
                module,
                roles,
            } => undefined_role(path, role, module, roles),
            Error::MinAboveMax { path, min, max } => min_above_max(path, *min, *max),
            Error::NoFlakeInput {
                path,
                input,
                inputs,
            } => no_flake_input(path, input, inputs),
            Error::InputWithoutModules { path, input } => input_without_modules(path, input),
            Error::NoServiceModule {
                path,
                name,
                input,
                modules,
            } => no_service_module(path, name, input, modules),
            Error::UndefinedServiceRole {
                path,
                role,
                service,
                roles,
            } => undefined_service_role(path, role, service, roles),
        })
    }
}

impl std::error::Error for Error {}

/// Something in a valid input that has no effect (spec § 5); the builtin lists them in `warnings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// `path` (a `roles.<r>.tags` list) names a tag that no machine carries.
    UnmatchedTag {
        path: AttrPath,
        tag: String,
        /// The closest tag some machine carries.
        suggestion: Option<String>,
    },
    /// `path` (an instance's `machines.<m>`) is the entry of a machine that is in none of the
    /// instance's roles: its `config` and `extraModules` reach nobody (spec § 3.3).
    IgnoredMachineEntry { path: AttrPath, machine: String },
}

impl Warning {
    /// Where the warning points.
    #[must_use]
    pub fn path(&self) -> &AttrPath {
        match self {
            Warning::UnmatchedTag { path, .. } | Warning::IgnoredMachineEntry { path, .. } => path,
        }
    }

    /// The name inside the value at [`Warning::path`] that the warning is about.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        match self {
            Warning::UnmatchedTag { tag, .. } => Some(tag),
            Warning::IgnoredMachineEntry { .. } => None,
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&match self {
            Warning::UnmatchedTag {
                path,
                tag,
                suggestion,
            } => unmatched_tag(path, tag, suggestion.as_deref()),
            Warning::IgnoredMachineEntry { path, machine } => ignored_machine_entry(path, machine),
        })
    }
}

/// A constraint of the module that an enabled instance breaks: the message of a NixOS assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintFailure {
    pub service: String,
    pub instance: String,
    pub role: String,
    pub bound: Bound,
    /// The role's members, in member order.
    pub members: Vec<String>,
}

/// Which bound of a constraint failed, with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Fewer members than `min`.
    Min(i64),
    /// More members than `max`.
    Max(i64),
}

impl ConstraintFailure {
    /// The instance: `inventory.services.<svc>.<inst>`.
    #[must_use]
    pub fn path(&self) -> AttrPath {
        AttrPath::root("inventory")
            .attr("services")
            .attr(&self.service)
            .attr(&self.instance)
    }
}

impl fmt::Display for ConstraintFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ConstraintFailure {
            service,
            instance,
            role,
            bound,
            members,
        } = self;
        f.write_str(&match *bound {
            Bound::Min(min) => too_few_members(service, instance, role, min, members),
            Bound::Max(max) => too_many_members(service, instance, role, max, members),
        })
    }
}

/// A constraint of a clan service module that the instances break: the message of a NixOS
/// assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClanConstraintFailure {
    /// A role of instance `instance` has too few or too many members.
    Role {
        instance: String,
        role: String,
        bound: Bound,
        /// The role's members, in member order.
        members: Vec<String>,
    },
    /// The service `service` (its key) has more instances than `max`.
    Instances {
        service: String,
        max: i64,
        /// Its instances, sorted.
        instances: Vec<String>,
    },
}

impl ClanConstraintFailure {
    /// Where to look: the instance (`inventory.instances.<i>`), or `inventory.instances` for a
    /// service with too many of them.
    #[must_use]
    pub fn path(&self) -> AttrPath {
        let instances = AttrPath::root("inventory").attr("instances");
        match self {
            ClanConstraintFailure::Role { instance, .. } => instances.attr(instance),
            ClanConstraintFailure::Instances { .. } => instances,
        }
    }
}

impl fmt::Display for ClanConstraintFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&match self {
            ClanConstraintFailure::Role {
                instance,
                role,
                bound,
                members,
            } => {
                let path = AttrPath::root("inventory")
                    .attr("instances")
                    .attr(instance)
                    .to_string();
                match *bound {
                    Bound::Min(min) => role_needs_machines(&path, role, min, members),
                    Bound::Max(max) => role_allows_machines(&path, role, max, members),
                }
            }
            ClanConstraintFailure::Instances {
                service,
                max,
                instances,
            } => too_many_instances(service, *max, instances),
        })
    }
}

/// What stops an evaluation: invalid input, or an evaluation error of the source itself.
#[derive(Debug)]
pub enum Errors<E> {
    /// At least one problem with the input, in walk order.
    Invalid(Vec<Error>),
    /// The source failed to evaluate the structural value at `path` (a `throw` in `machines`, say).
    Source { path: AttrPath, error: E },
}

// --- The messages, one function each, in the order of docs/semantics.md. ----------------------

/// A list of names in a message; an empty one is `none`.
fn names<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `; did you mean '<name>'?`, or nothing.
#[must_use]
pub fn hint(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!("; did you mean '{s}'?"))
        .unwrap_or_default()
}

/// The hint for `bad` among `known`.
fn suggestion<S: AsRef<str>>(bad: &str, known: &[S]) -> String {
    hint(super::did_you_mean(bad, known.iter().map(AsRef::as_ref)).as_deref())
}

fn wrong_type(path: &AttrPath, expected: &str, found: &str) -> String {
    format!("{path}: expected {expected}, found {found}")
}

fn bad_value(path: &AttrPath, expected: &str, found: &str) -> String {
    format!("{path}: expected {expected}, found {found}")
}

fn unknown_attribute(path: &AttrPath, name: &str, known: &[&str]) -> String {
    format!(
        "{path}: unknown attribute '{name}' (attributes: {}){}",
        names(known),
        suggestion(name, known)
    )
}

fn not_utf8(path: &AttrPath, what: &str, lossy: &str) -> String {
    format!("{path}: {what} '{lossy}' is not valid UTF-8")
}

fn no_module(path: &AttrPath, name: &str, modules: &[String]) -> String {
    format!(
        "{path}: no module named '{name}' (modules: {}){}",
        names(modules),
        suggestion(name, modules)
    )
}

fn reserved_service(path: &AttrPath, name: &str) -> String {
    format!("{path}: the service name '{name}' is reserved (it would clash with clan.inventory)")
}

/// `machine '<m>' is not defined in inventory.machines[; did you mean '<n>'?]`: also the CLI's
/// message for a machine named on its command line.
#[must_use]
pub fn machine_not_defined(name: &str, suggestion: Option<&str>) -> String {
    format!(
        "machine '{name}' is not defined in inventory.machines{}",
        hint(suggestion)
    )
}

fn undefined_machine(path: &AttrPath, name: &str, suggestion: Option<&str>) -> String {
    format!("{path}: {}", machine_not_defined(name, suggestion))
}

fn undefined_role(path: &AttrPath, role: &str, module: &str, roles: &[String]) -> String {
    format!(
        "{path}: role '{role}' is not defined by module '{module}' (roles: {}){}",
        names(roles),
        suggestion(role, roles)
    )
}

fn min_above_max(path: &AttrPath, min: i64, max: i64) -> String {
    format!("{path}: min ({min}) is greater than max ({max})")
}

/// `tag '<t>' matches no machine[; did you mean '<u>'?]`: also the CLI's `select` warning.
#[must_use]
pub fn tag_matches_no_machine(tag: &str, suggestion: Option<&str>) -> String {
    format!("tag '{tag}' matches no machine{}", hint(suggestion))
}

fn unmatched_tag(path: &AttrPath, tag: &str, suggestion: Option<&str>) -> String {
    format!("{path}: {}", tag_matches_no_machine(tag, suggestion))
}

fn ignored_machine_entry(path: &AttrPath, machine: &str) -> String {
    format!("{path}: machine '{machine}' is in no role of the instance, so this entry is ignored")
}

fn no_flake_input(path: &AttrPath, input: &str, inputs: &[String]) -> String {
    format!(
        "{path}: no flake input '{input}' (inputs: {}){}",
        names(inputs),
        suggestion(input, inputs)
    )
}

fn input_without_modules(path: &AttrPath, input: &str) -> String {
    format!(
        "{path}: flake input '{input}' has no clan.modules (clan service modules are published as clan.modules.<name>)"
    )
}

fn no_service_module(path: &AttrPath, name: &str, input: &str, modules: &[String]) -> String {
    let source = if input == super::model::SELF {
        "the clan's own modules".to_owned()
    } else {
        format!("flake input '{input}'")
    };
    format!(
        "{path}: no clan service module '{name}' in {source} (modules: {}){}",
        names(modules),
        suggestion(name, modules)
    )
}

fn undefined_service_role(path: &AttrPath, role: &str, service: &str, roles: &[String]) -> String {
    format!(
        "{path}: role '{role}' is not defined by clan service module '{service}' (roles: {}){}",
        names(roles),
        suggestion(role, roles)
    )
}

fn role_needs_machines(path: &str, role: &str, min: i64, members: &[String]) -> String {
    format!(
        "{path}: role '{role}' needs at least {min} machines, has {}: {}",
        members.len(),
        names(members)
    )
}

fn role_allows_machines(path: &str, role: &str, max: i64, members: &[String]) -> String {
    format!(
        "{path}: role '{role}' allows at most {max} machines, has {}: {}",
        members.len(),
        names(members)
    )
}

fn too_many_instances(service: &str, max: i64, instances: &[String]) -> String {
    format!(
        "clan service '{service}' allows at most {max} instances, has {}: {}",
        instances.len(),
        names(instances)
    )
}

fn too_few_members(
    service: &str,
    instance: &str,
    role: &str,
    min: i64,
    members: &[String],
) -> String {
    format!(
        "{service}.{instance}: role '{role}' needs at least {min} machines, has {}: {}",
        members.len(),
        names(members)
    )
}

fn too_many_members(
    service: &str,
    instance: &str,
    role: &str,
    max: i64,
    members: &[String],
) -> String {
    format!(
        "{service}.{instance}: role '{role}' allows at most {max} machines, has {}: {}",
        members.len(),
        names(members)
    )
}

// `stringModuleWithoutDirectory` (`<path>[i]: the string module '<e>' needs 'directory' to be set`)
// is thrown by Nix when the entry is forced, so its Rust twin is Nix code: the helper expression
// `FIX_EXTRA_NO_DIR` in src/convert.rs.
