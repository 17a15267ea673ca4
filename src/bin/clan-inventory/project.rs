//! An `inventory.json` with its modules directory, or a whole clan read through Nix
//! (`clan.rs`), turned into the argument of the builtin (`{ inventory, modules, directory }`) so
//! that the CLI runs exactly the core the builtin runs.

use std::cell::OnceCell;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::clan::Clan;
use super::locate::{Locator, Refine};
use super::tree::{CliTree, Handle, Unreadable};
use super::Failure;
use clan_inventory::inventory::{load, Errors, Input, CLAN_CORE, SELF};
use clan_inventory::inventory::{AttrPath, Step};

/// An inventory file, read once, and the builtin's argument built from it.
pub(crate) struct Project {
    pub(crate) file: PathBuf,
    pub(crate) modules_dir: PathBuf,
    /// The file's text as read: edits compare against it before writing.
    pub(crate) text: String,
    /// `{ inventory, modules, directory }`.
    pub(crate) args: Value,
    /// The positions in `text`, read the first time a diagnostic is placed.
    locator: OnceCell<Locator>,
    /// For a whole clan: `text` parsed, the first time a fact's source is looked up (Null when
    /// it is not JSON).
    parsed: OnceCell<Value>,
    /// The whole clan, when it was read through Nix: then `args` is its merged inventory and
    /// modules, while `file` and `text` are still its inventory.json (edits write only that).
    pub(crate) clan: Option<Clan>,
    /// For `args` read through Nix (a whole clan, or one being edited), the marks of what JSON
    /// cannot hold (see `clan.nix` and [`CliTree`]); `None` for inventory.json alone.
    marks: Option<Value>,
    /// Why the modules, roles and constraints of `inventory.instances` are not checked, when
    /// they are not: the clan service modules are not known (inventory.json alone).
    pub(crate) unchecked: Option<String>,
    /// A clan service module that fails to evaluate: its path and message (see
    /// [`Project::without_failing_service_modules`]).
    pub(crate) service_modules_failure: Option<(AttrPath, String)>,
}

impl Project {
    /// Line and column of `steps` in the file (see [`Locator::locate`]).
    pub(crate) fn locate(&self, steps: &[Step], refine: Refine<'_>) -> (usize, usize) {
        self.locator
            .get_or_init(|| Locator::new(&self.text))
            .locate(&self.text, steps, refine)
    }

    /// Reads `file` and the modules under `modules` (default: `modules/` beside `file`).
    ///
    /// # Errors
    /// An unreadable file, a file that is not JSON, or a malformed module.
    pub(crate) fn open(file: &Path, modules: Option<&Path>) -> Result<Self, Failure> {
        let text = fs::read_to_string(file)
            .map_err(|e| Failure::invalid(format!("failed to read `{}`: {e}", file.display())))?;
        let modules_dir = modules.map_or_else(
            || file.parent().unwrap_or(Path::new("")).join("modules"),
            Path::to_path_buf,
        );
        let discovered = super::discover::modules(&modules_dir)?;
        Self::from_text(file, modules_dir, text, discovered)
    }

    /// A project over `text`, already read, with modules already discovered.
    ///
    /// # Errors
    /// `text` is not JSON.
    pub(crate) fn from_text(
        file: &Path,
        modules_dir: PathBuf,
        text: String,
        modules: Map<String, Value>,
    ) -> Result<Self, Failure> {
        let inventory: Value = serde_json::from_str(&text).map_err(|e| {
            Failure::report(format!(
                "{}:{}:{}: error: not valid JSON: {}\n",
                file.display(),
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            ))
        })?;
        let directory = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .display()
            .to_string();
        let mut args = serde_json::json!({
            "directory": directory,
            "inventory": inventory,
            "modules": Value::Object(modules),
        });
        // Without Nix no clan service module is known: each instance's module is assumed to
        // have the roles the instance gives it, and no constraints, so that members, settings
        // and the rest are resolved and checked; what needs the modules is not, and says so.
        let unchecked = args["inventory"].get("instances").is_some().then(|| {
            let mut sm = Map::new();
            assume_service_modules(&args["inventory"], &mut sm, None);
            args["serviceModules"] = Value::Object(sm);
            UNCHECKED_FILE.to_owned()
        });
        Ok(Project {
            file: file.to_path_buf(),
            modules_dir,
            text,
            args,
            locator: OnceCell::new(),
            parsed: OnceCell::new(),
            clan: None,
            marks: None,
            unchecked,
            service_modules_failure: None,
        })
    }

    /// The project of a whole clan: its inventory.json (empty when it has none) for placing
    /// diagnostics and for edits, and the clan's merged inventory and modules for the core.
    pub(crate) fn of_clan(clan: Clan) -> Self {
        let dir = clan
            .local_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(&clan.directory));
        let file = clan
            .inventory_file
            .clone()
            .unwrap_or_else(|| dir.join("inventory.json"));
        let text = fs::read_to_string(&file).unwrap_or_else(|_| "{}\n".to_owned());
        let mut args = clan.args.clone();
        if clan.service_modules_missing.is_some() {
            let mut sm = Map::new();
            assume_service_modules(&args["inventory"], &mut sm, None);
            args["serviceModules"] = Value::Object(sm);
        }
        let mut project = Project {
            file,
            modules_dir: dir.join("modules"),
            text,
            args,
            locator: OnceCell::new(),
            parsed: OnceCell::new(),
            marks: Some(clan.marks.clone()),
            unchecked: clan
                .service_modules_missing
                .as_ref()
                .map(|why| format!("{why}, so {UNCHECKED}")),
            service_modules_failure: None,
            clan: Some(clan),
        };
        project.without_failing_service_modules();
        project
    }

    /// When a clan service module that an instance uses fails to evaluate (a clan without
    /// `nixpkgs`, whose lib evaluates them, say), the commands still answer on the rest, as in
    /// inventory.json alone, and say why; `validate` reports the failure as an error.
    fn without_failing_service_modules(&mut self) {
        if self.args.get("serviceModules").is_none() || self.unchecked.is_some() {
            return;
        }
        let failure = {
            let (mut tree, root) = self.tree();
            match clan_inventory::inventory::decode(&mut tree, &root) {
                Err(Errors::Source { path, error }) if path.root == "serviceModules" => {
                    Some((path, error))
                }
                _ => None,
            }
        };
        let Some((path, error)) = failure else { return };
        let message = self.source_error(&path, error);
        let mut sm = Map::new();
        assume_service_modules(&self.args["inventory"], &mut sm, None);
        self.args["serviceModules"] = Value::Object(sm);
        if let Some(c) = self
            .marks
            .as_mut()
            .and_then(|m| m.get_mut("c"))
            .and_then(Value::as_object_mut)
        {
            c.remove("serviceModules");
        }
        self.unchecked = Some(format!(
            "a clan service module fails to evaluate ({message}), so {UNCHECKED}"
        ));
        self.service_modules_failure = Some((path, message));
    }

    /// What the commands read, in messages: `` `inventory.json` ``, or `the whole clan of …`.
    pub(crate) fn subject(&self) -> String {
        match &self.clan {
            Some(c) => format!("the whole clan of {}", c.source.describe()),
            None => format!("`{}`", self.file.display()),
        }
    }

    /// The inventory.json of the project, `None` for a whole clan without one.
    pub(crate) fn subject_file(&self) -> Option<String> {
        match &self.clan {
            Some(c) if c.inventory_file.is_none() => None,
            _ => Some(self.file.display().to_string()),
        }
    }

    /// The same project with `text` as its inventory.json and `inventory` as what the core sees
    /// (for a whole clan: `text` merged with the Nix side, with the marks of that merge), to check
    /// an edit before writing it.
    pub(crate) fn edited(&self, text: String, inventory: Value, marks: Option<Value>) -> Self {
        let mut args = self.args.clone();
        args["inventory"] = inventory;
        // An instance the edit adds may use a module that was not read (not evaluated, since no
        // instance used it): it is assumed as in inventory.json alone.
        if let (Some(clan), Some(Value::Object(sm))) = (&self.clan, args.get_mut("serviceModules"))
        {
            let read = clan
                .service_modules_missing
                .is_none()
                .then_some(&clan.service_modules_read);
            let mut sm = match read {
                Some(_) => std::mem::take(sm),
                None => Map::new(),
            };
            assume_service_modules(&args["inventory"], &mut sm, read);
            args["serviceModules"] = Value::Object(sm);
        }
        let marks = self.marks.clone().map(|mut all| {
            if let Some(c) = all.get_mut("c").and_then(Value::as_object_mut) {
                match marks {
                    Some(m) => c.insert("inventory".to_owned(), m),
                    None => c.remove("inventory"),
                };
            }
            all
        });
        Project {
            file: self.file.clone(),
            modules_dir: self.modules_dir.clone(),
            text,
            args,
            locator: OnceCell::new(),
            parsed: OnceCell::new(),
            clan: None,
            marks,
            unchecked: self.unchecked.clone(),
            service_modules_failure: self.service_modules_failure.clone(),
        }
    }

    /// For a whole clan: where the value at `path` below `inventory` is written (with `item`: where
    /// the list there has that element): `inventory.json:LINE:COL`, a place in a Nix file, or the
    /// buildClan argument, one per side that defines it. Empty for inventory.json alone, whose
    /// every fact is from the file.
    pub(crate) fn sources(&self, path: &[&str], item: Option<&str>) -> Vec<String> {
        let Some(clan) = &self.clan else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut v = self.file_value();
        let mut steps: Vec<Step> = Vec::new();
        let mut found = true;
        for p in path {
            if let Some(next) = v.get(*p) {
                v = next;
                steps.push(Step::Attr((*p).to_owned()));
            } else {
                found = false;
                break;
            }
        }
        if let (true, Some(item)) = (found, item) {
            match v
                .as_array()
                .and_then(|a| a.iter().position(|x| x.as_str() == Some(item)))
            {
                Some(i) => steps.push(Step::Index(i)),
                None => found = false,
            }
        }
        if found {
            let (line, col) = self.locate(&steps, Refine::None);
            out.push(format!("{}:{line}:{col}", self.file.display()));
        }
        let nix = match item {
            Some(item) => clan.listed_in_nix(path, item),
            None => clan.defined_in_nix(path),
        };
        out.extend(nix);
        out
    }

    /// For a whole clan: where entry `index` of the merged list at `path` is written. The merge
    /// puts the file's own entries first, so an index below the length of the file's list is
    /// `inventory.json:LINE:COL`, any other the Nix side. Empty for inventory.json alone.
    pub(crate) fn entry_sources(&self, path: &[&str], index: usize) -> Vec<String> {
        let Some(clan) = &self.clan else {
            return Vec::new();
        };
        let mut v = Some(self.file_value());
        for p in path {
            v = v.and_then(|x| x.get(*p));
        }
        if v.and_then(Value::as_array).is_some_and(|a| index < a.len()) {
            let mut steps: Vec<Step> = path.iter().map(|p| Step::Attr((*p).to_owned())).collect();
            steps.push(Step::Index(index));
            let (line, col) = self.locate(&steps, Refine::None);
            return vec![format!("{}:{line}:{col}", self.file.display())];
        }
        clan.defined_in_nix(path).into_iter().collect()
    }

    /// The value inventory.json itself has at `steps`, if any (for a whole clan, whose merged
    /// inventory may have it from the Nix side only).
    fn file_at(&self, steps: &[Step]) -> Option<&Value> {
        steps
            .iter()
            .try_fold(self.file_value(), |v, step| match step {
                Step::Attr(a) => v.get(a.as_str()),
                Step::Index(i) => v.get(*i),
            })
    }

    /// Whether inventory.json itself has the value at `steps`.
    pub(crate) fn file_has(&self, steps: &[Step]) -> bool {
        self.file_at(steps).is_some()
    }

    /// Whether inventory.json itself has `item` in the list at `steps`.
    pub(crate) fn file_lists(&self, steps: &[Step], item: &str) -> bool {
        self.file_at(steps)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(item)))
    }

    /// The inventory.json alone, parsed once (Null when it is not JSON).
    fn file_value(&self) -> &Value {
        if self.clan.is_none() {
            return self.inventory();
        }
        self.parsed
            .get_or_init(|| serde_json::from_str(&self.text).unwrap_or(Value::Null))
    }

    /// The inventory.json alone, parsed (for a whole clan, `inventory()` is the merged one).
    ///
    /// # Errors
    /// The file is not JSON.
    pub(crate) fn file_inventory(&self) -> Result<Value, Failure> {
        if self.clan.is_none() {
            return Ok(self.inventory().clone());
        }
        serde_json::from_str(&self.text).map_err(|e| {
            Failure::invalid(format!("`{}` is not valid JSON: {e}", self.file.display()))
        })
    }

    /// The modules of the argument (to rebuild a project after an edit).
    pub(crate) fn modules(&self) -> Map<String, Value> {
        self.args["modules"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    /// The parsed file.
    pub(crate) fn inventory(&self) -> &Value {
        &self.args["inventory"]
    }

    /// The tree to decode `args` with, and the handle of `args` in it.
    pub(crate) fn tree(&self) -> (CliTree<'_>, Handle<'_>) {
        (CliTree::new(), Handle::new(&self.args, self.marks.as_ref()))
    }

    /// Decodes and validates, as the builtin does, but keeping every error.
    ///
    /// # Errors
    /// Every problem of the input (its message), in walk order.
    pub(crate) fn load(&self) -> Result<Input<Handle<'_>>, Vec<String>> {
        let (mut tree, root) = self.tree();
        match load(&mut tree, &root) {
            Ok(input) => Ok(input),
            Err(Errors::Invalid(errors)) => Err(errors.iter().map(ToString::to_string).collect()),
            Err(Errors::Source { path, error }) => Err(vec![self.source_error(&path, error)]),
        }
    }

    /// The message of a value of the whole clan the core cannot read, with Nix's own message
    /// for one that throws.
    pub(crate) fn source_error(&self, path: &AttrPath, error: Unreadable) -> String {
        let why = match (error, &self.clan) {
            (Unreadable::Throws, Some(clan)) => clan.throw_message(path),
            _ => None,
        };
        match why {
            Some(why) => format!("{path}: evaluating it fails: {why}"),
            None => format!("{path}: {error}"),
        }
    }
}

/// What is not checked without the clan service modules.
const UNCHECKED: &str = "the modules, roles and constraints of inventory.instances are not checked";

/// The note of inventory.json alone, when it has instances.
const UNCHECKED_FILE: &str = "inventory.json alone knows no clan service module, so the modules, roles and constraints of inventory.instances are not checked (the whole clan, read with --flake, --file CLAN.nix or --expr, checks them)";

/// Fills `service_modules` (the argument of the core) for the instances of `inventory`: the
/// module each resolves to gets the roles the instance gives it. With `read` (a whole clan: the
/// inputs and `<input>/<name>` modules that were read), only modules that were not read, of
/// inputs that exist; without it (inventory.json alone, nothing known), every one, the inputs
/// being those that instances name (so `clan-core` is the default when one names it).
fn assume_service_modules(
    inventory: &Value,
    service_modules: &mut Map<String, Value>,
    read: Option<&(Vec<String>, Vec<String>)>,
) {
    let Some(instances) = inventory.get("instances").and_then(Value::as_object) else {
        return;
    };
    let given = |i: &Value, key: &str| {
        i.get("module")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let has_clan_core = match read {
        Some(_) => service_modules.contains_key(CLAN_CORE),
        None => instances
            .values()
            .any(|i| given(i, "input").as_deref() == Some(CLAN_CORE)),
    };
    for (name, inst) in instances {
        let input = given(inst, "input")
            .unwrap_or_else(|| if has_clan_core { CLAN_CORE } else { SELF }.to_owned());
        let module = given(inst, "name").unwrap_or_else(|| name.clone());
        if let Some((inputs, modules)) = read {
            if modules.contains(&format!("{input}/{module}")) {
                continue;
            }
            match service_modules.get(&input) {
                // No such input, or one without clan.modules: the core says so.
                None | Some(Value::Null) => continue,
                // An input that was read, without that module: the core says so too.
                Some(v) if inputs.contains(&input) && v.get(&module).is_none() => continue,
                _ => {}
            }
        }
        let Some(Value::Object(of_input)) = Some(
            service_modules
                .entry(input)
                .or_insert_with(|| Value::Object(Map::new())),
        ) else {
            continue;
        };
        let Value::Object(spec) = of_input
            .entry(module)
            .or_insert_with(|| Value::Object(Map::new()))
        else {
            continue;
        };
        let Value::Object(roles) = spec
            .entry("roles")
            .or_insert_with(|| Value::Object(Map::new()))
        else {
            continue;
        };
        if let Some(given_roles) = inst.get("roles").and_then(Value::as_object) {
            for r in given_roles.keys() {
                roles
                    .entry(r.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
            }
        }
    }
}

/// `serde_json` ends its messages with " at line L column C"; the CLI prints those first.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
}
