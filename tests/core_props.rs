//! Properties of the core on thousands of random inventories (no Nix needed): determinism,
//! independence from attribute order, and consistency of the result.

mod gen;

use clan_inventory::inventory::json::{output_json, JsonTree};
use clan_inventory::inventory::{load, resolve, Errors};
use serde_json::{Map, Value};

fn evaluate(args: &Value) -> Result<Value, Vec<String>> {
    let mut tree = JsonTree::new();
    match load(&mut tree, &args) {
        Ok(input) => Ok(output_json(&input, &resolve(&input))),
        Err(Errors::Invalid(errors)) => Err(errors.iter().map(ToString::to_string).collect()),
        Err(Errors::Source { .. }) => unreachable!(),
    }
}

/// The same value with every object's keys in reverse order.
fn reversed(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .rev()
                .map(|(k, v)| (k.clone(), reversed(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

fn cases() -> u64 {
    std::env::var("CLAN_PROP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

#[test]
fn deterministic_and_independent_of_attribute_order() {
    for seed in 0..cases() {
        let args = gen::arguments(seed, true);
        let a = evaluate(&args);
        assert_eq!(a, evaluate(&args), "seed {seed}: not deterministic");
        assert_eq!(
            a,
            evaluate(&reversed(&args)),
            "seed {seed}: depends on attribute order"
        );
    }
}

#[test]
fn results_are_consistent() {
    let mut resolved = 0;
    for seed in 0..cases() {
        let args = gen::arguments(seed, false);
        let Ok(out) = evaluate(&args) else { continue };
        resolved += 1;
        let machines = out["machines"].as_object().unwrap();
        assert_eq!(
            machines.len(),
            args["inventory"]["machines"].as_object().unwrap().len(),
            "seed {seed}"
        );
        for (svc, instances) in out["services"].as_object().unwrap() {
            let module_roles = args["modules"][svc]["roles"].as_object().unwrap();
            for (inst, entry) in instances.as_object().unwrap() {
                let roles = entry["roles"].as_object().unwrap();
                // Every role of the module is present.
                let mut expected: Vec<&String> = module_roles.keys().collect();
                expected.sort_unstable();
                assert_eq!(roles.keys().collect::<Vec<_>>(), expected, "seed {seed}");
                for (role, r) in roles {
                    let members: Vec<&str> = r["machines"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| m.as_str().unwrap())
                        .collect();
                    let mut unique = members.clone();
                    unique.sort_unstable();
                    unique.dedup();
                    assert_eq!(
                        unique.len(),
                        members.len(),
                        "seed {seed}: duplicate members in {svc}.{inst}.{role}"
                    );
                    for m in &members {
                        assert!(
                            machines.contains_key(*m),
                            "seed {seed}: undefined member {m}"
                        );
                        let has = machines[*m]["services"][svc][inst]["roles"]
                            .as_array()
                            .is_some_and(|rs| rs.iter().any(|x| x == role));
                        assert_eq!(
                            has,
                            entry["enabled"] == true,
                            "seed {seed}: {m} in {svc}.{inst}.{role}"
                        );
                    }
                }
            }
        }
        // A machine's roles are exactly those whose members list it, sorted.
        for (m, entry) in machines {
            for (svc, instances) in entry["services"].as_object().unwrap() {
                for (inst, e) in instances.as_object().unwrap() {
                    let roles: Vec<&str> = e["roles"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap())
                        .collect();
                    let mut sorted = roles.clone();
                    sorted.sort_unstable();
                    assert_eq!(roles, sorted, "seed {seed}");
                    for r in roles {
                        let members = &out["services"][svc][inst]["roles"][r]["machines"];
                        assert!(
                            members.as_array().unwrap().iter().any(|x| x == m),
                            "seed {seed}"
                        );
                    }
                }
            }
        }
    }
    assert!(
        resolved > cases() / 2,
        "the generator produced too few valid inventories: {resolved}"
    );
}

/// Random damage to valid inventories (values replaced by other types) never panics: it gives
/// errors or a result.
#[test]
fn arbitrary_damage_never_panics() {
    let junk = [
        Value::Null,
        Value::Bool(true),
        serde_json::json!(-1),
        serde_json::json!(1.5),
        serde_json::json!("s"),
        serde_json::json!([1, "a", null]),
        serde_json::json!({ "x": {} }),
    ];
    for seed in 0..cases() {
        let mut args = gen::arguments(seed, true);
        let mut rng = gen::Rng::new(seed ^ 0xdead_beef);
        for _ in 0..3 {
            damage(&mut args, &mut rng, &junk);
        }
        let _ = evaluate(&args);
    }
}

fn damage(v: &mut Value, rng: &mut gen::Rng, junk: &[Value]) {
    match v {
        Value::Object(map) if !map.is_empty() && rng.chance(70) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let k = rng.pick(&keys).clone();
            damage(map.get_mut(&k).unwrap(), rng, junk);
        }
        Value::Array(items) if !items.is_empty() && rng.chance(70) => {
            let i = rng.below(items.len());
            damage(&mut items[i], rng, junk);
        }
        other => *other = rng.pick(junk).clone(),
    }
}
