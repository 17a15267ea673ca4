# Resolution of an argument that passed validation (docs/semantics.md, spec section 3): machine tags,
# role members, per-machine module lists, warnings and failed constraints.
#
# Cost is linear in the size of the inventory (up to the log factor of attribute lookups): tag
# membership and each instance's members are computed once and shared by every machine, and the
# per-machine view is one `zipAttrsWith` over the instances, never a rescan per machine.
{
  inventory,
  modules,
  serviceModules,
  directory,
}:
let
  inherit (builtins)
    attrNames
    attrValues
    catAttrs
    concatLists
    concatMap
    elemAt
    filter
    genList
    head
    isString
    length
    listToAttrs
    mapAttrs
    zipAttrsWith
    ;
  msg = import ./messages.nix;

  inherit (import ./lists.nix) unique constAttrs collect;

  machines = inventory.machines or { };
  machineNames = attrNames machines;
  globalTags = inventory.tags or { };
  services = inventory.services or { };

  # machine -> the global tags naming it, in sorted tag order
  globalTagsOf = collect (map (t: constAttrs globalTags.${t} t) (attrNames globalTags));

  tagsOf = mapAttrs (
    m: machine:
    unique (
      (machine.tags or [ ]) ++ (globalTagsOf.${m} or [ ]) ++ [ "all" (machine.machineClass or "nixos") ]
    )
  ) machines;

  # tag -> the machines carrying it, sorted (machines are visited in sorted order)
  machinesOfTag = collect (map (m: constAttrs tagsOf.${m} m) machineNames);
  carriedTags = attrNames machinesOfTag;

  # extraModules entries, each made lazily relative to `directory` when it is a string.
  extraModulesAt =
    path: list:
    genList (
      i:
      let
        e = elemAt list i;
      in
      if !isString e then
        e
      else if directory == null then
        throw (msg.stringModuleWithoutDirectory (msg.index path i) e)
      else
        directory + "/${e}"
    ) (length list);

  instance =
    svc: name: raw:
    let
      path = msg.attr (msg.attr "inventory.services" svc) name;
      module = modules.${svc};
      moduleRoles = module.roles or { };
      roleNames = attrNames moduleRoles;
      roles = raw.roles or { };
      enabled = raw.enabled or true;

      members = mapAttrs (
        r: _:
        let
          explicit = roles.${r}.machines or [ ];
          tags = roles.${r}.tags or [ ];
        in
        # One tag alone needs no deduplication: share its (sorted, distinct) member list.
        if explicit == [ ] && length tags == 1 then
          machinesOfTag.${head tags} or [ ]
        else
          unique (explicit ++ concatMap (t: machinesOfTag.${t} or [ ]) tags)
      ) moduleRoles;
      roleMachines = mapAttrs (_: ms: { machines = ms; }) members;

      # member machine -> its roles, sorted
      rolesOf = collect (map (r: constAttrs members.${r} r) roleNames);

      constraintRoles = module.constraints.roles or { };
      failures = concatMap (
        r:
        let
          c = constraintRoles.${r};
          min = c.min or 0;
          max = c.max or null;
          ms = members.${r};
          n = length ms;
        in
        (if n < min then [ (msg.tooFewMembers svc name r min ms) ] else [ ])
        ++ (if max != null && n > max then [ (msg.tooManyMembers svc name r max ms) ] else [ ])
      ) (attrNames constraintRoles);
      assertions = map (message: {
        assertion = false;
        inherit message;
      }) failures;
      constraintModules =
        if length assertions == 0 then
          [ ]
        else
          [
            {
              _file = "clan-inventory/services/${svc}/${name}/constraints";
              config.assertions = assertions;
            }
          ];

      instanceExtra = extraModulesAt "${path}.extraModules" (raw.extraModules or [ ]);
      machineExtra = mapAttrs (
        m: im: extraModulesAt "${msg.attr "${path}.machines" m}.extraModules" (im.extraModules or [ ])
      ) (raw.machines or { });
      roleExtra = mapAttrs (
        r: role: extraModulesAt "${msg.attr "${path}.roles" r}.extraModules" (role.extraModules or [ ])
      ) roles;

      generated =
        m: rs:
        let
          configs =
            (if raw ? config then [ raw.config ] else [ ])
            ++ (if raw ? machines.${m}.config then [ raw.machines.${m}.config ] else [ ])
            ++ concatMap (r: if roles ? ${r}.config then [ roles.${r}.config ] else [ ]) rs;
        in
        {
          _file = "clan-inventory/services/${svc}/${name}";
          config.clan = {
            inventory.services.${svc}.${name}.roles = roleMachines;
            # `inventory` is a reserved service name, so this never clashes with the line above.
            ${if length configs == 0 then null else svc} = {
              _type = "merge";
              contents = configs;
            };
          };
        };

      modulesOf =
        m: rs:
        concatLists [
          (map (r: moduleRoles.${r}) rs)
          instanceExtra
          (machineExtra.${m} or [ ])
          (concatMap (r: roleExtra.${r} or [ ]) rs)
          [ (generated m rs) ]
          constraintModules
        ];

      # `machines.<m>` entries of machines in no role (walk order: `machines` before `roles`),
      # then tags no machine carries.
      ignoredEntries = map (m: msg.ignoredMachineEntry (msg.attr "${path}.machines" m) m) (
        filter (m: !(rolesOf ? ${m})) (attrNames (raw.machines or { }))
      );
      warnings = ignoredEntries ++ concatMap (
        r:
        map (
          t:
          msg.unmatchedTag "${msg.attr "${path}.roles" r}.tags" t (msg.didYouMean t carriedTags)
        ) (filter (t: !(machinesOfTag ? ${t})) (unique (roles.${r}.tags or [ ])))
      ) (attrNames roles);
    in
    {
      inherit enabled roleMachines warnings;
      assertions = if enabled then assertions else [ ];
      # member machine -> what this instance gives it
      perMachine =
        if enabled then
          mapAttrs (m: rs: {
            modules = modulesOf m rs;
            # `{ <svc> = { name = <instance>; value.roles = <roles>; }; }`, grouped per machine below
            service.${svc} = {
              inherit name;
              value.roles = rs;
            };
          }) rolesOf
        else
          { };
    };

  resolved = mapAttrs (svc: mapAttrs (instance svc)) services;
  instances = concatMap attrValues (attrValues resolved);

  # machine -> one entry per enabled instance it is a member of, services then instances sorted
  entriesOf = collect (map (i: i.perMachine) instances);

  deployModules =
    m: machine:
    let
      targetHost = machine.deploy.targetHost or null;
      buildHost = machine.deploy.buildHost or null;
    in
    if targetHost == null && buildHost == null then
      [ ]
    else
      [
        {
          _file = "clan-inventory/machines/${m}/deploy";
          config.clan.core.networking = {
            ${if targetHost == null then null else "targetHost"} = targetHost;
            ${if buildHost == null then null else "buildHost"} = buildHost;
          };
        }
      ];

  clanServiceInstances = import ./instances.nix {
    inherit
      inventory
      serviceModules
      tagsOf
      machinesOfTag
      carriedTags
      extraModulesAt
      ;
  };
in
{
  machines = mapAttrs (
    m: machine:
    let
      entries = entriesOf.${m} or [ ];
    in
    {
      modules = concatLists (catAttrs "modules" entries ++ [ (deployModules m machine) ]);
      tags = tagsOf.${m};
      services = zipAttrsWith (_: listToAttrs) (catAttrs "service" entries);
      instances = clanServiceInstances.membershipsOf m;
    }
  ) machines;

  services = mapAttrs (
    _:
    mapAttrs (
      _: i: {
        inherit (i) enabled;
        roles = i.roleMachines;
      }
    )
  ) resolved;

  inherit (clanServiceInstances) instances clanServices;

  warnings = concatMap (i: i.warnings) instances ++ clanServiceInstances.warnings;

  assertions = concatMap (i: i.assertions) instances ++ clanServiceInstances.assertions;
}
