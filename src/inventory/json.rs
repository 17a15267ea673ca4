//! The inventory in JSON: a [`Tree`] over `serde_json` values (what the CLI reads), and the JSON
//! form of a resolution (the builtin's output without the module values).

use serde_json::{Map, Value};

use super::{Input, Kind, Output, Text, Tree};

/// Reads JSON values. JSON has no thunks, so nothing here can fail to evaluate.
pub struct JsonTree<'a>(std::marker::PhantomData<&'a Value>);

impl JsonTree<'_> {
    #[must_use]
    pub fn new() -> Self {
        JsonTree(std::marker::PhantomData)
    }
}

impl Default for JsonTree<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Tree for JsonTree<'a> {
    type Value = &'a Value;
    type Error = std::convert::Infallible;
    type Name = &'a str;

    fn kind(&mut self, v: &&'a Value) -> Result<Kind, Self::Error> {
        Ok(match v {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Number(n) if n.is_i64() => Kind::Int,
            Value::Number(_) => Kind::Float,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::List,
            Value::Object(_) => Kind::Attrs,
        })
    }

    fn attrs(
        &mut self,
        v: &&'a Value,
        out: &mut Vec<(&'a str, &'a Value)>,
    ) -> Result<(), Self::Error> {
        if let Value::Object(map) = v {
            out.extend(map.iter().map(|(k, v)| (k.as_str(), v)));
            out.sort_by_key(|(name, _)| *name);
        }
        Ok(())
    }

    fn list(&mut self, v: &&'a Value) -> Result<Vec<&'a Value>, Self::Error> {
        Ok(match v {
            Value::Array(items) => items.iter().collect(),
            _ => Vec::new(),
        })
    }

    fn string(&mut self, v: &&'a Value) -> Result<Text, Self::Error> {
        Ok(Ok(v.as_str().unwrap_or_default().to_owned()))
    }

    fn int(&mut self, v: &&'a Value) -> Result<i64, Self::Error> {
        Ok(v.as_i64().unwrap_or_default())
    }

    fn bool(&mut self, v: &&'a Value) -> Result<bool, Self::Error> {
        Ok(v.as_bool().unwrap_or_default())
    }
}

/// The builtin's output without module values: `machines.<m>.{instances, tags, services}`,
/// `services`, `instances` (without the roles' `settings`, `roleSettings` and `extraModules`),
/// `clanServices`, `warnings` and `assertions`, keys in sorted order as `nix eval --json` prints
/// them.
pub fn output_json<V>(input: &Input<V>, output: &Output<'_, V>) -> Value {
    let clan = &output.clan;
    let name = |i: usize| input.machines[i].name.as_str();
    let mut machines = Map::new();
    for (mi, m) in output.machines.iter().enumerate() {
        let instances: Vec<Value> = clan
            .memberships(mi)
            .iter()
            .map(|&ms| {
                serde_json::json!({
                    "instance": clan.instances[ms.instance as usize].name,
                    "role": clan.role_name(ms),
                    "service": clan.service_of(ms).key,
                })
            })
            .collect();
        let mut services = Map::new();
        for (index, roles) in &m.services {
            let inst = &output.instances[*index];
            let entry = services
                .entry(inst.service)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(instances) = entry {
                instances.insert(
                    inst.instance.to_owned(),
                    serde_json::json!({ "roles": roles }),
                );
            }
        }
        machines.insert(
            m.name.to_owned(),
            serde_json::json!({ "instances": instances, "services": services, "tags": m.tags }),
        );
    }
    let mut services = Map::new();
    let mut instances = output.instances.iter().peekable();
    for service in &input.services {
        let mut out = Map::new();
        while let Some(inst) = instances.next_if(|i| i.service == service.name) {
            let mut roles = Map::new();
            for (role, members) in &inst.roles {
                let names: Vec<&str> = members
                    .iter()
                    .map(|&i| input.machines[i as usize].name.as_str())
                    .collect();
                roles.insert((*role).to_owned(), serde_json::json!({ "machines": names }));
            }
            out.insert(
                inst.instance.to_owned(),
                serde_json::json!({ "enabled": inst.enabled, "roles": roles }),
            );
        }
        services.insert(service.name.clone(), Value::Object(out));
    }
    let assertion =
        |m: &dyn ToString| serde_json::json!({ "assertion": false, "message": m.to_string() });
    let module = |input: &str, name: &str| serde_json::json!({ "input": input, "name": name });
    let mut instances = Map::new();
    for inst in &clan.instances {
        let roles: Map<String, Value> = inst
            .roles
            .iter()
            .map(|r| {
                let members: Vec<&str> = r.members.iter().map(|&i| name(i as usize)).collect();
                (
                    r.name.to_owned(),
                    serde_json::json!({ "machines": members }),
                )
            })
            .collect();
        let failures: Vec<Value> = inst.failures.iter().map(|f| assertion(f)).collect();
        instances.insert(
            inst.name.to_owned(),
            serde_json::json!({
                "assertions": failures,
                "module": module(inst.input, inst.module),
                "roles": roles,
                "service": clan.services[inst.service].key,
            }),
        );
    }
    let mut clan_services = Map::new();
    for (si, service) in clan.services.iter().enumerate() {
        let machines: Map<String, Value> = clan
            .service_machines(si)
            .into_iter()
            .map(|(m, insts)| {
                let names: Vec<&str> = insts.iter().map(|&i| clan.instances[i].name).collect();
                (name(m).to_owned(), serde_json::json!(names))
            })
            .collect();
        let names: Vec<&str> = service
            .instances
            .iter()
            .map(|&i| clan.instances[i].name)
            .collect();
        let failures: Vec<Value> = service.failures.iter().map(|f| assertion(f)).collect();
        clan_services.insert(
            service.key.clone(),
            serde_json::json!({
                "assertions": failures,
                "instances": names,
                "machines": machines,
                "module": module(service.input, service.module),
            }),
        );
    }
    let assertions: Vec<Value> = output
        .assertions
        .iter()
        .map(|m| assertion(m))
        .chain(clan.assertions.iter().map(|m| assertion(m)))
        .collect();
    let warnings: Vec<String> = output.warnings.iter().map(ToString::to_string).collect();
    serde_json::json!({
        "assertions": assertions,
        "clanServices": clan_services,
        "instances": instances,
        "machines": machines,
        "services": services,
        "warnings": warnings,
    })
}
