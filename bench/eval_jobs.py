#!/usr/bin/env python3
"""Scale-out benchmark: nix-eval-jobs against one `nix eval` of every machine (scripts/bench-eval-jobs).

For each fleet size, generates a clan flake (bench/gen_fleet.py --flake: 20 services x 2
instances, roles by explicit machines and by tags, config at every level; one job per NixOS
machine in `hydraJobs`, the stand-in nixosSystem's derivation) and measures, each run in a fresh
private store (its database created beforehand, not timed):

  nix eval       `nix eval --json <flake>#hydraJobs --apply (mapAttrs (_: j: j.drvPath))`: every
                 machine's derivation in one evaluator
  workers=N      `nix-eval-jobs --workers N --flake <flake>#hydraJobs`

with the plugin (the loader, given once) and, for comparison, without it (pure Nix). Reported per
run: wall time, CPU time (user+sys of the whole process tree), peak RSS of the largest process
(wait4's figures, and the tree polled every 50 ms for VmHWM and CPU time of each process, since
workers need not be waited for), jobs evaluated, and how
many times the inventory was resolved (the fleet flake traces each resolution on stderr).

Standard library only.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from isolated import isolated_env

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TRACE = "clan-inventory fleet: resolving the inventory"
BEGIN = "<!-- bench-eval-jobs:begin -->"
END = "<!-- bench-eval-jobs:end -->"


def log(msg):
    print(f"[bench-eval-jobs {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Store:
    """A private Nix store and state, removed afterwards."""

    def __init__(self, work, nix):
        self.dir = tempfile.mkdtemp(prefix="store-", dir=work)
        self.env = isolated_env(self.dir, "experimental-features = nix-command flakes\nbuild-users-group =\nsandbox = false\n")
        self.store = os.path.join(self.dir, "store")
        # Workers opening a fresh store at once race to create its database.
        subprocess.run([nix, "--store", self.store, "path-info", "--all"], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def remove(self):
        subprocess.run(["chmod", "-R", "u+w", self.dir], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Tree:
    """Polls the process tree under a pid (nix-eval-jobs forks its workers and need not wait for
    them, so wait4's figures may leave them out): each process's peak RSS (VmHWM) and CPU time."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, root):
        self.root = root
        self.peak_kib = {}
        self.cpu = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def descendants(self):
        parent = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    parent[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / self.TICK)
                except (OSError, IndexError, ValueError):
                    pass
        tree, changed = {self.root}, True
        while changed:
            changed = False
            for pid, (ppid, _) in parent.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    changed = True
        return {pid: parent[pid][1] for pid in tree if pid in parent}

    def poll(self):
        while not self.done.wait(0.05):
            for pid, cpu in self.descendants().items():
                self.cpu[pid] = max(self.cpu.get(pid, 0), cpu)
                try:
                    with open(f"/proc/{pid}/status") as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), int(line.split()[1]))
                except OSError:
                    pass

    def stop(self):
        self.done.set()
        self.thread.join()


def measure(cmd, env):
    """Runs cmd; returns (wall s, cpu s of the tree, peak RSS MiB of its largest process, stdout,
    stderr): the larger of what wait4 says and what polling the tree saw."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
    tree = Tree(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    tree.stop()
    cpu = max(usage.ru_utime + usage.ru_stime, sum(tree.cpu.values()))
    peak = max([usage.ru_maxrss, *tree.peak_kib.values()]) / 1024
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"bench-eval-jobs: {' '.join(cmd)} exited {proc.returncode}:\n{stderr[-3000:]}")
    return wall, cpu, peak, stdout, stderr


def run_once(args, fleet, engine, workers, plugin, memory):
    store = Store(args.work, args.nix)
    try:
        options = ["--option", "plugin-files", args.plugin] if plugin else []
        ref = f"path:{fleet}#hydraJobs"
        if engine == "nix eval":
            cmd = [args.nix, *options, "--store", store.store, "eval", "--json", ref,
                   "--apply", "jobs: builtins.mapAttrs (_: j: j.drvPath) jobs"]
        else:
            cmd = [args.eval_jobs, *options, "--option", "store", store.store,
                   "--workers", str(workers), "--flake", ref]
            if memory:
                cmd += ["--max-memory-size", str(memory)]
        wall, cpu, rss, stdout, stderr = measure(cmd, store.env)
        if engine == "nix eval":
            jobs = len(json.loads(stdout))
            failed = 0
        else:
            lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
            jobs = len(lines)
            failed = sum(1 for j in lines if "error" in j)
        if failed:
            sys.exit(f"bench-eval-jobs: {failed} jobs failed")
        return {"wall": wall, "cpu": cpu, "rss": rss, "jobs": jobs,
                "resolutions": sum(1 for line in stderr.splitlines() if TRACE in line)}
    finally:
        store.remove()


def configurations(workers, memory):
    """(label, engine, workers, plugin, memory limit) of every measurement of one size."""
    out = [("nix eval", "nix eval", 0, True, None)]
    out += [(f"nix-eval-jobs --workers {w}", "nix-eval-jobs", w, True, None) for w in workers]
    if memory:
        out.append((f"nix-eval-jobs --workers 2 --max-memory-size {memory}", "nix-eval-jobs", 2, True, memory))
    out.append(("nix eval, pure Nix", "nix eval", 0, False, None))
    out.append(("nix-eval-jobs --workers 2, pure Nix", "nix-eval-jobs", 2, False, None))
    return out


def table(results, runs):
    rows = [
        "| machines | evaluator | plugin | wall s (min / median) | CPU s (median) | peak RSS of the largest process, MiB (median) | jobs | resolutions of the inventory |",
        "|---:|---|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        walls = [m["wall"] for m in r["runs"]]
        res = sorted({m["resolutions"] for m in r["runs"]})
        rows.append(
            f"| {r['machines']:,} | {r['label']} | {'yes' if r['plugin'] else 'no'} "
            f"| {min(walls):.2f} / {statistics.median(walls):.2f} "
            f"| {statistics.median(m['cpu'] for m in r['runs']):.2f} "
            f"| {statistics.median(m['rss'] for m in r['runs']):.0f} "
            f"| {r['runs'][0]['jobs']:,} | {', '.join(map(str, res))} |"
        )
    return "\n".join(rows)


def write_section(path, text):
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        doc = head + block + tail
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(doc)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nix", required=True, help="bin/nix of the Nix under test")
    p.add_argument("--eval-jobs", required=True, help="nix-eval-jobs linked against that Nix")
    p.add_argument("--plugin", required=True, help="the loader (libclan_inventory_loader.so)")
    p.add_argument("--nix-version", required=True)
    p.add_argument("--sizes", default="2000,10000")
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--max-memory-size", type=int, default=0,
                   help="also run --workers 2 with this --max-memory-size (MiB), to show restarts")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--services", type=int, default=20)
    p.add_argument("--instances", type=int, default=2)
    p.add_argument("--work", default=os.path.join(REPO, "target", "bench-eval-jobs"))
    p.add_argument("--command", default="scripts/bench-eval-jobs")
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    sizes = [int(s) for s in a.sizes.split(",")]
    workers = [int(w) for w in a.workers.split(",")]

    results = []
    for n in sizes:
        fleet = os.path.join(a.work, f"fleet-{n}x{a.services}x{a.instances}")
        shutil.rmtree(fleet, ignore_errors=True)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_fleet.py"), fleet, "--machines", str(n),
                        "--services", str(a.services), "--instances", str(a.instances), "--flake"], check=True)
        for label, engine, w, plugin, memory in configurations(workers, a.max_memory_size):
            runs = []
            for i in range(a.runs):
                m = run_once(a, fleet, engine, w, plugin, memory)
                log(f"{n} machines, {label}, plugin {plugin}, run {i + 1}: {m['wall']:.2f} s wall, "
                    f"{m['cpu']:.2f} s CPU, {m['rss']:.0f} MiB, {m['jobs']} jobs, {m['resolutions']} resolutions")
                runs.append(m)
            results.append({"machines": n, "label": label, "plugin": plugin, "runs": runs})
        shutil.rmtree(fleet, ignore_errors=True)

    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    text = "\n".join([
        f"Measured with `{a.command}` on {time.strftime('%Y-%m-%d')}, Nix {a.nix_version}, "
        f"{os.cpu_count()} cores ({cpu}), {a.runs} runs each, every run in a fresh store; "
        f"fleets from `bench/gen_fleet.py --flake` ({a.services} services x {a.instances} instances).",
        "",
        table(results, a.runs),
    ])
    print(text)
    if not a.no_write:
        write_section(os.path.join(REPO, "BENCHMARKS.md"), text)
        log("wrote the table into BENCHMARKS.md")


if __name__ == "__main__":
    main()
