//! `clan-inventory resolve --format json` equals the builtin's result (without module values) for
//! the same inventory and modules: the CLI and the plugin run the same core. Needs `--features
//! plugin` (scripts/test).
#![cfg(feature = "plugin")]

use crate::common::{repo_root, Nix};

fn cli_resolve(dir: &str, modules: &str) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clan-inventory"))
        .args(["resolve", "--format", "json", "--modules"])
        .arg(repo_root().join(modules))
        .arg(repo_root().join(dir).join("inventory.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn builtin_resolve(dir: &str, modules: &str) -> serde_json::Value {
    let mut nix = Nix::with_plugin();
    nix.impure = true;
    let root = repo_root().join(dir);
    nix.json(&format!(
        r#"let
          r = builtins.clanInventory {{
            inventory = builtins.fromJSON (builtins.readFile {root}/inventory.json);
            modules = (import ./nix/modules.nix).fromParent {modules};
            directory = {root};
          }};
        in r // {{ machines = builtins.mapAttrs (_: m: removeAttrs m [ "modules" ]) r.machines; }}"#,
        root = root.display(),
        modules = repo_root().join(modules).display()
    ))
}

#[test]
fn cli_and_builtin_agree_on_the_cli_example() {
    let m = "tests/cli/example/modules";
    assert_eq!(
        cli_resolve("tests/cli/example", m),
        builtin_resolve("tests/cli/example", m)
    );
}

#[test]
fn cli_and_builtin_agree_with_failed_constraints() {
    let (dir, m) = ("tests/cli/constraints", "tests/cli/example/modules");
    let cli = cli_resolve(dir, m);
    assert!(
        !cli["assertions"].as_array().unwrap().is_empty(),
        "the fixture should fail a constraint"
    );
    assert_eq!(cli, builtin_resolve(dir, m));
}
