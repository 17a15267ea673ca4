//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Resolves a clan inventory (services with roles over a fleet of machines): validates it, shows
/// what each machine gets and why, selects machines, and edits inventory.json safely.
///
/// It reads the whole clan (what buildClan builds: inventory.json merged with the Nix inventory,
/// machines/, the modules) through Nix with --flake, --expr or --file CLAN.nix, and by default in
/// a directory whose flake.nix names buildClan; else inventory.json alone, without Nix.
///
/// Exit codes: 0 ok, 1 invalid input, 2 usage.
#[derive(Parser)]
#[command(name = "clan-inventory", version)]
pub(crate) struct Cli {
    /// The inventory file (JSON form of `inventory`) [default: inventory.json]; a FILE ending in
    /// `.nix` is a clan instead: its value is buildClan's result, read through Nix
    #[arg(short, long, global = true, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// The whole clan of a flake, through Nix: REF#clanInternals, or REF#ATTR.clanInternals for
    /// buildClan's result at ATTR [default: `.` when ./flake.nix names buildClan]
    #[arg(long, global = true, value_name = "REF", conflicts_with_all = ["file", "nix_expr"])]
    pub(crate) flake: Option<String>,
    /// The whole clan of a Nix expression whose value is buildClan's result, through Nix
    #[arg(
        long = "expr",
        global = true,
        value_name = "EXPR",
        conflicts_with = "file"
    )]
    pub(crate) nix_expr: Option<String>,
    /// The `nix` to evaluate a whole clan with [default: `$CLAN_NIX`, else `nix` on PATH]
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) nix: Option<PathBuf>,
    /// A plugin file to give that Nix (`--option plugin-files`) [default: `$CLAN_PLUGIN`, else none]
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) plugin: Option<PathBuf>,
    /// The clan modules: each subdirectory is a module with roles/<role>.nix and an optional
    /// README.md whose TOML front matter has [constraints] [default: modules/ beside FILE]
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) modules: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Class {
    Nixos,
    Darwin,
}

impl Class {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Class::Nixos => "nixos",
            Class::Darwin => "darwin",
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Reports every error (with its place in the file), then warnings and failed constraints
    Validate {
        /// The inventory file [default: inventory.json]
        #[arg(value_name = "FILE")]
        input: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Shows per machine its tags, instances and roles (JSON: the builtin's output without module
    /// values)
    Resolve {
        /// The inventory file [default: inventory.json]
        #[arg(value_name = "FILE")]
        input: Option<PathBuf>,
        /// Only this machine
        #[arg(long, short)]
        machine: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Explains why MACHINE has each of its roles, which config layers and modules it gets, in
    /// which order, and the constraints of its instances
    Explain { machine: String },
    /// Prints, one per line, the machines matching EXPR
    ///
    /// EXPR combines `tag:NAME`, `machine:NAME`, `role:SVC.INST.ROLE` (or `role:SVC.INST`,
    /// `role:SVC`) of inventory.services, `instance:INST.ROLE` (or `instance:INST`) and
    /// `service:KEY` (a clan service's key, e.g. `self/hello`, or its module name) of
    /// inventory.instances, and `all` with `|` (union), `&` (intersection), `!` (complement) and
    /// parentheses; `&` binds tighter than `|`. Example:
    /// `tag:backup & !tag:zone-2 | role:borgbackup.instance_1.server | instance:web.server`
    Select {
        expr: String,
        /// Print the flake attribute of each selected machine's system instead of its name
        /// (`.#nixosConfigurations.<m>.config.system.build.toplevel`), for `nix build`
        #[arg(long)]
        attrs: bool,
    },
    /// Draws services, instances and roles to machines (inventory.services and inventory.instances)
    Graph {
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
    },
    /// Prints the JSON Schema of inventory.json
    Schema,
    /// Adds or removes machines
    Machines {
        #[command(subcommand)]
        action: MachinesAction,
    },
    /// Adds or removes tags of a machine (its own `tags`)
    Tags {
        #[command(subcommand)]
        action: TagsAction,
    },
    /// Puts machines or tags in a role, or takes them out: SERVICE.INSTANCE.ROLE for
    /// inventory.services, INSTANCE.ROLE for inventory.instances (`roles.<ROLE>.machines.<M>`)
    Roles {
        #[command(subcommand)]
        action: RolesAction,
    },
    /// Prints a shell completion script
    Completions { shell: clap_complete::Shell },
}

#[derive(Subcommand)]
pub(crate) enum MachinesAction {
    /// Adds a machine to inventory.machines
    Add {
        name: String,
        /// A tag of the machine (repeatable)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        #[arg(long, value_enum)]
        class: Option<Class>,
        /// deploy.targetHost, e.g. root@jon
        #[arg(long)]
        target_host: Option<String>,
    },
    /// Removes a machine; refused while the inventory still refers to it
    Remove { name: String },
}

#[derive(Subcommand)]
pub(crate) enum TagsAction {
    /// Adds tags to a machine
    Add {
        machine: String,
        #[arg(required = true)]
        tags: Vec<String>,
    },
    /// Removes tags from a machine
    Remove {
        machine: String,
        #[arg(required = true)]
        tags: Vec<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum RolesAction {
    /// Adds machines (or, with --tag, tags) to roles.<ROLE> of an instance, creating it if needed
    Assign {
        /// SERVICE.INSTANCE.ROLE (inventory.services) or INSTANCE.ROLE (inventory.instances)
        role: String,
        machines: Vec<String>,
        /// A tag to add to the role's tags (repeatable)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
    },
    /// Removes machines (or, with --tag, tags) from roles.<ROLE> of an instance; an instance's
    /// machine entry with settings is kept (refused)
    Unassign {
        /// SERVICE.INSTANCE.ROLE (inventory.services) or INSTANCE.ROLE (inventory.instances)
        role: String,
        machines: Vec<String>,
        /// A tag to remove from the role's tags (repeatable)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
    },
}
