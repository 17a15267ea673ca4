//! A deterministic generator of random `clanInventory` arguments, in JSON (so the same case can be
//! fed to the core, to the plugin and to the pure-Nix implementation via `builtins.fromJSON`).
//! Cases cover machines, global and machine tags, services, instances, roles, explicit and tag
//! members, disabled instances, constraints, configs, extra modules and, with `typos`, misspelt
//! names and wrong types. [`arguments_with_instances`] adds clan services (`inventory.instances`
//! and `serviceModules`).
#![allow(dead_code, unreachable_pub)]

use serde_json::{json, Map, Value};

/// xorshift64*: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const MACHINE_NAMES: &[&str] = &[
    "jon", "sara", "backup", "web-1", "web-2", "db", "gateway", "nas", "laptop", "x",
];
const TAG_NAMES: &[&str] = &[
    "backup", "web", "rack-1", "rack-2", "zone-a", "all", "nixos", "darwin", "edge",
];
const SERVICE_NAMES: &[&str] = &["borgbackup", "zerotier", "monitoring", "dns"];
const ROLE_NAMES: &[&str] = &["client", "server", "controller", "peer", "agent"];
const INSTANCE_NAMES: &[&str] = &["main", "instance_1", "instance_2", "lab", "b"];

/// Misspells a name: drop, double or swap a character.
fn typo(rng: &mut Rng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 2 {
        return format!("{name}z");
    }
    let i = rng.below(chars.len() - 1);
    match rng.below(3) {
        0 => {
            chars.remove(i);
        }
        1 => chars.insert(i, chars[i]),
        _ => chars.swap(i, i + 1),
    }
    chars.into_iter().collect()
}

fn subset(rng: &mut Rng, names: &[&str], max: usize) -> Vec<String> {
    let n = rng.below(max + 1);
    (0..n).map(|_| (*rng.pick(names)).to_owned()).collect()
}

/// One random argument of `clanInventory`. With `typos`, some cases contain errors.
pub fn arguments(seed: u64, typos: bool) -> Value {
    let mut rng = Rng::new(seed);
    let machine_count = 1 + rng.below(MACHINE_NAMES.len());
    let machines: Vec<&str> = MACHINE_NAMES[..machine_count].to_vec();
    let mut modules = Map::new();
    let service_count = 1 + rng.below(SERVICE_NAMES.len());
    for svc in &SERVICE_NAMES[..service_count] {
        let mut roles = Map::new();
        for role in ROLE_NAMES.iter().take(1 + rng.below(ROLE_NAMES.len())) {
            roles.insert(
                (*role).to_owned(),
                json!({ "module": format!("{svc}/{role}") }),
            );
        }
        let mut module = json!({ "roles": roles });
        if rng.chance(40) {
            let role = rng.pick(&roles.keys().cloned().collect::<Vec<_>>()).clone();
            let mut c = Map::new();
            if rng.chance(60) {
                c.insert("min".into(), json!(rng.below(3)));
            }
            if rng.chance(60) {
                c.insert(
                    "max".into(),
                    if rng.chance(20) {
                        Value::Null
                    } else {
                        json!(1 + rng.below(3))
                    },
                );
            }
            module["constraints"] = json!({ "roles": { role: c } });
        }
        modules.insert((*svc).to_owned(), module);
    }
    let mut inv_machines = Map::new();
    for m in &machines {
        let mut entry = Map::new();
        if rng.chance(70) {
            entry.insert("tags".into(), json!(subset(&mut rng, TAG_NAMES, 3)));
        }
        if rng.chance(15) {
            entry.insert(
                "machineClass".into(),
                json!(if rng.chance(50) { "darwin" } else { "nixos" }),
            );
        }
        if rng.chance(20) {
            entry.insert(
                "deploy".into(),
                json!({ "targetHost": format!("root@{m}") }),
            );
        }
        if rng.chance(10) {
            entry.insert("description".into(), json!(format!("the {m} machine")));
        }
        inv_machines.insert((*m).to_owned(), Value::Object(entry));
    }
    let mut tags = Map::new();
    if rng.chance(50) {
        for _ in 0..rng.below(3) {
            tags.insert(
                (*rng.pick(TAG_NAMES)).to_owned(),
                json!(subset(&mut rng, &machines, 3)),
            );
        }
    }
    let mut services = Map::new();
    for (svc, module) in &modules {
        if rng.chance(20) {
            continue;
        }
        let role_names: Vec<String> = module["roles"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut instances = Map::new();
        for inst in INSTANCE_NAMES.iter().take(1 + rng.below(3)) {
            let mut i = Map::new();
            if rng.chance(15) {
                i.insert("enabled".into(), json!(rng.chance(30)));
            }
            if rng.chance(40) {
                i.insert(
                    "config".into(),
                    json!({ "level": "instance", "inst": inst }),
                );
            }
            if rng.chance(20) {
                i.insert(
                    "extraModules".into(),
                    json!([{ "extra": format!("{svc}.{inst}") }]),
                );
            }
            if rng.chance(30) {
                let m = *rng.pick(&machines);
                i.insert(
                    "machines".into(),
                    json!({ m: { "config": { "level": "machine", "m": m } } }),
                );
            }
            let mut roles = Map::new();
            for role in &role_names {
                if rng.chance(35) {
                    continue;
                }
                let mut r = Map::new();
                if rng.chance(70) {
                    r.insert("machines".into(), json!(subset(&mut rng, &machines, 3)));
                }
                if rng.chance(50) {
                    r.insert("tags".into(), json!(subset(&mut rng, TAG_NAMES, 2)));
                }
                if rng.chance(30) {
                    r.insert("config".into(), json!({ "level": "role", "role": role }));
                }
                if rng.chance(10) {
                    r.insert("extraModules".into(), json!([{ "extra": role }]));
                }
                roles.insert(role.clone(), Value::Object(r));
            }
            i.insert("roles".into(), Value::Object(roles));
            instances.insert((*inst).to_owned(), Value::Object(i));
        }
        services.insert(svc.clone(), Value::Object(instances));
    }
    let mut args = json!({
        "inventory": { "machines": inv_machines, "tags": tags, "services": services, "meta": { "name": "random" } },
        "modules": modules,
    });
    if typos && rng.chance(50) {
        corrupt(&mut rng, &mut args, &machines);
    }
    args
}

/// Introduces one mistake of the kinds users make.
fn corrupt(rng: &mut Rng, args: &mut Value, machines: &[&str]) {
    let services: Vec<String> = args["inventory"]["services"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    match rng.below(8) {
        0 => {
            let m = *rng.pick(machines);
            args["inventory"]["tags"]["typo-tag"] = json!([typo(rng, m)]);
        }
        1 if !services.is_empty() => {
            let svc = rng.pick(&services).clone();
            let v = args["inventory"]["services"][&svc].take();
            args["inventory"]["services"][typo(rng, &svc)] = v;
        }
        2 if !services.is_empty() => {
            let svc = rng.pick(&services).clone();
            let m = *rng.pick(machines);
            args["inventory"]["services"][&svc]["extra"]["roles"]["bogus"] =
                json!({ "machines": [typo(rng, m)] });
        }
        3 => {
            let m = *rng.pick(machines);
            args["inventory"]["machines"][m]["tags"] = json!(7);
        }
        4 if !services.is_empty() => {
            let svc = rng.pick(&services).clone();
            args["inventory"]["services"][&svc]["extra"] = json!({ "enabled": "yes" });
        }
        5 if !services.is_empty() => {
            let svc = rng.pick(&services).clone();
            let m = *rng.pick(machines);
            args["inventory"]["services"][&svc]["extra"] =
                json!({ "roles": {}, "machines": { typo(rng, m): {} } });
        }
        6 => {
            let m = *rng.pick(machines);
            args["inventory"]["machines"][m]["machineClass"] = json!("plan9");
        }
        _ => {
            let m = *rng.pick(machines);
            args["inventory"]["machines"][m]["tagz"] = json!([]);
        }
    }
}

const SERVICE_MODULE_NAMES: &[&str] = &["admin", "backup", "mesh", "monitor"];
const CLAN_INSTANCE_NAMES: &[&str] = &["main", "lab", "home", "office", "b"];

/// One random argument of `clanInventory` that also uses clan services: `serviceModules` from
/// `self` and maybe `clan-core`, another input and an input without modules; instances of them
/// (several of one module, the default input and name as often as not) with explicit members,
/// list and attribute tags, settings at role, machine and tag level, and constraints. With
/// `typos`, some cases contain one mistake, in the services part or in the instances part.
pub fn arguments_with_instances(seed: u64, typos: bool) -> Value {
    let mut args = arguments(seed, false);
    let mut rng = Rng::new(seed ^ 0x5eed_c1a5);
    let machines: Vec<String> = args["inventory"]["machines"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let machines: Vec<&str> = machines.iter().map(String::as_str).collect();

    let mut inputs = vec!["self"];
    if rng.chance(50) {
        inputs.push("clan-core");
    }
    if rng.chance(30) {
        inputs.push("community");
    }
    let mut service_modules = Map::new();
    // (input, module, its roles)
    let mut available: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for input in &inputs {
        let mut modules = Map::new();
        for name in SERVICE_MODULE_NAMES {
            if rng.chance(40) {
                continue;
            }
            let roles: Vec<&str> = ROLE_NAMES
                .iter()
                .skip(rng.below(2))
                .take(1 + rng.below(3))
                .copied()
                .collect();
            let mut module = json!({
                "roles": roles.iter().map(|r| ((*r).to_owned(), json!({ "description": r }))).collect::<Map<_, _>>(),
                "manifest": { "name": name, "description": format!("{input}/{name}") },
            });
            if rng.chance(40) {
                let mut c = Map::new();
                if rng.chance(50) {
                    c.insert(
                        "maxInstances".into(),
                        if rng.chance(20) {
                            Value::Null
                        } else {
                            json!(1 + rng.below(2))
                        },
                    );
                }
                if rng.chance(70) {
                    let role = *rng.pick(&roles);
                    let mut bounds = Map::new();
                    if rng.chance(60) {
                        bounds.insert("minMachines".into(), json!(rng.below(3)));
                    }
                    if rng.chance(60) {
                        bounds.insert(
                            "maxMachines".into(),
                            if rng.chance(20) {
                                Value::Null
                            } else {
                                json!(1 + rng.below(3))
                            },
                        );
                    }
                    c.insert("roles".into(), json!({ role: bounds }));
                }
                module["manifest"]["constraints"] = Value::Object(c);
            }
            available.push((input, name, roles));
            modules.insert((*name).to_owned(), module);
        }
        service_modules.insert((*input).to_owned(), Value::Object(modules));
    }
    if rng.chance(10) {
        service_modules.insert("nomodules".into(), Value::Null);
    }
    let default_input = if inputs.contains(&"clan-core") {
        "clan-core"
    } else {
        "self"
    };

    let mut instances = Map::new();
    if !available.is_empty() {
        let mut last = rng.below(available.len());
        for _ in 0..rng.below(6) {
            // Often another instance of the module just used.
            if !rng.chance(40) {
                last = rng.below(available.len());
            }
            let (input, module, roles) = &available[last];
            let name = if rng.chance(30) {
                (*module).to_owned()
            } else {
                format!("{}-{module}", rng.pick(CLAN_INSTANCE_NAMES))
            };
            let mut m = Map::new();
            if name != *module || rng.chance(50) {
                m.insert("name".into(), json!(module));
            }
            if *input != default_input || rng.chance(50) {
                m.insert("input".into(), json!(input));
            }
            let mut rs = Map::new();
            for role in roles {
                if rng.chance(35) {
                    continue;
                }
                rs.insert(
                    (*role).to_owned(),
                    clan_role(&mut rng, &machines, &name, role),
                );
            }
            instances.insert(name, json!({ "module": m, "roles": rs }));
        }
    }
    args["serviceModules"] = Value::Object(service_modules);
    args["inventory"]["instances"] = Value::Object(instances);
    if typos && rng.chance(50) {
        if rng.chance(30) {
            corrupt(&mut rng, &mut args, &machines);
        } else {
            corrupt_instances(&mut rng, &mut args, &machines);
        }
    }
    args
}

/// A role of a clan service instance: explicit members (some with settings), tags in the list or
/// the attribute form (some with settings), role settings, extra modules.
fn clan_role(rng: &mut Rng, machines: &[&str], instance: &str, role: &str) -> Value {
    let mut r = Map::new();
    if rng.chance(60) {
        let mut members = Map::new();
        for m in subset(rng, machines, 3) {
            let entry = if rng.chance(50) {
                json!({ "settings": { "level": "machine", "port": rng.below(100), "list": [m] } })
            } else {
                json!({})
            };
            members.insert(m, entry);
        }
        r.insert("machines".into(), Value::Object(members));
    }
    if rng.chance(60) {
        let tags = subset(rng, TAG_NAMES, 2);
        if rng.chance(50) {
            r.insert("tags".into(), json!(tags));
        } else {
            let mut by_name = Map::new();
            for t in tags {
                let entry = if rng.chance(60) {
                    json!({ "settings": { "level": "tag", "list": [t] } })
                } else {
                    json!({})
                };
                by_name.insert(t, entry);
            }
            r.insert("tags".into(), Value::Object(by_name));
        }
    }
    if rng.chance(40) {
        r.insert(
            "settings".into(),
            json!({ "level": "role", "instance": instance, "list": [role] }),
        );
    }
    if rng.chance(10) {
        r.insert(
            "extraModules".into(),
            json!([{ "extra": format!("{instance}.{role}") }]),
        );
    }
    Value::Object(r)
}

/// Introduces one mistake of the kinds users make with clan services.
fn corrupt_instances(rng: &mut Rng, args: &mut Value, machines: &[&str]) {
    let names: Vec<String> = args["inventory"]["instances"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let inputs: Vec<String> = args["serviceModules"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    if names.is_empty() {
        // No instance to spoil: one that names a module nobody has.
        args["inventory"]["instances"]["stray"] = json!({ "module": { "name": "nosuch" } });
        return;
    }
    let name = rng.pick(&names).clone();
    let instance = &mut args["inventory"]["instances"][&name];
    let roles: Vec<String> = instance["roles"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let role = if roles.is_empty() {
        "client".to_owned()
    } else {
        rng.pick(&roles).clone()
    };
    match rng.below(9) {
        0 => {
            let input = rng.pick(&inputs).clone();
            instance["module"]["input"] = json!(typo(rng, &input));
        }
        1 => {
            let module = instance["module"]["name"]
                .as_str()
                .unwrap_or(&name)
                .to_owned();
            instance["module"]["name"] = json!(typo(rng, &module));
        }
        2 => {
            let bad = typo(rng, &role);
            instance["roles"][bad] = json!({});
        }
        3 => {
            let m = *rng.pick(machines);
            instance["roles"][&role]["machines"][typo(rng, m)] = json!({});
        }
        4 => instance["module"]["input"] = json!("nomodules"),
        5 => instance["roles"][&role]["tags"] = json!(7),
        6 => instance["roles"][&role]["machines"] = json!([*rng.pick(machines)]),
        7 => instance["roles"][&role]["config"] = json!({}),
        _ => {
            let input = rng.pick(&inputs).clone();
            if let Some(modules) = args["serviceModules"][&input].as_object_mut() {
                for module in modules.values_mut() {
                    module["manifest"]["constraints"]["maxInstances"] = json!("2");
                }
            }
        }
    }
}
