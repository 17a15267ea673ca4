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

impl<V> Input<V> {
    /// The same input with `f` applied to every value handle; stops at the first error.
    ///
    /// # Errors
    /// The first error of `f`.
    pub fn try_map<W, E>(self, mut f: impl FnMut(V) -> Result<W, E>) -> Result<Input<W>, E> {
        let f = &mut f;
        Ok(Input {
            machines: each(self.machines, |m| {
                Ok(Machine {
                    name: m.name,
                    tags: m.tags,
                    class: m.class,
                    target_host: m.target_host.map(&mut *f).transpose()?,
                    build_host: m.build_host.map(&mut *f).transpose()?,
                })
            })?,
            tags: self.tags,
            services: each(self.services, |s| {
                Ok(Service {
                    name: s.name,
                    instances: each(s.instances, |i| i.try_map(&mut *f))?,
                })
            })?,
            modules: each(self.modules, |m| {
                Ok(Module {
                    name: m.name,
                    roles: each(m.roles, |(r, v)| Ok((r, f(v)?)))?,
                    constraints: m.constraints,
                })
            })?,
            directory: self.directory.map(&mut *f).transpose()?,
        })
    }
}

impl<V> Instance<V> {
    fn try_map<W, E>(self, f: &mut impl FnMut(V) -> Result<W, E>) -> Result<Instance<W>, E> {
        Ok(Instance {
            name: self.name,
            enabled: self.enabled,
            config: self.config.map(&mut *f).transpose()?,
            extra_modules: each(self.extra_modules, &mut *f)?,
            machines: each(self.machines, |m| {
                Ok(InstanceMachine {
                    name: m.name,
                    config: m.config.map(&mut *f).transpose()?,
                    extra_modules: each(m.extra_modules, &mut *f)?,
                })
            })?,
            roles: each(self.roles, |r| {
                Ok(Role {
                    name: r.name,
                    machines: r.machines,
                    tags: r.tags,
                    config: r.config.map(&mut *f).transpose()?,
                    extra_modules: each(r.extra_modules, &mut *f)?,
                })
            })?,
        })
    }
}

/// `f` applied to every element; stops at the first error.
fn each<T, U, E>(items: Vec<T>, f: impl FnMut(T) -> Result<U, E>) -> Result<Vec<U>, E> {
    items.into_iter().map(f).collect()
}
