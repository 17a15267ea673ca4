#!/usr/bin/env python3
"""Deterministic fleet generator for the clan services benchmarks (`inventory.instances`).

Writes, into OUT_DIR, a clan of N machines and S `clan.service` modules x I instances, in two forms
that share their data files:

  inventory.json   machines (tags, class, deploy hosts), global tags, `instances`, meta
  services.nix     the S clan.service modules: { <name> = { ... }: { _class = "clan.service"; ... }; }
  clan.nix         our form: a function { buildClan, nixpkgs, ... }: buildClan { ... } over this directory
  clan-core.nix    clan-core's form: the `clan` module a clan-core user writes (directory, modules);
                   clan-core's lib.clan reads inventory.json from the directory itself

The same arguments always give byte-identical files. Python 3 standard library only.

Shape of the fleet:
  - machine i is `m<i>` (zero-padded), in rack `rack-<i/40>` and zone `zone-<rack mod 8>`, with
    `web`, `db` and `cache` tags by hash, deploy.targetHost (every 10th also buildHost); every third
    says machineClass = "nixos" (no darwin machines: both implementations build the same class);
  - global tags: `backup` (every 7th machine), `monitoring` (every 25th);
  - every instance names its module with `input = "self"` (the clan's own modules on both sides);
  - service modules cycle through four kinds; roles are filled by explicit machines and by tags
    (the computed `all`, zones, racks, functional and global tags), tags in list and attribute form:
      kind 0 mesh:       controller = 1 explicit (max 1); peer = tags [ all ] (list form)
      kind 1 backup:     server = 2 explicit (max 3); client = tags { zone-a, zone-b, backup }
      kind 2 monitoring: server = 1 explicit; agent = tags { monitoring, db }
      kind 3 web:        lb = 2 explicit (min 2); frontend = tags { web, 2 racks }; backend = tags [ db ] + 1 explicit
  - settings at the three levels, none of them conflicting: every role `settings` (port, domain,
    paths), each attribute-form tag `settings` (labels), `machines.<m>.settings` (priority, paths)
    for the explicit machines plus about N/200 machines more (which makes them explicit members);
  - every role's `interface` declares port, domain, priority, verbose and the list options labels
    and paths; `perInstance` returns a small nixosModule carrying the evaluated settings, `perMachine`
    one carrying the machine's roles and instances; backup clients and web frontends have an
    attribute-set module in `extraModules`.
"""

import argparse
import json
import os
import sys

from gen_fleet import RACK_SIZE, ZONES, gen_machines, machine_names, mix, pick

KINDS = [
    ("mesh", ["controller", "peer"], {"controller": {"maxMachines": 1}}),
    ("backup", ["client", "server"], {"server": {"maxMachines": 3}}),
    ("monitoring", ["agent", "server"], {}),
    ("web", ["backend", "frontend", "lb"], {"lb": {"minMachines": 2}}),
]


def tag_settings(tags):
    """The attribute form of tags: each with its own labels."""
    return {t: {"settings": {"labels": [f"tag:{t}"]}} for t in tags}


def gen_instance(names, svc, kind, inst, ordinal):
    n = len(names)
    racks = max(1, (n + RACK_SIZE - 1) // RACK_SIZE)
    seed = (svc, inst)
    roles = {}
    if kind == 0:
        explicit = {"controller": pick(names, 1, *seed, "controller")}
        roles["controller"] = {}
        roles["peer"] = {"tags": ["all"]}
        tagged = "peer"
    elif kind == 1:
        explicit = {"server": pick(names, 2, *seed, "server")}
        zones = min(ZONES, racks)  # the zones that have machines
        z = (ordinal * 2) % zones
        roles["server"] = {}
        roles["client"] = {
            "tags": tag_settings(sorted({f"zone-{z}", f"zone-{(z + 1) % zones}", "backup"})),
            "extraModules": [{"_file": f"bench/extra/{svc}/client", "config": {"bench": {"extra": {svc: "client"}}}}],
        }
        tagged = "client"
    elif kind == 2:
        explicit = {"server": pick(names, 1, *seed, "server")}
        roles["server"] = {}
        roles["agent"] = {"tags": tag_settings(["monitoring", "db"])}
        tagged = "agent"
    else:
        explicit = {"lb": pick(names, 2, *seed, "lb")}
        r0 = mix(*seed, "racks") % racks
        explicit["backend"] = explicit["lb"][:1]
        roles["lb"] = {}
        roles["frontend"] = {
            "tags": tag_settings(sorted({"web", f"rack-{r0:04d}", f"rack-{(r0 + 1) % racks:04d}"})),
            "extraModules": [{"_file": f"bench/extra/{svc}/frontend", "config": {"bench": {"extra": {svc: "frontend"}}}}],
        }
        roles["backend"] = {"tags": ["db"]}
        tagged = "frontend"
    # Machine-level settings: the explicit members, and about N/200 more in the tagged role.
    extra = pick(names, (n + 199) // 200, *seed, "overrides")
    explicit.setdefault(tagged, [])
    explicit[tagged] = sorted(set(explicit[tagged]) | set(extra))
    for r, ms in explicit.items():
        roles.setdefault(r, {})["machines"] = {
            m: {"settings": {"priority": mix(*seed, r, m) % 100, "paths": [f"/srv/{m}"]}} for m in sorted(ms)
        }
    for r in sorted(roles):
        roles[r]["settings"] = {
            "port": 4000 + ordinal,
            "domain": f"{r}.{inst}.{svc}.fleet.example",
            "paths": [f"/var/lib/{svc}"],
        }
    return {"module": {"name": svc, "input": "self"}, "roles": roles}


def nix_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


def service_module(svc, kind_name, roles, constraints):
    """One clan.service module as Nix text (a function module)."""
    out = [f"  {svc} =", "    { ... }:", "    {", '      _class = "clan.service";']
    out.append(f"      manifest.name = {nix_string(svc)};")
    out.append(f"      manifest.description = {nix_string(f'A generated {kind_name} service')};")
    out.append(f"      manifest.readme = {nix_string(f'# {svc}')};")
    for r, c in sorted(constraints.items()):
        for k, v in sorted(c.items()):
            out.append(f"      manifest.constraints.roles.{r}.{k} = {v};")
    for r in roles:
        out.append(f"      roles.{r} = {{")
        out.append(f"        description = {nix_string(f'the {r} of {svc}')};")
        out.append("        interface = interface;")
        out.append("        perInstance =")
        out.append("          { instanceName, settings, machine, ... }:")
        out.append("          {")
        out.append(f"            nixosModule.config.bench.instances.\"{svc}/${{instanceName}}/{r}\" = {{")
        out.append("              inherit (settings) port domain priority verbose labels paths;")
        out.append("              machine = machine.name;")
        out.append("              roles = machine.roles;")
        out.append("            };")
        out.append("          };")
        out.append("      };")
    out.append("      perMachine =")
    out.append("        { machine, instances, ... }:")
    out.append("        {")
    out.append(f"          nixosModule.config.bench.machines.{svc} = {{")
    out.append("            inherit (machine) roles;")
    out.append("            instances = builtins.attrNames instances;")
    out.append("          };")
    out.append("        };")
    out.append("    };")
    return out


INTERFACE = """  # The settings interface of every role: scalars and two list options.
  interface =
    { lib, ... }:
    let
      inherit (lib) mkOption types;
    in
    {
      options = {
        port = mkOption { type = types.port; default = 0; };
        domain = mkOption { type = types.str; default = ""; };
        priority = mkOption { type = types.int; default = 50; };
        verbose = mkOption { type = types.bool; default = false; };
        labels = mkOption { type = types.listOf types.str; default = [ ]; };
        paths = mkOption { type = types.listOf types.str; default = [ ]; };
      };
    };"""


CLAN_NIX = """# Generated by bench/gen_instances.py: this fleet in clan-inventory's form. buildClan reads
# ./inventory.json; the clan.service modules are the clan's own (module.input = "self").
{
  buildClan,
  nixpkgs,
  nixosSystem ? null,
}:
buildClan {
  directory = ./.;
  modules = import ./services.nix;
  inherit nixpkgs nixosSystem;
}
"""

CLAN_CORE_NIX = """# Generated by bench/gen_instances.py: this fleet in clan-core's form, the module a clan-core user
# passes to clan-core's lib.clan (which reads ./inventory.json from `directory` itself).
{
  directory = ./.;
  modules = import ./services.nix;
}
"""


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def generate(out, n, services, instances):
    names = machine_names(n)
    inv_instances = {}
    lines = [
        "# Generated by bench/gen_instances.py: the clan.service modules of the fleet.",
        "let",
        INTERFACE,
        "in",
        "{",
    ]
    ordinal = 0
    for s in range(services):
        kind = s % len(KINDS)
        kind_name, roles, constraints = KINDS[kind]
        svc = f"{kind_name}{s:02d}"
        lines.extend(service_module(svc, kind_name, roles, constraints))
        for i in range(instances):
            inst = f"{svc}-i{i}"
            inv_instances[inst] = gen_instance(names, svc, kind, inst, ordinal)
            ordinal += 1
    lines.append("}")
    inventory = {
        "meta": {"name": f"bench-{n}x{services}x{instances}", "description": "generated by bench/gen_instances.py"},
        "machines": gen_machines(names, darwin=False),
        "tags": {"backup": names[::7], "monitoring": names[::25]},
        "instances": inv_instances,
    }
    write(os.path.join(out, "services.nix"), "\n".join(lines) + "\n")
    write(os.path.join(out, "inventory.json"), json.dumps(inventory, sort_keys=True, separators=(",", ":")) + "\n")
    write(os.path.join(out, "clan.nix"), CLAN_NIX)
    write(os.path.join(out, "clan-core.nix"), CLAN_CORE_NIX)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="output directory (created)")
    p.add_argument("--machines", "-n", type=int, required=True)
    p.add_argument("--services", "-s", type=int, default=20)
    p.add_argument("--instances", "-i", type=int, default=2, help="instances per service")
    a = p.parse_args()
    if a.machines < 1 or a.services < 1 or a.instances < 1:
        sys.exit("gen_instances: --machines, --services and --instances must be positive")
    os.makedirs(a.out, exist_ok=True)
    generate(a.out, a.machines, a.services, a.instances)


if __name__ == "__main__":
    main()
