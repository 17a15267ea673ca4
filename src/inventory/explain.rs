//! Why a machine gets what it gets: for each instance, the roles it is in and what put it there
//! (listed by name, or a tag it carries, and where that tag comes from: the reasons the roster's
//! rule of membership gives), the config layers and modules it receives in order (read off the
//! module list the resolution's walk made), so that neither is derived a second time here; and
//! the constraints of the instance. Pure data; the CLI prints it.

use super::error::ConstraintFailure;
use super::model::{Constraint, Input, Instance};
use super::path::{AttrPath, Path};
use super::resolve::{narrow, ExtraList, ModuleItem, Output};

/// Where a machine's tag comes from, the first source in tag order (spec § 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagSource {
    /// `inventory.machines.<m>.tags`.
    Own,
    /// `inventory.tags.<t>` names the machine.
    Global,
    /// `all`, which every machine carries.
    All,
    /// The machine's `machineClass`.
    Class,
}

pub use super::roster::Reason;

/// A role of the instance that the machine is a member of.
#[derive(Debug)]
pub struct RoleReasons<'a> {
    pub role: &'a str,
    /// Every reason, explicit machines first, then tags in the order given.
    pub reasons: Vec<Reason<'a>>,
}

/// One element of the machine's module list contributed by an instance, in resolve order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource<'a> {
    /// The module of role `role`.
    Role(&'a str),
    /// Entry `index` of the `extraModules` list at `list`.
    Extra { list: AttrPath, index: usize },
    /// The generated module (role members, and `clan.<svc>` from the config layers).
    Generated,
    /// The failed constraints of the instance, as assertions.
    Constraints,
}

/// A constraint of the instance's module and how the instance stands against it.
#[derive(Debug)]
pub struct ConstraintCheck<'a> {
    pub role: &'a str,
    pub constraint: Constraint,
    /// Members of the role (deduplicated).
    pub members: Vec<&'a str>,
    /// Whether the machine is itself a member of this role.
    pub involves_machine: bool,
    /// The constraints of this role that failed (none for disabled instances).
    pub failures: Vec<ConstraintFailure>,
}

/// What one instance means for the machine.
#[derive(Debug)]
pub struct InstanceReasons<'a> {
    /// Index into `Output::instances`.
    pub instance: usize,
    pub enabled: bool,
    /// Roles the machine is a member of, sorted; empty when the machine only has a
    /// `machines.<m>` entry, which alone does not make it a member (spec § 3.3).
    pub roles: Vec<RoleReasons<'a>>,
    /// Paths of the config layers present, in `mkMerge` order (instance, machine, roles sorted).
    pub layers: Vec<AttrPath>,
    /// What the instance adds to the machine's module list, in order (empty unless a member of an
    /// enabled instance).
    pub modules: Vec<ModuleSource<'a>>,
    /// Every constraint of the module, by role.
    pub constraints: Vec<ConstraintCheck<'a>>,
}

/// Everything about one machine.
#[derive(Debug)]
pub struct Explanation<'a> {
    pub machine: &'a str,
    /// The machine's tags in order, each with its first source.
    pub tags: Vec<(&'a str, TagSource)>,
    /// Instances the machine is a member of or has a `machines.<m>` entry in, in instance order.
    pub instances: Vec<InstanceReasons<'a>>,
}

/// Explains machine `machine` (index into `input.machines`) of a resolved, valid input.
pub fn explain<'a, V>(
    input: &'a Input<V>,
    output: &Output<'a, V>,
    machine: usize,
) -> Explanation<'a> {
    let m = &input.machines[machine];
    let out = &output.machines[machine];
    let tags: Vec<(&str, TagSource)> = out
        .tags
        .iter()
        .map(|&t| {
            let source = if m.tags.iter().any(|own| own == t) {
                TagSource::Own
            } else if input
                .tags
                .iter()
                .any(|(name, members)| name == t && members.contains(&m.name))
            {
                TagSource::Global
            } else if t == "all" {
                TagSource::All
            } else {
                TagSource::Class
            };
            (t, source)
        })
        .collect();

    let mut instances = Vec::new();
    let mut index = 0;
    for service in &input.services {
        if input
            .modules
            .binary_search_by(|x| x.name.as_str().cmp(&service.name))
            .is_err()
        {
            continue;
        }
        for inst in &service.instances {
            if let Some(reasons) = instance(input, output, inst, index, machine) {
                instances.push(reasons);
            }
            index += 1;
        }
    }
    Explanation {
        machine: &m.name,
        tags,
        instances,
    }
}

fn instance<'a, V>(
    input: &'a Input<V>,
    output: &Output<'a, V>,
    inst: &'a Instance<V>,
    index: usize,
    machine: usize,
) -> Option<InstanceReasons<'a>> {
    let inst_out = &output.instances[index];
    let out = &output.machines[machine];
    let name = input.machines[machine].name.as_str();
    let entry = inst.machines.iter().find(|e| e.name == name);
    let mut roles = Vec::new();
    for (role_name, members) in &inst_out.roles {
        if !members.contains(&narrow(machine)) {
            continue;
        }
        let Some(role) = inst.roles.iter().find(|r| r.name == *role_name) else {
            continue;
        };
        roles.push(RoleReasons {
            role: role_name,
            reasons: output.roster.reasons(role, machine),
        });
    }
    if roles.is_empty() && entry.is_none() {
        return None;
    }

    let root = Path::Root("inventory");
    let services = root.attr("services");
    let svc = services.attr(inst_out.service);
    let ip = svc.attr(inst_out.instance);
    let mp = ip.attr("machines");
    let mp = mp.attr(name);
    let rp = ip.attr("roles");
    let member_roles: Vec<_> = roles
        .iter()
        .filter_map(|r| inst.roles.iter().find(|x| x.name == r.role))
        .collect();

    let mut layers = Vec::new();
    if inst.config.is_some() {
        layers.push(ip.attr("config").render());
    }
    if entry.is_some_and(|e| e.config.is_some()) {
        layers.push(mp.attr("config").render());
    }
    for role in &member_roles {
        if role.config.is_some() {
            layers.push(rp.attr(&role.name).attr("config").render());
        }
    }

    // What the walk of the resolution put in the machine's module list for this instance.
    let modules = out
        .modules
        .iter()
        .filter_map(|item| match item {
            ModuleItem::Role { instance, role, .. } if *instance == index => {
                Some(ModuleSource::Role(inst_out.roles[*role].0))
            }
            ModuleItem::Extra { from, .. } if from.instance == index => {
                let list = match from.list {
                    ExtraList::Instance => ip.render(),
                    ExtraList::MachineEntry => mp.render(),
                    ExtraList::Role(r) => rp.render().attr(inst_out.roles[r].0),
                }
                .attr("extraModules");
                Some(ModuleSource::Extra {
                    list,
                    index: from.index,
                })
            }
            ModuleItem::Generated { instance, .. } if *instance == index => {
                Some(ModuleSource::Generated)
            }
            ModuleItem::Constraints { instance } if *instance == index => {
                Some(ModuleSource::Constraints)
            }
            _ => None,
        })
        .collect();

    let module = input
        .modules
        .iter()
        .find(|x| x.name == inst_out.service)
        .expect("resolved instances have a module");
    let constraints = module
        .constraints
        .iter()
        .filter_map(|(role, c)| {
            let (role, members) = inst_out.roles.iter().find(|(r, _)| r == role)?;
            Some(ConstraintCheck {
                role,
                constraint: *c,
                members: members
                    .iter()
                    .map(|&i| input.machines[i as usize].name.as_str())
                    .collect(),
                involves_machine: members.contains(&narrow(machine)),
                failures: inst_out
                    .failures
                    .iter()
                    .filter(|f| f.role == *role)
                    .cloned()
                    .collect(),
            })
        })
        .collect();

    Some(InstanceReasons {
        instance: index,
        enabled: inst_out.enabled,
        roles,
        layers,
        modules,
        constraints,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::json::JsonTree;
    use super::super::{load, resolve};
    use super::*;

    #[test]
    fn reasons_layers_and_modules() {
        let args = json!({
            "inventory": {
                "machines": { "jon": { "tags": ["backup"] }, "sara": {}, "srv": {} },
                "tags": { "rack": ["jon"] },
                "services": { "borg": {
                    "i": {
                        "config": {},
                        "extraModules": ["a.nix"],
                        "machines": { "jon": { "config": {} }, "sara": { "config": {} } },
                        "roles": {
                            "client": { "machines": ["jon"], "tags": ["rack", "backup", "rack"], "config": {} },
                            "server": { "machines": ["srv"], "extraModules": ["s.nix"] }
                        }
                    },
                    "off": { "enabled": false, "roles": { "client": { "tags": ["all"] } } }
                } }
            },
            "modules": { "borg": {
                "roles": { "client": "c.nix", "server": "s.nix" },
                "constraints": { "roles": { "server": { "min": 2 } } }
            } },
            "directory": "/d"
        });
        let mut tree = JsonTree::new();
        let input = load(&mut tree, &&args).unwrap();
        let output = resolve(&input);
        let jon = explain(&input, &output, 0);
        assert_eq!(
            jon.tags,
            vec![
                ("backup", TagSource::Own),
                ("rack", TagSource::Global),
                ("all", TagSource::All),
                ("nixos", TagSource::Class)
            ]
        );
        assert_eq!(jon.instances.len(), 2);
        let i = &jon.instances[0];
        assert_eq!(i.roles.len(), 1);
        assert_eq!(
            i.roles[0].reasons,
            vec![
                Reason::Listed { index: 0 },
                Reason::Tag {
                    tag: "rack",
                    index: 0
                },
                Reason::Tag {
                    tag: "backup",
                    index: 1
                }
            ]
        );
        assert_eq!(
            i.layers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "inventory.services.borg.i.config",
                "inventory.services.borg.i.machines.jon.config",
                "inventory.services.borg.i.roles.client.config"
            ]
        );
        assert_eq!(
            i.modules,
            vec![
                ModuleSource::Role("client"),
                ModuleSource::Extra {
                    list: AttrPath::root("inventory")
                        .attr("services")
                        .attr("borg")
                        .attr("i")
                        .attr("extraModules"),
                    index: 0
                },
                ModuleSource::Generated,
                ModuleSource::Constraints
            ]
        );
        // The module list of every machine is exactly what resolve gives, one source per item.
        for (k, m) in output.machines.iter().enumerate() {
            let e = explain(&input, &output, k);
            let n: usize = e.instances.iter().map(|i| i.modules.len()).sum();
            let deploy = usize::from(input.machines[k].target_host.is_some());
            assert_eq!(n + deploy, m.modules.len(), "{}", m.name);
        }
        assert_eq!(i.constraints.len(), 1);
        assert!(!i.constraints[0].involves_machine);
        assert_eq!(
            i.constraints[0]
                .failures
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["borg.i: role 'server' needs at least 2 machines, has 1: srv"]
        );
        // Disabled: reasons, but no modules and no constraint failures.
        let off = &jon.instances[1];
        assert!(!off.enabled);
        assert!(off.modules.is_empty());
        assert!(off.constraints[0].failures.is_empty());
        // A machines.<m> entry alone: listed with no roles.
        let sara = explain(&input, &output, 1);
        assert!(sara.instances[0].roles.is_empty());
        assert!(sara.instances[0].modules.is_empty());
    }
}
