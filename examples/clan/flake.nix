# A starter clan (`nix flake init -t <clan-inventory>`). Machines: `nix build
# .#nixosConfigurations.<machine>.config.system.build.toplevel`; with the plugin-loaded Nix of
# clan-inventory (its `packages.<system>.nix`) the inventory is resolved by builtins.clanInventory.
{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";
  # Point this at where you get clan-inventory from (a git URL, or path:/a/checkout).
  inputs.clan-inventory.url = "git+https://example.org/clan-inventory.git";
  inputs.clan-inventory.inputs.nixpkgs.follows = "nixpkgs";

  outputs =
    { nixpkgs, clan-inventory, ... }:
    import ./clan.nix {
      inherit (clan-inventory.lib) buildClan;
      inherit nixpkgs;
    };
}
