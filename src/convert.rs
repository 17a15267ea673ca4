//! Nix values to and from the inventory model, in safe code: a [`Tree`] over the primop's
//! argument, and the encoding of a resolution as the builtin's result.

use rustc_hash::FxHashMap as HashMap;
use std::hash::{Hash, Hasher};

use crate::inventory::{Input, Kind, MachineOutput, ModuleItem, Output, ServiceRoles, Text, Tree};
use crate::nix::{AttrsBuilder, Error, State, Type, Value};

/// Reads the argument of the primop. Handles point into the argument itself, so nothing is copied
/// and only structural values are forced.
pub(crate) struct NixTree<'a, 's> {
    st: &'a State<'s>,
}

impl<'a, 's> NixTree<'a, 's> {
    pub(crate) fn new(st: &'a State<'s>) -> Self {
        NixTree { st }
    }
}

fn name_bytes(name: &Text) -> &[u8] {
    match name {
        Ok(s) => s.as_bytes(),
        Err(b) => b,
    }
}

impl<'s> Tree for NixTree<'_, 's> {
    type Value = Value<'s>;
    type Error = Error;

    fn kind(&mut self, v: &Value<'s>) -> Result<Kind, Error> {
        Ok(match self.st.force(v)? {
            Type::Int => Kind::Int,
            Type::Float => Kind::Float,
            Type::Bool => Kind::Bool,
            Type::String => Kind::String,
            Type::Path => Kind::Path,
            Type::Null => Kind::Null,
            Type::Attrs => Kind::Attrs,
            Type::List => Kind::List,
            Type::Function => Kind::Function,
            Type::External => Kind::External,
            t @ (Type::Thunk | Type::Other) => {
                return Err(Error(format!(
                    "internal error: value of type {t:?} after forcing"
                )))
            }
        })
    }

    fn attrs(&mut self, v: &Value<'s>) -> Result<Vec<(Text, Value<'s>)>, Error> {
        let raw = self.st.attrs_lazy(v)?;
        let mut out = Vec::with_capacity(raw.len());
        for (name, value) in raw {
            let bytes = name.to_bytes();
            let name = std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| bytes.to_vec());
            out.push((name, value));
        }
        // Nix keeps attributes in symbol order; the model wants byte order, as attrNames gives.
        out.sort_unstable_by(|(a, _), (b, _)| name_bytes(a).cmp(name_bytes(b)));
        Ok(out)
    }

    fn list(&mut self, v: &Value<'s>) -> Result<Vec<Value<'s>>, Error> {
        self.st.list_lazy(v)
    }

    fn string(&mut self, v: &Value<'s>) -> Result<Text, Error> {
        Ok(String::from_utf8(self.st.string(v)?).map_err(std::string::FromUtf8Error::into_bytes))
    }

    fn int(&mut self, v: &Value<'s>) -> Result<i64, Error> {
        self.st.int(v)
    }

    fn bool(&mut self, v: &Value<'s>) -> Result<bool, Error> {
        self.st.bool(v)
    }
}

/// Turns `extraModules` entries into modules, lazily: a string is taken relative to `directory`.
const FIX_EXTRA: &std::ffi::CStr = c"dir: e: if builtins.isString e then dir + \"/${e}\" else e";
/// The same when there is no `directory`: a string entry throws when forced.
const FIX_EXTRA_NO_DIR: &std::ffi::CStr =
    c"where: e: if builtins.isString e then throw \"${where}: the string module '${e}' needs 'directory' to be set\" else e";

/// The key of a generated module: its instance and the addresses of its config layers. Compared
/// by address, so a lookup needs no allocation.
struct LayersKey<'i, 's>(usize, &'i [&'i Value<'s>]);

impl Hash for LayersKey<'_, '_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.hash(h);
        for v in self.1 {
            v.address().hash(h);
        }
    }
}

impl PartialEq for LayersKey<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
            && self.1.len() == other.1.len()
            && self
                .1
                .iter()
                .zip(other.1)
                .all(|(a, b)| a.address() == b.address())
    }
}

impl Eq for LayersKey<'_, '_> {}

/// Where an element of a machine's module list lives while the list is built: nothing is cloned
/// (every clone and drop is a reference-count update in Nix's global table).
#[derive(Clone, Copy)]
enum Slot<'i, 's> {
    /// A value of the argument.
    Input(&'i Value<'s>),
    /// A value shared between machines, in `Encoder::shared`.
    Shared(usize),
    /// A value made for this machine only.
    Own(usize),
}

/// Builds the builtin's result from a resolution, sharing every value that is the same for many
/// machines (names, tag and role lists, service entries, generated modules without per-machine
/// config).
pub(crate) struct Encoder<'a, 'i, 's> {
    st: &'a State<'s>,
    input: &'i Input<Value<'s>>,
    output: &'i Output<'i, Value<'s>>,
    strings: HashMap<&'i str, Value<'s>>,
    /// String lists by content (machine tags, a machine's roles in an instance).
    lists: HashMap<&'i [&'i str], Value<'s>>,
    /// `{ roles = [ ... ]; }` by the roles.
    role_entries: HashMap<&'i [&'i str], Value<'s>>,
    /// `{ <inst> = { roles = ...; }; }` of one service, by the memberships in it.
    service_entries: HashMap<&'i [ServiceRoles<'i>], Value<'s>>,
    /// A machine's whole `services`, by its memberships.
    machine_services: HashMap<&'i [ServiceRoles<'i>], Value<'s>>,
    /// One string value per machine name, made on first use, in `Input::machines` order.
    names: Vec<Value<'s>>,
    /// Role member lists by content (many instances fill a role with the same tag).
    member_lists: HashMap<&'i [usize], Value<'s>>,
    /// Module values shared between machines (generated modules, wrapped extra modules).
    shared: Vec<Value<'s>>,
    generated_at: HashMap<LayersKey<'i, 's>, usize>,
    extras_at: HashMap<usize, usize>,
    /// Per instance: `{ <role> = { machines = [ ... ]; }; }`.
    role_sets: Vec<Option<Value<'s>>>,
    /// Per instance: the assertions of its failed constraints, and the list of them.
    failures: Vec<Option<(Vec<Value<'s>>, Value<'s>)>>,
    constraint_modules_at: HashMap<usize, usize>,
    fix_extra: Option<Value<'s>>,
    fix_extra_no_dir: Option<Value<'s>>,
    /// Run after each machine: a forced collection under the GC-stress test hook.
    after_machine: fn(),
}

impl<'a, 'i, 's> Encoder<'a, 'i, 's> {
    pub(crate) fn new(
        st: &'a State<'s>,
        input: &'i Input<Value<'s>>,
        output: &'i Output<'i, Value<'s>>,
    ) -> Self {
        let n = output.instances.len();
        Encoder {
            st,
            input,
            output,
            strings: HashMap::default(),
            lists: HashMap::default(),
            role_entries: HashMap::default(),
            service_entries: HashMap::default(),
            machine_services: HashMap::default(),
            shared: Vec::new(),
            names: Vec::new(),
            member_lists: HashMap::default(),
            generated_at: HashMap::default(),
            extras_at: HashMap::default(),
            role_sets: (0..n).map(|_| None).collect(),
            failures: (0..n).map(|_| None).collect(),
            constraint_modules_at: HashMap::default(),
            fix_extra: None,
            fix_extra_no_dir: None,
            after_machine: || {},
        }
    }

    /// Runs `f` after encoding each machine (the GC-stress test hook forces collections there).
    #[must_use]
    pub(crate) fn after_each_machine(mut self, f: fn()) -> Self {
        self.after_machine = f;
        self
    }

    fn string(&mut self, s: &'i str) -> Result<Value<'s>, Error> {
        if let Some(v) = self.strings.get(s) {
            return Ok(v.clone());
        }
        let v = self.st.new_string(s)?;
        self.strings.insert(s, v.clone());
        Ok(v)
    }

    fn string_list<I>(&mut self, items: I) -> Result<Value<'s>, Error>
    where
        I: IntoIterator<Item = &'i str>,
    {
        let values = items
            .into_iter()
            .map(|s| self.string(s))
            .collect::<Result<Vec<_>, _>>()?;
        self.st.new_list(values.iter())
    }

    /// A list of strings, shared with every other list of the same strings.
    fn shared_list(&mut self, items: &'i [&'i str]) -> Result<Value<'s>, Error> {
        if let Some(v) = self.lists.get(items) {
            return Ok(v.clone());
        }
        let v = self.string_list(items.iter().copied())?;
        self.lists.insert(items, v.clone());
        Ok(v)
    }

    /// Keeps a value for sharing; its index in `shared`.
    fn share(&mut self, v: Value<'s>) -> usize {
        self.shared.push(v);
        self.shared.len() - 1
    }

    fn attrs(&self, entries: &[(&str, &Value<'s>)]) -> Result<Value<'s>, Error> {
        let mut b = self.st.attrs_builder(entries.len())?;
        for (k, v) in entries {
            b.insert(k, v)?;
        }
        b.finish()
    }

    /// The whole result, written into the primop's return slot.
    pub(crate) fn encode_into(mut self, ret: &Value<'s>) -> Result<(), Error> {
        let output = self.output;
        let mut machines = self.st.attrs_builder(output.machines.len())?;
        for m in &output.machines {
            let value = self.machine(m)?;
            machines.insert(m.name, &value)?;
            (self.after_machine)();
        }
        let machines = machines.finish()?;
        let services = self.services()?;
        let warnings = self.string_list(output.warnings.iter().map(String::as_str))?;
        let mut assertions = Vec::new();
        for (i, inst) in output.instances.iter().enumerate() {
            if !inst.failures.is_empty() {
                assertions.extend(self.failures(i)?.0);
            }
        }
        let assertions = self.st.new_list(assertions.iter())?;
        let mut result = self.st.attrs_builder(4)?;
        result.insert("assertions", &assertions)?;
        result.insert("machines", &machines)?;
        result.insert("services", &services)?;
        result.insert("warnings", &warnings)?;
        result.finish_into(ret)
    }

    fn machine(&mut self, m: &'i MachineOutput<'i, Value<'s>>) -> Result<Value<'s>, Error> {
        let tags = self.shared_list(&m.tags)?;
        let mut own = Vec::new();
        let mut slots = Vec::with_capacity(m.modules.len());
        for item in &m.modules {
            slots.push(self.module(m.name, item, &mut own)?);
        }
        let shared = &self.shared;
        let modules = self.st.new_list(slots.iter().map(|slot| match *slot {
            Slot::Input(v) => v,
            Slot::Shared(i) => &shared[i],
            Slot::Own(i) => &own[i],
        }))?;
        let services = self.machine_services(m)?;
        self.attrs(&[
            ("modules", &modules),
            ("services", &services),
            ("tags", &tags),
        ])
    }

    /// `{ <svc> = { <inst> = { roles = [ ... ]; }; }; }` for the instances the machine is in.
    /// Machines with the same memberships share it, and so do those with the same memberships in
    /// one service.
    fn machine_services(
        &mut self,
        m: &'i MachineOutput<'i, Value<'s>>,
    ) -> Result<Value<'s>, Error> {
        let all: &'i [ServiceRoles<'i>] = &m.services;
        if let Some(v) = self.machine_services.get(all) {
            return Ok(v.clone());
        }
        let output = self.output;
        // Memberships come in instance order, so those of one service are adjacent.
        let mut groups: Vec<(&'i str, &'i [ServiceRoles<'i>])> = Vec::new();
        let mut k = 0;
        while k < all.len() {
            let service = output.instances[all[k].0].service;
            let mut end = k + 1;
            while end < all.len() && output.instances[all[end].0].service == service {
                end += 1;
            }
            groups.push((service, &all[k..end]));
            k = end;
        }
        let mut services = self.st.attrs_builder(groups.len())?;
        for (svc, memberships) in groups {
            let entry = self.service_entry(memberships)?;
            services.insert(svc, &entry)?;
        }
        let v = services.finish()?;
        self.machine_services.insert(all, v.clone());
        Ok(v)
    }

    /// `{ <inst> = { roles = [ ... ]; }; }` for memberships in instances of one service.
    fn service_entry(&mut self, memberships: &'i [ServiceRoles<'i>]) -> Result<Value<'s>, Error> {
        if let Some(v) = self.service_entries.get(memberships) {
            return Ok(v.clone());
        }
        let output = self.output;
        let mut b = self.st.attrs_builder(memberships.len())?;
        for (index, roles) in memberships {
            let entry = self.role_entry(roles)?;
            b.insert(output.instances[*index].instance, &entry)?;
        }
        let v = b.finish()?;
        self.service_entries.insert(memberships, v.clone());
        Ok(v)
    }

    /// `{ roles = [ ... ]; }`.
    fn role_entry(&mut self, roles: &'i [&'i str]) -> Result<Value<'s>, Error> {
        if let Some(v) = self.role_entries.get(roles) {
            return Ok(v.clone());
        }
        let list = self.shared_list(roles)?;
        let v = self.attrs(&[("roles", &list)])?;
        self.role_entries.insert(roles, v.clone());
        Ok(v)
    }

    fn module(
        &mut self,
        machine: &'i str,
        item: &'i ModuleItem<'i, Value<'s>>,
        own: &mut Vec<Value<'s>>,
    ) -> Result<Slot<'i, 's>, Error> {
        match item {
            ModuleItem::Role(v) => Ok(Slot::Input(v)),
            ModuleItem::Extra { value, origin } => self.extra(value, origin.as_deref(), own),
            ModuleItem::Generated { instance, layers } => {
                self.generated(*instance, layers).map(Slot::Shared)
            }
            ModuleItem::Constraints { instance } => {
                self.constraint_module(*instance).map(Slot::Shared)
            }
            ModuleItem::Deploy {
                target_host,
                build_host,
            } => {
                let mut hosts: Vec<(&str, &Value<'s>)> = Vec::new();
                if let Some(b) = build_host {
                    hosts.push(("buildHost", b));
                }
                if let Some(t) = target_host {
                    hosts.push(("targetHost", t));
                }
                let networking = self.attrs(&hosts)?;
                let core = self.attrs(&[("networking", &networking)])?;
                let clan = self.attrs(&[("core", &core)])?;
                let config = self.attrs(&[("clan", &clan)])?;
                let file = self
                    .st
                    .new_string(&format!("clan-inventory/machines/{machine}/deploy"))?;
                own.push(self.attrs(&[("_file", &file), ("config", &config)])?);
                Ok(Slot::Own(own.len() - 1))
            }
        }
    }

    fn extra(
        &mut self,
        value: &'i Value<'s>,
        origin: Option<&str>,
        own: &mut Vec<Value<'s>>,
    ) -> Result<Slot<'i, 's>, Error> {
        // An entry that is already evaluated and not a string is the module itself.
        if !matches!(self.st.type_of(value), Type::Thunk | Type::String) {
            return Ok(Slot::Input(value));
        }
        if let Some(&i) = self.extras_at.get(&value.address()) {
            return Ok(Slot::Shared(i));
        }
        let wrapped = if let Some(dir) = &self.input.directory {
            if self.fix_extra.is_none() {
                let fix = self.st.eval(FIX_EXTRA)?;
                self.fix_extra = Some(self.st.apply(&fix, dir)?);
            }
            let fix = self
                .fix_extra
                .as_ref()
                .ok_or_else(|| Error("internal error: no fix function".into()))?;
            self.st.apply(fix, value)?
        } else {
            if self.fix_extra_no_dir.is_none() {
                self.fix_extra_no_dir = Some(self.st.eval(FIX_EXTRA_NO_DIR)?);
            }
            let fix = self
                .fix_extra_no_dir
                .as_ref()
                .ok_or_else(|| Error("internal error: no fix function".into()))?;
            let origin = self.st.new_string(origin.unwrap_or("extraModules"))?;
            let fix = self.st.apply(fix, &origin)?;
            // Not shared: the message names the list the entry came from.
            own.push(self.st.apply(&fix, value)?);
            return Ok(Slot::Own(own.len() - 1));
        };
        let i = self.share(wrapped);
        self.extras_at.insert(value.address(), i);
        Ok(Slot::Shared(i))
    }

    fn role_set(&mut self, index: usize) -> Result<Value<'s>, Error> {
        if let Some(v) = &self.role_sets[index] {
            return Ok(v.clone());
        }
        let inst = &self.output.instances[index];
        let mut b = Vec::with_capacity(inst.roles.len());
        for (role, members) in &inst.roles {
            let list = self.member_list(members)?;
            b.push((*role, self.attrs(&[("machines", &list)])?));
        }
        let entries: Vec<(&str, &Value<'s>)> = b.iter().map(|(k, v)| (*k, v)).collect();
        let set = self.attrs(&entries)?;
        self.role_sets[index] = Some(set.clone());
        Ok(set)
    }

    /// The names of `members` (indices into `Input::machines`), shared with equal lists.
    fn member_list(&mut self, members: &'i [usize]) -> Result<Value<'s>, Error> {
        if let Some(v) = self.member_lists.get(members) {
            return Ok(v.clone());
        }
        if self.names.len() != self.input.machines.len() {
            self.names = self
                .input
                .machines
                .iter()
                .map(|m| self.st.new_string(&m.name))
                .collect::<Result<_, _>>()?;
        }
        let names = &self.names;
        let v = self.st.new_list(members.iter().map(|&i| &names[i]))?;
        self.member_lists.insert(members, v.clone());
        Ok(v)
    }

    /// The assertions of instance `index`'s failed constraints, and the list of them.
    fn failures(&mut self, index: usize) -> Result<(Vec<Value<'s>>, Value<'s>), Error> {
        if let Some(v) = &self.failures[index] {
            return Ok(v.clone());
        }
        let inst = &self.output.instances[index];
        let no = self.st.new_bool(false)?;
        let mut items = Vec::with_capacity(inst.failures.len());
        for message in &inst.failures {
            let message = self.st.new_string(message)?;
            items.push(self.attrs(&[("assertion", &no), ("message", &message)])?);
        }
        let list = self.st.new_list(items.iter())?;
        self.failures[index] = Some((items.clone(), list.clone()));
        Ok((items, list))
    }

    fn instance_file(&mut self, index: usize, suffix: &str) -> Result<Value<'s>, Error> {
        let inst = &self.output.instances[index];
        self.st.new_string(&format!(
            "clan-inventory/services/{}/{}{suffix}",
            inst.service, inst.instance
        ))
    }

    fn generated(&mut self, index: usize, layers: &'i [&'i Value<'s>]) -> Result<usize, Error> {
        let key = LayersKey(index, layers);
        if let Some(&i) = self.generated_at.get(&key) {
            return Ok(i);
        }
        let inst = &self.output.instances[index];
        let (service, instance) = (inst.service, inst.instance);
        let roles = self.role_set(index)?;
        let inst_entry = self.attrs(&[("roles", &roles)])?;
        let svc_entry = self.attrs(&[(instance, &inst_entry)])?;
        let services = self.attrs(&[(service, &svc_entry)])?;
        let inventory = self.attrs(&[("services", &services)])?;
        let clan = if layers.is_empty() {
            self.attrs(&[("inventory", &inventory)])?
        } else {
            let contents = self.st.new_list(layers.iter().copied())?;
            let merge = self.string("merge")?;
            let merged = self.attrs(&[("_type", &merge), ("contents", &contents)])?;
            let mut b: AttrsBuilder<'_, 's> = self.st.attrs_builder(2)?;
            // `inventory` is a reserved service name (phase 2), so the two names differ.
            b.insert("inventory", &inventory)?;
            b.insert(service, &merged)?;
            b.finish()?
        };
        let config = self.attrs(&[("clan", &clan)])?;
        let file = self.instance_file(index, "")?;
        let module = self.attrs(&[("_file", &file), ("config", &config)])?;
        let i = self.share(module);
        self.generated_at.insert(key, i);
        Ok(i)
    }

    fn constraint_module(&mut self, index: usize) -> Result<usize, Error> {
        if let Some(&i) = self.constraint_modules_at.get(&index) {
            return Ok(i);
        }
        let (_, failures) = self.failures(index)?;
        let config = self.attrs(&[("assertions", &failures)])?;
        let file = self.instance_file(index, "/constraints")?;
        let module = self.attrs(&[("_file", &file), ("config", &config)])?;
        let i = self.share(module);
        self.constraint_modules_at.insert(index, i);
        Ok(i)
    }

    /// `{ <svc> = { <inst> = { enabled = ...; roles = { <r>.machines = [ ... ]; }; }; }; }`.
    fn services(&mut self) -> Result<Value<'s>, Error> {
        let input = self.input;
        let output = self.output;
        let mut services = self.st.attrs_builder(input.services.len())?;
        let mut index = 0;
        for service in &input.services {
            let count = output.instances[index..]
                .iter()
                .take_while(|i| i.service == service.name)
                .count();
            let mut b = self.st.attrs_builder(count)?;
            for i in index..index + count {
                let inst = &output.instances[i];
                let roles = self.role_set(i)?;
                let enabled = self.st.new_bool(inst.enabled)?;
                let entry = self.attrs(&[("enabled", &enabled), ("roles", &roles)])?;
                b.insert(inst.instance, &entry)?;
            }
            index += count;
            services.insert(&service.name, &b.finish()?)?;
        }
        services.finish()
    }
}
