//! Resolution: tags of machines, members of roles, and what each machine gets. Linear in the size
//! of the input: tag membership is computed once, never per machine.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell, RefCell};
use std::convert::Infallible;

use super::clan_services::{self, ClanResolution, SettingsDef};
use super::error::{Bound, ConstraintFailure, Warning};
use super::model::{Input, Instance, Module};
use super::path::{AttrPath, Path};
use super::roster::{MachineTags, Roster, Seen};

/// The result of one evaluation, referring to the input's names and lazy values: the parts of a
/// [`Resolution`] with every machine's module list collected by a visitor over its walk
/// ([`resolve`]), and the roster, for the reasons of memberships. Kept on purpose beside
/// `Resolution`: the CLI and the core's JSON read whole results (tables, graphs, `select`,
/// `explain`), which are easiest to write against plain vectors, and collecting costs them little;
/// the plugin, which must not hold every module list of a large fleet, visits instead. Both read
/// the one walk, so they cannot disagree.
#[derive(Debug)]
pub struct Output<'a, V> {
    /// One per machine of the input, in the same (sorted) order.
    pub machines: Vec<MachineOutput<'a, V>>,
    /// One per instance of every service, services then instances sorted.
    pub instances: Vec<InstanceOutput<'a>>,
    pub warnings: Vec<Warning>,
    /// The failed constraints of every enabled instance (assertion messages).
    pub assertions: Vec<ConstraintFailure>,
    /// The resolution of `inventory.instances`.
    pub clan: ClanResolution<'a>,
    /// Why each member of a role is one: see [`Roster::reasons`] and [`Roster::clan_reasons`].
    pub roster: Roster<'a>,
}

/// The roles of one instance and their members.
#[derive(Debug)]
pub struct InstanceOutput<'a> {
    pub service: &'a str,
    pub instance: &'a str,
    pub enabled: bool,
    /// Every role the module defines, sorted, with its members as indices into `Input::machines`.
    pub roles: Vec<(&'a str, Vec<u32>)>,
    /// Failed constraints, the instance's assertions (empty for disabled instances).
    pub failures: Vec<ConstraintFailure>,
}

/// One instance of a [`Resolution`]: an [`InstanceOutput`] whose member lists are made when first
/// read ([`Resolution::members`]). One machine of a large fleet reads none of them: the lists of
/// every role of every instance are as many indices as the fleet has memberships.
#[derive(Debug)]
pub struct ResolvedInstance<'a> {
    pub service: &'a str,
    pub instance: &'a str,
    pub enabled: bool,
    /// Every role the module defines, sorted.
    pub roles: Vec<&'a str>,
    /// Failed constraints, the instance's assertions (empty for disabled instances).
    pub failures: Vec<ConstraintFailure>,
    /// The members of each role, parallel to `roles`, as indices into `Input::machines`.
    pub(super) members: OnceCell<Vec<Vec<u32>>>,
}

/// Roles of a machine in one instance: the index into `Output::instances` and the role names, sorted.
pub type ServiceRoles<'a> = (usize, Vec<&'a str>);

#[derive(Debug)]
pub struct MachineOutput<'a, V> {
    pub name: &'a str,
    pub tags: Vec<&'a str>,
    /// The enabled instances the machine is a member of, in instance order.
    pub services: Vec<ServiceRoles<'a>>,
    pub modules: Vec<ModuleItem<'a, V>>,
}

/// One element of a machine's module list.
#[derive(Debug)]
pub enum ModuleItem<'a, V> {
    /// The module of role `role` (index into the instance's roles) of instance `instance`
    /// (index into `Output::instances`), as the user wrote it.
    Role {
        instance: usize,
        role: usize,
        module: &'a V,
    },
    /// An `extraModules` entry: a string becomes `directory + "/" + entry` when forced. `origin` is the
    /// path of the entry, given only when there is no directory (for the error it then throws);
    /// `from` says where it is.
    Extra {
        value: &'a V,
        origin: Option<String>,
        from: ExtraOrigin,
    },
    /// The generated module of instance `instance` (index into `Output::instances`): its role
    /// members, and `clan.<service>` merged from `layers` when there are any.
    Generated { instance: usize, layers: Vec<&'a V> },
    /// The failed constraints of instance `instance`, as NixOS assertions.
    Constraints { instance: usize },
    /// `clan.core.networking` from the machine's `deploy`.
    Deploy {
        target_host: Option<&'a V>,
        build_host: Option<&'a V>,
    },
}

/// Where an `extraModules` entry of a machine's module list comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraOrigin {
    /// Index into `Output::instances`.
    pub instance: usize,
    pub list: ExtraList,
    /// Index of the entry in its list.
    pub index: usize,
}

/// Which `extraModules` list of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraList {
    /// `extraModules` of the instance.
    Instance,
    /// `machines.<m>.extraModules`, of the machine whose module list it is.
    MachineEntry,
    /// `roles.<r>.extraModules`, of the role with this index into the instance's roles.
    Role(usize),
}

/// Resolves a validated input into an owned [`Output`]: every machine's module list at once.
pub fn resolve<V>(input: &Input<V>) -> Output<'_, V> {
    let resolution = Resolution::new(input);
    let mut machines = Vec::with_capacity(input.machines.len());
    for mi in 0..input.machines.len() {
        let mut collect = Collect(Vec::with_capacity(3 * resolution.memberships(mi).len() + 1));
        if let Err(never) = resolution.visit_modules(mi, &mut collect) {
            match never {}
        }
        machines.push(MachineOutput {
            name: &input.machines[mi].name,
            tags: resolution.tags(mi).to_vec(),
            services: resolution
                .groups(mi)
                .map(|(instance, group)| {
                    (
                        instance,
                        group.iter().map(|&m| resolution.role_name(m)).collect(),
                    )
                })
                .collect(),
            modules: collect.0,
        });
    }
    // The output holds every member list, of disabled instances too.
    for index in 0..resolution.instances.len() {
        let _ = resolution.members(index);
    }
    let Resolution {
        instances,
        warnings,
        assertions,
        clan,
        roster,
        ..
    } = resolution;
    let instances = instances
        .into_iter()
        .map(|inst| InstanceOutput {
            service: inst.service,
            instance: inst.instance,
            enabled: inst.enabled,
            roles: inst
                .roles
                .into_iter()
                .zip(inst.members.into_inner().unwrap_or_default())
                .collect(),
            failures: inst.failures,
        })
        .collect();
    Output {
        machines,
        instances,
        warnings,
        assertions,
        clan,
        roster,
    }
}

/// Builds the owned module list of [`resolve`]: the walk of [`Resolution::visit_modules`], kept.
struct Collect<'a, V>(Vec<ModuleItem<'a, V>>);

impl<'a, V> Visit<'a, V> for Collect<'a, V> {
    type Error = Infallible;

    fn role(&mut self, _: &'a V) -> Result<(), Infallible> {
        unreachable!("Collect receives role modules through role_of")
    }
    fn extra(&mut self, _: &'a V, _: Option<String>) -> Result<(), Infallible> {
        unreachable!("Collect receives extra modules through extra_from")
    }
    fn role_of(&mut self, membership: Membership, module: &'a V) -> Result<(), Infallible> {
        self.0.push(ModuleItem::Role {
            instance: membership.instance as usize,
            role: membership.role as usize,
            module,
        });
        Ok(())
    }
    fn extra_from(
        &mut self,
        value: &'a V,
        from: ExtraOrigin,
        origin: Option<String>,
    ) -> Result<(), Infallible> {
        self.0.push(ModuleItem::Extra {
            value,
            origin,
            from,
        });
        Ok(())
    }
    fn generated(&mut self, instance: usize, layers: &[&'a V]) -> Result<(), Infallible> {
        self.0.push(ModuleItem::Generated {
            instance,
            layers: layers.to_vec(),
        });
        Ok(())
    }
    fn constraints(&mut self, instance: usize) -> Result<(), Infallible> {
        self.0.push(ModuleItem::Constraints { instance });
        Ok(())
    }
    fn deploy(
        &mut self,
        target_host: Option<&'a V>,
        build_host: Option<&'a V>,
    ) -> Result<(), Infallible> {
        self.0.push(ModuleItem::Deploy {
            target_host,
            build_host,
        });
        Ok(())
    }
}

/// Receives the elements of one machine's module list, in order (see [`ModuleItem`] for what
/// each one is). Lets a caller build its own representation without an intermediate list. The
/// first error a method returns ends the walk ([`Resolution::visit_modules`] returns it).
pub trait Visit<'a, V> {
    /// What the visitor can fail with ([`Infallible`] if it cannot).
    type Error;

    fn role(&mut self, module: &'a V) -> Result<(), Self::Error>;
    /// `origin` is given only when there is no `directory`.
    fn extra(&mut self, value: &'a V, origin: Option<String>) -> Result<(), Self::Error>;
    /// `layers` is only valid for the call.
    fn generated(&mut self, instance: usize, layers: &[&'a V]) -> Result<(), Self::Error>;
    fn constraints(&mut self, instance: usize) -> Result<(), Self::Error>;
    fn deploy(
        &mut self,
        target_host: Option<&'a V>,
        build_host: Option<&'a V>,
    ) -> Result<(), Self::Error>;

    /// Called before the elements that the memberships `group` of one instance add to the list.
    /// `common` says whether those elements are the same for every machine with these roles in
    /// the instance (the machine's own entry there adds nothing: no config, no `extraModules`).
    /// Returning `true` skips them: a visitor that kept them from an earlier machine adds them
    /// itself. By default `false`: every element is visited.
    fn begin_instance(
        &mut self,
        instance: usize,
        group: &[Membership],
        common: bool,
    ) -> Result<bool, Self::Error> {
        let _ = (instance, group, common);
        Ok(false)
    }

    /// Called after the elements of a group that [`Visit::begin_instance`] did not skip.
    fn end_instance(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// A role module, with the membership it comes from. By default [`Visit::role`].
    fn role_of(&mut self, membership: Membership, module: &'a V) -> Result<(), Self::Error> {
        let _ = membership;
        self.role(module)
    }

    /// An `extraModules` entry, with where it comes from. By default [`Visit::extra`].
    fn extra_from(
        &mut self,
        value: &'a V,
        from: ExtraOrigin,
        origin: Option<String>,
    ) -> Result<(), Self::Error> {
        let _ = from;
        self.extra(value, origin)
    }
}

/// One membership of a machine: an instance and one of its roles. 32 bits each, so that the
/// memberships of a large fleet stay small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Membership {
    /// Index into `Resolution::instances`.
    pub instance: u32,
    /// Index of the role in the service's module (and in the instance's `roles`).
    pub role: u32,
}

/// The resolution of an input, with the per-machine module lists left to be visited one machine
/// at a time ([`Resolution::visit_modules`]), so that a caller can turn each into its own
/// representation without holding all of them.
pub struct Resolution<'a, V> {
    input: &'a Input<V>,
    /// One per instance of every service, services then instances sorted.
    pub instances: Vec<ResolvedInstance<'a>>,
    pub warnings: Vec<Warning>,
    /// The failed constraints of every enabled instance (assertion messages).
    pub assertions: Vec<ConstraintFailure>,
    /// The resolution of `inventory.instances`.
    pub clan: ClanResolution<'a>,
    tags: MachineTags<'a>,
    /// Who is who, for the member lists made on first read.
    roster: Roster<'a>,
    /// Scratch space of the member lists.
    seen: RefCell<Seen>,
    /// The memberships of each machine, in instance order and role order within an instance,
    /// made on first use (see [`Resolution::memberships_of`]). Only enabled instances have
    /// members here.
    index: OnceCell<PerMachine<Membership>>,
    /// How many machines' memberships were found by scanning the member lists, without `index`.
    scans: Cell<usize>,
    /// The `machines.<m>` entries naming each machine, in instance order.
    entries: PerMachine<Entry>,
    refs: Vec<InstanceRefs<'a, V>>,
}

impl<'a, V> Resolution<'a, V> {
    /// Resolves a validated input: tags and constraints of every instance, and what the member
    /// lists of its roles are made from when read ([`Resolution::members`]), and which instances
    /// and roles every machine is in ([`Resolution::memberships`]). Linear in the size of the
    /// input; the member lists are not made here, as the constraints need only the numbers of
    /// members of constrained roles, and the warnings whether one machine is a member.
    pub fn new(input: &'a Input<V>) -> Self {
        let n = input.machines.len();
        let (roster, tags) = Roster::new(input);
        let mut seen = Seen::new(n);

        let mut instances = Vec::new();
        let mut assertions = Vec::new();
        let mut refs: Vec<InstanceRefs<'_, V>> = Vec::new();
        // Every `machines.<m>` entry of an instance, in instance order: (machine, entry).
        let mut entry_list: Vec<(usize, Entry)> = Vec::new();
        for service in &input.services {
            let Ok(mi) = input
                .modules
                .binary_search_by(|m| m.name.as_str().cmp(&service.name))
            else {
                continue;
            };
            let module = &input.modules[mi];
            for inst in &service.instances {
                let roles = module.roles.iter().map(|(r, _)| r.as_str()).collect();
                let role_entries: Vec<_> = module
                    .roles
                    .iter()
                    .map(|(role_name, _)| find_role(inst, role_name))
                    .collect();
                let failures = if inst.enabled {
                    let members = RoleMembers {
                        roster: &roster,
                        module,
                        role_entries: &role_entries,
                    };
                    check_constraints(input, &service.name, inst, &members, &mut seen)
                } else {
                    Vec::new()
                };
                assertions.extend(failures.iter().cloned());
                instances.push(ResolvedInstance {
                    service: &service.name,
                    instance: &inst.name,
                    enabled: inst.enabled,
                    roles,
                    failures,
                    members: OnceCell::new(),
                });
                let index = narrow(instances.len() - 1);
                for (e, entry) in inst.machines.iter().enumerate() {
                    if let Some(m) = roster.machine(&entry.name) {
                        entry_list.push((
                            m,
                            Entry {
                                instance: index,
                                entry: narrow(e),
                            },
                        ));
                    }
                }
                refs.push(InstanceRefs {
                    inst,
                    module,
                    role_entries,
                });
            }
        }

        let entries = PerMachine::new(n, entry_list.into_iter());
        let clan = ClanResolution::new(input, &roster, &mut seen);
        let warnings = warnings_with(input, &roster, &mut seen);

        Resolution {
            input,
            instances,
            warnings,
            assertions,
            clan,
            tags,
            roster,
            seen: RefCell::new(seen),
            index: OnceCell::new(),
            scans: Cell::new(0),
            entries,
            refs,
        }
    }

    /// The members of every role of instance `index` (parallel to its `roles`), as indices into
    /// `Input::machines`: see [`Roster::walk`]. Made on first read, then kept.
    #[must_use]
    pub fn members(&self, index: usize) -> &[Vec<u32>] {
        self.instances[index].members.get_or_init(|| {
            let mut seen = self.seen.borrow_mut();
            self.refs[index]
                .role_entries
                .iter()
                .map(|entry| entry.map_or_else(Vec::new, |r| self.roster.members_of(r, &mut seen)))
                .collect()
        })
    }

    /// The tags of machine `mi` (an index into `Input::machines`).
    #[must_use]
    pub fn tags(&self, mi: usize) -> &[&'a str] {
        &self.tags[mi]
    }

    /// The settings definitions of member `mi` of role `role` (an index into the instance's
    /// `roles`) of clan instance `instance` (an index into `Input::instances`), in order: see
    /// [`ClanResolution::settings`].
    pub fn settings(
        &self,
        instance: usize,
        role: usize,
        mi: usize,
    ) -> impl Iterator<Item = SettingsDef<'a, V>> + '_ {
        self.clan
            .settings(self.input, &self.tags[mi], instance, role, mi)
    }

    /// [`Resolution::settings`] of the member at `position` of the role's members, machine `mi`:
    /// see [`ClanResolution::settings_at`].
    pub fn settings_at(
        &self,
        instance: usize,
        role: usize,
        position: usize,
        mi: usize,
    ) -> impl Iterator<Item = SettingsDef<'a, V>> + '_ {
        self.clan
            .settings_at(self.input, &self.tags[mi], instance, role, position, mi)
    }

    /// The memberships of machine `mi`, in instance order and role order within an instance.
    /// Only enabled instances have members here. Makes the index of every machine's memberships
    /// on first use.
    #[must_use]
    pub fn memberships(&self, mi: usize) -> &[Membership] {
        self.index.get_or_init(|| self.membership_index()).of(mi)
    }

    /// [`Resolution::memberships`], without making the index for the first few machines asked
    /// for: those are looked for in every role, by its listed machines and tags, without its
    /// member list, where the index costs making every member list, writing all memberships,
    /// scattered, and holding them (20 MB each at 50,000 machines × 200 instances). Building one
    /// machine of a large fleet asks for one.
    #[must_use]
    pub fn memberships_of(&self, mi: usize) -> Cow<'_, [Membership]> {
        /// Machines found by scanning before the index is made.
        const SCANS: usize = 4;
        if self.index.get().is_none() && self.scans.get() < SCANS {
            self.scans.set(self.scans.get() + 1);
            let mut found = Vec::new();
            for (index, out) in self.instances.iter().enumerate() {
                if !out.enabled {
                    continue;
                }
                for (ri, entry) in self.refs[index].role_entries.iter().enumerate() {
                    if entry.is_some_and(|role| self.roster.is_member_of(role, mi)) {
                        found.push(Membership {
                            instance: narrow(index),
                            role: narrow(ri),
                        });
                    }
                }
            }
            return Cow::Owned(found);
        }
        Cow::Borrowed(self.memberships(mi))
    }

    /// The memberships of machine `mi` by instance: see [`by_instance`].
    pub fn groups(&self, mi: usize) -> impl Iterator<Item = (usize, &[Membership])> {
        by_instance(self.memberships(mi))
    }

    /// The name of the role of a membership.
    #[must_use]
    pub fn role_name(&self, m: Membership) -> &'a str {
        self.instances[m.instance as usize].roles[m.role as usize]
    }

    /// Every machine's memberships, listed in instance and role order, which each machine's
    /// keep: makes the member list of every enabled instance.
    fn membership_index(&self) -> PerMachine<Membership> {
        // The lists first: made inside the walk below, which goes over them twice, they kept it
        // from being inlined (three times the instructions, measured with callgrind).
        let lists: Vec<(usize, &[Vec<u32>])> = (0..self.instances.len())
            .filter(|&index| self.instances[index].enabled)
            .map(|index| (index, self.members(index)))
            .collect();
        let memberships = lists.iter().flat_map(|&(index, roles)| {
            roles
                .iter()
                .enumerate()
                .flat_map(move |(ri, role_members)| {
                    role_members.iter().map(move |&m| {
                        (
                            m as usize,
                            Membership {
                                instance: narrow(index),
                                role: narrow(ri),
                            },
                        )
                    })
                })
        });
        PerMachine::new(self.input.machines.len(), memberships)
    }

    /// Visits the module list of machine `mi`: per instance it is in, its role modules, the extra
    /// modules of the instance, of its `machines.<m>` entry and of its roles, the generated module
    /// and the constraints module if a constraint failed; then its deploy module. Stops at the
    /// visitor's first error.
    pub fn visit_modules<W: Visit<'a, V>>(&self, mi: usize, visit: &mut W) -> Result<(), W::Error> {
        let input = self.input;
        let machine = &input.machines[mi];
        let no_dir = input.directory.is_none();
        let mut layers: Vec<&'a V> = Vec::new();
        // The machine's `machines.<m>` entries, walked along with its memberships (both are in
        // instance order).
        let mut entries = self.entries.of(mi).iter().peekable();
        let memberships = self.memberships_of(mi);
        for (index, group) in by_instance(&memberships) {
            let refs = &self.refs[index];
            let (inst, module) = (refs.inst, refs.module);
            let instance = narrow(index);
            while entries.next_if(|e| e.instance < instance).is_some() {}
            let machine_entry = entries
                .next_if(|e| e.instance == instance)
                .map(|e| &inst.machines[e.entry as usize]);
            let common =
                machine_entry.map_or(true, |e| e.config.is_none() && e.extra_modules.is_empty());
            if visit.begin_instance(index, group, common)? {
                continue;
            }
            for &m in group {
                visit.role_of(m, &module.roles[m.role as usize].1)?;
            }
            let inst_path = || {
                let out = &self.instances[index];
                AttrPath::root("inventory")
                    .attr("services")
                    .attr(out.service)
                    .attr(out.instance)
            };
            // Most lists are empty: those are not walked (a call each, per membership).
            let mut extras = |list: &'a [V], from: ExtraList, path: &dyn Fn() -> AttrPath| {
                for (i, value) in list.iter().enumerate() {
                    let origin = no_dir.then(|| path().index(i).to_string());
                    let from = ExtraOrigin {
                        instance: index,
                        list: from,
                        index: i,
                    };
                    visit.extra_from(value, from, origin)?;
                }
                Ok(())
            };
            if !inst.extra_modules.is_empty() {
                extras(&inst.extra_modules, ExtraList::Instance, &|| {
                    inst_path().attr("extraModules")
                })?;
            }
            if let Some(entry) = machine_entry.filter(|e| !e.extra_modules.is_empty()) {
                extras(&entry.extra_modules, ExtraList::MachineEntry, &|| {
                    inst_path()
                        .attr("machines")
                        .attr(&entry.name)
                        .attr("extraModules")
                })?;
            }
            let member_roles = || {
                group
                    .iter()
                    .filter_map(|m| Some((m.role as usize, refs.role_entries[m.role as usize]?)))
            };
            for (ri, role) in member_roles().filter(|(_, r)| !r.extra_modules.is_empty()) {
                extras(&role.extra_modules, ExtraList::Role(ri), &|| {
                    inst_path()
                        .attr("roles")
                        .attr(&role.name)
                        .attr("extraModules")
                })?;
            }

            layers.clear();
            layers.extend(inst.config.as_ref());
            layers.extend(machine_entry.and_then(|e| e.config.as_ref()));
            layers.extend(member_roles().filter_map(|(_, r)| r.config.as_ref()));
            visit.generated(index, &layers)?;
            if !self.instances[index].failures.is_empty() {
                visit.constraints(index)?;
            }
            visit.end_instance()?;
        }
        if machine.target_host.is_some() || machine.build_host.is_some() {
            visit.deploy(machine.target_host.as_ref(), machine.build_host.as_ref())?;
        }
        Ok(())
    }
}

/// Memberships in instance order, split into one non-empty group per instance: (the instance's
/// index into `Resolution::instances`, its memberships).
pub fn by_instance(memberships: &[Membership]) -> impl Iterator<Item = (usize, &[Membership])> {
    memberships
        .chunk_by(|a, b| a.instance == b.instance)
        .map(|group| (group[0].instance as usize, group))
}

/// A `machines.<m>` entry: the instance (index into `Resolution::instances`) and the index of the
/// entry in its `machines`.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    instance: u32,
    entry: u32,
}

#[derive(Debug)]
/// Items per machine in one flat list: those of machine `m` are `items[starts[m]..starts[m + 1]]`.
pub(super) struct PerMachine<T> {
    starts: Vec<usize>,
    items: Vec<T>,
}

impl<T: Copy + Default> PerMachine<T> {
    /// From (machine, item) pairs, each machine's items in the order given. Goes over `pairs`
    /// twice: once to count, once to fill.
    pub(super) fn new(n: usize, pairs: impl Iterator<Item = (usize, T)> + Clone) -> Self {
        let mut starts = vec![0usize; n + 1];
        for (m, _) in pairs.clone() {
            starts[m] += 1;
        }
        // Counts become start offsets: element `m` the sum of the counts before it.
        let mut total = 0;
        for c in &mut starts {
            let here = *c;
            *c = total;
            total += here;
        }
        let mut next = starts.clone();
        let mut items = vec![T::default(); total];
        for (m, item) in pairs {
            items[next[m]] = item;
            next[m] += 1;
        }
        PerMachine { starts, items }
    }

    pub(super) fn of(&self, m: usize) -> &[T] {
        &self.items[self.starts[m]..self.starts[m + 1]]
    }
}

/// An index into a list of instances or roles as a 32-bit membership field. A fleet with more
/// than 4 billion instances or roles cannot be read into memory, so this never saturates.
pub(super) fn narrow(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// The warnings of an input (tags that match no machine, `machines.<m>` entries of machines in no
/// role), without resolving it. The input need not be valid: every role an instance names counts.
pub fn warnings<V>(input: &Input<V>) -> Vec<Warning> {
    let (roster, _) = Roster::new(input);
    warnings_with(input, &roster, &mut Seen::new(input.machines.len()))
}

fn warnings_with<V>(input: &Input<V>, roster: &Roster<'_>, seen: &mut Seen) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut known: Option<Vec<&str>> = None;
    let root = Path::Root("inventory");
    let services = root.attr("services");
    for service in &input.services {
        let sp = services.attr(&service.name);
        for inst in &service.instances {
            let ip = sp.attr(&inst.name);
            let mp = ip.attr("machines");
            if !inst.machines.is_empty() {
                // The machines listed in a role of the instance; the tagged ones are looked for
                // per entry.
                seen.next();
                for role in &inst.roles {
                    roster.mark_listed_in(role, seen);
                }
            }
            for entry in &inst.machines {
                let Some(mi) = roster.machine(&entry.name) else {
                    continue;
                };
                let member =
                    seen.contains(mi) || inst.roles.iter().any(|r| roster.tagged_in(r, mi));
                if !member {
                    out.push(Warning::IgnoredMachineEntry {
                        path: mp.attr(&entry.name).render(),
                        machine: entry.name.to_string(),
                    });
                }
            }
            let rp = ip.attr("roles");
            for role in &inst.roles {
                let tags = role.tags.iter().map(String::as_str);
                roster.unmatched_tags(
                    tags,
                    &rp.attr(&role.name).attr("tags"),
                    &mut known,
                    &mut out,
                );
            }
        }
    }
    clan_services::warnings(input, roster, &mut out);
    out
}

/// What the per-machine pass needs of an instance, looked up once rather than by name per member.
struct InstanceRefs<'a, V> {
    inst: &'a Instance<V>,
    module: &'a Module<V>,
    /// Per role of the module (in module order): the instance's `roles.<r>` entry, if any.
    role_entries: Vec<Option<&'a super::model::Role<V>>>,
}

fn find_role<'a, V>(inst: &'a Instance<V>, name: &str) -> Option<&'a super::model::Role<V>> {
    inst.roles
        .binary_search_by(|r| r.name.as_str().cmp(name))
        .ok()
        .map(|i| &inst.roles[i])
}

/// How [`check_constraints`] finds the members of an instance's roles.
struct RoleMembers<'r, 'a, V> {
    roster: &'r Roster<'a>,
    module: &'a Module<V>,
    /// Per role of the module: the instance's `roles.<r>` entry, if any.
    role_entries: &'r [Option<&'a super::model::Role<V>>],
}

/// The failed constraints of an instance. Counts the members of each constrained role without
/// listing them; lists them only for the message of a failed one.
fn check_constraints<V>(
    input: &Input<V>,
    service: &str,
    inst: &Instance<V>,
    roles: &RoleMembers<'_, '_, V>,
    seen: &mut Seen,
) -> Vec<ConstraintFailure> {
    let mut out = Vec::new();
    for (role, c) in &roles.module.constraints {
        let Some(ri) = roles.module.roles.iter().position(|(r, _)| r == role) else {
            continue;
        };
        let entry = roles.role_entries[ri];
        let n = entry.map_or(0, |r| roles.roster.count_members_of(r, seen)) as u64;
        let mut failure = |bound| ConstraintFailure {
            service: service.to_owned(),
            instance: inst.name.clone(),
            role: role.clone(),
            bound,
            members: entry
                .map_or_else(Vec::new, |r| roles.roster.members_of(r, seen))
                .into_iter()
                .map(|i| input.machines[i as usize].name.to_string())
                .collect(),
        };
        if n < c.min.unsigned_abs() {
            out.push(failure(Bound::Min(c.min)));
        }
        if let Some(max) = c.max {
            if n > max.unsigned_abs() {
                out.push(failure(Bound::Max(max)));
            }
        }
    }
    out
}
