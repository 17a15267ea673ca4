//! Table-driven tests of the core through its JSON tree: every rule of spec § 3, every row of § 5
//! and the clan-core defects of § 6 that we do not copy.

use serde_json::{json, Value};

use super::json::{output_json, JsonTree};
use super::{load, resolve, Errors, ModuleItem};

/// Resolves `args` (the builtin's argument, in JSON) into the JSON output plus, per machine, a
/// readable module list: role modules and extras as their JSON value, generated modules as
/// `gen <svc>.<inst> [layers]`, `constraints <svc>.<inst>`, `deploy <target> <build>`.
fn run(args: &Value) -> Result<(Value, Value), Vec<String>> {
    let mut tree = JsonTree::new();
    let input = match load(&mut tree, &args) {
        Ok(i) => i,
        Err(Errors::Invalid(errors)) => {
            return Err(errors.iter().map(ToString::to_string).collect())
        }
        Err(Errors::Source { .. }) => unreachable!("JSON cannot fail to evaluate"),
    };
    let output = resolve(&input);
    let mut modules = serde_json::Map::new();
    for m in &output.machines {
        let items: Vec<Value> = m
            .modules
            .iter()
            .map(|item| match item {
                ModuleItem::Role { module: v, .. } => (**v).clone(),
                ModuleItem::Extra { value, origin, .. } => {
                    json!({ "extra": value, "origin": origin })
                }
                ModuleItem::Generated { instance, layers } => {
                    let i = &output.instances[*instance];
                    json!(format!(
                        "gen {}.{} {}",
                        i.service,
                        i.instance,
                        serde_json::to_string(layers).unwrap()
                    ))
                }
                ModuleItem::Constraints { instance } => {
                    let i = &output.instances[*instance];
                    json!(format!("constraints {}.{}", i.service, i.instance))
                }
                ModuleItem::Deploy {
                    target_host,
                    build_host,
                } => json!(format!("deploy {target_host:?} {build_host:?}")),
            })
            .collect();
        modules.insert(m.name.to_owned(), Value::Array(items));
    }
    Ok((output_json(&input, &output), Value::Object(modules)))
}

fn borg_modules() -> Value {
    json!({ "borgbackup": { "roles": { "client": "borg/client.nix", "server": "borg/server.nix" } } })
}

fn first_error(args: &Value) -> String {
    match run(args) {
        Ok(_) => panic!("expected an error for {args}"),
        Err(errors) => errors[0].clone(),
    }
}

#[test]
fn seed_example_explicit_machines() {
    let args = json!({
        "inventory": {
            "machines": { "jon": {}, "backup_server": {} },
            "services": { "borgbackup": { "instance_1": {
                "roles": { "client": { "machines": ["jon"] }, "server": { "machines": ["backup_server"] } }
            } } }
        },
        "modules": borg_modules()
    });
    let (out, modules) = run(&args).unwrap();
    assert_eq!(
        out["services"]["borgbackup"]["instance_1"],
        json!({
            "enabled": true,
            "roles": { "client": { "machines": ["jon"] }, "server": { "machines": ["backup_server"] } }
        })
    );
    assert_eq!(
        out["machines"]["jon"],
        json!({
            "instances": [],
            "services": { "borgbackup": { "instance_1": { "roles": ["client"] } } },
            "tags": ["all", "nixos"]
        })
    );
    assert_eq!(
        modules["jon"],
        json!(["borg/client.nix", "gen borgbackup.instance_1 []"])
    );
    assert_eq!(
        modules["backup_server"],
        json!(["borg/server.nix", "gen borgbackup.instance_1 []"])
    );
    assert_eq!(out["warnings"], json!([]));
    assert_eq!(out["assertions"], json!([]));
}

#[test]
fn seed_example_tags_and_two_instances() {
    let args = json!({
        "inventory": {
            "machines": { "jon": { "tags": ["backup"] }, "sara": { "tags": ["backup"] }, "backup_server": {}, "backup_backup_server": {} },
            "services": { "borgbackup": {
                "instance_1": { "roles": { "client": { "tags": ["backup"] }, "server": { "machines": ["backup_server"] } } },
                "instance_2": { "roles": { "client": { "machines": ["backup_server"] }, "server": { "machines": ["backup_backup_server"] } } }
            } }
        },
        "modules": borg_modules()
    });
    let (out, modules) = run(&args).unwrap();
    assert_eq!(
        out["services"]["borgbackup"]["instance_1"]["roles"]["client"]["machines"],
        json!(["jon", "sara"])
    );
    assert_eq!(
        out["machines"]["backup_server"]["services"]["borgbackup"],
        json!({
            "instance_1": { "roles": ["server"] },
            "instance_2": { "roles": ["client"] }
        })
    );
    assert_eq!(
        modules["backup_server"],
        json!([
            "borg/server.nix",
            "gen borgbackup.instance_1 []",
            "borg/client.nix",
            "gen borgbackup.instance_2 []"
        ])
    );
    assert_eq!(
        out["machines"]["jon"]["tags"],
        json!(["backup", "all", "nixos"])
    );
}

#[test]
fn machine_tags_order_and_dedup() {
    let args = json!({ "inventory": {
        "machines": { "a": { "tags": ["z", "x", "z", "all"], "machineClass": "darwin" }, "b": {} },
        "tags": { "y": ["a"], "w": ["a", "b"], "x": ["a"] }
    } });
    let (out, _) = run(&args).unwrap();
    assert_eq!(
        out["machines"]["a"]["tags"],
        json!(["z", "x", "all", "w", "y", "darwin"])
    );
    assert_eq!(out["machines"]["b"]["tags"], json!(["w", "all", "nixos"]));
}

#[test]
fn role_members_explicit_then_tags_sorted_and_deduplicated() {
    let args = json!({
        "inventory": {
            "machines": { "d": { "tags": ["t"] }, "c": { "tags": ["t", "u"] }, "b": { "tags": ["u"] }, "a": {} },
            "services": { "borgbackup": { "i": { "roles": { "client": { "machines": ["d", "a", "d"], "tags": ["u", "t"] } } } } }
        },
        "modules": borg_modules()
    });
    let (out, _) = run(&args).unwrap();
    // Explicit in given order, then tag u (b, c sorted), then tag t (c already, d already).
    assert_eq!(
        out["services"]["borgbackup"]["i"]["roles"]["client"]["machines"],
        json!(["d", "a", "b", "c"])
    );
    // Every role of the module is present, empty or not.
    assert_eq!(
        out["services"]["borgbackup"]["i"]["roles"]["server"]["machines"],
        json!([])
    );
}

#[test]
fn computed_all_tag_and_class_tag() {
    let args = json!({
        "inventory": {
            "machines": { "mac": { "machineClass": "darwin" }, "pc": {} },
            "services": { "borgbackup": { "i": { "roles": { "client": { "tags": ["all"] }, "server": { "tags": ["darwin"] } } } } }
        },
        "modules": borg_modules()
    });
    let (out, _) = run(&args).unwrap();
    let roles = &out["services"]["borgbackup"]["i"]["roles"];
    assert_eq!(roles["client"]["machines"], json!(["mac", "pc"]));
    assert_eq!(roles["server"]["machines"], json!(["mac"]));
}

#[test]
fn membership_and_config_layers() {
    let args = json!({
        "inventory": {
            "machines": { "jon": {}, "sara": {}, "lonely": {} },
            "services": { "borgbackup": { "i": {
                "config": "I",
                "machines": { "jon": { "config": "MJ" }, "lonely": { "config": "ML", "extraModules": ["x"] } },
                "roles": {
                    "server": { "machines": ["jon"], "config": "RS" },
                    "client": { "machines": ["jon", "sara"], "config": "RC" }
                }
            } } }
        },
        "modules": borg_modules()
    });
    let (out, modules) = run(&args).unwrap();
    // machines.<m>.config alone does not make a member.
    assert_eq!(out["machines"]["lonely"]["services"], json!({}));
    assert_eq!(modules["lonely"], json!([]));
    // Roles sorted; layers: instance, machine, roles sorted; a role's config only for its members.
    assert_eq!(
        out["machines"]["jon"]["services"]["borgbackup"]["i"]["roles"],
        json!(["client", "server"])
    );
    assert_eq!(
        modules["jon"],
        json!([
            "borg/client.nix",
            "borg/server.nix",
            r#"gen borgbackup.i ["I","MJ","RC","RS"]"#
        ])
    );
    assert_eq!(
        modules["sara"],
        json!(["borg/client.nix", r#"gen borgbackup.i ["I","RC"]"#])
    );
}

#[test]
fn disabled_instances_contribute_nothing_but_are_validated() {
    let mut args = json!({
        "inventory": {
            "machines": { "jon": {} },
            "services": { "borgbackup": { "off": { "enabled": false, "roles": { "client": { "machines": ["jon"], "tags": ["nope"] } } } } }
        },
        "modules": { "borgbackup": { "roles": { "client": "c", "server": "s" }, "constraints": { "roles": { "server": { "min": 1 } } } } }
    });
    let (out, modules) = run(&args).unwrap();
    assert_eq!(modules["jon"], json!([]));
    assert_eq!(out["machines"]["jon"]["services"], json!({}));
    assert_eq!(
        out["services"]["borgbackup"]["off"]["enabled"],
        json!(false)
    );
    assert_eq!(
        out["services"]["borgbackup"]["off"]["roles"]["client"]["machines"],
        json!(["jon"])
    );
    // Warnings still apply, constraints do not.
    assert_eq!(out["warnings"].as_array().unwrap().len(), 1);
    assert_eq!(out["assertions"], json!([]));
    // Errors still apply.
    args["inventory"]["services"]["borgbackup"]["off"]["roles"]["client"]["machines"] =
        json!(["jonn"]);
    assert!(first_error(&args).contains("machine 'jonn' is not defined"));
}

#[test]
fn extra_modules_order() {
    let args = json!({
        "inventory": {
            "machines": { "jon": {} },
            "services": { "borgbackup": { "i": {
                "extraModules": ["inst.nix"],
                "machines": { "jon": { "extraModules": ["m.nix"] } },
                "roles": {
                    "server": { "machines": ["jon"], "extraModules": ["s.nix"] },
                    "client": { "machines": ["jon"], "extraModules": [{ "k": 1 }] }
                }
            } } }
        },
        "modules": borg_modules(),
        "directory": "/clan"
    });
    let (_, modules) = run(&args).unwrap();
    let extras: Vec<&Value> = modules["jon"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.get("extra"))
        .collect();
    assert_eq!(
        extras,
        [
            &json!("inst.nix"),
            &json!("m.nix"),
            &json!({ "k": 1 }),
            &json!("s.nix")
        ]
    );
    // Role modules first, generated module last.
    assert_eq!(modules["jon"][0], json!("borg/client.nix"));
    assert_eq!(modules["jon"][6], json!("gen borgbackup.i []"));
    // With a directory, no origin is needed (nothing can throw).
    assert_eq!(modules["jon"][2]["origin"], Value::Null);
}

#[test]
fn extra_modules_without_directory_know_their_origin() {
    let args = json!({
        "inventory": {
            "machines": { "jon": {} },
            "services": { "borgbackup": { "i": { "roles": { "client": { "machines": ["jon"], "extraModules": ["a", "b"] } } } } }
        },
        "modules": borg_modules()
    });
    let (_, modules) = run(&args).unwrap();
    assert_eq!(
        modules["jon"][2]["origin"],
        json!("inventory.services.borgbackup.i.roles.client.extraModules[1]")
    );
}

#[test]
fn deploy_hosts() {
    let args = json!({ "inventory": { "machines": {
        "jon": { "deploy": { "targetHost": "root@jon" } },
        "sara": { "deploy": { "targetHost": null, "buildHost": null } }
    } } });
    let (_, modules) = run(&args).unwrap();
    assert_eq!(
        modules["jon"],
        json!([r#"deploy Some(String("root@jon")) None"#])
    );
    assert_eq!(modules["sara"], json!([]));
}

#[test]
fn constraints_min_and_max() {
    let args = json!({
        "inventory": {
            "machines": { "a": { "tags": ["t"] }, "b": { "tags": ["t"] }, "c": {} },
            "services": { "zerotier": {
                "ok": { "roles": { "controller": { "machines": ["c"] } } },
                "bad": { "roles": { "controller": { "machines": ["a"], "tags": ["t"] }, "peer": { "machines": ["c"] } } },
                "off": { "enabled": false, "roles": { "controller": { "tags": ["t"] } } }
            } }
        },
        "modules": { "zerotier": {
            "roles": { "controller": "zc", "peer": "zp", "moon": "zm" },
            "constraints": { "roles": { "controller": { "max": 1, "min": 1 }, "moon": { "min": 1 } } }
        } }
    });
    let (out, modules) = run(&args).unwrap();
    // Counted on deduplicated members: a, b (a appears twice).
    assert_eq!(
        out["assertions"],
        json!([
            { "assertion": false, "message": "zerotier.bad: role 'controller' allows at most 1 machines, has 2: a, b" },
            { "assertion": false, "message": "zerotier.bad: role 'moon' needs at least 1 machines, has 0: none" },
            { "assertion": false, "message": "zerotier.ok: role 'moon' needs at least 1 machines, has 0: none" },
        ])
    );
    assert_eq!(
        modules["a"],
        json!(["zc", "gen zerotier.bad []", "constraints zerotier.bad"])
    );
}

#[test]
fn tag_matching_nothing_warns_and_discards_nothing() {
    let args = json!({
        "inventory": {
            "machines": { "jon": { "tags": ["backup"] }, "sara": { "tags": ["backup"] } },
            "services": { "borgbackup": { "i": { "roles": {
                "client": { "tags": ["backup", "bakup", "bakup"] },
                "server": { "tags": ["fantasy"], "machines": ["jon"] }
            } } } }
        },
        "modules": borg_modules()
    });
    let (out, _) = run(&args).unwrap();
    assert_eq!(out["warnings"], json!([
        "inventory.services.borgbackup.i.roles.client.tags: tag 'bakup' matches no machine; did you mean 'backup'?",
        "inventory.services.borgbackup.i.roles.server.tags: tag 'fantasy' matches no machine",
    ]));
    assert_eq!(
        out["services"]["borgbackup"]["i"]["roles"]["client"]["machines"],
        json!(["jon", "sara"])
    );
    assert_eq!(
        out["services"]["borgbackup"]["i"]["roles"]["server"]["machines"],
        json!(["jon"])
    );
}

#[test]
fn a_machine_entry_outside_every_role_warns() {
    let args = json!({
        "inventory": {
            "machines": { "jon": { "tags": ["backup"] }, "sara": {}, "web.1": {} },
            "services": { "borgbackup": {
                "i": {
                    "machines": { "jon": { "config": 1 }, "sara": { "config": 2 }, "web.1": {} },
                    "roles": { "client": { "tags": ["backup"] }, "server": { "machines": ["web.1"] } }
                },
                "off": { "enabled": false, "machines": { "sara": {} } }
            } }
        },
        "modules": borg_modules()
    });
    let (out, _) = run(&args).unwrap();
    // Members by tag and by name are members; disabled instances warn too.
    assert_eq!(out["warnings"], json!([
        "inventory.services.borgbackup.i.machines.sara: machine 'sara' is in no role of the instance, so this entry is ignored",
        "inventory.services.borgbackup.off.machines.sara: machine 'sara' is in no role of the instance, so this entry is ignored",
    ]));
}

#[test]
fn spec_error_examples() {
    let base = || {
        json!({
            "inventory": { "machines": { "jon": {}, "sara": {} }, "services": { "borgbackup": { "instance_1": { "roles": { "client": { "machines": ["jon"] } } } } } },
            "modules": { "borgbackup": { "roles": { "client": 1, "server": 2 } }, "zerotier": { "roles": { "peer": 3 } } }
        })
    };
    let mut a = base();
    a["inventory"]["services"]["borgbackup"]["instance_1"]["roles"]["client"]["machines"] =
        json!(["jonn"]);
    assert_eq!(first_error(&a), "inventory.services.borgbackup.instance_1.roles.client.machines: machine 'jonn' is not defined in inventory.machines; did you mean 'jon'?");
    let mut a = base();
    a["inventory"]["services"]["borgbackup"]["instance_1"]["roles"] = json!({ "clinet": {} });
    assert_eq!(first_error(&a), "inventory.services.borgbackup.instance_1.roles: role 'clinet' is not defined by module 'borgbackup' (roles: client, server); did you mean 'client'?");
    let mut a = base();
    a["inventory"]["services"]["fantasy"] = json!({});
    assert_eq!(
        first_error(&a),
        "inventory.services.fantasy: no module named 'fantasy' (modules: borgbackup, zerotier)"
    );
    let mut a = base();
    a["inventory"]["machines"]["jon"]["tags"] = json!(3);
    assert_eq!(
        first_error(&a),
        "inventory.machines.jon.tags: expected a list of strings, found an integer"
    );
    let mut a = base();
    a["inventory"]["services"]["borgbackup"]["instance_1"]["machines"] = json!({ "sarah": {} });
    assert_eq!(first_error(&a), "inventory.services.borgbackup.instance_1.machines: machine 'sarah' is not defined in inventory.machines; did you mean 'sara'?");
    let mut a = base();
    a["inventory"]["tags"] = json!({ "backup": ["jon", "jn"] });
    assert_eq!(first_error(&a), "inventory.tags.backup: machine 'jn' is not defined in inventory.machines; did you mean 'jon'?");
}

#[test]
fn structural_errors() {
    for (args, message) in [
        (json!(1), "clanInventory: expected an attribute set, found an integer"),
        (json!({ "inventry": {} }), "clanInventory: unknown attribute 'inventry' (attributes: directory, inventory, modules, serviceModules); did you mean 'inventory'?"),
        (json!({ "directory": 1 }), "directory: expected a path or a string, found an integer"),
        (json!({ "modules": [] }), "modules: expected an attribute set, found a list"),
        (json!({ "modules": { "m": { "roles": [] } } }), "modules.m.roles: expected an attribute set, found a list"),
        (json!({ "modules": { "m": { "rolez": {} } } }), "modules.m: unknown attribute 'rolez' (attributes: constraints, roles); did you mean 'roles'?"),
        (json!({ "modules": { "m": { "roles": { "r": 1 }, "constraints": { "roles": { "r": { "min": -1 } } } } } }), "modules.m.constraints.roles.r.min: expected a non-negative integer, found -1"),
        (json!({ "modules": { "m": { "roles": { "r": 1 }, "constraints": { "roles": { "r": { "max": "1" } } } } } }), "modules.m.constraints.roles.r.max: expected a non-negative integer or null, found a string"),
        (json!({ "modules": { "m": { "roles": { "r": 1 }, "constraints": { "roles": { "r": { "min": 1.5 } } } } } }), "modules.m.constraints.roles.r.min: expected a non-negative integer, found a float"),
        (json!({ "inventory": { "machines": { "a": { "tags": ["x", 2] } } } }), "inventory.machines.a.tags[1]: expected a string, found an integer"),
        (json!({ "inventory": { "machines": { "a": { "machineClass": "windows" } } } }), "inventory.machines.a.machineClass: expected \"nixos\" or \"darwin\", found \"windows\""),
        (json!({ "inventory": { "machines": { "a": { "deploy": { "targetHost": 1 } } } } }), "inventory.machines.a.deploy.targetHost: expected a string or null, found an integer"),
        (json!({ "inventory": { "machines": { "a": { "deploy": { "target": "x" } } } } }), "inventory.machines.a.deploy: unknown attribute 'target' (attributes: buildHost, targetHost)"),
        (json!({ "inventory": { "machines": { "a b": null } } }), "inventory.machines.\"a b\": expected an attribute set, found null"),
        (json!({ "inventory": { "tags": { "t": "a" } } }), "inventory.tags.t: expected a list of strings, found a string"),
        (json!({ "inventory": { "services": { "s": { "i": { "enabled": "yes" } } } } }), "inventory.services.s.i.enabled: expected a Boolean, found a string"),
        (json!({ "inventory": { "services": { "s": { "i": { "extraModules": {} } } } } }), "inventory.services.s.i.extraModules: expected a list, found an attribute set"),
        (json!({ "inventory": { "services": { "s": { "i": { "roles": { "r": { "machine": [] } } } } } } }), "inventory.services.s.i.roles.r: unknown attribute 'machine' (attributes: config, extraModules, machines, tags); did you mean 'machines'?"),
        (json!({ "inventory": { "services": { "s": { "i": { "machines": { "m": { "confg": 1 } } } } } } }), "inventory.services.s.i.machines.m: unknown attribute 'confg' (attributes: config, extraModules); did you mean 'config'?"),
    ] {
        assert_eq!(first_error(&args), message, "{args}");
    }
}

#[test]
fn phase_one_before_phase_two_and_walk_order() {
    // A reference error early in the walk loses against a type error late in it.
    let args = json!({
        "inventory": {
            "machines": { "jon": {}, "zed": { "tags": 1 } },
            "services": { "borgbackup": { "i": { "roles": { "client": { "machines": ["nobody"] } } } } }
        },
        "modules": borg_modules()
    });
    let errors = run(&args).unwrap_err();
    assert_eq!(
        errors,
        ["inventory.machines.zed.tags: expected a list of strings, found an integer"]
    );
    // Within phase 1, sorted attribute order and name before value; every error is collected.
    let args = json!({ "inventory": { "machines": { "b": { "zz": 1, "tags": 2 }, "a": { "tags": [1] } } } });
    assert_eq!(run(&args).unwrap_err(), [
        "inventory.machines.a.tags[0]: expected a string, found an integer",
        "inventory.machines.b.tags: expected a list of strings, found an integer",
        "inventory.machines.b: unknown attribute 'zz' (attributes: deploy, description, icon, machineClass, name, tags)",
    ]);
}

#[test]
fn phase_two_errors() {
    let args = json!({
        "inventory": { "machines": { "a": {} }, "services": { "inventory": {} } },
        "modules": {
            "inventory": { "roles": {} },
            "m": { "roles": { "r": 1 }, "constraints": { "roles": { "q": {}, "r": { "min": 3, "max": 1 } } } }
        }
    });
    assert_eq!(run(&args).unwrap_err(), [
        "inventory.services.inventory: the service name 'inventory' is reserved (it would clash with clan.inventory)",
        "modules.m.constraints.roles: role 'q' is not defined by module 'm' (roles: r); did you mean 'r'?",
        "modules.m.constraints.roles.r: min (3) is greater than max (1)",
    ]);
    let args = json!({ "inventory": { "services": { "s": {} } } });
    assert_eq!(
        first_error(&args),
        "inventory.services.s: no module named 's' (modules: none)"
    );
}

#[test]
fn every_machine_has_an_entry() {
    let args = json!({ "inventory": { "machines": { "idle": {} } } });
    let (out, modules) = run(&args).unwrap();
    assert_eq!(
        out["machines"]["idle"],
        json!({ "instances": [], "services": {}, "tags": ["all", "nixos"] })
    );
    assert_eq!(modules["idle"], json!([]));
}

#[test]
fn names_needing_quotes() {
    let args = json!({ "inventory": { "machines": { "web.1": {} }, "services": { "borgbackup": { "i\"x": {
        "roles": { "client": { "machines": ["web.2"] } }
    } } } }, "modules": borg_modules() });
    assert_eq!(first_error(&args), "inventory.services.borgbackup.\"i\\\"x\".roles.client.machines: machine 'web.2' is not defined in inventory.machines; did you mean 'web.1'?");
}

// --- inventory.instances (docs/semantics.md, "Clan services") ----------------------------------

/// `serviceModules` with the clan's own `backup` (roles client, server) and `vpn` (controller,
/// peer; at most one controller, at least one peer; at most two instances).
fn service_modules() -> Value {
    json!({
        "self": {
            "backup": { "roles": { "client": {}, "server": {} }, "manifest": { "name": "backup", "readme": "x" } },
            "vpn": {
                "roles": { "controller": {}, "peer": {} },
                "manifest": { "constraints": {
                    "maxInstances": 2,
                    "roles": { "controller": { "maxMachines": 1 }, "peer": { "minMachines": 1, "maxMachines": null } }
                } }
            }
        },
        "extra": { "vpn": { "roles": { "peer": {} } } },
        "bare": null
    })
}

/// Every settings definition of every member, as `<path>` strings: `{ <i>: { <r>: { <m>: [...] } } }`
/// (by machine and by position in the members alike).
fn settings_paths(args: &Value) -> Value {
    let mut tree = JsonTree::new();
    let input = load(&mut tree, &args).unwrap_or_else(|_| panic!("invalid: {args}"));
    let res = super::Resolution::new(&input);
    let mut out = serde_json::Map::new();
    for (ci, inst) in res.clan.instances.iter().enumerate() {
        let mut roles = serde_json::Map::new();
        for (ri, role) in inst.roles.iter().enumerate() {
            let mut members = serde_json::Map::new();
            for (position, &mi) in role.members.iter().enumerate() {
                let mi = mi as usize;
                let defs: Vec<Value> = res
                    .settings(ci, ri, mi)
                    .map(|d| json!([d.path().to_string(), d.value]))
                    .collect();
                // By position in the members, as the builtin reads them: the same.
                let at: Vec<Value> = res
                    .settings_at(ci, ri, position, mi)
                    .map(|d| json!([d.path().to_string(), d.value]))
                    .collect();
                assert_eq!(at, defs, "{}", input.machines[mi].name);
                members.insert(input.machines[mi].name.to_string(), Value::Array(defs));
            }
            roles.insert(role.name.to_owned(), Value::Object(members));
        }
        out.insert(inst.name.to_owned(), Value::Object(roles));
    }
    Value::Object(out)
}

#[test]
fn instances_members_memberships_and_services() {
    let args = json!({
        "inventory": {
            "machines": { "d": { "tags": ["t"] }, "c": { "tags": ["t", "u"] }, "b": { "tags": ["u"] }, "a": {} },
            "instances": {
                "second": { "module": { "name": "backup" }, "roles": { "client": { "machines": { "d": {}, "a": {} }, "tags": ["u", "t"] } } },
                "backup": { "roles": { "server": { "machines": { "c": {} } }, "client": { "tags": { "t": {} } } } },
                "vpn-x": { "module": { "name": "vpn", "input": "extra" }, "roles": { "peer": { "tags": ["all"] } } }
            }
        },
        "serviceModules": service_modules()
    });
    let (out, _) = run(&args).unwrap();
    // Listed machines sorted, then tag u (b, c), then tag t (c, d already there).
    assert_eq!(
        out["instances"]["second"],
        json!({
            "assertions": [],
            "module": { "input": "self", "name": "backup" },
            "roles": { "client": { "machines": ["a", "d", "b", "c"] } },
            "service": "self/backup"
        })
    );
    // Only the roles the instance defines; the module name defaults to the instance's.
    assert_eq!(
        out["instances"]["backup"]["roles"],
        json!({ "client": { "machines": ["c", "d"] }, "server": { "machines": ["c"] } })
    );
    assert_eq!(out["instances"]["vpn-x"]["service"], json!("extra/vpn"));
    assert_eq!(
        out["clanServices"],
        json!({
            "extra/vpn": {
                "assertions": [], "instances": ["vpn-x"],
                "machines": { "a": ["vpn-x"], "b": ["vpn-x"], "c": ["vpn-x"], "d": ["vpn-x"] },
                "module": { "input": "extra", "name": "vpn" }
            },
            "self/backup": {
                "assertions": [], "instances": ["backup", "second"],
                "machines": { "a": ["second"], "b": ["second"], "c": ["backup", "second"], "d": ["backup", "second"] },
                "module": { "input": "self", "name": "backup" }
            }
        })
    );
    // Sorted by service key, then role, then instance.
    let m = |s: &str, i: &str, r: &str| json!({ "service": s, "instance": i, "role": r });
    assert_eq!(
        out["machines"]["c"]["instances"],
        json!([
            m("extra/vpn", "vpn-x", "peer"),
            m("self/backup", "backup", "client"),
            m("self/backup", "second", "client"),
            m("self/backup", "backup", "server"),
        ])
    );
    assert_eq!(out["warnings"], json!([]));
    // `services` is as before, and the old result parts are all there.
    assert_eq!(out["services"], json!({}));
    assert_eq!(out["machines"]["a"]["services"], json!({}));
}

#[test]
fn instances_default_input_is_clan_core_when_given() {
    let mut modules = service_modules();
    modules["clan-core"] = json!({ "admin": { "roles": { "default": {} } } });
    let args = json!({
        "inventory": {
            "machines": { "a": {} },
            "instances": { "admin": { "roles": { "default": { "machines": { "a": {} } } } } }
        },
        "serviceModules": modules
    });
    let (out, _) = run(&args).unwrap();
    assert_eq!(
        out["instances"]["admin"]["service"],
        json!("<clan-core>/admin")
    );
    assert_eq!(
        out["instances"]["admin"]["module"],
        json!({ "input": "clan-core", "name": "admin" })
    );
    // Explicitly naming the input gives the same service.
    let mut explicit = args.clone();
    explicit["inventory"]["instances"]["admin"]["module"] = json!({ "input": "clan-core" });
    assert_eq!(run(&explicit).unwrap().0, out);
}

#[test]
fn instances_settings_definitions_in_order() {
    let args = json!({
        "inventory": {
            "machines": { "a": { "tags": ["t", "u"] }, "b": { "tags": ["u"] } },
            "instances": { "backup": { "roles": {
                "client": {
                    "settings": "role",
                    "machines": { "a": { "settings": "a" }, "b": {} },
                    "tags": { "u": { "settings": "u" }, "t": { "settings": "t" }, "none": {}, "nixo": {} }
                },
                "server": { "tags": ["u"] }
            } } }
        },
        "serviceModules": service_modules()
    });
    let p = "inventory.instances.backup.roles.client";
    assert_eq!(
        settings_paths(&args),
        json!({ "backup": {
            "client": {
                "a": [[format!("{p}.settings"), "role"], [format!("{p}.machines.a.settings"), "a"],
                      [format!("{p}.tags.t.settings"), "t"], [format!("{p}.tags.u.settings"), "u"]],
                "b": [[format!("{p}.settings"), "role"], [format!("{p}.tags.u.settings"), "u"]]
            },
            "server": { "a": [], "b": [] }
        } })
    );
    // The attribute form's tags make members too (sorted names), and a tag nobody carries warns.
    let (out, _) = run(&args).unwrap();
    assert_eq!(
        out["instances"]["backup"]["roles"]["client"]["machines"],
        json!(["a", "b"])
    );
    assert_eq!(
        out["warnings"],
        json!([
            "inventory.instances.backup.roles.client.tags: tag 'nixo' matches no machine; did you mean 'nixos'?",
            "inventory.instances.backup.roles.client.tags: tag 'none' matches no machine",
        ])
    );
}

#[test]
fn instances_warnings_after_those_of_services() {
    let args = json!({
        "inventory": {
            "machines": { "a": { "tags": ["web"] } },
            "services": { "borgbackup": { "i": { "roles": { "client": { "tags": ["wb"] } } } } },
            "instances": {
                "z": { "module": { "name": "backup" }, "roles": { "server": { "tags": ["x", "wb", "x"] } } },
                "backup": { "roles": { "client": { "tags": ["nope"] } } }
            }
        },
        "modules": borg_modules(),
        "serviceModules": service_modules()
    });
    let (out, _) = run(&args).unwrap();
    assert_eq!(
        out["warnings"],
        json!([
            "inventory.services.borgbackup.i.roles.client.tags: tag 'wb' matches no machine; did you mean 'web'?",
            "inventory.instances.backup.roles.client.tags: tag 'nope' matches no machine",
            "inventory.instances.z.roles.server.tags: tag 'x' matches no machine",
            "inventory.instances.z.roles.server.tags: tag 'wb' matches no machine; did you mean 'web'?",
        ])
    );
}

#[test]
fn instances_constraints() {
    let args = json!({
        "inventory": {
            "machines": { "a": {}, "b": {} },
            "services": { "zerotier": { "i": { "roles": { "peer": { "machines": ["a"] } } } } },
            "instances": {
                "vpn": { "roles": { "controller": { "machines": { "a": {}, "b": {} } } } },
                "v2": { "module": { "name": "vpn" }, "roles": { "peer": { "machines": { "b": {} } } } },
                "v3": { "module": { "name": "vpn" }, "roles": { "peer": { "tags": ["all"] } } }
            }
        },
        "modules": { "zerotier": { "roles": { "controller": "c", "peer": "p" }, "constraints": { "roles": { "controller": { "min": 1 } } } } },
        "serviceModules": service_modules()
    });
    let (out, _) = run(&args).unwrap();
    let a = |m: &str| json!({ "assertion": false, "message": m });
    let too_many =
        "inventory.instances.vpn: role 'controller' allows at most 1 machines, has 2: a, b";
    let no_peer = "inventory.instances.vpn: role 'peer' needs at least 1 machines, has 0: none";
    let instances = "clan service 'self/vpn' allows at most 2 instances, has 3: v2, v3, vpn";
    assert_eq!(
        out["assertions"],
        json!([
            a("zerotier.i: role 'controller' needs at least 1 machines, has 0: none"),
            a(too_many),
            a(no_peer),
            a(instances),
        ])
    );
    assert_eq!(
        out["instances"]["vpn"]["assertions"],
        json!([a(too_many), a(no_peer)])
    );
    assert_eq!(out["instances"]["v2"]["assertions"], json!([]));
    assert_eq!(
        out["clanServices"]["self/vpn"]["assertions"],
        json!([a(instances)])
    );
}

#[test]
fn instances_phase_one_errors() {
    let base = |instances: Value| {
        json!({
            "inventory": { "machines": { "a": {} }, "instances": instances },
            "serviceModules": service_modules()
        })
    };
    for (instances, message) in [
        (json!(1), "inventory.instances: expected an attribute set, found an integer"),
        (json!({ "i": { "role": {} } }), "inventory.instances.i: unknown attribute 'role' (attributes: module, roles); did you mean 'roles'?"),
        (json!({ "i": { "module": { "name": 1 } } }), "inventory.instances.i.module.name: expected a string, found an integer"),
        (json!({ "i": { "module": { "input": true } } }), "inventory.instances.i.module.input: expected a string or null, found a Boolean"),
        (json!({ "i": { "module": { "nam": "x" } } }), "inventory.instances.i.module: unknown attribute 'nam' (attributes: input, name); did you mean 'name'?"),
        (json!({ "i": { "roles": { "r": { "config": {} } } } }), "inventory.instances.i.roles.r: unknown attribute 'config' (attributes: extraModules, machines, settings, tags)"),
        (json!({ "i": { "roles": { "r": { "machines": ["a"] } } } }), "inventory.instances.i.roles.r.machines: expected an attribute set, found a list"),
        (json!({ "i": { "roles": { "r": { "machines": { "a": { "config": 1 } } } } } }), "inventory.instances.i.roles.r.machines.a: unknown attribute 'config' (attributes: settings)"),
        (json!({ "i": { "roles": { "r": { "tags": "t" } } } }), "inventory.instances.i.roles.r.tags: expected a list of strings or an attribute set, found a string"),
        (json!({ "i": { "roles": { "r": { "tags": ["t", 2] } } } }), "inventory.instances.i.roles.r.tags[1]: expected a string, found an integer"),
        (json!({ "i": { "roles": { "r": { "tags": { "t": { "setting": 1 } } } } } }), "inventory.instances.i.roles.r.tags.t: unknown attribute 'setting' (attributes: settings); did you mean 'settings'?"),
        (json!({ "i": { "roles": { "r": { "extraModules": {} } } } }), "inventory.instances.i.roles.r.extraModules: expected a list, found an attribute set"),
    ] {
        assert_eq!(first_error(&base(instances)), message);
    }
    // `inventory` lists `instances` among its attributes, the argument `serviceModules`.
    assert_eq!(
        first_error(&json!({ "inventory": { "instance": {} } })),
        "inventory: unknown attribute 'instance' (attributes: instances, machines, meta, services, tags); did you mean 'instances'?"
    );
    assert_eq!(
        first_error(&json!({ "serviceModule": {} })),
        "clanInventory: unknown attribute 'serviceModule' (attributes: directory, inventory, modules, serviceModules); did you mean 'serviceModules'?"
    );
}

#[test]
fn service_modules_are_read_only_where_used() {
    let with = |modules: Value| {
        json!({
            "inventory": { "machines": { "a": {} }, "instances": { "backup": { "roles": { "client": { "machines": { "a": {} } } } } } },
            "serviceModules": modules
        })
    };
    // Inputs no instance resolves to, and modules no instance uses, are not looked at.
    let ok = with(json!({
        "self": { "backup": { "roles": { "client": {} }, "perMachine": 1, "manifest": { "name": 2 } }, "other": 1 },
        "unused": 5
    }));
    assert!(run(&ok).is_ok());
    for (modules, message) in [
        (json!(1), "serviceModules: expected an attribute set, found an integer"),
        (json!({ "self": 1 }), "serviceModules.self: expected an attribute set or null, found an integer"),
        (json!({ "self": { "backup": [] } }), "serviceModules.self.backup: expected an attribute set, found a list"),
        (json!({ "self": { "backup": { "roles": [] } } }), "serviceModules.self.backup.roles: expected an attribute set, found a list"),
        (json!({ "self": { "backup": { "manifest": 1 } } }), "serviceModules.self.backup.manifest: expected an attribute set, found an integer"),
        (json!({ "self": { "backup": { "manifest": { "constraints": { "maxInstances": "2" } } } } }), "serviceModules.self.backup.manifest.constraints.maxInstances: expected an integer or null, found a string"),
        (json!({ "self": { "backup": { "manifest": { "constraints": { "max": 1 } } } } }), "serviceModules.self.backup.manifest.constraints: unknown attribute 'max' (attributes: maxInstances, roles)"),
        (json!({ "self": { "backup": { "manifest": { "constraints": { "roles": { "client": { "minMachines": 1.5 } } } } } } }), "serviceModules.self.backup.manifest.constraints.roles.client.minMachines: expected an integer or null, found a float"),
    ] {
        assert_eq!(first_error(&with(modules)), message);
    }
}

#[test]
fn instances_phase_two_errors() {
    let with = |instance: Value, machines: Value| {
        json!({
            "inventory": { "machines": machines, "instances": { "i": instance } },
            "serviceModules": service_modules()
        })
    };
    let one = json!({ "jon": {} });
    for (instance, message) in [
        (json!({ "module": { "name": "backup", "input": "extr" } }), "inventory.instances.i.module.input: no flake input 'extr' (inputs: bare, extra, self); did you mean 'extra'?"),
        (json!({ "module": { "name": "backup", "input": "bare" } }), "inventory.instances.i.module.input: flake input 'bare' has no clan.modules (clan service modules are published as clan.modules.<name>)"),
        (json!({ "module": { "name": "bakup" } }), "inventory.instances.i.module.name: no clan service module 'bakup' in the clan's own modules (modules: backup, vpn); did you mean 'backup'?"),
        (json!({ "module": { "name": "backup", "input": "extra" } }), "inventory.instances.i.module.name: no clan service module 'backup' in flake input 'extra' (modules: vpn)"),
        (json!({ "module": { "name": "backup" }, "roles": { "clinet": {} } }), "inventory.instances.i.roles: role 'clinet' is not defined by clan service module 'self/backup' (roles: client, server); did you mean 'client'?"),
        (json!({ "module": { "name": "backup" }, "roles": { "client": { "machines": { "jnn": {} } } } }), "inventory.instances.i.roles.client.machines: machine 'jnn' is not defined in inventory.machines; did you mean 'jon'?"),
    ] {
        assert_eq!(first_error(&with(instance, one.clone())), message);
    }
    // Without `serviceModules`, `self` is missing; an unresolved module hides the roles' errors.
    let args = json!({ "inventory": { "instances": { "i": { "roles": { "r": { "machines": { "x": {} } } } } } } });
    assert_eq!(
        run(&args).unwrap_err(),
        vec!["inventory.instances.i.module.input: no flake input 'self' (inputs: none)"]
    );
    // Phase 2 order: services, instances, tags; each role's name, then its members.
    let args = json!({
        "inventory": {
            "machines": { "jon": {} },
            "services": { "borgbackup": { "s": { "roles": { "client": { "machines": ["x"] } } } } },
            "instances": { "backup": { "roles": { "client": { "machines": { "y": {} } }, "clinet": {}, "server": { "machines": { "z": {} } } } } },
            "tags": { "t": ["w"] }
        },
        "modules": borg_modules(),
        "serviceModules": service_modules()
    });
    let errors = run(&args).unwrap_err();
    let tail: Vec<&str> = errors
        .iter()
        .map(|e| e.split(": ").next().unwrap_or_default())
        .collect();
    assert_eq!(
        tail,
        [
            "inventory.services.borgbackup.s.roles.client.machines",
            "inventory.instances.backup.roles.client.machines",
            "inventory.instances.backup.roles",
            "inventory.instances.backup.roles.server.machines",
            "inventory.tags.t",
        ]
    );
}

#[test]
fn instances_constraints_only_for_the_modules_roles() {
    let args = json!({
        "inventory": {
            "machines": { "a": {} },
            "instances": { "s": { "roles": { "r": { "machines": { "a": {} } } } } }
        },
        "serviceModules": { "self": { "s": {
            "roles": { "r": {}, "q": {} },
            "manifest": { "constraints": { "roles": {
                "typo": { "minMachines": 5 },
                "q": { "minMachines": 0, "maxMachines": null },
                "r": { "minMachines": null, "maxMachines": 1 }
            } } }
        } } }
    });
    let (out, _) = run(&args).unwrap();
    assert_eq!(out["assertions"], json!([]));
    // One more member breaks `r`'s maximum; `q`, which the instance does not define, has none.
    let mut more = args.clone();
    more["inventory"]["machines"]["b"] = json!({});
    more["inventory"]["instances"]["s"]["roles"]["r"]["tags"] = json!(["all"]);
    let (out, _) = run(&more).unwrap();
    assert_eq!(
        out["assertions"],
        json!([{ "assertion": false, "message": "inventory.instances.s: role 'r' allows at most 1 machines, has 2: a, b" }])
    );
}

#[test]
fn one_machines_memberships_need_no_member_list() {
    let args = json!({
        "inventory": {
            "machines": { "a": { "tags": ["t"] }, "b": {}, "c": { "tags": ["u"] }, "d": { "tags": ["t", "u"] } },
            "tags": { "g": ["b"] },
            "services": { "borgbackup": {
                "i": { "roles": { "client": { "machines": ["c", "b"], "tags": ["t"] }, "server": { "tags": ["g", "u"] } } },
                "j": { "roles": { "server": { "machines": ["a"] } } },
                "off": { "enabled": false, "roles": { "client": { "tags": ["all"] } } }
            } }
        },
        "modules": borg_modules()
    });
    let mut tree = JsonTree::new();
    let input = load(&mut tree, &&args).unwrap();
    let res = super::Resolution::new(&input);
    // The first machines asked for are found role by role, by name and tag.
    let scanned: Vec<Vec<_>> = (0..input.machines.len())
        .map(|mi| res.memberships_of(mi).into_owned())
        .collect();
    assert!(res.instances.iter().all(|i| i.members.get().is_none()));
    // The index, made from the member lists, agrees.
    for (mi, found) in scanned.iter().enumerate() {
        assert_eq!(
            found.as_slice(),
            res.memberships(mi),
            "{}",
            input.machines[mi].name
        );
    }
    let names = |index: usize| -> Vec<Vec<&str>> {
        res.members(index)
            .iter()
            .map(|m| {
                m.iter()
                    .map(|&i| input.machines[i as usize].name.as_str())
                    .collect()
            })
            .collect()
    };
    assert_eq!(names(0), [vec!["c", "b", "a", "d"], vec!["b", "c", "d"]]);
    assert_eq!(names(1), [vec![], vec!["a"]]);
    // Disabled instances have members, but no memberships.
    assert_eq!(names(2), [vec!["a", "b", "c", "d"], vec![]]);
    assert!(res.memberships(1).iter().all(|m| m.instance != 2));
}
