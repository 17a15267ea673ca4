# What `clan-inventory` reads of a whole clan, applied by `nix eval --json --apply` to the
# `clanInternals` of a buildClan call: the merged inventory, the modules with their roles and
# constraints, and what the Nix side defines (for edits), as plain data. Paths become strings (never
# copied to the store); a function, a derivation or a value that throws becomes a marker string,
# since the commands never look inside such values (they are config or module values). The CLI
# decodes `«function»` as a function (tree.rs), so a function where the core expects another type
# is reported as the builtin reports it.
clanInternals:
let
  inherit (builtins)
    attrNames
    isAttrs
    isFunction
    isList
    isPath
    isString
    listToAttrs
    mapAttrs
    tryEval
    unsafeGetAttrPos
    ;
  plain =
    v:
    let
      r = tryEval v;
      x = r.value;
    in
    if !r.success then
      "«error»"
    else if isFunction x then
      "«function»"
    else if isPath x then
      toString x
    else if isAttrs x then
      if x.type or null == "derivation" then "«derivation»" else mapAttrs (_: plain) x
    else if isList x then
      map plain x
    else
      x;
  role = r: if isPath r || isString r then toString r else "«module»";
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
            inner = positions (depth - 1) v.${n};
          };
        }) (attrNames v)
      );
  sources = clanInternals.sources or { };
in
{
  inventory = plain clanInternals.inventory;
  modules = mapAttrs (_: m: {
    roles = mapAttrs (_: role) (m.roles or { });
    constraints = plain (m.constraints or { });
  }) clanInternals.modules;
  directory = toString clanInternals.directory;
  inventoryFile =
    if clanInternals.inventoryFile or null == null then null else toString clanInternals.inventoryFile;
  # null when the library's buildClan predates `clanInternals.sources`.
  nix =
    if sources ? nixInventory then
      {
        inventory = plain sources.nixInventory;
        # services.<s>.<i>.roles.<r>.machines is 6 levels down.
        positions = positions 6 sources.nixInventory;
        inherit (sources) machineDirs machineArguments;
        moduleDirs = sources.moduleDirs or [ ];
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
