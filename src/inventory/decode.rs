//! Phase 1: reads the argument into the model and checks its structure (types, known attributes,
//! ranges). Walks depth-first, attributes in sorted order, name before value, and keeps going after
//! a problem so that the CLI can show every one; the builtin shows the first. The known attributes
//! of each record are those of its table in `schema.rs`.

use super::error::{Error, Errors};
use super::model::{
    ClanInstance, ClanRole, Constraint, FlakeInput, Input, InputModules, Instance, InstanceMachine,
    Machine, MachineBounds, MachineClass, Module, ModuleRef, Name, Role, RoleMachine, RoleTag,
    Service, ServiceModule, ServiceSpec, TagForm,
};
use super::path::{AttrPath, Path};
use super::schema::{self, Record};
use super::{FromText, Kind, Tree};

/// Reads `root`, the argument of `clanInventory`, into an [`Input`].
///
/// # Errors
/// [`Errors::Invalid`] with every structural problem, in walk order; [`Errors::Source`] when the
/// tree fails to evaluate a structural value.
pub fn decode<T: Tree>(tree: &mut T, root: &T::Value) -> Result<Input<T::Value>, Errors<T::Error>> {
    let mut d = Decoder {
        tree,
        errors: Vec::new(),
        spare: Vec::new(),
        spare_list: Vec::new(),
    };
    let input = d
        .args(root)
        .map_err(|Fail(path, error)| Errors::Source { path, error })?;
    if d.errors.is_empty() {
        Ok(input)
    } else {
        Err(Errors::Invalid(d.errors))
    }
}

struct Decoder<'t, T: Tree> {
    tree: &'t mut T,
    errors: Vec<Error>,
    /// Emptied attribute vectors, lent again by [`Decoder::attrs_lent`]: the walk holds one per
    /// level of nesting, so a few serve the whole input instead of one allocation per set.
    spare: Vec<Attrs<T::Name, T::Value>>,
    /// The emptied element vector of the last list of strings: those lists hold no lists, so one
    /// serves them all.
    spare_list: Vec<T::Value>,
}

/// Whether `bytes` are UTF-8, with a fast path for the usual ASCII names.
fn is_utf8(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
}

type Attrs<N, V> = Vec<(N, V)>;

/// The attributes of a set, names as `N`; none when the value is no set (the error is recorded).
type SetOf<T, N> = Option<Attrs<N, <T as Tree>::Value>>;

/// The tree failed to evaluate the value at this path.
struct Fail<E>(AttrPath, E);

fn at<'p, E>(path: &'p Path<'_>) -> impl FnOnce(E) -> Fail<E> + 'p {
    move |e| Fail(path.render(), e)
}

impl<T: Tree> Decoder<'_, T> {
    /// Forces `v`; when it is not of kind `want`, records the error and says so.
    fn is(
        &mut self,
        v: &T::Value,
        want: Kind,
        expected: &'static str,
        path: &Path<'_>,
    ) -> Result<bool, Fail<T::Error>> {
        let kind = self.tree.kind(v).map_err(at(path))?;
        Ok(self.expect(kind, want, expected, path))
    }

    /// Whether `kind` is `want`; a type error otherwise.
    fn expect(&mut self, kind: Kind, want: Kind, expected: &'static str, path: &Path<'_>) -> bool {
        if kind != want {
            self.errors.push(Error::WrongType {
                path: path.render(),
                expected,
                found: kind,
            });
        }
        kind == want
    }

    /// Like [`Self::is`], for a value that may also be null: false for null, without an error.
    fn is_or_null(
        &mut self,
        v: &T::Value,
        want: Kind,
        expected: &'static str,
        path: &Path<'_>,
    ) -> Result<bool, Fail<T::Error>> {
        let kind = self.tree.kind(v).map_err(at(path))?;
        Ok(kind != Kind::Null && self.expect(kind, want, expected, path))
    }

    /// The attributes of `v`, which must be a set, with their names owned (for the names the model
    /// keeps); names that are not UTF-8 are reported and skipped.
    fn attrs<S: FromText>(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<SetOf<T, S>, Fail<T::Error>> {
        let Some(mut attrs) = self.attrs_lent(v, path)? else {
            return Ok(None);
        };
        let owned = attrs
            .drain(..)
            .filter_map(|(n, v)| Some((S::from_str(std::str::from_utf8(n.as_ref()).ok()?), v)))
            .collect();
        self.spare.push(attrs);
        Ok(Some(owned))
    }

    /// The attributes of `v`, which must be a set, with their names as the tree lends them (for the
    /// records, whose names are only matched against the schema). Names that are not UTF-8 are
    /// reported here and left out.
    fn attrs_lent(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<SetOf<T, T::Name>, Fail<T::Error>> {
        if !self.is(v, Kind::Attrs, "an attribute set", path)? {
            return Ok(None);
        }
        let mut attrs = self.spare.pop().unwrap_or_default();
        self.tree.attrs(v, &mut attrs).map_err(at(path))?;
        if attrs.iter().all(|(name, _)| is_utf8(name.as_ref())) {
            return Ok(Some(attrs));
        }
        let errors = &mut self.errors;
        attrs.retain(|(name, _)| {
            let bytes = name.as_ref();
            let utf8 = is_utf8(bytes);
            if !utf8 {
                errors.push(Error::NotUtf8 {
                    path: path.render(),
                    what: "attribute name",
                    lossy: String::from_utf8_lossy(bytes).into_owned(),
                });
            }
            utf8
        });
        Ok(Some(attrs))
    }

    fn unknown(&mut self, path: &Path<'_>, name: &str, record: &'static Record) {
        self.errors.push(Error::UnknownAttribute {
            path: path.render(),
            name: name.to_owned(),
            record,
        });
    }

    /// Walks the record `v` (which must be a set) at `path`: each attribute that `record` knows
    /// goes to `field` with its name and value, in sorted order; the others are reported. A
    /// field that `field` does not match is one the core never looks at (`meta`, `description`).
    fn record(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
        record: &'static Record,
        mut field: impl FnMut(&mut Self, &str, T::Value) -> Result<(), Fail<T::Error>>,
    ) -> Result<(), Fail<T::Error>> {
        let Some(mut attrs) = self.attrs_lent(v, path)? else {
            return Ok(());
        };
        for (name, v) in attrs.drain(..) {
            // Matched as bytes, so that a known name is not checked for UTF-8 again (`attrs_lent`
            // left the other names out).
            let bytes = name.as_ref();
            if let Some(known) = record.field(bytes) {
                field(self, known.name, v)?;
            } else if !record.open {
                if let Ok(name) = std::str::from_utf8(bytes) {
                    self.unknown(path, name, record);
                }
            }
        }
        self.spare.push(attrs);
        Ok(())
    }

    /// The text of a string already known to be one; a string that is not UTF-8 is reported.
    fn text(&mut self, v: &T::Value, path: &Path<'_>) -> Result<Option<String>, Fail<T::Error>> {
        match self.tree.string(v).map_err(at(path))? {
            Ok(s) => Ok(Some(s)),
            Err(bytes) => {
                self.errors.push(Error::NotUtf8 {
                    path: path.render(),
                    what: "string",
                    lossy: String::from_utf8_lossy(&bytes).into_owned(),
                });
                Ok(None)
            }
        }
    }

    /// A string (`module.name`).
    fn string(&mut self, v: &T::Value, path: &Path<'_>) -> Result<Option<String>, Fail<T::Error>> {
        if self.is(v, Kind::String, "a string", path)? {
            self.text(v, path)
        } else {
            Ok(None)
        }
    }

    /// A string or null, read (`module.input`).
    fn text_or_null(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<Option<String>, Fail<T::Error>> {
        if self.is_or_null(v, Kind::String, "a string or null", path)? {
            self.text(v, path)
        } else {
            Ok(None)
        }
    }

    /// An integer or null (the bounds of a clan service module's constraints).
    fn int_or_null(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<Option<i64>, Fail<T::Error>> {
        if self.is_or_null(v, Kind::Int, "an integer or null", path)? {
            Ok(Some(self.tree.int(v).map_err(at(path))?))
        } else {
            Ok(None)
        }
    }

    fn strings<S: FromText>(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<Vec<S>, Fail<T::Error>> {
        if !self.is(v, Kind::List, "a list of strings", path)? {
            return Ok(Vec::new());
        }
        let mut elems = std::mem::take(&mut self.spare_list);
        self.tree.list_into(v, &mut elems).map_err(at(path))?;
        let mut out = Vec::with_capacity(elems.len());
        for (i, e) in elems.iter().enumerate() {
            let p = path.index(i);
            if self.is(e, Kind::String, "a string", &p)? {
                match self.tree.string_as(e).map_err(at(&p))? {
                    Ok(s) => out.push(s),
                    Err(bytes) => self.errors.push(Error::NotUtf8 {
                        path: p.render(),
                        what: "string",
                        lossy: String::from_utf8_lossy(&bytes).into_owned(),
                    }),
                }
            }
        }
        elems.clear();
        self.spare_list = elems;
        Ok(out)
    }

    fn list(&mut self, v: &T::Value, path: &Path<'_>) -> Result<Vec<T::Value>, Fail<T::Error>> {
        if self.is(v, Kind::List, "a list", path)? {
            self.tree.list(v).map_err(at(path))
        } else {
            Ok(Vec::new())
        }
    }

    fn boolean(&mut self, v: &T::Value, path: &Path<'_>) -> Result<Option<bool>, Fail<T::Error>> {
        if self.is(v, Kind::Bool, "a Boolean", path)? {
            Ok(Some(self.tree.bool(v).map_err(at(path))?))
        } else {
            Ok(None)
        }
    }

    /// A string or null (`deploy.*`): the handle itself is kept, so the output shares it.
    fn string_or_null(
        &mut self,
        v: T::Value,
        path: &Path<'_>,
    ) -> Result<Option<T::Value>, Fail<T::Error>> {
        let string = self.is_or_null(&v, Kind::String, "a string or null", path)?;
        Ok(string.then_some(v))
    }

    fn count(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
        nullable: bool,
    ) -> Result<Option<i64>, Fail<T::Error>> {
        let expected = if nullable {
            "a non-negative integer or null"
        } else {
            "a non-negative integer"
        };
        match self.tree.kind(v).map_err(at(path))? {
            Kind::Null if nullable => Ok(None),
            Kind::Int => {
                let n = self.tree.int(v).map_err(at(path))?;
                if n < 0 {
                    self.errors.push(Error::BadValue {
                        path: path.render(),
                        expected,
                        found: n.to_string(),
                    });
                    Ok(None)
                } else {
                    Ok(Some(n))
                }
            }
            found => {
                self.errors.push(Error::WrongType {
                    path: path.render(),
                    expected,
                    found,
                });
                Ok(None)
            }
        }
    }

    fn args(&mut self, root: &T::Value) -> Result<Input<T::Value>, Fail<T::Error>> {
        let mut input = Input {
            machines: Vec::new(),
            tags: Vec::new(),
            services: Vec::new(),
            modules: Vec::new(),
            directory: None,
            instances: Vec::new(),
            service_modules: Vec::new(),
        };
        // The argument's own attributes have bare paths (`inventory.…`), its own messages the
        // word `clanInventory`.
        let path = Path::Root("clanInventory");
        self.record(root, &path, &schema::ARGS, |d, name, v| {
            match name {
                "directory" => {
                    let p = Path::Root("directory");
                    match d.tree.kind(&v).map_err(at(&p))? {
                        Kind::Null => {}
                        Kind::Path | Kind::String => input.directory = Some(v),
                        found => d.errors.push(Error::WrongType {
                            path: p.render(),
                            expected: "a path or a string",
                            found,
                        }),
                    }
                }
                "inventory" => d.inventory(&v, &mut input)?,
                "modules" => input.modules = d.modules(&v)?,
                // After `inventory` (fields come sorted): what its instances use is known.
                "serviceModules" => {
                    input.service_modules = d.service_modules(&v, &input.instances)?;
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(input)
    }

    fn modules(&mut self, v: &T::Value) -> Result<Vec<Module<T::Value>>, Fail<T::Error>> {
        let path = Path::Root("modules");
        let Some(attrs) = self.attrs::<String>(v, &path)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(attrs.len());
        for (name, v) in attrs {
            let p = path.attr(&name);
            let mut module = Module {
                name: String::new(),
                roles: Vec::new(),
                constraints: Vec::new(),
            };
            self.record(&v, &p, &schema::MODULE, |d, field, v| {
                let fp = p.attr(field);
                match field {
                    "roles" => module.roles = d.attrs::<String>(&v, &fp)?.unwrap_or_default(),
                    "constraints" => module.constraints = d.constraints(&v, &fp)?,
                    _ => {}
                }
                Ok(())
            })?;
            module.name = name;
            out.push(module);
        }
        Ok(out)
    }

    fn constraints(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<Vec<(String, Constraint)>, Fail<T::Error>> {
        let mut out = Vec::new();
        // `roles`, the only field.
        self.record(v, path, &schema::CONSTRAINTS, |d, field, v| {
            if field != "roles" {
                return Ok(());
            }
            let rp = path.attr("roles");
            let Some(roles) = d.attrs::<String>(&v, &rp)? else {
                return Ok(());
            };
            for (role, v) in roles {
                let p = rp.attr(&role);
                let mut c = Constraint::default();
                d.record(&v, &p, &schema::CONSTRAINT, |d, bound, v| {
                    let bp = p.attr(bound);
                    match bound {
                        "min" => c.min = d.count(&v, &bp, false)?.unwrap_or(0),
                        "max" => c.max = d.count(&v, &bp, true)?,
                        _ => {}
                    }
                    Ok(())
                })?;
                out.push((role, c));
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn inventory(
        &mut self,
        v: &T::Value,
        input: &mut Input<T::Value>,
    ) -> Result<(), Fail<T::Error>> {
        let path = Path::Root("inventory");
        self.record(v, &path, &schema::INVENTORY, |d, field, v| {
            let p = path.attr(field);
            match field {
                "instances" => input.instances = d.clan_instances(&v, &p)?,
                "machines" => input.machines = d.machines(&v, &p)?,
                "services" => input.services = d.services(&v, &p)?,
                "tags" => {
                    if let Some(tags) = d.attrs::<String>(&v, &p)? {
                        for (tag, v) in tags {
                            let members = d.strings(&v, &p.attr(&tag))?;
                            input.tags.push((tag, members));
                        }
                    }
                }
                _ => {} // `meta`, never looked at
            }
            Ok(())
        })
    }

    fn machines(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<Vec<Machine<T::Value>>, Fail<T::Error>> {
        let Some(attrs) = self.attrs::<Name>(v, path)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(attrs.len());
        for (name, v) in attrs {
            let p = path.attr(&name);
            let mut m = Machine {
                name: Name::default(),
                tags: Vec::new(),
                class: MachineClass::Nixos,
                target_host: None,
                build_host: None,
            };
            self.record(&v, &p, &schema::MACHINE, |d, field, v| {
                let fp = p.attr(field);
                match field {
                    "tags" => m.tags = d.strings(&v, &fp)?,
                    "deploy" => d.record(&v, &fp, &schema::DEPLOY, |d, host, v| {
                        let hp = fp.attr(host);
                        match host {
                            "targetHost" => m.target_host = d.string_or_null(v, &hp)?,
                            "buildHost" => m.build_host = d.string_or_null(v, &hp)?,
                            _ => {}
                        }
                        Ok(())
                    })?,
                    "machineClass" => m.class = d.machine_class(&v, &fp)?,
                    _ => {} // `description`, `icon`, `name`: never looked at
                }
                Ok(())
            })?;
            m.name = name;
            out.push(m);
        }
        Ok(out)
    }

    fn machine_class(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<MachineClass, Fail<T::Error>> {
        const EXPECTED: &str = "\"nixos\" or \"darwin\"";
        if !self.is(v, Kind::String, EXPECTED, path)? {
            return Ok(MachineClass::Nixos);
        }
        match self.tree.string(v).map_err(at(path))? {
            Ok(s) if s == "nixos" => Ok(MachineClass::Nixos),
            Ok(s) if s == "darwin" => Ok(MachineClass::Darwin),
            other => {
                let shown = match other {
                    Ok(s) => s,
                    Err(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                };
                self.errors.push(Error::BadValue {
                    path: path.render(),
                    expected: EXPECTED,
                    found: format!("\"{shown}\""),
                });
                Ok(MachineClass::Nixos)
            }
        }
    }

    fn services(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<Vec<Service<T::Value>>, Fail<T::Error>> {
        let Some(attrs) = self.attrs::<String>(v, path)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(attrs.len());
        for (name, v) in attrs {
            let p = path.attr(&name);
            let mut instances = Vec::new();
            if let Some(insts) = self.attrs::<String>(&v, &p)? {
                for (inst, v) in insts {
                    instances.push(self.instance(inst, &v, &p)?);
                }
            }
            out.push(Service { name, instances });
        }
        Ok(out)
    }

    fn instance(
        &mut self,
        name: String,
        v: &T::Value,
        parent: &Path<'_>,
    ) -> Result<Instance<T::Value>, Fail<T::Error>> {
        let path = parent.attr(&name);
        let mut inst = Instance {
            name: String::new(),
            enabled: true,
            config: None,
            extra_modules: Vec::new(),
            machines: Vec::new(),
            roles: Vec::new(),
        };
        self.record(v, &path, &schema::INSTANCE, |d, field, v| {
            let p = path.attr(field);
            match field {
                "config" => inst.config = Some(v),
                "enabled" => inst.enabled = d.boolean(&v, &p)?.unwrap_or(true),
                "extraModules" => inst.extra_modules = d.list(&v, &p)?,
                "machines" => {
                    let Some(machines) = d.attrs::<Name>(&v, &p)? else {
                        return Ok(());
                    };
                    for (m, v) in machines {
                        let mp = p.attr(&m);
                        let mut im = InstanceMachine {
                            name: Name::default(),
                            config: None,
                            extra_modules: Vec::new(),
                        };
                        d.record(&v, &mp, &schema::INSTANCE_MACHINE, |d, field, v| {
                            match field {
                                "config" => im.config = Some(v),
                                "extraModules" => im.extra_modules = d.list(&v, &mp.attr(field))?,
                                _ => {}
                            }
                            Ok(())
                        })?;
                        im.name = m;
                        inst.machines.push(im);
                    }
                }
                "roles" => {
                    let Some(roles) = d.attrs::<String>(&v, &p)? else {
                        return Ok(());
                    };
                    for (r, v) in roles {
                        inst.roles.push(d.role(r, &v, &p)?);
                    }
                }
                _ => {} // `meta`, never looked at
            }
            Ok(())
        })?;
        inst.name = name;
        Ok(inst)
    }

    fn role(
        &mut self,
        name: String,
        v: &T::Value,
        parent: &Path<'_>,
    ) -> Result<Role<T::Value>, Fail<T::Error>> {
        let path = parent.attr(&name);
        let mut role = Role {
            name: String::new(),
            machines: Vec::new(),
            tags: Vec::new(),
            config: None,
            extra_modules: Vec::new(),
        };
        self.record(v, &path, &schema::ROLE, |d, field, v| {
            let p = path.attr(field);
            match field {
                "config" => role.config = Some(v),
                "extraModules" => role.extra_modules = d.list(&v, &p)?,
                "machines" => role.machines = d.strings(&v, &p)?,
                "tags" => role.tags = d.strings(&v, &p)?,
                _ => {}
            }
            Ok(())
        })?;
        role.name = name;
        Ok(role)
    }

    /// `serviceModules`: its names, and only what the instances use (docs/semantics.md, "The
    /// argument"): the inputs they resolve to, and of those the modules they name.
    fn service_modules(
        &mut self,
        v: &T::Value,
        instances: &[ClanInstance<T::Value>],
    ) -> Result<Vec<FlakeInput>, Fail<T::Error>> {
        let path = Path::Root("serviceModules");
        let Some(attrs) = self.attrs::<String>(v, &path)? else {
            return Ok(Vec::new());
        };
        let mut inputs: Vec<FlakeInput> = attrs
            .iter()
            .map(|(name, _)| FlakeInput {
                name: name.clone(),
                modules: InputModules::Unread,
            })
            .collect();
        // (input, module name) of every instance, sorted.
        let mut used: Vec<(&str, &str)> = instances
            .iter()
            .map(|i| (i.module.resolved_input(&inputs), i.module.name.as_str()))
            .collect();
        used.sort_unstable();
        used.dedup();
        let used: Vec<(String, String)> = used
            .into_iter()
            .map(|(i, n)| (i.to_owned(), n.to_owned()))
            .collect();
        for (input, (name, v)) in inputs.iter_mut().zip(&attrs) {
            let first = used.partition_point(|(i, _)| i.as_str() < name.as_str());
            let names: Vec<&str> = used[first..]
                .iter()
                .take_while(|(i, _)| i == name)
                .map(|(_, n)| n.as_str())
                .collect();
            if names.is_empty() {
                continue;
            }
            let p = path.attr(name);
            input.modules = match self.tree.kind(v).map_err(at(&p))? {
                Kind::Null => InputModules::Null,
                Kind::Attrs => {
                    let modules = self.attrs::<String>(v, &p)?.unwrap_or_default();
                    let mut out = Vec::with_capacity(modules.len());
                    for (module, v) in modules {
                        let spec = if names.binary_search(&module.as_str()).is_ok() {
                            Some(self.service_spec(&v, &p.attr(&module))?)
                        } else {
                            None
                        };
                        out.push(ServiceModule { name: module, spec });
                    }
                    InputModules::Modules(out)
                }
                found => {
                    self.errors.push(Error::WrongType {
                        path: p.render(),
                        expected: "an attribute set or null",
                        found,
                    });
                    InputModules::Unread
                }
            };
        }
        Ok(inputs)
    }

    /// `serviceModules.<input>.<name>`: its role names and `manifest.constraints`.
    fn service_spec(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<ServiceSpec, Fail<T::Error>> {
        let mut spec = ServiceSpec::default();
        self.record(v, path, &schema::SERVICE_MODULE, |d, field, v| {
            let fp = path.attr(field);
            match field {
                "roles" => {
                    if let Some(roles) = d.attrs::<String>(&v, &fp)? {
                        spec.roles = roles.into_iter().map(|(r, _)| r).collect();
                    }
                }
                "manifest" => d.record(&v, &fp, &schema::MANIFEST, |d, field, v| {
                    if field != "constraints" {
                        return Ok(());
                    }
                    let cp = fp.attr(field);
                    d.record(&v, &cp, &schema::MANIFEST_CONSTRAINTS, |d, field, v| {
                        let p = cp.attr(field);
                        match field {
                            "maxInstances" => spec.max_instances = d.int_or_null(&v, &p)?,
                            "roles" => {
                                let Some(roles) = d.attrs::<String>(&v, &p)? else {
                                    return Ok(());
                                };
                                for (role, v) in roles {
                                    let rp = p.attr(&role);
                                    let mut b = MachineBounds::default();
                                    d.record(&v, &rp, &schema::ROLE_BOUNDS, |d, bound, v| {
                                        let bp = rp.attr(bound);
                                        match bound {
                                            "minMachines" => b.min = d.int_or_null(&v, &bp)?,
                                            "maxMachines" => b.max = d.int_or_null(&v, &bp)?,
                                            _ => {}
                                        }
                                        Ok(())
                                    })?;
                                    spec.role_constraints.push((role, b));
                                }
                            }
                            _ => {}
                        }
                        Ok(())
                    })
                })?,
                _ => {}
            }
            Ok(())
        })?;
        Ok(spec)
    }

    /// `inventory.instances`.
    fn clan_instances(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<Vec<ClanInstance<T::Value>>, Fail<T::Error>> {
        let Some(attrs) = self.attrs::<String>(v, path)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(attrs.len());
        for (name, v) in attrs {
            let p = path.attr(&name);
            let mut module = ModuleRef {
                name: String::new(),
                input: None,
            };
            let mut named = false;
            let mut roles = Vec::new();
            self.record(&v, &p, &schema::CLAN_INSTANCE, |d, field, v| {
                let fp = p.attr(field);
                match field {
                    "module" => d.record(&v, &fp, &schema::MODULE_REF, |d, field, v| {
                        let mp = fp.attr(field);
                        match field {
                            "input" => module.input = d.text_or_null(&v, &mp)?,
                            "name" => {
                                if let Some(n) = d.string(&v, &mp)? {
                                    module.name = n;
                                    named = true;
                                }
                            }
                            _ => {}
                        }
                        Ok(())
                    })?,
                    "roles" => {
                        if let Some(rs) = d.attrs::<String>(&v, &fp)? {
                            for (r, v) in rs {
                                roles.push(d.clan_role(r, &v, &fp)?);
                            }
                        }
                    }
                    _ => {}
                }
                Ok(())
            })?;
            if !named {
                module.name.clone_from(&name);
            }
            out.push(ClanInstance {
                name,
                module,
                roles,
            });
        }
        Ok(out)
    }

    /// `inventory.instances.<i>.roles.<r>`.
    fn clan_role(
        &mut self,
        name: String,
        v: &T::Value,
        parent: &Path<'_>,
    ) -> Result<ClanRole<T::Value>, Fail<T::Error>> {
        let path = parent.attr(&name);
        let mut role = ClanRole {
            name: String::new(),
            machines: Vec::new(),
            tags: Vec::new(),
            tag_form: TagForm::List,
            settings: None,
            extra_modules: Vec::new(),
        };
        self.record(v, &path, &schema::CLAN_ROLE, |d, field, v| {
            let p = path.attr(field);
            match field {
                "extraModules" => role.extra_modules = d.list(&v, &p)?,
                "machines" => {
                    if let Some(ms) = d.attrs::<String>(&v, &p)? {
                        for (m, v) in ms {
                            let mp = p.attr(&m);
                            let mut settings = None;
                            d.record(&v, &mp, &schema::ROLE_MACHINE, |_, field, v| {
                                if field == "settings" {
                                    settings = Some(v);
                                }
                                Ok(())
                            })?;
                            role.machines.push(RoleMachine { name: m, settings });
                        }
                    }
                }
                "settings" => role.settings = Some(v),
                "tags" => match d.tree.kind(&v).map_err(at(&p))? {
                    Kind::List => {
                        role.tags = d
                            .strings(&v, &p)?
                            .into_iter()
                            .map(|name| RoleTag {
                                name,
                                settings: None,
                            })
                            .collect();
                    }
                    Kind::Attrs => {
                        role.tag_form = TagForm::Attrs;
                        for (t, v) in d.attrs::<String>(&v, &p)?.unwrap_or_default() {
                            let tp = p.attr(&t);
                            let mut settings = None;
                            d.record(&v, &tp, &schema::ROLE_TAG, |_, field, v| {
                                if field == "settings" {
                                    settings = Some(v);
                                }
                                Ok(())
                            })?;
                            role.tags.push(RoleTag { name: t, settings });
                        }
                    }
                    found => d.errors.push(Error::WrongType {
                        path: p.render(),
                        expected: "a list of strings or an attribute set",
                        found,
                    }),
                },
                _ => {}
            }
            Ok(())
        })?;
        role.name = name;
        Ok(role)
    }
}
