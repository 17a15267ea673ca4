# The Nix library of clan-inventory. Builtins only: nixpkgs is needed only by the NixOS modules
# that buildClan hands to nixosSystem.
{
  # buildClan { directory; inventory ? {}; machines ? {}; modules ? {}; nixpkgs; ... }
  buildClan = import ./build-clan.nix;

  # The pure-Nix clanInventory (what buildClan uses when the plugin is not loaded).
  clanInventory = import ./inventory.nix;

  # `builtins.clanInventory` when the plugin is loaded, else the pure-Nix implementation.
  resolve = if builtins ? clanInventory then builtins.clanInventory else import ./inventory.nix;

  modules = import ./modules.nix;

  # clanCoreOptions { services = [ ... ]; }: the NixOS module declaring the generated options.
  clanCoreOptions = import ./clan-options.nix;
}
