//! Clan modules from a directory, as `lib.buildClan` finds them: every subdirectory is a module
//! (except a clan.service module: `default.nix` without `roles/`),
//! its roles are the regular `roles/*.nix` files (the value of a role is the file's path), its
//! constraints the `[constraints]` table of the TOML front matter of its `README.md`.

use std::fs;
use std::path::Path;

use serde_json::{Map, Value};

use super::Failure;

/// `modules` of the builtin's argument for the modules under `dir`; empty when `dir` is missing.
///
/// # Errors
/// A module without a `roles` folder, an unreadable directory, or a malformed front matter.
pub(crate) fn modules(dir: &Path) -> Result<Map<String, Value>, Failure> {
    let mut out = Map::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut names = Vec::new();
    for entry in read_dir(dir)? {
        // Symlinked modules are skipped, as `builtins.readDir` reports them as "symlink".
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if let (true, Ok(name)) = (is_dir, entry.file_name().into_string()) {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        // A clan.service module (inventory.instances), as nix/modules.nix tells them apart:
        // default.nix and no roles/. Its roles need Nix to evaluate it.
        if path.join("default.nix").is_file() && !path.join("roles").is_dir() {
            continue;
        }
        let module = module(&path)?;
        out.insert(name, module);
    }
    Ok(out)
}

fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>, Failure> {
    let fail = |e: std::io::Error| {
        Failure::invalid(format!("failed to read directory `{}`: {e}", dir.display()))
    };
    fs::read_dir(dir)
        .map_err(fail)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)
}

/// One module: `{ roles = { <role> = "<path>"; }; constraints = { ... }; }`.
fn module(dir: &Path) -> Result<Value, Failure> {
    let roles_dir = dir.join("roles");
    if !roles_dir.is_dir() {
        return Err(Failure::invalid(format!(
            "clan module {}: no 'roles' folder (a clan module defines its roles as roles/<role>.nix)",
            dir.display()
        )));
    }
    let mut roles = Vec::new();
    for entry in read_dir(&roles_dir)? {
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        let Ok(file) = entry.file_name().into_string() else {
            continue;
        };
        match file.strip_suffix(".nix") {
            Some(role) if regular && !role.is_empty() => {
                let path = roles_dir.join(&file).display().to_string();
                roles.push((role.to_owned(), Value::String(path)));
            }
            _ => {}
        }
    }
    roles.sort_by(|a, b| a.0.cmp(&b.0));
    let mut module = Map::new();
    module.insert("roles".into(), Value::Object(roles.into_iter().collect()));
    let readme = dir.join("README.md");
    if readme.is_file() {
        let text = fs::read_to_string(&readme)
            .map_err(|e| Failure::invalid(format!("failed to read `{}`: {e}", readme.display())))?;
        if let Some(constraints) = constraints(&readme, &text)? {
            module.insert("constraints".into(), constraints);
        }
    }
    Ok(Value::Object(module))
}

/// The TOML between a first line `---` and the next line `---`; `None` without front matter.
pub(crate) fn front_matter(text: &str) -> Option<Result<String, ()>> {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    if lines.next() != Some("---") {
        return None;
    }
    let mut body = Vec::new();
    for line in lines {
        if line == "---" {
            return Some(Ok(body.join("\n")));
        }
        body.push(line);
    }
    Some(Err(()))
}

/// The `constraints` table of `readme`'s front matter, as JSON, for the core to check.
fn constraints(readme: &Path, text: &str) -> Result<Option<Value>, Failure> {
    let malformed = |why: String| {
        Failure::invalid(format!(
            "clan module: malformed front matter in {}: {why}",
            readme.display()
        ))
    };
    let toml = match front_matter(text) {
        None => return Ok(None),
        Some(Err(())) => {
            return Err(malformed(
                "the opening '---' line has no closing '---' line".into(),
            ))
        }
        Some(Ok(toml)) => toml,
    };
    let table: toml::Table = toml::from_str(&toml).map_err(|e| malformed(e.to_string()))?;
    match table.get("constraints") {
        None => Ok(None),
        Some(c @ toml::Value::Table(_)) => Ok(Some(to_json(c))),
        Some(other) => Err(malformed(format!(
            "'constraints' must be a table, found {}",
            other.type_str()
        ))),
    }
}

fn to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::front_matter;

    #[test]
    fn front_matter_lines() {
        assert_eq!(front_matter("# x\n"), None);
        assert_eq!(front_matter(""), None);
        assert_eq!(
            front_matter("---\na = 1\n---\n# t"),
            Some(Ok("a = 1".into()))
        );
        assert_eq!(
            front_matter("---\r\na = 1\r\n---\r\n"),
            Some(Ok("a = 1".into()))
        );
        assert_eq!(front_matter("---\n---"), Some(Ok(String::new())));
        assert_eq!(front_matter("---\na = 1\n"), Some(Err(())));
    }
}
