//! The pure inventory core: reads an inventory through the [`Tree`] abstraction, validates it,
//! and resolves roles into per-machine module lists. It knows nothing about Nix: the plugin and the
//! CLI each provide a [`Tree`] over their own values.
#![forbid(unsafe_code)]

mod decode;
mod error;
pub mod explain;
pub mod json;
mod model;
mod path;
mod resolve;
pub mod schema;
mod suggest;
mod tree;
mod validate;

#[cfg(test)]
mod tests;

pub use decode::decode;
pub use error::{
    hint, machine_not_defined, tag_matches_no_machine, Bound, ConstraintFailure, Error, Errors,
    Warning,
};
pub use model::{
    Constraint, Input, Instance, InstanceMachine, Machine, MachineClass, Module, Role, Service,
};
pub use path::{quote_attr, AttrPath, Step};
pub use resolve::{
    by_instance, resolve, warnings, ExtraList, ExtraOrigin, InstanceOutput, MachineOutput,
    Membership, ModuleItem, Output, Resolution, ServiceRoles, Visit,
};
pub use suggest::did_you_mean;
pub use tree::{Kind, Text, Tree};
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
