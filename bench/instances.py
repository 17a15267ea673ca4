#!/usr/bin/env python3
"""The clan services benchmark behind scripts/bench-instances (issue 12).

For every fleet size, generates the fleet with bench/gen_instances.py (cached under
target/bench/fleets-instances), then times `nix eval` of bench/instances.nix in the modes builtin
(plugin loaded) and pure (no plugin), and -- when --clan-core names the harness -- clan-core's own
resolution of the same fleet, for the workloads list, tree, settings and one (see
bench/instances.nix). Each Nix runs isolated (bench/isolated.py); CPU time is the child's user +
system time and peak memory its ru_maxrss, both from wait4. One unmeasured warm-up run per cell,
then --runs measured runs, the modes interleaved. Before timing a fleet, the modes' `digest`
results are compared (--check): they must agree, or the benchmark stops.
"""

import argparse
import dataclasses
import datetime
import glob
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

from isolated import isolated_env
from run import Runs, Sample, fmt_t, ints, machine_info, ratio, summary, update_markdown

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
MODES = ["builtin", "pure", "clan-core"]
WORKLOADS = ["list", "tree", "settings", "one"]
OOM = "out of memory"  # what Nix.run returns when the evaluation hit --memory-limit
LIGHT = ["list", "one"]  # the workloads that run at every size (see --full-up-to)
WHAT = {
    "list": "every machine's module list, each element to WHNF",
    "tree": "every machine's module tree (each module to WHNF, `imports` recursively; functions not called)",
    "settings": "every machine's module list deepSeq'd (every settings value evaluated)",
    "one": "one machine's module list deepSeq'd (the middle one of the sorted names)",
}


def fleet_dir(n):
    h = hashlib.sha256()
    for f in ("gen_instances.py", "gen_fleet.py"):
        with open(os.path.join(BENCH, f), "rb") as fh:
            h.update(fh.read())
    out = os.path.join(REPO, "target", "bench", "fleets-instances", f"n{n}-s20x2-{h.hexdigest()[:12]}")
    if not os.path.exists(os.path.join(out, ".complete")):
        shutil.rmtree(out, ignore_errors=True)
        print(f"[bench-instances] generating fleet of {n} machines x 20 services x 2 instances", file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(BENCH, "gen_instances.py"), out, "-n", str(n)], check=True)
        open(os.path.join(out, ".complete"), "w").close()
    return out


def nixpkgs_lib(given):
    """nixpkgs' lib: --nixpkgs-lib, else the unpacked one in the cache, else ../shared's tarball
    unpacked under target/bench/."""
    if given:
        return os.path.abspath(given)
    cached = os.path.expanduser("~/.cache/clan-inventory/nixpkgs-lib/nixpkgs-lib/lib")
    if os.path.exists(os.path.join(cached, "default.nix")):
        return cached
    out = os.path.join(REPO, "target", "bench", "nixpkgs-lib")
    if not os.path.exists(os.path.join(out, "nixpkgs-lib", "lib", "default.nix")):
        tars = sorted(glob.glob(os.path.join(REPO, "..", "shared", "nixpkgs-lib", "nixpkgs-lib-*.tar.gz")))
        if not tars:
            sys.exit("bench-instances: nixpkgs' lib not found; pass --nixpkgs-lib <dir of lib/default.nix> "
                     "(see ../shared/nixpkgs-lib/README.md)")
        os.makedirs(out, exist_ok=True)
        with tarfile.open(tars[-1]) as t:
            t.extractall(out)
    return os.path.join(out, "nixpkgs-lib", "lib")


def nix_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


def nix_path(p):
    return f"(/. + {nix_str(os.path.abspath(p))})"


class Nix:
    """An isolated Nix; the plugin is loaded only for the builtin mode."""

    def __init__(self, nix, plugin, lib, harness, memory_limit=0):
        self.nix, self.plugin, self.lib, self.harness = nix, plugin, lib, harness
        self.memory_limit = memory_limit  # bytes of address space per nix process, 0: none
        self.tmp = tempfile.mkdtemp(prefix="clan-inventory-bench-instances-", dir=os.path.join(REPO, "target"))
        self.env = isolated_env(self.tmp, "experimental-features = nix-command flakes\nbuild-users-group =\n")

    def expr(self, fleet, mode, workload):
        if mode == "clan-core":
            return f"import {nix_path(self.harness)} {{ fleet = {nix_path(fleet)}; workload = {nix_str(workload)}; nixpkgsLib = {nix_path(self.lib)}; }}"
        return (f"import {nix_path(os.path.join(BENCH, 'instances.nix'))} {{ fleet = {nix_path(fleet)}; mode = {nix_str(mode)}; "
                f"repo = {nix_path(REPO)}; nixpkgsLib = {nix_path(self.lib)}; workload = {nix_str(workload)}; }}")

    def argv(self, mode, expr):
        plugin = ["--option", "plugin-files", self.plugin] if mode == "builtin" else []
        return [self.nix, *plugin, "--store", os.path.join(self.tmp, "store"), "eval", "--impure", "--json", "--expr", expr]

    def run(self, mode, expr, timeout):
        """(wall s, peak KiB, cpu s, printed), None on timeout, OOM when the evaluation ran out of
        the memory limit; raises when nix fails otherwise."""
        limit = self.memory_limit

        def cap():
            if limit:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            p = subprocess.Popen(self.argv(mode, expr), env=self.env, stdout=out, stderr=err, cwd=REPO, preexec_fn=cap)
            while True:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - start > timeout:
                    p.kill()
                    os.wait4(p.pid, 0)
                    return None
                time.sleep(0.002)
            wall = time.perf_counter() - start
            code = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            if code != 0:
                text = err.read().decode(errors="replace")
                if limit and ("out of memory" in text.lower() or "std::bad_alloc" in text or code < 0):
                    return OOM
                err.seek(0)
                raise RuntimeError(f"{mode}: nix eval failed ({code}): {err.read().decode(errors='replace')[-3000:]}")
            return wall, ru.ru_maxrss, ru.ru_utime + ru.ru_stime, out.read().decode().strip()

    def close(self):
        subprocess.run(["chmod", "-R", "u+w", self.tmp], check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


@dataclasses.dataclass
class Fleet:
    n: int
    summaries: dict  # "mode:workload" -> Summary or None
    timeouts: dict
    outs: dict  # "mode:workload" -> what it printed
    digest: dict  # mode -> digest (with --check)


def measure(nix, fleet, keys, runs, timeout, log):
    res = {k: Runs() for k in keys}
    wanted = {k: runs for k in keys}

    def one(key, label):
        mode, workload = key.split(":")
        r = res[key]
        got = nix.run(mode, nix.expr(fleet, mode, workload), timeout)
        if got is None or got == OOM:
            r.timeout = "timeout" if got is None else OOM
            log(f"  {label:8s} {key:18s} " + (f"timeout after {timeout:g} s" if got is None else f"{OOM} (--memory-limit)"))
            return None
        wall, kib, cpu, out = got
        if r.out is not None and out != r.out:
            raise RuntimeError(f"{key}: result changed between runs ({r.out} then {out})")
        r.out = out
        log(f"  {label:8s} {key:18s} {wall:8.3f} s {kib / 1024:8.1f} MiB  cpu {cpu:8.3f} s")
        return Sample(wall=wall, kib=kib, cpu=cpu)

    for key in keys:  # a warm-up each; a slow cell's warm-up counts and it gets fewer runs
        got = one(key, "warm-up")
        if got and got.wall > 20:
            res[key].samples.append(got)
            wanted[key] = 1 if got.wall > 120 else min(runs, 3)
    for rep in range(1, runs + 1):
        for key in keys:
            r = res[key]
            if r.timeout or len(r.samples) >= wanted[key]:
                continue
            got = one(key, f"run {rep}")
            if got:
                r.samples.append(got)
    return res


def render(fleets, args, version, startup):
    lines = [
        f"Run of {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {machine_info()}; "
        f"{version}; plugin built with `cargo build --release --features plugin`."
        + (" **Pilot numbers: the machine was busy.**" if args.pilot else ""),
        "",
        f"Command: `{args.command}`  ",
        f"Fleets of bench/gen_instances.py: machines {', '.join(f'{n:,}' for n in args.sizes)} × 20 clan.service modules × 2 instances. "
        + (f"clan-core: d7c35d9 (`{args.harness_label}`), at {', '.join(f'{n:,}' for n in args.clan_core_sizes)} machines. "
           if args.harness else "clan-core: not run (`--clan-core`). ")
        + f"CPU = user + system seconds of the `nix` process, memory = its peak RSS in MiB, both min / median over "
        f"up to {args.runs} runs after a warm-up (n = runs). `nix eval` of a constant takes "
        f"{startup['pure'][0]:.3f} s and {startup['pure'][1]:.0f} MiB"
        + (f" ({startup['builtin'][0]:.3f} s and {startup['builtin'][1]:.0f} MiB with the plugin loaded)" if "builtin" in startup else "")
        + " (included everywhere). "
        f"tree and settings run up to {args.full_up_to:,} machines (`--full-up-to`; – above).",
        "",
    ]

    def cell(s, failed):
        if s is None:
            if failed == OOM:
                return (f"> {args.memory_limit:g} GiB", f"> {args.memory_limit * 1024:.0f}")
            return ("timeout", "–") if failed else ("–", "–")
        return (f"{fmt_t(s.cpu)} / {fmt_t(s.cpu_med)}", f"{s.mem_min:.0f} / {s.mem_med:.0f}")

    for w in args.workloads:
        lines.append(f"**{w}**: {WHAT[w]}.")
        lines.append("")
        lines.append("| machines | builtin CPU s | builtin MiB | pure CPU s | pure MiB | clan-core CPU s | clan-core MiB | n | "
                     "clan-core/builtin CPU | clan-core/builtin mem | clan-core/pure CPU | pure/builtin CPU |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for f in fleets:
            s = {m: f.summaries.get(f"{m}:{w}") for m in MODES}
            cells = [cell(s[m], f.timeouts.get(f"{m}:{w}")) for m in MODES]
            ns = "/".join(str(s[m].n) if s[m] else "0" for m in MODES)

            def cr(a, b):
                return ratio(s[a] and s[a].cpu, s[b] and s[b].cpu)

            mr = ratio(s["clan-core"] and s["clan-core"].mem_min, s["builtin"] and s["builtin"].mem_min)
            lines.append(f"| {f.n:,} | " + " | ".join(f"{c} | {m}" for c, m in cells)
                         + f" | {ns} | {cr('clan-core', 'builtin')} | {mr} | {cr('clan-core', 'pure')} | {cr('pure', 'builtin')} |")
        lines.append("")
    lines.append("Growth (smallest CPU time, smallest peak) from one size to the next:")
    lines.append("")
    lines.append("| workload | from → to | machines × | builtin CPU | builtin mem | pure CPU | pure mem | clan-core CPU | clan-core mem |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for w in args.workloads:
        for a, b in zip(fleets, fleets[1:]):
            cols = []
            for m in MODES:
                x, y = a.summaries.get(f"{m}:{w}"), b.summaries.get(f"{m}:{w}")
                cols += [ratio(y and y.cpu, x and x.cpu), ratio(y and y.mem_min, x and x.mem_min)]
            lines.append(f"| {w} | {a.n:,} → {b.n:,} | {b.n / a.n:g}× | " + " | ".join(cols) + " |")
    lines.append("")
    lines.extend(targets(fleets))
    checked = [f for f in fleets if f.digest]
    if checked:
        lines.append("Check (`digest`: every machine's perInstance/perMachine values with their evaluated settings): "
                     + "; ".join(f"{f.n:,}: " + (" = ".join(sorted(f.digest)) if len(f.digest) > 1 else f"{next(iter(f.digest))} only")
                                 for f in checked) + ".")
        lines.append("")
    return "\n".join(lines)


def targets(fleets):
    """Issue 12's targets, from the builtin's numbers (CPU time and peak memory, smallest)."""
    by = {f.n: f for f in fleets}

    def get(n, key):
        return by[n].summaries.get(key) if n in by else None

    def verdict(ok):
        return "**met**" if ok else "**not met**"

    out = ["Targets of issue 12 (builtin; smallest CPU time and peak):", ""]
    one = get(3000, "builtin:one")
    out.append(f"- one machine of 3,000 under 0.1 s: " + (f"{verdict(one.cpu < 0.1)} ({one.cpu:.3f} s)" if one else "not measured"))
    # "Every machine's module list" is the tree workload: the modules NixOS collects, which is what
    # the clan-core numbers (8.4 s, 1.6 GB at 1,000 machines) measure. `list` (each element
    # to weak head normal form only) runs no perInstance on either side: its ratio is shown, not judged.
    judged = (
        ("tree", "every machine's module list (tree)", 20, 10),
        ("settings", "every machine's settings forced (settings)", 10, None),
        ("list", "the module list's elements only (list, not a target)", None, None),
    )
    for w, what, speed, mem in judged:
        b, c = get(1000, f"builtin:{w}"), get(1000, f"clan-core:{w}")
        if not (b and c):
            out.append(f"- {what} at 1,000 machines against clan-core: not measured")
            continue
        if speed is None:
            out.append(f"- {what} at 1,000 machines: {c.cpu / b.cpu:.2f}× faster than clan-core, "
                       f"{c.mem_min / b.mem_min:.2f}× less memory")
            continue
        text = f"- {what} at 1,000 machines ≥ {speed}× faster than clan-core: {verdict(c.cpu / b.cpu >= speed)} ({c.cpu / b.cpu:.2f}×)"
        if mem:
            text += f"; ≥ {mem}× less memory: {verdict(c.mem_min / b.mem_min >= mem)} ({c.mem_min / b.mem_min:.2f}×)"
        out.append(text)
    for w in WORKLOADS:
        grow = []
        for a, z in ((10000, 50000), (3000, 10000), (1000, 10000)):
            x, y = get(a, f"builtin:{w}"), get(z, f"builtin:{w}")
            if x and y:
                grow.append(f"{a:,} → {z:,}: CPU {y.cpu / x.cpu:.2f}× for {z / a:g}× the machines")
        if grow and w != "one":
            out.append(f"- {w} linear: " + "; ".join(grow))
    out.append("")
    return out


def main():
    p = argparse.ArgumentParser(description="clan services benchmarks (use scripts/bench-instances)")
    p.add_argument("--nix", required=True)
    p.add_argument("--plugin", required=True)
    p.add_argument("--sizes", type=ints, default=[100, 1000, 3000, 10000, 50000])
    p.add_argument("--clan-core", dest="harness", default=None,
                   help="the clan-core harness (harness.nix); without it clan-core is not run")
    p.add_argument("--clan-core-sizes", type=ints, default=[100, 1000, 3000],
                   help="the sizes clan-core runs at (of --sizes)")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--memory-limit", type=float, default=16,
                   help="GiB of address space per nix process (a cell over it shows '> N GiB'; 0: no limit)")
    p.add_argument("--full-up-to", type=int, default=3000,
                   help="run the workloads tree and settings on fleets up to this many machines only (their "
                        "memory grows by ~70 and ~200 KiB per membership in both implementations)")
    p.add_argument("--check-up-to", type=int, default=1000,
                   help="compare the modes' digests on fleets up to this many machines (0: never)")
    p.add_argument("--nixpkgs-lib", default=None, help="nixpkgs' lib directory (default: the cached one)")
    p.add_argument("--pilot", action="store_true", help="mark the numbers as pilot numbers (a busy machine)")
    p.add_argument("--output", default=os.path.join(REPO, "BENCHMARKS.md"))
    p.add_argument("--section", default=None, help="the generated section of BENCHMARKS.md (default: instances <Nix version>)")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--command", default="scripts/bench-instances")
    args = p.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            sys.exit(f"bench-instances: unknown mode '{m}' (modes: {', '.join(MODES)})")
    if "clan-core" in modes and not args.harness:
        modes.remove("clan-core")
    if args.harness:
        args.harness = os.path.abspath(os.path.expanduser(args.harness))
        if not os.path.exists(args.harness):
            sys.exit(f"bench-instances: no clan-core harness at {args.harness}")
    args.harness_label = args.harness.replace(os.path.expanduser("~"), "~") if args.harness else "not run"
    args.workloads = [w for w in args.workloads.split(",") if w]
    for w in args.workloads:
        if w not in WORKLOADS:
            sys.exit(f"bench-instances: unknown workload '{w}' (workloads: {', '.join(WORKLOADS)})")
    lib = nixpkgs_lib(args.nixpkgs_lib)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    nix = Nix(args.nix, args.plugin, lib, args.harness, int(args.memory_limit * 2**30))
    fleets = []
    try:
        version = subprocess.run([args.nix, "--version"], capture_output=True, text=True, check=True).stdout.strip()
        startup = {}
        for m in ["pure"] + (["builtin"] if "builtin" in modes else []):
            nix.run(m, "0", 60)
            st = [nix.run(m, "0", 60) for _ in range(5)]
            startup[m] = (min(x[2] for x in st), max(x[1] for x in st) / 1024)
        for n in args.sizes:
            fleet = fleet_dir(n)
            here = [m for m in modes if m != "clan-core" or n in args.clan_core_sizes]
            log(f"[bench-instances] {n} machines ({fleet}): {', '.join(here)}")
            digest = {}
            if n <= args.check_up_to:
                for m in here:
                    got = nix.run(m, nix.expr(fleet, m, "digest"), args.timeout)
                    if got is None or got == OOM:
                        log(f"  digest   {m:18s} {'timeout' if got is None else OOM}: not compared")
                        continue
                    digest[m] = got[3]
                    log(f"  digest   {m:18s} {digest[m]}")
                if len(set(digest.values())) > 1:
                    sys.exit(f"bench-instances: the modes disagree on the fleet of {n} machines: {digest} "
                             f"(see the workload `dump` of bench/instances.nix)")
            keys = [f"{m}:{w}" for w in args.workloads for m in here if w in LIGHT or n <= args.full_up_to]
            raw = measure(nix, fleet, keys, args.runs, args.timeout, log)
            for w in args.workloads:
                outs = {raw[k].out for k in keys if k.endswith(f":{w}") and not k.startswith("clan-core") and raw[k].out}
                if len(outs) > 1:
                    sys.exit(f"bench-instances: builtin and pure printed different results for {w} at {n}: {outs}")
            fleets.append(Fleet(n=n, summaries={k: summary(raw[k]) for k in keys},
                                timeouts={k: raw[k].timeout for k in keys}, outs={k: raw[k].out for k in keys},
                                digest=digest))
    finally:
        nix.close()
    section = render(fleets, args, version, startup)
    print(section)
    if not args.no_write:
        update_markdown(args.output, section, args.section or f"instances {version.split()[-1]}")
        log(f"[bench-instances] wrote {os.path.relpath(args.output, REPO)}")


if __name__ == "__main__":
    main()
