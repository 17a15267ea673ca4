#!/usr/bin/env python3
"""Deterministic fleet generator for the clan-inventory benchmarks.

Writes, into OUT_DIR, a clan of N machines and S services x I instances:

  inventory.json      the inventory (machines with tags and deploy hosts, global tags, services)
  modules.nix         the `modules` argument: roles as paths to generated files (and a few inline
                      attribute sets), constraints
  modules/<svc>/      one clan module directory per service: roles/<role>.nix and a README.md whose
                      TOML front matter carries the same constraints (the shape buildClan discovers)
  extra/              the files that string `extraModules` entries point to

The same arguments always give byte-identical files (no clock, no randomness source other than a
fixed hash of the names). Python 3 standard library only.

Shape of the fleet:
  - machine i is `m<i>` (zero-padded), in rack `rack-<i/40>` and zone `zone-<rack mod 8>`;
    about a third carry `web`, a fifth `db`, a sixth `cache`; every 50th is darwin;
    all have deploy.targetHost, every 10th also deploy.buildHost;
  - global tags: `backup` (every 7th machine), `monitoring` (every 25th);
  - services cycle through four kinds of module, so roles are filled both by explicit machines
    and by tags (computed `all`, zones, racks, functional and global tags):
      kind 0 mesh:       controller = 1 explicit machine (max 1); peer = tag all
      kind 1 backup:     server = 2 explicit (min 1, max 3); client = 2 zone tags + tag backup
      kind 2 monitoring: server = 1 explicit; agent = tags monitoring, db
      kind 3 web:        lb = 2 explicit (min 2); frontend = tag web + 2 racks; backend = tag db
  - config at the three levels: every instance has instance config, one role config, and
    machine config for its explicit machines, about N/200 other members and one machine in
    no role (an entry the builtin warns about);
  - extraModules: string entries (relative to the clan directory) on instances and roles;
  - every 20th instance is disabled.
"""

import argparse
import json
import os
import shutil
import sys

MASK = (1 << 64) - 1


def mix(*parts):
    """A fixed 64-bit hash (splitmix64 over FNV-1a of the parts), stable across Python versions."""
    h = 0xCBF29CE484222325
    for b in "/".join(str(p) for p in parts).encode():
        h = ((h ^ b) * 0x100000001B3) & MASK
    h = (h + 0x9E3779B97F4A7C15) & MASK
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK
    return h ^ (h >> 31)


KINDS = [
    ("mesh", ["controller", "peer"], {"controller": {"max": 1}}),
    ("backup", ["client", "server"], {"server": {"min": 1, "max": 3}}),
    ("monitoring", ["agent", "server"], {}),
    ("web", ["backend", "frontend", "lb"], {"lb": {"min": 2}}),
]
RACK_SIZE = 40
ZONES = 8


def machine_names(n):
    width = max(5, len(str(n - 1)))
    return [f"m{i:0{width}d}" for i in range(n)]


def gen_machines(names, darwin=True):
    """The machines of a fleet: rack, zone and functional tags, deploy hosts, a class (every 50th
    darwin when `darwin`), a description."""
    machines = {}
    for i, m in enumerate(names):
        rack = i // RACK_SIZE
        tags = [f"rack-{rack:04d}", f"zone-{rack % ZONES}"]
        h = mix("machine", m)
        if h % 3 == 0:
            tags.append("web")
        if (h >> 8) % 5 == 0:
            tags.append("db")
        if (h >> 16) % 6 == 0:
            tags.append("cache")
        entry = {"tags": tags, "deploy": {"targetHost": f"root@{m}.fleet.example"}}
        if i % 10 == 0:
            entry["deploy"]["buildHost"] = "root@builder.fleet.example"
        if darwin and i % 50 == 49:
            entry["machineClass"] = "darwin"
        elif i % 3 == 0:
            entry["machineClass"] = "nixos"
        if i % 4 == 0:
            entry["description"] = f"machine {i} in rack {rack}"
        machines[m] = entry
    return machines


def pick(names, k, *seed):
    """k distinct machines chosen by hash (deterministic)."""
    n = len(names)
    out, seen = [], set()
    j = 0
    while len(out) < min(k, n):
        m = names[mix(*seed, j) % n]
        if m not in seen:
            seen.add(m)
            out.append(m)
        j += 1
    return out


def gen_instance(names, machine_tags, svc, kind, inst, ordinal):
    n = len(names)
    racks = max(1, (n + RACK_SIZE - 1) // RACK_SIZE)
    seed = (svc, inst)
    roles = {}
    if kind == 0:
        explicit = pick(names, 1, *seed, "controller")
        roles["controller"] = {"machines": explicit}
        roles["peer"] = {"tags": ["all"], "config": {"mtu": 1400, "keepalive": 25}}
    elif kind == 1:
        explicit = pick(names, 2, *seed, "server")
        z = (ordinal * 2) % ZONES
        roles["server"] = {"machines": explicit, "config": {"repository": "/srv/backup", "retention": {"daily": 7, "weekly": 4}}}
        roles["client"] = {"tags": [f"zone-{z}", f"zone-{(z + 1) % ZONES}", "backup"], "extraModules": ["extra/backup-client.nix"]}
    elif kind == 2:
        explicit = pick(names, 1, *seed, "server")
        roles["server"] = {"machines": explicit, "config": {"retentionDays": 30}}
        roles["agent"] = {"tags": ["monitoring", "db"]}
    else:
        explicit = pick(names, 2, *seed, "lb")
        r0 = mix(*seed, "racks") % racks
        roles["lb"] = {"machines": explicit}
        roles["frontend"] = {"tags": ["web", f"rack-{r0:04d}", f"rack-{(r0 + 1) % racks:04d}"], "config": {"workers": 8}}
        roles["backend"] = {"tags": ["db"], "machines": explicit[:1]}
    # Machine config for the explicit machines and about N/200 other members of the instance, as a
    # user gives it; plus one machine that is in no role when there is one, so that the warning
    # about ignored entries is exercised (before issue 15 about half of the N/200 were in no role:
    # 24,387 warnings at 50,000 machines x 200 instances, which no real inventory carries).
    tags = {t for r in roles.values() for t in r.get("tags", [])}
    listed = {m for r in roles.values() for m in r.get("machines", [])}

    def member(m):
        return m in listed or any(t in tags for t in machine_tags[m])

    k = (n + 199) // 200
    members = [m for m in pick(names, 4 * k, *seed, "overrides") if member(m)][:k]
    strays = [m for m in pick(names, 8, *seed, "stray") if not member(m)][:1]
    overrides = set(explicit) | set(members) | set(strays)
    instance = {
        "config": {"port": 4000 + ordinal, "domain": f"{svc}.{inst}.fleet.example", "settings": {"retries": 3, "verbose": False, "paths": ["/var/lib", "/etc"]}},
        "machines": {m: {"config": {"priority": mix(*seed, m) % 100}} for m in sorted(overrides)},
        "roles": roles,
    }
    if kind == 3:
        instance["extraModules"] = ["extra/web-common.nix"]
    if ordinal % 20 == 19:
        instance["enabled"] = False
    return instance


def nix_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def generate(out, n, services, instances):
    names = machine_names(n)
    inv_services = {}
    machines = gen_machines(names)
    global_tags = {"backup": names[::7], "monitoring": names[::25]}
    # Every machine's tags as roles see them: its own, the global ones naming it, and `all`.
    machine_tags = {m: set(e["tags"]) | {"all"} for m, e in machines.items()}
    for t, ms in global_tags.items():
        for m in ms:
            machine_tags[m].add(t)
    modules_nix = ["# Generated by bench/gen_fleet.py: the `modules` argument of clanInventory.", "{"]
    ordinal = 0
    for s in range(services):
        kind = s % len(KINDS)
        kind_name, roles, constraints = KINDS[kind]
        svc = f"{kind_name}{s:02d}"
        mdir = os.path.join(out, "modules", svc, "roles")
        os.makedirs(mdir, exist_ok=True)
        front = ["---", "[constraints]"]
        for r, c in sorted(constraints.items()):
            for k, v in sorted(c.items()):
                front.append(f"roles.{r}.{k} = {v}")
        front.append("---")
        write(os.path.join(out, "modules", svc, "README.md"), "\n".join(front) + f"\n# {svc}\n\nA generated {kind_name} module.\n")
        role_values = []
        for r in roles:
            write(os.path.join(mdir, f"{r}.nix"), f"{{ config, lib, ... }}:\n{{\n  # role {r} of the generated {kind_name} module {svc}\n}}\n")
            # Kind 2 gives its agent role as an inline attribute set, the others as paths.
            if kind == 2 and r == "agent":
                role_values.append(f"{r} = {{ _file = {nix_string(f'bench/{svc}/{r}')}; }};")
            else:
                role_values.append(f"{r} = ./modules/{svc}/roles/{r}.nix;")
        cons = " ".join(
            f"{r} = {{ {' '.join(f'{k} = {v};' for k, v in sorted(c.items()))} }};" for r, c in sorted(constraints.items())
        )
        modules_nix.append(f"  {svc} = {{")
        modules_nix.append(f"    roles = {{ {' '.join(role_values)} }};")
        if cons:
            modules_nix.append(f"    constraints.roles = {{ {cons} }};")
        modules_nix.append("  };")
        inv_services[svc] = {}
        for i in range(instances):
            inst = f"i{i:02d}"
            inv_services[svc][inst] = gen_instance(names, machine_tags, svc, kind, inst, ordinal)
            ordinal += 1
    modules_nix.append("}")
    inventory = {
        "meta": {"name": f"bench-{n}x{services}x{instances}", "description": "generated by bench/gen_fleet.py"},
        "machines": machines,
        "tags": global_tags,
        "services": inv_services,
    }
    os.makedirs(os.path.join(out, "extra"), exist_ok=True)
    for f in ["backup-client.nix", "web-common.nix"]:
        write(os.path.join(out, "extra", f), "{ ... }:\n{\n}\n")
    write(os.path.join(out, "modules.nix"), "\n".join(modules_nix) + "\n")
    write(os.path.join(out, "inventory.json"), json.dumps(inventory, sort_keys=True, separators=(",", ":")) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="output directory (created)")
    p.add_argument("--machines", "-n", type=int, required=True)
    p.add_argument("--services", "-s", type=int, default=20)
    p.add_argument("--instances", "-i", type=int, default=2, help="instances per service")
    p.add_argument(
        "--flake",
        action="store_true",
        help="also make OUT_DIR a flake for nix-eval-jobs: tests/nix/fleet/flake.nix, nix/ as lib/, tests/nix/describe.nix",
    )
    a = p.parse_args()
    if a.machines < 1 or a.services < 1 or a.instances < 1:
        sys.exit("gen_fleet: --machines, --services and --instances must be positive")
    os.makedirs(a.out, exist_ok=True)
    generate(a.out, a.machines, a.services, a.instances)
    if a.flake:
        write_flake(a.out)


def write_flake(out):
    """The files that make a generated clan a flake with one job per machine (hydraJobs)."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shutil.copyfile(os.path.join(repo, "tests", "nix", "fleet", "flake.nix"), os.path.join(out, "flake.nix"))
    shutil.copyfile(os.path.join(repo, "tests", "nix", "describe.nix"), os.path.join(out, "describe.nix"))
    shutil.rmtree(os.path.join(out, "lib"), ignore_errors=True)
    shutil.copytree(os.path.join(repo, "nix"), os.path.join(out, "lib"))


if __name__ == "__main__":
    main()
