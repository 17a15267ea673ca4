# The resolution of examples/clan, described (see describe.nix), by the chosen implementation:
# "builtin" (the plugin must be loaded), "nix" (nix/inventory.nix) or "auto" (what buildClan uses).
{
  implementation ? "auto",
}:
let
  clan = import ../../examples/clan { };
  inherit (clan.clanInternals) inventory modules directory;
  args = { inherit inventory modules directory; };
  resolve =
    if implementation == "builtin" then
      builtins.clanInventory
    else if implementation == "nix" then
      import ../../nix/inventory.nix
    else
      (import ../../nix).resolve;
in
import ./describe.nix { root = ../../examples/clan; } (resolve args)
