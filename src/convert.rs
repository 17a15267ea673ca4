//! Nix values to and from the inventory model, in safe code: a [`Tree`] over the primop's
//! argument, and the encoding of a resolution as the builtin's result.

use std::collections::HashMap;

use crate::inventory::{Input, Kind, ModuleItem, Output, Text, Tree};
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
        let n = self.st.attrs_len(v)?;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (name, value) = self.st.attr_lazy(v, i)?;
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
        (0..self.st.list_len(v)?)
            .map(|i| self.st.list_elem_lazy(v, i))
            .collect()
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

/// A service and, for each of its instances a machine is in, the machine's roles there.
type ServiceGroup<'a> = (&'a str, Vec<(&'a str, &'a Vec<&'a str>)>);

/// Builds the builtin's result from a resolution, sharing every value that is the same for many
/// machines (names, role member lists, generated modules without per-machine config).
pub(crate) struct Encoder<'a, 'i, 's> {
    st: &'a State<'s>,
    input: &'i Input<Value<'s>>,
    output: &'i Output<'i, Value<'s>>,
    strings: HashMap<&'i str, Value<'s>>,
    /// Per instance: `{ <role> = { machines = [ ... ]; }; }`.
    role_sets: Vec<Option<Value<'s>>>,
    /// Per instance: the assertions of its failed constraints, and the list of them.
    failures: Vec<Option<(Vec<Value<'s>>, Value<'s>)>>,
    /// Generated modules by instance and the addresses of their config layers.
    generated: HashMap<(usize, Vec<usize>), Value<'s>>,
    constraint_modules: HashMap<usize, Value<'s>>,
    extras: HashMap<usize, Value<'s>>,
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
            strings: HashMap::new(),
            role_sets: (0..n).map(|_| None).collect(),
            failures: (0..n).map(|_| None).collect(),
            generated: HashMap::new(),
            constraint_modules: HashMap::new(),
            extras: HashMap::new(),
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

    fn machine(
        &mut self,
        m: &'i crate::inventory::MachineOutput<'i, Value<'s>>,
    ) -> Result<Value<'s>, Error> {
        let tags = self.string_list(m.tags.iter().copied())?;
        let mut modules = Vec::with_capacity(m.modules.len());
        for item in &m.modules {
            modules.push(self.module(m.name, item)?);
        }
        let modules = self.st.new_list(modules.iter())?;
        let services = self.machine_services(m)?;
        self.attrs(&[
            ("modules", &modules),
            ("services", &services),
            ("tags", &tags),
        ])
    }

    /// `{ <svc> = { <inst> = { roles = [ ... ]; }; }; }` for the instances the machine is in.
    fn machine_services(
        &mut self,
        m: &'i crate::inventory::MachineOutput<'i, Value<'s>>,
    ) -> Result<Value<'s>, Error> {
        let output = self.output;
        // Memberships come in instance order, so those of one service are adjacent.
        let mut groups: Vec<ServiceGroup<'_>> = Vec::new();
        for (index, roles) in &m.services {
            let inst = &output.instances[*index];
            match groups.last_mut() {
                Some((svc, list)) if *svc == inst.service => list.push((inst.instance, roles)),
                _ => groups.push((inst.service, vec![(inst.instance, roles)])),
            }
        }
        let mut services = self.st.attrs_builder(groups.len())?;
        for (svc, instances) in groups {
            let mut b = self.st.attrs_builder(instances.len())?;
            for (inst, roles) in instances {
                let roles = self.string_list(roles.iter().copied())?;
                let entry = self.attrs(&[("roles", &roles)])?;
                b.insert(inst, &entry)?;
            }
            services.insert(svc, &b.finish()?)?;
        }
        services.finish()
    }

    fn module(
        &mut self,
        machine: &'i str,
        item: &'i ModuleItem<'i, Value<'s>>,
    ) -> Result<Value<'s>, Error> {
        match item {
            ModuleItem::Role(v) => Ok((*v).clone()),
            ModuleItem::Extra { value, origin } => self.extra(value, origin.as_deref()),
            ModuleItem::Generated { instance, layers } => self.generated(*instance, layers),
            ModuleItem::Constraints { instance } => self.constraint_module(*instance),
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
                self.attrs(&[("_file", &file), ("config", &config)])
            }
        }
    }

    fn extra(&mut self, value: &'i Value<'s>, origin: Option<&str>) -> Result<Value<'s>, Error> {
        // An entry that is already evaluated and not a string is the module itself.
        if !matches!(self.st.type_of(value), Type::Thunk | Type::String) {
            return Ok(value.clone());
        }
        if let Some(v) = self.extras.get(&value.address()) {
            return Ok(v.clone());
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
            // Not cached: the message names the list the entry came from.
            return self.st.apply(&fix, value);
        };
        self.extras.insert(value.address(), wrapped.clone());
        Ok(wrapped)
    }

    fn role_set(&mut self, index: usize) -> Result<Value<'s>, Error> {
        if let Some(v) = &self.role_sets[index] {
            return Ok(v.clone());
        }
        let inst = &self.output.instances[index];
        let machines = &self.input.machines;
        let mut b = Vec::with_capacity(inst.roles.len());
        for (role, members) in &inst.roles {
            let list = self.string_list(members.iter().map(|&i| machines[i].name.as_str()))?;
            b.push((*role, self.attrs(&[("machines", &list)])?));
        }
        let entries: Vec<(&str, &Value<'s>)> = b.iter().map(|(k, v)| (*k, v)).collect();
        let set = self.attrs(&entries)?;
        self.role_sets[index] = Some(set.clone());
        Ok(set)
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

    fn generated(&mut self, index: usize, layers: &[&'i Value<'s>]) -> Result<Value<'s>, Error> {
        let key = (
            index,
            layers.iter().map(|v| v.address()).collect::<Vec<_>>(),
        );
        if let Some(v) = self.generated.get(&key) {
            return Ok(v.clone());
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
        self.generated.insert(key, module.clone());
        Ok(module)
    }

    fn constraint_module(&mut self, index: usize) -> Result<Value<'s>, Error> {
        if let Some(v) = self.constraint_modules.get(&index) {
            return Ok(v.clone());
        }
        let (_, failures) = self.failures(index)?;
        let config = self.attrs(&[("assertions", &failures)])?;
        let file = self.instance_file(index, "/constraints")?;
        let module = self.attrs(&[("_file", &file), ("config", &config)])?;
        self.constraint_modules.insert(index, module.clone());
        Ok(module)
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
