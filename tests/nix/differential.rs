//! The plugin and the pure-Nix implementation (nix/inventory.nix) agree on random inventories:
//! identical results, or identical error texts. `CLAN_DIFF_CASES` sets how many (default 300;
//! the long job in the README runs thousands). Needs `--features plugin` (scripts/test).
#![cfg(feature = "plugin")]

use crate::common::{nix_str, Nix};
use clan_inventory::inventory::json::JsonTree;
use clan_inventory::inventory::{load, Errors};

fn cases() -> u64 {
    std::env::var("CLAN_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

/// How many invalid cases to compare (one `nix` process each, so slower): `CLAN_DIFF_ERRORS`.
fn error_cases() -> usize {
    std::env::var("CLAN_DIFF_ERRORS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

fn first_seed() -> u64 {
    std::env::var("CLAN_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Whether the core (which the plugin runs) rejects the case.
fn is_invalid(args: &serde_json::Value) -> bool {
    matches!(load(&mut JsonTree::new(), &args), Err(Errors::Invalid(_)))
}

const PLUGIN: &str = "builtins.clanInventory";
const PURE: &str = "import ./nix/inventory.nix";

fn batch(nix: &Nix, implementation: &str, cases: &[String]) -> serde_json::Value {
    // Too large for a command line: the cases go through a file.
    let file = nix.dir().join(format!("cases-{}.json", cases.len()));
    std::fs::write(&file, format!("[{}]", cases.join(","))).unwrap();
    nix.json(&format!(
        "let f = {implementation}; in map f (builtins.fromJSON (builtins.readFile {}))",
        file.display()
    ))
}

#[test]
fn plugin_and_pure_nix_agree_on_random_inventories() {
    let mut plugin = Nix::with_plugin();
    let mut pure = Nix::without_plugin();
    plugin.impure = true;
    pure.impure = true;
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    for seed in first_seed()..first_seed() + cases() {
        let args = crate::gen::arguments_with_instances(seed, true);
        let text = serde_json::to_string(&args).unwrap();
        if is_invalid(&args) {
            invalid.push((seed, text));
        } else {
            valid.push((seed, text));
        }
    }
    // Valid cases: one evaluation per implementation, compared case by case.
    let texts: Vec<String> = valid.iter().map(|(_, t)| t.clone()).collect();
    let a = batch(&plugin, PLUGIN, &texts);
    let b = batch(&pure, PURE, &texts);
    for (i, (seed, text)) in valid.iter().enumerate() {
        assert_eq!(a[i], b[i], "seed {seed}: results differ for\n{text}");
    }
    // Invalid cases: the same first error, one evaluation each.
    for (seed, text) in invalid.iter().take(error_cases()) {
        let expr = |f: &str| format!("({f}) (builtins.fromJSON {})", nix_str(text));
        let ea = plugin.error(&expr(PLUGIN));
        let eb = pure.error(&expr(PURE));
        assert_eq!(ea, eb, "seed {seed}: errors differ for\n{text}");
    }
    eprintln!(
        "compared {} valid cases and {} of {} invalid ones",
        valid.len(),
        invalid.len().min(error_cases()),
        invalid.len()
    );
    assert!(
        valid.len() > 50 && !invalid.is_empty(),
        "generator balance: {} valid, {} invalid",
        valid.len(),
        invalid.len()
    );
}
