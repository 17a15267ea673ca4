//! The plugin under valgrind's memcheck, in the real `nix`: no invalid read or write, no
//! use-after-free, no uninitialised use outside the GC's conservative scanning (suppressed by
//! tests/valgrind.supp). Uses the GC-stress hook, so collections happen while the plugin holds
//! values. Needs `--features test-hooks` and valgrind (scripts/bootstrap-nix installs it).
#![cfg(feature = "test-hooks")]

use crate::common::{repo_root, Nix};

#[test]
fn memcheck_finds_no_error_in_a_small_evaluation() {
    let nix = Nix::with_plugin();
    let expr = r#"let
        r = f: f {
          modules.b = { roles = { c = { id = 1; }; s = { id = 2; }; }; constraints.roles.s.max = 0; };
          inventory.machines = { jon = { tags = [ "t" ]; deploy.targetHost = "root@jon"; }; sara.machineClass = "darwin"; };
          inventory.tags.u = [ "sara" ];
          inventory.services.b.i = {
            config.x = 1; extraModules = [ ./README.md "x.nix" ];
            machines.jon.config.y = 2;
            roles.c = { tags = [ "t" "u" "none" ]; config.z = 3; };
            roles.s.machines = [ "sara" ];
          };
          directory = /clan;
        };
        a = r builtins.clanInventoryGcStress;
        b = r builtins.clanInventory;
      in builtins.deepSeq [ a b ] [ a b ]"#;
    let json = memcheck(&nix, expr);
    assert_eq!(
        json[0], json[1],
        "the GC-stress run differs from the normal one"
    );
    assert_eq!(
        json[0]["assertions"][0]["message"],
        "b.i: role 's' allows at most 0 machines, has 1: sara"
    );
}

/// Values the plugin holds between the builtin's call and the forcing of a machine, under
/// memcheck: the result is made, collections run (the test hooks), and only then are the machines
/// and the services forced.
#[test]
fn memcheck_finds_no_error_when_machines_are_forced_after_collections() {
    let nix = Nix::with_plugin();
    let expr = r#"let
        gc = builtins.clanInventoryGcNow;
        r = builtins.clanInventory {
          modules.b = { roles = { c = { id = "c" + "1"; }; s = { id = 2; }; }; constraints.roles.s.max = 0; };
          inventory.machines = builtins.listToAttrs (builtins.genList (i: {
            name = "m${toString i}";
            value = { tags = [ "t${toString (i - i / 2 * 2)}" ]; deploy.targetHost = "root@" + toString i; };
          }) 6);
          inventory.services.b.i = {
            config.x = builtins.genList (i: "x${toString i}") 3; extraModules = [ { e = "e" + "1"; } "x.nix" ];
            machines.m1.config.y = 2;
            roles.c = { tags = [ "t0" "t1" ]; config.z = 3; };
            roles.s.machines = [ "m3" ];
          };
          directory = /clan;
        };
        held = builtins.seq r.warnings (builtins.seq (gc 1) (builtins.seq (gc 2) (builtins.seq (gc 3) r)));
        show = m: m // { modules = map (x: if builtins.isAttrs x && x ? _file then { inherit (x) _file config; } else x) m.modules; };
      in [ (builtins.mapAttrs (_: show) held.machines) held.services held.assertions ]"#;
    let json = memcheck(&nix, expr);
    assert_eq!(
        json[0]["m1"]["tags"],
        serde_json::json!(["t1", "all", "nixos"])
    );
    assert_eq!(
        json[1]["b"]["i"]["roles"]["s"]["machines"],
        serde_json::json!(["m3"])
    );
}

/// Runs `nix eval --json --expr EXPR` under memcheck with a small GC heap; fails on any error
/// memcheck reports, and returns the JSON.
fn memcheck(nix: &Nix, expr: &str) -> serde_json::Value {
    let mut cmd = std::process::Command::new("valgrind");
    let inner = nix.command("nix");
    cmd.arg("--error-exitcode=99")
        .arg(format!(
            "--suppressions={}",
            repo_root().join("tests/valgrind.supp").display()
        ))
        .arg(inner.get_program())
        .args(inner.get_args())
        .args(["eval", "--json", "--expr", expr])
        .envs(inner.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env("GC_INITIAL_HEAP_SIZE", "1M")
        .current_dir(repo_root());
    let out = cmd
        .output()
        .expect("valgrind runs (apt-get install valgrind)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stderr
        .lines()
        .find(|l| l.contains("ERROR SUMMARY"))
        .unwrap_or("no summary");
    assert!(
        out.status.success(),
        "memcheck reported errors ({summary}):\n{stderr}"
    );
    assert!(summary.contains("ERROR SUMMARY: 0 errors"), "{summary}");
    serde_json::from_slice(&out.stdout).unwrap()
}
