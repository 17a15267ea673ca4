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
    ;
  msg = import ./messages.nix;

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

  stringOrNull = path: v: if v == null || isString v then null else expected path "a string or null" v;

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

  inventory = record {
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

  # The argument's own attributes have bare paths (`inventory.…`), its own messages the word
  # `clanInventory`.
  argumentFields = {
    inherit directory inventory;
    modules = attrsOf module;
  };
  argumentNames = attrNames argumentFields;

  structure =
    arg:
    if !isAttrs arg then
      expected "clanInventory" "an attribute set" arg
    else
      first (
        map (
          n:
          if argumentFields ? ${n} then
            argumentFields.${n} n arg.${n}
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
