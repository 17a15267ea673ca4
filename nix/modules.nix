# Clan module discovery. A clan module is a directory:
#
#   <module>/roles/<role>.nix   one regular file per role; the value of the role is its path
#   <module>/README.md          optional; TOML front matter between two `---` lines at the top:
#                                 ---
#                                 [constraints]
#                                 roles.server.max = 1
#                                 ---
#
# `fromDirectory dir` gives `{ roles = { <role> = <path>; }; constraints = { ... }; }`, the shape
# of `modules.<svc>` in the argument of clanInventory; `fromParent dir` does it for every
# subdirectory of `dir`. Builtins only. Nothing is copied to the store: roles stay paths below `dir`.
let
  inherit (builtins)
    attrNames
    concatStringsSep
    elemAt
    filter
    foldl'
    fromTOML
    genList
    isAttrs
    isString
    length
    listToAttrs
    match
    pathExists
    readDir
    readFile
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

  # Every subdirectory of `dir` as a clan module; `{ }` when `dir` does not exist.
  fromParent =
    dir:
    let
      entries = if pathExists dir then readDir dir else { };
    in
    listToAttrs (
      map (name: {
        inherit name;
        value = fromDirectory (dir + "/${name}");
      }) (filter (name: entries.${name} == "directory") (attrNames entries))
    );
in
{
  inherit fromDirectory fromParent;
}
