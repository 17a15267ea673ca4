# Resolution of clan service instances (`inventory.instances`) of an argument that passed
# validation (docs/semantics.md, "Clan services"): each role's members, each member's settings
# definitions, each machine's memberships, the grouping of instances into services, warnings and
# failed constraints.
#
# Nothing the user wrote is forced: settings values and extraModules entries are only placed in
# lists. Of `serviceModules`, only what validation already read is read again (the used modules'
# `roles` names and `manifest.constraints`). Tag membership comes from resolve.nix, computed once.
{
  inventory,
  serviceModules,
  # machine -> its tags (list), tag -> the machines carrying it (sorted), the tags some machine has
  tagsOf,
  machinesOfTag,
  carriedTags,
  # path -> list -> the entries, strings made relative to `directory` lazily
  extraModulesAt,
}:
let
  inherit (builtins)
    attrNames
    attrValues
    concatLists
    concatMap
    filter
    isAttrs
    isList
    length
    listToAttrs
    mapAttrs
    zipAttrsWith
    ;
  msg = import ./messages.nix;
  moduleSource = import ./module-source.nix;
  inherit (import ./lists.nix) unique constAttrs collect;

  raw = inventory.instances or { };
  instanceNames = attrNames raw;

  # machine -> tag -> true, built per machine when a tag's settings ask for it
  carries = mapAttrs (_: ts: constAttrs ts true) tagsOf;

  # A settings definition: one module, named for the error messages of evalModules.
  definition = path: value: {
    _file = path;
    imports = [ value ];
  };

  instance =
    name: i:
    let
      path = msg.attr "inventory.instances" name;
      source = moduleSource serviceModules name i;
      service = serviceModules.${source.input}.${source.name};
      serviceRoles = attrNames (service.roles or { });
      roles = i.roles or { };

      role =
        r: value:
        let
          rpath = msg.attr "${path}.roles" r;
          explicit = value.machines or { };
          tags = value.tags or [ ];
          tagNames = if isList tags then tags else attrNames tags;
          machines = unique (attrNames explicit ++ concatMap (t: machinesOfTag.${t} or [ ]) tagNames);
          roleSettings =
            if value ? settings then [ (definition "${rpath}.settings" value.settings) ] else [ ];
          # tags of the attribute form that have settings, sorted
          tagsWithSettings = if isAttrs tags then filter (t: tags.${t} ? settings) (attrNames tags) else [ ];
          settingsOf =
            m:
            roleSettings
            ++ (
              if explicit ? ${m}.settings then
                [ (definition "${msg.attr "${rpath}.machines" m}.settings" explicit.${m}.settings) ]
              else
                [ ]
            )
            ++ map (t: definition "${msg.attr "${rpath}.tags" t}.settings" tags.${t}.settings) (
              filter (t: carries.${m} ? ${t}) tagsWithSettings
            );
          warnings = map (t: msg.unmatchedTag "${rpath}.tags" t (msg.didYouMean t carriedTags)) (
            filter (t: !(machinesOfTag ? ${t})) (unique tagNames)
          );
        in
        {
          inherit warnings;
          result = {
            inherit machines roleSettings;
            settings = listToAttrs (
              map (m: {
                name = m;
                value = settingsOf m;
              }) machines
            );
            extraModules = extraModulesAt "${rpath}.extraModules" (value.extraModules or [ ]);
          };
        };

      resolvedRoles = mapAttrs role roles;
      results = mapAttrs (_: r: r.result) resolvedRoles;

      constraints = service.manifest.constraints.roles or { };
      failures = concatMap (
        r:
        let
          c = constraints.${r};
          min = c.minMachines or null;
          max = c.maxMachines or null;
          members = results.${r}.machines or [ ];
          n = length members;
        in
        (if min != null && n < min then [ (msg.roleNeedsMachines path r min members) ] else [ ])
        ++ (
          if max != null && n > max then [ (msg.roleAllowsMachines path r max members) ] else [ ]
        )
      ) (filter (r: constraints ? ${r}) serviceRoles);
    in
    {
      inherit source service;
      warnings = concatMap (r: resolvedRoles.${r}.warnings) (attrNames roles);
      result = {
        service = source.key;
        module = { inherit (source) name input; };
        assertions = map assertion failures;
        roles = results;
      };
    };

  assertion = message: {
    assertion = false;
    inherit message;
  };

  resolved = mapAttrs instance raw;

  # service key -> its instances, sorted (instances are visited in sorted order)
  instancesOf = collect (map (i: { ${resolved.${i}.source.key} = i; }) instanceNames);
  keys = attrNames instancesOf;

  # The machines of an instance, in any of its roles, sorted.
  machinesOfInstance =
    i:
    attrNames (collect (map (r: constAttrs r.machines null) (attrValues resolved.${i}.result.roles)));

  clanService =
    key:
    let
      names = instancesOf.${key};
      first = resolved.${builtins.head names};
      max = first.service.manifest.constraints.maxInstances or null;
      n = length names;
    in
    {
      inherit (first.result) module;
      instances = names;
      machines = collect (map (i: constAttrs (machinesOfInstance i) i) names);
      assertions =
        if max != null && n > max then [ (assertion (msg.tooManyInstances key max names)) ] else [ ];
    };

  clanServices = listToAttrs (
    map (key: {
      name = key;
      value = clanService key;
    }) keys
  );

  # machine -> its memberships, ordered by service key, then role, then instance
  membershipsOf = collect (
    concatMap (
      key:
      let
        names = instancesOf.${key};
        roleNames = attrNames (collect (map (i: resolved.${i}.result.roles) names));
      in
      concatMap (
        role:
        map (
          instance:
          constAttrs resolved.${instance}.result.roles.${role}.machines {
            service = key;
            inherit instance role;
          }
        ) (filter (i: resolved.${i}.result.roles ? ${role}) names)
      ) roleNames
    ) keys
  );
in
{
  instances = mapAttrs (_: i: i.result) resolved;

  inherit clanServices;

  # machine -> [ { service; instance; role; } ... ]
  membershipsOf = m: membershipsOf.${m} or [ ];

  warnings = concatMap (i: resolved.${i}.warnings) instanceNames;

  assertions = concatLists (
    map (i: resolved.${i}.result.assertions) instanceNames
    ++ map (key: clanServices.${key}.assertions) keys
  );
}
