# The three measured evaluations of scripts/bench, on the same generated fleet:
#
#   floor    read the inventory (fromJSON) and the modules argument, and force all of it (deepSeq)
#   builtin  the floor, then builtins.clanInventory, forcing the structure of the result
#   pure     the floor, then nix/inventory.nix (the pure-Nix implementation), forcing the same
#
# Two workloads (`workload`):
#
#   "fleet"  the structure of the whole result (below);
#   "one"    what building one NixOS machine needs from the inventory: one machine's `modules`
#            (length), `tags` and `services`, plus `warnings` and `assertions` (the machine in the
#            middle of the sorted names, so that no implementation is favoured by order).
#
# "Structure" is what a tool that lists machines needs: every machine's tags, its service roles and
# the length of its module list, every instance's role members, warnings and assertion messages. The
# user's values inside the module lists (configs, role modules, extra modules) are not forced.
# The result is a small integer, so that printing costs nothing.
#
# `passes` and `force` serve `scripts/bench --forcing`, which measures what forcing the structure
# costs by itself: the structure is walked `passes` times (the first pass forces it, later ones only
# walk it again), either with a `deepSeq` per machine ("each", the default, as a tool reading one
# machine after another would) or with one `deepSeq` over all machines ("once", which walks values
# shared between machines once).
{
  fleet, # path of a directory written by bench/gen_fleet.py
  mode, # "floor" | "builtin" | "pure"
  repo, # path of the clan-inventory checkout (for nix/inventory.nix)
  passes ? 1,
  force ? "each", # "each" | "once"
  workload ? "fleet", # "fleet" | "one"
}:
let
  inherit (builtins)
    attrNames
    attrValues
    deepSeq
    elemAt
    foldl'
    length
    seq
    ;
  inventory = builtins.fromJSON (builtins.readFile (fleet + "/inventory.json"));
  modules = import (fleet + "/modules.nix");
  arg = {
    inherit inventory modules;
    directory = fleet;
  };
  # `names` is shared with the choice of one machine below, so that every mode sorts the machine
  # names once (50,000 names cost 10 % of the floor's instructions in their sort).
  input = deepSeq arg (length names);

  resolve =
    if mode == "builtin" then
      builtins.clanInventory
    else if mode == "pure" then
      import (repo + "/nix/inventory.nix")
    else
      throw "bench/eval.nix: unknown mode '${mode}'";

  structure =
    r:
    let
      machines = attrValues r.machines;
      lengths = foldl' (acc: m: acc + length m.modules) 0 machines;
      perMachine =
        if force == "each" then
          foldl' (acc: m: acc + deepSeq m.tags (deepSeq m.services (length m.modules))) 0 machines
        else if force == "once" then
          deepSeq (map (m: [
            m.tags
            m.services
          ]) machines) lengths
        else
          throw "bench/eval.nix: unknown force '${force}'";
      instances = deepSeq r.services (length (attrNames r.services));
    in
    deepSeq r.warnings (deepSeq r.assertions (perMachine + instances));

  walk = r: foldl' (acc: _: acc + structure r) 0 (builtins.genList (i: i) passes);

  names = attrNames inventory.machines;
  middle = elemAt names (length names / 2);
  one =
    r:
    let
      m = r.machines.${middle};
    in
    deepSeq r.warnings (
      deepSeq r.assertions (deepSeq m.tags (deepSeq m.services (length m.modules + length r.assertions)))
    );

  measured =
    if workload == "fleet" then
      walk
    else if workload == "one" then
      one
    else
      throw "bench/eval.nix: unknown workload '${workload}'";
in
if mode == "floor" then input else seq input (measured (resolve arg))
