# The resolution of examples/clan, described (see describe.nix), by the chosen implementation:
# "builtin" (the plugin must be loaded), "nix" (nix/inventory.nix) or "auto" (what buildClan uses).
# `lib` (nixpkgs') evaluates the example's clan service modules.
{
  implementation ? "auto",
  lib,
}:
let
  clan = import ../../examples/clan { nixpkgs = { inherit lib; }; };
  inherit (clan.clanInternals) inventory modules directory;
  args = {
    inherit inventory modules directory;
    inherit (clan.clanInternals.clanServices) serviceModules;
  };
  resolve =
    if implementation == "builtin" then
      builtins.clanInventory
    else if implementation == "nix" then
      import ../../nix/inventory.nix
    else
      (import ../../nix).resolve;
in
import ./describe.nix { root = ../../examples/clan; } (resolve args)
