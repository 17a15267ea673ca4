# buildClan: from a clan directory and Nix arguments to lazily built nixosConfigurations.
#
#   <directory>/inventory.json          optional; merged with `inventory` (see merge.nix)
#   <directory>/machines/<m>/           makes `m` a machine; its configuration.nix, if any, is imported
#   <directory>/modules/<svc>/          a clan module (see modules.nix); `modules` may add or replace
#                                       (roles modules for `inventory.services`, clan.service
#                                       modules for `inventory.instances`)
#
# Resolution uses `builtins.clanInventory` when the plugin is loaded, else ./inventory.nix. The
# clan.service modules of `inventory.instances` are evaluated by ./clan-services.nix with
# `nixpkgs.lib`; `inputs` are the flake inputs that `module.input` names (their `clan.modules`).
# Darwin machines (`machineClass = "darwin"`) are built by `darwinSystem` (nix-darwin's
# `lib.darwinSystem`; by default that of `inputs.nix-darwin`) into `darwinConfigurations`.
{
  directory,
  inventory ? { },
  machines ? { },
  modules ? { },
  nixpkgs ? null,
  nixosSystem ? null,
  darwinSystem ? null,
  inputs ? { },
  specialArgs ? { },
  meta ? { },
}:
let
  inherit (builtins)
    attrNames
    filter
    fromJSON
    isAttrs
    listToAttrs
    mapAttrs
    pathExists
    readDir
    readFile
    ;
  discover = import ./modules.nix;
  filterAttrs =
    pred: set:
    listToAttrs (
      map (name: {
        inherit name;
        value = set.${name};
      }) (filter (name: pred name set.${name}) (attrNames set))
    );
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

  # Every module by name, as `{ roles = <roles module>; }` or `{ service = <clan.service module>; }`
  # (modules.nix): those of modules/, then the `modules` argument, which adds or replaces by name.
  dirModules = discover.fromParent (dir + "/modules");
  dirServiceModules = discover.servicesFromParent (dir + "/modules");
  classified =
    mapAttrs (_: m: { roles = m; }) dirModules
    // mapAttrs (_: m: { service = m; }) dirServiceModules
    // mapAttrs (_: discover.classify) modules;
  ofKind = kind: mapAttrs (_: c: c.${kind}) (filterAttrs (_: c: c ? ${kind}) classified);
  allModules = ofKind "roles";
  selfServiceModules = ofKind "service";

  lib =
    if nixpkgs != null then
      nixpkgs.lib
    else
      throw "buildClan: inventory.instances needs `nixpkgs`: its lib (the module system) evaluates the clan service modules";

  clanServices = import ./clan-services.nix {
    inherit lib inputs;
    directory = dir;
    meta = mergedInventory.meta or { };
    instances = mergedInventory.instances or { };
    selfModules = selfServiceModules;
  };

  usesInstances = mergedInventory ? instances;

  clanInventory = if builtins ? clanInventory then builtins.clanInventory else import ./inventory.nix;

  resolved = clanInventory (
    {
      inventory = mergedInventory;
      modules = allModules;
      directory = dir;
    }
    # Only with instances: without them nothing reads it, and clanInventory stays as it was.
    // (if usesInstances then { inherit (clanServices) serviceModules; } else { })
  );

  services = clanServices.withResolution resolved;
  serviceModulesOf =
    name: cls: if usesInstances then services.forMachine name cls else [ ];

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

  buildDarwin =
    if darwinSystem != null then
      darwinSystem
    else if inputs ? nix-darwin then
      inputs.nix-darwin.lib.darwinSystem
    else
      throw "buildClan: pass `darwinSystem` (nix-darwin's lib.darwinSystem) or a `nix-darwin` input to build darwin machines";

  machinesOfClass =
    cls:
    filter (m: (mergedInventory.machines.${m}.machineClass or "nixos") == cls) (
      attrNames mergedInventory.machines
    );

  configurations =
    cls: build:
    listToAttrs (
      map (name: {
        inherit name;
        value = build {
          modules = [
            clanCoreOptions
            (machineModule name)
          ]
          ++ resolved.machines.${name}.modules
          ++ serviceModulesOf name cls;
          inherit specialArgs;
        };
      }) (machinesOfClass cls)
    );
in
{
  nixosConfigurations = configurations "nixos" buildMachine;
  darwinConfigurations = configurations "darwin" buildDarwin;

  clanInternals = {
    inventory = mergedInventory;
    inherit resolved clanCoreOptions;
    modules = allModules;
    # The clan.service modules: buildClan's own (by name), the `serviceModules` argument given to
    # clanInventory (each module's evaluated config), and per instance, role and member the
    # evaluated settings (`settings.<i>.<r>.machines.<m>.config`) and perInstance results
    # (`perInstance.<i>.<r>.<m>.config`); `machines.<m>.<service key>` is the module machine m
    # gets of that service (after its other modules, in key order).
    clanServices = {
      modules = selfServiceModules;
      inherit (clanServices) serviceModules;
      inherit (services) settings perInstance;
      machines = mapAttrs (
        name: m: if usesInstances then services.machineModules name (m.machineClass or "nixos") else { }
      ) mergedInventory.machines;
    };
    directory = dir;
    inventoryFile = if hasInventoryFile then inventoryFile else null;
    # Where the machines and inventory values come from besides inventory.json (clan-inventory
    # reads them: its edits of inventory.json must not change what the Nix side defines).
    sources = {
      inherit nixInventory machineDirs;
      machineArguments = attrNames machines;
      # The modules of modules/<m>/, and the `modules` argument as given (it replaces those).
      moduleDirs = attrNames dirModules;
      serviceModuleDirs = attrNames dirServiceModules;
      modulesArgument = modules;
    };
  };
}
