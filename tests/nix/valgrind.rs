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
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json[0], json[1],
        "the GC-stress run differs from the normal one"
    );
    assert_eq!(
        json[0]["assertions"][0]["message"],
        "b.i: role 's' allows at most 0 machines, has 1: sara"
    );
}
