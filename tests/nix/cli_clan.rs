//! `clan-inventory` on a whole clan through the real `nix` with the plugin: the test flake
//! (tests/nix/flake, by `--flake` and found in the current directory) and the example clan (by
//! `--file` and `--expr`). Its resolution equals buildClan's own `clanInternals.resolved`; machines
//! of machines/, of the `machines` argument and of the Nix inventory alone appear; edits of
//! inventory.json refuse to change or remove what the Nix side defines. Needs `--features plugin`.
#![cfg(feature = "plugin")]

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::common::{copy_tree, nix_prefix, plugin_path, repo_root, test_flake, Nix, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_clan-inventory");

/// buildClan's resolution as `resolve --format json` prints it: without the machines' module
/// values, nor each instance role's settings definitions and extraModules (values the user wrote).
const WITHOUT_VALUES: &str = "r: r // { machines = builtins.mapAttrs (_: m: removeAttrs m [ \"modules\" ]) r.machines; instances = builtins.mapAttrs (_: i: i // { roles = builtins.mapAttrs (_: r: removeAttrs r [ \"settings\" \"roleSettings\" \"extraModules\" ]) i.roles; }) r.instances; }";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The CLI in `dir`, with this isolated Nix (its store through `NIX_CONFIG`) and the plugin.
fn cli(nix: &Nix, dir: &Path, args: &[&str]) -> Run {
    let out = nix
        .isolated(Path::new(BIN))
        .env("CLAN_NIX", nix_prefix().join("bin/nix"))
        .env("CLAN_PLUGIN", plugin_path())
        .env(
            "NIX_CONFIG",
            format!("store = {}", nix.dir().join("store").display()),
        )
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run clan-inventory");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn json_of(run: &Run) -> Value {
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

/// `nix eval --json ARGS` with the plugin.
fn eval(nix: &Nix, args: &[&str]) -> Value {
    let out = nix
        .command("nix")
        .arg("eval")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// buildClan's own resolution (`clanInternals.resolved`) of the clan in `file`, without the values
/// the CLI does not print.
fn resolved_by_build_clan(nix: &Nix, file: &std::path::Path) -> Value {
    let file = file.to_str().unwrap();
    eval(
        nix,
        &[
            "--impure",
            "--file",
            file,
            "clanInternals.resolved",
            "--apply",
            WITHOUT_VALUES,
        ],
    )
}

/// nixpkgs' lib, when it is here: `CLAN_NIXPKGS_LIB`, else where scripts/unpack-nixpkgs-lib unpacks it.
fn nixpkgs_lib() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")
        .map(|h| Path::new(&h).join(".cache/clan-inventory/nixpkgs-lib/nixpkgs-lib/lib"));
    std::env::var_os("CLAN_NIXPKGS_LIB")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(home)
        .find(|l| l.join("default.nix").is_file())
}

/// `nixpkgs = { lib = ...; };` for a call of the example's clan.nix, when the lib is here.
fn nixpkgs_argument() -> String {
    nixpkgs_lib().map_or_else(String::new, |lib| {
        format!("nixpkgs = {{ lib = import {}; }};", lib.display())
    })
}

/// A copy of examples/clan whose default.nix imports this repository's library, and, when
/// nixpkgs' lib is here (`CLAN_NIXPKGS_LIB`, else where scripts/unpack-nixpkgs-lib unpacks it), gives
/// buildClan `nixpkgs = { lib; }`: clan service modules are evaluated with it (the machines are
/// not built).
fn example_copy() -> TempDir {
    let dir = TempDir::new("cli-example");
    copy_tree(&repo_root().join("examples/clan"), dir.path());
    let default = dir.path().join("default.nix");
    let mut text = fs::read_to_string(&default).unwrap().replace(
        "(import ../../nix)",
        &format!("(import {})", repo_root().join("nix").display()),
    );
    if let Some(lib) = nixpkgs_lib() {
        text = text.replace(
            "nixpkgs ? null",
            &format!("nixpkgs ? {{ lib = import {}; }}", lib.display()),
        );
    }
    fs::write(default, text).unwrap();
    dir
}

fn machine_names(resolution: &Value) -> Vec<String> {
    resolution["machines"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_whole_test_flake_resolves_as_build_clan_does() {
    let nix = Nix::with_plugin();
    let flake = test_flake("cli-flake");
    let reference = format!("path:{}", flake.path().display());
    let run = cli(
        &nix,
        &repo_root(),
        &["--flake", &reference, "resolve", "--format", "json"],
    );
    assert!(
        run.stderr.starts_with(&format!(
            "clan-inventory: the whole clan of flake `{reference}` through Nix (4 machines, evaluated in "
        )),
        "{}",
        run.stderr
    );
    let got = json_of(&run);
    let want = eval(
        &nix,
        &[
            &format!("{reference}#clanInternals.resolved"),
            "--apply",
            WITHOUT_VALUES,
        ],
    );
    assert_eq!(got, want);
    // a: inventory.json and the Nix inventory; b: machines/ only; c: inventory.json only;
    // d: the `machines` argument only.
    assert_eq!(machine_names(&got), ["a", "b", "c", "d"]);
    // inventory.json alone knows two of them.
    let file = json_of(&cli(
        &nix,
        flake.path(),
        &["--file", "inventory.json", "resolve", "--format", "json"],
    ));
    assert_eq!(machine_names(&file), ["a", "c"]);
}

#[test]
fn a_flake_here_that_names_build_clan_is_read_whole() {
    let nix = Nix::with_plugin();
    let flake = test_flake("cli-flake");
    let run = cli(&nix, flake.path(), &["resolve", "--format", "json"]);
    assert!(
        run.stderr
            .starts_with("clan-inventory: the whole clan of flake `.` through Nix (4 machines"),
        "{}",
        run.stderr
    );
    let reference = format!("path:{}", flake.path().display());
    let want = eval(
        &nix,
        &[
            &format!("{reference}#clanInternals.resolved"),
            "--apply",
            WITHOUT_VALUES,
        ],
    );
    assert_eq!(json_of(&run), want);
    // File mode says nothing on stderr, as before.
    let file = cli(
        &nix,
        flake.path(),
        &["--file", "inventory.json", "validate"],
    );
    assert_eq!((file.code, file.stderr.as_str()), (0, ""));
}

/// A generated fleet flake (`bench/gen_fleet.py`) of `machines` machines, with a stand-in
/// nixosSystem whose `config.system.build.toplevel` is a derivation.
fn fleet(machines: usize) -> TempDir {
    let dir = TempDir::new("cli-fleet");
    let status = std::process::Command::new("python3")
        .arg(repo_root().join("bench/gen_fleet.py"))
        .arg(dir.path())
        .args(["--machines", &machines.to_string(), "--flake"])
        .status()
        .expect("run python3 bench/gen_fleet.py");
    assert!(status.success(), "bench/gen_fleet.py failed");
    dir
}

#[test]
fn select_attrs_names_exactly_the_configurations_to_build() {
    let nix = Nix::with_plugin();
    let fleet = fleet(60);
    let reference = format!("path:{}", fleet.path().display());
    let expr = "tag:web & !tag:zone-0 | machine:m00049";
    let names = cli(&nix, &repo_root(), &["--flake", &reference, "select", expr]);
    assert_eq!(names.code, 0, "{}", names.stderr);
    let run = cli(
        &nix,
        &repo_root(),
        &["--flake", &reference, "select", "--attrs", expr],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // m00049 is darwin (every 50th, from m00049): buildClan makes no nixosConfiguration for it.
    assert!(names.stdout.contains("m00049\n"), "{}", names.stdout);
    assert!(
        run.stderr.ends_with(
            "note: select --attrs: not NixOS machines, so not in nixosConfigurations: m00049\n"
        ),
        "{}",
        run.stderr
    );
    let mut want = String::new();
    for m in names.stdout.lines().filter(|m| *m != "m00049") {
        let _ = writeln!(
            want,
            "{reference}#nixosConfigurations.{m}.config.system.build.toplevel"
        );
    }
    assert_eq!(run.stdout, want);
    assert!(run.stdout.lines().count() > 5, "{}", run.stdout);
    // Each is a derivation of the flake: `nix build` takes them as they are.
    let out = nix
        .command("nix")
        .args(["build", "--dry-run", "--no-link"])
        .args(run.stdout.lines())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The example clan with one more machine that only the Nix inventory defines.
fn example_with_nix_only_machine(dir: &Path) -> String {
    format!(
        r#"import {dir}/clan.nix {{
          {nixpkgs}
          buildClan = args: (import {lib}).buildClan (args // {{
            inventory = args.inventory // {{
              machines = args.inventory.machines // {{ zed.tags = [ "nix-only" ]; }};
            }};
          }});
        }}"#,
        dir = dir.display(),
        lib = repo_root().join("nix").display(),
        nixpkgs = nixpkgs_argument()
    )
}

#[test]
fn the_example_clan_through_file_and_expr_resolves_as_build_clan_does() {
    let nix = Nix::with_plugin();
    let example = example_copy();
    let by_file = cli(
        &nix,
        example.path(),
        &["--file", "default.nix", "resolve", "--format", "json"],
    );
    assert!(
        by_file
            .stderr
            .starts_with("clan-inventory: the whole clan of `default.nix` through Nix (5 machines"),
        "{}",
        by_file.stderr
    );
    let want = resolved_by_build_clan(&nix, &example.path().join("default.nix"));
    let got = json_of(&by_file);
    assert_eq!(got, want);
    // nas: machines/ only; sara: inventory.json and the `machines` argument.
    assert_eq!(
        machine_names(&got),
        ["backup_server", "gateway", "jon", "nas", "sara"]
    );

    let expr = example_with_nix_only_machine(example.path());
    let by_expr = json_of(&cli(
        &nix,
        &repo_root(),
        &["--expr", &expr, "resolve", "--format", "json"],
    ));
    let want = eval(
        &nix,
        &[
            "--impure",
            "--expr",
            &format!("({expr}).clanInternals.resolved"),
            "--apply",
            WITHOUT_VALUES,
        ],
    );
    assert_eq!(by_expr, want);
    assert_eq!(by_expr["machines"]["zed"]["tags"][0], "nix-only");

    // explain, select and graph run on the whole clan too.
    let explain = cli(
        &nix,
        example.path(),
        &["--file", "default.nix", "explain", "nas"],
    );
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    assert!(
        explain
            .stdout
            .starts_with("machine nas\n  defined in: machines/nas/\n  tags: all (every machine), nixos (machineClass)\n"),
        "{}",
        explain.stdout
    );
    // explain names where each fact is written: inventory.json, the Nix file, machines/.
    let explain = cli(
        &nix,
        example.path(),
        &["--file", "default.nix", "explain", "jon"],
    );
    for line in [
        "  defined in: inventory.json:4:5; the Nix inventory at clan.nix:15:7; machines/jon/\n",
        "  tags: backup (own: inventory.json:4:23), laptop (own: inventory.json:4:33), desktop (own: the Nix inventory at clan.nix:15:7), all (every machine), nixos (machineClass)\n",
        "    inventory.services.borgbackup.instance_1.config (from inventory.json:11:9)\n",
        "    inventory.services.borgbackup.instance_1.machines.jon.config (from the Nix inventory at clan.nix:24:9)\n",
        "  role controller of zerotier.lab: listed in roles.controller.machines (from the Nix inventory at clan.nix:44:9)\n",
    ] {
        assert!(explain.stdout.contains(line), "{line}\n{}", explain.stdout);
    }
    let explain = cli(
        &nix,
        example.path(),
        &["--file", "default.nix", "explain", "sara"],
    );
    assert!(
        explain.stdout.contains("  defined in: inventory.json:5:5; the `machines` argument of buildClan (machines.sara)\n"),
        "{}",
        explain.stdout
    );
    // The file alone: as before, no places.
    let explain = cli(
        &nix,
        example.path(),
        &["--file", "inventory.json", "explain", "jon"],
    );
    assert!(
        explain.stdout.starts_with("machine jon\n  tags: backup (own), laptop (own), all (every machine), nixos (machineClass)\n"),
        "{}",
        explain.stdout
    );
    let graph = cli(&nix, example.path(), &["--file", "default.nix", "graph"]);
    assert!(graph.stdout.contains("\"gateway\""), "{}", graph.stdout);
    let select = cli(
        &nix,
        example.path(),
        &[
            "--file",
            "default.nix",
            "select",
            "role:zerotier.mesh.controller",
        ],
    );
    assert_eq!(select.stdout, "gateway\n");
}

fn inventory_text(dir: &Path) -> String {
    fs::read_to_string(dir.join("inventory.json")).unwrap()
}

#[test]
fn edits_refuse_to_change_what_the_nix_side_defines() {
    let nix = Nix::with_plugin();
    let example = example_copy();
    let dir = example.path();
    let before = inventory_text(dir);
    let refused = |args: &[&str], message: &str| {
        let mut all = vec!["--file", "default.nix"];
        all.extend_from_slice(args);
        let run = cli(&nix, dir, &all);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stdout);
        let last = run.stderr.lines().last().unwrap_or_default();
        assert_eq!(last, message, "{args:?}");
        assert_eq!(inventory_text(dir), before, "{args:?} changed the file");
    };
    let read_only = "not in inventory.json: the Nix side is read-only here, change it there";
    refused(
        &["machines", "remove", "gateway"],
        &format!("error: machine 'gateway' is defined in the Nix inventory at clan.nix:16:7, {read_only}"),
    );
    refused(
        &["machines", "remove", "nas"],
        &format!("error: machine 'nas' is defined in machines/nas/, {read_only}"),
    );
    refused(
        &["machines", "remove", "sara"],
        &format!("error: machine 'sara' is defined in the `machines` argument of buildClan (machines.sara), {read_only}"),
    );
    refused(
        &["tags", "remove", "jon", "desktop"],
        &format!("error: tag 'desktop' of machine 'jon' is defined in the Nix inventory at clan.nix:15:7, {read_only}"),
    );
    refused(
        &["roles", "unassign", "zerotier.mesh.controller", "gateway"],
        &format!("error: machine 'gateway' of role zerotier.mesh.controller is defined in the Nix inventory at clan.nix:37:9, {read_only}"),
    );
    refused(
        &["roles", "unassign", "zerotier.mesh.peer", "--tag", "all"],
        &format!("error: tag 'all' of role zerotier.mesh.peer is defined in the Nix inventory at clan.nix:38:9, {read_only}"),
    );

    // Beside the Nix side: allowed, and only inventory.json is written.
    let ok = |args: &[&str], out: &str| {
        let mut all = vec!["--file", "default.nix"];
        all.extend_from_slice(args);
        let run = cli(&nix, dir, &all);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, out),
            "{args:?}: {}",
            run.stderr
        );
    };
    ok(
        &["tags", "add", "gateway", "fast"],
        "inventory.json: added to machine 'gateway' the tags: fast\n",
    );
    ok(
        &["machines", "add", "nas", "--tag", "storage"],
        "inventory.json: added machine 'nas'\n",
    );
    ok(
        &["tags", "remove", "jon", "laptop"],
        "inventory.json: removed from machine 'jon' the tags: laptop\n",
    );
    ok(
        &["roles", "assign", "borgbackup.instance_2.client", "nas"],
        "inventory.json: role borgbackup.instance_2.client: added machines: nas\n",
    );
    let inv: Value = serde_json::from_str(&inventory_text(dir)).unwrap();
    assert_eq!(
        inv["machines"]["gateway"]["tags"],
        serde_json::json!(["fast"])
    );
    assert_eq!(
        inv["machines"]["nas"]["tags"],
        serde_json::json!(["storage"])
    );
    let whole = json_of(&cli(
        &nix,
        dir,
        &["--file", "default.nix", "resolve", "--format", "json"],
    ));
    assert_eq!(
        whole["machines"]["gateway"]["tags"],
        serde_json::json!(["fast", "network", "all", "nixos"])
    );
    assert_eq!(
        whole["services"]["borgbackup"]["instance_2"]["roles"]["client"]["machines"],
        serde_json::json!(["nas", "backup_server"])
    );
}

#[test]
fn an_edit_that_the_merge_would_reject_is_refused() {
    let nix = Nix::with_plugin();
    let example = example_copy();
    let dir = example.path();
    // The Nix inventory sets one machine's targetHost: inventory.json cannot set another.
    let expr = format!(
        r#"import {dir}/clan.nix {{
          {nixpkgs}
          buildClan = args: (import {lib}).buildClan (args // {{
            inventory = args.inventory // {{
              machines = args.inventory.machines // {{ nas.deploy.targetHost = "root@nas"; }};
            }};
          }});
        }}"#,
        dir = dir.display(),
        lib = repo_root().join("nix").display(),
        nixpkgs = nixpkgs_argument()
    );
    let before = inventory_text(dir);
    let run = cli(
        &nix,
        dir,
        &[
            "--expr",
            &expr,
            "machines",
            "add",
            "nas",
            "--target-host",
            "root@elsewhere",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let last = run.stderr.lines().last().unwrap();
    assert_eq!(
        last,
        // An attribute written in --expr has no file: Nix gives no position for it.
        "error: refusing to write `inventory.json`: inventory.machines.nas.deploy.targetHost is set to \"root@elsewhere\" in inventory.json and to \"root@nas\" in the inventory argument of buildClan; the Nix side is read-only here, change it there"
    );
    assert_eq!(inventory_text(dir), before);
    // The same value is no conflict.
    let run = cli(
        &nix,
        dir,
        &[
            "--expr",
            &expr,
            "machines",
            "add",
            "nas",
            "--target-host",
            "root@nas",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn validate_places_a_mistake_of_the_nix_side_in_its_nix_file() {
    let nix = Nix::with_plugin();
    let dir = TempDir::new("cli-bad-clan");
    copy_tree(
        &repo_root().join("examples/clan/modules"),
        &dir.path().join("modules"),
    );
    fs::write(
        dir.path().join("inventory.json"),
        r#"{
  "machines": { "jon": {}, "gateway": {} },
  "services": { "zerotier": { "mesh": { "roles": {
    "controller": { "machines": ["gateway"] },
    "peer": { "machines": ["gateway", "jan"] }
  } } } }
}
"#,
    )
    .unwrap();
    fs::write(
        dir.path().join("clan.nix"),
        format!(
            r#"(import {lib}).buildClan {{
  directory = ./.;
  inventory.services.zerotier.mesh = {{
    roles.peer.machines = [ "jonn" ];
    roles.peer.tags = [ "nosuchtag" ];
  }};
}}
"#,
            lib = repo_root().join("nix").display()
        ),
    )
    .unwrap();
    let run = cli(&nix, dir.path(), &["--file", "clan.nix", "validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // One list filled by both sides: each name is placed where it is written.
    assert_eq!(
        run.stdout,
        "inventory.json:5:39: error: inventory.services.zerotier.mesh.roles.peer.machines: machine 'jan' is not defined in inventory.machines; did you mean 'jon'?\n\
         clan.nix:4:5: error: inventory.services.zerotier.mesh.roles.peer.machines: machine 'jonn' is not defined in inventory.machines; did you mean 'jon'?\n\
         clan.nix:5:5: warning: inventory.services.zerotier.mesh.roles.peer.tags: tag 'nosuchtag' matches no machine\n\
         the whole clan of `clan.nix`: 2 errors, 1 warning, 0 failed constraints\n"
    );
}

#[test]
fn explain_names_where_modules_and_extra_modules_come_from() {
    let nix = Nix::with_plugin();
    let dir = TempDir::new("cli-module-sources");
    let modules = repo_root().join("examples/clan/modules");
    copy_tree(&modules, &dir.path().join("modules"));
    copy_tree(&modules.join("zerotier"), &dir.path().join("vendor/zt"));
    fs::write(
        dir.path().join("inventory.json"),
        r#"{
  "machines": { "jon": {}, "gateway": {} },
  "services": { "zerotier": { "mesh": {
    "roles": { "controller": { "machines": ["gateway"] }, "peer": { "tags": ["all"] } },
    "extraModules": ["extra/a.nix"]
  } } }
}
"#,
    )
    .unwrap();
    fs::write(
        dir.path().join("clan.nix"),
        format!(
            r#"(import {lib}).buildClan {{
  directory = ./.;
  modules = {{
    zerotier = ./vendor/zt;
    inline = {{ roles.x = ./extra/x.nix; }};
  }};
  inventory.services.zerotier.mesh.extraModules = [ "extra/b.nix" "extra/a.nix" ];
  inventory.services.inline.i.roles.x.machines = [ "jon" ];
}}
"#,
            lib = repo_root().join("nix").display()
        ),
    )
    .unwrap();
    let run = cli(&nix, dir.path(), &["--file", "clan.nix", "explain", "jon"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in [
        "  clan module inline: the `modules` argument of buildClan (modules.inline at clan.nix:5:5)\n",
        "  clan module zerotier: the `modules` argument of buildClan (modules.zerotier = vendor/zt at clan.nix:4:5), which replaces modules/zerotier/\n",
        "    3. role peer: vendor/zt/roles/peer.nix\n",
        // The merge puts the file's entries first; "extra/a.nix" of the Nix list is not repeated.
        "    4. inventory.services.zerotier.mesh.extraModules[0]: extra/a.nix (from inventory.json:5:22)\n",
        "    5. inventory.services.zerotier.mesh.extraModules[1]: extra/b.nix (from the Nix inventory at clan.nix:7:3)\n",
    ] {
        assert!(run.stdout.contains(line), "{line}\n{}", run.stdout);
    }
    let gateway = cli(
        &nix,
        dir.path(),
        &["--file", "clan.nix", "explain", "gateway"],
    );
    assert!(
        !gateway.stdout.contains("clan module inline"),
        "{}",
        gateway.stdout
    );

    // A module of modules/ alone, in the example clan.
    let example = example_copy();
    let run = cli(
        &nix,
        example.path(),
        &["--file", "default.nix", "explain", "gateway"],
    );
    assert!(
        run.stdout
            .contains("\n  clan module zerotier: modules/zerotier/\n"),
        "{}",
        run.stdout
    );

    // --expr: what the expression writes has no position, and the CLI says so.
    let expr = format!(
        r#"(import {lib}).buildClan {{
          directory = {dir};
          inventory.machines.jon.tags = [ "t" ];
        }}"#,
        lib = repo_root().join("nix").display(),
        dir = dir.path().display()
    );
    let run = cli(&nix, dir.path(), &["--expr", &expr, "explain", "jon"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().nth(1),
        Some("clan-inventory: note: Nix gives no file positions for what --expr writes: explain and validate name such values by the buildClan argument that holds them")
    );
    assert!(
        run.stdout.contains("  defined in: inventory.json:2:17; the inventory argument of buildClan\n  tags: t (own: the inventory argument of buildClan),"),
        "{}",
        run.stdout
    );
}

#[test]
fn role_edits_warn_of_a_constraint_they_break_and_see_the_nix_tags() {
    let nix = Nix::with_plugin();
    let example = example_copy();
    let dir = example.path();
    let run_in = |args: &[&str]| {
        let run = cli(&nix, dir, args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        run
    };
    let notes = |run: &Run| -> Vec<String> {
        run.stderr
            .lines()
            .filter(|l| !l.starts_with("clan-inventory: "))
            .map(str::to_owned)
            .collect()
    };

    // Whole clan: the Nix side makes gateway the controller; a second one breaks `max = 1`. The
    // edit is written all the same, with a warning.
    let run = run_in(&[
        "--file",
        "default.nix",
        "roles",
        "assign",
        "zerotier.mesh.controller",
        "jon",
    ]);
    assert_eq!(
        run.stdout,
        "inventory.json: role zerotier.mesh.controller: added machines: jon\n"
    );
    assert_eq!(
        notes(&run),
        ["warning: written, but a constraint now fails (the machines of its instance will not build until it holds): zerotier.mesh: role 'controller' allows at most 1 machines, has 2: jon, gateway"]
    );
    // A constraint that already failed is not repeated; one that holds again says nothing.
    let run = run_in(&["--file", "default.nix", "tags", "add", "jon", "x"]);
    assert_eq!(notes(&run), Vec::<String>::new());
    let run = run_in(&[
        "--file",
        "default.nix",
        "roles",
        "unassign",
        "zerotier.mesh.controller",
        "jon",
    ]);
    assert_eq!(notes(&run), Vec::<String>::new());

    // After an unassign, the note sees the tags of the whole clan (the Nix side gives peer the
    // tag `all`), not those of inventory.json alone.
    run_in(&[
        "--file",
        "default.nix",
        "roles",
        "assign",
        "zerotier.mesh.peer",
        "gateway",
    ]);
    let run = run_in(&[
        "--file",
        "default.nix",
        "roles",
        "unassign",
        "zerotier.mesh.peer",
        "gateway",
    ]);
    assert_eq!(
        notes(&run),
        ["note: machine 'gateway' is still in role zerotier.mesh.peer through roles.peer.tags"]
    );

    // inventory.json alone: the same rule.
    let run = run_in(&[
        "--file",
        "inventory.json",
        "roles",
        "assign",
        "zerotier.mesh.controller",
        "jon",
        "sara",
    ]);
    assert_eq!(
        run.stderr,
        "warning: written, but a constraint now fails (the machines of its instance will not build until it holds): zerotier.mesh: role 'controller' allows at most 1 machines, has 2: jon, sara\n"
    );
    let inv: Value = serde_json::from_str(&inventory_text(dir)).unwrap();
    assert_eq!(
        inv["services"]["zerotier"]["mesh"]["roles"]["controller"]["machines"],
        serde_json::json!(["jon", "sara"])
    );
}

#[test]
fn a_function_where_a_string_belongs_is_an_error_as_in_the_builtin() {
    let nix = Nix::with_plugin();
    let dir = TempDir::new("cli-function");
    fs::write(
        dir.path().join("inventory.json"),
        "{ \"machines\": { \"jon\": {} } }\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("clan.nix"),
        format!(
            r"(import {lib}).buildClan {{
  directory = ./.;
  inventory.machines.gateway.deploy.targetHost = x: x;
}}
",
            lib = repo_root().join("nix").display()
        ),
    )
    .unwrap();
    let message =
        "inventory.machines.gateway.deploy.targetHost: expected a string or null, found a function";
    let builtin = nix
        .command("nix")
        .args(["eval", "--impure", "--json", "--file"])
        .arg(dir.path().join("clan.nix"))
        .arg("clanInternals.resolved.warnings")
        .output()
        .unwrap();
    assert!(!builtin.status.success());
    let stderr = String::from_utf8_lossy(&builtin.stderr);
    assert!(stderr.contains(message), "{stderr}");

    let run = cli(&nix, dir.path(), &["--file", "clan.nix", "validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!("clan.nix:3:3: error: {message}\nthe whole clan of `clan.nix`: 1 error, 0 warnings, 0 failed constraints\n")
    );
    // In inventory.json alone the marker is a string like any other.
    fs::write(
        dir.path().join("inventory.json"),
        "{ \"machines\": { \"jon\": { \"deploy\": { \"buildHost\": \"«function»\" } } } }\n",
    )
    .unwrap();
    let run = cli(&nix, dir.path(), &["--file", "inventory.json", "validate"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn validate_places_a_module_of_the_modules_argument_where_it_is_given() {
    let nix = Nix::with_plugin();
    let dir = TempDir::new("cli-module-argument");
    let zerotier = repo_root().join("examples/clan/modules/zerotier");
    copy_tree(&zerotier, &dir.path().join("modules/zerotier"));
    copy_tree(&zerotier, &dir.path().join("vendor/zt"));
    fs::write(
        dir.path().join("vendor/zt/README.md"),
        "---\n[constraints]\nroles.controller.min = 3\nroles.controller.max = 1\n---\n",
    )
    .unwrap();
    fs::write(dir.path().join("inventory.json"), "{ \"machines\": {} }\n").unwrap();
    fs::write(
        dir.path().join("clan.nix"),
        format!(
            r"(import {lib}).buildClan {{
  directory = ./.;
  modules = {{
    zerotier = ./vendor/zt;
    inline = {{ roles.x = ./x.nix; constraints.roles.y.min = 1; }};
  }};
}}
",
            lib = repo_root().join("nix").display()
        ),
    )
    .unwrap();
    let run = cli(&nix, dir.path(), &["--file", "clan.nix", "validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Not modules/zerotier/README.md, which the argument replaces.
    assert_eq!(
        run.stdout,
        "clan.nix:5:5: error: modules.inline.constraints.roles: role 'y' is not defined by module 'inline' (roles: x); did you mean 'x'?\n\
         vendor/zt/README.md: error: modules.zerotier.constraints.roles.controller: min (3) is greater than max (1)\n\
         the whole clan of `clan.nix`: 2 errors, 0 warnings, 0 failed constraints\n"
    );
}

#[test]
fn validate_names_the_nix_side_of_a_clan_without_inventory_json() {
    let nix = Nix::with_plugin();
    let dir = TempDir::new("cli-no-inventory-json");
    let lib = repo_root().join("nix");
    fs::write(
        dir.path().join("clan.nix"),
        format!(
            "(import {lib}).buildClan {{\n  directory = ./.;\n  inventory.machines.a.tags = [ 1 ];\n}}\n",
            lib = lib.display()
        ),
    )
    .unwrap();
    let message = "inventory.machines.a.tags[0]: expected a string, found an integer";
    // --file: the Nix file, with the position Nix has.
    let run = cli(&nix, dir.path(), &["--file", "clan.nix", "validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!("clan.nix:3:3: error: {message}\nthe whole clan of `clan.nix`: 1 error, 0 warnings, 0 failed constraints\n")
    );
    // --expr: Nix has no position for what the expression writes, and there is no
    // inventory.json to point at: the buildClan argument is named, and no file.
    let expr = format!(
        "(import {lib}).buildClan {{ directory = {dir}; inventory.machines.a.tags = [ 1 ]; inventory.machines.b = {{ }}; inventory.bogus = 1; }}",
        lib = lib.display(),
        dir = dir.path().display()
    );
    let run = cli(&nix, dir.path(), &["--expr", &expr, "validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "the inventory argument of buildClan in --expr: error: {bogus}\n\
             the inventory argument of buildClan in --expr: error: {message}\n\
             the whole clan of --expr: 2 errors, 0 warnings, 0 failed constraints\n",
            bogus = builtin_message(
                &nix,
                dir.path(),
                &expr,
                "inventory: unknown attribute 'bogus'"
            )
        )
    );
    assert!(!run.stdout.contains("inventory.json"), "{}", run.stdout);
    let json = cli(
        &nix,
        dir.path(),
        &["--expr", &expr, "validate", "--format", "json"],
    );
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["file"], Value::Null);
    assert_eq!(
        v["errors"][1],
        serde_json::json!({
            "severity": "error",
            "path": "inventory.machines.a.tags[0]",
            "message": message,
            "file": null,
            "source": "the inventory argument of buildClan in --expr",
            "line": null,
            "column": null,
        })
    );
}

/// The builtin's message that starts with `start`, for the clan of `expr` (up to the end of its
/// line).
fn builtin_message(nix: &Nix, dir: &Path, expr: &str, start: &str) -> String {
    let out = nix
        .command("nix")
        .args(["eval", "--impure", "--json", "--expr"])
        .arg(format!("({expr}).clanInternals.resolved.warnings"))
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let at = stderr.find(start).unwrap_or_else(|| panic!("{stderr}"));
    stderr[at..].lines().next().unwrap().trim_end().to_owned()
}

#[test]
fn in_the_example_clan_the_default_reads_default_nix_when_the_flake_cannot_be_evaluated() {
    let nix = Nix::with_plugin();
    let example = example_copy();
    // The example's flake.nix has inputs that cannot be fetched here (a placeholder git URL).
    let run = cli(&nix, example.path(), &["resolve", "--format", "json"]);
    let mut notes = run.stderr.lines();
    let first = notes.next().unwrap_or_default();
    assert!(
        first.starts_with("clan-inventory: ./flake.nix names buildClan but could not be evaluated, so ./default.nix is read instead (Nix: ")
            && first.ends_with(')'),
        "{}",
        run.stderr
    );
    assert!(
        notes
            .next()
            .unwrap_or_default()
            .starts_with("clan-inventory: the whole clan of `default.nix` through Nix (5 machines"),
        "{}",
        run.stderr
    );
    let want = resolved_by_build_clan(&nix, &example.path().join("default.nix"));
    assert_eq!(json_of(&run), want);
    // Asked for, the flake is not replaced: its error is the answer.
    let run = cli(&nix, example.path(), &["--flake", ".", "validate"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr
            .starts_with("error: failed to evaluate the clan of flake `.`"),
        "{}",
        run.stderr
    );

    // Without a flake, a clan.nix that calls buildClan is the default.
    let dir = TempDir::new("cli-clan-nix-default");
    fs::write(
        dir.path().join("clan.nix"),
        format!(
            "(import {}).buildClan {{ directory = ./.; inventory.machines.solo = {{ }}; }}\n",
            repo_root().join("nix").display()
        ),
    )
    .unwrap();
    let run = cli(&nix, dir.path(), &["select", "all"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "solo\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .starts_with("clan-inventory: the whole clan of `clan.nix` through Nix (1 machines"),
        "{}",
        run.stderr
    );
}

#[test]
fn values_json_cannot_hold_are_decoded_as_what_they_are() {
    let nix = Nix::with_plugin();
    let dir = TempDir::new("cli-marks");
    copy_tree(
        &repo_root().join("examples/clan/modules"),
        &dir.path().join("modules"),
    );
    fs::write(dir.path().join("inventory.json"), "{ \"machines\": {} }\n").unwrap();
    let clan = |host: &str| {
        fs::write(
            dir.path().join("clan.nix"),
            format!(
                "(import {lib}).buildClan {{\n  directory = ./.;\n  inventory.machines.m.deploy.targetHost = {host};\n  inventory.services.zerotier.mesh.config.f = x: x;\n  inventory.services.zerotier.mesh.roles.controller.machines = [ \"m\" ];\n}}\n",
                lib = repo_root().join("nix").display()
            ),
        )
        .unwrap();
    };
    let builtin = || {
        let out = nix
            .command("nix")
            .args(["eval", "--impure", "--json", "--file"])
            .arg(dir.path().join("clan.nix"))
            .arg("clanInternals.resolved.warnings")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let summary = "the whole clan of `clan.nix`: 1 error, 0 warnings, 0 failed constraints\n";
    // A string that reads like a marker is a string (a function in config is not looked at).
    clan("\"«function»\"");
    assert!(builtin().0, "{}", builtin().1);
    let run = cli(&nix, dir.path(), &["--file", "clan.nix", "validate"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let run = cli(
        &nix,
        dir.path(),
        &["--file", "clan.nix", "resolve", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Each of these the builtin rejects with the same message.
    for (host, found) in [
        ("x: x", "a function"),
        ("./inventory.json", "a path"),
        (
            "derivation { name = \"d\"; builder = \"b\"; system = \"s\"; }",
            "an attribute set",
        ),
    ] {
        clan(host);
        let message = format!(
            "inventory.machines.m.deploy.targetHost: expected a string or null, found {found}"
        );
        let (ok, stderr) = builtin();
        assert!(!ok && stderr.contains(&message), "{host}: {stderr}");
        let run = cli(&nix, dir.path(), &["--file", "clan.nix", "validate"]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (
                1,
                format!("clan.nix:3:3: error: {message}\n{summary}").as_str()
            ),
            "{host}"
        );
    }
    // A value that throws: the builtin stops with the throw, the CLI names the value.
    clan("throw \"no host\"");
    let (ok, stderr) = builtin();
    assert!(!ok && stderr.contains("no host"), "{stderr}");
    let run = cli(&nix, dir.path(), &["--file", "clan.nix", "validate"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (
            1,
            // tryEval keeps no message: the CLI asks Nix for that value alone.
            format!("clan.nix:3:3: error: inventory.machines.m.deploy.targetHost: evaluating it fails: no host\n{summary}").as_str()
        )
    );
}

/// A clan with `inventory.instances` on both sides, and `clanInternals.clanServices.serviceModules`
/// as buildClan exposes it (docs/semantics.md: each module's evaluated config), given here as
/// plain values so that the test needs no nixpkgs; the modules no instance uses throw, so reading
/// them would fail the test.
fn clan_with_instances(dir: &Path) {
    fs::write(
        dir.join("inventory.json"),
        r#"{
  "machines": { "gateway": {}, "jon": { "tags": ["desk"] }, "sara": {} },
  "instances": {
    "web": { "roles": { "client": { "machines": { "jon": { "settings": { "x": 1 } } } } } }
  }
}
"#,
    )
    .unwrap();
    fs::write(
        dir.join("clan.nix"),
        format!(
            r#"let
  clan = (import {lib}).buildClan {{
    directory = ./.;
    inventory.instances = {{
      web.module = {{ name = "hello"; input = "self"; }};
      web.roles.server.machines.gateway = {{ }};
      web.roles.client.settings = {{ y = 2; }};
      vpn.module.name = "wireguard";
      vpn.roles.peer.tags = [ "all" ];
    }};
  }};
  serviceModules = {{
    self.hello = {{
      roles = {{ server = {{ }}; client = {{ }}; }};
      manifest.constraints = {{ maxInstances = 1; roles.server.maxMachines = 1; }};
    }};
    self.other = throw "an unused module is not read";
    clan-core = {{
      wireguard.roles = {{ peer = {{ }}; controller = {{ }}; }};
      unused = throw "not read either";
    }};
    nixpkgs = null;
  }};
in
clan // {{ clanInternals = clan.clanInternals // {{ clanServices = {{ inherit serviceModules; }}; }}; }}
"#,
            lib = repo_root().join("nix").display()
        ),
    )
    .unwrap();
}

#[test]
fn instances_of_the_whole_clan_resolve_as_the_builtin_does() {
    let nix = Nix::with_plugin();
    let dir = TempDir::new("cli-instances");
    clan_with_instances(dir.path());
    let run = cli(&nix, dir.path(), &["resolve", "--format", "json"]);
    let got = json_of(&run);
    // The builtin on the argument buildClan gives it, with the service modules.
    let clan = dir.path().join("clan.nix");
    let want = eval(
        &nix,
        &[
            "--impure",
            "--expr",
            &format!(
                "let ci = (import {}).clanInternals; in builtins.clanInventory {{ inherit (ci) inventory modules directory; inherit (ci.clanServices) serviceModules; }}",
                clan.display()
            ),
            "--apply",
            WITHOUT_VALUES,
        ],
    );
    assert_eq!(got, want);
    // Both sides' members: jon (inventory.json), gateway (Nix), every machine by tag 'all'.
    assert_eq!(
        got["instances"]["web"]["roles"]["server"]["machines"],
        serde_json::json!(["gateway"])
    );
    assert_eq!(
        got["machines"]["jon"]["instances"],
        serde_json::json!([
            { "service": "<clan-core>/wireguard", "instance": "vpn", "role": "peer" },
            { "service": "self/hello", "instance": "web", "role": "client" },
        ])
    );
    // The modules are known: no note that they are not checked.
    let validate = cli(&nix, dir.path(), &["validate"]);
    assert_eq!(
        (validate.code, validate.stdout.as_str()),
        (
            0,
            "the whole clan of `clan.nix`: 0 errors, 0 warnings, 0 failed constraints\n"
        ),
        "{}",
        validate.stderr
    );

    let explain = cli(&nix, dir.path(), &["explain", "jon"]);
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    for part in [
        "\ninstance vpn (clan service <clan-core>/wireguard)\n  clan service module <clan-core>/wireguard: flake input 'clan-core' (inputs.clan-core.clan.modules.wireguard)\n  role peer of vpn: via tag 'all' (every machine has it)\n",
        "  role client of web: listed in roles.client.machines (from inventory.json:4:51)\n",
        "  settings of role client, in the order they are evaluated against its interface:\n    inventory.instances.web.roles.client.settings (from the Nix inventory at clan.nix:7:7)\n    inventory.instances.web.roles.client.machines.jon.settings (from inventory.json:4:60)\n",
        "  constraints of clan service self/hello:\n    role server needs at most 1: ok, has 1: gateway\n    at most 1 instances: ok, has 1: web\n",
    ] {
        assert!(explain.stdout.contains(part), "{part}\n{}", explain.stdout);
    }
    let select = cli(
        &nix,
        dir.path(),
        &["select", "service:self/hello & !instance:web.client"],
    );
    assert_eq!(select.stdout, "gateway\n", "{}", select.stderr);

    // Edits: what the Nix side defines is refused; a role the module does not have is invalid; a
    // constraint broken by an edit is a warning.
    let before = inventory_text(dir.path());
    let read_only = "not in inventory.json: the Nix side is read-only here, change it there";
    for (args, last) in [
        (
            &["roles", "unassign", "web.server", "gateway"][..],
            format!("error: machine 'gateway' of role web.server is defined in the Nix inventory at clan.nix:6:7, {read_only}"),
        ),
        (
            &["roles", "unassign", "vpn.peer", "--tag", "all"][..],
            format!("error: tag 'all' of role vpn.peer is defined in the Nix inventory at clan.nix:9:7, {read_only}"),
        ),
        (
            &["roles", "assign", "web.srv", "jon"][..],
            "  inventory.instances.web.roles: role 'srv' is not defined by clan service module 'self/hello' (roles: client, server)".to_owned(),
        ),
    ] {
        let run = cli(&nix, dir.path(), args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stdout);
        assert_eq!(run.stderr.lines().last().unwrap_or_default(), last, "{args:?}");
        assert_eq!(inventory_text(dir.path()), before, "{args:?}");
    }
    let run = cli(&nix, dir.path(), &["roles", "assign", "web.server", "sara"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "inventory.json: role web.server: added machines: sara\n")
    );
    assert!(run.stderr.ends_with("warning: written, but a constraint now fails (the machines of its instance will not build until it holds): inventory.instances.web: role 'server' allows at most 1 machines, has 2: gateway, sara\n"), "{}", run.stderr);
    let run = cli(&nix, dir.path(), &["validate"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains(": constraint: inventory.instances.web: role 'server' allows at most 1 machines, has 2: gateway, sara\n"), "{}", run.stdout);
}

#[test]
fn service_modules_that_fail_to_evaluate_are_named_and_placed() {
    let nix = Nix::with_plugin();
    let dir = TempDir::new("cli-instances-throw");
    clan_with_instances(dir.path());
    // As without nixpkgs: the module used cannot be evaluated.
    let text = fs::read_to_string(dir.path().join("clan.nix"))
        .unwrap()
        .replace(
            "roles = { server = { }; client = { }; };",
            "roles = throw \"buildClan: inventory.instances needs `nixpkgs`\";",
        );
    fs::write(dir.path().join("clan.nix"), text).unwrap();
    let failure = "serviceModules.self.hello.roles: evaluating it fails: buildClan: inventory.instances needs `nixpkgs`";
    let run = cli(&nix, dir.path(), &["validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "the clan's own modules (modules.hello): error: {failure}\n\
             note: a clan service module fails to evaluate ({failure}), so the modules, roles and constraints of inventory.instances are not checked\n\
             the whole clan of `clan.nix`: 1 error, 0 warnings, 0 failed constraints\n"
        )
    );
    // The other commands answer on the rest, and say why they cannot check the modules.
    let run = cli(&nix, dir.path(), &["select", "instance:web.server"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "gateway\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!("note: a clan service module fails to evaluate ({failure}), so the modules, roles and constraints of inventory.instances are not checked\n")),
        "{}",
        run.stderr
    );
    // Without clanInternals.clanServices (a library before clan services), the CLI says why the
    // modules are not checked, and resolves the rest.
    let text = fs::read_to_string(dir.path().join("clan.nix"))
        .unwrap()
        .replace(
            "clanServices = { inherit serviceModules; };",
            "clanServices = { };",
        );
    fs::write(dir.path().join("clan.nix"), text).unwrap();
    let run = cli(&nix, dir.path(), &["select", "instance:web"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "gateway\njon\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.ends_with("note: this buildClan has no clanInternals.clanServices.serviceModules, so the modules, roles and constraints of inventory.instances are not checked\n"), "{}", run.stderr);
}
