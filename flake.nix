{
  description = "clan-inventory: builtins.clanInventory as a Nix plugin, buildClan, and a pure-Nix fallback";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      eachSystem = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});

      # The plugin is built against the Nix that loads it. Tested: Nix 2.26.
      nixFor = pkgs: pkgs.nixVersions.nix_2_26;

      example = import ./examples/clan/clan.nix {
        inherit (self.lib) buildClan;
        inherit nixpkgs;
      };
      toplevels = lib.mapAttrs (_: machine: machine.config.system.build.toplevel) example.nixosConfigurations;
    in
    {
      lib = import ./nix;

      packages = eachSystem (
        system: pkgs: {
          default = pkgs.callPackage ./nix/package.nix { nix = nixFor pkgs; };
          nix = pkgs.callPackage ./nix/nix-with-plugin.nix {
            nix = nixFor pkgs;
            plugin = self.packages.${system}.default;
          };
        }
      );

      templates.default = {
        path = ./examples/clan;
        description = "A clan: inventory.json, a Nix inventory, modules/ and machines/";
      };

      checks = eachSystem (
        system: pkgs:
        {
          plugin = self.packages.${system}.default;
          example-agrees = pkgs.callPackage ./nix/check-example.nix {
            nixWithPlugin = self.packages.${system}.nix;
          };
        }
        # The example's machines are x86_64-linux (examples/clan/common.nix).
        // lib.optionalAttrs (system == "x86_64-linux") toplevels
      );

      # One job per machine, so nix-eval-jobs, Hydra or buildbot-nix evaluate machines in parallel
      # (each worker with `--option plugin-files <plugin>/lib/libclan_inventory.so`).
      hydraJobs = toplevels;
    };
}
