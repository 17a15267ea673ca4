# The pure-Nix implementation of `builtins.clanInventory`: same argument, same result, same error
# and warning texts (shared/spec/INVENTORY.md, docs/semantics.md). Builtins only; no nixpkgs.
#
#   import ./nix/inventory.nix { inventory = { ... }; modules = { ... }; serviceModules = { ... }; directory = ./.; }
#
# Forcing the result validates the whole argument first (phase 1, then phase 2) and throws the first
# error; the values the spec keeps lazy are only ever selected, never forced.
arg:
let
  error = (import ./inventory/validate.nix).firstError arg;
in
if error != null then
  throw error
else
  import ./inventory/resolve.nix {
    inventory = arg.inventory or { };
    modules = arg.modules or { };
    serviceModules = arg.serviceModules or { };
    directory = arg.directory or null;
  }
