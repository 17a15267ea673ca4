//! The encoding of a resolution as the builtin's result: one machine at a time, sharing what many
//! machines have in common through [`Caches`].

use rustc_hash::FxHashMap as HashMap;
use std::borrow::Borrow;
use std::hash::Hash;

mod clan;

use super::helpers::Helpers;
use crate::inventory::{by_instance, ClanMembership, Input, Membership, Resolution, Visit};
use crate::nix::{Error, State, Type, Value};

/// Where an element of a machine's module list lives while the list is built: nothing is cloned
/// (every clone and drop is a reference-count update in Nix's global table).
#[derive(Clone, Copy)]
enum Slot<'i> {
    /// A value of the argument.
    Input(&'i Value<'static>),
    /// A value shared between machines, in `Encoder::shared`.
    Shared(usize),
    /// A value made for this machine only, in `Encoder::own`.
    Own(usize),
}

/// Values by content, each made once (see [`Encoder::memo`]).
type Memo<K> = HashMap<K, Value<'static>>;

/// What the encoder keeps from one machine to the next, for as long as the per-machine results
/// live: every value that is the same for many machines (names, tag and role lists, service
/// entries, generated modules without per-machine config). Keyed by content, borrowed from the
/// input and the resolution, which live as long. The values are persistent handles (see
/// `Value::persist`); none of them refers to the plugin's own External value, so that these
/// roots never keep the fleet they belong to alive.
pub(crate) struct Caches<'i> {
    strings: Memo<&'i str>,
    /// Machine tag lists by content.
    tag_lists: Memo<&'i [&'i str]>,
    /// `{ roles = [ ... ]; }` by the role names.
    role_entries: Memo<Box<[&'i str]>>,
    /// `{ <inst> = { roles = ...; }; }` of one service, by the memberships in it.
    service_entries: Memo<Box<[Membership]>>,
    /// A machine's whole `services`, by its memberships.
    machine_services: Memo<Box<[Membership]>>,
    /// Role member lists by content (many instances fill a role with the same tag).
    member_lists: Memo<&'i [usize]>,
    /// One string value per machine name, in `Input::machines` order, each made on first use.
    names: Vec<Option<Value<'static>>>,
    /// Module values shared between machines (generated modules, wrapped extra modules).
    shared: Vec<Value<'static>>,
    /// Generated modules by `[instance, addresses of the config layers...]`.
    generated_at: HashMap<Box<[usize]>, usize>,
    /// Wrapped `extraModules` entries by the address of the entry.
    extras_at: HashMap<usize, usize>,
    /// What is made once per instance, by instance index.
    instances: Vec<InstanceValues>,
    /// The function from an instance index to its role sets: refers to the plugin's External.
    role_sets_fn: Option<Value<'static>>,
    helpers: Helpers,
    /// `machines.<m>.instances` by the machine's memberships of clan instances.
    clan_machine_instances: Memo<Box<[ClanMembership]>>,
    /// `{ instance; role; service; }` by membership.
    clan_memberships: HashMap<ClanMembership, Value<'static>>,
    /// Settings definitions of roles and tags, shared by their members.
    clan_definitions: HashMap<clan::DefKey, Value<'static>>,
}

/// The values of one instance, each made on first use.
#[derive(Default)]
struct InstanceValues {
    /// `{ <role> = { machines = [ ... ]; }; }`, a thunk (see [`Encoder::role_set`]).
    role_set: Option<Value<'static>>,
    /// See [`Encoder::instance_parts`].
    parts: Option<(Value<'static>, Value<'static>)>,
    /// The generated-module helper applied to all but the config layers.
    partial: Option<Value<'static>>,
    /// The assertions of its failed constraints, and the list of them.
    failures: Option<(Vec<Value<'static>>, Value<'static>)>,
    /// The module of those assertions, in `Caches::shared`.
    constraint_module: Option<usize>,
}

impl Caches<'_> {
    /// Sets the function that [`Encoder::role_set`] applies. It refers to an External value
    /// that owns these caches' fleet: whoever sets it must clear the caches when the fleet's
    /// results are collected, or the two would keep each other alive.
    pub(crate) fn set_role_sets(&mut self, f: Value<'_>) -> Result<(), Error> {
        self.role_sets_fn = Some(f.persist()?);
        Ok(())
    }

    /// Empty caches for a resolution of `instances` instances.
    pub(crate) fn new(instances: usize) -> Self {
        Caches {
            strings: HashMap::default(),
            tag_lists: HashMap::default(),
            role_entries: HashMap::default(),
            service_entries: HashMap::default(),
            machine_services: HashMap::default(),
            member_lists: HashMap::default(),
            names: Vec::new(),
            shared: Vec::new(),
            generated_at: HashMap::default(),
            extras_at: HashMap::default(),
            instances: (0..instances).map(|_| InstanceValues::default()).collect(),
            role_sets_fn: None,
            helpers: Helpers::default(),
            clan_machine_instances: HashMap::default(),
            clan_memberships: HashMap::default(),
            clan_definitions: HashMap::default(),
        }
    }
}

/// Builds parts of the builtin's result from a resolution, during one primop call (`'s`): one
/// machine, the services, the warnings or the assertions. What can be shared goes to the
/// [`Caches`], which outlive the call.
pub(crate) struct Encoder<'a, 'c, 'i, 's> {
    st: &'a State<'s>,
    input: &'i Input<Value<'static>>,
    res: &'i Resolution<'i, Value<'static>>,
    c: &'c mut Caches<'i>,
    /// Per machine, reused: where its module list's elements are, values made for it alone, the
    /// key of a generated module, the role names of a membership.
    slots: Vec<Slot<'i>>,
    own: Vec<Value<'s>>,
    key: Vec<usize>,
    role_names: Vec<&'i str>,
}

impl<'a, 'c, 'i, 's> Encoder<'a, 'c, 'i, 's> {
    pub(crate) fn new(
        st: &'a State<'s>,
        input: &'i Input<Value<'static>>,
        res: &'i Resolution<'i, Value<'static>>,
        c: &'c mut Caches<'i>,
    ) -> Self {
        Encoder {
            st,
            input,
            res,
            c,
            slots: Vec::new(),
            own: Vec::new(),
            key: Vec::new(),
            role_names: Vec::new(),
        }
    }

    /// The value of `table` (one of the [`Caches`]) at `key`, made by `make` the first time.
    fn memo<'k, K, Q>(
        &mut self,
        table: for<'t> fn(&'t mut Caches<'i>) -> &'t mut Memo<K>,
        key: &'k Q,
        make: impl FnOnce(&mut Self) -> Result<Value<'s>, Error>,
    ) -> Result<Value<'s>, Error>
    where
        K: Borrow<Q> + Hash + Eq + From<&'k Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(v) = table(self.c).get(key) {
            return Ok(v.clone());
        }
        let v = make(self)?;
        table(self.c).insert(key.into(), v.clone().persist()?);
        Ok(v)
    }

    fn string(&mut self, s: &'i str) -> Result<Value<'s>, Error> {
        self.memo(|c| &mut c.strings, s, |e| e.st.new_string(s))
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

    /// Keeps a value for sharing; its index in `shared`.
    fn share(&mut self, v: Value<'s>) -> Result<usize, Error> {
        self.c.shared.push(v.persist()?);
        Ok(self.c.shared.len() - 1)
    }

    /// Keeps a value made for the current machine; its slot.
    fn own(&mut self, v: Value<'s>) -> Slot<'i> {
        self.own.push(v);
        Slot::Own(self.own.len() - 1)
    }

    fn attrs(&self, entries: &[(&str, &Value<'s>)]) -> Result<Value<'s>, Error> {
        let mut b = self.st.attrs_builder(entries.len())?;
        for (k, v) in entries {
            b.insert(k, v)?;
        }
        b.finish()
    }

    /// See [`Caches::set_role_sets`].
    pub(crate) fn set_role_sets(&mut self, f: Value<'_>) -> Result<(), Error> {
        self.c.set_role_sets(f)
    }

    /// How many machines the input has.
    pub(crate) fn machine_count(&self) -> usize {
        self.input.machines.len()
    }

    /// `warnings` of the result.
    pub(crate) fn warnings(&mut self) -> Result<Value<'s>, Error> {
        let warnings = self
            .res
            .warnings
            .iter()
            .map(|w| self.st.new_string(&w.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        self.st.new_list(warnings.iter())
    }

    /// `assertions` of the result: those of every instance's failed constraints, then those of
    /// `inventory.instances`.
    pub(crate) fn assertions(&mut self) -> Result<Value<'s>, Error> {
        let mut assertions: Vec<Value<'s>> = Vec::new();
        for (i, inst) in self.res.instances.iter().enumerate() {
            if !inst.failures.is_empty() {
                assertions.extend(self.failures(i)?.0);
            }
        }
        assertions.extend(self.clan_assertions()?);
        self.st.new_list(assertions.iter())
    }

    /// `{ instances = [ ... ]; modules = [ ... ]; services = { ... }; tags = [ ... ]; }` of
    /// machine `mi`.
    pub(crate) fn machine(&mut self, mi: usize) -> Result<Value<'s>, Error> {
        let res = self.res;
        let tags = res.tags(mi);
        let tags = self.memo(
            |c| &mut c.tag_lists,
            tags,
            |e| e.string_list(tags.iter().copied()),
        )?;
        self.slots.clear();
        self.own.clear();
        res.visit_modules(
            mi,
            &mut Modules {
                enc: self,
                machine: mi,
            },
        )?;
        let (shared, own) = (&self.c.shared, &self.own);
        let modules = self
            .st
            .new_list(self.slots.iter().map(|slot| -> &Value<'s> {
                match *slot {
                    Slot::Input(v) => v,
                    Slot::Shared(i) => &shared[i],
                    Slot::Own(i) => &own[i],
                }
            }))?;
        let services = self.machine_services(mi)?;
        let instances = self.machine_instances(mi)?;
        let mut b = self.st.attrs_builder(4)?;
        b.insert_static(c"instances", &instances)?;
        b.insert_static(c"modules", &modules)?;
        b.insert_static(c"services", &services)?;
        b.insert_static(c"tags", &tags)?;
        b.finish()
    }

    /// `{ <svc> = { <inst> = { roles = [ ... ]; }; }; }` for the instances machine `mi` is in.
    /// Machines with the same memberships share it, and so do those with the same memberships in
    /// one service.
    fn machine_services(&mut self, mi: usize) -> Result<Value<'s>, Error> {
        let res = self.res;
        let all = res.memberships_of(mi);
        let all: &[Membership] = &all;
        self.memo(
            |c| &mut c.machine_services,
            all,
            |e| {
                // Memberships come in instance order, so those of one service are adjacent.
                let by_service: Vec<&[Membership]> = all
                    .chunk_by(|a, b| {
                        res.instances[a.instance as usize].service
                            == res.instances[b.instance as usize].service
                    })
                    .collect();
                let mut services = e.st.attrs_builder(by_service.len())?;
                for memberships in by_service {
                    let entry = e.service_entry(memberships)?;
                    services.insert(
                        res.instances[memberships[0].instance as usize].service,
                        &entry,
                    )?;
                }
                services.finish()
            },
        )
    }

    /// `{ <inst> = { roles = [ ... ]; }; }` for memberships in instances of one service.
    fn service_entry(&mut self, memberships: &[Membership]) -> Result<Value<'s>, Error> {
        let res = self.res;
        self.memo(
            |c| &mut c.service_entries,
            memberships,
            |e| {
                let groups: Vec<(usize, &[Membership])> = by_instance(memberships).collect();
                let mut b = e.st.attrs_builder(groups.len())?;
                for (instance, group) in groups {
                    let entry = e.role_entry(group)?;
                    b.insert(res.instances[instance].instance, &entry)?;
                }
                b.finish()
            },
        )
    }

    /// `{ roles = [ ... ]; }` for the memberships of one instance.
    fn role_entry(&mut self, group: &[Membership]) -> Result<Value<'s>, Error> {
        let res = self.res;
        // Taken out while in use, so that the key does not borrow the encoder.
        let mut names = std::mem::take(&mut self.role_names);
        names.clear();
        names.extend(group.iter().map(|&m| res.role_name(m)));
        let v = self.memo(
            |c| &mut c.role_entries,
            names.as_slice(),
            |e| {
                let list = e.string_list(names.iter().copied())?;
                e.attrs(&[("roles", &list)])
            },
        );
        self.role_names = names;
        v
    }

    /// Makes `names[i]` for every index of `machines`, the string values of those machine
    /// names, where not done yet: one machine's encoding makes its own name only.
    fn make_names(&mut self, machines: &[usize]) -> Result<(), Error> {
        if self.c.names.len() != self.input.machines.len() {
            self.c.names = (0..self.input.machines.len()).map(|_| None).collect();
        }
        for &i in machines {
            if self.c.names[i].is_none() {
                let name = self.st.new_string(&self.input.machines[i].name)?;
                self.c.names[i] = Some(name.persist()?);
            }
        }
        Ok(())
    }

    /// `names[i]`, made by [`Encoder::make_names`].
    fn name<'n>(
        names: &'n [Option<Value<'static>>],
        i: usize,
    ) -> Result<&'n Value<'static>, Error> {
        names
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| Error("internal error: machine name not made".into()))
    }

    /// A lazy deploy module: one of the deploy helpers applied to the name and the hosts.
    fn deploy(
        &mut self,
        mi: usize,
        target_host: Option<&'i Value<'static>>,
        build_host: Option<&'i Value<'static>>,
    ) -> Result<Slot<'i>, Error> {
        self.make_names(&[mi])?;
        let name = Self::name(&self.c.names, mi)?;
        let v = self
            .c
            .helpers
            .deploy(self.st, name, target_host, build_host)?;
        Ok(self.own(v))
    }

    fn extra(
        &mut self,
        value: &'i Value<'static>,
        origin: Option<&str>,
    ) -> Result<Slot<'i>, Error> {
        if let Some(&i) = self.c.extras_at.get(&value.identity()) {
            return Ok(Slot::Shared(i));
        }
        // An entry that is already evaluated and not a string is the module itself.
        if !matches!(self.st.type_of(value), Type::Thunk | Type::String) {
            return Ok(Slot::Input(value));
        }
        if let Some(dir) = &self.input.directory {
            let wrapped = self.c.helpers.fix_extra(self.st, dir, value)?;
            let i = self.share(wrapped)?;
            self.c.extras_at.insert(value.identity(), i);
            Ok(Slot::Shared(i))
        } else {
            // Not shared: the message names the list the entry came from.
            let origin = origin.unwrap_or("extraModules");
            let wrapped = self.c.helpers.fix_extra_no_dir(self.st, origin, value)?;
            Ok(self.own(wrapped))
        }
    }

    /// `{ <role> = { machines = [ ... ]; }; }` of instance `index`, lazily: the role-sets
    /// function (see [`Caches::set_role_sets`]) applied to the index, one thunk per instance, so
    /// that the member lists of an instance (about half of the fleet each) are made only when
    /// something reads them, once, for `services` and every generated module alike.
    fn role_set(&mut self, index: usize) -> Result<Value<'s>, Error> {
        if let Some(v) = &self.c.instances[index].role_set {
            return Ok(v.clone());
        }
        let f = self
            .c
            .role_sets_fn
            .as_ref()
            .ok_or_else(|| Error("internal error: no role-sets function".into()))?;
        let index_value = self
            .st
            .new_int(i64::try_from(index).map_err(|_| Error("internal error: index".into()))?)?;
        let set = self.st.apply(f, &index_value)?;
        self.c.instances[index].role_set = Some(set.clone().persist()?);
        Ok(set)
    }

    /// The value behind [`Encoder::role_set`].
    pub(crate) fn role_set_now(&mut self, index: usize) -> Result<Value<'s>, Error> {
        let inst = self
            .res
            .instances
            .get(index)
            .ok_or_else(|| Error("internal error: instance index out of range".into()))?;
        let mut b = Vec::with_capacity(inst.roles.len());
        for (role, members) in &inst.roles {
            let list = self.member_list(members)?;
            b.push((*role, self.attrs(&[("machines", &list)])?));
        }
        let entries: Vec<(&str, &Value<'s>)> = b.iter().map(|(k, v)| (*k, v)).collect();
        self.attrs(&entries)
    }

    /// The names of `members` (indices into `Input::machines`), shared with equal lists.
    fn member_list(&mut self, members: &'i [usize]) -> Result<Value<'s>, Error> {
        self.memo(
            |c| &mut c.member_lists,
            members,
            |e| {
                e.make_names(members)?;
                let names = members
                    .iter()
                    .map(|&i| Self::name(&e.c.names, i))
                    .collect::<Result<Vec<_>, _>>()?;
                e.st.new_list(names.into_iter())
            },
        )
    }

    /// The assertions of instance `index`'s failed constraints, and the list of them.
    fn failures(&mut self, index: usize) -> Result<(Vec<Value<'s>>, Value<'s>), Error> {
        if let Some(v) = &self.c.instances[index].failures {
            return Ok(v.clone());
        }
        let inst = &self.res.instances[index];
        let no = self.st.new_bool(false)?;
        let mut items = Vec::with_capacity(inst.failures.len());
        for message in &inst.failures {
            let message = self.st.new_string(&message.to_string())?;
            items.push(self.attrs(&[("assertion", &no), ("message", &message)])?);
        }
        let list = self.st.new_list(items.iter())?;
        let kept = items
            .iter()
            .cloned()
            .map(Value::persist)
            .collect::<Result<Vec<_>, _>>()?;
        self.c.instances[index].failures = Some((kept, list.clone().persist()?));
        Ok((items, list))
    }

    fn instance_file(&mut self, index: usize, suffix: &str) -> Result<Value<'s>, Error> {
        let inst = &self.res.instances[index];
        self.st.new_string(&format!(
            "clan-inventory/services/{}/{}{suffix}",
            inst.service, inst.instance
        ))
    }

    /// What every generated module of instance `index` has: its `_file`, and
    /// `{ services.<svc>.<inst>.roles = ...; }` for `clan.inventory`.
    fn instance_parts(&mut self, index: usize) -> Result<(Value<'s>, Value<'s>), Error> {
        if let Some(parts) = &self.c.instances[index].parts {
            return Ok(parts.clone());
        }
        let inst = &self.res.instances[index];
        let (service, instance) = (inst.service, inst.instance);
        let roles = self.role_set(index)?;
        let inst_entry = self.attrs(&[("roles", &roles)])?;
        let svc_entry = self.attrs(&[(instance, &inst_entry)])?;
        let services = self.attrs(&[(service, &svc_entry)])?;
        let inventory = self.attrs(&[("services", &services)])?;
        let file = self.instance_file(index, "")?;
        self.c.instances[index].parts =
            Some((file.clone().persist()?, inventory.clone().persist()?));
        Ok((file, inventory))
    }

    /// The generated module of instance `index` with the given config layers, shared by every
    /// machine that has the same layers. With layers it is a lazy application of a helper, so
    /// that per-machine configs cost a list and a thunk until the machine is evaluated.
    fn generated(&mut self, index: usize, layers: &[&'i Value<'static>]) -> Result<usize, Error> {
        self.key.clear();
        self.key.push(index);
        self.key.extend(layers.iter().map(|v| v.identity()));
        if let Some(&i) = self.c.generated_at.get(self.key.as_slice()) {
            return Ok(i);
        }
        let key: Box<[usize]> = self.key.as_slice().into();
        let (file, inventory) = self.instance_parts(index)?;
        let module = if layers.is_empty() {
            let clan = self.attrs(&[("inventory", &inventory)])?;
            let config = self.attrs(&[("clan", &clan)])?;
            self.attrs(&[("_file", &file), ("config", &config)])?
        } else {
            if self.c.instances[index].partial.is_none() {
                let service = self.string(self.res.instances[index].service)?;
                let partial = self
                    .c
                    .helpers
                    .generated(self.st, &file, &inventory, &service)?;
                self.c.instances[index].partial = Some(partial.persist()?);
            }
            let partial = self.c.instances[index]
                .partial
                .as_ref()
                .ok_or_else(|| Error("internal error: no generated module function".into()))?;
            let contents = self.st.new_list(layers.iter().copied())?;
            self.st.apply(partial, &contents)?
        };
        let i = self.share(module)?;
        self.c.generated_at.insert(key, i);
        Ok(i)
    }

    fn constraint_module(&mut self, index: usize) -> Result<usize, Error> {
        if let Some(i) = self.c.instances[index].constraint_module {
            return Ok(i);
        }
        let (_, failures) = self.failures(index)?;
        let config = self.attrs(&[("assertions", &failures)])?;
        let file = self.instance_file(index, "/constraints")?;
        let module = self.attrs(&[("_file", &file), ("config", &config)])?;
        let i = self.share(module)?;
        self.c.instances[index].constraint_module = Some(i);
        Ok(i)
    }

    /// `{ <svc> = { <inst> = { enabled = ...; roles = { <r>.machines = [ ... ]; }; }; }; }`.
    pub(crate) fn services(&mut self) -> Result<Value<'s>, Error> {
        let input = self.input;
        let res = self.res;
        let mut services = self.st.attrs_builder(input.services.len())?;
        let mut index = 0;
        for service in &input.services {
            let count = res.instances[index..]
                .iter()
                .take_while(|i| i.service == service.name)
                .count();
            let mut b = self.st.attrs_builder(count)?;
            for i in index..index + count {
                let inst = &res.instances[i];
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

/// Turns the module list of one machine, as the resolution visits it, into slots. The first
/// error ends the walk.
struct Modules<'e, 'a, 'c, 'i, 's> {
    enc: &'e mut Encoder<'a, 'c, 'i, 's>,
    machine: usize,
}

impl<'i> Visit<'i, Value<'static>> for Modules<'_, '_, '_, 'i, '_> {
    type Error = Error;

    fn role(&mut self, module: &'i Value<'static>) -> Result<(), Error> {
        self.enc.slots.push(Slot::Input(module));
        Ok(())
    }

    fn extra(&mut self, value: &'i Value<'static>, origin: Option<String>) -> Result<(), Error> {
        let slot = self.enc.extra(value, origin.as_deref())?;
        self.enc.slots.push(slot);
        Ok(())
    }

    fn generated(&mut self, instance: usize, layers: &[&'i Value<'static>]) -> Result<(), Error> {
        let i = self.enc.generated(instance, layers)?;
        self.enc.slots.push(Slot::Shared(i));
        Ok(())
    }

    fn constraints(&mut self, instance: usize) -> Result<(), Error> {
        let i = self.enc.constraint_module(instance)?;
        self.enc.slots.push(Slot::Shared(i));
        Ok(())
    }

    fn deploy(
        &mut self,
        target_host: Option<&'i Value<'static>>,
        build_host: Option<&'i Value<'static>>,
    ) -> Result<(), Error> {
        let slot = self.enc.deploy(self.machine, target_host, build_host)?;
        self.enc.slots.push(slot);
        Ok(())
    }
}
