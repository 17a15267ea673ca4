# Clan module discovery. Two kinds of module live in a clan:
#
# * a **clan.service module** (`inventory.instances`, docs/semantics.md "Clan services"): a Nix
#   module of class "clan.service", evaluated by nix/clan-services.nix;
# * a **roles module** (`inventory.services`, the older API): a directory
#
#     <module>/roles/<role>.nix   one regular file per role; the value of the role is its path
#     <module>/README.md          optional; TOML front matter between two `---` lines at the top:
#                                   ---
#                                   [constraints]
#                                   roles.server.max = 1
#                                   ---
#
#   or, in buildClan's `modules` argument, the attribute set `{ roles; constraints; }` it stands for.
#
# How they are told apart (`classify`, for a value of buildClan's `modules` argument; `fromParent`
# and `servicesFromParent` for the subdirectories of modules/):
#
#   a directory with roles/                     roles module (roles/ wins over a default.nix)
#   a directory with default.nix, no roles/     clan.service module: <dir>/default.nix
#   a directory with neither                    roles module, whose use is the error "no 'roles' folder"
#   a regular file (path or string)             clan.service module (only in the `modules` argument:
#                                               a file in modules/ is no module, so helpers can live there)
#   a function                                  clan.service module
#   an attribute set with `_class`              clan.service module (a wrong class is the module
#                                               system's error)
#   an attribute set with `outPath` (a flake input or `self`) and no `roles`: as its directory
#   an attribute set of only `roles`/`constraints`  roles module
#   any other attribute set (`manifest`, `imports`, ...)  clan.service module
#   anything else                               roles module (clanInventory reports its type)
#
# `fromDirectory dir` gives `{ roles = { <role> = <path>; }; constraints = { ... }; }`, the shape
# of `modules.<svc>` in the argument of clanInventory; `fromParent dir` does it for every
# subdirectory of `dir` that is not a clan.service module, `servicesFromParent dir` gives the
# others as `{ <name> = <dir>/<name>/default.nix; }`. `classify v` is `{ roles = ...; }` or
# `{ service = ...; }`. Builtins only. Nothing is copied to the store: roles and modules stay paths.
let
  inherit (builtins)
    attrNames
    concatStringsSep
    elemAt
    all
    filter
    foldl'
    fromTOML
    genList
    isAttrs
    isFunction
    isPath
    isString
    length
    listToAttrs
    match
    pathExists
    readDir
    readFile
    readFileType
    split
    stringLength
    substring
    ;

  lines = text: filter isString (split "\n" text);

  # A line without its trailing carriage return, so that CRLF files work too.
  chomp =
    l:
    let
      n = stringLength l;
    in
    if n > 0 && substring (n - 1) 1 l == "\r" then substring 0 (n - 1) l else l;

  # The TOML text between the first line `---` and the next one, or null without front matter.
  frontMatterText =
    file: text:
    let
      ls = map chomp (lines text);
      n = length ls;
      closing = foldl' (
        acc: i: if acc == null && elemAt ls i == "---" then i else acc
      ) null (genList (i: i + 1) (if n > 0 then n - 1 else 0));
    in
    if n == 0 || elemAt ls 0 != "---" then
      null
    else if closing == null then
      throw "clan module: malformed front matter in ${toString file}: the opening '---' line has no closing '---' line"
    else
      concatStringsSep "\n" (genList (i: elemAt ls (i + 1)) (closing - 1));

  constraintsOf =
    file:
    let
      text = frontMatterText file (readFile file);
      parsed = builtins.addErrorContext "while parsing the TOML front matter of ${toString file}" (
        fromTOML text
      );
      constraints = parsed.constraints or { };
    in
    if !pathExists file || text == null then
      { }
    else if !isAttrs constraints then
      throw "clan module: malformed front matter in ${toString file}: 'constraints' must be a table, found ${builtins.typeOf constraints}"
    else
      constraints;

  fromDirectory =
    dir:
    let
      rolesDir = dir + "/roles";
      entries = readDir rolesDir;
      roleFiles = filter (
        f: entries.${f} == "regular" && match ".+\\.nix" f != null
      ) (attrNames entries);
    in
    if !pathExists rolesDir || !builtins.elem ((readDir dir).roles or null) [ "directory" "symlink" ] then
      throw "clan module ${toString dir}: no 'roles' folder (a clan module defines its roles as roles/<role>.nix)"
    else
      {
        roles = listToAttrs (
          map (f: {
            name = substring 0 (stringLength f - 4) f;
            value = rolesDir + "/${f}";
          }) roleFiles
        );
        constraints = constraintsOf (dir + "/README.md");
      };

  # A directory with default.nix and without roles/ (roles/ wins, as it always meant a roles module).
  isServiceDirectory =
    dir:
    let
      entries = readDir dir;
    in
    !(builtins.elem (entries.roles or null) [
      "directory"
      "symlink"
    ])
    && builtins.elem (entries."default.nix" or null) [
      "regular"
      "symlink"
    ];

  subdirectories =
    dir:
    let
      entries = if pathExists dir then readDir dir else { };
    in
    filter (name: entries.${name} == "directory") (attrNames entries);

  byName =
    names: f:
    listToAttrs (
      map (name: {
        inherit name;
        value = f name;
      }) names
    );

  # Every subdirectory of `dir` that is a roles module; `{ }` when `dir` does not exist.
  fromParent =
    dir:
    byName (filter (name: !isServiceDirectory (dir + "/${name}")) (subdirectories dir)) (
      name: fromDirectory (dir + "/${name}")
    );

  # Every subdirectory of `dir` that is a clan.service module, as the path of its default.nix.
  servicesFromParent =
    dir:
    byName (filter (name: isServiceDirectory (dir + "/${name}")) (subdirectories dir)) (
      name: dir + "/${name}/default.nix"
    );

  # A directory (path or string): a roles module, or a clan.service module.
  classifyDirectory =
    dir:
    if pathExists dir && readFileType dir == "regular" then
      { service = dir; }
    else if pathExists dir && isServiceDirectory dir then
      { service = dir + "/default.nix"; }
    else
      { roles = fromDirectory dir; };

  # A value of buildClan's `modules` argument (see the table above).
  classify =
    m:
    if isFunction m then
      { service = m; }
    else if isPath m || isString m then
      classifyDirectory m
    else if !isAttrs m then
      { roles = m; }
    else if m ? _class then
      { service = m; }
    else if m ? outPath && !(m ? roles) then
      classifyDirectory m.outPath
    else if
      all (n: n == "roles" || n == "constraints") (attrNames m)
    then
      { roles = m; }
    else
      { service = m; };
in
{
  inherit
    fromDirectory
    fromParent
    servicesFromParent
    isServiceDirectory
    classify
    ;
}
