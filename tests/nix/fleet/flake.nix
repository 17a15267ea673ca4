# The flake around a generated fleet (`bench/gen_fleet.py --flake`), for nix-eval-jobs: buildClan
# over the generated clan directory with a stand-in for nixosSystem that turns each machine's
# module list into a real derivation (its drvPath depends on every module of the list, and
# building it writes them out), one job per NixOS machine in `hydraJobs`.
#
# Beside it: nix/ as ./lib, tests/nix/describe.nix, and optionally ./test.nix, an attribute set
# `{ valid ? { }; invalid ? { }; }` of further buildClan arguments for `hydraJobs` and
# `invalidJobs` (tests/eval_jobs.rs uses it for a machine that throws and an invalid inventory).
# Each job's `meta.resolvedBy` says which implementation resolved the inventory in the evaluator
# that evaluated the job; it is not part of the derivation, so drvPaths are the same either way.
{
  outputs =
    { ... }:
    let
      inherit (import ./lib) buildClan;
      # ./. rather than self.outPath: with a store in another directory, Nix 2.26 gives the paths of
      # the flake its physical location, and the description must not depend on it.
      describe = import ./describe.nix { root = ./.; };
      test = if builtins.pathExists ./test.nix then import ./test.nix else { };
      resolvedBy = if builtins ? clanInventory then "builtins.clanInventory" else "nix/inventory.nix";

      # A module as the stand-in's derivation depends on it: without `clan.inventory` (the
      # members of every role of the instance, the same for every machine in it, and a list of
      # the whole fleet for a role filled by tag `all`, which would make describing one machine
      # cost as much as the fleet) and without `warnings` (which NixOS prints, and which are not
      # part of a system's derivation). Each module is still told apart by its `_file`, its path
      # or its settings.
      withoutFleetData =
        m:
        if builtins.isAttrs m && m ? config && builtins.isAttrs m.config then
          m
          // {
            config =
              removeAttrs m.config [ "warnings" ]
              // (if m.config ? clan then { clan = removeAttrs m.config.clan [ "inventory" ]; } else { });
          }
        else
          m;

      # buildClan passes { modules, specialArgs }; its second module is the machine's own, whose
      # `_file` ends in the machine's name.
      standInNixosSystem =
        { modules, ... }:
        let
          name = baseNameOf (builtins.elemAt modules 1)._file;
          toplevel = derivation {
            name = "stand-in-nixos-${name}";
            system = "x86_64-linux";
            builder = "/bin/sh";
            args = [
              "-c"
              "echo \"$modules\" > $out"
            ];
            modules = builtins.toJSON (describe (map withoutFleetData modules));
          };
        in
        {
          config.system.build.toplevel = toplevel // {
            meta = { inherit resolvedBy; };
          };
        };

      clan =
        args:
        buildClan (
          {
            directory = ./.;
            nixosSystem = standInNixosSystem;
            # Forced once by each resolution of the inventory: stderr counts the resolutions.
            modules = builtins.trace "clan-inventory fleet: resolving the inventory" { };
          }
          // args
        );
      jobs = c: builtins.mapAttrs (_: m: m.config.system.build.toplevel) c.nixosConfigurations;
      valid = clan (test.valid or { });
    in
    {
      hydraJobs = jobs valid;
      invalidJobs = jobs (clan (test.invalid or { }));
      # For `clan-inventory --flake` and the attributes of `select --attrs` (tests/nix/cli_clan.rs).
      inherit (valid) nixosConfigurations clanInternals;
    };
}
