//! The `clan-inventory` binary on the example clan of `tests/cli/example` and on bad files: exact
//! outputs, exit codes, the JSON Schema, edits and their atomic writes.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_clan-inventory");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir` with `args`.
fn run_in(dir: &Path, args: &[&str]) -> Run {
    run_env(dir, args, &[])
}

fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("CLAN_INVENTORY_TEST_HOOK");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn example(args: &[&str]) -> Run {
    run_in(&fixtures().join("example"), args)
}

/// A copy of the example clan in a temporary directory, for edits.
fn example_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixtures().join("example"), dir.path());
    dir
}

fn lines(s: &[&str]) -> String {
    s.iter().flat_map(|l| [*l, "\n"]).collect()
}

#[test]
fn validate_example() {
    let r = example(&["validate"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            0,
            "inventory.json: 0 errors, 0 warnings, 0 failed constraints\n",
            ""
        )
    );
    let r = example(&["validate", "--format", "json"]);
    assert_eq!(r.code, 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({ "file": "inventory.json", "valid": true, "errors": [], "warnings": [], "constraints": [] })
    );
}

#[test]
fn validate_reports_every_structural_error_with_its_place() {
    let r = run_in(
        &fixtures().join("bad"),
        &[
            "validate",
            "structure.json",
            "--modules",
            "../example/modules",
        ],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, lines(&[
        "structure.json:4:7: error: inventory.machines.jon.tags: expected a list of strings, found an integer",
        "structure.json:5:7: error: inventory.machines.jon: unknown attribute 'tagz' (attributes: deploy, description, icon, machineClass, name, tags); did you mean 'tags'?",
        "structure.json:9:19: error: inventory.machines.sara.deploy.targetHost: expected a string or null, found an integer",
        "structure.json:8:7: error: inventory.machines.sara.machineClass: expected \"nixos\" or \"darwin\", found \"linux\"",
        "structure.json:15:9: error: inventory.services.borgbackup.instance_1.enabled: expected a Boolean, found a string",
        "structure.json:17:43: error: inventory.services.borgbackup.instance_1.roles.client.machines[1]: expected a string, found an integer",
        "structure.json: 6 errors, 0 warnings, 0 failed constraints",
    ]));
}

#[test]
fn validate_reports_every_reference_error_then_warnings() {
    let dir = fixtures().join("bad");
    let args = [
        "validate",
        "references.json",
        "--modules",
        "../example/modules",
    ];
    let r = run_in(&dir, &args);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, lines(&[
        "references.json:13:11: error: inventory.services.borgbackup.instance_1.roles: role 'clinet' is not defined by module 'borgbackup' (roles: client, server); did you mean 'client'?",
        "references.json:14:53: error: inventory.services.borgbackup.instance_1.roles.server.machines: machine 'jonn' is not defined in inventory.machines; did you mean 'jon'?",
        "references.json:18:5: error: inventory.services.fantasy: no module named 'fantasy' (modules: borgbackup, zerotier)",
        "references.json:7:23: error: inventory.tags.rack-1: machine 'backup_servr' is not defined in inventory.machines; did you mean 'backup_server'?",
        "references.json:13:32: warning: inventory.services.borgbackup.instance_1.roles.clinet.tags: tag 'bakup' matches no machine; did you mean 'backup'?",
        "references.json: 4 errors, 1 warning, 0 failed constraints",
    ]));

    let r = run_in(&dir, &[&args[..], &["--format", "json"]].concat());
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"].as_array().unwrap().len(), 4);
    assert_eq!(
        v["errors"][1],
        serde_json::json!({
            "severity": "error",
            "path": "inventory.services.borgbackup.instance_1.roles.server.machines",
            "message": "inventory.services.borgbackup.instance_1.roles.server.machines: machine 'jonn' is not defined in inventory.machines; did you mean 'jon'?",
            "file": "references.json",
            "line": 14,
            "column": 53
        })
    );
    assert_eq!(v["warnings"][0]["line"], 13);
}

#[test]
fn validate_reports_failed_constraints() {
    let r = run_in(
        &fixtures().join("constraints"),
        &["validate", "--modules", "../example/modules"],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, lines(&[
        "inventory.json:18:41: warning: inventory.services.borgbackup.off.roles.client.tags: tag 'nobody' matches no machine",
        "inventory.json:8:7: constraint: zerotier.net: role 'controller' allows at most 1 machines, has 2: a, b",
        "inventory.json: 0 errors, 1 warning, 1 failed constraint",
    ]));
}

#[test]
fn bad_modules_and_bad_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("modules/m/roles")).unwrap();
    fs::write(d.join("modules/m/roles/a.nix"), "{ }").unwrap();
    fs::write(
        d.join("modules/m/README.md"),
        "---\n[constraints]\nroles.a.min = 3\nroles.a.max = 1\nroles.b.min = 0\n---\n",
    )
    .unwrap();
    fs::write(d.join("inventory.json"), "{}\n").unwrap();
    let r = run_in(d, &["validate"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, lines(&[
        "modules/m/README.md: error: modules.m.constraints.roles.a: min (3) is greater than max (1)",
        "modules/m/README.md: error: modules.m.constraints.roles: role 'b' is not defined by module 'm' (roles: a); did you mean 'a'?",
        "inventory.json: 2 errors, 0 warnings, 0 failed constraints",
    ]));

    fs::write(d.join("modules/m/README.md"), "---\n[constraints]\n").unwrap();
    let r = run_in(d, &["validate"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, "error: clan module: malformed front matter in modules/m/README.md: the opening '---' line has no closing '---' line\n");

    fs::remove_file(d.join("modules/m/README.md")).unwrap();
    fs::write(d.join("inventory.json"), "{\n  \"machines\": [\n}\n").unwrap();
    let r = run_in(d, &["validate"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "inventory.json:3:1: error: not valid JSON: expected value\n"
    );

    let r = run_in(d, &["validate", "missing.json"]);
    assert_eq!(r.code, 1);
    assert!(r
        .stderr
        .starts_with("error: failed to read `missing.json`: "));
}

#[test]
fn explain_gives_reasons_layers_modules_and_constraints() {
    let r = example(&["explain", "jon"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(r.stdout, lines(&[
        "machine jon",
        "  tags: backup (own), laptop (own), rack-1 (inventory.tags), all (every machine), nixos (machineClass)",
        "",
        "borgbackup.instance_1",
        "  role client of borgbackup.instance_1: via tag 'backup' (machine tags: backup, laptop, rack-1)",
        "  config of clan.borgbackup, merged in this order:",
        "    inventory.services.borgbackup.instance_1.config",
        "    inventory.services.borgbackup.instance_1.machines.jon.config",
        "  modules:",
        "    1. role client: modules/borgbackup/roles/client.nix",
        "    2. generated clan-inventory/services/borgbackup/instance_1",
        "  constraints:",
        "    role server needs at least 1: ok, has 1: backup_server",
        "",
        "zerotier.default",
        "  role peer of zerotier.default: via tag 'all' (every machine has it)",
        "  modules:",
        "    3. role peer: modules/zerotier/roles/peer.nix",
        "    4. inventory.services.zerotier.default.extraModules[0]: extra/zerotier-firewall.nix",
        "    5. generated clan-inventory/services/zerotier/default",
        "  constraints:",
        "    role controller needs at least 1 and at most 1: ok, has 1: gateway",
        "",
        "zerotier.lab (disabled: contributes nothing)",
        "  role peer of zerotier.lab: via tag 'rack-1' (inventory.tags.rack-1 lists jon)",
        "  constraints:",
        "    role controller needs at least 1 and at most 1: not checked, has 0: none",
        "",
        "deploy (inventory.machines.jon.deploy)",
        "  modules:",
        "    6. generated clan-inventory/machines/jon/deploy: clan.core.networking.{ targetHost = \"root@jon.example.org\" }",
    ]));

    let r = example(&["explain", "gateway"]);
    assert_eq!(r.stdout, lines(&[
        "machine gateway",
        "  tags: all (every machine), nixos (machineClass)",
        "",
        "zerotier.default",
        "  role controller of zerotier.default: listed in roles.controller.machines",
        "  role peer of zerotier.default: via tag 'all' (every machine has it)",
        "  modules:",
        "    1. role controller: modules/zerotier/roles/controller.nix",
        "    2. role peer: modules/zerotier/roles/peer.nix",
        "    3. inventory.services.zerotier.default.extraModules[0]: extra/zerotier-firewall.nix",
        "    4. generated clan-inventory/services/zerotier/default",
        "  constraints:",
        "    role controller needs at least 1 and at most 1: ok, has 1: gateway, including this machine",
    ]));

    let r = run_in(
        &fixtures().join("constraints"),
        &["explain", "b", "--modules", "../example/modules"],
    );
    assert!(r.stdout.contains(
        "    4. generated clan-inventory/services/zerotier/net/constraints (failed constraints as assertions)\n"
    ));
    assert!(r.stdout.contains(
        "    role controller needs at least 1 and at most 1: FAILED, has 2: a, b, including this machine\n"
    ));

    let r = example(&["explain", "jo"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "error: machine 'jo' is not defined in inventory.machines; did you mean 'jon'?\n"
        )
    );
}

#[test]
fn explain_a_config_entry_without_a_role() {
    let dir = example_copy();
    let d = dir.path();
    let r = run_in(
        d,
        &["roles", "assign", "borgbackup.lone.server", "backup_server"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut inv: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("inventory.json")).unwrap()).unwrap();
    inv["services"]["borgbackup"]["lone"]["machines"] =
        serde_json::json!({ "sara": { "config": { "x": 1 } } });
    fs::write(d.join("inventory.json"), inv.to_string()).unwrap();
    let r = run_in(d, &["explain", "sara"]);
    assert!(
        r.stdout.contains(
            "\nborgbackup.lone\n  not a member: it has an entry in machines.sara but no role, so the entry is ignored\n  config of clan.borgbackup, merged in this order:\n    inventory.services.borgbackup.lone.machines.sara.config\n  constraints:\n"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn select_algebra() {
    for (expr, want) in [
        ("all", &["backup_server", "gateway", "jon", "sara"][..]),
        ("tag:backup", &["jon", "sara"]),
        ("tag:backup & !tag:darwin", &["jon"]),
        (
            "tag:backup & !tag:darwin | role:borgbackup.instance_1.server",
            &["backup_server", "jon"],
        ),
        // `&` binds tighter than `|`.
        (
            "role:borgbackup.instance_1.server | tag:backup & !tag:darwin",
            &["backup_server", "jon"],
        ),
        (
            "(role:borgbackup.instance_1.server | tag:backup) & !tag:darwin",
            &["backup_server", "jon"],
        ),
        ("!tag:backup", &["backup_server", "gateway"]),
        ("!!tag:backup", &["jon", "sara"]),
        ("tag:rack-1", &["backup_server", "jon"]),
        ("role:zerotier.default.controller", &["gateway"]),
        (
            "role:zerotier.default",
            &["backup_server", "gateway", "jon", "sara"],
        ),
        // A disabled instance still has members.
        ("role:zerotier.lab", &["backup_server", "jon"]),
        ("role:zerotier.lab.controller", &[]),
        ("machine:jon | machine:sara & tag:darwin", &["jon", "sara"]),
        ("tag:backup & tag:storage", &[]),
        ("tag:nixos & !role:borgbackup", &["gateway"]),
    ] {
        let r = example(&["select", expr]);
        assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{expr}");
        assert_eq!(r.stdout, lines(want), "{expr}");
    }

    let r = example(&["select", "tag:bakup | machine:gateway"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            0,
            "gateway\n",
            "warning: select: tag 'bakup' matches no machine; did you mean 'backup'?\n"
        )
    );
    for (expr, err) in [
        (
            "machine:jn",
            "error: select: machine 'jn' is not defined in inventory.machines; did you mean 'jon'?\n",
        ),
        (
            "role:zerotier.default.contr",
            "error: select: role 'contr' is not defined by module 'zerotier' (roles: controller, peer)\n",
        ),
        (
            "role:zerotier.lbb",
            "error: select: service 'zerotier' has no instance 'lbb' (instances: default, lab); did you mean 'lab'?\n",
        ),
        (
            "role:borgbakup",
            "error: select: no service 'borgbakup' in the inventory (services: borgbackup, zerotier); did you mean 'borgbackup'?\n",
        ),
        (
            "tag:a &",
            "error: select: expected a selector at character 8 (the end)\n",
        ),
        ("(tag:a", "error: select: expected ')' at character 7\n"),
    ] {
        let r = example(&["select", expr]);
        assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (2, "", err), "{expr}");
    }
}

#[test]
fn resolve_text_and_json() {
    let r = example(&["resolve"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(r.stdout, lines(&[
        "MACHINE        TAGS                                INSTANCE               ROLES",
        "backup_server  storage, rack-1, all, nixos         borgbackup.instance_1  server",
        "                                                   zerotier.default       peer",
        "gateway        all, nixos                          zerotier.default       controller, peer",
        "jon            backup, laptop, rack-1, all, nixos  borgbackup.instance_1  client",
        "                                                   zerotier.default       peer",
        "sara           backup, all, darwin                 borgbackup.instance_1  client",
        "                                                   zerotier.default       peer",
    ]));

    let r = example(&["resolve", "--format", "json"]);
    assert_eq!(r.code, 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let roles = |r: &[&str]| serde_json::json!({ "roles": r });
    assert_eq!(
        v,
        serde_json::json!({
            "assertions": [],
            "clanServices": {},
            "instances": {},
            "machines": {
                "backup_server": {
                    "instances": [],
                    "services": {
                        "borgbackup": { "instance_1": roles(&["server"]) },
                        "zerotier": { "default": roles(&["peer"]) }
                    },
                    "tags": ["storage", "rack-1", "all", "nixos"]
                },
                "gateway": {
                    "instances": [],
                    "services": { "zerotier": { "default": roles(&["controller", "peer"]) } },
                    "tags": ["all", "nixos"]
                },
                "jon": {
                    "instances": [],
                    "services": {
                        "borgbackup": { "instance_1": roles(&["client"]) },
                        "zerotier": { "default": roles(&["peer"]) }
                    },
                    "tags": ["backup", "laptop", "rack-1", "all", "nixos"]
                },
                "sara": {
                    "instances": [],
                    "services": {
                        "borgbackup": { "instance_1": roles(&["client"]) },
                        "zerotier": { "default": roles(&["peer"]) }
                    },
                    "tags": ["backup", "all", "darwin"]
                }
            },
            "services": {
                "borgbackup": { "instance_1": { "enabled": true, "roles": {
                    "client": { "machines": ["jon", "sara"] },
                    "server": { "machines": ["backup_server"] }
                } } },
                "zerotier": {
                    "default": { "enabled": true, "roles": {
                        "controller": { "machines": ["gateway"] },
                        "peer": { "machines": ["backup_server", "gateway", "jon", "sara"] }
                    } },
                    "lab": { "enabled": false, "roles": {
                        "controller": { "machines": [] },
                        "peer": { "machines": ["backup_server", "jon"] }
                    } }
                }
            },
            "warnings": []
        })
    );
    // Keys in sorted order, as `nix eval --json` prints them.
    assert!(r
        .stdout
        .starts_with("{\n  \"assertions\": [],\n  \"clanServices\": {},\n  \"instances\": {},\n  \"machines\": {\n    \"backup_server\""));

    let r = example(&["resolve", "--machine", "gateway"]);
    assert_eq!(r.stdout.lines().count(), 2);
    let r = example(&["resolve", "--machine", "gatewy"]);
    assert_eq!(r.code, 2);
}

#[test]
fn resolve_of_an_invalid_file_fails_with_located_errors() {
    let r = run_in(
        &fixtures().join("bad"),
        &[
            "resolve",
            "-f",
            "references.json",
            "--modules",
            "../example/modules",
        ],
    );
    assert_eq!((r.code, r.stdout.as_str()), (1, ""));
    assert!(r.stderr.starts_with("error: `references.json` is invalid:\nreferences.json:13:11: error: inventory.services.borgbackup.instance_1.roles: role 'clinet'"));
    assert_eq!(r.stderr.lines().count(), 5);
}

#[test]
fn graph_formats() {
    let r = example(&["graph", "--format", "mermaid"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        lines(&[
            "flowchart LR",
            "  m0[\"backup_server\"]",
            "  m1[\"gateway\"]",
            "  m2[\"jon\"]",
            "  m3[\"sara\"]",
            "  subgraph i0[\"borgbackup.instance_1\"]",
            "    i0r0([\"client\"])",
            "    i0r1([\"server\"])",
            "  end",
            "  i0r0 --> m2",
            "  i0r0 --> m3",
            "  i0r1 --> m0",
            "  subgraph i1[\"zerotier.default\"]",
            "    i1r0([\"controller\"])",
            "    i1r1([\"peer\"])",
            "  end",
            "  i1r0 --> m1",
            "  i1r1 --> m0",
            "  i1r1 --> m1",
            "  i1r1 --> m2",
            "  i1r1 --> m3",
            "  subgraph i2[\"zerotier.lab (disabled)\"]",
            "    i2r0([\"controller\"])",
            "    i2r1([\"peer\"])",
            "  end",
            "  i2r1 -.-> m0",
            "  i2r1 -.-> m2",
        ])
    );
    let r = example(&["graph"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("digraph clan {\n"));
    assert!(r
        .stdout
        .contains("  \"r:borgbackup.instance_1.server\" -> \"m:backup_server\";\n"));
    assert!(r
        .stdout
        .contains("  \"r:zerotier.lab.peer\" -> \"m:jon\" [style=dashed];\n"));
    assert!(r.stdout.ends_with("}\n"));
}

fn schema() -> jsonschema::Validator {
    let r = example(&["schema"]);
    assert_eq!(r.code, 0);
    let schema: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

#[test]
fn schema_accepts_the_example_and_rejects_bad_files() {
    let validator = schema();
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(fixtures().join(p)).unwrap()).unwrap()
    };
    for good in ["example/inventory.json", "constraints/inventory.json"] {
        let v = read(good);
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{good}: {errors:?}");
    }
    // Every structural error `validate` finds, the schema finds too.
    let bad = read("bad/structure.json");
    assert!(!validator.is_valid(&bad));
    for (what, patch) in [
        (
            "tags not a list",
            serde_json::json!({ "machines": { "a": { "tags": 3 } } }),
        ),
        (
            "unknown attribute",
            serde_json::json!({ "machines": { "a": { "tagz": [] } } }),
        ),
        (
            "machine class",
            serde_json::json!({ "machines": { "a": { "machineClass": "linux" } } }),
        ),
        (
            "deploy host",
            serde_json::json!({ "machines": { "a": { "deploy": { "targetHost": 1 } } } }),
        ),
        (
            "enabled",
            serde_json::json!({ "services": { "s": { "i": { "enabled": "yes" } } } }),
        ),
        (
            "role member",
            serde_json::json!({ "services": { "s": { "i": { "roles": { "r": { "machines": [1] } } } } } }),
        ),
        (
            "extraModules",
            serde_json::json!({ "services": { "s": { "i": { "extraModules": {} } } } }),
        ),
        ("top level", serde_json::json!({ "machine": {} })),
        ("global tags", serde_json::json!({ "tags": { "t": "a" } })),
    ] {
        assert!(!validator.is_valid(&patch), "schema accepts: {what}");
    }
    // Values the core never looks at are free.
    let free = serde_json::json!({
        "meta": 1,
        "machines": { "a": { "description": null, "icon": [1], "deploy": { "targetHost": null } } },
        "services": { "s": { "i": { "config": { "x": [1] }, "meta": "m", "extraModules": ["a.nix", {}] } } }
    });
    assert!(validator.is_valid(&free));
}

/// Every edit, then its inverse, gives back the original file byte for byte.
#[test]
fn edits_round_trip() {
    let dir = example_copy();
    let d = dir.path();
    let file = d.join("inventory.json");
    let original = fs::read_to_string(&file).unwrap();
    let step = |args: &[&str], out: &str| {
        let r = run_in(d, args);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, out),
            "{args:?}: {}",
            r.stderr
        );
        let r = run_in(d, &["validate"]);
        assert_eq!(r.code, 0, "{args:?} left an invalid file: {}", r.stdout);
    };

    step(
        &["tags", "add", "gateway", "edge", "zone-2"],
        "inventory.json: added to machine 'gateway' the tags: edge, zone-2\n",
    );
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.contains("    \"gateway\": {\n      \"tags\": [\n        \"edge\",\n        \"zone-2\"\n      ]\n    }\n"));
    assert_eq!(
        run_in(d, &["select", "tag:edge & !tag:laptop"]).stdout,
        "gateway\n"
    );
    step(
        &["tags", "remove", "gateway", "edge", "zone-2"],
        "inventory.json: removed from machine 'gateway' the tags: edge, zone-2\n",
    );
    // An emptied list stays, as the user could have written it.
    let with_empty = original.replace(
        "    \"gateway\": {}\n",
        "    \"gateway\": {\n      \"tags\": []\n    }\n",
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), with_empty);
    fs::write(&file, &original).unwrap();

    step(
        &[
            "machines",
            "add",
            "nas",
            "--tag",
            "backup",
            "--target-host",
            "root@nas",
        ],
        "inventory.json: added machine 'nas'\n",
    );
    assert_eq!(
        run_in(d, &["select", "role:borgbackup.instance_1.client"]).stdout,
        "jon\nnas\nsara\n"
    );
    step(
        &["machines", "remove", "nas"],
        "inventory.json: removed machine 'nas'\n",
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), original);

    step(
        &["roles", "assign", "borgbackup.instance_1.server", "gateway"],
        "inventory.json: role borgbackup.instance_1.server: added machines: gateway\n",
    );
    assert_eq!(
        run_in(d, &["select", "role:borgbackup.instance_1.server"]).stdout,
        "backup_server\ngateway\n"
    );
    step(
        &[
            "roles",
            "unassign",
            "borgbackup.instance_1.server",
            "gateway",
        ],
        "inventory.json: role borgbackup.instance_1.server: removed machines: gateway\n",
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), original);

    // A new instance is created, at the end of its service.
    step(
        &["roles", "assign", "zerotier.office.controller", "gateway"],
        "inventory.json: role zerotier.office.controller: added machines: gateway\n",
    );
    step(
        &["roles", "assign", "zerotier.office.peer", "--tag", "laptop"],
        "inventory.json: role zerotier.office.peer: added tags: laptop\n",
    );
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.contains(
        "\n      },\n      \"office\": {\n        \"roles\": {\n          \"controller\": {\n"
    ));
    assert_eq!(
        run_in(d, &["select", "role:zerotier.office"]).stdout,
        "gateway\njon\n"
    );
}

#[test]
fn edits_that_would_break_the_file_are_refused() {
    let dir = example_copy();
    let d = dir.path();
    let file = d.join("inventory.json");
    let original = fs::read_to_string(&file).unwrap();

    let r = run_in(d, &["machines", "remove", "backup_server"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, lines(&[
        "error: refusing to write `inventory.json`: the result would be invalid:",
        "  inventory.services.borgbackup.instance_1.roles.server.machines: machine 'backup_server' is not defined in inventory.machines",
        "  inventory.tags.rack-1: machine 'backup_server' is not defined in inventory.machines",
    ]));
    let r = run_in(
        d,
        &["roles", "assign", "borgbackup.instance_1.clinet", "jon"],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("role 'clinet' is not defined by module 'borgbackup' (roles: client, server); did you mean 'client'?"));
    let r = run_in(
        d,
        &["roles", "assign", "borgbackup.instance_1.client", "jonn"],
    );
    assert_eq!(r.code, 1);
    let r = run_in(d, &["machines", "add", "jon"]);
    assert_eq!(
        r.stderr,
        "error: machine 'jon' is already defined in inventory.machines\n"
    );
    let r = run_in(d, &["tags", "add", "jn", "x"]);
    assert_eq!(
        r.stderr,
        "error: machine 'jn' is not defined in inventory.machines; did you mean 'jon'?\n"
    );
    let r = run_in(d, &["tags", "remove", "jon", "rack-1"]);
    assert_eq!(
        r.stderr,
        "error: machine 'jon' has no tag 'rack-1' of its own (inventory.machines.jon.tags)\n"
    );
    let r = run_in(d, &["roles", "assign", "borgbackup.instance_1", "jon"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "error: no instance 'borgbackup' in inventory.instances (instances: none): roles edits add members to an instance that exists; write a new one in inventory.json; 'borgbackup' is a service of inventory.services, whose roles are SERVICE.INSTANCE.ROLE\n");
    let r = run_in(
        d,
        &["roles", "unassign", "borgbackup.instance_1.client", "jon"],
    );
    assert_eq!(
        r.stderr,
        "error: inventory.services.borgbackup.instance_1.client.machines does not list 'jon'\n"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), original);
    let leftovers: Vec<_> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn unassign_says_when_a_tag_keeps_the_machine_in() {
    let dir = example_copy();
    let d = dir.path();
    assert_eq!(
        run_in(
            d,
            &["roles", "assign", "borgbackup.instance_1.client", "jon"]
        )
        .code,
        0
    );
    let r = run_in(
        d,
        &["roles", "unassign", "borgbackup.instance_1.client", "jon"],
    );
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stderr,
        "note: machine 'jon' is still in role borgbackup.instance_1.client through roles.client.tags\n"
    );
}

#[test]
fn a_failed_write_leaves_the_original_intact() {
    let dir = example_copy();
    let d = dir.path();
    let file = d.join("inventory.json");
    let original = fs::read_to_string(&file).unwrap();
    let r = run_env(
        d,
        &["machines", "add", "nas"],
        &[("CLAN_INVENTORY_TEST_HOOK", "fail-after-temp")],
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "error: simulated failure after writing the temporary file\n"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), original);
    assert_eq!(
        fs::read_dir(d).unwrap().count(),
        2,
        "inventory.json and modules only"
    );
}

/// Starts an edit that pauses once its temporary file is complete.
fn paused_edit(dir: &Path) -> std::process::Child {
    let mut child = Command::new(BIN)
        .args(["machines", "add", "nas"])
        .current_dir(dir)
        .env("CLAN_INVENTORY_TEST_HOOK", "pause-after-temp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "paused\n");
    child
}

#[test]
fn killing_the_process_mid_write_leaves_the_original_intact() {
    let dir = example_copy();
    let d = dir.path();
    let file = d.join("inventory.json");
    let original = fs::read_to_string(&file).unwrap();
    let mut child = paused_edit(d);
    // The complete new text is on disk, beside the original.
    let temp: Vec<PathBuf> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert_eq!(temp.len(), 1);
    assert!(fs::read_to_string(&temp[0])
        .unwrap()
        .contains("\"nas\": {}"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), original);
    assert_eq!(run_in(d, &["validate"]).code, 0);
}

#[test]
fn a_file_changed_since_it_was_read_is_not_overwritten() {
    let dir = example_copy();
    let d = dir.path();
    let file = d.join("inventory.json");
    let mut child = paused_edit(d);
    let theirs = fs::read_to_string(&file)
        .unwrap()
        .replace("\"gateway\": {}", "\"gateway\": { \"tags\": [\"edge\"] }");
    fs::write(&file, &theirs).unwrap();
    child.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: `inventory.json` changed since it was read; nothing was written (run the command again)\n"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), theirs);
    assert_eq!(
        fs::read_dir(d).unwrap().count(),
        2,
        "no temporary file left"
    );
}

#[test]
fn usage_errors_help_and_completions() {
    let d = fixtures().join("example");
    assert_eq!(run_in(&d, &[]).code, 2);
    assert_eq!(run_in(&d, &["bogus"]).code, 2);
    assert_eq!(run_in(&d, &["graph", "--format", "png"]).code, 2);
    assert_eq!(run_in(&d, &["tags", "add", "jon"]).code, 2);
    assert_eq!(run_in(&d, &["roles", "assign", "a.b.c"]).code, 2);
    let r = run_in(&d, &["validate", "a.json", "--file", "b.json"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "error: two inventory files given: `b.json` and `a.json`\n"
        )
    );
    for cmd in [
        &["--help"][..],
        &["validate", "--help"],
        &["resolve", "--help"],
        &["explain", "--help"],
        &["select", "--help"],
        &["graph", "--help"],
        &["schema", "--help"],
        &["machines", "add", "--help"],
        &["machines", "remove", "--help"],
        &["tags", "add", "--help"],
        &["tags", "remove", "--help"],
        &["roles", "assign", "--help"],
        &["roles", "unassign", "--help"],
        &["completions", "--help"],
    ] {
        let r = run_in(&d, cmd);
        assert_eq!(r.code, 0, "{cmd:?}");
        assert!(r.stdout.contains("Usage: clan-inventory"), "{cmd:?}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let r = run_in(&d, &["completions", shell]);
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains("explain"), "{shell}");
    }
}

/// `resolve --format json` is the core's `output_json` on the argument the builtin would get.
#[test]
fn resolve_json_is_the_cores_output_json() {
    use clan_inventory::inventory::{json::output_json, json::JsonTree, load, resolve};
    for dir in ["example", "constraints"] {
        let text = fs::read_to_string(fixtures().join(dir).join("inventory.json")).unwrap();
        let args = serde_json::json!({
            "inventory": serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            "modules": {
                "borgbackup": {
                    "roles": { "client": "c.nix", "server": "s.nix" },
                    "constraints": { "roles": { "server": { "min": 1 } } }
                },
                "zerotier": {
                    "roles": { "controller": "c.nix", "peer": "p.nix" },
                    "constraints": { "roles": { "controller": { "min": 1, "max": 1 } } }
                }
            },
            "directory": "/clan"
        });
        let input = load(&mut JsonTree::new(), &&args).unwrap();
        let want = output_json(&input, &resolve(&input));
        let r = run_in(
            &fixtures().join(dir),
            &[
                "resolve",
                "--format",
                "json",
                "--modules",
                "../example/modules",
            ],
        );
        assert_eq!(r.code, 0, "{dir}");
        assert_eq!(
            r.stdout,
            format!("{}\n", serde_json::to_string_pretty(&want).unwrap()),
            "{dir}"
        );
    }
}

// --- inventory.instances, in inventory.json alone --------------------------------------------

fn instances(args: &[&str]) -> Run {
    run_in(&fixtures().join("instances"), args)
}

/// What every command says once on stderr for a file with instances.
const UNCHECKED: &str = "note: inventory.json alone knows no clan service module, so the modules, roles and constraints of inventory.instances are not checked (the whole clan, read with --flake, --file CLAN.nix or --expr, checks them)\n";

#[test]
fn instances_validate_says_what_it_cannot_check() {
    let r = instances(&["validate"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            0,
            format!("{UNCHECKED}inventory.json: 0 errors, 0 warnings, 0 failed constraints\n")
                .as_str(),
            ""
        )
    );
    let r = instances(&["validate", "references.json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, lines(&[
        "references.json:7:35: error: inventory.instances.web.roles.server.machines: machine 'jonn' is not defined in inventory.machines; did you mean 'jon'?",
        "references.json:7:58: warning: inventory.instances.web.roles.server.tags: tag 'wbe' matches no machine",
        UNCHECKED.trim_end(),
        "references.json: 1 error, 1 warning, 0 failed constraints",
    ]));
    let r = instances(&["validate", "structure.json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, lines(&[
        "structure.json:4:34: error: inventory.instances.db.roles.main.tags: expected a list of strings or an attribute set, found an integer",
        "structure.json:6:36: error: inventory.instances.web.module: unknown attribute 'inputt' (attributes: input, name); did you mean 'input'?",
        "structure.json:7:57: error: inventory.instances.web.roles.server: unknown attribute 'setings' (attributes: extraModules, machines, settings, tags); did you mean 'settings'?",
        UNCHECKED.trim_end(),
        "structure.json: 3 errors, 0 warnings, 0 failed constraints",
    ]));
    let r = instances(&["validate", "references.json", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["unchecked"],
        UNCHECKED.trim_end().trim_start_matches("note: ")
    );
    assert_eq!(v["errors"][0]["line"], 7);
    // A file without instances says nothing of them (validate_example).
}

#[test]
fn instances_resolve_text_and_json() {
    let r = instances(&["resolve"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, UNCHECKED));
    // Members: the machines listed, then each tag's (site: gateway, jon listed; sara by 'web';
    // gateway by 'edge' again, once); the service key is `<clan-core>/…` for every instance,
    // as one of them names the clan-core input.
    assert_eq!(
        r.stdout,
        lines(&[
            "MACHINE  TAGS                  INSTANCE                     ROLES",
            "gateway  eu, edge, all, nixos  site (<clan-core>/nginx)     server",
            "                               vpn (<clan-core>/wireguard)  controller, peer",
            "jon      web, eu, all, nixos   blog (<clan-core>/nginx)     server",
            "                               site (<clan-core>/nginx)     server",
            "                               vpn (<clan-core>/wireguard)  peer",
            "mac      all, darwin           vpn (<clan-core>/wireguard)  peer",
            "sara     web, all, nixos       site (<clan-core>/nginx)     server",
            "                               vpn (<clan-core>/wireguard)  peer",
        ])
    );
    let r = instances(&["resolve", "--format", "json"]);
    assert_eq!(r.code, 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["machines"]["jon"]["instances"],
        serde_json::json!([
            { "service": "<clan-core>/nginx", "instance": "blog", "role": "server" },
            { "service": "<clan-core>/nginx", "instance": "site", "role": "server" },
            { "service": "<clan-core>/wireguard", "instance": "vpn", "role": "peer" },
        ])
    );
    assert_eq!(
        v["instances"]["site"]["roles"]["server"]["machines"],
        serde_json::json!(["gateway", "jon", "sara"])
    );
    assert_eq!(
        v["clanServices"]["<clan-core>/nginx"]["instances"],
        serde_json::json!(["blog", "site"])
    );
}

#[test]
fn instances_resolve_json_is_the_cores_output_json() {
    use clan_inventory::inventory::{json::output_json, json::JsonTree, load, resolve};
    let text = fs::read_to_string(fixtures().join("instances/inventory.json")).unwrap();
    // The modules as the CLI assumes them without Nix: each with the roles its instances give.
    let args = serde_json::json!({
        "inventory": serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        "modules": {},
        "directory": ".",
        "serviceModules": { "clan-core": {
            "nginx": { "roles": { "server": {} } },
            "wireguard": { "roles": { "controller": {}, "peer": {} } },
        } },
    });
    let input = load(&mut JsonTree::new(), &&args).unwrap();
    let want = output_json(&input, &resolve(&input));
    let r = instances(&["resolve", "--format", "json"]);
    assert_eq!(
        r.stdout,
        format!("{}\n", serde_json::to_string_pretty(&want).unwrap())
    );
}

#[test]
fn instances_explain_gives_reasons_settings_and_extra_modules() {
    let r = instances(&["explain", "jon"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, UNCHECKED));
    assert_eq!(
        r.stdout,
        lines(&[
            "machine jon",
            "  tags: web (own), eu (own), all (every machine), nixos (machineClass)",
            "",
            "instance blog (clan service <clan-core>/nginx)",
            "  role server of blog: listed in roles.server.machines",
            "  settings of role server: none given",
            "",
            "instance site (clan service <clan-core>/nginx)",
            "  role server of site: listed in roles.server.machines",
            "  role server of site: via tag 'web' (machine tags: web, eu)",
            "  settings of role server, in the order they are evaluated against its interface:",
            "    inventory.instances.site.roles.server.settings",
            "    inventory.instances.site.roles.server.machines.jon.settings",
            "    inventory.instances.site.roles.server.tags.web.settings",
            "",
            "instance vpn (clan service <clan-core>/wireguard)",
            "  role peer of vpn: via tag 'all' (every machine has it)",
            "  settings of role peer: none given",
            "  extraModules of role peer:",
            "    inventory.instances.vpn.roles.peer.extraModules[0]: extra/wg.nix",
        ])
    );
    // gateway: listed and tagged ('edge' of inventory.tags, no settings there); its own settings.
    let r = instances(&["explain", "gateway"]);
    for line in [
        "  role server of site: listed in roles.server.machines\n  role server of site: via tag 'edge' (inventory.tags.edge lists gateway)\n",
        "    inventory.instances.site.roles.server.settings\n    inventory.instances.site.roles.server.machines.gateway.settings\n\n",
        "  role controller of vpn: listed in roles.controller.machines\n  role peer of vpn: via tag 'all' (every machine has it)\n",
    ] {
        assert!(r.stdout.contains(line), "{line}\n{}", r.stdout);
    }
}

#[test]
fn instances_select() {
    let sel = |expr: &str| {
        let r = instances(&["select", expr]);
        (r.code, r.stdout, r.stderr)
    };
    let ok = |out: &str| (0, out.to_owned(), UNCHECKED.to_owned());
    assert_eq!(sel("instance:site"), ok("gateway\njon\nsara\n"));
    assert_eq!(sel("instance:site & !tag:edge"), ok("jon\nsara\n"));
    assert_eq!(sel("instance:vpn.controller"), ok("gateway\n"));
    assert_eq!(sel("service:nginx"), ok("gateway\njon\nsara\n"));
    assert_eq!(
        sel("service:<clan-core>/wireguard & !instance:site"),
        ok("mac\n")
    );
    let (code, _, err) = sel("instance:sit");
    assert_eq!(code, 2);
    assert_eq!(err, "error: select: no instance 'sit' in inventory.instances (instances: blog, site, vpn); did you mean 'site'?\n");
    let (_, _, err) = sel("instance:vpn.peers");
    assert!(err.ends_with("error: select: instance 'vpn' has no role 'peers' (roles: controller, peer); did you mean 'peer'?\n"), "{err}");
    let (_, _, err) = sel("service:nginxx");
    assert!(err.ends_with("error: select: no clan service 'nginxx' in inventory.instances (services: <clan-core>/nginx, <clan-core>/wireguard)\n"), "{err}");
}

#[test]
fn instances_graph() {
    let r = instances(&["graph", "--format", "mermaid"]);
    assert_eq!(r.code, 0);
    for part in [
        "  subgraph c1[\"site (#lt;clan-core#gt;/nginx)\"]\n    c1r0([\"server\"])\n  end\n  c1r0 --> m0\n  c1r0 --> m1\n  c1r0 --> m3\n",
        "  subgraph c2[\"vpn (#lt;clan-core#gt;/wireguard)\"]\n    c2r0([\"controller\"])\n    c2r1([\"peer\"])\n  end\n",
    ] {
        assert!(r.stdout.contains(part), "{part}\n{}", r.stdout);
    }
    let r = instances(&["graph"]);
    for part in [
        "  subgraph cluster_clan_2 {\n    label=\"vpn (<clan-core>/wireguard)\";\n",
        "  \"c:vpn.peer\" -> \"m:mac\";\n",
    ] {
        assert!(r.stdout.contains(part), "{part}\n{}", r.stdout);
    }
}

#[test]
fn instances_schema() {
    let validator = schema();
    let good = |f: &str| {
        let text = fs::read_to_string(fixtures().join("instances").join(f)).unwrap();
        validator.is_valid(&serde_json::from_str(&text).unwrap())
    };
    assert!(good("inventory.json"));
    assert!(
        good("references.json"),
        "references are not the schema's business"
    );
    assert!(!good("structure.json"));
    for bad in [
        serde_json::json!({ "instances": { "i": { "roles": { "r": { "tags": 3 } } } } }),
        serde_json::json!({ "instances": { "i": { "module": { "input": 1 } } } }),
        serde_json::json!({ "instances": { "i": { "roles": { "r": { "machines": ["jon"] } } } } }),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
    assert!(
        validator.is_valid(&serde_json::json!({ "instances": { "i": {
        "module": { "name": "m", "input": null },
        "roles": { "r": { "tags": { "t": { "settings": { "any": [1] } } }, "extraModules": [] } }
    } } }))
    );
}

#[test]
fn instances_edits_add_and_remove_role_members() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        fixtures().join("instances/inventory.json"),
        dir.path().join("inventory.json"),
    )
    .unwrap();
    let edit = |args: &[&str]| run_in(dir.path(), args);
    let read = || -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(dir.path().join("inventory.json")).unwrap())
            .unwrap()
    };
    let r = edit(&["roles", "assign", "blog.server", "sara", "mac"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            0,
            "inventory.json: role blog.server: added machines: sara, machines: mac\n",
            UNCHECKED
        )
    );
    assert_eq!(
        read()["instances"]["blog"]["roles"]["server"]["machines"],
        serde_json::json!({ "jon": {}, "sara": {}, "mac": {} })
    );
    // Tags: appended to the list form, an attribute of the attribute form.
    let r = edit(&["roles", "assign", "vpn.peer", "--tag", "web"]);
    assert_eq!(r.stdout, "inventory.json: role vpn.peer: added tags: web\n");
    assert_eq!(
        read()["instances"]["vpn"]["roles"]["peer"]["tags"],
        serde_json::json!(["all", "web"])
    );
    let r = edit(&["roles", "assign", "site.server", "--tag", "eu"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        read()["instances"]["site"]["roles"]["server"]["tags"]["eu"],
        serde_json::json!({})
    );
    // A new role of an instance is created; a new instance is not (its module is to be chosen).
    let r = edit(&["roles", "assign", "blog.cache", "jon"]);
    assert_eq!(
        r.stdout,
        "inventory.json: role blog.cache: added machines: jon\n"
    );
    assert_eq!(
        read()["instances"]["blog"]["roles"]["cache"],
        serde_json::json!({ "machines": { "jon": {} } })
    );
    let r = edit(&["roles", "assign", "blogs.server", "jon"]);
    assert_eq!((r.code, r.stderr.as_str()), (2, "error: no instance 'blogs' in inventory.instances (instances: blog, site, vpn): roles edits add members to an instance that exists; write a new one in inventory.json; did you mean 'blog'?\n"));
    // Removing: an entry without settings goes; one with settings is kept, and so is the file.
    let r = edit(&["roles", "unassign", "blog.server", "mac"]);
    assert_eq!(
        r.stdout,
        "inventory.json: role blog.server: removed machines: mac\n"
    );
    let before = fs::read_to_string(dir.path().join("inventory.json")).unwrap();
    for (args, message) in [
        (&["roles", "unassign", "site.server", "jon"][..], "error: inventory.instances.site.roles.server.machines.jon has settings: refusing to drop them with it (edit inventory.json to move or remove them first)\n"),
        (&["roles", "unassign", "site.server", "--tag", "web"][..], "error: inventory.instances.site.roles.server.tags.web has settings: refusing to drop them with it (edit inventory.json to move or remove them first)\n"),
        (&["roles", "unassign", "site.server", "mac"][..], "error: inventory.instances.site.roles.server.machines does not have 'mac'\n"),
        (&["roles", "unassign", "vpn.peer", "--tag", "eu"][..], "error: inventory.instances.vpn.roles.peer.tags does not list 'eu'\n"),
        (&["roles", "unassign", "nope.server", "jon"][..], "error: inventory.instances.nope.roles.server is not in the inventory\n"),
        (&["roles", "assign", "blog.server", "bob"][..], "error: refusing to write `inventory.json`: the result would be invalid:\n  inventory.instances.blog.roles.server.machines: machine 'bob' is not defined in inventory.machines\n"),
        (&["machines", "remove", "gateway"][..], "error: refusing to write `inventory.json`: the result would be invalid:\n  inventory.instances.site.roles.server.machines: machine 'gateway' is not defined in inventory.machines\n  inventory.instances.vpn.roles.controller.machines: machine 'gateway' is not defined in inventory.machines\n  inventory.tags.edge: machine 'gateway' is not defined in inventory.machines\n"),
    ] {
        let r = edit(args);
        assert_eq!((r.code, r.stderr.as_str()), (1, message), "{args:?}");
        assert_eq!(fs::read_to_string(dir.path().join("inventory.json")).unwrap(), before, "{args:?}");
    }
    // Still in the role through a tag: said after the edit.
    let r = edit(&["roles", "assign", "site.server", "sara"]);
    assert_eq!(r.code, 0);
    let r = edit(&["roles", "unassign", "site.server", "sara"]);
    assert_eq!(
        r.stderr,
        format!("note: machine 'sara' is still in role site.server through roles.server.tags\n{UNCHECKED}")
    );
    let r = edit(&["roles", "assign", "a", "jon"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "error: 'a' is not a role address: SERVICE.INSTANCE.ROLE (inventory.services) or INSTANCE.ROLE (inventory.instances)\n");
}
