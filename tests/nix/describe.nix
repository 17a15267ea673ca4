# Turns a clanInventory result (or any value) into data that `nix eval --json` prints the same way
# whichever implementation produced it: paths, and strings naming a file below `root`, become
# "<root>/relative" strings (nothing is copied to the store); functions become "<function>". Module values are thereby compared by their path or their
# content (generated modules carry a `_file`).
#
#   import ./describe.nix { root = ./.; } (builtins.clanInventory { ... })
{
  root ? null,
}:
let
  inherit (builtins)
    isAttrs
    isFunction
    isList
    isPath
    isString
    mapAttrs
    stringLength
    substring
    ;
  rootString = toString root;
  prefixLength = stringLength rootString + 1;
  describePath =
    p:
    let
      s = toString p;
    in
    if root != null && substring 0 prefixLength s == rootString + "/" then
      "<root>/" + builtins.unsafeDiscardStringContext (substring prefixLength (stringLength s) s)
    else
      s;
  describe =
    v:
    if isPath v || isString v then
      describePath v
    else if isFunction v then
      "<function>"
    else if isList v then
      map describe v
    else if isAttrs v then
      mapAttrs (_: describe) v
    else
      v;
in
describe
