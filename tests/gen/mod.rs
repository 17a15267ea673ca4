//! A deterministic generator of random `clanInventory` arguments, in JSON (so the same case can be
//! fed to the core, to the plugin and to the pure-Nix implementation via `builtins.fromJSON`).
//! Cases cover machines, global and machine tags, services, instances, roles, explicit and tag
//! members, disabled instances, constraints, configs, extra modules and, with `typos`, misspelt
//! names and wrong types.
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
