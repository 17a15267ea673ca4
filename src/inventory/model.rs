//! The inventory as plain data. Values the evaluator must not force or copy (configs, modules,
//! extra modules) stay as handles of the source, of type `V`.

/// `machineClass` of a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MachineClass {
    #[default]
    Nixos,
    Darwin,
}

impl MachineClass {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MachineClass::Nixos => "nixos",
            MachineClass::Darwin => "darwin",
        }
    }
}

/// The decoded argument of `clanInventory`. Every list of named things is sorted by name.
#[derive(Debug)]
pub struct Input<V> {
    pub machines: Vec<Machine<V>>,
    /// `inventory.tags`: tag name and its machines, in the order given.
    pub tags: Vec<(String, Vec<String>)>,
    pub services: Vec<Service<V>>,
    pub modules: Vec<Module<V>>,
    /// `directory`, when given and not null.
    pub directory: Option<V>,
}

#[derive(Debug)]
pub struct Machine<V> {
    pub name: String,
    pub tags: Vec<String>,
    pub class: MachineClass,
    pub target_host: Option<V>,
    pub build_host: Option<V>,
}

#[derive(Debug)]
pub struct Module<V> {
    pub name: String,
    /// Role name and its module value, sorted by role name.
    pub roles: Vec<(String, V)>,
    /// Role name and its constraint, sorted by role name.
    pub constraints: Vec<(String, Constraint)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Constraint {
    pub min: i64,
    pub max: Option<i64>,
}

#[derive(Debug)]
pub struct Service<V> {
    pub name: String,
    pub instances: Vec<Instance<V>>,
}

#[derive(Debug)]
pub struct Instance<V> {
    pub name: String,
    pub enabled: bool,
    pub config: Option<V>,
    pub extra_modules: Vec<V>,
    /// `machines.<m>`, sorted by machine name.
    pub machines: Vec<InstanceMachine<V>>,
    /// `roles.<r>`, sorted by role name.
    pub roles: Vec<Role<V>>,
}

#[derive(Debug)]
pub struct InstanceMachine<V> {
    pub name: String,
    pub config: Option<V>,
    pub extra_modules: Vec<V>,
}

#[derive(Debug)]
pub struct Role<V> {
    pub name: String,
    pub machines: Vec<String>,
    pub tags: Vec<String>,
    pub config: Option<V>,
    pub extra_modules: Vec<V>,
}
