//! Scale-out through the real engine: nix-eval-jobs (linked against the Nix under test, built by
//! `scripts/bootstrap-nix-eval-jobs`) evaluates a generated clan flake (`bench/gen_fleet.py
//! --flake`, `tests/nix/fleet/flake.nix`) with 2 workers, the plugin given once on its command
//! line. One job per NixOS machine; each job's derivation is the stand-in `nixosSystem`'s, whose
//! `drvPath` depends on the machine's whole module list.
//!
//! `scripts/test` sets `CLAN_NIX_EVAL_JOBS` to the binary, or to `none: <why>` for a Nix version
//! that has no nix-eval-jobs release; then these tests say so and check nothing.
#![cfg(feature = "plugin")]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{self, error_message, Nix, TempDir};

/// Machines in the generated fleet (every 50th is darwin, so not a job).
const MACHINES: usize = 300;
/// The machine whose NixOS configuration throws (in `test.nix`).
const BROKEN: &str = "m00007";

/// The nix-eval-jobs binary, or `None` (with the reason printed) when this Nix has none.
fn nix_eval_jobs() -> Option<PathBuf> {
    let value = std::env::var("CLAN_NIX_EVAL_JOBS")
        .expect("CLAN_NIX_EVAL_JOBS is not set: run the tests with scripts/test, which builds nix-eval-jobs");
    if let Some(reason) = value.strip_prefix("none:") {
        eprintln!("skipped: no nix-eval-jobs for this Nix ({})", reason.trim());
        return None;
    }
    let path = PathBuf::from(value);
    assert!(
        path.exists(),
        "CLAN_NIX_EVAL_JOBS={} does not exist",
        path.display()
    );
    Some(path)
}

/// The file users give Nix (and nix-eval-jobs): the loader beside the plugin under test.
fn loader() -> PathBuf {
    PathBuf::from(
        std::env::var("CLAN_PLUGIN_LOADER").expect("CLAN_PLUGIN_LOADER (scripts/test sets it)"),
    )
}

/// A generated clan flake of `MACHINES` machines and three services (mesh, backup, monitoring,
/// roles by explicit machines and by tags, config at every level), in which `BROKEN`'s own
/// configuration throws and `invalidJobs` has an instance with an undefined machine.
fn fleet() -> TempDir {
    let dir = TempDir::new("fleet");
    let root = common::repo_root();
    let status = Command::new("python3")
        .arg(root.join("bench/gen_fleet.py"))
        .arg(dir.path())
        .args([
            "--machines",
            &MACHINES.to_string(),
            "--services",
            "3",
            "--instances",
            "1",
            "--flake",
        ])
        .status()
        .expect("run python3 bench/gen_fleet.py");
    assert!(status.success(), "bench/gen_fleet.py failed");
    fs::write(
        dir.path().join("test.nix"),
        format!(
            r#"{{
  valid.machines.{BROKEN}.networking.domain = throw "the configuration of {BROKEN} is broken";
  invalid.inventory.services.mesh00.broken.roles.peer.machines = [ "nosuchmachine" ];
}}
"#
        ),
    )
    .unwrap();
    dir
}

/// The NixOS machines of the generated inventory, by name: the jobs there must be.
fn nixos_machines(fleet: &Path) -> Vec<String> {
    let text = fs::read_to_string(fleet.join("inventory.json")).unwrap();
    let inventory: Value = serde_json::from_str(&text).unwrap();
    let machines = inventory["machines"].as_object().unwrap();
    let names: Vec<String> = machines
        .iter()
        .filter(|(_, m)| m["machineClass"].as_str().unwrap_or("nixos") == "nixos")
        .map(|(name, _)| name.clone())
        .collect();
    assert!(names.len() > MACHINES * 9 / 10 && names.len() < MACHINES);
    names
}

/// One nix-eval-jobs run: each job's JSON line by attribute name, and how many times an evaluator
/// resolved the inventory (the fleet flake traces each resolution).
struct Run {
    jobs: BTreeMap<String, Value>,
    resolutions: usize,
}

/// Creates the store's database: workers that open a fresh store at once race to create it
/// (the database "is busy"), which a store in use never sees.
fn init_store(nix: &Nix) {
    let out = nix
        .command("nix")
        .args(["path-info", "--all"])
        .output()
        .expect("run nix path-info");
    assert!(
        out.status.success(),
        "nix path-info --all: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How nix-eval-jobs is given the plugin.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Plugin {
    None,
    /// `--option plugin-files <loader>`, once, on its command line.
    Option,
    /// `NIX_CONFIG="extra-plugin-files = <loader>"`, as for Hydra and buildbot-nix, which build
    /// the command line themselves.
    NixConfig,
}

fn eval_jobs(nix: &Nix, binary: &Path, fleet: &Path, attr: &str, plugin: Plugin) -> Run {
    init_store(nix);
    let mut cmd = nix.program(binary);
    match plugin {
        Plugin::None => {}
        Plugin::Option => {
            cmd.arg("--option").arg("plugin-files").arg(loader());
        }
        Plugin::NixConfig => {
            cmd.env(
                "NIX_CONFIG",
                format!("extra-plugin-files = {}", loader().display()),
            );
        }
    }
    cmd.args(["--workers", "2", "--meta", "--flake"])
        .arg(format!("path:{}#{attr}", fleet.display()));
    let out = cmd.output().expect("run nix-eval-jobs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    common::assert_no_crash(&out, &stderr);
    // Failed jobs do not fail the run: nix-eval-jobs exits 0 and reports each in its JSON line.
    assert!(out.status.success(), "nix-eval-jobs failed:\n{stderr}");
    let mut jobs = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let job: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON line ({e}): {line}"));
        let name = job["attr"].as_str().expect("attr").to_owned();
        assert!(
            jobs.insert(name.clone(), job).is_none(),
            "job {name} reported twice"
        );
    }
    let resolutions = stderr
        .lines()
        .filter(|l| l.contains("clan-inventory fleet: resolving the inventory"))
        .count();
    Run { jobs, resolutions }
}

/// `nix eval` of every job's drvPath in one evaluator (null where the job throws).
fn drv_paths_by_nix_eval(nix: &Nix, fleet: &Path) -> BTreeMap<String, Value> {
    let out = nix
        .command("nix")
        .args(["eval", "--json"])
        .arg(format!("path:{}#hydraJobs", fleet.display()))
        .args([
            "--apply",
            "jobs: builtins.mapAttrs (_: j: let r = builtins.tryEval j.drvPath; in if r.success then r.value else null) jobs",
        ])
        .output()
        .expect("run nix eval");
    let stderr = String::from_utf8_lossy(&out.stderr);
    common::assert_no_crash(&out, &stderr);
    assert!(out.status.success(), "nix eval failed:\n{stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ok_drv_paths(run: &Run) -> BTreeMap<String, String> {
    run.jobs
        .iter()
        .filter_map(|(name, job)| {
            job["drvPath"]
                .as_str()
                .map(|p| (name.clone(), p.to_owned()))
        })
        .collect()
}

/// The same drvPath for every machine; else the number of differences and the first few.
fn assert_same_drv_paths(
    what: &str,
    got: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) {
    let differ: Vec<String> = want
        .iter()
        .filter(|(m, p)| got.get(*m) != Some(p))
        .map(|(m, p)| format!("{m}: {:?}, nix eval {p}", got.get(m)))
        .collect();
    assert!(
        differ.is_empty() && got.len() == want.len(),
        "{what}: {} of {} machines differ from nix eval ({} jobs), e.g.\n{}",
        differ.len(),
        want.len(),
        got.len(),
        differ[..differ.len().min(3)].join("\n")
    );
}

/// Every machine a job; the broken one an error of its own; the rest derivations built by the
/// implementation `resolved_by`.
fn check_jobs(run: &Run, machines: &[String], resolved_by: &str) {
    let names: Vec<&String> = run.jobs.keys().collect();
    let mut want: Vec<&String> = machines.iter().collect();
    want.sort();
    assert_eq!(names, want, "one job per NixOS machine");
    for (name, job) in &run.jobs {
        if name == BROKEN {
            let error = job["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{BROKEN} did not fail: {job}"));
            assert!(
                error.contains(&format!("the configuration of {BROKEN} is broken")),
                "{error}"
            );
            assert!(job.get("drvPath").is_none(), "{job}");
        } else {
            assert!(job.get("error").is_none(), "job {name} failed: {job}");
            let drv = job["drvPath"]
                .as_str()
                .unwrap_or_else(|| panic!("no drvPath: {job}"));
            assert!(
                drv.ends_with(&format!("-stand-in-nixos-{name}.drv")),
                "{drv}"
            );
            assert_eq!(job["meta"]["resolvedBy"], resolved_by, "job {name}: {job}");
        }
    }
    // Each worker resolves the inventory once for all the jobs it evaluates.
    assert!(
        (1..=2).contains(&run.resolutions),
        "the inventory was resolved {} times by 2 workers",
        run.resolutions
    );
}

#[test]
fn every_machine_is_a_job_with_the_drv_path_of_nix_eval_with_and_without_the_plugin() {
    let Some(binary) = nix_eval_jobs() else {
        return;
    };
    let fleet = fleet();
    let machines = nixos_machines(fleet.path());

    let nix = Nix::with_plugin();
    let with_plugin = eval_jobs(&nix, &binary, fleet.path(), "hydraJobs", Plugin::Option);
    check_jobs(&with_plugin, &machines, "builtins.clanInventory");

    // The same derivations as one `nix eval` (with the plugin) of every machine.
    let by_nix_eval = drv_paths_by_nix_eval(&nix, fleet.path());
    assert_eq!(by_nix_eval.len(), machines.len());
    assert_eq!(by_nix_eval[BROKEN], Value::Null);
    let expected: BTreeMap<String, String> = by_nix_eval
        .iter()
        .filter_map(|(m, p)| p.as_str().map(|p| (m.clone(), p.to_owned())))
        .collect();
    assert_same_drv_paths(
        "nix-eval-jobs with the plugin",
        &ok_drv_paths(&with_plugin),
        &expected,
    );

    // The plugin through NIX_CONFIG: the same.
    let by_config = eval_jobs(&nix, &binary, fleet.path(), "hydraJobs", Plugin::NixConfig);
    check_jobs(&by_config, &machines, "builtins.clanInventory");
    assert_same_drv_paths(
        "nix-eval-jobs with the plugin in NIX_CONFIG",
        &ok_drv_paths(&by_config),
        &expected,
    );

    // Pure Nix in the workers: the same jobs, the same derivations.
    let pure = Nix::without_plugin();
    let without_plugin = eval_jobs(&pure, &binary, fleet.path(), "hydraJobs", Plugin::None);
    check_jobs(&without_plugin, &machines, "nix/inventory.nix");
    assert_same_drv_paths(
        "nix-eval-jobs in pure Nix",
        &ok_drv_paths(&without_plugin),
        &expected,
    );
}

#[test]
fn an_invalid_inventory_is_every_jobs_error_with_the_builtins_message() {
    let Some(binary) = nix_eval_jobs() else {
        return;
    };
    let fleet = fleet();
    let machines = nixos_machines(fleet.path());
    let nix = Nix::with_plugin();
    let pure = Nix::without_plugin();

    // The message, as `nix eval` of one machine shows it, from each implementation.
    let one_machine = |nix: &Nix| {
        let out = nix
            .command("nix")
            .args(["eval", "--raw"])
            .arg(format!(
                "path:{}#invalidJobs.{}.drvPath",
                fleet.path().display(),
                machines[0]
            ))
            .output()
            .expect("run nix eval");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        common::assert_no_crash(&out, &stderr);
        assert!(!out.status.success(), "an invalid inventory evaluated");
        error_message(&stderr)
    };
    let message = one_machine(&nix);
    assert!(
        message.starts_with(
            "inventory.services.mesh00.broken.roles.peer.machines: machine 'nosuchmachine' is not defined in inventory.machines"
        ),
        "{message}"
    );
    assert_eq!(one_machine(&pure), message, "the pure-Nix message differs");

    for (nix, plugin) in [(&nix, Plugin::Option), (&pure, Plugin::None)] {
        let run = eval_jobs(nix, &binary, fleet.path(), "invalidJobs", plugin);
        assert_eq!(
            run.jobs.len(),
            machines.len(),
            "{plugin:?}: one job per machine"
        );
        for (name, job) in &run.jobs {
            let error = job["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{plugin:?}: job {name} did not fail: {job}"));
            assert!(error.contains(&message), "{plugin:?}: job {name}: {error}");
        }
    }
}

/// `scripts/eval-fleet`, as a fleet's CI runs it: a line per machine, the failed one with its
/// message, a summary, and exit status 1 because one machine failed.
#[test]
fn eval_fleet_reports_each_machine_and_fails_when_one_does() {
    let Some(binary) = nix_eval_jobs() else {
        return;
    };
    let fleet = fleet();
    let machines = nixos_machines(fleet.path());
    let nix = Nix::without_plugin();
    init_store(&nix);
    let mut cmd = nix.isolated(&common::repo_root().join("scripts/eval-fleet"));
    // The Nix under test (scripts/test has entered its root, when it has one) and its nix-eval-jobs.
    for var in ["CLAN_NIX_VERSION", "CLAN_NIX_PREFIX", "CLAN_IN_ROOT"] {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    let out = cmd
        .env("CLAN_NIX_EVAL_JOBS", &binary)
        .arg("--plugin")
        .arg(loader())
        .arg("--store")
        .arg(nix.dir().join("store"))
        .args(["--workers", "2"])
        .arg(fleet.path())
        .output()
        .expect("run scripts/eval-fleet");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), machines.len(), "{stdout}");
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error ")).collect();
    assert_eq!(
        errors,
        [&format!("error  {BROKEN}  the configuration of {BROKEN} is broken").as_str()]
    );
    for line in lines.iter().filter(|l| !l.starts_with("error ")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert!(
            fields.len() == 3
                && fields[0] == "ok"
                && fields[2].ends_with(&format!("-stand-in-nixos-{}.drv", fields[1])),
            "{line}"
        );
    }
    let total = machines.len();
    assert!(
        stderr.contains(&format!(
            "[eval-fleet] {total} machines: {} ok, 1 failed",
            total - 1
        )),
        "{stderr}"
    );
}
