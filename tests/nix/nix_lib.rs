//! The Nix library in `nix/`, run by a real `nix` (no plugin needed): the pure-Nix clanInventory on
//! the spec's cases and error texts (fixtures in `tests/nix/`, expected results written by hand),
//! laziness, module discovery, the example clan, and `buildClan` through a flake with no inputs.
//!
//! Nix comes from `CLAN_NIX_PREFIX` or the cache of `scripts/bootstrap-nix` (see `tests/common`);
//! every test runs it with a store, state and configuration of its own, and downloads nothing.
//! Needs the `with-nix` feature (implied by `plugin`; scripts/test enables it).
#![cfg(feature = "with-nix")]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::{error_message, test_flake, Nix};

fn repo() -> PathBuf {
    crate::common::repo_root()
}

fn fixtures() -> PathBuf {
    repo().join("tests/nix")
}

/// `nix eval --json ARGS` without the plugin: the value, or what Nix printed on stderr.
fn eval(nix: &Nix, args: &[&str]) -> Result<Value, String> {
    let out = nix
        .command("nix")
        .arg("eval")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    crate::common::assert_no_crash(&out, &stderr);
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "nix printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        }))
    } else {
        Err(stderr)
    }
}

/// `nix eval --json --impure --expr EXPR` (impure: the expressions import files of this repository).
fn eval_expr(nix: &Nix, expr: &str) -> Result<Value, String> {
    eval(nix, &["--impure", "--expr", expr])
}

fn nix_string(path: &Path) -> String {
    format!("{}", path.display())
}

/// `import <repo>/nix/inventory.nix`
fn pure() -> String {
    format!("(import {})", nix_string(&repo().join("nix/inventory.nix")))
}

fn describe(root: &Path) -> String {
    format!(
        "(import {} {{ root = {}; }})",
        nix_string(&fixtures().join("describe.nix")),
        nix_string(root)
    )
}

fn diff_json(what: &str, got: &Value, want: &Value) -> Option<String> {
    (got != want).then(|| {
        format!(
            "{what}:\n  got:  {}\n  want: {}",
            serde_json::to_string(got).unwrap(),
            serde_json::to_string(want).unwrap()
        )
    })
}

// --- the spec's cases -------------------------------------------------------------------------

#[test]
fn pure_nix_resolves_every_case_as_written_by_hand() {
    resolves_every_case_as_written_by_hand(&Nix::without_plugin(), &pure());
}

/// The same hand-written cases through the builtin: both implementations meet one expectation.
#[cfg(feature = "plugin")]
#[test]
fn builtin_resolves_every_case_as_written_by_hand() {
    resolves_every_case_as_written_by_hand(&Nix::with_plugin(), "builtins.clanInventory");
}

fn resolves_every_case_as_written_by_hand(nix: &Nix, implementation: &str) {
    let cases = fixtures().join("cases");
    let mut names: Vec<String> = fs::read_dir(&cases)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "cases found: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let want: Value =
            serde_json::from_str(&fs::read_to_string(cases.join(format!("{name}.json"))).unwrap())
                .unwrap();
        let expr = format!(
            "{} ({implementation} (import {}))",
            describe(&cases),
            nix_string(&cases.join(format!("{name}.nix")))
        );
        match eval_expr(nix, &expr) {
            Ok(got) => failures.extend(diff_json(name, &got, &want)),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pure_nix_stops_with_the_exact_message_of_every_error() {
    stops_with_the_exact_message_of_every_error(&Nix::without_plugin(), &pure());
}

/// The same error cases through the builtin.
#[cfg(feature = "plugin")]
#[test]
fn builtin_stops_with_the_exact_message_of_every_error() {
    stops_with_the_exact_message_of_every_error(&Nix::with_plugin(), "builtins.clanInventory");
}

/// The cases of the table `errors` (a Nix path) that have attribute `field`.
fn cases_with(errors: &str, field: &str) -> String {
    format!(
        "(let cases = import {errors}; in builtins.listToAttrs (map (name: {{ inherit name; value = cases.${{name}}; }}) \
         (builtins.filter (name: cases.${{name}} ? {field}) (builtins.attrNames cases))))"
    )
}

fn stops_with_the_exact_message_of_every_error(nix: &Nix, implementation: &str) {
    let errors = nix_string(&fixtures().join("errors.nix"));
    let Ok(Value::Object(cases)) = eval_expr(
        nix,
        &format!(
            "builtins.mapAttrs (_: e: e.error) {}",
            cases_with(&errors, "error")
        ),
    ) else {
        panic!("tests/nix/errors.nix does not evaluate")
    };
    assert!(cases.len() >= 60, "only {} error cases", cases.len());
    let mut failures = Vec::new();
    for (name, want) in &cases {
        let want = want.as_str().unwrap();
        let expr = format!(
            "let e = (import {errors}).{name}; in builtins.deepSeq ((e.select or (r: r.warnings)) ({implementation} e.argument)) null"
        );
        match eval_expr(nix, &expr) {
            Ok(v) => failures.push(format!("{name}: no error, got {v}")),
            Err(stderr) if error_message(&stderr) == want => {}
            Err(stderr) => failures.push(format!(
                "{name}:\n  got:  {}\n  want: {want}",
                error_message(&stderr)
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pure_nix_gives_the_exact_warnings_and_assertions() {
    gives_the_exact_warnings_and_assertions(&Nix::without_plugin(), &pure());
}

/// The same accepted cases through the builtin.
#[cfg(feature = "plugin")]
#[test]
fn builtin_gives_the_exact_warnings_and_assertions() {
    gives_the_exact_warnings_and_assertions(&Nix::with_plugin(), "builtins.clanInventory");
}

/// The cases of tests/nix/errors.nix that are accepted, with the texts of their warnings and
/// failed constraints.
fn gives_the_exact_warnings_and_assertions(nix: &Nix, implementation: &str) {
    let errors = nix_string(&fixtures().join("errors.nix"));
    let expr = format!(
        "builtins.mapAttrs (_: e: let r = {implementation} e.argument; in {{ \
           want = {{ inherit (e) warnings assertions; }}; \
           got = {{ inherit (r) warnings; assertions = map (a: a.message) r.assertions; }}; \
         }}) {}",
        cases_with(&errors, "warnings")
    );
    let Ok(Value::Object(cases)) = eval_expr(nix, &expr) else {
        panic!("tests/nix/errors.nix does not evaluate")
    };
    assert!(cases.len() >= 4, "only {} accepted cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, case)| diff_json(name, &case["got"], &case["want"]))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// --- laziness ---------------------------------------------------------------------------------

/// An inventory whose lazy positions throw, except around `ok`.
const LAZY_ARGUMENT: &str = r#"{
          directory = /srv/clan;
          modules = {
            b = { roles = { client = throw "role module forced"; server = { id = "server"; }; }; };
          };
          inventory = {
            meta = throw "meta forced";
            machines = {
              bad = { description = throw "description forced"; icon = throw "icon forced"; name = throw "name forced"; };
              ok = { };
            };
            services.b.i = {
              meta = throw "instance meta forced";
              config = builtins.trace "shared config evaluated" { shared = true; };
              machines.bad.config = throw "machine config forced";
              extraModules = [ (throw "extra module forced") ];
              roles.client.machines = [ "bad" ];
              roles.server.machines = [ "ok" "bad" ];
            };
          };
        }"#;

#[test]
fn pure_nix_forces_no_config_module_or_extra_module() {
    let nix = Nix::without_plugin();
    let arg = LAZY_ARGUMENT;
    // The whole structure of the result, without any module value.
    let got = eval_expr(&nix, &format!(
            "let r = {} {arg}; in {{ inherit (r) services warnings assertions; \
             machines = builtins.mapAttrs (_: m: {{ inherit (m) tags services; modules = builtins.length m.modules; }}) r.machines; }}",
            pure()
        ))
        .unwrap();
    let roles =
        json!({ "client": { "machines": ["bad"] }, "server": { "machines": ["ok", "bad"] } });
    assert_eq!(
        got,
        json!({
            "machines": {
                "bad": { "tags": ["all", "nixos"], "services": { "b": { "i": { "roles": ["client", "server"] } } }, "modules": 4 },
                "ok": { "tags": ["all", "nixos"], "services": { "b": { "i": { "roles": ["server"] } } }, "modules": 3 }
            },
            "services": { "b": { "i": { "enabled": true, "roles": roles } } },
            "warnings": [],
            "assertions": []
        })
    );
    // `ok`'s role module and generated module evaluate in full although `bad`'s values throw.
    let ok = eval_expr(&nix, &format!(
            "let ms = ({} {arg}).machines.ok.modules; in {} [ (builtins.elemAt ms 0) (builtins.elemAt ms 2) ]",
            pure(),
            describe(Path::new("/srv/clan"))
        ))
        .unwrap();
    assert_eq!(ok[0], json!({ "id": "server" }));
    assert_eq!(
        ok[1]["config"]["clan"]["b"]["contents"],
        json!([{ "shared": true }])
    );
    // Forcing one value raises that value's own error.
    for (select, message) in [
        (
            "builtins.elemAt r.machines.bad.modules 0",
            "role module forced",
        ),
        (
            "builtins.elemAt r.machines.bad.modules 2",
            "extra module forced",
        ),
        (
            "builtins.elemAt (builtins.elemAt r.machines.bad.modules 3).config.clan.b.contents 1",
            "machine config forced",
        ),
    ] {
        let err = eval_expr(
            &nix,
            &format!(
                "let r = {} {arg}; in builtins.deepSeq ({select}) null",
                pure()
            ),
        )
        .unwrap_err();
        assert_eq!(error_message(&err), message, "{select}");
    }
}

#[test]
fn pure_nix_evaluates_a_shared_config_once() {
    let nix = Nix::without_plugin();
    let arg = LAZY_ARGUMENT;
    // The instance config reaches both members; force it through each of them.
    let out = nix
        .command("nix")
        .args(["eval", "--json", "--impure", "--expr"])
        .arg(format!(
            "let r = {} {arg}; contents = m: i: (builtins.elemAt r.machines.${{m}}.modules i).config.clan.b.contents; \
             in builtins.deepSeq [ (builtins.head (contents \"ok\" 2)) (builtins.head (contents \"bad\" 3)) ] 1",
            pure()
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("shared config evaluated").count(),
        1,
        "{stderr}"
    );
}

/// Clan service instances whose settings, extraModules entries, role values and unused
/// `serviceModules` throw: resolution reads none of them.
const LAZY_INSTANCES: &str = r#"{
          directory = /srv/clan;
          serviceModules = {
            self.backup = {
              roles = { client = throw "role forced"; server = throw "role forced"; };
              manifest = { readme = throw "readme forced"; constraints.roles.server.maxMachines = 1; };
              perInstance = throw "perInstance forced";
            };
            self.unused = throw "unused module forced";
            other = throw "unused input forced";
          };
          inventory = {
            meta = throw "meta forced";
            machines = { jon.tags = [ "laptop" ]; sara = { }; };
            instances.backup.roles = {
              client = {
                settings = throw "role settings forced";
                machines.jon.settings = throw "jon's settings forced";
                tags.laptop.settings = throw "tag settings forced";
                extraModules = [ (throw "extra module forced") "x.nix" ];
              };
              server.machines = { jon = { }; sara.settings = builtins.trace "sara's settings evaluated" { }; };
            };
          };
        }"#;

#[test]
fn pure_nix_resolves_instances_without_forcing_settings_or_modules() {
    resolves_instances_without_forcing_settings_or_modules(&Nix::without_plugin(), &pure());
}

/// The same lazy instances through the builtin.
#[cfg(feature = "plugin")]
#[test]
fn builtin_resolves_instances_without_forcing_settings_or_modules() {
    resolves_instances_without_forcing_settings_or_modules(
        &Nix::with_plugin(),
        "builtins.clanInventory",
    );
}

fn resolves_instances_without_forcing_settings_or_modules(nix: &Nix, implementation: &str) {
    let arg = LAZY_INSTANCES;
    // Everything but the values: each settings definition by its `_file`, extraModules by count.
    let got = eval_expr(
        nix,
        &format!(
            "let r = {implementation} {arg}; in {{ inherit (r) warnings assertions clanServices; \
             machines = builtins.mapAttrs (_: m: m.instances) r.machines; \
             instances = builtins.mapAttrs (_: i: i // {{ roles = builtins.mapAttrs (_: role: role // {{ \
               settings = builtins.mapAttrs (_: map (d: d._file)) role.settings; \
               roleSettings = map (d: d._file) role.roleSettings; \
               extraModules = builtins.length role.extraModules; }}) i.roles; }}) r.instances; }}"
        ),
    )
    .unwrap();
    let too_many = json!({ "assertion": false, "message": "inventory.instances.backup: role 'server' allows at most 1 machines, has 2: jon, sara" });
    let member =
        |role: &str| json!({ "service": "self/backup", "instance": "backup", "role": role });
    let client = "inventory.instances.backup.roles.client";
    assert_eq!(
        got,
        json!({
            "warnings": [],
            "assertions": [too_many],
            "clanServices": { "self/backup": {
                "module": { "name": "backup", "input": "self" },
                "instances": ["backup"],
                "machines": { "jon": ["backup"], "sara": ["backup"] },
                "assertions": []
            } },
            "machines": { "jon": [member("client"), member("server")], "sara": [member("server")] },
            "instances": { "backup": {
                "service": "self/backup",
                "module": { "name": "backup", "input": "self" },
                "assertions": [too_many],
                "roles": {
                    "client": {
                        "machines": ["jon"],
                        "settings": { "jon": [
                            format!("{client}.settings"),
                            format!("{client}.machines.jon.settings"),
                            format!("{client}.tags.laptop.settings")
                        ] },
                        "roleSettings": [format!("{client}.settings")],
                        "extraModules": 2
                    },
                    "server": {
                        "machines": ["jon", "sara"],
                        "settings": { "jon": [], "sara": ["inventory.instances.backup.roles.server.machines.sara.settings"] },
                        "roleSettings": [],
                        "extraModules": 0
                    }
                }
            } }
        })
    );
    // Each value is the user's own, and raises its own error only when it is forced.
    for (select, message) in [
        (
            "builtins.head (builtins.elemAt r.instances.backup.roles.client.settings.jon 1).imports",
            "jon's settings forced",
        ),
        (
            "builtins.head (builtins.elemAt r.instances.backup.roles.client.settings.jon 2).imports",
            "tag settings forced",
        ),
        (
            "builtins.head (builtins.head r.instances.backup.roles.client.roleSettings).imports",
            "role settings forced",
        ),
        (
            "builtins.head r.instances.backup.roles.client.extraModules",
            "extra module forced",
        ),
        (
            "builtins.elemAt r.instances.backup.roles.client.extraModules 1 == /srv/clan/x.nix || throw \"not relative to directory\"",
            "",
        ),
    ] {
        let result = eval_expr(
            nix,
            &format!("let r = {implementation} {arg}; in builtins.deepSeq ({select}) null"),
        );
        match result {
            Ok(_) if message.is_empty() => {}
            Ok(v) => panic!("{select}: no error, got {v}"),
            Err(err) => assert_eq!(error_message(&err), message, "{select}"),
        }
    }
    // Forcing one machine's settings evaluates nobody else's.
    for (force, traces) in [
        ("s.jon", 0),
        ("[ s.jon (builtins.head s.sara).imports ]", 1),
    ] {
        let out = nix
            .command("nix")
            .args(["eval", "--json", "--impure", "--expr"])
            .arg(format!(
                "let r = {implementation} {arg}; s = r.instances.backup.roles.server.settings; \
                 in builtins.deepSeq ({force}) 1"
            ))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let count = stderr.matches("sara's settings evaluated").count();
        assert_eq!(count, traces, "{force}: {stderr}");
    }
}

// --- random fleets with clan services --------------------------------------------------------

/// The names of an attribute set in the JSON of an argument, sorted as Nix sorts them (the
/// generator's maps keep insertion order).
fn sorted_names(v: &Value) -> Vec<String> {
    let mut names: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// The members of `role` (an argument's `roles.<r>`) as docs/semantics.md defines them, from the
/// machines' tags in the result: explicit names sorted, then per tag its machines sorted.
fn expected_members(role: &Value, tags_of: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut members = sorted_names(&role["machines"]);
    let tags: Vec<String> = match &role["tags"] {
        Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap().to_owned()).collect(),
        tags => sorted_names(tags),
    };
    for t in &tags {
        let mut carriers: Vec<&String> = tags_of
            .iter()
            .filter(|(_, m)| m["tags"].as_array().unwrap().iter().any(|x| x == t))
            .map(|(name, _)| name)
            .collect();
        carriers.sort();
        for m in carriers {
            if !members.contains(m) {
                members.push(m.clone());
            }
        }
    }
    members
}

/// The settings definitions of member `m` of `role` at `path`: `(_file, value)` in contract order.
fn expected_settings(role: &Value, path: &str, m: &str, tags: &[Value]) -> Vec<Value> {
    let def = |file: String, v: &Value| json!({ "_file": file, "imports": [v] });
    let mut defs = Vec::new();
    if let Some(v) = role.get("settings") {
        defs.push(def(format!("{path}.settings"), v));
    }
    if let Some(v) = role["machines"].get(m).and_then(|e| e.get("settings")) {
        defs.push(def(format!("{path}.machines.{m}.settings"), v));
    }
    if role["tags"].is_object() {
        for t in sorted_names(&role["tags"]) {
            let entry = &role["tags"][&t];
            if let (Some(v), true) = (entry.get("settings"), tags.iter().any(|x| *x == t)) {
                defs.push(def(format!("{path}.tags.{t}.settings"), v));
            }
        }
    }
    defs
}

/// Random fleets with clan services (tests/gen, the cases the differential test compares with the
/// builtin): the pure-Nix result has each instance's module, members, settings definitions and
/// constraints, each machine's memberships and each service's instances as docs/semantics.md
/// defines them, computed here from the argument; and the generator gives valid and invalid cases.
#[test]
fn pure_nix_resolves_random_clan_services_as_specified() {
    let mut nix = Nix::without_plugin();
    nix.impure = true;
    let cases: Vec<Value> = (0..150)
        .map(|seed| crate::gen::arguments_with_instances(seed, false))
        .collect();
    let file = nix.dir().join("instances.json");
    fs::write(&file, serde_json::to_string(&cases).unwrap()).unwrap();
    let results = nix.json(&format!(
        "let f = {}; in map (a: let r = f a; v = {{ inherit (r) instances clanServices warnings assertions; \
         machines = builtins.mapAttrs (_: m: {{ inherit (m) tags instances; }}) r.machines; }}; \
         t = builtins.tryEval (builtins.deepSeq v v); in if t.success then t.value else null) \
         (builtins.fromJSON (builtins.readFile {}))",
        pure(),
        file.display()
    ));
    let mut memberships_seen = 0;
    let mut resolved = 0;
    for (seed, (args, out)) in cases.iter().zip(results.as_array().unwrap()).enumerate() {
        // The services part of the generator can break a constraint's min <= max.
        if out.is_null() {
            continue;
        }
        resolved += 1;
        let sm = &args["serviceModules"];
        let default_input = if sm.get("clan-core").is_some() {
            "clan-core"
        } else {
            "self"
        };
        let machines = out["machines"].as_object().unwrap();
        let mut memberships: BTreeMap<&str, Vec<(String, String, String)>> =
            machines.keys().map(|m| (m.as_str(), Vec::new())).collect();
        let mut services: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut role_assertions = Vec::new();
        let instances = &args["inventory"]["instances"];
        for name in &sorted_names(instances) {
            let inst = &instances[name];
            let got = &out["instances"][name];
            let input = inst["module"]["input"].as_str().unwrap_or(default_input);
            let module = inst["module"]["name"].as_str().unwrap_or(name);
            let label = if input == "clan-core" {
                "<clan-core>"
            } else {
                input
            };
            let key = format!("{label}/{module}");
            assert_eq!(got["service"], json!(key), "seed {seed}: {name}");
            assert_eq!(
                got["module"],
                json!({ "name": module, "input": input }),
                "seed {seed}"
            );
            services.entry(key.clone()).or_default().push(name.clone());
            let roles = &inst["roles"];
            assert_eq!(
                sorted_names(&got["roles"]),
                sorted_names(roles),
                "seed {seed}: {name}"
            );
            let mut members_of = BTreeMap::new();
            for r in &sorted_names(roles) {
                let role = &roles[r];
                let path = format!("inventory.instances.{name}.roles.{r}");
                let members = expected_members(role, machines);
                let got_role = &got["roles"][r];
                assert_eq!(got_role["machines"], json!(members), "seed {seed}: {path}");
                let settings: serde_json::Map<String, Value> = members
                    .iter()
                    .map(|m| {
                        let tags = machines[m]["tags"].as_array().unwrap();
                        (m.clone(), json!(expected_settings(role, &path, m, tags)))
                    })
                    .collect();
                assert_eq!(
                    got_role["settings"],
                    Value::Object(settings),
                    "seed {seed}: {path}"
                );
                let role_settings: Vec<Value> = role
                    .get("settings")
                    .map(|v| json!({ "_file": format!("{path}.settings"), "imports": [v] }))
                    .into_iter()
                    .collect();
                assert_eq!(
                    got_role["roleSettings"],
                    json!(role_settings),
                    "seed {seed}: {path}"
                );
                for m in &members {
                    memberships.get_mut(m.as_str()).unwrap().push((
                        key.clone(),
                        r.clone(),
                        name.clone(),
                    ));
                }
                members_of.insert(r.clone(), members);
            }
            // Role constraints, module roles sorted, min then max.
            let service = &sm[input][module];
            if let Some(bounds) = service["manifest"]["constraints"]["roles"].as_object() {
                let mut module_roles: Vec<&String> =
                    service["roles"].as_object().unwrap().keys().collect();
                module_roles.sort();
                for r in module_roles {
                    let Some(b) = bounds.get(r) else { continue };
                    let members = members_of.get(r).cloned().unwrap_or_default();
                    let n = members.len();
                    let list = if members.is_empty() {
                        "none".to_owned()
                    } else {
                        members.join(", ")
                    };
                    if let Some(min) = b.get("minMachines").and_then(Value::as_u64) {
                        if (n as u64) < min {
                            role_assertions.push(format!("inventory.instances.{name}: role '{r}' needs at least {min} machines, has {n}: {list}"));
                        }
                    }
                    if let Some(max) = b.get("maxMachines").and_then(Value::as_u64) {
                        if (n as u64) > max {
                            role_assertions.push(format!("inventory.instances.{name}: role '{r}' allows at most {max} machines, has {n}: {list}"));
                        }
                    }
                }
            }
        }
        for (m, list) in &mut memberships {
            list.sort();
            memberships_seen += list.len();
            let want: Vec<Value> = list
                .iter()
                .map(|(service, role, instance)| json!({ "service": service, "instance": instance, "role": role }))
                .collect();
            assert_eq!(
                machines[*m]["instances"],
                json!(want),
                "seed {seed}: machine {m}"
            );
        }
        let keys: Vec<&String> = out["clanServices"].as_object().unwrap().keys().collect();
        assert_eq!(keys, services.keys().collect::<Vec<_>>(), "seed {seed}");
        let mut service_assertions = Vec::new();
        for (key, names) in &services {
            let got = &out["clanServices"][key];
            assert_eq!(got["instances"], json!(names), "seed {seed}: {key}");
            assert_eq!(
                got["module"], out["instances"][&names[0]]["module"],
                "seed {seed}: {key}"
            );
            let by_machine: serde_json::Map<String, Value> = memberships
                .iter()
                .filter_map(|(m, list)| {
                    let mut is: Vec<&String> = list
                        .iter()
                        .filter(|(k, _, _)| k == key)
                        .map(|(_, _, i)| i)
                        .collect();
                    is.sort();
                    is.dedup();
                    (!is.is_empty()).then(|| ((*m).to_owned(), json!(is)))
                })
                .collect();
            assert_eq!(
                got["machines"],
                Value::Object(by_machine),
                "seed {seed}: {key}"
            );
            let module = &out["instances"][&names[0]]["module"];
            let spec = &sm[module["input"].as_str().unwrap()][module["name"].as_str().unwrap()];
            if let Some(max) = spec["manifest"]["constraints"]["maxInstances"].as_u64() {
                if names.len() as u64 > max {
                    service_assertions.push(format!(
                        "clan service '{key}' allows at most {max} instances, has {}: {}",
                        names.len(),
                        names.join(", ")
                    ));
                }
            }
        }
        // The instances' assertions close the top-level list: roles, then services.
        let all: Vec<&str> = out["assertions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["message"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = role_assertions
            .iter()
            .chain(&service_assertions)
            .map(String::as_str)
            .collect();
        assert!(
            all.ends_with(&want),
            "seed {seed}: assertions {all:?}, want them to end with {want:?}"
        );
    }
    assert!(resolved > 100, "only {resolved} of 150 cases resolved");
    assert!(
        memberships_seen > 500,
        "only {memberships_seen} memberships in all cases"
    );

    // With typos, the generator gives both kinds (the differential test needs both).
    let cases: Vec<Value> = (0..150)
        .map(|seed| crate::gen::arguments_with_instances(seed, true))
        .collect();
    fs::write(&file, serde_json::to_string(&cases).unwrap()).unwrap();
    let ok = nix.json(&format!(
        "map (a: (builtins.tryEval (builtins.deepSeq ({} a).instances true)).success) (builtins.fromJSON (builtins.readFile {}))",
        pure(),
        file.display()
    ));
    let valid = ok
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| **v == json!(true))
        .count();
    assert!(
        (40..=130).contains(&valid),
        "{valid} of 150 random cases with typos are valid"
    );
}

// --- module discovery -------------------------------------------------------------------------

fn modules_nix() -> String {
    format!("(import {})", nix_string(&repo().join("nix/modules.nix")))
}

#[test]
fn module_discovery_reads_roles_and_front_matter() {
    let nix = Nix::without_plugin();
    let dir = fixtures().join("modules");
    let got = eval_expr(&nix, &format!(
            "{} (builtins.mapAttrs (_: d: {}.fromDirectory ({}/${{d}})) {{ good = \"good\"; no-readme = \"no-readme\"; plain-readme = \"plain-readme\"; }})",
            describe(&dir),
            modules_nix(),
            nix_string(&dir)
        ))
        .unwrap();
    assert_eq!(
        got,
        json!({
            "good": {
                "roles": { "client": "<root>/good/roles/client.nix", "server": "<root>/good/roles/server.nix" },
                "constraints": { "roles": { "server": { "max": 1, "min": 1 }, "client": { "min": 0 } } }
            },
            "no-readme": { "roles": { "a": "<root>/no-readme/roles/a.nix" }, "constraints": {} },
            "plain-readme": { "roles": { "a": "<root>/plain-readme/roles/a.nix" }, "constraints": {} }
        })
    );
    // A parent folder: every subdirectory is a module (the example clan's).
    let example = repo().join("examples/clan");
    let got = eval_expr(
        &nix,
        &format!(
            "{} ({}.fromParent {})",
            describe(&example),
            modules_nix(),
            nix_string(&example.join("modules"))
        ),
    )
    .unwrap();
    assert_eq!(
        got,
        json!({
            "borgbackup": {
                "roles": { "client": "<root>/modules/borgbackup/roles/client.nix", "server": "<root>/modules/borgbackup/roles/server.nix" },
                "constraints": { "roles": { "server": { "min": 1 } } }
            },
            "zerotier": {
                "roles": { "controller": "<root>/modules/zerotier/roles/controller.nix", "peer": "<root>/modules/zerotier/roles/peer.nix" },
                "constraints": { "roles": { "controller": { "min": 1, "max": 1 } } }
            }
        })
    );
}

#[test]
fn module_discovery_errors_name_the_module() {
    let nix = Nix::without_plugin();
    let dir = fixtures().join("modules");
    let case = |name: &str| {
        eval_expr(
            &nix,
            &format!(
                "builtins.deepSeq ({}.fromDirectory {}) null",
                modules_nix(),
                nix_string(&dir.join(name))
            ),
        )
        .unwrap_err()
    };
    let d = |name: &str| nix_string(&dir.join(name));
    assert_eq!(
        error_message(&case("no-roles")),
        format!("clan module {}: no 'roles' folder (a clan module defines its roles as roles/<role>.nix)", d("no-roles"))
    );
    assert_eq!(
        error_message(&case("unclosed")),
        format!(
            "clan module: malformed front matter in {}/README.md: the opening '---' line has no closing '---' line",
            d("unclosed")
        )
    );
    assert_eq!(
        error_message(&case("not-a-table")),
        format!("clan module: malformed front matter in {}/README.md: 'constraints' must be a table, found int", d("not-a-table"))
    );
    // fromTOML's own message, with the file named in the trace.
    let bad = case("bad-toml");
    assert!(
        bad.contains(&format!(
            "while parsing the TOML front matter of {}/README.md",
            d("bad-toml")
        )),
        "{bad}"
    );
}

// --- the example clan, through buildClan with nixpkgs' lib alone ----------------------------------

/// `lib = import <nixpkgs lib>` for the example's clan service module, or `None` (skipped, with the
/// reason on stderr) without one.
fn example_lib() -> Option<String> {
    match crate::common::nixpkgs_lib() {
        Ok(lib) => Some(format!("(import {})", nix_string(&lib))),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

#[test]
fn example_clan_resolves_as_documented() {
    let nix = Nix::without_plugin();
    let Some(lib) = example_lib() else { return };
    let got = eval_expr(
        &nix,
        &format!(
            "import {} {{ nixpkgs.lib = {lib}; }}",
            nix_string(&repo().join("examples/clan/summary.nix"))
        ),
    )
    .unwrap();
    let agent = |collectors: Value, port: u16| {
        json!({ "service": "self/monitoring", "instance": "metrics-home", "role": "agent",
                "settings": { "collectors": collectors, "port": port } })
    };
    let borg1 = |role: &str| json!({ "instance_1": { "roles": [role] } });
    assert_eq!(
        got,
        json!({
            "backup_server": {
                "tags": ["storage", "network", "all", "nixos"],
                "services": {
                    "borgbackup": { "instance_1": { "roles": ["server"] }, "instance_2": { "roles": ["client"] } },
                    "zerotier": { "mesh": { "roles": ["peer"] } }
                },
                "modules": 8,
                "instances": [{ "service": "self/monitoring", "instance": "metrics-offsite", "role": "collector", "settings": { "retention": "90d" } }]
            },
            "gateway": {
                "tags": ["network", "all", "nixos"],
                "services": {
                    "borgbackup": { "instance_2": { "roles": ["server"] } },
                    "zerotier": { "mesh": { "roles": ["controller", "peer"] } }
                },
                "modules": 6,
                "instances": [
                    { "service": "self/monitoring", "instance": "metrics-offsite", "role": "agent", "settings": { "collectors": [], "port": 9101 } },
                    { "service": "self/monitoring", "instance": "metrics-home", "role": "collector", "settings": { "retention": "15d" } }
                ]
            },
            "jon": {
                "tags": ["backup", "laptop", "desktop", "all", "nixos"],
                "services": { "borgbackup": borg1("client"), "zerotier": { "mesh": { "roles": ["peer"] } } },
                "modules": 6,
                "instances": [agent(json!(["wifi", "systemd"]), 9100)]
            },
            "nas": {
                "tags": ["all", "nixos"],
                "services": { "zerotier": { "mesh": { "roles": ["peer"] } } },
                "modules": 3,
                "instances": [agent(json!(["systemd"]), 9100)]
            },
            "sara": {
                "tags": ["backup", "all", "nixos"],
                "services": { "borgbackup": borg1("client"), "zerotier": { "mesh": { "roles": ["peer"] } } },
                "modules": 5,
                "instances": [agent(json!(["systemd"]), 9100)]
            }
        })
    );
    // jon's settings: instance (inventory.json), machine, then role config, in that order.
    let jon = eval_expr(
        &nix,
        &format!(
            "{} (builtins.elemAt (import {} {{ lib = {lib}; }}).machines.jon.modules 1).config.clan.borgbackup",
            describe(&repo().join("examples/clan")),
            nix_string(&fixtures().join("example-resolution.nix"))
        ),
    )
    .unwrap();
    assert_eq!(
        jon,
        json!({ "_type": "merge", "contents": [{ "exclude": ["*.pyc"] }, { "compression": "zstd,10" }, { "paths": ["/home"] }] })
    );
}

// --- buildClan through a flake ----------------------------------------------------------------

#[test]
fn build_clan_hands_each_machine_its_resolved_modules() {
    let nix = Nix::without_plugin();
    let flake = test_flake("flake");
    let got = eval(&nix, &[&format!("path:{}#summary", flake.path().display())]).unwrap();
    let roles =
        json!({ "client": { "machines": ["a", "b", "c", "d"] }, "server": { "machines": ["a"] } });
    let generated = json!({
        "_file": "clan-inventory/services/backup/one",
        "config": { "clan": { "inventory": { "services": { "backup": { "one": { "roles": roles } } } } } }
    });
    let machine_module = |m: &str, imports: Value| {
        json!({
            "_file": format!("clan-inventory/machines/{m}"),
            "imports": imports,
            "config": {
                "networking": { "hostName": { "_type": "override", "priority": 1000, "content": m } },
                "warnings": []
            }
        })
    };
    let client = "<root>/modules/backup/roles/client.nix";
    let server = "<root>/modules/backup/roles/server.nix";
    let member = "<root>/extra-module/roles/member.nix";
    let generated_for = |svc: &str, inst: &str, role: &str, machine: &str| {
        json!({
            "_file": format!("clan-inventory/services/{svc}/{inst}"),
            "config": { "clan": { "inventory": { "services": { svc: { inst: { "roles": {
                role: { "machines": [machine] }
            } } } } } } }
        })
    };
    let args = |m: &str, imports: Value, resolved: Vec<Value>| {
        let mut modules = vec![json!("<function>"), machine_module(m, imports)];
        modules.extend(resolved);
        json!({ "modules": modules, "specialArgs": { "answer": 42 } })
    };
    assert_eq!(
        got,
        json!({
            "machines": {
                "a": args("a", json!(["<root>/machines/a/configuration.nix"]), vec![json!(client), json!(server), generated.clone()]),
                "b": args("b", json!([]), vec![
                    json!(client), generated.clone(), json!(member), generated_for("extra", "e", "member", "b")
                ]),
                "c": args("c", json!([]), vec![json!(client), generated.clone(), json!({
                    "_file": "clan-inventory/machines/c/deploy",
                    "config": { "clan": { "core": { "networking": { "targetHost": "root@c" } } } }
                })]),
                "d": args("d", json!([{ "networking": { "domain": "d.test" } }]), vec![
                    json!(client), generated.clone(), json!({ "id": "solo" }), generated_for("inline", "s", "solo", "d")
                ])
            },
            "inventory": {
                "meta": { "name": "test", "description": "from the meta argument" },
                "machines": { "a": { "tags": ["x", "y"] }, "b": {}, "c": { "deploy": { "targetHost": "root@c" } }, "d": {} },
                "services": {
                    "backup": { "one": { "roles": {
                        "server": { "machines": ["a"] },
                        "client": { "tags": ["x", "y", "all"] }
                    } } },
                    "extra": { "e": { "roles": { "member": { "machines": ["b"] } } } },
                    "inline": { "s": { "roles": { "solo": { "machines": ["d"] } } } }
                }
            },
            "modules": {
                "backup": { "roles": { "client": client, "server": server }, "constraints": { "roles": { "server": { "max": 1 } } } },
                "extra": { "roles": { "member": member }, "constraints": {} },
                "inline": { "roles": { "solo": { "id": "solo" } } }
            },
            "moduleListsAgree": true
        })
    );
}

#[test]
fn build_clan_takes_a_flake_self_as_directory() {
    let nix = Nix::without_plugin();
    let flake = test_flake("flake");
    let got = eval(
        &nix,
        &[&format!("path:{}#fromSelf", flake.path().display())],
    )
    .unwrap();
    let generated = json!({
        "_file": "clan-inventory/services/backup/one",
        "config": { "clan": { "inventory": { "services": { "backup": { "one": { "roles": {
            "client": { "machines": [] }, "server": { "machines": ["a"] }
        } } } } } } }
    });
    assert_eq!(
        got,
        json!({
            "a": ["<root>/modules/backup/roles/server.nix", generated],
            "b": [],
            "c": [{ "_file": "clan-inventory/machines/c/deploy", "config": { "clan": { "core": { "networking": { "targetHost": "root@c" } } } } }]
        })
    );
}

#[test]
fn build_clan_names_both_sources_of_a_conflicting_value() {
    let nix = Nix::without_plugin();
    let flake = test_flake("flake");
    let err = eval(
        &nix,
        &[&format!(
            "path:{}#conflict.clanInternals.resolved.warnings",
            flake.path().display()
        )],
    )
    .unwrap_err();
    let message = error_message(&err);
    let message = message.as_str();
    let (before, after) = message
        .split_once("/conflict/inventory.json")
        .unwrap_or_else(|| panic!("the message does not name the file: {err}"));
    // The file is named by its path in the store (the physical one, since the tests' store is local).
    assert!(
        before.starts_with(
            "buildClan: inventory.machines.a.deploy.targetHost is set to \"root@json\" in /"
        ) && before.contains("/nix/store/")
            && before.ends_with("-source"),
        "{message}"
    );
    assert_eq!(
        after,
        " and to \"root@nix\" in the inventory argument of buildClan"
    );

    let err = eval(
        &nix,
        &[&format!("path:{}#missingNixpkgs", flake.path().display())],
    )
    .unwrap_err();
    assert_eq!(
        error_message(&err),
        "buildClan: pass `nixpkgs` (whose lib.nixosSystem builds the machines) or `nixosSystem`"
    );
}

// --- the flake itself -------------------------------------------------------------------------

#[test]
fn every_nix_file_parses() {
    let nix = Nix::without_plugin();
    let mut files = vec![repo().join("flake.nix")];
    for dir in [
        "nix",
        "nix/inventory",
        "examples/clan",
        "tests/nix",
        "tests/nix/cases",
        "tests/nix/flake",
    ] {
        for entry in fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "nix") {
                files.push(path);
            }
        }
    }
    for file in files {
        let out = nix
            .command("nix-instantiate")
            .arg("--parse")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The example clan's whole resolution (module values described by path or content) is the same
/// JSON with the plugin loaded and without it.
#[cfg(feature = "plugin")]
#[test]
fn example_resolution_is_identical_with_and_without_the_plugin() {
    let Some(lib) = example_lib() else { return };
    let file = nix_string(&fixtures().join("example-resolution.nix"));
    let builtin = eval_expr(
        &Nix::with_plugin(),
        &format!("import {file} {{ implementation = \"builtin\"; lib = {lib}; }}"),
    )
    .unwrap();
    let auto_with_plugin = eval_expr(
        &Nix::with_plugin(),
        &format!("import {file} {{ lib = {lib}; }}"),
    )
    .unwrap();
    let pure = eval_expr(
        &Nix::without_plugin(),
        &format!("import {file} {{ lib = {lib}; }}"),
    )
    .unwrap();
    assert_eq!(builtin, pure);
    assert_eq!(auto_with_plugin, pure);
    assert!(
        builtin["machines"]["gateway"]["modules"]
            .as_array()
            .is_some_and(|m| m.len() == 6),
        "{builtin}"
    );
}
