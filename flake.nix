{
  description = "clan-inventory: builtins.clanInventory as a Nix plugin, buildClan, and a pure-Nix fallback";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      eachSystem = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});

      # The plugin must be built against the Nix that loads it: by default the channel's `nix`
      # (2.31 on nixos-25.11). `packages.default.override { nix = pkgs.nixVersions.nix_2_34; }`
      # or `lib.pluginFor` builds it for another one.
      pluginFor = pkgs: nix: pkgs.callPackage ./nix/package.nix { inherit nix; };

      # Every `nixVersions.nix_2_<minor>` of the channel that the plugin supports (2.26 and later,
      # not 2.34.0), skipping the attributes that are removal `throw`s.
      supportedNixVersions =
        pkgs:
        lib.filterAttrs (
          name: nix:
          let
            ok = builtins.tryEval (nix ? version);
          in
          builtins.match "nix_2_[0-9]+" name != null
          && ok.success
          && ok.value
          && lib.versionAtLeast nix.version "2.26"
          && nix.version != "2.34.0"
        ) pkgs.nixVersions;

      example = import ./examples/clan/clan.nix {
        inherit (self.lib) buildClan;
        inherit nixpkgs;
      };
      toplevels = lib.mapAttrs (_: machine: machine.config.system.build.toplevel) example.nixosConfigurations;
    in
    {
      lib = (import ./nix) // {
        inherit pluginFor;
      };

      packages = eachSystem (
        system: pkgs: {
          default = pluginFor pkgs pkgs.nix;
          # That same Nix, with the plugin loaded (`--extra-plugin-files`).
          nix = pkgs.callPackage ./nix/nix-with-plugin.nix {
            inherit (self.packages.${system}.default) nix;
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
        # The plugin against every Nix version the channel packages.
        // lib.mapAttrs' (name: nix: lib.nameValuePair "plugin-${name}" (pluginFor pkgs nix)) (
          supportedNixVersions pkgs
        )
        # The example's machines are x86_64-linux (examples/clan/common.nix).
        // lib.optionalAttrs (system == "x86_64-linux") toplevels
      );

      # One job per machine, so nix-eval-jobs, Hydra or buildbot-nix evaluate machines in parallel
      # (the plugin given once to the evaluator, which its workers inherit).
      hydraJobs = toplevels;
    };
}
