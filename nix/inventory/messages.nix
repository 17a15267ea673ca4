# Every message of docs/semantics.md, one function each, and their pieces (attribute paths, type
# names, name lists, the "did you mean" suggestion). The functions have the names of their Rust
# twins in src/inventory/error.rs (camelCase here, snake_case there), so the two read side by side;
# tests/nix/errors.nix checks both against one table. Only evaluated when a message is built.
let
  inherit (builtins)
    concatStringsSep
    deepSeq
    elemAt
    filter
    foldl'
    genList
    length
    match
    replaceStrings
    stringLength
    substring
    typeOf
    ;

  typeNames = {
    int = "an integer";
    float = "a float";
    bool = "a Boolean";
    string = "a string";
    path = "a path";
    null = "null";
    set = "an attribute set";
    list = "a list";
    lambda = "a function";
  };

  min2 = a: b: if a < b then a else b;

  # Levenshtein distance over bytes (Nix strings are byte strings: `substring` counts bytes).
  # One row per byte of `a`; each row refers to itself lazily and is forced before the next.
  levenshtein =
    a: b:
    let
      la = stringLength a;
      lb = stringLength b;
      bytesOf = s: genList (i: substring i 1 s) (stringLength s);
      ba = bytesOf a;
      bb = bytesOf b;
      step =
        prev: i:
        let
          x = elemAt ba i;
          row = genList (
            j:
            if j == 0 then
              i + 1
            else
              min2 (min2 (elemAt prev j + 1) (elemAt row (j - 1) + 1)) (
                elemAt prev (j - 1) + (if x == elemAt bb (j - 1) then 0 else 1)
              )
          ) (lb + 1);
        in
        deepSeq row row;
    in
    elemAt (foldl' step (genList (j: j) (lb + 1)) (genList (i: i) la)) lb;
in
rec {
  # An attribute name as it appears in a path: bare when a plain identifier, else quoted like Nix.
  quote =
    name:
    if match "[A-Za-z_][A-Za-z0-9_'-]*" name != null then
      name
    else
      "\"${
        replaceStrings [ "\\" "\"" "\${" "\n" "\r" "\t" ] [ "\\\\" "\\\"" "\\\${" "\\n" "\\r" "\\t" ] name
      }\"";

  attr = path: name: "${path}.${quote name}";

  index = path: i: "${path}[${toString i}]";

  typeName = v: typeNames.${typeOf v} or "an external value";

  # A list of names in a message; an empty one is `none`.
  names = ns: if ns == [ ] then "none" else concatStringsSep ", " ns;

  inherit levenshtein;

  # The closest known name, when within max(1, len / 3) bytes of edits; ties go to the first in
  # byte order. Names whose length alone puts them out of reach are not compared.
  didYouMean =
    bad: known:
    let
      len = stringLength bad;
      limit = if len / 3 < 1 then 1 else len / 3;
      reachable = filter (
        c:
        let
          d = stringLength c - len;
        in
        d <= limit && d >= -limit
      ) known;
      best = foldl' (
        acc: c:
        let
          d = levenshtein bad c;
        in
        if d <= limit && (acc == null || d < acc.d || (d == acc.d && c < acc.name)) then
          {
            name = c;
            inherit d;
          }
        else
          acc
      ) null reachable;
    in
    if best == null then null else best.name;

  # `; did you mean '<name>'?`, or nothing (`suggestion` is a name or null).
  hint = suggestion: if suggestion == null then "" else "; did you mean '${suggestion}'?";

  # The hint for `bad` among `known`.
  suggestion = bad: known: hint (didYouMean bad known);

  # --- The messages, in the order of docs/semantics.md (and of src/inventory/error.rs).

  wrongType = path: expected: found: "${path}: expected ${expected}, found ${found}";

  badValue = path: expected: found: "${path}: expected ${expected}, found ${found}";

  unknownAttribute =
    path: name: known:
    "${path}: unknown attribute '${name}' (attributes: ${names known})${suggestion name known}";

  # notUtf8: the builtin and the CLI only (a Nix string is bytes; pure Nix cannot tell).

  noModule =
    path: name: modules:
    "${path}: no module named '${name}' (modules: ${names modules})${suggestion name modules}";

  reservedService =
    path: name: "${path}: the service name '${name}' is reserved (it would clash with clan.inventory)";

  machineNotDefined =
    name: suggestion: "machine '${name}' is not defined in inventory.machines${hint suggestion}";

  undefinedMachine = path: name: suggestion: "${path}: ${machineNotDefined name suggestion}";

  undefinedRole =
    path: role: module: roles:
    "${path}: role '${role}' is not defined by module '${module}' (roles: ${names roles})${suggestion role roles}";

  minAboveMax =
    path: min: max: "${path}: min (${toString min}) is greater than max (${toString max})";

  tagMatchesNoMachine = tag: suggestion: "tag '${tag}' matches no machine${hint suggestion}";

  unmatchedTag = path: tag: suggestion: "${path}: ${tagMatchesNoMachine tag suggestion}";

  ignoredMachineEntry =
    path: machine: "${path}: machine '${machine}' is in no role of the instance, so this entry is ignored";

  tooFewMembers =
    service: instance: role: min: members:
    "${service}.${instance}: role '${role}' needs at least ${toString min} machines, has ${toString (length members)}: ${names members}";

  tooManyMembers =
    service: instance: role: max: members:
    "${service}.${instance}: role '${role}' allows at most ${toString max} machines, has ${toString (length members)}: ${names members}";

  stringModuleWithoutDirectory =
    path: entry: "${path}: the string module '${entry}' needs 'directory' to be set";

  # --- Clan services (`inventory.instances`), in the order of their part of docs/semantics.md.

  noFlakeInput =
    path: input: inputs:
    "${path}: no flake input '${input}' (inputs: ${names inputs})${suggestion input inputs}";

  inputWithoutModules =
    path: input:
    "${path}: flake input '${input}' has no clan.modules (clan service modules are published as clan.modules.<name>)";

  # Where a clan service module is looked up, in `noServiceModule`.
  moduleSource = input: if input == "self" then "the clan's own modules" else "flake input '${input}'";

  noServiceModule =
    path: name: input: modules:
    "${path}: no clan service module '${name}' in ${moduleSource input} (modules: ${names modules})${suggestion name modules}";

  undefinedServiceRole =
    path: role: service: roles:
    "${path}: role '${role}' is not defined by clan service module '${service}' (roles: ${names roles})${suggestion role roles}";

  # `path` is the instance, `inventory.instances.<i>`.
  roleNeedsMachines =
    path: role: min: members:
    "${path}: role '${role}' needs at least ${toString min} machines, has ${toString (length members)}: ${names members}";

  roleAllowsMachines =
    path: role: max: members:
    "${path}: role '${role}' allows at most ${toString max} machines, has ${toString (length members)}: ${names members}";

  tooManyInstances =
    service: max: instances:
    "clan service '${service}' allows at most ${toString max} instances, has ${toString (length instances)}: ${names instances}";
}
