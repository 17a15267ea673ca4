# The measured evaluations of scripts/bench-instances on clan-inventory, for a fleet written by
# bench/gen_instances.py (clan.service modules, `inventory.instances`).
#
#   mode "builtin"  buildClan with builtins.clanInventory (the plugin must be loaded)
#   mode "pure"     buildClan with nix/inventory.nix (the plugin must not be loaded)
#
# Both go through the fleet's clan.nix, that is buildClan as a user calls it, with nixpkgs' lib
# (the module system that evaluates the service modules and settings) and, instead of
# nixpkgs.lib.nixosSystem, a function that returns its argument: `nixosConfigurations.<m>.modules`
# is then the module list nixosSystem would get. Everything but the NixOS evaluation itself runs.
#
# Workloads (the same as in the clan-core harness, so that the numbers compare):
#
#   list      every machine: its module list, each element forced to WHNF
#   tree      every machine: the module tree below the list, as the module system collects it:
#             each module to WHNF and, for attribute sets, its `imports` list, recursively
#             (function modules are not called, paths are not read); this evaluates every
#             perInstance and perMachine of every machine, not their settings
#   settings  every machine: deepSeq of its module list, which evaluates every settings value
#             (the fleet's nixosModules carry them) and forces the whole result
#   one       the middle machine (sorted names) alone: deepSeq of its module list
#   digest    sha256 over every machine's sorted `config.bench` values found in the tree: the
#             same fleet must give the same digest here and in clan-core (the perInstance and
#             perMachine results, with the settings as evaluated, lists in their merge order)
#   dump      machine `machine`'s `config.bench` values, as JSON strings (to see a difference)
{
  fleet, # path of a directory written by bench/gen_instances.py
  mode, # "builtin" | "pure"
  repo, # path of the clan-inventory checkout
  nixpkgsLib, # path of nixpkgs' lib directory
  workload ? "tree",
  machine ? null,
}:
let
  inherit (builtins)
    attrNames
    concatMap
    deepSeq
    elemAt
    foldl'
    isAttrs
    length
    seq
    sort
    toJSON
    ;
  lib = import nixpkgsLib;
  plugin = builtins ? clanInventory;
  checked =
    if mode == "builtin" && !plugin then
      throw "bench/instances.nix: mode builtin needs the plugin loaded"
    else if mode == "pure" && plugin then
      throw "bench/instances.nix: mode pure must run without the plugin (buildClan would use it)"
    else if mode != "builtin" && mode != "pure" then
      throw "bench/instances.nix: unknown mode '${mode}'"
    else
      true;

  clan = import (fleet + "/clan.nix") {
    buildClan = import (repo + "/nix/build-clan.nix");
    nixpkgs = {
      inherit lib;
    };
    nixosSystem = args: args;
  };

  configurations = clan.nixosConfigurations;
  names = attrNames configurations;
  modulesOf = n: configurations.${n}.modules;
  middle = elemAt names (length names / 2);

  walk =
    m:
    if isAttrs m && m ? imports then foldl' (acc: x: acc + walk x) 1 m.imports else seq m 1;
  walkList = foldl' (acc: x: acc + walk x) 0;
  whnfList = foldl' (acc: x: seq x (acc + 1)) 0;
  deep = l: deepSeq l (length l);
  sumOver = f: foldl' (acc: n: acc + f (modulesOf n)) 0 names;

  bench =
    m:
    if !isAttrs m then
      [ ]
    else
      (if m ? config && isAttrs m.config && m.config ? bench then [ m.config.bench ] else [ ])
      ++ concatMap bench (m.imports or [ ]);
  benchOf = l: sort (a: b: a < b) (map toJSON (concatMap bench l));

  measured =
    if workload == "list" then
      sumOver whnfList
    else if workload == "tree" then
      sumOver walkList
    else if workload == "settings" then
      sumOver deep
    else if workload == "one" then
      deep (modulesOf middle)
    else if workload == "digest" then
      builtins.hashString "sha256" (toJSON (lib.genAttrs names (n: benchOf (modulesOf n))))
    else if workload == "dump" then
      benchOf (modulesOf machine)
    else
      throw "bench/instances.nix: unknown workload '${workload}'";
in
seq checked measured
