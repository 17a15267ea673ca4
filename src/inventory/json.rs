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

    fn attrs(&mut self, v: &&'a Value) -> Result<Vec<(Text, &'a Value)>, Self::Error> {
        let Value::Object(map) = v else {
            return Ok(Vec::new());
        };
        let mut out: Vec<_> = map.iter().map(|(k, v)| (Ok(k.clone()), v)).collect();
        out.sort_by(|(a, _), (b, _)| a.as_ref().ok().cmp(&b.as_ref().ok()));
        Ok(out)
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

/// The builtin's output without module values: `machines.<m>.{tags, services}`, `services`,
/// `warnings` and `assertions`, keys in sorted order as `nix eval --json` prints them.
pub fn output_json<V>(input: &Input<V>, output: &Output<'_, V>) -> Value {
    let mut machines = Map::new();
    for m in &output.machines {
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
            serde_json::json!({ "services": services, "tags": m.tags }),
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
                    .map(|&i| input.machines[i].name.as_str())
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
    let assertions: Vec<Value> = output
        .assertions
        .iter()
        .map(|m| serde_json::json!({ "assertion": false, "message": m.to_string() }))
        .collect();
    let warnings: Vec<String> = output.warnings.iter().map(ToString::to_string).collect();
    serde_json::json!({
        "assertions": assertions,
        "machines": machines,
        "services": services,
        "warnings": warnings,
    })
}
