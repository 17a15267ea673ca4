//! The encoding of `inventory.instances`' resolution: `machines.<m>.instances`, `instances` and
//! `clanServices` (docs/semantics.md, "The result"). The user's settings and extra modules are
//! referred to, never forced. Lazy at the grain one machine reads: `instances.<i>`,
//! `instances.<i>.roles.<r>.machines` and `.settings`, `clanServices.<key>` and its `machines` are
//! each a thunk of a private primop (src/plugin.rs) over the results; none of these thunks is
//! kept in the [`super::Caches`] (they refer to the results' External value).

use super::{Encoder, Slot};
use rustc_hash::FxHashMap as HashMap;

use crate::inventory::{
    ClanConstraintFailure, ClanMembership, ClanResolution, ClanRoleOutput, SettingsDef,
    SettingsSource,
};
use crate::nix::{Error, Value};

/// Which settings definition of a role is cached: the role's own, or that of the tag at this index.
pub(in crate::convert) type DefKey = (usize, usize, Option<usize>);

fn index(i: usize) -> Result<i64, Error> {
    i64::try_from(i).map_err(|_| Error("internal error: index out of range".into()))
}

impl<'s, 'i> Encoder<'_, '_, 'i, 's> {
    fn clan(&self) -> &'i ClanResolution<'i> {
        &self.res.clan
    }

    /// `[ { service; instance; role; } ... ]` of machine `mi`, shared by machines with the same
    /// memberships. Its index in `shared`.
    pub(in crate::convert) fn machine_instances(&mut self, mi: usize) -> Result<usize, Error> {
        let clan = self.clan();
        let all = clan.memberships(mi);
        self.memo(
            |c| &mut c.clan_machine_instances,
            all,
            |e| {
                let items = all
                    .iter()
                    .map(|&m| e.membership(m))
                    .collect::<Result<Vec<_>, _>>()?;
                let list = e.st.new_list(items.iter())?;
                e.share(list)
            },
        )
    }

    /// `{ instance; role; service; }` of one membership.
    fn membership(&mut self, m: ClanMembership) -> Result<Value<'s>, Error> {
        let clan = self.clan();
        self.memo(
            |c| &mut c.clan_memberships,
            &m,
            |e| {
                let instance = e.string(clan.instances[m.instance as usize].name)?;
                let role = e.string(clan.role_name(m))?;
                let service = e.string(&clan.service_of(m).key)?;
                e.attrs(&[
                    ("instance", &instance),
                    ("role", &role),
                    ("service", &service),
                ])
            },
        )
    }

    /// `{ input; name; }`.
    fn module_ref(&mut self, input: &'i str, name: &'i str) -> Result<Value<'s>, Error> {
        let input = self.string(input)?;
        let name = self.string(name)?;
        self.attrs(&[("input", &input), ("name", &name)])
    }

    /// `[ { assertion = false; message = "..."; } ... ]`.
    fn clan_failures(&mut self, failures: &[ClanConstraintFailure]) -> Result<Value<'s>, Error> {
        let items = self.clan_failure_items(failures)?;
        self.st.new_list(items.iter())
    }

    fn clan_failure_items(
        &mut self,
        failures: &[ClanConstraintFailure],
    ) -> Result<Vec<Value<'s>>, Error> {
        let no = self.st.new_bool(false)?;
        failures
            .iter()
            .map(|f| {
                let message = self.st.new_string(&f.to_string())?;
                self.attrs(&[("assertion", &no), ("message", &message)])
            })
            .collect()
    }

    /// The assertions of every failed constraint of `inventory.instances`, for the top level.
    pub(in crate::convert) fn clan_assertions(&mut self) -> Result<Vec<Value<'s>>, Error> {
        self.clan_failure_items(&self.clan().assertions)
    }

    /// `instances` of the result: per instance, `instance` (a function of the instance index,
    /// `clanInventoryInstance results id`) applied to its index, a thunk of [`Self::clan_instance`].
    pub(crate) fn clan_instances(&mut self, instance: &Value<'s>) -> Result<Value<'s>, Error> {
        let clan = self.clan();
        let mut out = self.st.attrs_builder(clan.instances.len())?;
        for (ci, inst) in clan.instances.iter().enumerate() {
            let thunk = self.st.apply(instance, &self.st.new_int(index(ci)?)?)?;
            out.insert(inst.name, &thunk)?;
        }
        out.finish()
    }

    /// `instances.<i>` of instance `ci`. Each role's `machines` and `settings` are thunks:
    /// `machines` and `settings` (functions of an instance and a role index) applied to `ci` and
    /// the role's index, of [`Self::clan_role_machines`] and [`Self::clan_role_settings`].
    pub(crate) fn clan_instance(
        &mut self,
        ci: usize,
        machines: &Value<'s>,
        settings: &Value<'s>,
    ) -> Result<Value<'s>, Error> {
        let clan = self.clan();
        let inst = clan
            .instances
            .get(ci)
            .ok_or_else(|| Error("internal error: instance index out of range".into()))?;
        self.own.clear();
        let service = self.string(&clan.services[inst.service].key)?;
        let module = self.module_ref(inst.input, inst.module)?;
        let assertions = self.clan_failures(&inst.failures)?;
        let at = self.st.new_int(index(ci)?)?;
        let machines = self.st.apply(machines, &at)?;
        let settings = self.st.apply(settings, &at)?;
        let mut roles = self.st.attrs_builder(inst.roles.len())?;
        for (ri, role) in inst.roles.iter().enumerate() {
            let at = self.st.new_int(index(ri)?)?;
            let role_machines = self.st.apply(&machines, &at)?;
            let per_member = self.st.apply(&settings, &at)?;
            let role_settings = match ClanResolution::role_settings(self.input, ci, ri) {
                Some(def) => vec![self.definition(&def, ci, ri)?],
                None => Vec::new(),
            };
            let role_settings = self.st.new_list(role_settings.iter())?;
            let extra = self.role_extra_modules(ci, ri)?;
            let entry = self.attrs(&[
                ("extraModules", &extra),
                ("machines", &role_machines),
                ("roleSettings", &role_settings),
                ("settings", &per_member),
            ])?;
            roles.insert(role.name, &entry)?;
        }
        let roles = roles.finish()?;
        self.own.clear();
        self.attrs(&[
            ("assertions", &assertions),
            ("module", &module),
            ("roles", &roles),
            ("service", &service),
        ])
    }

    /// The members of role `ri` of instance `ci`.
    fn clan_role(&self, ci: usize, ri: usize) -> Result<&'i ClanRoleOutput<'i>, Error> {
        self.clan()
            .instances
            .get(ci)
            .and_then(|i| i.roles.get(ri))
            .ok_or_else(|| Error("internal error: no such role".into()))
    }

    /// How many members role `ri` of instance `ci` has (0 if there is no such role): for the
    /// test hooks' counter only.
    #[cfg(feature = "test-hooks")]
    pub(crate) fn clan_role_size(&self, ci: usize, ri: usize) -> usize {
        self.clan_role(ci, ri).map_or(0, |r| r.members.len())
    }

    /// `instances.<i>.roles.<r>.machines` of role `ri` of instance `ci`.
    pub(crate) fn clan_role_machines(&mut self, ci: usize, ri: usize) -> Result<Value<'s>, Error> {
        let role = self.clan_role(ci, ri)?;
        self.member_list(&role.members)
    }

    /// `instances.<i>.roles.<r>.settings` of role `ri` of instance `ci`: per member, the list of
    /// its settings definitions. Members without settings of their own and with the same tags
    /// that carry settings have the same definitions: they share one list, made here (a list of
    /// definitions that refer to the user's values, forcing none of them).
    pub(crate) fn clan_role_settings(&mut self, ci: usize, ri: usize) -> Result<Value<'s>, Error> {
        let role = self.clan_role(ci, ri)?;
        let res = self.res;
        let mut lists: Vec<Value<'s>> = Vec::new();
        // The list of members without settings of their own, by the tags whose settings they get.
        let mut shared: HashMap<Box<[usize]>, usize> = HashMap::default();
        let mut tags: Vec<usize> = Vec::new();
        let mut out = self.st.attrs_builder(role.members.len())?;
        for (position, &mi) in role.members.iter().enumerate() {
            let mi = mi as usize;
            tags.clear();
            let mut own = false;
            for def in res.settings_at(ci, ri, position, mi) {
                match def.source {
                    SettingsSource::Role => {}
                    SettingsSource::Machine(_) => own = true,
                    SettingsSource::Tag { index, .. } => tags.push(index),
                }
            }
            let at = if let (false, Some(&at)) = (own, shared.get(tags.as_slice())) {
                at
            } else {
                let defs: Vec<_> = res.settings_at(ci, ri, position, mi).collect();
                let values = defs
                    .iter()
                    .map(|d| self.definition(d, ci, ri))
                    .collect::<Result<Vec<_>, _>>()?;
                lists.push(self.st.new_list(values.iter())?);
                if !own {
                    shared.insert(tags.as_slice().into(), lists.len() - 1);
                }
                lists.len() - 1
            };
            out.insert(&self.input.machines[mi].name, &lists[at])?;
        }
        out.finish()
    }

    /// `extraModules` of role `ri` of instance `ci`, strings relative to `directory`.
    fn role_extra_modules(&mut self, ci: usize, ri: usize) -> Result<Value<'s>, Error> {
        let input = self.input;
        let inst = &input.instances[ci];
        let role = &inst.roles[ri];
        let no_dir = input.directory.is_none();
        let mut values = Vec::with_capacity(role.extra_modules.len());
        for (k, value) in role.extra_modules.iter().enumerate() {
            let origin = no_dir.then(|| {
                crate::inventory::role_path(&inst.name, &role.name)
                    .attr("extraModules")
                    .index(k)
                    .to_string()
            });
            let slot = self.extra(value, origin.as_deref())?;
            values.push(match slot {
                Slot::Input(v) => v.clone(),
                Slot::Shared(i) => self.c.shared[i].clone(),
                Slot::Own(i) => self.own[i].clone(),
            });
        }
        self.st.new_list(values.iter())
    }

    /// `{ _file = "<path>"; imports = [ <value> ]; }`; those of a role and of its tags are made
    /// once and shared by every member.
    fn definition(
        &mut self,
        def: &SettingsDef<'i, Value<'static>>,
        ci: usize,
        ri: usize,
    ) -> Result<Value<'s>, Error> {
        let key: Option<DefKey> = match def.source {
            SettingsSource::Role => Some((ci, ri, None)),
            SettingsSource::Tag { index, .. } => Some((ci, ri, Some(index))),
            SettingsSource::Machine(_) => None,
        };
        let make = |e: &mut Self| {
            let file = e.st.new_string(&def.path().to_string())?;
            let imports = e.st.new_list(std::iter::once(def.value))?;
            e.attrs(&[("_file", &file), ("imports", &imports)])
        };
        match key {
            Some(key) => self.memo(|c| &mut c.clan_definitions, &key, make),
            // A member's own definition is its only user.
            None => make(self),
        }
    }

    /// `clanServices` of the result: per service, `service` (a function of the service index,
    /// `clanInventoryClanService results id`) applied to its index, a thunk of
    /// [`Self::clan_service`].
    pub(crate) fn clan_services(&mut self, service: &Value<'s>) -> Result<Value<'s>, Error> {
        let clan = self.clan();
        let mut out = self.st.attrs_builder(clan.services.len())?;
        for (si, s) in clan.services.iter().enumerate() {
            let thunk = self.st.apply(service, &self.st.new_int(index(si)?)?)?;
            out.insert(&s.key, &thunk)?;
        }
        out.finish()
    }

    /// `clanServices.<key>` of service `si`; its `machines` is `machines` (a function of the
    /// service index) applied to `si`, a thunk of [`Self::clan_service_machines`].
    pub(crate) fn clan_service(
        &mut self,
        si: usize,
        machines: &Value<'s>,
    ) -> Result<Value<'s>, Error> {
        let clan = self.clan();
        let service = clan
            .services
            .get(si)
            .ok_or_else(|| Error("internal error: service index out of range".into()))?;
        let module = self.module_ref(service.input, service.module)?;
        let names = service
            .instances
            .iter()
            .map(|&i| self.string(clan.instances[i].name))
            .collect::<Result<Vec<_>, _>>()?;
        let instances = self.st.new_list(names.iter())?;
        let machines = self.st.apply(machines, &self.st.new_int(index(si)?)?)?;
        let assertions = self.clan_failures(&service.failures)?;
        self.attrs(&[
            ("assertions", &assertions),
            ("instances", &instances),
            ("machines", &machines),
            ("module", &module),
        ])
    }

    /// `clanServices.<key>.machines` of service `si`: machines in the same instances share one
    /// list.
    pub(crate) fn clan_service_machines(&mut self, si: usize) -> Result<Value<'s>, Error> {
        let clan = self.clan();
        if si >= clan.services.len() {
            return Err(Error("internal error: service index out of range".into()));
        }
        let per_machine = clan.service_machines(si);
        let mut lists: Vec<Value<'s>> = Vec::new();
        let mut shared: HashMap<&[usize], usize> = HashMap::default();
        let mut out = self.st.attrs_builder(per_machine.len())?;
        for (mi, of_machine) in &per_machine {
            let at = if let Some(&at) = shared.get(of_machine.as_slice()) {
                at
            } else {
                let names = of_machine
                    .iter()
                    .map(|&i| self.string(clan.instances[i].name))
                    .collect::<Result<Vec<_>, _>>()?;
                lists.push(self.st.new_list(names.iter())?);
                shared.insert(of_machine.as_slice(), lists.len() - 1);
                lists.len() - 1
            };
            out.insert(&self.input.machines[*mi].name, &lists[at])?;
        }
        out.finish()
    }
}
