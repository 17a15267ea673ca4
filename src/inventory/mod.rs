//! The pure inventory core: reads an inventory through the [`Tree`] abstraction, validates it,
//! and resolves roles into per-machine module lists. It knows nothing about Nix: the plugin and the
//! CLI each provide a [`Tree`] over their own values.
#![forbid(unsafe_code)]

mod clan_services;
mod decode;
mod error;
pub mod explain;
pub mod json;
mod model;
mod path;
mod resolve;
mod roster;
pub mod schema;
mod suggest;
mod tree;
mod validate;

#[cfg(test)]
mod tests;

pub use clan_services::{
    role_path, ClanInstanceOutput, ClanMembership, ClanResolution, ClanRoleOutput,
    ClanServiceOutput, SettingsDef, SettingsSource,
};
pub use decode::decode;
pub use error::{
    hint, machine_not_defined, tag_matches_no_machine, Bound, ClanConstraintFailure,
    ConstraintFailure, Error, Errors, Warning,
};
pub use model::{
    service_key, ClanInstance, ClanRole, Constraint, FlakeInput, Input, InputModules, Instance,
    InstanceMachine, Machine, MachineBounds, MachineClass, Module, ModuleRef, Name, Role,
    RoleMachine, RoleTag, Service, ServiceModule, ServiceSpec, TagForm, CLAN_CORE, SELF,
};
pub use path::{quote_attr, AttrPath, Step};
pub use resolve::{
    by_instance, resolve, warnings, ExtraList, ExtraOrigin, InstanceOutput, MachineOutput,
    Membership, ModuleItem, Output, Resolution, ResolvedInstance, ServiceRoles, Visit,
};
pub use roster::{Reason, Roster};
pub use suggest::did_you_mean;
pub use tree::{FromText, Kind, Text, Tree};
pub use validate::validate;

/// Decodes and validates: phase 1, then phase 2 when phase 1 found nothing.
///
/// # Errors
/// Every structural error if there is any, else every reference error, in walk order; or the
/// tree's own evaluation error, which stops decoding at once.
pub fn load<T: Tree>(tree: &mut T, root: &T::Value) -> Result<Input<T::Value>, Errors<T::Error>> {
    let input = decode(tree, root)?;
    validate(&input).map_err(Errors::Invalid)?;
    Ok(input)
}
