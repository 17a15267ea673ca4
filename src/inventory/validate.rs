//! Phase 2: checks the references between the parts of a structurally valid input: machines named
//! in roles, instances and tags; roles named in instances and constraints; modules of services.

use rustc_hash::FxHashSet;

use super::error::Error;
use super::model::{Input, InputModules};
use super::path::Path;

/// Checks every reference of `input`, in walk order: `inventory.services`, `inventory.instances`,
/// `inventory.tags`, then `modules`.
///
/// # Errors
/// Every dangling reference, in walk order.
pub fn validate<V>(input: &Input<V>) -> Result<(), Vec<Error>> {
    let mut errors = Vec::new();
    let machine_names: Vec<&str> = input.machines.iter().map(|m| m.name.as_str()).collect();
    // By hash: a binary search over the names of a large fleet chases a pointer per step (5 % of
    // one machine's evaluation at 50,000 machines in a profile), a hash lookup one.
    let known: FxHashSet<&str> = machine_names.iter().copied().collect();
    let is_machine = |name: &str| known.contains(name);
    let undefined = |path: &Path<'_>, name: &str| Error::UndefinedMachine {
        path: path.render(),
        name: name.to_owned(),
        suggestion: super::did_you_mean(name, machine_names.iter().copied()),
    };
    let module_names: Vec<String> = input.modules.iter().map(|m| m.name.clone()).collect();

    let inventory = Path::Root("inventory");
    let services = inventory.attr("services");
    for service in &input.services {
        let sp = services.attr(&service.name);
        let module = input.modules.iter().find(|m| m.name == service.name);
        if service.name == "inventory" {
            errors.push(Error::ReservedService {
                path: sp.render(),
                name: service.name.clone(),
            });
        } else if module.is_none() {
            errors.push(Error::NoModule {
                path: sp.render(),
                name: service.name.clone(),
                modules: module_names.clone(),
            });
        }
        for inst in &service.instances {
            let ip = sp.attr(&inst.name);
            let mp = ip.attr("machines");
            for m in &inst.machines {
                if !is_machine(&m.name) {
                    errors.push(undefined(&mp, &m.name));
                }
            }
            let rp = ip.attr("roles");
            for role in &inst.roles {
                if let Some(module) = module {
                    if module
                        .roles
                        .binary_search_by(|(r, _)| r.as_str().cmp(&role.name))
                        .is_err()
                    {
                        errors.push(Error::UndefinedRole {
                            path: rp.render(),
                            role: role.name.clone(),
                            module: module.name.clone(),
                            roles: module.roles.iter().map(|(r, _)| r.clone()).collect(),
                        });
                    }
                }
                let p = rp.attr(&role.name);
                let p = p.attr("machines");
                for m in &role.machines {
                    if !is_machine(m) {
                        errors.push(undefined(&p, m));
                    }
                }
            }
        }
    }
    let instances = inventory.attr("instances");
    let input_names: Vec<String> = input
        .service_modules
        .iter()
        .map(|i| i.name.clone())
        .collect();
    for inst in &input.instances {
        let ip = instances.attr(&inst.name);
        let mp = ip.attr("module");
        let resolved = inst.module.resolved_input(&input.service_modules);
        let Some(flake_input) = input.flake_input(resolved) else {
            errors.push(Error::NoFlakeInput {
                path: mp.attr("input").render(),
                input: resolved.to_owned(),
                inputs: input_names.clone(),
            });
            continue;
        };
        let modules = match &flake_input.modules {
            InputModules::Modules(modules) => modules,
            InputModules::Null => {
                errors.push(Error::InputWithoutModules {
                    path: mp.attr("input").render(),
                    input: resolved.to_owned(),
                });
                continue;
            }
            // Decoding reads every input an instance resolves to.
            InputModules::Unread => continue,
        };
        let Some(spec) = flake_input
            .module(&inst.module.name)
            .and_then(|m| m.spec.as_ref())
        else {
            errors.push(Error::NoServiceModule {
                path: mp.attr("name").render(),
                name: inst.module.name.clone(),
                input: resolved.to_owned(),
                modules: modules.iter().map(|m| m.name.clone()).collect(),
            });
            continue;
        };
        let rp = ip.attr("roles");
        for role in &inst.roles {
            if spec.roles.binary_search(&role.name).is_err() {
                errors.push(Error::UndefinedServiceRole {
                    path: rp.render(),
                    role: role.name.clone(),
                    service: inst.module.key(&input.service_modules),
                    roles: spec.roles.clone(),
                });
            }
            let p = rp.attr(&role.name);
            let p = p.attr("machines");
            for m in &role.machines {
                if !is_machine(&m.name) {
                    errors.push(undefined(&p, &m.name));
                }
            }
        }
    }
    let tags = inventory.attr("tags");
    for (tag, members) in &input.tags {
        let p = tags.attr(tag);
        for m in members {
            if !is_machine(m) {
                errors.push(undefined(&p, m));
            }
        }
    }
    let modules = Path::Root("modules");
    for module in &input.modules {
        let p = modules.attr(&module.name);
        let p = p.attr("constraints");
        let p = p.attr("roles");
        for (role, c) in &module.constraints {
            if module
                .roles
                .binary_search_by(|(r, _)| r.as_str().cmp(role))
                .is_err()
            {
                errors.push(Error::UndefinedRole {
                    path: p.render(),
                    role: role.clone(),
                    module: module.name.clone(),
                    roles: module.roles.iter().map(|(r, _)| r.clone()).collect(),
                });
            }
            if let Some(max) = c.max {
                if c.min > max {
                    errors.push(Error::MinAboveMax {
                        path: p.attr(role).render(),
                        min: c.min,
                        max,
                    });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
