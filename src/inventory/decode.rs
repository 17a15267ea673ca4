//! Phase 1: reads the argument into the model and checks its structure (types, known attributes,
//! ranges). Walks depth-first, attributes in sorted order, name before value, and keeps going after
//! a problem so that the CLI can show every one; the builtin shows the first.

use super::error::{Error, Errors};
use super::model::{
    Constraint, Input, Instance, InstanceMachine, Machine, MachineClass, Module, Role, Service,
};
use super::path::{AttrPath, Path};
use super::{Kind, Tree};

const ARGS: &[&str] = &["directory", "inventory", "modules"];
const INVENTORY: &[&str] = &["machines", "meta", "services", "tags"];
const MACHINE: &[&str] = &[
    "deploy",
    "description",
    "icon",
    "machineClass",
    "name",
    "tags",
];
const DEPLOY: &[&str] = &["buildHost", "targetHost"];
const MODULE: &[&str] = &["constraints", "roles"];
const CONSTRAINTS: &[&str] = &["roles"];
const CONSTRAINT: &[&str] = &["max", "min"];
const INSTANCE: &[&str] = &[
    "config",
    "enabled",
    "extraModules",
    "machines",
    "meta",
    "roles",
];
const INSTANCE_MACHINE: &[&str] = &["config", "extraModules"];
const ROLE: &[&str] = &["config", "extraModules", "machines", "tags"];

/// Reads `root`, the argument of `clanInventory`, into an [`Input`].
///
/// # Errors
/// [`Errors::Invalid`] with every structural problem, in walk order; [`Errors::Source`] when the
/// tree fails to evaluate a structural value.
pub fn decode<T: Tree>(tree: &mut T, root: &T::Value) -> Result<Input<T::Value>, Errors<T::Error>> {
    let mut d = Decoder {
        tree,
        errors: Vec::new(),
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
}

type Attrs<V> = Vec<(String, V)>;

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
        if kind == want {
            Ok(true)
        } else {
            self.errors.push(Error::WrongType {
                path: path.render(),
                expected,
                found: kind,
            });
            Ok(false)
        }
    }

    /// The attributes of `v`, which must be a set; names that are not UTF-8 are reported and skipped.
    fn attrs(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<Option<Attrs<T::Value>>, Fail<T::Error>> {
        if !self.is(v, Kind::Attrs, "an attribute set", path)? {
            return Ok(None);
        }
        let raw = self.tree.attrs(v).map_err(at(path))?;
        let mut out = Vec::with_capacity(raw.len());
        for (name, value) in raw {
            match name {
                Ok(name) => out.push((name, value)),
                Err(bytes) => self.errors.push(Error::NotUtf8 {
                    path: path.render(),
                    what: "attribute name",
                    lossy: String::from_utf8_lossy(&bytes).into_owned(),
                }),
            }
        }
        Ok(Some(out))
    }

    fn unknown(&mut self, path: &Path<'_>, name: &str, known: &'static [&'static str]) {
        self.errors.push(Error::UnknownAttribute {
            path: path.render(),
            name: name.to_owned(),
            known,
        });
    }

    fn strings(&mut self, v: &T::Value, path: &Path<'_>) -> Result<Vec<String>, Fail<T::Error>> {
        if !self.is(v, Kind::List, "a list of strings", path)? {
            return Ok(Vec::new());
        }
        let elems = self.tree.list(v).map_err(at(path))?;
        let mut out = Vec::with_capacity(elems.len());
        for (i, e) in elems.iter().enumerate() {
            let p = path.index(i);
            if self.is(e, Kind::String, "a string", &p)? {
                match self.tree.string(e).map_err(at(&p))? {
                    Ok(s) => out.push(s),
                    Err(bytes) => self.errors.push(Error::NotUtf8 {
                        path: p.render(),
                        what: "string",
                        lossy: String::from_utf8_lossy(&bytes).into_owned(),
                    }),
                }
            }
        }
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
        match self.tree.kind(&v).map_err(at(path))? {
            Kind::Null => Ok(None),
            Kind::String => Ok(Some(v)),
            found => {
                self.errors.push(Error::WrongType {
                    path: path.render(),
                    expected: "a string or null",
                    found,
                });
                Ok(None)
            }
        }
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
        let path = Path::Root("clanInventory");
        let mut input = Input {
            machines: Vec::new(),
            tags: Vec::new(),
            services: Vec::new(),
            modules: Vec::new(),
            directory: None,
        };
        let Some(attrs) = self.attrs(root, &path)? else {
            return Ok(input);
        };
        for (name, v) in attrs {
            match name.as_str() {
                "directory" => {
                    let p = Path::Root("directory");
                    match self.tree.kind(&v).map_err(at(&p))? {
                        Kind::Null => {}
                        Kind::Path | Kind::String => input.directory = Some(v),
                        found => self.errors.push(Error::WrongType {
                            path: p.render(),
                            expected: "a path or a string",
                            found,
                        }),
                    }
                }
                "inventory" => self.inventory(&v, &mut input)?,
                "modules" => input.modules = self.modules(&v)?,
                _ => self.unknown(&path, &name, ARGS),
            }
        }
        Ok(input)
    }

    fn modules(&mut self, v: &T::Value) -> Result<Vec<Module<T::Value>>, Fail<T::Error>> {
        let path = Path::Root("modules");
        let Some(attrs) = self.attrs(v, &path)? else {
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
            if let Some(fields) = self.attrs(&v, &p)? {
                for (field, v) in fields {
                    let fp = p.attr(&field);
                    match field.as_str() {
                        "roles" => module.roles = self.attrs(&v, &fp)?.unwrap_or_default(),
                        "constraints" => module.constraints = self.constraints(&v, &fp)?,
                        _ => self.unknown(&p, &field, MODULE),
                    }
                }
            }
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
        let Some(fields) = self.attrs(v, path)? else {
            return Ok(out);
        };
        for (field, v) in fields {
            if field != "roles" {
                self.unknown(path, &field, CONSTRAINTS);
                continue;
            }
            let rp = path.attr("roles");
            let Some(roles) = self.attrs(&v, &rp)? else {
                continue;
            };
            for (role, v) in roles {
                let p = rp.attr(&role);
                let mut c = Constraint::default();
                if let Some(bounds) = self.attrs(&v, &p)? {
                    for (bound, v) in bounds {
                        let bp = p.attr(&bound);
                        match bound.as_str() {
                            "min" => c.min = self.count(&v, &bp, false)?.unwrap_or(0),
                            "max" => c.max = self.count(&v, &bp, true)?,
                            _ => self.unknown(&p, &bound, CONSTRAINT),
                        }
                    }
                }
                out.push((role, c));
            }
        }
        Ok(out)
    }

    fn inventory(
        &mut self,
        v: &T::Value,
        input: &mut Input<T::Value>,
    ) -> Result<(), Fail<T::Error>> {
        let path = Path::Root("inventory");
        let Some(fields) = self.attrs(v, &path)? else {
            return Ok(());
        };
        for (field, v) in fields {
            let p = path.attr(&field);
            match field.as_str() {
                "machines" => input.machines = self.machines(&v, &p)?,
                "meta" => {}
                "services" => input.services = self.services(&v, &p)?,
                "tags" => {
                    if let Some(tags) = self.attrs(&v, &p)? {
                        for (tag, v) in tags {
                            let members = self.strings(&v, &p.attr(&tag))?;
                            input.tags.push((tag, members));
                        }
                    }
                }
                _ => self.unknown(&path, &field, INVENTORY),
            }
        }
        Ok(())
    }

    fn machines(
        &mut self,
        v: &T::Value,
        path: &Path<'_>,
    ) -> Result<Vec<Machine<T::Value>>, Fail<T::Error>> {
        let Some(attrs) = self.attrs(v, path)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(attrs.len());
        for (name, v) in attrs {
            let p = path.attr(&name);
            let mut m = Machine {
                name: String::new(),
                tags: Vec::new(),
                class: MachineClass::Nixos,
                target_host: None,
                build_host: None,
            };
            if let Some(fields) = self.attrs(&v, &p)? {
                for (field, v) in fields {
                    let fp = p.attr(&field);
                    match field.as_str() {
                        "tags" => m.tags = self.strings(&v, &fp)?,
                        "deploy" => {
                            let Some(hosts) = self.attrs(&v, &fp)? else {
                                continue;
                            };
                            for (host, v) in hosts {
                                let hp = fp.attr(&host);
                                match host.as_str() {
                                    "targetHost" => m.target_host = self.string_or_null(v, &hp)?,
                                    "buildHost" => m.build_host = self.string_or_null(v, &hp)?,
                                    _ => self.unknown(&fp, &host, DEPLOY),
                                }
                            }
                        }
                        "machineClass" => m.class = self.machine_class(&v, &fp)?,
                        "description" | "icon" | "name" => {}
                        _ => self.unknown(&p, &field, MACHINE),
                    }
                }
            }
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
        let Some(attrs) = self.attrs(v, path)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(attrs.len());
        for (name, v) in attrs {
            let p = path.attr(&name);
            let mut instances = Vec::new();
            if let Some(insts) = self.attrs(&v, &p)? {
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
        if let Some(fields) = self.attrs(v, &path)? {
            for (field, v) in fields {
                let p = path.attr(&field);
                match field.as_str() {
                    "config" => inst.config = Some(v),
                    "enabled" => inst.enabled = self.boolean(&v, &p)?.unwrap_or(true),
                    "extraModules" => inst.extra_modules = self.list(&v, &p)?,
                    "machines" => {
                        let Some(machines) = self.attrs(&v, &p)? else {
                            continue;
                        };
                        for (m, v) in machines {
                            let mp = p.attr(&m);
                            let mut im = InstanceMachine {
                                name: String::new(),
                                config: None,
                                extra_modules: Vec::new(),
                            };
                            if let Some(fields) = self.attrs(&v, &mp)? {
                                for (field, v) in fields {
                                    match field.as_str() {
                                        "config" => im.config = Some(v),
                                        "extraModules" => {
                                            im.extra_modules = self.list(&v, &mp.attr(&field))?;
                                        }
                                        _ => self.unknown(&mp, &field, INSTANCE_MACHINE),
                                    }
                                }
                            }
                            im.name = m;
                            inst.machines.push(im);
                        }
                    }
                    "meta" => {}
                    "roles" => {
                        let Some(roles) = self.attrs(&v, &p)? else {
                            continue;
                        };
                        for (r, v) in roles {
                            inst.roles.push(self.role(r, &v, &p)?);
                        }
                    }
                    _ => self.unknown(&path, &field, INSTANCE),
                }
            }
        }
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
        if let Some(fields) = self.attrs(v, &path)? {
            for (field, v) in fields {
                let p = path.attr(&field);
                match field.as_str() {
                    "config" => role.config = Some(v),
                    "extraModules" => role.extra_modules = self.list(&v, &p)?,
                    "machines" => role.machines = self.strings(&v, &p)?,
                    "tags" => role.tags = self.strings(&v, &p)?,
                    _ => self.unknown(&path, &field, ROLE),
                }
            }
        }
        role.name = name;
        Ok(role)
    }
}
