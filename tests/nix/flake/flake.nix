# A flake with no inputs that calls buildClan with a stand-in for nixosSystem, which returns its
# arguments. tests/nix/nix_lib.rs copies it to a temporary directory together with the library
# (nix/ as ./lib) and tests/nix/describe.nix, then evaluates it through `path:`.
{
  outputs =
    { self }:
    let
      inherit (import ./lib) buildClan;
      describe = import ./describe.nix { root = ./.; };
      describeSelf = import ./describe.nix { root = self.outPath; };
      recordArguments = args: { inherit args; };

      clan = buildClan {
        directory = ./.;
        nixosSystem = recordArguments;
        meta.description = "from the meta argument";
        inventory = {
          machines.a.tags = [
            "y"
            "x"
          ];
          services.backup.one.roles.client.tags = [
            "x"
            "y"
            "all"
          ];
          services.extra.e.roles.member.machines = [ "b" ];
          services.inline.s.roles.solo.machines = [ "d" ];
        };
        # Beside modules/: a module directory, and a module given as `{ roles; }`.
        modules = {
          extra = ./extra-module;
          inline.roles.solo = {
            id = "solo";
          };
        };
        machines.d = {
          networking.domain = "d.test";
        };
        specialArgs.answer = 42;
      };

      # Every machine's modules: the two of buildClan, then exactly those of the resolution.
      moduleListsAgree = builtins.all (
        m:
        let
          given = clan.nixosConfigurations.${m}.args.modules;
          resolved = clan.clanInternals.resolved.machines.${m}.modules;
        in
        describe (builtins.tail (builtins.tail given)) == describe resolved
      ) (builtins.attrNames clan.nixosConfigurations);
    in
    {
      # What `clan-inventory --flake` reads (tests/nix/cli_clan.rs).
      inherit (clan) clanInternals;

      # Plain data for `nix eval --json`.
      summary = {
        machines = builtins.mapAttrs (_: c: describe c.args) clan.nixosConfigurations;
        inventory = describe clan.clanInternals.inventory;
        modules = describe clan.clanInternals.modules;
        inherit moduleListsAgree;
      };

      conflict = buildClan {
        directory = ./conflict;
        nixosSystem = recordArguments;
        inventory.machines.a.deploy.targetHost = "root@nix";
      };

      # `directory = self`: a flake's own source, given as an attribute set with outPath.
      fromSelf =
        let
          c = buildClan {
            directory = self;
            nixosSystem = recordArguments;
          };
        in
        describeSelf (builtins.mapAttrs (_: m: m.modules) c.clanInternals.resolved.machines);

      missingNixpkgs = (buildClan { directory = ./conflict; }).nixosConfigurations.a;
    };
}
