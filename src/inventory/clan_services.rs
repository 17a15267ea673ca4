//! Resolution of `inventory.instances`: which clan service each instance belongs to, the members
//! of its roles, the settings definitions of each member, every machine's memberships and the
//! failed constraints (docs/semantics.md, "Clan services"). Linear in the size of the input: role
//! members come from the [`Roster`], as those of `inventory.services` do.

use super::error::{Bound, ClanConstraintFailure, Warning};
use super::model::{ClanInstance, Input, TagForm};
use super::path::{AttrPath, Path};
use super::resolve::{narrow, PerMachine};
use super::roster::{Roster, Seen};

/// The resolution of `inventory.instances`, referring to the input's names.
#[derive(Debug)]
pub struct ClanResolution<'a> {
    /// One per instance of `Input::instances`, in the same (sorted) order.
    pub instances: Vec<ClanInstanceOutput<'a>>,
    /// One per service (instances with the same key), sorted by key.
    pub services: Vec<ClanServiceOutput<'a>>,
    /// The failed constraints: every instance's (instances sorted), then every service's.
    pub assertions: Vec<ClanConstraintFailure>,
    /// Every machine's memberships, sorted by service key, then role, then instance.
    memberships: PerMachine<ClanMembership>,
}

/// One instance of `inventory.instances`, resolved.
#[derive(Debug)]
pub struct ClanInstanceOutput<'a> {
    pub name: &'a str,
    /// Index into `ClanResolution::services`.
    pub service: usize,
    /// The flake input its module comes from: `self`, `clan-core` or another input's name.
    pub input: &'a str,
    /// `module.name`.
    pub module: &'a str,
    /// The roles the instance defines, sorted (parallel to `ClanInstance::roles`).
    pub roles: Vec<ClanRoleOutput<'a>>,
    /// Its failed role constraints.
    pub failures: Vec<ClanConstraintFailure>,
}

/// A role of an instance and its members.
#[derive(Debug)]
pub struct ClanRoleOutput<'a> {
    pub name: &'a str,
    /// Indices into `Input::machines`, in member order: the machines listed (sorted), then those
    /// carrying each tag, each once.
    pub members: Vec<u32>,
}

/// A clan service: the instances of one module of one input.
#[derive(Debug)]
pub struct ClanServiceOutput<'a> {
    /// `<label>/<name>` (see [`super::ModuleRef::key`]).
    pub key: String,
    pub input: &'a str,
    pub module: &'a str,
    /// Indices into `ClanResolution::instances`, ascending (so by name).
    pub instances: Vec<usize>,
    /// Its failed `maxInstances` constraint, if any.
    pub failures: Vec<ClanConstraintFailure>,
}

/// One membership of a machine: an instance and one of its roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClanMembership {
    /// Index into `ClanResolution::instances`.
    pub instance: u32,
    /// Index into the instance's `roles`.
    pub role: u32,
}

/// Where a settings definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingsSource<'a> {
    /// `roles.<r>.settings`.
    Role,
    /// `roles.<r>.machines.<m>.settings`.
    Machine(&'a str),
    /// `roles.<r>.tags.<t>.settings`; `index` is the tag's position in `ClanRole::tags`.
    Tag { tag: &'a str, index: usize },
}

/// One settings definition of a member: a value the user wrote, never forced.
#[derive(Debug)]
pub struct SettingsDef<'a, V> {
    pub instance: &'a str,
    pub role: &'a str,
    pub source: SettingsSource<'a>,
    pub value: &'a V,
}

impl<V> SettingsDef<'_, V> {
    /// Where the user wrote it, the `_file` of its module:
    /// `inventory.instances.<i>.roles.<r>.machines.<m>.settings`, say.
    #[must_use]
    pub fn path(&self) -> AttrPath {
        let role = role_path(self.instance, self.role);
        match self.source {
            SettingsSource::Role => role,
            SettingsSource::Machine(m) => role.attr("machines").attr(m),
            SettingsSource::Tag { tag, .. } => role.attr("tags").attr(tag),
        }
        .attr("settings")
    }
}

/// `inventory.instances.<i>.roles.<r>`.
#[must_use]
pub fn role_path(instance: &str, role: &str) -> AttrPath {
    AttrPath::root("inventory")
        .attr("instances")
        .attr(instance)
        .attr("roles")
        .attr(role)
}

impl<'a> ClanResolution<'a> {
    /// Resolves the instances of `input`, with the members of each role from `roster` (the same
    /// rule as `inventory.services`). An instance whose module does not resolve (phase 2 rejects
    /// it) gets members, but no constraints.
    pub(super) fn new<V>(input: &'a Input<V>, roster: &Roster<'_>, seen: &mut Seen) -> Self {
        let inputs = &input.service_modules;
        // Services by key: the instances are sorted, so each service's list is too.
        let mut keys: Vec<(String, usize)> = input
            .instances
            .iter()
            .enumerate()
            .map(|(i, inst)| (inst.module.key(inputs), i))
            .collect();
        keys.sort();
        let mut services: Vec<ClanServiceOutput<'a>> = Vec::new();
        let mut service_of = vec![0; input.instances.len()];
        for (key, i) in keys {
            let inst = &input.instances[i];
            if services.last().map_or(true, |s| s.key != key) {
                services.push(ClanServiceOutput {
                    key,
                    input: inst.module.resolved_input(inputs),
                    module: &inst.module.name,
                    instances: Vec::new(),
                    failures: Vec::new(),
                });
            }
            let last = services.len() - 1;
            services[last].instances.push(i);
            service_of[i] = last;
        }

        let mut instances = Vec::with_capacity(input.instances.len());
        let mut assertions = Vec::new();
        for (i, inst) in input.instances.iter().enumerate() {
            let roles: Vec<ClanRoleOutput<'a>> = inst
                .roles
                .iter()
                .map(|role| ClanRoleOutput {
                    name: &role.name,
                    members: roster.clan_members_of(role, seen),
                })
                .collect();
            let failures = role_failures(input, inst, &roles);
            assertions.extend(failures.iter().cloned());
            instances.push(ClanInstanceOutput {
                name: &inst.name,
                service: service_of[i],
                input: inst.module.resolved_input(inputs),
                module: &inst.module.name,
                roles,
                failures,
            });
        }
        for service in &mut services {
            let spec = input.service_spec(&input.instances[service.instances[0]]);
            if let Some(max) = spec.and_then(|s| s.max_instances) {
                if service.instances.len() as u64 > max.unsigned_abs() || max < 0 {
                    let failure = ClanConstraintFailure::Instances {
                        service: service.key.clone(),
                        max,
                        instances: service
                            .instances
                            .iter()
                            .map(|&i| input.instances[i].name.clone())
                            .collect(),
                    };
                    assertions.push(failure.clone());
                    service.failures.push(failure);
                }
            }
        }

        let memberships = membership_index(&instances, &services, input.machines.len());
        ClanResolution {
            instances,
            services,
            assertions,
            memberships,
        }
    }

    /// The memberships of machine `mi` (an index into `Input::machines`), sorted by service key,
    /// then role name, then instance name.
    #[must_use]
    pub fn memberships(&self, mi: usize) -> &[ClanMembership] {
        self.memberships.of(mi)
    }

    /// The service key of a membership.
    #[must_use]
    pub fn service_of(&self, m: ClanMembership) -> &ClanServiceOutput<'a> {
        &self.services[self.instances[m.instance as usize].service]
    }

    /// The role name of a membership.
    #[must_use]
    pub fn role_name(&self, m: ClanMembership) -> &'a str {
        self.instances[m.instance as usize].roles[m.role as usize].name
    }

    /// The machines of service `service` (an index into `services`), sorted, each with the
    /// instances it is in (indices into `instances`, sorted).
    #[must_use]
    pub fn service_machines(&self, service: usize) -> Vec<(usize, Vec<usize>)> {
        let mut pairs: Vec<(usize, usize)> = self.services[service]
            .instances
            .iter()
            .flat_map(|&i| {
                self.instances[i]
                    .roles
                    .iter()
                    .flat_map(move |r| r.members.iter().map(move |&m| (m as usize, i)))
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
        for (m, i) in pairs {
            match out.last_mut() {
                Some((machine, of_machine)) if *machine == m => of_machine.push(i),
                _ => out.push((m, vec![i])),
            }
        }
        out
    }

    /// The settings definitions of member `mi` of role `role` of instance `instance`, in order:
    /// the role's, the member's own, then those of the role's tags (attribute form, sorted) that
    /// the machine carries. `tags` are the machine's tags.
    pub fn settings<'s, V>(
        &self,
        input: &'a Input<V>,
        tags: &'s [&'s str],
        instance: usize,
        role: usize,
        mi: usize,
    ) -> impl Iterator<Item = SettingsDef<'a, V>> + 's
    where
        'a: 's,
    {
        let r = &input.instances[instance].roles[role];
        let name = input.machines[mi].name.as_str();
        let own = r
            .machines
            .binary_search_by(|m| m.name.as_str().cmp(name))
            .ok();
        Self::settings_with(input, tags, instance, role, mi, own)
    }

    /// [`Self::settings`] of the member at `position` in the role's members, machine `mi`,
    /// without looking its own settings up by name: the members begin with the machines the role
    /// lists, in their order (see `Roster::clan_members_of`), so the member at `position` is the listed machine
    /// at `position`, or (past them) none of those listed.
    pub fn settings_at<'s, V>(
        &self,
        input: &'a Input<V>,
        tags: &'s [&'s str],
        instance: usize,
        role: usize,
        position: usize,
        mi: usize,
    ) -> impl Iterator<Item = SettingsDef<'a, V>> + 's
    where
        'a: 's,
    {
        let r = &input.instances[instance].roles[role];
        let name = input.machines[mi].name.as_str();
        let own = match r.machines.get(position) {
            Some(m) if m.name == name => Some(position),
            // Only if a listed machine were not a member: look it up.
            Some(_) => r
                .machines
                .binary_search_by(|m| m.name.as_str().cmp(name))
                .ok(),
            None => None,
        };
        Self::settings_with(input, tags, instance, role, mi, own)
    }

    /// [`Self::settings`], the member's entry in the role's `machines` being `own` (an index).
    fn settings_with<'s, V>(
        input: &'a Input<V>,
        tags: &'s [&'s str],
        instance: usize,
        role: usize,
        mi: usize,
        own: Option<usize>,
    ) -> impl Iterator<Item = SettingsDef<'a, V>> + 's
    where
        'a: 's,
    {
        let inst = &input.instances[instance];
        let r = &inst.roles[role];
        let def = move |source, value| SettingsDef {
            instance: &inst.name,
            role: &r.name,
            source,
            value,
        };
        let name = input.machines[mi].name.as_str();
        let own = own.and_then(|i| r.machines[i].settings.as_ref());
        let tagged = r.tags.iter().enumerate().filter_map(move |(index, t)| {
            let value = t.settings.as_ref()?;
            (r.tag_form == TagForm::Attrs && tags.contains(&t.name.as_str())).then(|| {
                def(
                    SettingsSource::Tag {
                        tag: &t.name,
                        index,
                    },
                    value,
                )
            })
        });
        r.settings
            .as_ref()
            .map(|v| def(SettingsSource::Role, v))
            .into_iter()
            .chain(own.map(|v| def(SettingsSource::Machine(name), v)))
            .chain(tagged)
    }

    /// The role's own settings definition (`roleSettings`), when given.
    #[must_use]
    pub fn role_settings<V>(
        input: &'a Input<V>,
        instance: usize,
        role: usize,
    ) -> Option<SettingsDef<'a, V>> {
        let inst = &input.instances[instance];
        let r = &inst.roles[role];
        r.settings.as_ref().map(|value| SettingsDef {
            instance: &inst.name,
            role: &r.name,
            source: SettingsSource::Role,
            value,
        })
    }
}

/// The failed role constraints of `inst`: each role of its module (sorted) with a constraint,
/// `minMachines` then `maxMachines`.
fn role_failures<V>(
    input: &Input<V>,
    inst: &ClanInstance<V>,
    roles: &[ClanRoleOutput<'_>],
) -> Vec<ClanConstraintFailure> {
    let Some(spec) = input.service_spec(inst) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for role in &spec.roles {
        let Ok(c) = spec
            .role_constraints
            .binary_search_by(|(r, _)| r.as_str().cmp(role))
        else {
            continue;
        };
        let bounds = spec.role_constraints[c].1;
        let members: &[u32] = roles
            .iter()
            .find(|r| r.name == role)
            .map_or(&[], |r| &r.members);
        let n = members.len() as u64;
        let failure = |bound| ClanConstraintFailure::Role {
            instance: inst.name.clone(),
            role: role.clone(),
            bound,
            members: members
                .iter()
                .map(|&i| input.machines[i as usize].name.to_string())
                .collect(),
        };
        if let Some(min) = bounds.min {
            if min > 0 && n < min.unsigned_abs() {
                out.push(failure(Bound::Min(min)));
            }
        }
        if let Some(max) = bounds.max {
            if max < 0 || n > max.unsigned_abs() {
                out.push(failure(Bound::Max(max)));
            }
        }
    }
    out
}

/// Every machine's memberships, in the order of `machines.<m>.instances`: services by key, then
/// role name, then instance name.
fn membership_index(
    instances: &[ClanInstanceOutput<'_>],
    services: &[ClanServiceOutput<'_>],
    n: usize,
) -> PerMachine<ClanMembership> {
    let mut pairs: Vec<(usize, ClanMembership)> = Vec::new();
    let mut order: Vec<(&str, usize, usize)> = Vec::new();
    for service in services {
        order.clear();
        for &i in &service.instances {
            for (ri, r) in instances[i].roles.iter().enumerate() {
                order.push((r.name, i, ri));
            }
        }
        // Instances are sorted by name, so their indices sort like their names.
        order.sort_unstable();
        for &(_, i, ri) in &order {
            for &m in &instances[i].roles[ri].members {
                pairs.push((
                    m as usize,
                    ClanMembership {
                        instance: narrow(i),
                        role: narrow(ri),
                    },
                ));
            }
        }
    }
    PerMachine::new(n, pairs.into_iter())
}

/// The warnings of `inventory.instances`: per instance, role and distinct tag (in list order, or
/// sorted), a tag no machine carries.
pub(super) fn warnings<V>(input: &Input<V>, roster: &Roster<'_>, out: &mut Vec<Warning>) {
    let mut known: Option<Vec<&str>> = None;
    let root = Path::Root("inventory");
    let instances = root.attr("instances");
    for inst in &input.instances {
        let ip = instances.attr(&inst.name);
        let rp = ip.attr("roles");
        for role in &inst.roles {
            let tags = role.tags.iter().map(|t| t.name.as_str());
            roster.unmatched_tags(tags, &rp.attr(&role.name).attr("tags"), &mut known, out);
        }
    }
}
