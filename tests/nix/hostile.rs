//! Hostile inputs through the real `nix` with the plugin: each gives a clear error naming the
//! attribute path or a correct result, and never a crash, an abort or a Rust panic (every
//! evaluation here goes through `common::assert_no_crash`). Also: forced garbage collections in
//! the middle of the builtin (the `test-hooks` feature), and no growth of memory with the number
//! of calls. Needs `--features test-hooks` (scripts/test).
#![cfg(feature = "test-hooks")]

use crate::common::Nix;
use serde_json::json;

const BORG: &str = "modules.borgbackup.roles = { client = { id = 1; }; server = { id = 2; }; };";

#[test]
fn huge_names_and_many_tags() {
    let nix = Nix::with_plugin();
    let out = nix.json(&format!(
        r#"let
          long = builtins.concatStringsSep "" (builtins.genList (_: "a") 200000);
          r = builtins.clanInventory {{
            {BORG}
            inventory.machines.${{long}}.tags = builtins.genList (i: "t${{toString i}}") 100000;
            inventory.machines.small = {{ }};
            inventory.services.borgbackup.i.roles.client.tags = [ "t99999" ];
          }};
        in [
          (builtins.length r.machines.${{long}}.tags)
          (builtins.stringLength (builtins.head r.services.borgbackup.i.roles.client.machines))
          r.machines.small.tags
        ]"#
    ));
    assert_eq!(out, json!([100_002, 200_000, ["all", "nixos"]]));
}

#[test]
fn odd_names_resolve_and_are_quoted_in_paths() {
    let nix = Nix::with_plugin();
    let out = nix.json(&format!(
        r#"(builtins.clanInventory {{
          {BORG}
          inventory.machines = {{ "" = {{ }}; "a\"b\nc" = {{ }}; "zoé" = {{ }}; "日本" = {{ tags = [ "ü" ]; }}; "$x" = {{ }}; }};
          inventory.services.borgbackup."in stance".roles.client = {{ machines = [ "" "a\"b\nc" ]; tags = [ "ü" ]; }};
        }}).services.borgbackup."in stance".roles.client.machines"#
    ));
    assert_eq!(out, json!(["", "a\"b\nc", "日本"]));
    let err = nix.error(&format!(
        r#"builtins.clanInventory {{ {BORG} inventory.machines."zoé" = {{ }}; inventory.services.borgbackup."i\"\${{x}}".roles.client.machines = [ "zoe" ]; }}"#
    ));
    assert_eq!(
        err,
        r#"inventory.services.borgbackup."i\"\${x}".roles.client.machines: machine 'zoe' is not defined in inventory.machines"#
    );
}

#[test]
fn names_that_are_not_utf8_are_refused() {
    let nix = Nix::with_plugin();
    // Cutting a two-byte character in half makes a string that is not UTF-8.
    let err = nix.error(
        r#"builtins.clanInventory { inventory.machines.${builtins.substring 0 1 "é"} = { }; }"#,
    );
    assert!(
        err.starts_with("inventory.machines: attribute name '")
            && err.ends_with("' is not valid UTF-8"),
        "{err}"
    );
    let err = nix.error(r#"builtins.clanInventory { inventory.machines.a.tags = [ (builtins.substring 0 1 "é") ]; }"#);
    assert!(
        err.starts_with("inventory.machines.a.tags[0]: string '"),
        "{err}"
    );
}

#[test]
fn throws_and_infinite_recursion_in_every_lazy_position_are_not_forced() {
    let nix = Nix::with_plugin();
    for bad in [r#"throw "boom""#, "let x = x; in x", "abort \"no\""] {
        let out = nix.json(&format!(
            r#"let
              bad = {bad};
              r = builtins.clanInventory {{
                modules.borgbackup.roles = {{ client = bad; server = bad; }};
                inventory.meta = bad;
                inventory.machines.jon = {{ description = bad; icon = bad; name = bad; }};
                inventory.services.borgbackup.i = {{
                  meta = bad; config = bad; extraModules = [ bad ];
                  machines.jon = {{ config = bad; extraModules = [ bad bad ]; }};
                  roles.client = {{ machines = [ "jon" ]; config = bad; extraModules = [ bad ]; }};
                }};
              }};
            in [ (builtins.length r.machines.jon.modules) r.machines.jon.tags r.warnings ]"#
        ));
        assert_eq!(out, json!([6, ["all", "nixos"], []]), "{bad}");
    }
}

#[test]
fn throws_and_infinite_recursion_in_structural_positions_are_errors_with_a_path() {
    let nix = Nix::with_plugin();
    for (field, path) in [
        (
            "inventory.machines.jon.tags = BAD;",
            "inventory.machines.jon.tags",
        ),
        (
            "inventory.machines.jon.deploy.targetHost = BAD;",
            "inventory.machines.jon.deploy.targetHost",
        ),
        (
            "inventory.services.borgbackup.i.enabled = BAD;",
            "inventory.services.borgbackup.i.enabled",
        ),
        (
            "inventory.services.borgbackup.i.roles.client.machines = [ BAD ];",
            "inventory.services.borgbackup.i.roles.client.machines[0]",
        ),
        (
            "modules.borgbackup.constraints = BAD;",
            "modules.borgbackup.constraints",
        ),
    ] {
        for bad in [r#"throw "boom""#, "(let x = x; in x)"] {
            let expr = format!(
                "builtins.clanInventory {{ {BORG} inventory.machines.jon = {{ }}; {} }}",
                field.replace("BAD", bad)
            );
            let err = nix.eval_json(&expr).unwrap_err();
            assert!(err.contains(&format!("{path}: ")), "{expr}\n{err}");
            assert!(
                err.contains("boom") || err.contains("infinite recursion"),
                "{expr}\n{err}"
            );
        }
    }
}

#[test]
fn functions_derivation_like_sets_and_builtins_where_sets_are_expected() {
    let nix = Nix::with_plugin();
    for (arg, message) in [
        (
            "{ inventory = builtins; }",
            "inventory: unknown attribute 'abort' (attributes: instances, machines, meta, services, tags)",
        ),
        (
            "{ inventory.machines = x: x; }",
            "inventory.machines: expected an attribute set, found a function",
        ),
        (
            "{ inventory.machines.jon.tags = builtins.map; }",
            "inventory.machines.jon.tags: expected a list of strings, found a function",
        ),
        (
            "{ inventory.machines.jon.tags = [ { } ]; }",
            "inventory.machines.jon.tags[0]: expected a string, found an attribute set",
        ),
        (
            "{ modules.m = { type = \"derivation\"; }; }",
            "modules.m: unknown attribute 'type' (attributes: constraints, roles)",
        ),
    ] {
        assert_eq!(
            nix.error(&format!("builtins.clanInventory {arg}")),
            message,
            "{arg}"
        );
    }
}

#[test]
fn deep_nesting_in_config_and_meta_is_left_alone() {
    let nix = Nix::with_plugin();
    let out = nix.json(&format!(
        r#"let
          deep = builtins.foldl' (acc: _: {{ inner = acc; }}) {{ }} (builtins.genList (i: i) 100000);
          r = builtins.clanInventory {{
            {BORG}
            inventory.meta = deep;
            inventory.machines.jon = {{ }};
            inventory.services.borgbackup.i = {{ config = deep; roles.client.machines = [ "jon" ]; }};
          }};
        in builtins.length r.machines.jon.modules"#
    ));
    assert_eq!(out, json!(2));
}

/// Forced full collections between the builtin's phases and after each machine, with a tiny
/// initial heap: the results must not change (a value the plugin used without holding a
/// reference would be collected and show up as garbage or a crash).
#[test]
fn forced_collections_do_not_change_results() {
    let mut cases = Vec::new();
    for seed in 0..80 {
        let args = crate::gen::arguments(seed, false);
        cases.push(serde_json::to_string(&args).unwrap());
    }
    let mut nix = Nix::with_plugin();
    nix.impure = true;
    let file = nix.dir().join("cases.json");
    std::fs::write(&file, format!("[{}]", cases.join(","))).unwrap();
    let expr = |f: &str| {
        format!(
            "let cases = builtins.fromJSON (builtins.readFile {}); in map (a: builtins.tryEval (builtins.deepSeq ({f} a) ({f} a))) cases",
            file.display()
        )
    };
    let normal = nix.json(&expr("builtins.clanInventory"));
    let mut cmd = nix.command("nix");
    cmd.env("GC_INITIAL_HEAP_SIZE", "1M").args([
        "eval",
        "--impure",
        "--json",
        "--expr",
        &expr("builtins.clanInventoryGcStress"),
    ]);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    crate::common::assert_no_crash(&out, &stderr);
    assert!(out.status.success(), "{stderr}");
    let stressed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(normal, stressed);
}

/// Many calls whose results are dropped: peak memory must not grow with the number of calls (it
/// would if the plugin leaked references, which keep values alive).
#[test]
fn memory_does_not_grow_with_the_number_of_calls() {
    let nix = Nix::with_plugin();
    let peak = |calls: usize| -> u64 {
        let expr = format!(
            r#"builtins.foldl' (acc: i: acc + builtins.length (builtins.clanInventory {{
                {BORG}
                inventory.machines = {{ "a${{toString i}}" = {{ tags = [ "x" ]; }}; b = {{ }}; }};
                inventory.services.borgbackup.s.roles.client.tags = [ "x" "all" ];
              }}).machines.b.modules) 0 (builtins.genList (i: i) {calls})"#
        );
        let mut child = nix
            .command("nix")
            .env("GC_INITIAL_HEAP_SIZE", "4M")
            .args(["eval", "--json", "--expr", &expr])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Peak RSS (VmHWM) read from /proc while the evaluation runs.
        let status = format!("/proc/{}/status", child.id());
        let mut peak = 0;
        while child.try_wait().unwrap().is_none() {
            if let Ok(text) = std::fs::read_to_string(&status) {
                if let Some(kib) = text.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                    peak = peak.max(
                        kib.trim()
                            .trim_end_matches(" kB")
                            .trim()
                            .parse::<u64>()
                            .unwrap_or(0),
                    );
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            (2 * calls).to_string()
        );
        peak
    };
    let small = peak(2_000);
    eprintln!("peak RSS for 2,000 calls: {small} KiB");
    let large = peak(20_000);
    eprintln!("peak RSS for 20,000 calls: {large} KiB");
    // Ten times the calls: garbage is collected, so the peak stays within a margin far below what
    // ten times the live data would need.
    assert!(small > 0 && large > 0, "could not read the peak RSS");
    assert!(
        large < small + small / 2,
        "peak RSS grew from {small} KiB to {large} KiB for 10x the calls"
    );
}
