//! The whole clan, read through Nix: one `nix eval --json` of what the commands need from the
//! `clanInternals` of a `buildClan` call (`clan.nix` beside this file says what), turned into the
//! same argument of the core that `project.rs` builds from an `inventory.json` alone.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Map, Value};

use super::Failure;

/// Where a value of the Nix side is when Nix gives no position for it.
const NIX_ARGUMENT: &str = "the inventory argument of buildClan";

/// The function `nix eval --apply` applies to `clanInternals`.
const VIEW: &str = include_str!("clan.nix");

/// Where the clan is.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// A flake reference, optionally with `#ATTR`, the attribute that holds buildClan's result
    /// (default: the flake's outputs themselves, so `REF#clanInternals`).
    Flake(String),
    /// A Nix file whose value (called with its defaults when it is a function) is buildClan's result.
    File(PathBuf),
    /// A Nix expression whose value is buildClan's result.
    Expr(String),
}

impl Source {
    /// The flake reference without `#ATTR`, for the attribute paths of `select --attrs`.
    pub(crate) fn flake_ref(&self) -> Option<&str> {
        match self {
            Source::Flake(r) => Some(r.split_once('#').map_or(r.as_str(), |(r, _)| r)),
            _ => None,
        }
    }

    /// The local directory of the clan, when there is one: a flake given as a path, or the
    /// directory of a Nix file. Flakes are evaluated from a copy in the store; this maps back.
    fn local_dir(&self) -> Option<PathBuf> {
        match self {
            Source::Flake(_) => {
                let r = self.flake_ref()?;
                let path = r.strip_prefix("path:").unwrap_or(r);
                Path::new(path).is_dir().then(|| PathBuf::from(path))
            }
            Source::File(f) => Some(
                f.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf(),
            ),
            Source::Expr(_) => None,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Source::Flake(r) => format!("flake `{r}`"),
            Source::File(f) => format!("`{}`", f.display()),
            Source::Expr(_) => "--expr".to_owned(),
        }
    }
}

/// The Nix to run and the plugin to give it.
#[derive(Clone)]
pub(crate) struct Evaluator {
    pub(crate) nix: PathBuf,
    pub(crate) plugin: Option<PathBuf>,
}

impl Evaluator {
    /// `--nix`, else `CLAN_NIX`, else `nix` on PATH; `None` when there is none.
    pub(crate) fn find(nix: Option<&Path>, plugin: Option<&Path>) -> Option<Self> {
        let nix = nix
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("CLAN_NIX").map(PathBuf::from))
            .or_else(|| {
                std::env::split_paths(&std::env::var_os("PATH")?)
                    .map(|d| d.join("nix"))
                    .find(|p| p.is_file())
            })?;
        let plugin = plugin
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("CLAN_PLUGIN").map(PathBuf::from));
        Some(Evaluator { nix, plugin })
    }

    fn command(&self, source: &Source, apply: &str) -> Command {
        let mut cmd = Command::new(&self.nix);
        cmd.args(["--extra-experimental-features", "nix-command flakes"]);
        if let Some(p) = &self.plugin {
            // Before the subcommand, where Nix reads plugin options.
            cmd.arg("--option").arg("plugin-files").arg(p);
        }
        cmd.args(["eval", "--json", "--apply", apply]);
        match source {
            Source::Flake(r) => {
                let installable = match r.split_once('#') {
                    Some((r, attr)) if !attr.is_empty() => format!("{r}#{attr}.clanInternals"),
                    Some((r, _)) => format!("{r}#clanInternals"),
                    None => format!("{r}#clanInternals"),
                };
                cmd.arg(installable);
            }
            // Without a flake the clan reads its own files by path: impure, as `nix-build` is.
            Source::File(f) => {
                cmd.arg("--impure")
                    .arg("--file")
                    .arg(f)
                    .arg("clanInternals");
            }
            Source::Expr(e) => {
                cmd.arg("--impure")
                    .arg("--expr")
                    .arg(e)
                    .arg("clanInternals");
            }
        }
        cmd
    }
}

/// The whole clan as the commands see it.
pub(crate) struct Clan {
    pub(crate) source: Source,
    /// `{ inventory, modules, directory }`: the argument buildClan gives the resolver.
    pub(crate) args: Value,
    /// The marks of `args` (see `clan.nix`): what JSON cannot hold, out of band.
    pub(crate) marks: Value,
    /// Why the clan service modules are not known although the inventory has instances (then
    /// `args` has no `serviceModules`).
    pub(crate) service_modules_missing: Option<String>,
    /// What of `serviceModules` was read (see `clan.nix`): the inputs instances resolve to, and
    /// `<input>/<name>` of the modules they use; the others are empty.
    pub(crate) service_modules_read: (Vec<String>, Vec<String>),
    /// The local inventory.json (edits write it), if the clan has one.
    pub(crate) inventory_file: Option<PathBuf>,
    /// The directory buildClan was given, as Nix sees it (a store path for a flake).
    pub(crate) directory: String,
    /// Where it is here, when known (see [`Source::local_dir`]).
    pub(crate) local_dir: Option<PathBuf>,
    /// What the Nix side defines; `None` with a library that does not say.
    pub(crate) nix: Option<NixSide>,
    pub(crate) seconds: f64,
    /// To ask Nix again, for the message of a value that throws.
    evaluator: Evaluator,
}

/// What buildClan got besides inventory.json.
pub(crate) struct NixSide {
    /// The `inventory` argument (with `meta`), as data.
    pub(crate) inventory: Value,
    /// Its marks.
    marks: Value,
    /// The same shape as `inventory`, each attribute `{ at = "FILE:LINE:COL" or null; inner; }`.
    positions: Value,
    pub(crate) machine_dirs: Vec<String>,
    pub(crate) machine_arguments: Vec<String>,
    /// The modules of `modules/<m>/`.
    module_dirs: Vec<String>,
    /// The clan.service modules of `modules/<m>/default.nix`.
    service_module_dirs: Vec<String>,
    /// The `modules` argument: each name to `{ at = "FILE:LINE:COL" or null; dir = PATH or null; }`.
    module_arguments: Map<String, Value>,
}

impl Clan {
    /// Evaluates the clan of `source` with `evaluator`.
    ///
    /// # Errors
    /// Nix fails (its error is passed on) or prints something that is not the expected data.
    pub(crate) fn evaluate(source: Source, evaluator: &Evaluator) -> Result<Self, Failure> {
        let start = Instant::now();
        let out = evaluator.command(&source, VIEW).output().map_err(|e| {
            Failure::invalid(format!("failed to run `{}`: {e}", evaluator.nix.display()))
        })?;
        let seconds = start.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(Failure::invalid(format!(
                "failed to evaluate the clan of {} with `{}` (to read inventory.json alone: --file inventory.json):\n{}",
                source.describe(),
                evaluator.nix.display(),
                String::from_utf8_lossy(&out.stderr).trim_end()
            )));
        }
        let mut data: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| Failure::invalid(format!("nix printed no JSON: {e}")))?;
        let directory = data["directory"].as_str().unwrap_or(".").to_owned();
        let local_dir = source.local_dir();
        let inventory_file = data["inventoryFile"]
            .as_str()
            .map(|f| local_path(f, &directory, local_dir.as_deref()));
        let nix = match data["nix"].take() {
            Value::Object(mut n) => Some(NixSide {
                inventory: n.remove("inventory").unwrap_or(Value::Null),
                marks: n.remove("marks").unwrap_or(Value::Null),
                positions: n.remove("positions").unwrap_or(Value::Null),
                machine_dirs: strings(n.get("machineDirs")),
                machine_arguments: strings(n.get("machineArguments")),
                module_dirs: strings(n.get("moduleDirs")),
                service_module_dirs: strings(n.get("serviceModuleDirs")),
                module_arguments: match n.remove("moduleArguments") {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                },
            }),
            _ => None,
        };
        let mut args = serde_json::json!({
            "directory": directory,
            "inventory": data["inventory"].take(),
            "modules": data["modules"].take(),
        });
        // As buildClan: only with instances, so that an inventory without them is resolved
        // from the same argument as before.
        if !data["serviceModules"].is_null() {
            args["serviceModules"] = data["serviceModules"].take();
        }
        let service_modules_missing = data["serviceModulesMissing"].as_str().map(str::to_owned);
        let read = &data["serviceModulesRead"];
        let service_modules_read = (strings(read.get("inputs")), strings(read.get("modules")));
        let mut clan = Clan {
            source,
            args,
            marks: data["marks"].take(),
            service_modules_missing,
            service_modules_read,
            evaluator: evaluator.clone(),
            inventory_file,
            directory,
            local_dir,
            nix,
            seconds,
        };
        clan.place_role_files();
        Ok(clan)
    }

    /// Role files as places here (`explain` shows them): a flake's are in the store.
    fn place_role_files(&mut self) {
        let mut modules = self.args["modules"].take();
        if let Some(ms) = modules.as_object_mut() {
            for m in ms.values_mut() {
                if let Some(roles) = m.get_mut("roles").and_then(Value::as_object_mut) {
                    for r in roles.values_mut() {
                        if let Some(path) = r.as_str() {
                            *r = Value::String(self.place(path));
                        }
                    }
                }
            }
        }
        self.args["modules"] = modules;
    }

    /// Nix's message for the value at `path` of the core's argument, which throws (tryEval, in
    /// clan.nix, keeps no message): one more evaluation, of that value alone. `None` when Nix
    /// gives none.
    pub(crate) fn throw_message(
        &self,
        path: &clan_inventory::inventory::AttrPath,
    ) -> Option<String> {
        use clan_inventory::inventory::Step;
        // Where the core's argument has it in clanInternals (clan.nix's `serviceModules` keeps the
        // attribute names of the modules' config).
        let start = match path.root {
            "inventory" => "ci.inventory",
            "serviceModules" => "ci.clanServices.serviceModules",
            "modules" => "ci.modules",
            "directory" => "ci.directory",
            _ => return None,
        };
        let steps: Vec<Value> = path
            .steps
            .iter()
            .map(|s| match s {
                Step::Attr(a) => Value::String(a.clone()),
                Step::Index(i) => Value::from(*i),
            })
            .collect();
        // The steps as a Nix string of JSON: `\`, `"` and `$` escaped.
        let json = Value::Array(steps)
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('$', "\\$");
        let apply = format!(
            "ci: builtins.seq (builtins.foldl' (v: s: if builtins.isInt s then builtins.elemAt v s else builtins.getAttr s v) {start} (builtins.fromJSON \"{json}\")) null"
        );
        let out = self.evaluator.command(&self.source, &apply).output().ok()?;
        if out.status.success() {
            return None;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = nix_error_line(&stderr);
        (!line.is_empty()).then(|| line.to_owned())
    }

    /// The line every command prints on stderr in this mode.
    pub(crate) fn banner(&self) -> String {
        let machines = self.args["inventory"]["machines"]
            .as_object()
            .map_or(0, Map::len);
        let mut s = format!(
            "clan-inventory: the whole clan of {} through Nix ({machines} machines, evaluated in {:.2} s)",
            self.source.describe(),
            self.seconds
        );
        if let Source::Expr(_) = self.source {
            // Nix's `unsafeGetAttrPos` is null for attributes of a «string» source.
            s.push_str(
                "\nclan-inventory: note: Nix gives no file positions for what --expr writes: \
                 explain and validate name such values by the buildClan argument that holds them",
            );
        }
        s
    }

    /// A path Nix printed, as a place here: relative to the clan's directory when inside it.
    pub(crate) fn place(&self, nix_path: &str) -> String {
        match nix_path.strip_prefix(&self.directory) {
            Some(rest) if rest.starts_with('/') => {
                let rel = &rest[1..];
                match &self.local_dir {
                    Some(d) if d != Path::new(".") => d.join(rel).display().to_string(),
                    _ => rel.to_owned(),
                }
            }
            _ => nix_path.to_owned(),
        }
    }

    /// The place of a value of the Nix side that Nix gives no position for: the buildClan
    /// argument, and which clan (`--expr`, a file, a flake).
    pub(crate) fn argument_place(&self) -> String {
        format!("{NIX_ARGUMENT} in {}", self.source.describe())
    }

    /// `None` when the Nix side does not define the value at `path` (attribute names below
    /// `inventory`); else where it does, as far as Nix knows.
    fn nix_definition(&self, path: &[&str]) -> Option<NixDefinition<'_>> {
        let nix = self.nix.as_ref()?;
        let mut v = &nix.inventory;
        for p in path {
            v = v.get(*p)?;
        }
        let mut pos = &nix.positions;
        let mut at = None;
        for p in path {
            let Some(entry) = pos.get(*p) else { break };
            if let Some(a) = entry["at"].as_str() {
                at = Some(a);
            }
            pos = &entry["inner"];
        }
        Some(NixDefinition { at })
    }

    /// Where the Nix side defines the value at `path` (attribute names below `inventory`), or
    /// `None` when it does not: `FILE:LINE:COL` when Nix knows, else the buildClan argument.
    pub(crate) fn defined_in_nix(&self, path: &[&str]) -> Option<String> {
        Some(match self.nix_definition(path)?.at {
            Some(a) => format!("the Nix inventory at {}", self.place(a)),
            None => NIX_ARGUMENT.to_owned(),
        })
    }

    /// The file, line and column where the Nix side writes the deepest attribute of `path` it
    /// has a position for, when it defines the whole `path`; `None` otherwise.
    pub(crate) fn nix_position(&self, path: &[&str]) -> Option<(String, usize, usize)> {
        let mut parts = self.nix_definition(path)?.at?.rsplitn(3, ':');
        let col = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((self.place(parts.next()?), line, col))
    }

    /// Where the Nix side puts `item` in the list at `path`, or `None` when it does not.
    pub(crate) fn listed_in_nix(&self, path: &[&str], item: &str) -> Option<String> {
        let nix = self.nix.as_ref()?;
        let mut v = &nix.inventory;
        for p in path {
            v = v.get(*p)?;
        }
        v.as_array()?
            .iter()
            .any(|x| x.as_str() == Some(item))
            .then(|| self.defined_in_nix(path))
            .flatten()
    }

    /// Where machine `name` is defined besides inventory.json, if anywhere (the first of
    /// [`Clan::machine_places`]).
    pub(crate) fn machine_outside_file(&self, name: &str) -> Option<String> {
        self.machine_places(name).into_iter().next()
    }

    /// Every place besides inventory.json that defines machine `name`: the Nix inventory,
    /// `machines/<name>/`, the `machines` argument of buildClan.
    pub(crate) fn machine_places(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .defined_in_nix(&["machines", name])
            .into_iter()
            .collect();
        let Some(nix) = self.nix.as_ref() else {
            return out;
        };
        if nix.machine_dirs.iter().any(|m| m == name) {
            out.push(format!("machines/{name}/"));
        }
        if nix.machine_arguments.iter().any(|m| m == name) {
            out.push(format!(
                "the `machines` argument of buildClan (machines.{name})"
            ));
        }
        out
    }

    /// Where clan service module `name` of flake input `input` comes from: for `self`,
    /// `modules/<name>/default.nix` or the `modules` argument of buildClan (as for
    /// [`Clan::module_place`]); for another input, its `clan.modules`.
    pub(crate) fn service_module_place(&self, input: &str, name: &str) -> String {
        if input != clan_inventory::inventory::SELF {
            return format!("flake input '{input}' (inputs.{input}.clan.modules.{name})");
        }
        let nix = self.nix.as_ref();
        if nix.is_some_and(|n| n.module_arguments.contains_key(name)) {
            return self.module_place(name).unwrap_or_else(|| {
                format!("the `modules` argument of buildClan (modules.{name})")
            });
        }
        if nix.is_some_and(|n| n.service_module_dirs.iter().any(|m| m == name)) {
            return format!("modules/{name}/default.nix");
        }
        format!("the clan's own modules (modules.{name})")
    }

    /// Where a diagnostic about clan service module `name` of `input` goes: the position of
    /// `modules.<name>` when Nix has it, else its file (`modules/<name>/default.nix`, or the
    /// directory given), else `None` (a flake input's module: see [`Clan::service_module_place`]).
    pub(crate) fn service_module_position(
        &self,
        input: &str,
        name: &str,
    ) -> Option<(String, Option<(usize, usize)>)> {
        if input != clan_inventory::inventory::SELF {
            return None;
        }
        let nix = self.nix.as_ref()?;
        if let Some(arg) = nix.module_arguments.get(name) {
            if let Some(at) = arg["at"].as_str() {
                let mut parts = at.rsplitn(3, ':');
                let col = parts.next()?.parse().ok()?;
                let line = parts.next()?.parse().ok()?;
                return Some((self.place(parts.next()?), Some((line, col))));
            }
            return arg["dir"].as_str().map(|d| (self.place(d), None));
        }
        nix.service_module_dirs.iter().any(|m| m == name).then(|| {
            let file = format!("{}/modules/{name}/default.nix", self.directory);
            (self.place(&file), None)
        })
    }

    /// Where clan module `name` comes from: `modules/<name>/`, or the `modules` argument of
    /// buildClan (with its directory and position when Nix has them, and the directory it
    /// replaces); `None` with a library that does not say.
    pub(crate) fn module_place(&self, name: &str) -> Option<String> {
        let nix = self.nix.as_ref()?;
        let in_dir = nix.module_dirs.iter().any(|m| m == name);
        let Some(arg) = nix.module_arguments.get(name) else {
            return in_dir.then(|| format!("modules/{name}/"));
        };
        let mut s = format!("the `modules` argument of buildClan (modules.{name}");
        if let Some(d) = arg["dir"].as_str() {
            let _ = write!(s, " = {}", self.place(d));
        }
        if let Some(a) = arg["at"].as_str() {
            let _ = write!(s, " at {}", self.place(a));
        }
        s.push(')');
        if in_dir {
            let _ = write!(s, ", which replaces modules/{name}/");
        }
        Some(s)
    }

    /// Where the constraints of clan module `name`, given in the `modules` argument, are
    /// written: its directory's README.md, or, for a module given as `{ roles; constraints; }`,
    /// the position of `modules.<name>` (file, line and column, when Nix has it). `None` for a
    /// module of `modules/<name>/`, and with a library that does not say.
    pub(crate) fn module_constraints_at(
        &self,
        name: &str,
    ) -> Option<(String, Option<(usize, usize)>)> {
        let arg = self.nix.as_ref()?.module_arguments.get(name)?;
        if let Some(d) = arg["dir"].as_str() {
            return Some((format!("{}/README.md", self.place(d)), None));
        }
        let at = arg["at"].as_str();
        let parsed = at.and_then(|a| {
            let mut parts = a.rsplitn(3, ':');
            let col = parts.next()?.parse().ok()?;
            let line = parts.next()?.parse().ok()?;
            Some((self.place(parts.next()?), (line, col)))
        });
        Some(match parsed {
            Some((file, pos)) => (file, Some(pos)),
            None => (
                format!("the `modules` argument of buildClan (modules.{name})"),
                None,
            ),
        })
    }

    /// The inventory buildClan would build from `file` (a new inventory.json) and the Nix side,
    /// as nix/build-clan.nix merges them, with its marks; `Err` names the first conflict as
    /// merge.nix words it.
    pub(crate) fn merged_with(&self, file: &Value) -> Result<(Value, Option<Value>), String> {
        let Some(nix) = &self.nix else {
            return Ok((file.clone(), None));
        };
        let marks = merge_marks(
            file,
            &nix.inventory,
            Some(&nix.marks).filter(|m| !m.is_null()),
        );
        let name = self
            .inventory_file
            .as_ref()
            .map_or_else(|| "inventory.json".to_owned(), |f| f.display().to_string());
        let mut merged = merge(&[], file, &nix.inventory).map_err(|c| {
            let steps: Vec<&str> = c.path.iter().map(String::as_str).collect();
            let at = self
                .defined_in_nix(&steps)
                .unwrap_or_else(|| NIX_ARGUMENT.to_owned());
            format!(
                "inventory.{} is set to {} in {name} and to {} in {at}",
                c.path.join("."),
                c.file,
                c.nix
            )
        })?;
        if let Some(root) = merged.as_object_mut() {
            let machines = root
                .entry("machines")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(ms) = machines.as_object_mut() {
                for m in nix.machine_dirs.iter().chain(&nix.machine_arguments) {
                    ms.entry(m.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                }
            }
        }
        Ok((merged, marks))
    }
}

/// nix/merge.nix in Rust: objects merge, lists concatenate without repeating elements of the
/// first, any other value set differently on both sides is a conflict: `Err` gives its path
/// (below `inventory`) and the two values.
fn merge(path: &[&str], file: &Value, nix: &Value) -> Result<Value, Conflict> {
    Ok(match (file, nix) {
        (Value::Object(ours), Value::Object(theirs)) => {
            let mut out = ours.clone();
            for (k, v) in theirs {
                let merged = match ours.get(k) {
                    Some(own) => {
                        let mut p = path.to_vec();
                        p.push(k);
                        merge(&p, own, v)?
                    }
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(ours), Value::Array(theirs)) => {
            let mut out = ours.clone();
            out.extend(theirs.iter().filter(|v| !ours.contains(v)).cloned());
            Value::Array(out)
        }
        _ if file == nix => file.clone(),
        _ => {
            return Err(Conflict {
                path: path.iter().map(|s| (*s).to_owned()).collect(),
                file: file.to_string(),
                nix: nix.to_string(),
            })
        }
    })
}

/// The marks of `merge(file, nix)`, from the marks `m` of `nix` (inventory.json has none): the
/// same walk, list elements of the Nix side moved behind those of the file.
fn merge_marks(file: &Value, nix: &Value, m: Option<&Value>) -> Option<Value> {
    let m = m?;
    if m.get("k").is_some() {
        return Some(m.clone());
    }
    match (file, nix) {
        (Value::Object(ours), Value::Object(theirs)) => {
            let c = m.get("c")?.as_object()?;
            let mut out = Map::new();
            for (k, child) in c {
                let merged = match (ours.get(k), theirs.get(k)) {
                    (Some(own), Some(v)) => merge_marks(own, v, Some(child)),
                    _ => Some(child.clone()),
                };
                if let Some(merged) = merged {
                    out.insert(k.clone(), merged);
                }
            }
            (!out.is_empty()).then(|| serde_json::json!({ "c": out }))
        }
        (Value::Array(ours), Value::Array(theirs)) => {
            let l = m.get("l")?.as_array()?;
            let mut out = vec![Value::Null; ours.len()];
            for (v, mark) in theirs.iter().zip(l) {
                if !ours.contains(v) {
                    out.push(mark.clone());
                }
            }
            out.iter()
                .any(|x| !x.is_null())
                .then(|| serde_json::json!({ "l": out }))
        }
        _ => Some(m.clone()),
    }
}

/// A value inventory.json and the Nix inventory set differently.
struct Conflict {
    path: Vec<String>,
    file: String,
    nix: String,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `nix_path` (under `directory`, as Nix saw it) as the same file under `local`, relative to
/// the current directory when it is below it.
fn local_path(nix_path: &str, directory: &str, local: Option<&Path>) -> PathBuf {
    let path = local_path_as_given(nix_path, directory, local);
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
}

fn local_path_as_given(nix_path: &str, directory: &str, local: Option<&Path>) -> PathBuf {
    match (nix_path.strip_prefix(directory), local) {
        (Some(rest), Some(local)) if rest.starts_with('/') && local == Path::new(".") => {
            PathBuf::from(&rest[1..])
        }
        (Some(rest), Some(local)) if rest.starts_with('/') => local.join(&rest[1..]),
        _ => PathBuf::from(nix_path),
    }
}

/// The clans of `dir` when it has one, in the order to try them: its flake when `flake.nix` names
/// `buildClan`, then its `default.nix` and `clan.nix` (read with `--file`) when they name it. (The
/// text, not an evaluation: deciding must cost nothing, and a file that does not name it cannot
/// call it, short of an indirection no convention of clan uses.)
pub(crate) fn detect(dir: &Path) -> Vec<Source> {
    let names = |file: &str| {
        std::fs::read_to_string(dir.join(file)).is_ok_and(|text| text.contains("buildClan"))
    };
    let mut out = Vec::new();
    if names("flake.nix") {
        out.push(Source::Flake(".".to_owned()));
    }
    for file in ["default.nix", "clan.nix"] {
        if names(file) {
            out.push(Source::File(PathBuf::from(file)));
        }
    }
    out
}

/// The line of a Nix error that says what failed (its last `error:` line, without the word),
/// for a note.
pub(crate) fn nix_error_line(message: &str) -> &str {
    let lines = || message.lines().map(str::trim);
    lines()
        .filter_map(|l| l.strip_prefix("error:").map(str::trim))
        .rfind(|l| !l.is_empty())
        .or_else(|| lines().rfind(|l| !l.is_empty()))
        .unwrap_or("")
}

/// A value the Nix side of a clan defines: `at` is the `FILE:LINE:COL` of the deepest attribute
/// of its path that Nix has a position for (none for a value written in `--expr`).
struct NixDefinition<'a> {
    at: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::merge;
    use serde_json::json;

    #[test]
    fn merge_as_merge_nix() {
        let a = json!({ "machines": { "jon": { "tags": ["a", "b"], "deploy": { "targetHost": "x" } } } });
        let b = json!({ "machines": { "jon": { "tags": ["b", "c"] }, "sara": {} } });
        assert_eq!(
            merge(&[], &a, &b).ok().unwrap(),
            json!({ "machines": { "jon": { "tags": ["a", "b", "c"], "deploy": { "targetHost": "x" } }, "sara": {} } })
        );
        let c = json!({ "machines": { "jon": { "deploy": { "targetHost": "y" } } } });
        let conflict = merge(&[], &a, &c).err().unwrap();
        assert_eq!(conflict.path, ["machines", "jon", "deploy", "targetHost"]);
        assert_eq!(
            (conflict.file.as_str(), conflict.nix.as_str()),
            ("\"x\"", "\"y\"")
        );
    }
}
