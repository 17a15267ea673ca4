//! The shape of the argument of `clanInventory`, as one table of fields per record. The decoder
//! takes its known attribute names (and so its unknown-attribute errors) from here, and the CLI's
//! `schema` command turns the `inventory` part into a JSON Schema. `nix/inventory/validate.nix` is
//! the same table in Nix (its `record { ... }` sets); docs/semantics.md, phase 1, is its prose.

/// What a field holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    /// Never looked at (configs, modules, `meta`): anything.
    Any,
    /// A Boolean.
    Bool,
    /// A string.
    String,
    /// A list of strings.
    Strings,
    /// A list whose elements are never looked at (`extraModules`).
    List,
    /// A string or null.
    StringOrNull,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A non-negative integer.
    Count,
    /// A non-negative integer or null.
    CountOrNull,
    /// An integer or null (the bounds of a clan service module's constraints).
    IntOrNull,
    /// Null, or a value of this shape.
    NullOr(&'static Shape),
    /// A list of strings, or an attribute set of values of this shape by name (a role's `tags`).
    StringsOrAttrsOf(&'static Shape),
    /// A path or a string (or null): `directory`, which `inventory.json` has not.
    PathOrString,
    /// An attribute set of anything (a module's `roles`).
    AttrsOfAny,
    /// An attribute set of values of one shape, by name.
    AttrsOf(&'static Shape),
    /// An attribute set with only the fields of a record.
    Record(&'static Record),
}

/// One attribute of a record.
#[derive(Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    /// What it means, for the JSON Schema.
    pub doc: &'static str,
}

/// An attribute set with known attributes, sorted by name (the order of the error messages).
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    pub doc: &'static str,
    pub fields: &'static [Field],
    /// Whether other attributes are allowed (and ignored): a clan service module and its
    /// `manifest` are a module's config, with more than the core reads.
    pub open: bool,
}

impl Record {
    /// The known attribute names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields.iter().map(|f| f.name)
    }

    /// The field called `name` (bytes, so that the decoder need not check a known name for
    /// UTF-8), if the record has one.
    #[must_use]
    pub fn field(&self, name: &[u8]) -> Option<&Field> {
        self.fields.iter().find(|f| f.name.as_bytes() == name)
    }
}

const fn field(name: &'static str, shape: Shape, doc: &'static str) -> Field {
    Field { name, shape, doc }
}

const PASSED_THROUGH: &str = "Passed through unchanged.";

/// The argument of `clanInventory`.
pub static ARGS: Record = Record {
    doc: "The argument of builtins.clanInventory.",
    fields: &[
        field(
            "directory",
            Shape::PathOrString,
            "What string extraModules entries are relative to.",
        ),
        field("inventory", Shape::Record(&INVENTORY), INVENTORY.doc),
        field(
            "modules",
            Shape::AttrsOf(&Shape::Record(&MODULE)),
            "The modules of the services, by service name.",
        ),
        field(
            "serviceModules",
            Shape::AttrsOf(&Shape::NullOr(&Shape::AttrsOf(&Shape::Record(
                &SERVICE_MODULE,
            )))),
            "Clan service modules by flake input (`self` for the clan's own), then by name; null for an input without `clan.modules`.",
        ),
    ],
    open: false,
};

/// `inventory`: what `inventory.json` holds.
pub static INVENTORY: Record = Record {
    doc: "The inventory of a clan: its machines, global tags and service instances.",
    fields: &[
        field(
            "instances",
            Shape::AttrsOf(&Shape::Record(&CLAN_INSTANCE)),
            "Instances of clan service modules, by instance name.",
        ),
        field(
            "machines",
            Shape::AttrsOf(&Shape::Record(&MACHINE)),
            "The machines of the clan, by name.",
        ),
        field(
            "meta",
            Shape::Any,
            "Passed through unchanged (name, description, icon of the clan).",
        ),
        field(
            "services",
            Shape::AttrsOf(&Shape::AttrsOf(&Shape::Record(&INSTANCE))),
            "Service instances: `services.<module>.<instance>`.",
        ),
        field(
            "tags",
            Shape::AttrsOf(&Shape::Strings),
            "Global tags: each tag names the machines that carry it.",
        ),
    ],
    open: false,
};

/// `inventory.machines.<m>`.
pub static MACHINE: Record = Record {
    doc: "A machine of the clan.",
    fields: &[
        field(
            "deploy",
            Shape::Record(&DEPLOY),
            "Where the machine is deployed and built.",
        ),
        field("description", Shape::Any, PASSED_THROUGH),
        field("icon", Shape::Any, PASSED_THROUGH),
        field(
            "machineClass",
            Shape::OneOf(&["nixos", "darwin"]),
            "`nixos` (the default) or `darwin`; also a computed tag.",
        ),
        field("name", Shape::Any, PASSED_THROUGH),
        field(
            "tags",
            Shape::Strings,
            "Tags of the machine; roles select machines by tag.",
        ),
    ],
    open: false,
};

/// `inventory.machines.<m>.deploy`.
pub static DEPLOY: Record = Record {
    doc: "Where the machine is deployed and built.",
    fields: &[
        field(
            "buildHost",
            Shape::StringOrNull,
            "Becomes `clan.core.networking.buildHost`.",
        ),
        field(
            "targetHost",
            Shape::StringOrNull,
            "Becomes `clan.core.networking.targetHost`, e.g. `root@jon`.",
        ),
    ],
    open: false,
};

/// `inventory.services.<svc>.<inst>`.
pub static INSTANCE: Record = Record {
    doc: "One instance of a service: which machines have which roles, and their configuration.",
    fields: &[
        field(
            "config",
            Shape::Any,
            "Instance-wide `clan.<service>` configuration, merged first.",
        ),
        field(
            "enabled",
            Shape::Bool,
            "A disabled instance is validated but gives nothing to any machine.",
        ),
        field(
            "extraModules",
            Shape::List,
            "Modules every member imports; a string is a path relative to the inventory's directory.",
        ),
        field(
            "machines",
            Shape::AttrsOf(&Shape::Record(&INSTANCE_MACHINE)),
            "Per-machine configuration; it does not make the machine a member.",
        ),
        field("meta", Shape::Any, PASSED_THROUGH),
        field(
            "roles",
            Shape::AttrsOf(&Shape::Record(&ROLE)),
            "The roles of the instance, each with its members.",
        ),
    ],
    open: false,
};

/// `inventory.services.<svc>.<inst>.machines.<m>`.
pub static INSTANCE_MACHINE: Record = Record {
    doc: "The configuration of one machine in an instance.",
    fields: &[
        field(
            "config",
            Shape::Any,
            "`clan.<service>` configuration of this machine, merged after the instance's.",
        ),
        field(
            "extraModules",
            Shape::List,
            "Modules this machine imports for the instance.",
        ),
    ],
    open: false,
};

/// `inventory.services.<svc>.<inst>.roles.<r>`.
pub static ROLE: Record = Record {
    doc:
        "A role of an instance: its members are the machines listed, then those carrying the tags.",
    fields: &[
        field(
            "config",
            Shape::Any,
            "`clan.<service>` configuration of the role's members, merged last.",
        ),
        field(
            "extraModules",
            Shape::List,
            "Modules the role's members import.",
        ),
        field("machines", Shape::Strings, "Members by name, in order."),
        field(
            "tags",
            Shape::Strings,
            "Members by tag: every machine carrying the tag, sorted by name.",
        ),
    ],
    open: false,
};

/// `modules.<svc>`.
pub static MODULE: Record = Record {
    doc: "The module of a service: its role modules and the constraints on its roles.",
    fields: &[
        field(
            "constraints",
            Shape::Record(&CONSTRAINTS),
            "Constraints on the number of members of roles.",
        ),
        field(
            "roles",
            Shape::AttrsOfAny,
            "The role modules, by role name.",
        ),
    ],
    open: false,
};

/// `modules.<svc>.constraints`.
pub static CONSTRAINTS: Record = Record {
    doc: "Constraints on the number of members of roles.",
    fields: &[field(
        "roles",
        Shape::AttrsOf(&Shape::Record(&CONSTRAINT)),
        "By role name.",
    )],
    open: false,
};

/// `modules.<svc>.constraints.roles.<r>`.
pub static CONSTRAINT: Record = Record {
    doc: "How many members a role may have.",
    fields: &[
        field(
            "max",
            Shape::CountOrNull,
            "At most this many (null: no limit).",
        ),
        field("min", Shape::Count, "At least this many (default 0)."),
    ],
    open: false,
};

/// `inventory.instances.<i>`.
pub static CLAN_INSTANCE: Record = Record {
    doc: "An instance of a clan service module: which machines have which roles, with their settings.",
    fields: &[
        field(
            "module",
            Shape::Record(&MODULE_REF),
            "Which clan service module the instance uses.",
        ),
        field(
            "roles",
            Shape::AttrsOf(&Shape::Record(&CLAN_ROLE)),
            "The roles of the instance, each with its members and settings.",
        ),
    ],
    open: false,
};

/// `inventory.instances.<i>.module`.
pub static MODULE_REF: Record = Record {
    doc: "Which clan service module an instance uses.",
    fields: &[
        field(
            "input",
            Shape::StringOrNull,
            "The flake input publishing it as `clan.modules.<name>`, `self` for the clan's own; null: `clan-core` if it is an input, else `self`.",
        ),
        field(
            "name",
            Shape::String,
            "The module's name (default: the instance's name).",
        ),
    ],
    open: false,
};

/// `inventory.instances.<i>.roles.<r>`.
pub static CLAN_ROLE: Record = Record {
    doc: "A role of a clan service instance: its members are the machines listed, then those carrying the tags.",
    fields: &[
        field(
            "extraModules",
            Shape::List,
            "Modules the role's members import; a string is a path relative to the inventory's directory.",
        ),
        field(
            "machines",
            Shape::AttrsOf(&Shape::Record(&ROLE_MACHINE)),
            "Members by name, each with its own settings.",
        ),
        field(
            "settings",
            Shape::Any,
            "Settings of every member (a module of the role's interface).",
        ),
        field(
            "tags",
            Shape::StringsOrAttrsOf(&Shape::Record(&ROLE_TAG)),
            "Members by tag: a list of tags, or tags with settings for the machines carrying them.",
        ),
    ],
    open: false,
};

/// `inventory.instances.<i>.roles.<r>.machines.<m>`.
pub static ROLE_MACHINE: Record = Record {
    doc: "A member of a role, by name.",
    fields: &[field(
        "settings",
        Shape::Any,
        "Settings of this member (a module of the role's interface).",
    )],
    open: false,
};

/// `inventory.instances.<i>.roles.<r>.tags.<t>`.
pub static ROLE_TAG: Record = Record {
    doc: "A tag of a role: every machine carrying it is a member.",
    fields: &[field(
        "settings",
        Shape::Any,
        "Settings of the machines carrying the tag (a module of the role's interface).",
    )],
    open: false,
};

/// `serviceModules.<input>.<name>`: what the core reads of a clan service module's config.
pub static SERVICE_MODULE: Record = Record {
    doc: "A clan service module's evaluated config; only its role names and constraints are read.",
    fields: &[
        field(
            "manifest",
            Shape::Record(&MANIFEST),
            "The module's manifest.",
        ),
        field("roles", Shape::AttrsOfAny, "The roles, by name."),
    ],
    open: true,
};

/// `serviceModules.<input>.<name>.manifest`.
pub static MANIFEST: Record = Record {
    doc: "The manifest of a clan service module.",
    fields: &[field(
        "constraints",
        Shape::Record(&MANIFEST_CONSTRAINTS),
        "Constraints on instances and role members.",
    )],
    open: true,
};

/// `serviceModules.<input>.<name>.manifest.constraints`.
pub static MANIFEST_CONSTRAINTS: Record = Record {
    doc: "Constraints on the instances of a clan service and the members of their roles.",
    fields: &[
        field(
            "maxInstances",
            Shape::IntOrNull,
            "At most this many instances (null: no limit).",
        ),
        field(
            "roles",
            Shape::AttrsOf(&Shape::Record(&ROLE_BOUNDS)),
            "By role name.",
        ),
    ],
    open: false,
};

/// `serviceModules.<input>.<name>.manifest.constraints.roles.<r>`.
pub static ROLE_BOUNDS: Record = Record {
    doc: "How many members a role of each instance may have.",
    fields: &[
        field(
            "maxMachines",
            Shape::IntOrNull,
            "At most this many (null: no limit).",
        ),
        field(
            "minMachines",
            Shape::IntOrNull,
            "At least this many (null: no minimum).",
        ),
    ],
    open: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Error messages list the names in this order, so every table must be sorted.
    #[test]
    fn fields_are_sorted() {
        for record in [
            &ARGS,
            &INVENTORY,
            &MACHINE,
            &DEPLOY,
            &INSTANCE,
            &INSTANCE_MACHINE,
            &ROLE,
            &MODULE,
            &CONSTRAINTS,
            &CONSTRAINT,
            &CLAN_INSTANCE,
            &MODULE_REF,
            &CLAN_ROLE,
            &ROLE_MACHINE,
            &ROLE_TAG,
            &SERVICE_MODULE,
            &MANIFEST,
            &MANIFEST_CONSTRAINTS,
            &ROLE_BOUNDS,
        ] {
            let names: Vec<_> = record.names().collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(names, sorted, "{}", record.doc);
        }
    }
}
