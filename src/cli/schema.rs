//! `schema`: the JSON Schema of `inventory.json`, derived from Rust types that mirror, attribute
//! for attribute, what the core's decoder accepts (docs/semantics.md, phase 1). Values the core
//! never looks at (`meta`, `config`, `description`, `extraModules` entries) accept anything.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// The inventory of a clan: its machines, global tags and service instances.
#[allow(dead_code)] // read by schemars only
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "clan inventory")]
struct Inventory {
    /// Passed through unchanged (name, description, icon of the clan).
    #[serde(default)]
    meta: Value,
    /// The machines of the clan, by name.
    #[serde(default)]
    machines: BTreeMap<String, Machine>,
    /// Global tags: each tag names the machines that carry it.
    #[serde(default)]
    tags: BTreeMap<String, Vec<String>>,
    /// Service instances: `services.<module>.<instance>`.
    #[serde(default)]
    services: BTreeMap<String, BTreeMap<String, Instance>>,
}

/// A machine of the clan.
// `machineClass` is the file's name for it.
#[allow(dead_code, clippy::struct_field_names)]
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Machine {
    /// Tags of the machine; roles select machines by tag.
    #[serde(default)]
    tags: Vec<String>,
    /// Where the machine is deployed and built.
    #[serde(default)]
    deploy: Deploy,
    /// `nixos` (the default) or `darwin`; also a computed tag.
    #[serde(default)]
    machine_class: MachineClass,
    /// Passed through unchanged.
    #[serde(default)]
    description: Value,
    /// Passed through unchanged.
    #[serde(default)]
    icon: Value,
    /// Passed through unchanged.
    #[serde(default)]
    name: Value,
}

#[allow(dead_code)]
#[derive(Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Deploy {
    /// Becomes `clan.core.networking.targetHost`, e.g. `root@jon`.
    #[serde(default)]
    target_host: Option<String>,
    /// Becomes `clan.core.networking.buildHost`.
    #[serde(default)]
    build_host: Option<String>,
}

#[derive(Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum MachineClass {
    #[default]
    Nixos,
    Darwin,
}

/// One instance of a service: which machines have which roles, and their configuration.
#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Instance {
    /// A disabled instance is validated but gives nothing to any machine.
    #[serde(default = "yes")]
    enabled: bool,
    /// Passed through unchanged.
    #[serde(default)]
    meta: Value,
    /// Instance-wide `clan.<service>` configuration, merged first.
    #[serde(default)]
    config: Value,
    /// Modules every member imports; a string is a path relative to the inventory's directory.
    #[serde(default)]
    extra_modules: Vec<Value>,
    /// Per-machine configuration; it does not make the machine a member.
    #[serde(default)]
    machines: BTreeMap<String, InstanceMachine>,
    /// The roles of the instance, each with its members.
    #[serde(default)]
    roles: BTreeMap<String, Role>,
}

fn yes() -> bool {
    true
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InstanceMachine {
    /// `clan.<service>` configuration of this machine, merged after the instance's.
    #[serde(default)]
    config: Value,
    /// Modules this machine imports for the instance.
    #[serde(default)]
    extra_modules: Vec<Value>,
}

/// A role of an instance: its members are the machines listed, then those carrying the tags.
#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Role {
    /// Members by name, in order.
    #[serde(default)]
    machines: Vec<String>,
    /// Members by tag: every machine carrying the tag, sorted by name.
    #[serde(default)]
    tags: Vec<String>,
    /// `clan.<service>` configuration of the role's members, merged last.
    #[serde(default)]
    config: Value,
    /// Modules the role's members import.
    #[serde(default)]
    extra_modules: Vec<Value>,
}

/// The schema, pretty-printed.
pub(crate) fn schema() -> String {
    let schema = schemars::schema_for!(Inventory);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
