//! The built plugin inside the real `nix` on `inventory.instances` (docs/semantics.md, "Clan
//! services"): the result's shape, that nothing the user wrote is forced (settings, extra
//! modules, service modules no instance uses), errors raised by the call, and values that
//! survive collections. Needs `--features plugin` (scripts/test).
#![cfg(feature = "plugin")]

use crate::common::Nix;
use serde_json::{json, Value};

/// `serviceModules` with the clan's own `backup` (roles client, server; at least one server) and
/// `vpn` (one role), and an input `extra` with `vpn` too (at most one instance).
const SERVICE_MODULES: &str = r"
  serviceModules = {
    self = {
      backup = { roles = { client = { }; server = { }; }; manifest.constraints.roles.server.minMachines = 1; };
      vpn.roles.peer = { };
    };
    extra.vpn = { roles.peer = { }; manifest.constraints.maxInstances = 1; };
  };
";

/// A small inventory that uses both APIs: `r` is the builtin's result.
fn small(body: &str) -> String {
    format!(
        r#"let
          r = builtins.clanInventory {{
            directory = "/srv/clan";
            {SERVICE_MODULES}
            modules.borgbackup.roles = {{ client = {{ }}; server = {{ }}; }};
            inventory = {{
              machines = {{ jon.tags = [ "laptop" ]; sara.tags = [ "laptop" "eu" ]; srv = {{ }}; }};
              services.borgbackup.old.roles.client.machines = [ "jon" ];
              instances = {{
                backup = {{
                  roles.server.machines.srv.settings = {{ path = "/backup"; }};
                  roles.client = {{
                    settings = {{ every = "day"; }};
                    machines.jon.settings.every = "hour";
                    tags = {{ eu.settings.region = "eu"; laptop = {{ }}; }};
                    extraModules = [ "client.nix" {{ id = "inline"; }} ];
                  }};
                }};
                mesh = {{ module = {{ name = "vpn"; input = "extra"; }}; roles.peer.tags = [ "all" "nope" ]; }};
                mesh2 = {{ module = {{ name = "vpn"; input = "extra"; }}; roles.peer.machines.srv = {{ }}; }};
              }};
            }};
          }};
        in {body}"#
    )
}

#[test]
fn result_shape_of_a_small_inventory() {
    let nix = Nix::with_plugin();
    let out = nix.json(&small(
        "{ inherit (r) instances clanServices warnings assertions;
           machines = builtins.mapAttrs (_: m: m.instances) r.machines;
           services = r.services; }",
    ));
    let def = |file: &str, value: Value| json!({ "_file": file, "imports": [value] });
    let client = "inventory.instances.backup.roles.client";
    let too_many = "clan service 'extra/vpn' allows at most 1 instances, has 2: mesh, mesh2";
    let failed = |m: &str| json!({ "assertion": false, "message": m });
    assert_eq!(
        out["instances"],
        json!({
            "backup": {
                "assertions": [],
                "module": { "input": "self", "name": "backup" },
                "service": "self/backup",
                "roles": {
                    "client": {
                        // Listed, then tag eu (sara), then tag laptop (jon, sara: already there).
                        "machines": ["jon", "sara"],
                        "settings": {
                            "jon": [
                                def(&format!("{client}.settings"), json!({ "every": "day" })),
                                def(&format!("{client}.machines.jon.settings"), json!({ "every": "hour" })),
                            ],
                            "sara": [
                                def(&format!("{client}.settings"), json!({ "every": "day" })),
                                def(&format!("{client}.tags.eu.settings"), json!({ "region": "eu" })),
                            ]
                        },
                        "roleSettings": [def(&format!("{client}.settings"), json!({ "every": "day" }))],
                        "extraModules": ["/srv/clan/client.nix", { "id": "inline" }]
                    },
                    "server": {
                        "machines": ["srv"],
                        "settings": { "srv": [def("inventory.instances.backup.roles.server.machines.srv.settings", json!({ "path": "/backup" }))] },
                        "roleSettings": [],
                        "extraModules": []
                    }
                }
            },
            "mesh": {
                "assertions": [],
                "module": { "input": "extra", "name": "vpn" },
                "service": "extra/vpn",
                "roles": { "peer": {
                    "machines": ["jon", "sara", "srv"],
                    "settings": { "jon": [], "sara": [], "srv": [] },
                    "roleSettings": [],
                    "extraModules": []
                } }
            },
            "mesh2": {
                "assertions": [],
                "module": { "input": "extra", "name": "vpn" },
                "service": "extra/vpn",
                "roles": { "peer": {
                    "machines": ["srv"],
                    "settings": { "srv": [] },
                    "roleSettings": [],
                    "extraModules": []
                } }
            }
        })
    );
    assert_eq!(
        out["clanServices"],
        json!({
            "extra/vpn": {
                "assertions": [failed(too_many)],
                "instances": ["mesh", "mesh2"],
                "machines": { "jon": ["mesh"], "sara": ["mesh"], "srv": ["mesh", "mesh2"] },
                "module": { "input": "extra", "name": "vpn" }
            },
            "self/backup": {
                "assertions": [],
                "instances": ["backup"],
                "machines": { "jon": ["backup"], "sara": ["backup"], "srv": ["backup"] },
                "module": { "input": "self", "name": "backup" }
            }
        })
    );
    let m = |s: &str, i: &str, r: &str| json!({ "service": s, "instance": i, "role": r });
    assert_eq!(
        out["machines"],
        json!({
            "jon": [m("extra/vpn", "mesh", "peer"), m("self/backup", "backup", "client")],
            "sara": [m("extra/vpn", "mesh", "peer"), m("self/backup", "backup", "client")],
            "srv": [m("extra/vpn", "mesh", "peer"), m("extra/vpn", "mesh2", "peer"), m("self/backup", "backup", "server")]
        })
    );
    assert_eq!(
        out["warnings"],
        json!(["inventory.instances.mesh.roles.peer.tags: tag 'nope' matches no machine"])
    );
    assert_eq!(out["assertions"], json!([failed(too_many)]));
    // The services API is untouched beside it.
    assert_eq!(
        out["services"],
        json!({ "borgbackup": { "old": { "enabled": true, "roles": {
            "client": { "machines": ["jon"] }, "server": { "machines": [] }
        } } } })
    );
}

/// The CLI's core gives the same JSON as the builtin (less the module values, which JSON cannot
/// carry): `output_json` on the same argument.
#[test]
fn the_builtin_agrees_with_the_cores_json() {
    use clan_inventory::inventory::{json::output_json, json::JsonTree, load, resolve};
    let nix = Nix::with_plugin();
    let from_nix = nix.json(&small(
        "{ inherit (r) clanServices warnings assertions services;
           instances = builtins.mapAttrs (_: i: i // { roles = builtins.mapAttrs (_: r: { inherit (r) machines; }) i.roles; }) r.instances;
           machines = builtins.mapAttrs (_: m: removeAttrs m [ \"modules\" ]) r.machines; }",
    ));
    // The same argument, as JSON, without the extra modules (which `output_json` leaves out).
    let arg = json!({
        "modules": { "borgbackup": { "roles": { "client": {}, "server": {} } } },
        "serviceModules": {
            "self": {
                "backup": { "roles": { "client": {}, "server": {} }, "manifest": { "constraints": { "roles": { "server": { "minMachines": 1 } } } } },
                "vpn": { "roles": { "peer": {} } }
            },
            "extra": { "vpn": { "roles": { "peer": {} }, "manifest": { "constraints": { "maxInstances": 1 } } } }
        },
        "inventory": {
            "machines": { "jon": { "tags": ["laptop"] }, "sara": { "tags": ["laptop", "eu"] }, "srv": {} },
            "services": { "borgbackup": { "old": { "roles": { "client": { "machines": ["jon"] } } } } },
            "instances": {
                "backup": { "roles": {
                    "server": { "machines": { "srv": { "settings": { "path": "/backup" } } } },
                    "client": { "settings": { "every": "day" }, "machines": { "jon": { "settings": { "every": "hour" } } }, "tags": { "eu": { "settings": { "region": "eu" } }, "laptop": {} } }
                } },
                "mesh": { "module": { "name": "vpn", "input": "extra" }, "roles": { "peer": { "tags": ["all", "nope"] } } },
                "mesh2": { "module": { "name": "vpn", "input": "extra" }, "roles": { "peer": { "machines": { "srv": {} } } } }
            }
        }
    });
    let mut tree = JsonTree::new();
    let Ok(input) = load(&mut tree, &&arg) else {
        panic!("the core rejects the argument")
    };
    assert_eq!(output_json(&input, &resolve(&input)), from_nix);
}

/// Settings, tag settings, machine settings and extra modules are `throw`s, and so are a service
/// module and an input that no instance uses: the whole result is read (every definition's file,
/// every list's length) without forcing any of them. Forcing a definition's value raises the
/// user's own error: the value is the user's, not a copy.
#[test]
fn nothing_the_user_wrote_is_forced() {
    let nix = Nix::with_plugin();
    let expr = |read: &str| {
        format!(
            r#"let
              r = builtins.clanInventory {{
                inventory = {{
                  machines = {{ jon.tags = [ "t" ]; sara = {{ }}; }};
                  instances.backup.roles.client = {{
                    settings = throw "role settings";
                    machines.jon.settings = throw "machine settings";
                    tags.t.settings = throw "tag settings";
                    tags.all = {{ }};
                    extraModules = [ (throw "extra module") "x.nix" ];
                  }};
                }};
                serviceModules = {{
                  self = {{ backup.roles.client = throw "role value"; unused = throw "unused module"; }};
                  other = throw "unused input";
                }};
              }};
              files = l: map (d: [ d._file (builtins.length d.imports) ]) l;
              roles = i: builtins.mapAttrs (_: r: {{
                inherit (r) machines;
                settings = builtins.mapAttrs (_: files) r.settings;
                roleSettings = files r.roleSettings;
                extraModules = builtins.length r.extraModules;
              }}) i.roles;
            in {read}"#
        )
    };
    let out = nix.json(&expr(
        "{ instances = builtins.mapAttrs (_: i: i // { roles = roles i; }) r.instances;
           inherit (r) clanServices warnings assertions;
           machines = builtins.mapAttrs (_: m: m.instances) r.machines; }",
    ));
    let p = "inventory.instances.backup.roles.client";
    assert_eq!(
        out["instances"]["backup"]["roles"]["client"],
        json!({
            "machines": ["jon", "sara"],
            "settings": {
                "jon": [[format!("{p}.settings"), 1], [format!("{p}.machines.jon.settings"), 1], [format!("{p}.tags.t.settings"), 1]],
                "sara": [[format!("{p}.settings"), 1]]
            },
            "roleSettings": [[format!("{p}.settings"), 1]],
            "extraModules": 2
        })
    );
    assert_eq!(
        out["machines"]["sara"],
        json!([{ "instance": "backup", "role": "client", "service": "self/backup" }])
    );
    for (read, message) in [
        ("builtins.head (builtins.head r.instances.backup.roles.client.settings.jon).imports", "role settings"),
        ("builtins.head (builtins.elemAt r.instances.backup.roles.client.settings.jon 1).imports", "machine settings"),
        ("builtins.head (builtins.elemAt r.instances.backup.roles.client.settings.jon 2).imports", "tag settings"),
        ("builtins.head r.instances.backup.roles.client.extraModules", "extra module"),
        // Without a directory, a string entry says which list it is in, when forced.
        ("builtins.elemAt r.instances.backup.roles.client.extraModules 1", "inventory.instances.backup.roles.client.extraModules[1]: the string module 'x.nix' needs 'directory' to be set"),
    ] {
        let err = nix.error(&expr(read));
        assert!(err.ends_with(message), "{read}: {err}");
    }
}

/// Errors of the contract are raised by the call, whichever part of the result is read.
#[test]
fn errors_are_raised_by_the_call() {
    let nix = Nix::with_plugin();
    let call = |inventory: &str, service_modules: &str, read: &str| {
        format!(
            r"let r = builtins.clanInventory {{
                 inventory = {{ machines = {{ jon = {{ }}; sara = {{ }}; }}; {inventory} }};
                 serviceModules = {service_modules};
               }}; in {read}"
        )
    };
    let modules = "{ self.backup.roles = { client = { }; server = { }; }; extra = null; }";
    for (inventory, service_modules, message) in [
        (
            r#"instances.backup.roles.client.tags = "t";"#,
            modules,
            "inventory.instances.backup.roles.client.tags: expected a list of strings or an attribute set, found a string",
        ),
        (
            r"instances.backup.roles.client.machine = { };",
            modules,
            "inventory.instances.backup.roles.client: unknown attribute 'machine' (attributes: extraModules, machines, settings, tags); did you mean 'machines'?",
        ),
        (
            r#"instances.backup.module.input = "extr";"#,
            modules,
            "inventory.instances.backup.module.input: no flake input 'extr' (inputs: extra, self); did you mean 'extra'?",
        ),
        (
            r#"instances.backup.module.input = "extra";"#,
            modules,
            "inventory.instances.backup.module.input: flake input 'extra' has no clan.modules (clan service modules are published as clan.modules.<name>)",
        ),
        (
            r"instances.bakup = { };",
            modules,
            "inventory.instances.bakup.module.name: no clan service module 'bakup' in the clan's own modules (modules: backup); did you mean 'backup'?",
        ),
        (
            r"instances.backup.roles.sever = { };",
            modules,
            "inventory.instances.backup.roles: role 'sever' is not defined by clan service module 'self/backup' (roles: client, server); did you mean 'server'?",
        ),
        (
            r"instances.backup.roles.client.machines.jonn = { };",
            modules,
            "inventory.instances.backup.roles.client.machines: machine 'jonn' is not defined in inventory.machines; did you mean 'jon'?",
        ),
        (
            r"instances.backup = { };",
            r#"{ self.backup = { roles = { }; manifest.constraints.maxInstances = "1"; }; }"#,
            "serviceModules.self.backup.manifest.constraints.maxInstances: expected an integer or null, found a string",
        ),
        (
            r"instances.backup = { };",
            r#"{ self.backup.roles = throw "no roles here"; }"#,
            "serviceModules.self.backup.roles: no roles here",
        ),
    ] {
        for read in ["r.warnings", "r.machines.jon.tags", "r.instances", "r.clanServices"] {
            assert_eq!(
                nix.error(&call(inventory, service_modules, read)),
                message,
                "{inventory} {read}"
            );
        }
    }
}

/// Every value the results keep for `instances`, `clanServices` and the settings lists survives
/// collections between the call and their forcing (test hooks: a collection between the builtin's
/// phases, and after the call), the same as without them.
#[cfg(feature = "test-hooks")]
#[test]
fn instances_survive_collections() {
    let nix = Nix::with_plugin();
    let expr = |gc: bool| {
        format!(
            r#"let
              gc = x: if {gc} then builtins.clanInventoryGcNow x else x;
              call = if {gc} then builtins.clanInventoryGcStress else builtins.clanInventory;
              r = call {{
                directory = "/d";
                serviceModules.self.s = {{ roles = {{ a = {{ }}; b = {{ }}; }}; manifest.constraints.roles.b.maxMachines = 1; }};
                inventory.machines = builtins.listToAttrs (builtins.genList (i: {{
                  name = "m${{toString i}}";
                  value.tags = [ "t${{toString (i - i / 3 * 3)}}" ];
                }}) 30);
                inventory.instances = builtins.listToAttrs (builtins.genList (i: {{
                  name = "i${{toString i}}";
                  value = {{
                    module.name = "s";
                    roles.a = {{
                      settings = {{ n = builtins.genList (k: k * i) 3; }};
                      tags.t1.settings.x = "t" + toString i;
                      machines.m2.settings.y = [ i ];
                      extraModules = [ ("e" + toString i + ".nix") ];
                    }};
                    roles.b.tags = [ "t0" ];
                  }};
                }}) 4);
              }};
              step = n: x: builtins.seq (gc n) x;
              held = builtins.seq r.warnings (step 1 (step 2 (step 3 r)));
              settings = builtins.mapAttrs (_: i: builtins.mapAttrs (_: r: builtins.mapAttrs (_: l: step 4 l) r.settings) i.roles) held.instances;
            in {{
              inherit settings;
              inherit (held) clanServices assertions;
              instances = builtins.mapAttrs (_: i: removeAttrs i [ "roles" ] // {{ roles = builtins.mapAttrs (_: r: removeAttrs r [ "settings" ]) i.roles; }}) held.instances;
              machines = builtins.mapAttrs (_: m: m.instances) held.machines;
            }}"#
        )
    };
    let collected = nix.json(&expr(true));
    let plain = nix.json(&expr(false));
    assert_eq!(collected, plain);
    assert_eq!(
        collected["settings"]["i2"]["a"]["m1"],
        json!([
            { "_file": "inventory.instances.i2.roles.a.settings", "imports": [{ "n": [0, 2, 4] }] },
            { "_file": "inventory.instances.i2.roles.a.tags.t1.settings", "imports": [{ "x": "t2" }] }
        ])
    );
    assert_eq!(
        collected["instances"]["i3"]["roles"]["a"]["extraModules"],
        json!(["/d/e3.nix"])
    );
    assert_eq!(collected["assertions"].as_array().map(Vec::len), Some(4));
}

/// Functions, builtins and derivation-like sets where the instances API expects sets, lists or
/// strings: an error naming the path, never a crash.
#[test]
fn hostile_values_give_path_errors() {
    let nix = Nix::with_plugin();
    for (arg, message) in [
        (
            "{ inventory.instances = builtins; }",
            "inventory.instances.abort: expected an attribute set, found a function",
        ),
        (
            "{ inventory.instances.i.module = x: x; }",
            "inventory.instances.i.module: expected an attribute set, found a function",
        ),
        (
            "{ inventory.instances.i.module.name = builtins.map; }",
            "inventory.instances.i.module.name: expected a string, found a function",
        ),
        (
            "{ inventory.instances.i.roles.r.tags = builtins.map; }",
            "inventory.instances.i.roles.r.tags: expected a list of strings or an attribute set, found a function",
        ),
        (
            "{ inventory.instances.i.roles.r.tags.t = { type = \"derivation\"; }; }",
            "inventory.instances.i.roles.r.tags.t: unknown attribute 'type' (attributes: settings)",
        ),
        (
            "{ inventory.instances.i = { }; serviceModules = x: x; }",
            "serviceModules: expected an attribute set, found a function",
        ),
        (
            "{ inventory.instances.abort = { }; serviceModules.self = builtins; }",
            "serviceModules.self.abort: expected an attribute set, found a function",
        ),
        (
            "{ inventory.instances.i = { }; serviceModules.self.i.manifest = builtins.map; }",
            "serviceModules.self.i.manifest: expected an attribute set, found a function",
        ),
    ] {
        assert_eq!(
            nix.error(&format!("(builtins.clanInventory {arg}).warnings")),
            message,
            "{arg}"
        );
    }
    // Of inputs no instance uses only the names are read: none of `builtins`' values is forced.
    assert_eq!(
        nix.json("(builtins.clanInventory { serviceModules = { self = builtins; x = builtins; }; }).clanServices"),
        json!({})
    );
}

/// The parts of `instances` and `clanServices` are thunks of their own, each kept alive by what
/// refers to it: a role, a service and a whole instance are taken out of results that nothing
/// else holds, several collections run, and only then are their `settings`, `machines`
/// (and a member's settings list) forced, one collection after each step, under the GC-stress
/// call (a collection between the builtin's phases and after every part it encodes). The values
/// are the same as without any collection.
#[cfg(feature = "test-hooks")]
#[test]
fn parts_of_instances_forced_after_collections() {
    let nix = Nix::with_plugin();
    let expr = |gc: bool| {
        format!(
            r#"let
              gc = x: if {gc} then builtins.clanInventoryGcNow x else x;
              call = if {gc} then builtins.clanInventoryGcStress else builtins.clanInventory;
              step = n: x: builtins.seq (gc n) x;
              steps = x: step 1 (step 2 (step 3 x));
              fresh = k: call {{
                directory = "/d";
                serviceModules.self.s = {{ roles = {{ a = {{ }}; b = {{ }}; }}; manifest.constraints.roles.b.maxMachines = 1; }};
                inventory.machines = builtins.listToAttrs (builtins.genList (i: {{
                  name = "m${{toString i}}";
                  value.tags = [ "t${{toString (i - i / 3 * 3)}}" ];
                }}) 20);
                inventory.instances = builtins.listToAttrs (builtins.genList (i: {{
                  name = "i${{toString i}}";
                  value = {{
                    module.name = "s";
                    roles.a = {{
                      settings = {{ n = [ i k ]; }};
                      tags.t1.settings.x = "t" + toString (i + k);
                      tags.t2 = {{ }};
                      machines.m2.settings.y = [ i ];
                      extraModules = [ ("e" + toString i + ".nix") ];
                    }};
                    roles.b.tags = [ "t0" ];
                  }};
                }}) 3);
              }};
              # Taken out of results that are then dropped: only the part refers to them.
              role = steps (fresh 1).instances.i1.roles.a;
              instance = steps (fresh 2).instances.i2;
              service = steps (fresh 3).clanServices."self/s";
              member = steps (fresh 4).instances.i0.roles.a.settings.m1;
              instances = steps (fresh 5).instances;
            in {{
              role = {{
                settings = steps role.settings;
                machines = steps role.machines;
                inherit (role) roleSettings extraModules;
              }};
              instance = {{
                inherit (instance) assertions module service;
                roles = builtins.mapAttrs (_: r: {{ machines = steps r.machines; settings = steps r.settings; }}) (steps instance.roles);
              }};
              service = {{ machines = steps service.machines; inherit (service) instances assertions module; }};
              member = steps member;
              names = builtins.attrNames (steps instances);
              i1 = builtins.mapAttrs (_: r: r.machines) (steps instances.i1).roles;
            }}"#
        )
    };
    let collected = nix.json(&expr(true));
    let plain = nix.json(&expr(false));
    assert_eq!(collected, plain);
    let a = "inventory.instances.i1.roles.a";
    assert_eq!(
        collected["role"]["settings"]["m4"],
        json!([
            { "_file": format!("{a}.settings"), "imports": [{ "n": [1, 1] }] },
            { "_file": format!("{a}.tags.t1.settings"), "imports": [{ "x": "t2" }] }
        ])
    );
    assert_eq!(
        collected["role"]["settings"]["m2"],
        json!([
            { "_file": format!("{a}.settings"), "imports": [{ "n": [1, 1] }] },
            { "_file": format!("{a}.machines.m2.settings"), "imports": [{ "y": [1] }] }
        ])
    );
    assert_eq!(
        collected["role"]["machines"],
        // Listed, then t1's machines, then t2's (each tag's sorted by name).
        json!([
            "m2", "m1", "m10", "m13", "m16", "m19", "m4", "m7", "m11", "m14", "m17", "m5", "m8"
        ])
    );
    assert_eq!(collected["role"]["extraModules"], json!(["/d/e1.nix"]));
    assert_eq!(
        collected["instance"]["assertions"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        collected["instance"]["roles"]["b"]["settings"]["m3"],
        json!([])
    );
    assert_eq!(collected["service"]["instances"], json!(["i0", "i1", "i2"]));
    assert_eq!(
        collected["service"]["machines"]["m1"],
        json!(["i0", "i1", "i2"])
    );
    assert_eq!(
        collected["member"],
        json!([
            { "_file": "inventory.instances.i0.roles.a.settings", "imports": [{ "n": [0, 4] }] },
            { "_file": "inventory.instances.i0.roles.a.tags.t1.settings", "imports": [{ "x": "t4" }] }
        ])
    );
    assert_eq!(collected["names"], json!(["i0", "i1", "i2"]));
}

/// One machine's path through `instances` and `clanServices` (what nix/clan-services.nix reads
/// for it: its memberships, each one's instance, role settings and member list, each of its
/// services' machines) encodes the instances it is in and the settings of its roles only. The
/// plugin counts the instances and role settings entries it encodes (a test hook): of ten
/// instances with 21 members each, a machine in two of them costs two instances and their 40
/// settings entries of role `a`; reading everything afterwards encodes the rest, once.
#[cfg(feature = "test-hooks")]
#[test]
fn one_machines_path_encodes_only_its_instances() {
    let nix = Nix::with_plugin();
    let out = nix.json(
        r#"let
          counts = x: let c = builtins.clanInventoryEncoded x; in builtins.seq c [ c.instances c.settings ];
          r = builtins.clanInventory {
            serviceModules.self = builtins.listToAttrs (builtins.genList (s: {
              name = "s${toString s}";
              value.roles = { a = { }; b = { }; };
            }) 5);
            inventory.machines = builtins.listToAttrs (builtins.genList (i: {
              name = "m${toString i}";
              value.tags = [ "g${toString (i - i / 5 * 5)}" ];
            }) 100);
            inventory.instances = builtins.listToAttrs (builtins.genList (k: {
              name = "i${toString k}";
              value = {
                module.name = "s${toString (k / 2)}";
                roles.a = { tags.${"g${toString (k - k / 5 * 5)}"}.settings.k = k; settings.r = k; };
                roles.b.machines.m0.settings = throw "never forced";
              };
            }) 10);
          };
          m = "m7";
          mine = r.machines.${m}.instances;
          path = builtins.deepSeq (map (x: [
            (map (d: d._file) r.instances.${x.instance}.roles.${x.role}.settings.${m})
            r.instances.${x.instance}.roles.${x.role}.machines
            r.instances.${x.instance}.assertions
            r.clanServices.${x.service}.machines.${m}
          ]) mine) mine;
          everything = builtins.deepSeq (builtins.mapAttrs (_: i: builtins.mapAttrs (_: r: [ r.machines (builtins.attrNames r.settings) (map (l: builtins.length l) (builtins.attrValues r.settings)) ]) i.roles) r.instances) true;
          before = counts 0;
          afterPath = builtins.seq before (builtins.seq path (counts 1));
          afterAll = builtins.seq afterPath (builtins.seq everything (counts 2));
          minus = a: b: [ (builtins.elemAt a 0 - builtins.elemAt b 0) (builtins.elemAt a 1 - builtins.elemAt b 1) ];
        in {
          mine = builtins.seq afterAll mine;
          path = minus afterPath before;
          all = minus afterAll before;
        }"#,
    );
    assert_eq!(
        out["mine"],
        json!([
            { "instance": "i2", "role": "a", "service": "self/s1" },
            { "instance": "i7", "role": "a", "service": "self/s3" }
        ])
    );
    // m7 carries g2: a member of role a of i2 and i7 (20 members each), nothing else.
    assert_eq!(out["path"], json!([2, 40]));
    // Ten instances, each with role a (20 members) and role b (m0).
    assert_eq!(out["all"], json!([10, 210]));
}

/// The data of a call is released when only parts of `instances` and `clanServices` were read
/// from its result and the result is dropped: nothing the plugin keeps refers to the thunks of
/// those parts. Four batches of 200 calls, each forcing one member's settings, a role's members
/// and a service's machines, then a few collections; the plugin's External values alive then
/// stay below one batch's worth (a leak would leave two per call, 1,600).
#[cfg(feature = "test-hooks")]
#[test]
fn the_data_of_results_read_through_instances_is_released() {
    let alive = crate::plugin::externals_alive_after_batches(
        r#"# Outside the scope of `r`: the decoded input keeps the settings values, and a value
          # whose environment held the result would keep the result alive.
          args = i: {
            serviceModules.self.s.roles = { a = { }; b = { }; };
            inventory.machines = { "a${toString i}" = { tags = [ "x" ]; }; b = { }; };
            inventory.instances.i.roles.a = { tags.x.settings.n = i; machines.b.settings.m = i; };
            inventory.instances.i.module.name = "s";
          };
          one = i: let r = builtins.clanInventory (args i); in builtins.length r.instances.i.roles.a.settings.b
            + builtins.length r.instances.i.roles.a.machines
            + builtins.length r.clanServices."self/s".machines.b;
          batch = k: builtins.foldl' (acc: i: acc + one (i + k)) 0 (builtins.genList (i: i) 200);"#,
        4,
    );
    eprintln!("External values alive after each batch of 200 dropped results: {alive:?}");
    assert!(
        alive.iter().all(|&n| n <= 400),
        "External values of the plugin alive after batches of 200 dropped results: {alive:?}"
    );
}
