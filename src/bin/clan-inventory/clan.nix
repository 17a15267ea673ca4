# What `clan-inventory` reads of a whole clan, applied by `nix eval --json --apply` to the
# `clanInternals` of a buildClan call: the merged inventory, the modules with their roles and
# constraints, and what the Nix side defines (for edits), as plain data.
#
# JSON has no functions, paths, derivations or values that throw, so each such value is `null` in
# the data (a path: its string; a derivation: its attribute names, each null), and what it is goes
# out of band, in a tree of marks beside the data: `{ k = "function" | "path" | "derivation" |
# "error" | "module"; }` for the value itself, `{ c = { <name> = <mark>; }; }` for an attribute
# set with marks inside, `{ l = [ <mark or null> ... ]; }` for such a list, and null where there is
# nothing to mark. A user's string is always just a string (tree.rs decodes the marks). Paths are
# strings, never copied to the store. Nothing is forced that the commands do not read: a value
# that throws is marked, not evaluated further.
clanInternals:
let
  inherit (builtins)
    all
    attrNames
    attrValues
    filter
    isAttrs
    isFunction
    isList
    isPath
    isString
    length
    listToAttrs
    mapAttrs
    removeAttrs
    tryEval
    unsafeGetAttrPos
    ;
  isDerivation =
    x:
    x ? type
    && (
      let
        t = tryEval x.type;
      in
      t.success && t.value == "derivation"
    );
  # The data of a value.
  plain =
    v:
    let
      r = tryEval v;
      x = r.value;
    in
    if !r.success || isFunction x then
      null
    else if isPath x then
      toString x
    else if isAttrs x then
      if isDerivation x then mapAttrs (_: _: null) x else mapAttrs (_: plain) x
    else if isList x then
      map plain x
    else
      x;
  # Its marks (null when there is nothing to mark in it).
  marks =
    v:
    let
      r = tryEval v;
      x = r.value;
    in
    if !r.success then
      { k = "error"; }
    else if isFunction x then
      { k = "function"; }
    else if isPath x then
      { k = "path"; }
    else if isAttrs x then
      if isDerivation x then { k = "derivation"; } else inner (mapAttrs (_: marks) x)
    else if isList x then
      let
        l = map marks x;
      in
      if all (m: m == null) l then null else { inherit l; }
    else
      null;
  inner =
    c:
    let
      names = attrNames c;
      unmarked = filter (n: c.${n} == null) names;
    in
    if length unmarked == length names then null else { c = removeAttrs c unmarked; };
  # A role of a clan module is a path (a file), a string, or a module written inline.
  roleData = r: if isPath r || isString r then toString r else null;
  roleMark =
    r:
    if isPath r then
      { k = "path"; }
    else if isString r then
      null
    else if isFunction r then
      { k = "function"; }
    else
      { k = "module"; };
  # Where each attribute of the Nix inventory is written, to `depth` levels (file:line:column).
  at =
    n: v:
    let
      p = unsafeGetAttrPos n v;
    in
    if p == null then null else "${p.file}:${toString p.line}:${toString p.column}";
  positions =
    depth: v:
    if depth == 0 || !isAttrs v then
      { }
    else
      listToAttrs (
        map (n: {
          name = n;
          value = {
            at = at n v;
            inner =
              let
                r = tryEval v.${n};
              in
              if r.success then positions (depth - 1) r.value else { };
          };
        }) (attrNames v)
      );
  sources = clanInternals.sources or { };
  moduleData = mapAttrs (_: m: {
    roles = mapAttrs (_: roleData) (m.roles or { });
    constraints = plain (m.constraints or { });
  }) clanInternals.modules;
  moduleMarks = inner (
    mapAttrs (
      _: m:
      inner {
        roles = inner (mapAttrs (_: roleMark) (m.roles or { }));
        constraints = marks (m.constraints or { });
      }
    ) clanInternals.modules
  );
  # The `serviceModules` argument of clanInventory, as far as the core reads it: every flake
  # input's module names and, for the modules that instances use, their roles' names and
  # `manifest.constraints` (which evaluates those modules, and only those). null when buildClan
  # does not pass it: an inventory without instances, or a library without clan services.
  instances =
    let
      r = tryEval (clanInternals.inventory.instances or { });
    in
    if r.success && isAttrs r.value then r.value else { };
  given = tryEval (clanInternals.clanServices.serviceModules or null);
  sm = given.value;
  hasClanCore = isAttrs sm && sm ? clan-core;
  stringOr =
    d: v:
    let
      r = tryEval v;
    in
    if r.success && isString r.value then r.value else d;
  uses = attrValues (
    mapAttrs (n: i: {
      input = stringOr (if hasClanCore then "clan-core" else "self") (i.module.input or null);
      name = stringOr n (i.module.name or n);
    }) instances
  );
  used = listToAttrs (
    map (u: {
      name = "${u.input}/${u.name}";
      value = true;
    }) uses
  );
  usedInputs = listToAttrs (
    map (u: {
      name = u.input;
      value = true;
    }) uses
  );
  serviceModules =
    if !(clanInternals.inventory ? instances) || !given.success || !isAttrs sm then
      null
    else
      let
        spec = m: {
          roles = mapAttrs (_: _: { }) m.roles;
          manifest.constraints = m.manifest.constraints or { };
        };
      in
      mapAttrs (
        input: ms:
        if !(usedInputs ? ${input}) then
          { }
        else
          let
            r = tryEval ms;
          in
          if !r.success || r.value == null || !isAttrs r.value then
            ms
          else
            mapAttrs (name: m: if used ? "${input}/${name}" then spec m else { }) r.value
      ) sm;
  # What of `serviceModules` was read: the inputs instances resolve to, and `<input>/<name>` of
  # the modules they use (the others are `{ }`).
  serviceModulesRead =
    if serviceModules == null then
      null
    else
      {
        inputs = attrNames usedInputs;
        modules = attrNames used;
      };
  # Why `serviceModules` is null although the inventory has instances.
  serviceModulesMissing =
    if serviceModules != null || !(clanInternals.inventory ? instances) then
      null
    else if !given.success then
      "evaluating clanInternals.clanServices.serviceModules fails"
    else
      "this buildClan has no clanInternals.clanServices.serviceModules";
in
{
  inventory = plain clanInternals.inventory;
  serviceModules = plain serviceModules;
  inherit serviceModulesRead serviceModulesMissing;
  modules = moduleData;
  directory = toString clanInternals.directory;
  # The marks of `{ directory; inventory; modules; }`, the argument of the core.
  marks = inner {
    directory = marks clanInternals.directory;
    inventory = marks clanInternals.inventory;
    modules = moduleMarks;
    serviceModules = marks serviceModules;
  };
  inventoryFile =
    if clanInternals.inventoryFile or null == null then null else toString clanInternals.inventoryFile;
  # null when the library's buildClan predates `clanInternals.sources`.
  nix =
    if sources ? nixInventory then
      {
        inventory = plain sources.nixInventory;
        marks = marks sources.nixInventory;
        # services.<s>.<i>.roles.<r>.machines is 6 levels down.
        positions = positions 6 sources.nixInventory;
        inherit (sources) machineDirs machineArguments;
        moduleDirs = sources.moduleDirs or [ ];
        serviceModuleDirs = sources.serviceModuleDirs or [ ];
        # Each module of the `modules` argument: where it is written, and its directory unless
        # it is given as `{ roles; constraints; }`.
        moduleArguments = mapAttrs (n: m: {
          at = at n sources.modulesArgument;
          dir =
            if isPath m || isString m then
              toString m
            else if isAttrs m && !(m ? roles) && m ? outPath then
              toString m.outPath
            else
              null;
        }) (sources.modulesArgument or { });
      }
    else
      null;
}
