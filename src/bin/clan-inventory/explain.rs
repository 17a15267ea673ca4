//! The text of `explain`: the core's [`Explanation`] in sentences.

use std::fmt::Write as _;

use super::project::Project;
use super::tree::Handle;
use clan_inventory::inventory::explain::{Explanation, ModuleSource, Reason, TagSource};
use clan_inventory::inventory::{ClanConstraintFailure, Input, ModuleItem, Output, Step};

/// ` (from A; B)` for the places `project` knows for a fact, or nothing (inventory.json alone).
fn from(project: &Project, path: &[&str], item: Option<&str>) -> String {
    let places = project.sources(path, item);
    if places.is_empty() {
        String::new()
    } else {
        format!(" (from {})", places.join("; "))
    }
}

/// The attribute names of `steps` (list indices left out).
fn attr_names(steps: &[Step]) -> Vec<&str> {
    steps
        .iter()
        .filter_map(|st| match st {
            Step::Attr(a) => Some(a.as_str()),
            Step::Index(_) => None,
        })
        .collect()
}

fn machine_index(input: &Input<Handle<'_>>, name: &str) -> usize {
    input
        .machines
        .binary_search_by(|m| m.name.as_str().cmp(name))
        .unwrap_or_default()
}

/// Why a machine has a tag that puts it in a role.
fn tag_reason(tag: &str, e: &Explanation<'_>, own: &[&str], class: &str) -> String {
    let src = e.tags.iter().find(|(t, _)| *t == tag).map(|(_, s)| *s);
    match src {
        Some(TagSource::Own) => format!("via tag '{tag}' (machine tags: {})", own.join(", ")),
        Some(TagSource::Global) => {
            format!("via tag '{tag}' (inventory.tags.{tag} lists {})", e.machine)
        }
        Some(TagSource::All) => format!("via tag '{tag}' (every machine has it)"),
        _ => format!("via tag '{tag}' (machineClass {class})"),
    }
}

/// The instances of `inventory.instances` the machine is in: for each (by service key, then
/// name), why it has each role (listed, or which of the role's tags), the settings definitions
/// of each role in the order they are evaluated, its extraModules, and the constraints.
fn clan_instances(
    s: &mut String,
    project: &Project,
    input: &Input<Handle<'_>>,
    output: &Output<'_, Handle<'_>>,
    e: &Explanation<'_>,
    own: &[&str],
) {
    let clan = &output.clan;
    let mi = machine_index(input, e.machine);
    let machine = &input.machines[mi];
    let tags = &output.machines[mi].tags;
    // Each instance once, in the order of its first membership (service key, role, instance).
    let mut instances: Vec<(usize, Vec<usize>)> = Vec::new();
    for &m in clan.memberships(mi) {
        let (i, r) = (m.instance as usize, m.role as usize);
        match instances.iter_mut().find(|(k, _)| *k == i) {
            Some((_, roles)) => roles.push(r),
            None => instances.push((i, vec![r])),
        }
    }
    instances.sort_by_key(|(i, _)| (clan.services[clan.instances[*i].service].key.as_str(), *i));
    for (i, roles) in instances {
        let out = &clan.instances[i];
        let inst = &input.instances[i];
        let key = &clan.services[out.service].key;
        let _ = writeln!(s, "\ninstance {} (clan service {key})", out.name);
        if let Some(c) = &project.clan {
            let _ = writeln!(
                s,
                "  clan service module {key}: {}",
                c.service_module_place(out.input, out.module)
            );
        }
        let mut sorted = roles;
        sorted.sort_unstable();
        for &r in &sorted {
            let role = &inst.roles[r];
            let base = ["instances", out.name, "roles", role.name.as_str()];
            if role
                .machines
                .binary_search_by(|m| m.name.as_str().cmp(e.machine))
                .is_ok()
            {
                let mut path = base.to_vec();
                path.extend(["machines", e.machine]);
                let _ = writeln!(
                    s,
                    "  role {} of {}: listed in roles.{}.machines{}",
                    role.name,
                    out.name,
                    role.name,
                    from(project, &path, None)
                );
            }
            let mut seen: Vec<&str> = Vec::new();
            for t in &role.tags {
                if tags.contains(&t.name.as_str()) && !seen.contains(&t.name.as_str()) {
                    seen.push(&t.name);
                    let _ = writeln!(
                        s,
                        "  role {} of {}: {}",
                        role.name,
                        out.name,
                        tag_reason(&t.name, e, own, machine.class.as_str())
                    );
                }
            }
        }
        for &r in &sorted {
            let role = &inst.roles[r];
            let defs: Vec<_> = clan.settings(input, tags, i, r, mi).collect();
            if defs.is_empty() {
                let _ = writeln!(s, "  settings of role {}: none given", role.name);
            } else {
                let _ = writeln!(
                    s,
                    "  settings of role {}, in the order they are evaluated against its interface:",
                    role.name
                );
            }
            for d in defs {
                let path = d.path();
                let names = attr_names(&path.steps);
                let _ = writeln!(s, "    {path}{}", from(project, &names, None));
            }
            if !role.extra_modules.is_empty() {
                let _ = writeln!(s, "  extraModules of role {}:", role.name);
            }
            for (k, m) in role.extra_modules.iter().enumerate() {
                let names = [
                    "instances",
                    out.name,
                    "roles",
                    role.name.as_str(),
                    "extraModules",
                ];
                let places = project.entry_sources(&names, k);
                let from = if places.is_empty() {
                    String::new()
                } else {
                    format!(" (from {})", places.join("; "))
                };
                let _ = writeln!(
                    s,
                    "    inventory.instances.{}.roles.{}.extraModules[{k}]: {}{from}",
                    out.name,
                    role.name,
                    m.show()
                );
            }
        }
        if let Some(spec) = input.service_spec(inst) {
            if !spec.role_constraints.is_empty() {
                let _ = writeln!(s, "  constraints of clan service {key}:");
            }
            for (role, bounds) in &spec.role_constraints {
                let members: Vec<&str> = out
                    .roles
                    .iter()
                    .find(|r| r.name == role)
                    .map(|r| {
                        r.members
                            .iter()
                            .map(|&k| input.machines[k as usize].name.as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                let mut needs = Vec::new();
                if let Some(min) = bounds.min {
                    needs.push(format!("at least {min}"));
                }
                if let Some(max) = bounds.max {
                    needs.push(format!("at most {max}"));
                }
                if needs.is_empty() {
                    continue;
                }
                let failed = out.failures.iter().any(
                    |f| matches!(f, ClanConstraintFailure::Role { role: fr, .. } if fr == role),
                );
                let involves = if members.contains(&e.machine) {
                    ", including this machine"
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "    role {role} needs {}: {}, has {}: {}{involves}",
                    needs.join(" and "),
                    if failed { "FAILED" } else { "ok" },
                    members.len(),
                    if members.is_empty() {
                        "none".to_owned()
                    } else {
                        members.join(", ")
                    }
                );
            }
            if let Some(max) = spec.max_instances {
                let service = &clan.services[out.service];
                let names: Vec<&str> = service
                    .instances
                    .iter()
                    .map(|&k| clan.instances[k].name)
                    .collect();
                let _ = writeln!(
                    s,
                    "    at most {max} instances: {}, has {}: {}",
                    if service.failures.is_empty() {
                        "ok"
                    } else {
                        "FAILED"
                    },
                    names.len(),
                    names.join(", ")
                );
            }
        }
    }
}

pub(crate) fn render(
    project: &Project,
    input: &Input<Handle<'_>>,
    output: &Output<'_, Handle<'_>>,
    e: &Explanation<'_>,
) -> String {
    let mut s = String::new();
    let machine = input
        .machines
        .iter()
        .find(|m| m.name == e.machine)
        .expect("explained machines exist");
    let own: Vec<&str> = e
        .tags
        .iter()
        .filter(|(_, src)| matches!(src, TagSource::Own | TagSource::Global))
        .map(|(t, _)| *t)
        .collect();
    let _ = writeln!(s, "machine {}", e.machine);
    if let Some(clan) = &project.clan {
        // inventory.json from `sources`, then every place of the Nix side (its inventory first).
        let mut places = project.sources(&["machines", e.machine], None);
        let nix = clan.machine_places(e.machine);
        places.retain(|p| !nix.contains(p));
        places.extend(nix);
        let _ = writeln!(s, "  defined in: {}", places.join("; "));
    }
    let describe = |src: TagSource| match src {
        TagSource::Own => "own".to_owned(),
        TagSource::Global => "inventory.tags".to_owned(),
        TagSource::All => "every machine".to_owned(),
        TagSource::Class => "machineClass".to_owned(),
    };
    let tags: Vec<String> = e
        .tags
        .iter()
        .map(|(t, src)| {
            let places = match src {
                TagSource::Own => project.sources(&["machines", e.machine, "tags"], Some(t)),
                TagSource::Global => project.sources(&["tags", t], Some(e.machine)),
                _ => Vec::new(),
            };
            if places.is_empty() {
                format!("{t} ({})", describe(*src))
            } else {
                format!("{t} ({}: {})", describe(*src), places.join("; "))
            }
        })
        .collect();
    let _ = writeln!(s, "  tags: {}", tags.join(", "));

    let items = &output
        .machines
        .iter()
        .find(|m| m.name == e.machine)
        .expect("explained machines are resolved")
        .modules;
    let mut items = items.iter();
    let mut position = 0;

    if e.instances.is_empty()
        && output
            .clan
            .memberships(machine_index(input, e.machine))
            .is_empty()
    {
        let _ = writeln!(s, "  member of no service instance");
    }
    for inst in &e.instances {
        let out = &output.instances[inst.instance];
        let title = format!("{}.{}", out.service, out.instance);
        s.push('\n');
        let _ = writeln!(
            s,
            "{title}{}",
            if inst.enabled {
                ""
            } else {
                " (disabled: contributes nothing)"
            }
        );
        if let Some(place) = project
            .clan
            .as_ref()
            .and_then(|c| c.module_place(out.service))
        {
            let _ = writeln!(s, "  clan module {}: {place}", out.service);
        }
        if inst.roles.is_empty() {
            let _ = writeln!(
                s,
                "  not a member: it has an entry in machines.{} but no role, so the entry is ignored",
                e.machine
            );
        }
        for role in &inst.roles {
            for reason in &role.reasons {
                let why = match reason {
                    Reason::Listed { .. } => format!(
                        "listed in roles.{}.machines{}",
                        role.role,
                        from(
                            project,
                            &[
                                "services",
                                out.service,
                                out.instance,
                                "roles",
                                role.role,
                                "machines"
                            ],
                            Some(e.machine)
                        )
                    ),
                    Reason::Tag { tag, .. } => tag_reason(tag, e, &own, machine.class.as_str()),
                };
                let _ = writeln!(s, "  role {} of {title}: {why}", role.role);
            }
        }
        if !inst.layers.is_empty() {
            let _ = writeln!(s, "  config of clan.{}, merged in this order:", out.service);
            for l in &inst.layers {
                let names = attr_names(&l.steps);
                let _ = writeln!(s, "    {l}{}", from(project, &names, None));
            }
        }
        if !inst.modules.is_empty() {
            let _ = writeln!(s, "  modules:");
        }
        for source in &inst.modules {
            position += 1;
            let item = items.next();
            let line = match (source, item) {
                (ModuleSource::Role(r), Some(ModuleItem::Role { module: v, .. })) => {
                    format!("role {r}: {}", v.show())
                }
                (ModuleSource::Extra { list, index }, Some(ModuleItem::Extra { value, .. })) => {
                    let names = attr_names(&list.steps);
                    let places = project.entry_sources(&names, *index);
                    let from = if places.is_empty() {
                        String::new()
                    } else {
                        format!(" (from {})", places.join("; "))
                    };
                    format!("{list}[{index}]: {}{from}", value.show())
                }
                (ModuleSource::Generated, _) => format!(
                    "generated clan-inventory/services/{}/{}",
                    out.service, out.instance
                ),
                (ModuleSource::Constraints, _) => format!(
                    "generated clan-inventory/services/{}/{}/constraints (failed constraints as assertions)",
                    out.service, out.instance
                ),
                _ => "?".to_owned(),
            };
            let _ = writeln!(s, "    {position}. {line}");
        }
        if !inst.constraints.is_empty() {
            let _ = writeln!(s, "  constraints:");
        }
        for c in &inst.constraints {
            let mut bounds = format!("at least {}", c.constraint.min);
            if let Some(max) = c.constraint.max {
                let _ = write!(bounds, " and at most {max}");
            }
            let members = if c.members.is_empty() {
                "none".to_owned()
            } else {
                c.members.join(", ")
            };
            let status = if !inst.enabled {
                "not checked"
            } else if c.failures.is_empty() {
                "ok"
            } else {
                "FAILED"
            };
            let involves = if c.involves_machine {
                ", including this machine"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "    role {} needs {bounds}: {status}, has {}: {members}{involves}",
                c.role,
                c.members.len()
            );
        }
    }
    clan_instances(&mut s, project, input, output, e, &own);
    if machine.target_host.is_some() || machine.build_host.is_some() {
        s.push('\n');
        let _ = writeln!(s, "deploy (inventory.machines.{}.deploy)", e.machine);
        let _ = writeln!(s, "  modules:");
        position += 1;
        let mut hosts = Vec::new();
        if let Some(h) = machine.target_host {
            hosts.push(format!("targetHost = {h}"));
        }
        if let Some(h) = machine.build_host {
            hosts.push(format!("buildHost = {h}"));
        }
        let _ = writeln!(
            s,
            "    {position}. generated clan-inventory/machines/{}/deploy: clan.core.networking.{{ {} }}",
            e.machine,
            hosts.join("; ")
        );
    }
    s
}
