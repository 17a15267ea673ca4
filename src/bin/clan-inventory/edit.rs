//! Edits of `inventory.json`: each changes the parsed file (keys keep their order), checks the
//! result with the core, and writes it atomically only when it is valid and the file has not
//! changed meanwhile. In a whole clan the result checked is the file merged with the Nix side,
//! and what the Nix side defines is never changed or removed (`command.rs` refuses first).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::project::Project;
use super::Failure;
use clan_inventory::inventory::{did_you_mean, machine_not_defined, resolve};

/// What an edit did, for the message printed after writing.
pub(crate) type Done = String;

/// A written edit: what it did, the project as it is now (for a whole clan: the new file merged
/// with the Nix side), and the constraints that fail after it and did not before.
pub(crate) struct Applied {
    pub(crate) done: Done,
    pub(crate) next: Project,
    pub(crate) new_failures: Vec<String>,
}

/// The object at `key` of `map`, created (at the end) when missing.
///
/// # Errors
/// The value there is not an object.
fn object<'m>(
    map: &'m mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'m mut Map<String, Value>, Failure> {
    let v = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    v.as_object_mut()
        .ok_or_else(|| Failure::invalid(format!("{path}.{key} is not an object; fix it first")))
}

fn array<'m>(
    map: &'m mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'m mut Vec<Value>, Failure> {
    let v = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    v.as_array_mut()
        .ok_or_else(|| Failure::invalid(format!("{path}.{key} is not a list; fix it first")))
}

fn root(inv: &mut Value) -> Result<&mut Map<String, Value>, Failure> {
    inv.as_object_mut()
        .ok_or_else(|| Failure::invalid("the inventory is not an object; fix it first"))
}

fn machine<'v>(inv: &'v mut Value, name: &str) -> Result<&'v mut Map<String, Value>, Failure> {
    let machines = object(root(inv)?, "machines", "inventory")?;
    if !machines.contains_key(name) {
        return Err(undefined_machine(name, machines));
    }
    machines[name].as_object_mut().ok_or_else(|| {
        Failure::invalid(format!(
            "inventory.machines.{name} is not an object; fix it first"
        ))
    })
}

fn undefined_machine(name: &str, machines: &Map<String, Value>) -> Failure {
    let suggestion = did_you_mean(name, machines.keys().map(String::as_str));
    Failure::invalid(machine_not_defined(name, suggestion.as_deref()))
}

pub(crate) struct NewMachine<'a> {
    pub(crate) name: &'a str,
    pub(crate) tags: &'a [String],
    pub(crate) class: Option<&'a str>,
    pub(crate) target_host: Option<&'a str>,
}

pub(crate) fn add_machine(inv: &mut Value, m: &NewMachine<'_>) -> Result<Done, Failure> {
    let machines = object(root(inv)?, "machines", "inventory")?;
    if machines.contains_key(m.name) {
        return Err(Failure::invalid(format!(
            "machine '{}' is already defined in inventory.machines",
            m.name
        )));
    }
    let mut entry = Map::new();
    if !m.tags.is_empty() {
        entry.insert(
            "tags".into(),
            m.tags.iter().map(|t| Value::String(t.clone())).collect(),
        );
    }
    if let Some(c) = m.class {
        entry.insert("machineClass".into(), Value::String(c.to_owned()));
    }
    if let Some(h) = m.target_host {
        entry.insert("deploy".into(), serde_json::json!({ "targetHost": h }));
    }
    machines.insert(m.name.to_owned(), Value::Object(entry));
    Ok(format!("added machine '{}'", m.name))
}

pub(crate) fn remove_machine(inv: &mut Value, name: &str) -> Result<Done, Failure> {
    let machines = object(root(inv)?, "machines", "inventory")?;
    if machines.shift_remove(name).is_none() {
        return Err(undefined_machine(name, machines));
    }
    Ok(format!("removed machine '{name}'"))
}

pub(crate) fn add_tags(inv: &mut Value, name: &str, tags: &[String]) -> Result<Done, Failure> {
    let m = machine(inv, name)?;
    let list = array(m, "tags", &format!("inventory.machines.{name}"))?;
    let mut added = Vec::new();
    for t in tags {
        if !list.iter().any(|x| x.as_str() == Some(t)) {
            list.push(Value::String(t.clone()));
            added.push(t.as_str());
        }
    }
    Ok(if added.is_empty() {
        format!("machine '{name}' already has every tag given")
    } else {
        format!("added to machine '{name}' the tags: {}", added.join(", "))
    })
}

pub(crate) fn remove_tags(inv: &mut Value, name: &str, tags: &[String]) -> Result<Done, Failure> {
    let m = machine(inv, name)?;
    let list = array(m, "tags", &format!("inventory.machines.{name}"))?;
    for t in tags {
        if !list.iter().any(|x| x.as_str() == Some(t)) {
            return Err(Failure::invalid(format!(
                "machine '{name}' has no tag '{t}' of its own (inventory.machines.{name}.tags)"
            )));
        }
    }
    list.retain(|x| !x.as_str().is_some_and(|s| tags.iter().any(|t| t == s)));
    Ok(format!(
        "removed from machine '{name}' the tags: {}",
        tags.join(", ")
    ))
}

/// A role to edit: `SVC.INST.ROLE` of inventory.services, or `INST.ROLE` of inventory.instances.
#[derive(Clone, Copy)]
pub(crate) enum Address<'a> {
    Service([&'a str; 3]),
    Instance([&'a str; 2]),
}

/// `SVC.INST.ROLE` or `INST.ROLE`, split.
pub(crate) fn address(s: &str) -> Result<Address<'_>, Failure> {
    let parts: Vec<&str> = s.splitn(3, '.').collect();
    match parts[..] {
        _ if parts.iter().any(|p| p.is_empty()) => Err(not_an_address(s)),
        [svc, inst, role] => Ok(Address::Service([svc, inst, role])),
        [inst, role] => Ok(Address::Instance([inst, role])),
        _ => Err(not_an_address(s)),
    }
}

fn not_an_address(s: &str) -> Failure {
    Failure::usage(format!(
        "'{s}' is not a role address: SERVICE.INSTANCE.ROLE (inventory.services) or INSTANCE.ROLE (inventory.instances)"
    ))
}

/// `SVC.INST.ROLE` split in three.
pub(crate) fn role_address(s: &str) -> Result<[&str; 3], Failure> {
    match address(s)? {
        Address::Service(a) => Ok(a),
        Address::Instance(_) => Err(not_an_address(s)),
    }
}

/// `inventory.instances.<i>.roles.<r>`, created when `create` (else `None` when missing).
fn clan_role_mut<'v>(
    inv: &'v mut Value,
    [inst, role]: [&str; 2],
    create: bool,
) -> Result<Option<&'v mut Map<String, Value>>, Failure> {
    let mut map = root(inv)?;
    let mut path = "inventory".to_owned();
    for key in ["instances", inst, "roles", role] {
        if !create && !map.contains_key(key) {
            return Ok(None);
        }
        map = object(map, key, &path)?;
        path = format!("{path}.{key}");
    }
    Ok(Some(map))
}

/// Adds machines (`roles.<r>.machines.<m> = { }`) and tags (to the list, or `tags.<t> = { }` in
/// the attribute form) to a role of `inventory.instances`, creating what is missing.
pub(crate) fn assign_clan(
    inv: &mut Value,
    address: &str,
    [inst, r]: [&str; 2],
    machines: &[String],
    tags: &[String],
) -> Result<Done, Failure> {
    let path = format!("inventory.instances.{inst}.roles.{r}");
    let role = clan_role_mut(inv, [inst, r], true)?.expect("created");
    let mut added = Vec::new();
    if !machines.is_empty() {
        let entries = object(role, "machines", &path)?;
        for m in machines {
            if !entries.contains_key(m) {
                entries.insert(m.clone(), Value::Object(Map::new()));
                added.push(format!("machines: {m}"));
            }
        }
    }
    if !tags.is_empty() {
        let list = role
            .entry("tags")
            .or_insert_with(|| Value::Array(Vec::new()));
        for t in tags {
            let new = match list {
                Value::Array(items) if !items.iter().any(|x| x.as_str() == Some(t)) => {
                    items.push(Value::String(t.clone()));
                    true
                }
                Value::Object(entries) if !entries.contains_key(t) => {
                    entries.insert(t.clone(), Value::Object(Map::new()));
                    true
                }
                Value::Array(_) | Value::Object(_) => false,
                _ => {
                    return Err(Failure::invalid(format!(
                        "{path}.tags is neither a list nor an attribute set; fix it first"
                    )))
                }
            };
            if new {
                added.push(format!("tags: {t}"));
            }
        }
    }
    Ok(if added.is_empty() {
        format!("role {address} already has every name given")
    } else {
        format!("role {address}: added {}", added.join(", "))
    })
}

/// Takes machines and tags out of a role of `inventory.instances`. An entry with settings is not
/// dropped: that would lose them silently.
pub(crate) fn unassign_clan(
    inv: &mut Value,
    address: &str,
    [inst, r]: [&str; 2],
    machines: &[String],
    tags: &[String],
) -> Result<Done, Failure> {
    let path = format!("inventory.instances.{inst}.roles.{r}");
    let Some(role) = clan_role_mut(inv, [inst, r], false)? else {
        return Err(Failure::invalid(format!("{path} is not in the inventory")));
    };
    let keep_settings = |what: &str, entry: &Value| {
        match entry {
        Value::Object(e) if !e.is_empty() => Err(Failure::invalid(format!(
            "{path}.{what} has {}: refusing to drop them with it (edit inventory.json to move or remove them first)",
            e.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
        ))),
        _ => Ok(()),
    }
    };
    if !machines.is_empty() {
        let entries = object(role, "machines", &path)?;
        for m in machines {
            match entries.get(m) {
                None => {
                    return Err(Failure::invalid(format!(
                        "{path}.machines does not have '{m}'"
                    )))
                }
                Some(entry) => keep_settings(&format!("machines.{m}"), entry)?,
            }
        }
        for m in machines {
            entries.shift_remove(m);
        }
    }
    if !tags.is_empty() {
        match role.get_mut("tags") {
            Some(Value::Array(items)) => {
                for t in tags {
                    if !items.iter().any(|x| x.as_str() == Some(t)) {
                        return Err(Failure::invalid(format!("{path}.tags does not list '{t}'")));
                    }
                }
                items.retain(|x| !x.as_str().is_some_and(|s| tags.iter().any(|t| t == s)));
            }
            Some(Value::Object(entries)) => {
                for t in tags {
                    match entries.get(t) {
                        None => {
                            return Err(Failure::invalid(format!(
                                "{path}.tags does not have '{t}'"
                            )))
                        }
                        Some(entry) => keep_settings(&format!("tags.{t}"), entry)?,
                    }
                }
                for t in tags {
                    entries.shift_remove(t);
                }
            }
            _ => {
                return Err(Failure::invalid(format!(
                    "{path}.tags does not list '{}'",
                    tags[0]
                )))
            }
        }
    }
    let mut removed: Vec<String> = machines.iter().map(|m| format!("machines: {m}")).collect();
    removed.extend(tags.iter().map(|t| format!("tags: {t}")));
    Ok(format!("role {address}: removed {}", removed.join(", ")))
}

fn role_mut<'v>(
    inv: &'v mut Value,
    [svc, inst, role]: [&str; 3],
    create: bool,
) -> Result<Option<&'v mut Map<String, Value>>, Failure> {
    let mut map = root(inv)?;
    let mut path = "inventory".to_owned();
    for key in ["services", svc, inst, "roles", role] {
        if !create && !map.contains_key(key) {
            return Ok(None);
        }
        map = object(map, key, &path)?;
        path = format!("{path}.{key}");
    }
    Ok(Some(map))
}

pub(crate) fn assign(
    inv: &mut Value,
    address: &str,
    machines: &[String],
    tags: &[String],
) -> Result<Done, Failure> {
    let addr = role_address(address)?;
    let path = format!("inventory.services.{address}");
    let role = role_mut(inv, addr, true)?.expect("created");
    let mut added = Vec::new();
    for (key, names) in [("machines", machines), ("tags", tags)] {
        if names.is_empty() {
            continue;
        }
        let list = array(role, key, &path)?;
        for n in names {
            if !list.iter().any(|x| x.as_str() == Some(n)) {
                list.push(Value::String(n.clone()));
                added.push(format!("{key}: {n}"));
            }
        }
    }
    Ok(if added.is_empty() {
        format!("role {address} already lists every name given")
    } else {
        format!("role {address}: added {}", added.join(", "))
    })
}

pub(crate) fn unassign(
    inv: &mut Value,
    address: &str,
    machines: &[String],
    tags: &[String],
) -> Result<Done, Failure> {
    let addr = role_address(address)?;
    let path = format!("inventory.services.{address}");
    let Some(role) = role_mut(inv, addr, false)? else {
        return Err(Failure::invalid(format!("{path} is not in the inventory")));
    };
    for (key, names) in [("machines", machines), ("tags", tags)] {
        if names.is_empty() {
            continue;
        }
        let list = array(role, key, &path)?;
        for n in names {
            if !list.iter().any(|x| x.as_str() == Some(n)) {
                return Err(Failure::invalid(format!(
                    "{path}.{key} does not list '{n}'"
                )));
            }
        }
        list.retain(|x| !x.as_str().is_some_and(|s| names.iter().any(|n| n == s)));
    }
    let mut removed: Vec<String> = machines.iter().map(|m| format!("machines: {m}")).collect();
    removed.extend(tags.iter().map(|t| format!("tags: {t}")));
    Ok(format!("role {address}: removed {}", removed.join(", ")))
}

/// The indentation of `text` (that of its first indented line), two spaces by default.
fn indentation(text: &str) -> String {
    text.lines()
        .skip(1)
        .map(|l| &l[..l.len() - l.trim_start().len()])
        .find(|ws| !ws.is_empty())
        .unwrap_or("  ")
        .to_owned()
}

/// The new file text: pretty JSON with the file's own indentation and final newline.
pub(crate) fn render(original: &str, inv: &Value) -> String {
    use serde::Serialize;
    let indent = indentation(original);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serializing a Value into memory cannot fail.
    let _ = inv.serialize(&mut ser);
    let mut s = String::from_utf8(buf).unwrap_or_default();
    if original.ends_with('\n') || original.is_empty() {
        s.push('\n');
    }
    s
}

/// Applies `edit` to the project's file: checks the result and writes it, or explains why not.
///
/// A result whose constraints fail is written all the same (`Applied::new_failures` says which
/// began to fail): buildClan checks constraints as assertions of the machines, not as errors of
/// the inventory, and a change such as moving a `max = 1` role to another machine takes two
/// edits, the first of which breaks the constraint for a moment.
///
/// # Errors
/// The edit itself fails, the result would be invalid, or the write fails.
pub(crate) fn apply(
    project: &Project,
    edit: impl FnOnce(&mut Value) -> Result<Done, Failure>,
) -> Result<Applied, Failure> {
    // Fail early on a file that is already invalid: the edit would be blamed for its errors.
    let failing_before: Vec<String> = match project.load() {
        Ok(input) => failures(&input),
        Err(_) => {
            return Err(Failure::report(super::invalid_report(
                project,
                &format!("{} is invalid; fix it first", project.subject()),
            )))
        }
    };
    let mut inv = project.file_inventory()?;
    let done = edit(&mut inv)?;
    let text = render(&project.text, &inv);
    let next = match &project.clan {
        None => Project::from_text(
            &project.file,
            project.modules_dir.clone(),
            text,
            project.modules(),
        )?,
        // What buildClan will see: the new file merged with the Nix side, which must still merge.
        Some(clan) => {
            let (merged, marks) = clan.merged_with(&inv).map_err(|conflict| {
                Failure::invalid(format!(
                    "refusing to write `{}`: {conflict}; the Nix side is read-only here, change it there",
                    project.file.display()
                ))
            })?;
            project.edited(text, merged, marks)
        }
    };
    let new_failures = match next.load() {
        Ok(input) => failures(&input)
            .into_iter()
            .filter(|f| !failing_before.contains(f))
            .collect(),
        Err(errors) => {
            let mut report = format!(
                "error: refusing to write `{}`: the result would be invalid:\n",
                project.file.display()
            );
            for e in &errors {
                let _ = writeln!(report, "  {e}");
            }
            return Err(Failure::report(report));
        }
    };
    super::write::replace(&project.file, &project.text, &next.text)?;
    Ok(Applied {
        done,
        next,
        new_failures,
    })
}

/// The failed constraints of `input`, as the assertions word them.
fn failures<V>(input: &clan_inventory::inventory::Input<V>) -> Vec<String> {
    let output = resolve(input);
    output
        .assertions
        .iter()
        .map(ToString::to_string)
        .chain(output.clan.assertions.iter().map(ToString::to_string))
        .collect()
}
