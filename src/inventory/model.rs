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

/// A name the model keeps once per machine or more often (machine names, tags, `machines.<m>`
/// entries): stored inline up to 24 bytes, so that decoding a large fleet does not allocate a
/// string for each one (an allocation is about 170 instructions under Nix's heap).
pub type Name = compact_str::CompactString;

/// The decoded argument of `clanInventory`. Every list of named things is sorted by name.
#[derive(Debug)]
pub struct Input<V> {
    pub machines: Vec<Machine<V>>,
    /// `inventory.tags`: tag name and its machines, in the order given.
    pub tags: Vec<(String, Vec<Name>)>,
    pub services: Vec<Service<V>>,
    pub modules: Vec<Module<V>>,
    /// `directory`, when given and not null.
    pub directory: Option<V>,
    /// `inventory.instances`: instances of clan services, sorted by name.
    pub instances: Vec<ClanInstance<V>>,
    /// `serviceModules`: the flake inputs by name, sorted; each read only as far as an instance
    /// needs it (docs/semantics.md, "The argument").
    pub service_modules: Vec<FlakeInput>,
}

#[derive(Debug)]
pub struct Machine<V> {
    pub name: Name,
    pub tags: Vec<Name>,
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
    pub name: Name,
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

/// `inventory.instances.<i>`: an instance of a clan service module.
#[derive(Debug)]
pub struct ClanInstance<V> {
    pub name: String,
    pub module: ModuleRef,
    /// `roles.<r>`, sorted by role name.
    pub roles: Vec<ClanRole<V>>,
}

/// `inventory.instances.<i>.module`, with its defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRef {
    /// `module.name`: the instance's name when not given.
    pub name: String,
    /// `module.input`: `None` when not given or null.
    pub input: Option<String>,
}

/// The flake input a clan instance's module comes from when its `module.input` is null.
pub const CLAN_CORE: &str = "clan-core";
/// The clan's own modules, as an input name.
pub const SELF: &str = "self";

impl ModuleRef {
    /// The input this reference resolves to among `inputs` (sorted by name): `module.input`, or
    /// `clan-core` when null and `inputs` has one, else `self`.
    #[must_use]
    pub fn resolved_input<'a>(&'a self, inputs: &[FlakeInput]) -> &'a str {
        match &self.input {
            Some(input) => input,
            None if inputs
                .binary_search_by(|i| i.name.as_str().cmp(CLAN_CORE))
                .is_ok() =>
            {
                CLAN_CORE
            }
            None => SELF,
        }
    }

    /// The service key, `<label>/<name>`: instances with the same key are one service. `<label>`
    /// is `<clan-core>` for the `clan-core` input, else the input's name.
    #[must_use]
    pub fn key(&self, inputs: &[FlakeInput]) -> String {
        service_key(self.resolved_input(inputs), &self.name)
    }
}

/// The service key of module `name` of flake input `input` (see [`ModuleRef::key`]).
#[must_use]
pub fn service_key(input: &str, name: &str) -> String {
    if input == CLAN_CORE {
        format!("<{CLAN_CORE}>/{name}")
    } else {
        format!("{input}/{name}")
    }
}

/// `inventory.instances.<i>.roles.<r>`.
#[derive(Debug)]
pub struct ClanRole<V> {
    pub name: String,
    /// `machines.<m>`, sorted by machine name.
    pub machines: Vec<RoleMachine<V>>,
    /// `tags`: in list order for the list form, sorted for the attribute form.
    pub tags: Vec<RoleTag<V>>,
    /// Which form `tags` was written in.
    pub tag_form: TagForm,
    /// `settings`, when given: never forced.
    pub settings: Option<V>,
    pub extra_modules: Vec<V>,
}

/// `roles.<r>.machines.<m>`.
#[derive(Debug)]
pub struct RoleMachine<V> {
    pub name: String,
    pub settings: Option<V>,
}

/// A tag of a role: an element of the list form (no settings), or `tags.<t>` of the attribute
/// form (its `settings`, when given).
#[derive(Debug)]
pub struct RoleTag<V> {
    pub name: String,
    pub settings: Option<V>,
}

/// How a role's `tags` were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagForm {
    /// `tags = [ "<t>" ... ]`.
    #[default]
    List,
    /// `tags.<t>.settings = ...`.
    Attrs,
}

/// `serviceModules.<input>`.
#[derive(Debug)]
pub struct FlakeInput {
    pub name: String,
    pub modules: InputModules,
}

/// What is known of a flake input's clan service modules.
#[derive(Debug)]
pub enum InputModules {
    /// No instance resolves to this input, so it was not read.
    Unread,
    /// `null`: the input publishes no `clan.modules`.
    Null,
    /// Its modules by name, sorted.
    Modules(Vec<ServiceModule>),
}

/// `serviceModules.<input>.<name>`.
#[derive(Debug)]
pub struct ServiceModule {
    pub name: String,
    /// What the core reads of it: only for a module some instance uses.
    pub spec: Option<ServiceSpec>,
}

/// The part of a clan service module the core reads: its role names and `manifest.constraints`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// `roles` names, sorted.
    pub roles: Vec<String>,
    /// `manifest.constraints.maxInstances`.
    pub max_instances: Option<i64>,
    /// `manifest.constraints.roles.<r>`, sorted by role name.
    pub role_constraints: Vec<(String, MachineBounds)>,
}

/// `manifest.constraints.roles.<r>`: how many members a role of each instance may have.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MachineBounds {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl FlakeInput {
    /// Module `name` of this input, if it is read and has it.
    #[must_use]
    pub fn module(&self, name: &str) -> Option<&ServiceModule> {
        match &self.modules {
            InputModules::Modules(ms) => ms
                .binary_search_by(|m| m.name.as_str().cmp(name))
                .ok()
                .map(|i| &ms[i]),
            InputModules::Unread | InputModules::Null => None,
        }
    }
}

impl<V> Input<V> {
    /// The flake input called `name`.
    #[must_use]
    pub fn flake_input(&self, name: &str) -> Option<&FlakeInput> {
        self.service_modules
            .binary_search_by(|i| i.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.service_modules[i])
    }

    /// The spec of the module instance `inst` uses, when it resolves.
    #[must_use]
    pub fn service_spec(&self, inst: &ClanInstance<V>) -> Option<&ServiceSpec> {
        self.flake_input(inst.module.resolved_input(&self.service_modules))?
            .module(&inst.module.name)?
            .spec
            .as_ref()
    }

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
            instances: each(self.instances, |i| i.try_map(&mut *f))?,
            service_modules: self.service_modules,
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

impl<V> ClanInstance<V> {
    fn try_map<W, E>(self, f: &mut impl FnMut(V) -> Result<W, E>) -> Result<ClanInstance<W>, E> {
        Ok(ClanInstance {
            name: self.name,
            module: self.module,
            roles: each(self.roles, |r| {
                Ok(ClanRole {
                    name: r.name,
                    machines: each(r.machines, |m| {
                        Ok(RoleMachine {
                            name: m.name,
                            settings: m.settings.map(&mut *f).transpose()?,
                        })
                    })?,
                    tags: each(r.tags, |t| {
                        Ok(RoleTag {
                            name: t.name,
                            settings: t.settings.map(&mut *f).transpose()?,
                        })
                    })?,
                    tag_form: r.tag_form,
                    settings: r.settings.map(&mut *f).transpose()?,
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
