# buildClan: from a clan directory and Nix arguments to lazily built nixosConfigurations.
#
#   <directory>/inventory.json          optional; merged with `inventory` (see merge.nix)
#   <directory>/machines/<m>/           makes `m` a machine; its configuration.nix, if any, is imported
#   <directory>/modules/<svc>/          a clan module (see modules.nix); `modules` may add or replace
#
# Resolution uses `builtins.clanInventory` when the plugin is loaded, else ./inventory.nix.
{
  directory,
  inventory ? { },
  machines ? { },
  modules ? { },
  nixpkgs ? null,
  nixosSystem ? null,
  specialArgs ? { },
  meta ? { },
}:
let
  inherit (builtins)
    attrNames
    filter
    fromJSON
    isAttrs
    isPath
    isString
    listToAttrs
    mapAttrs
    pathExists
    readDir
    readFile
    ;
  discover = import ./modules.nix;
  inherit (import ./merge.nix) merge;

  # A flake's `self` is an attribute set with `outPath`.
  dir = if isAttrs directory && directory ? outPath then directory.outPath else directory;

  inventoryFile = dir + "/inventory.json";
  hasInventoryFile = pathExists inventoryFile;

  nixInventory =
    if meta == { } then
      inventory
    else
      merge {
        name = "the inventory argument of buildClan";
        value = inventory;
      } {
        name = "the meta argument of buildClan";
        value = { inherit meta; };
      };

  declaredInventory =
    if hasInventoryFile then
      merge {
        name = toString inventoryFile;
        value = fromJSON (readFile inventoryFile);
      } {
        name = "the inventory argument of buildClan";
        value = nixInventory;
      }
    else
      nixInventory;

  machinesDir = dir + "/machines";
  machineDirs =
    let
      entries = if pathExists machinesDir then readDir machinesDir else { };
    in
    filter (n: entries.${n} == "directory") (attrNames entries);

  # Machines of machines/ and of the `machines` argument that the inventory does not mention.
  machineStubs = listToAttrs (
    map (name: {
      inherit name;
      value = { };
    }) (machineDirs ++ attrNames machines)
  );

  mergedInventory = declaredInventory // {
    machines = machineStubs // (declaredInventory.machines or { });
  };

  # `modules` values: a module directory (path, string or flake input), or `{ roles; constraints; }`.
  moduleOf =
    m:
    if isPath m || isString m then
      discover.fromDirectory m
    else if isAttrs m && !(m ? roles) && m ? outPath then
      discover.fromDirectory m.outPath
    else
      m;
  dirModules = discover.fromParent (dir + "/modules");
  allModules = dirModules // mapAttrs (_: moduleOf) modules;

  clanInventory = if builtins ? clanInventory then builtins.clanInventory else import ./inventory.nix;

  resolved = clanInventory {
    inventory = mergedInventory;
    modules = allModules;
    directory = dir;
  };

  clanCoreOptions = import ./clan-options.nix {
    services = attrNames (mergedInventory.services or { });
  };

  machineModule =
    name:
    let
      configuration = machinesDir + "/${name}/configuration.nix";
    in
    {
      _file = "clan-inventory/machines/${name}";
      imports =
        (if pathExists configuration then [ configuration ] else [ ])
        ++ (if machines ? ${name} then [ machines.${name} ] else [ ]);
      config = {
        # lib.mkDefault, spelt out: this file must not need nixpkgs.
        networking.hostName = {
          _type = "override";
          priority = 1000;
          content = name;
        };
        inherit (resolved) warnings;
      };
    };

  buildMachine =
    if nixosSystem != null then
      nixosSystem
    else if nixpkgs != null then
      nixpkgs.lib.nixosSystem
    else
      throw "buildClan: pass `nixpkgs` (whose lib.nixosSystem builds the machines) or `nixosSystem`";

  nixosMachines = filter (m: (mergedInventory.machines.${m}.machineClass or "nixos") == "nixos") (
    attrNames mergedInventory.machines
  );
in
{
  nixosConfigurations = listToAttrs (
    map (name: {
      inherit name;
      value = buildMachine {
        modules = [
          clanCoreOptions
          (machineModule name)
        ]
        ++ resolved.machines.${name}.modules;
        inherit specialArgs;
      };
    }) nixosMachines
  );

  clanInternals = {
    inventory = mergedInventory;
    inherit resolved clanCoreOptions;
    modules = allModules;
    directory = dir;
    inventoryFile = if hasInventoryFile then inventoryFile else null;
    # Where the machines and inventory values come from besides inventory.json (clan-inventory
    # reads them: its edits of inventory.json must not change what the Nix side defines).
    sources = {
      inherit nixInventory machineDirs;
      machineArguments = attrNames machines;
      # The modules of modules/<m>/, and the `modules` argument as given (it replaces those).
      moduleDirs = attrNames dirModules;
      modulesArgument = modules;
    };
  };
}
