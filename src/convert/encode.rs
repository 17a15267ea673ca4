//! The encoding of a resolution as the builtin's result: one machine at a time, sharing what many
//! machines have in common through [`Caches`].

use rustc_hash::FxHashMap as HashMap;

mod clan;
mod memo;

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
type Memo<K, V = Value<'static>> = HashMap<K, V>;

/// What the encoder keeps from one machine to the next, for as long as the per-machine results
/// live: every value that is the same for many machines (names, tag and role lists, service
/// entries, generated modules without per-machine config). Keyed by content, borrowed from the
/// input and the resolution, which live as long. The values are persistent handles (see
/// `Value::persist`); none of them refers to the plugin's own External value, so that these
/// roots never keep the fleet they belong to alive.
pub(crate) struct Caches<'i> {
    strings: Memo<&'i str>,
    /// Machine tag lists by content (indices into `shared`, like the other two parts of a machine
    /// that are looked up for every machine: a hit hands out a reference, not a counted clone).
    tag_lists: Memo<&'i [&'i str], usize>,
    /// `{ roles = [ ... ]; }` by the role names.
    role_entries: Memo<Box<[&'i str]>>,
    /// `{ <inst> = { roles = ...; }; }` of one service, by the memberships in it.
    service_entries: Memo<Box<[Membership]>>,
    /// A machine's whole `services`, by its memberships.
    machine_services: Memo<Box<[Membership]>, usize>,
    /// Role member lists by content (many instances fill a role with the same tag).
    member_lists: Memo<&'i [u32]>,
    /// One string value per machine name, in `Input::machines` order, each made on first use.
    /// Filled many at a time by [`Encoder::make_names`] rather than through [`Encoder::memo`]:
    /// member lists refer to these values where `memo` would hand out a counted clone of each.
    names: Vec<Option<Value<'static>>>,
    /// Module values shared between machines (generated modules, wrapped extra modules).
    shared: Vec<Value<'static>>,
    /// Generated modules (indices into `shared`) by `[instance, addresses of the config layers...]`.
    generated_at: Memo<Box<[usize]>, usize>,
    /// Where `extraModules` entries are (wrapped in `shared`, or as given) by the address of the
    /// entry, when there is a directory.
    extras_at: Memo<usize, Slot<'i>>,
    /// What is made once per instance, by instance index.
    instances: Vec<InstanceValues>,
    /// The elements that the memberships of one instance add to a machine's module list, for
    /// each set of roles seen (see `InstanceValues::segments`), one after another.
    segments: Vec<Slot<'i>>,
    /// The function from an instance index to its role sets: refers to the plugin's External.
    role_sets_fn: Option<Value<'static>>,
    helpers: Helpers,
    /// `machines.<m>.instances` by the machine's memberships of clan instances.
    clan_machine_instances: Memo<Box<[ClanMembership]>, usize>,
    /// `{ instance; role; service; }` by membership.
    clan_memberships: Memo<ClanMembership>,
    /// Settings definitions of roles and tags, shared by their members.
    clan_definitions: Memo<clan::DefKey>,
    /// The encoder's per-machine buffers, kept from one call to the next so that building a
    /// machine does not grow them again (an encoder lives for one primop call).
    scratch: Scratch<'i>,
}

/// Buffers reused by every machine: where its module list's elements are, the key of a
/// generated module, the role names of a membership.
#[derive(Default)]
struct Scratch<'i> {
    slots: Vec<Slot<'i>>,
    key: Vec<usize>,
    role_names: Vec<&'i str>,
}

/// The values of one instance, each made on first use (each field a `memo::Table` of one entry).
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
    /// Where in `Caches::segments` the elements of a membership in the roles of each mask (bit
    /// `r` for role `r`) are, when the machine's entry adds nothing: (mask, start, length). A
    /// machine with the same roles as an earlier one copies them instead of walking its
    /// membership again. Few masks per instance: a linear search.
    segments: Vec<(u64, u32, u32)>,
    /// The identities of the config layers of the generated module last looked up for this
    /// instance, and its index in `Caches::shared`: one machine after another mostly has the same
    /// layers (the instance's and a role's), which then cost no lookup in the large
    /// `Caches::generated_at`.
    last_generated: Option<(Vec<usize>, usize)>,
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
            segments: Vec::new(),
            role_sets_fn: None,
            helpers: Helpers::default(),
            clan_machine_instances: HashMap::default(),
            clan_memberships: HashMap::default(),
            clan_definitions: HashMap::default(),
            scratch: Scratch::default(),
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
    /// Per machine, reused: see [`Scratch`] (taken from the caches, given back on drop), and the
    /// values made for the machine alone.
    slots: Vec<Slot<'i>>,
    own: Vec<Value<'s>>,
    key: Vec<usize>,
    role_names: Vec<&'i str>,
    /// The instance group being walked, when its elements can be kept for later machines:
    /// (instance, its roles' mask, where its elements start in `slots`).
    pending: Option<(usize, u64, usize)>,
}

impl Drop for Encoder<'_, '_, '_, '_> {
    fn drop(&mut self) {
        self.slots.clear();
        self.role_names.clear();
        self.c.scratch = Scratch {
            slots: std::mem::take(&mut self.slots),
            key: std::mem::take(&mut self.key),
            role_names: std::mem::take(&mut self.role_names),
        };
    }
}

impl<'a, 'c, 'i, 's> Encoder<'a, 'c, 'i, 's> {
    pub(crate) fn new(
        st: &'a State<'s>,
        input: &'i Input<Value<'static>>,
        res: &'i Resolution<'i, Value<'static>>,
        c: &'c mut Caches<'i>,
    ) -> Self {
        let Scratch {
            slots,
            key,
            role_names,
        } = std::mem::take(&mut c.scratch);
        Encoder {
            st,
            input,
            res,
            c,
            slots,
            own: Vec::new(),
            key,
            role_names,
            pending: None,
        }
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

    /// The index of the machine called `name`: machines are decoded in the byte order of their
    /// names (the order of `builtins.attrNames`).
    pub(crate) fn machine_named(&self, name: &[u8]) -> Option<usize> {
        self.input
            .machines
            .binary_search_by(|m| m.name.as_bytes().cmp(name))
            .ok()
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
    /// machine `mi`, made in `out` (uninitialised, the primop's return slot). `name` is the
    /// string value of the machine's name (the one `mapAttrs` passes), which its deploy module
    /// refers to.
    pub(crate) fn machine(
        &mut self,
        mi: usize,
        name: &Value<'s>,
        out: &Value<'s>,
    ) -> Result<(), Error> {
        let res = self.res;
        let tags = res.tags(mi);
        let tags = self.memo(
            |c| &mut c.tag_lists,
            tags,
            |e| {
                let list = e.string_list(tags.iter().copied())?;
                e.share(list)
            },
        )?;
        self.slots.clear();
        self.own.clear();
        res.visit_modules(mi, &mut Modules { enc: self, name })?;
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
        let shared = &self.c.shared;
        let mut b = self.st.attrs_builder(4)?;
        b.insert_static(c"instances", &shared[instances])?;
        b.insert_static(c"modules", &modules)?;
        b.insert_static(c"services", &shared[services])?;
        b.insert_static(c"tags", &shared[tags])?;
        b.finish_into(out)
    }

    /// `{ <svc> = { <inst> = { roles = [ ... ]; }; }; }` for the instances machine `mi` is in.
    /// Machines with the same memberships share it, and so do those with the same memberships in
    /// one service. Its index in `shared`.
    fn machine_services(&mut self, mi: usize) -> Result<usize, Error> {
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
                let services = services.finish()?;
                e.share(services)
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
    fn make_names(&mut self, machines: impl IntoIterator<Item = usize>) -> Result<(), Error> {
        if self.c.names.len() != self.input.machines.len() {
            self.c.names = (0..self.input.machines.len()).map(|_| None).collect();
        }
        for i in machines {
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

    /// A lazy deploy module: one of the deploy helpers applied to the machine's name and hosts.
    fn deploy(
        &mut self,
        name: &Value<'s>,
        target_host: Option<&'i Value<'static>>,
        build_host: Option<&'i Value<'static>>,
    ) -> Result<Slot<'i>, Error> {
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
        // An entry that is already evaluated and not a string is the module itself.
        let as_given = |e: &Self| !matches!(e.st.type_of(value), Type::Thunk | Type::String);
        if let Some(dir) = &self.input.directory {
            self.memo(
                |c| &mut c.extras_at,
                &value.identity(),
                |e| {
                    if as_given(e) {
                        return Ok(Slot::Input(value));
                    }
                    let wrapped = e.c.helpers.fix_extra(e.st, dir, value)?;
                    Ok(Slot::Shared(e.share(wrapped)?))
                },
            )
        } else if as_given(self) {
            Ok(Slot::Input(value))
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
        self.memo(
            |c| &mut c.instances[index].role_set,
            &(),
            |e| {
                let f =
                    e.c.role_sets_fn
                        .as_ref()
                        .ok_or_else(|| Error("internal error: no role-sets function".into()))?;
                let index_value = e.st.new_int(
                    i64::try_from(index).map_err(|_| Error("internal error: index".into()))?,
                )?;
                e.st.apply(f, &index_value)
            },
        )
    }

    /// The value behind [`Encoder::role_set`].
    pub(crate) fn role_set_now(&mut self, index: usize) -> Result<Value<'s>, Error> {
        let res = self.res;
        let inst = res
            .instances
            .get(index)
            .ok_or_else(|| Error("internal error: instance index out of range".into()))?;
        let mut b = Vec::with_capacity(inst.roles.len());
        for (role, members) in inst.roles.iter().zip(res.members(index)) {
            let list = self.member_list(members)?;
            b.push((*role, self.attrs(&[("machines", &list)])?));
        }
        let entries: Vec<(&str, &Value<'s>)> = b.iter().map(|(k, v)| (*k, v)).collect();
        self.attrs(&entries)
    }

    /// The names of `members` (indices into `Input::machines`), shared with equal lists.
    fn member_list(&mut self, members: &'i [u32]) -> Result<Value<'s>, Error> {
        self.memo(
            |c| &mut c.member_lists,
            members,
            |e| {
                e.make_names(members.iter().map(|&i| i as usize))?;
                let names = members
                    .iter()
                    .map(|&i| Self::name(&e.c.names, i as usize))
                    .collect::<Result<Vec<_>, _>>()?;
                e.st.new_list(names.into_iter())
            },
        )
    }

    /// The assertions of instance `index`'s failed constraints, and the list of them.
    fn failures(&mut self, index: usize) -> Result<(Vec<Value<'s>>, Value<'s>), Error> {
        let inst = &self.res.instances[index];
        self.memo(
            |c| &mut c.instances[index].failures,
            &(),
            |e| {
                let no = e.st.new_bool(false)?;
                let mut items = Vec::with_capacity(inst.failures.len());
                for message in &inst.failures {
                    let message = e.st.new_string(&message.to_string())?;
                    items.push(e.attrs(&[("assertion", &no), ("message", &message)])?);
                }
                let list = e.st.new_list(items.iter())?;
                Ok((items, list))
            },
        )
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
        let inst = &self.res.instances[index];
        let (service, instance) = (inst.service, inst.instance);
        self.memo(
            |c| &mut c.instances[index].parts,
            &(),
            |e| {
                let roles = e.role_set(index)?;
                let inst_entry = e.attrs(&[("roles", &roles)])?;
                let svc_entry = e.attrs(&[(instance, &inst_entry)])?;
                let services = e.attrs(&[(service, &svc_entry)])?;
                let inventory = e.attrs(&[("services", &services)])?;
                let file = e.instance_file(index, "")?;
                Ok((file, inventory))
            },
        )
    }

    /// The generated module of instance `index` with the given config layers, shared by every
    /// machine that has the same layers. With layers it is a lazy application of a helper, so
    /// that per-machine configs cost a list and a thunk until the machine is evaluated.
    fn generated(&mut self, index: usize, layers: &[&'i Value<'static>]) -> Result<usize, Error> {
        if let Some((ids, i)) = &self.c.instances[index].last_generated {
            if ids.len() == layers.len() && ids.iter().zip(layers).all(|(&a, v)| a == v.identity())
            {
                return Ok(*i);
            }
        }
        // Taken out while in use, so that the key does not borrow the encoder.
        let mut key = std::mem::take(&mut self.key);
        key.clear();
        key.push(index);
        key.extend(layers.iter().map(|v| v.identity()));
        let i = self.memo(
            |c| &mut c.generated_at,
            key.as_slice(),
            |e| {
                let (file, inventory) = e.instance_parts(index)?;
                let module = if layers.is_empty() {
                    let clan = e.attrs(&[("inventory", &inventory)])?;
                    let config = e.attrs(&[("clan", &clan)])?;
                    e.attrs(&[("_file", &file), ("config", &config)])?
                } else {
                    let partial = e.memo(
                        |c| &mut c.instances[index].partial,
                        &(),
                        |e| {
                            let service = e.string(e.res.instances[index].service)?;
                            e.c.helpers.generated(e.st, &file, &inventory, &service)
                        },
                    )?;
                    let contents = e.st.new_list(layers.iter().copied())?;
                    e.st.apply(&partial, &contents)?
                };
                e.share(module)
            },
        );
        if let Ok(i) = i {
            let ids = &key[1..];
            match &mut self.c.instances[index].last_generated {
                Some((last, at)) => {
                    last.clear();
                    last.extend_from_slice(ids);
                    *at = i;
                }
                slot @ None => *slot = Some((ids.to_vec(), i)),
            }
        }
        self.key = key;
        i
    }

    fn constraint_module(&mut self, index: usize) -> Result<usize, Error> {
        self.memo(
            |c| &mut c.instances[index].constraint_module,
            &(),
            |e| {
                let (_, failures) = e.failures(index)?;
                let config = e.attrs(&[("assertions", &failures)])?;
                let file = e.instance_file(index, "/constraints")?;
                let module = e.attrs(&[("_file", &file), ("config", &config)])?;
                e.share(module)
            },
        )
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
    /// The machine's name, as a string value.
    name: &'e Value<'s>,
}

impl<'i> Visit<'i, Value<'static>> for Modules<'_, '_, '_, 'i, '_> {
    type Error = Error;

    fn begin_instance(
        &mut self,
        instance: usize,
        group: &[Membership],
        common: bool,
    ) -> Result<bool, Error> {
        let enc = &mut *self.enc;
        enc.pending = None;
        if !common || group.iter().any(|m| m.role >= u64::BITS) {
            return Ok(false);
        }
        let mask = group.iter().fold(0u64, |acc, m| acc | 1 << m.role);
        let known = enc.c.instances[instance]
            .segments
            .iter()
            .find(|&&(m, _, _)| m == mask);
        if let Some(&(_, start, len)) = known {
            let (start, len) = (start as usize, len as usize);
            enc.slots
                .extend_from_slice(&enc.c.segments[start..start + len]);
            return Ok(true);
        }
        enc.pending = Some((instance, mask, enc.slots.len()));
        Ok(false)
    }

    fn end_instance(&mut self) -> Result<(), Error> {
        let enc = &mut *self.enc;
        let Some((instance, mask, from)) = enc.pending.take() else {
            return Ok(());
        };
        let added = &enc.slots[from..];
        // Values made for this machine alone (extra modules wrapped without a directory) are
        // not kept.
        if added.iter().any(|s| matches!(s, Slot::Own(_))) {
            return Ok(());
        }
        let (Ok(start), Ok(len)) = (
            u32::try_from(enc.c.segments.len()),
            u32::try_from(added.len()),
        ) else {
            return Ok(());
        };
        enc.c.segments.extend_from_slice(added);
        enc.c.instances[instance].segments.push((mask, start, len));
        Ok(())
    }

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
        let slot = self.enc.deploy(self.name, target_host, build_host)?;
        self.enc.slots.push(slot);
        Ok(())
    }
}
