//! The encoding of `inventory.instances`' resolution: `machines.<m>.instances`, `instances` and
//! `clanServices` (docs/semantics.md, "The result"). The user's settings and extra modules are
//! referred to, never forced; each member's settings list is a thunk.

use super::{Encoder, Slot};
use crate::inventory::{
    ClanConstraintFailure, ClanMembership, ClanResolution, SettingsDef, SettingsSource,
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
    /// memberships.
    pub(in crate::convert) fn machine_instances(&mut self, mi: usize) -> Result<Value<'s>, Error> {
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
                e.st.new_list(items.iter())
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

    /// `instances` of the result. `settings` is the function from an instance index, a role index
    /// and a machine index to that member's settings list (a thunk each).
    pub(crate) fn clan_instances(&mut self, settings: &Value<'s>) -> Result<Value<'s>, Error> {
        let clan = self.clan();
        self.own.clear();
        let mut out = self.st.attrs_builder(clan.instances.len())?;
        for (ci, inst) in clan.instances.iter().enumerate() {
            let service = self.string(&clan.services[inst.service].key)?;
            let module = self.module_ref(inst.input, inst.module)?;
            let assertions = self.clan_failures(&inst.failures)?;
            let of_instance = self.st.apply(settings, &self.st.new_int(index(ci)?)?)?;
            let mut roles = self.st.attrs_builder(inst.roles.len())?;
            for (ri, role) in inst.roles.iter().enumerate() {
                let machines = self.member_list(&role.members)?;
                let of_role = self.st.apply(&of_instance, &self.st.new_int(index(ri)?)?)?;
                let mut per_member = self.st.attrs_builder(role.members.len())?;
                for &mi in &role.members {
                    let thunk = self.st.apply(&of_role, &self.st.new_int(index(mi)?)?)?;
                    per_member.insert(&self.input.machines[mi].name, &thunk)?;
                }
                let per_member = per_member.finish()?;
                let role_settings = match ClanResolution::role_settings(self.input, ci, ri) {
                    Some(def) => vec![self.definition(&def, ci, ri)?],
                    None => Vec::new(),
                };
                let role_settings = self.st.new_list(role_settings.iter())?;
                let extra = self.role_extra_modules(ci, ri)?;
                let entry = self.attrs(&[
                    ("extraModules", &extra),
                    ("machines", &machines),
                    ("roleSettings", &role_settings),
                    ("settings", &per_member),
                ])?;
                roles.insert(role.name, &entry)?;
            }
            let roles = roles.finish()?;
            let entry = self.attrs(&[
                ("assertions", &assertions),
                ("module", &module),
                ("roles", &roles),
                ("service", &service),
            ])?;
            out.insert(inst.name, &entry)?;
        }
        self.own.clear();
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

    /// The settings definitions of member `mi` of role `ri` of instance `ci`, as a list.
    pub(crate) fn clan_settings(
        &mut self,
        ci: usize,
        ri: usize,
        mi: usize,
    ) -> Result<Value<'s>, Error> {
        let clan = self.clan();
        let valid = clan
            .instances
            .get(ci)
            .and_then(|i| i.roles.get(ri))
            .is_some_and(|r| r.members.contains(&mi));
        if !valid {
            return Err(Error("internal error: no such member".into()));
        }
        let defs: Vec<_> = self.res.settings(ci, ri, mi).collect();
        let values = defs
            .iter()
            .map(|d| self.definition(d, ci, ri))
            .collect::<Result<Vec<_>, _>>()?;
        self.st.new_list(values.iter())
    }

    /// `clanServices` of the result.
    pub(crate) fn clan_services(&mut self) -> Result<Value<'s>, Error> {
        let clan = self.clan();
        let mut out = self.st.attrs_builder(clan.services.len())?;
        for (si, service) in clan.services.iter().enumerate() {
            let module = self.module_ref(service.input, service.module)?;
            let names = service
                .instances
                .iter()
                .map(|&i| self.string(clan.instances[i].name))
                .collect::<Result<Vec<_>, _>>()?;
            let instances = self.st.new_list(names.iter())?;
            let per_machine = clan.service_machines(si);
            let mut machines = self.st.attrs_builder(per_machine.len())?;
            for (mi, of_machine) in &per_machine {
                let names = of_machine
                    .iter()
                    .map(|&i| self.string(clan.instances[i].name))
                    .collect::<Result<Vec<_>, _>>()?;
                let list = self.st.new_list(names.iter())?;
                machines.insert(&self.input.machines[*mi].name, &list)?;
            }
            let machines = machines.finish()?;
            let assertions = self.clan_failures(&service.failures)?;
            let entry = self.attrs(&[
                ("assertions", &assertions),
                ("instances", &instances),
                ("machines", &machines),
                ("module", &module),
            ])?;
            out.insert(&service.key, &entry)?;
        }
        out.finish()
    }
}
