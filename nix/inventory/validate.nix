# Validation of the argument of clanInventory, in the two phases of docs/semantics.md. Each phase
# is a function of the argument that returns the first error message in walk order, or null.
# Positions that are never forced (config, meta, description, icon, name, role modules,
# extraModules elements) are only selected, never looked at.
let
  inherit (builtins)
    all
    attrNames
    elemAt
    foldl'
    genList
    isAttrs
    isBool
    isInt
    isList
    isPath
    isString
    length
    listToAttrs
    zipAttrsWith
    ;
  msg = import ./messages.nix;
  moduleSource = import ./module-source.nix;

  # The first non-null element; elements after it are never forced.
  first = foldl' (acc: x: if acc == null then x else acc) null;

  # A check is `path: value: null | message`.
  expected = path: what: v: msg.wrongType path what (msg.typeName v);

  unforced = _: _: null;

  # An attribute set whose attributes are all checked by `check`.
  attrsOf =
    check: path: v:
    if !isAttrs v then
      expected path "an attribute set" v
    else
      first (map (n: check (msg.attr path n) v.${n}) (attrNames v));

  # An attribute set with only the attributes of `fields` (name -> check); each name is checked
  # before its value, in sorted order.
  record =
    fields:
    let
      known = attrNames fields;
    in
    path: v:
    if !isAttrs v then
      expected path "an attribute set" v
    else
      first (
        map (
          n: if fields ? ${n} then fields.${n} (msg.attr path n) v.${n} else msg.unknownAttribute path n known
        ) (attrNames v)
      );

  anAttrs = path: v: if isAttrs v then null else expected path "an attribute set" v;

  aList = path: v: if isList v then null else expected path "a list" v;

  aBool = path: v: if isBool v then null else expected path "a Boolean" v;

  aString = path: v: if isString v then null else expected path "a string" v;

  stringOrNull = path: v: if v == null || isString v then null else expected path "a string or null" v;

  intOrNull = path: v: if v == null || isInt v then null else expected path "an integer or null" v;

  listOfStrings =
    path: v:
    if !isList v then
      expected path "a list of strings" v
    else if all isString v then
      null
    else
      first (
        genList (
          i:
          let
            e = elemAt v i;
          in
          if isString e then null else expected (msg.index path i) "a string" e
        ) (length v)
      );

  machineClass =
    path: v:
    if !isString v then
      expected path "\"nixos\" or \"darwin\"" v
    else if v == "nixos" || v == "darwin" then
      null
    else
      msg.badValue path "\"nixos\" or \"darwin\"" "\"${v}\"";

  nonNegative =
    what: path: v:
    if !isInt v then
      expected path what v
    else if v >= 0 then
      null
    else
      msg.badValue path what (toString v);

  minimum = nonNegative "a non-negative integer";

  maximum = path: v: if v == null then null else nonNegative "a non-negative integer or null" path v;

  directory =
    path: v: if v == null || isString v || isPath v then null else expected path "a path or a string" v;

  machine = record {
    deploy = record {
      buildHost = stringOrNull;
      targetHost = stringOrNull;
    };
    description = unforced;
    icon = unforced;
    inherit machineClass;
    name = unforced;
    tags = listOfStrings;
  };

  instance = record {
    config = unforced;
    enabled = aBool;
    extraModules = aList;
    machines = attrsOf (record {
      config = unforced;
      extraModules = aList;
    });
    meta = unforced;
    roles = attrsOf (record {
      config = unforced;
      extraModules = aList;
      machines = listOfStrings;
      tags = listOfStrings;
    });
  };

  # `roles.<r>.tags` of a clan service instance: the list form, or `tags.<t>.settings`.
  instanceTags =
    path: v:
    if isList v then
      listOfStrings path v
    else if isAttrs v then
      attrsOf (record { settings = unforced; }) path v
    else
      expected path "a list of strings or an attribute set" v;

  clanServiceInstance = record {
    module = record {
      input = stringOrNull;
      name = aString;
    };
    roles = attrsOf (record {
      extraModules = aList;
      machines = attrsOf (record { settings = unforced; });
      settings = unforced;
      tags = instanceTags;
    });
  };

  inventory = record {
    instances = attrsOf clanServiceInstance;
    machines = attrsOf machine;
    meta = unforced;
    services = attrsOf (attrsOf instance);
    tags = attrsOf listOfStrings;
  };

  module = record {
    constraints = record {
      roles = attrsOf (record {
        max = maximum;
        min = minimum;
      });
    };
    roles = anAttrs;
  };

  # What the builtin reads of a clan service module (an evaluated `config`): its `roles` names and
  # `manifest.constraints`. Other attributes of the module and of `manifest` are the module's own.
  serviceModule =
    path: v:
    if !isAttrs v then
      expected path "an attribute set" v
    else
      first [
        (
          if !(v ? manifest) then
            null
          else if !isAttrs v.manifest then
            expected "${path}.manifest" "an attribute set" v.manifest
          else if v.manifest ? constraints then
            record {
              maxInstances = intOrNull;
              roles = attrsOf (record {
                maxMachines = intOrNull;
                minMachines = intOrNull;
              });
            } "${path}.manifest.constraints" v.manifest.constraints
          else
            null
        )
        (if v ? roles then anAttrs "${path}.roles" v.roles else null)
      ];

  # `serviceModules`: its names always; an input's value (an attribute set or null) only when some
  # instance resolves to that input, and a module only when some instance uses it. `inventory`
  # comes before `serviceModules` in walk order, so the instances passed phase 1 here.
  serviceModules =
    arg: path: v:
    let
      instances = arg.inventory.instances or { };
      # input -> the module names instances use there -> true
      used = zipAttrsWith (_: names: listToAttrs (map (name: { inherit name; value = true; }) names)) (
        map (
          i:
          let
            s = moduleSource v i instances.${i};
          in
          {
            ${s.input} = s.name;
          }
        ) (attrNames instances)
      );
      input =
        name:
        let
          ipath = msg.attr path name;
          value = v.${name};
        in
        if value == null then
          null
        else if !isAttrs value then
          expected ipath "an attribute set or null" value
        else
          first (
            map (
              m: if used.${name} ? ${m} then serviceModule (msg.attr ipath m) value.${m} else null
            ) (attrNames value)
          );
    in
    if !isAttrs v then
      expected path "an attribute set" v
    else
      first (map (name: if used ? ${name} then input name else null) (attrNames v));

  # The argument's own attributes have bare paths (`inventory.…`), its own messages the word
  # `clanInventory`.
  argumentFields = arg: {
    inherit directory inventory;
    modules = attrsOf module;
    serviceModules = serviceModules arg;
  };
  argumentNames = attrNames (argumentFields { });

  structure =
    arg:
    let
      fields = argumentFields arg;
    in
    if !isAttrs arg then
      expected "clanInventory" "an attribute set" arg
    else
      first (
        map (
          n:
          if fields ? ${n} then
            fields.${n} n arg.${n}
          else
            msg.unknownAttribute "clanInventory" n argumentNames
        ) (attrNames arg)
      );

  # Phase 2, on an argument that passed phase 1.
  references =
    arg:
    let
      inv = arg.inventory or { };
      machines = inv.machines or { };
      machineNames = attrNames machines;
      modules = arg.modules or { };
      moduleNames = attrNames modules;
      services = inv.services or { };
      tags = inv.tags or { };

      undefinedMachine = path: m: msg.undefinedMachine path m (msg.didYouMean m machineNames);
      machinesIn = path: ms: first (map (m: if machines ? ${m} then null else undefinedMachine path m) ms);

      service =
        svc:
        let
          path = msg.attr "inventory.services" svc;
          moduleRoles = modules.${svc}.roles or { };
          roleNames = attrNames moduleRoles;
          instance =
            name:
            let
              i = services.${svc}.${name};
              ipath = msg.attr path name;
              roles = i.roles or { };
              role =
                r:
                if moduleRoles ? ${r} then
                  machinesIn (msg.attr "${ipath}.roles" r + ".machines") (roles.${r}.machines or [ ])
                else
                  msg.undefinedRole "${ipath}.roles" r svc roleNames;
            in
            first [
              (machinesIn "${ipath}.machines" (attrNames (i.machines or { })))
              (first (map role (attrNames roles)))
            ];
        in
        if svc == "inventory" then
          msg.reservedService path svc
        else if !(modules ? ${svc}) then
          msg.noModule path svc moduleNames
        else
          first (map instance (attrNames services.${svc}));

      # Clan service instances: module, then each role (sorted) and its members.
      sm = arg.serviceModules or { };
      inputNames = attrNames sm;
      instances = inv.instances or { };
      clanServiceInstance =
        name:
        let
          i = instances.${name};
          path = msg.attr "inventory.instances" name;
          source = moduleSource sm name i;
          inherit (source) input key;
          modulesOfInput = sm.${input};
          service = modulesOfInput.${source.name};
          serviceRoles = service.roles or { };
          roles = i.roles or { };
          role =
            r:
            let
              rpath = msg.attr "${path}.roles" r;
            in
            if serviceRoles ? ${r} then
              machinesIn "${rpath}.machines" (attrNames (roles.${r}.machines or { }))
            else
              msg.undefinedServiceRole "${path}.roles" r key (attrNames serviceRoles);
        in
        if !(sm ? ${input}) then
          msg.noFlakeInput "${path}.module.input" input inputNames
        else if modulesOfInput == null then
          msg.inputWithoutModules "${path}.module.input" input
        else if !(modulesOfInput ? ${source.name}) then
          msg.noServiceModule "${path}.module.name" source.name input (attrNames modulesOfInput)
        else
          first (map role (attrNames roles));

      tag = t: machinesIn (msg.attr "inventory.tags" t) tags.${t};

      module =
        svc:
        let
          path = msg.attr "modules" svc;
          moduleRoles = modules.${svc}.roles or { };
          roleNames = attrNames moduleRoles;
          constraints = modules.${svc}.constraints.roles or { };
          constraint =
            r:
            let
              c = constraints.${r};
              min = c.min or 0;
              max = c.max or null;
            in
            if !(moduleRoles ? ${r}) then
              msg.undefinedRole "${path}.constraints.roles" r svc roleNames
            else if max != null && min > max then
              msg.minAboveMax (msg.attr "${path}.constraints.roles" r) min max
            else
              null;
        in
        first (map constraint (attrNames constraints));
    in
    first [
      (first (map service (attrNames services)))
      (first (map clanServiceInstance (attrNames instances)))
      (first (map tag (attrNames tags)))
      (first (map module moduleNames))
    ];
in
{
  inherit structure references;

  # The first error of phase 1, else the first of phase 2, else null.
  firstError =
    arg:
    let
      e = structure arg;
    in
    if e != null then e else references arg;
}
