# Merging of two inventories (buildClan: `inventory.json` with the Nix `inventory` argument):
# attribute sets merge, lists concatenate without repeating elements of the first, and any other
# value set differently in both is an error naming both sources. Values present on one side only are
# taken as they are, unforced.
let
  inherit (builtins)
    all
    elem
    filter
    isAttrs
    isList
    isPath
    isString
    listToAttrs
    mapAttrs
    toJSON
    typeOf
    ;
  msg = import ./inventory/messages.nix;

  show =
    v:
    if isPath v then
      toString v # not toJSON: that would copy the path to the store
    else if isString v || elem (typeOf v) [ "int" "float" "bool" "null" ] then
      toJSON v
    else
      msg.typeName v;

  appendNew =
    a: b:
    if all isString a && all isString b then
      let
        seen = listToAttrs (
          map (x: {
            name = x;
            value = null;
          }) a
        );
      in
      a ++ filter (x: !(seen ? ${x})) b
    else
      a ++ filter (x: !(elem x a)) b;

  # merge { name = "…/inventory.json"; value = …; } { name = "the inventory argument"; value = …; }
  merge =
    first: second:
    let
      go =
        path: a: b:
        if isAttrs a && isAttrs b then
          mapAttrs (n: v: if a ? ${n} && b ? ${n} then go (msg.attr path n) a.${n} b.${n} else v) (a // b)
        else if isList a && isList b then
          appendNew a b
        else if a == b then
          a
        else
          throw "buildClan: ${path} is set to ${show a} in ${first.name} and to ${show b} in ${second.name}";
    in
    go "inventory" first.value second.value;
in
{
  inherit merge;
}
