//! The built plugin inside the real `nix`: results, error texts, laziness, determinism, and no
//! crash on bad input. Needs `--features plugin` (scripts/test).
#![cfg(feature = "plugin")]

use crate::common::Nix;
use serde_json::{json, Value};

/// Helpers available to every expression: `modules` (module values that say who they are), and
/// `show`, which turns a result into JSON: module values become their `id`, generated modules
/// `{ file; config; }`, paths `path:<base name>`.
const PRELUDE: &str = r#"
  let
    mod = id: { inherit id; };
    modules = {
      borgbackup.roles = { client = mod "borg-client"; server = mod "borg-server"; };
      zerotier = {
        roles = { controller = mod "zt-controller"; peer = mod "zt-peer"; };
        constraints.roles.controller = { min = 1; max = 1; };
      };
    };
    describe = m:
      if builtins.isAttrs m && m ? id then m.id
      else if builtins.isAttrs m && m ? _file then { file = m._file; inherit (m) config; }
      else if builtins.isPath m then "path:" + baseNameOf m
      else if builtins.isString m then "string:" + m
      else if builtins.isFunction m then "function"
      else m;
    show = r: r // { machines = builtins.mapAttrs (_: m: m // { modules = map describe m.modules; }) r.machines; };
  in
"#;

fn eval(nix: &Nix, body: &str) -> Value {
    nix.json(&format!("{PRELUDE} {body}"))
}

fn error(nix: &Nix, body: &str) -> String {
    nix.error(&format!("{PRELUDE} {body}"))
}

/// The generated module of `<svc>.<inst>` as `show` prints it.
fn generated(svc: &str, inst: &str, roles: &Value, merge: Option<Value>) -> Value {
    let mut clan = json!({ "inventory": { "services": { svc: { inst: { "roles": roles } } } } });
    if let Some(contents) = merge {
        clan[svc] = json!({ "_type": "merge", "contents": contents });
    }
    json!({ "file": format!("clan-inventory/services/{svc}/{inst}"), "config": { "clan": clan } })
}

#[test]
fn builtin_is_registered_only_under_builtins() {
    let nix = Nix::with_plugin();
    assert_eq!(nix.json("builtins ? clanInventory"), json!(true));
    // No new global identifier: only the `__` form, like other builtins.
    assert!(nix.eval_json("clanInventory").is_err());
    assert_eq!(
        Nix::without_plugin().json("builtins ? clanInventory"),
        json!(false)
    );
}

#[test]
fn seed_example_borgbackup_explicit_machines() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        r#"show (builtins.clanInventory {
          inherit modules;
          inventory.machines = { jon = { }; backup_server = { }; };
          inventory.services.borgbackup.instance_1 = {
            roles.client.machines = [ "jon" ];
            roles.server.machines = [ "backup_server" ];
          };
        })"#,
    );
    let roles =
        json!({ "client": { "machines": ["jon"] }, "server": { "machines": ["backup_server"] } });
    assert_eq!(
        out,
        json!({
            "clanServices": {},
            "instances": {},
            "machines": {
                "backup_server": {
                    "instances": [],
                    "modules": ["borg-server", generated("borgbackup", "instance_1", &roles, None)],
                    "services": { "borgbackup": { "instance_1": { "roles": ["server"] } } },
                    "tags": ["all", "nixos"]
                },
                "jon": {
                    "instances": [],
                    "modules": ["borg-client", generated("borgbackup", "instance_1", &roles, None)],
                    "services": { "borgbackup": { "instance_1": { "roles": ["client"] } } },
                    "tags": ["all", "nixos"]
                }
            },
            "services": { "borgbackup": { "instance_1": { "enabled": true, "roles": roles } } },
            "warnings": [],
            "assertions": []
        })
    );
}

#[test]
fn seed_example_tags() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        r#"show (builtins.clanInventory {
          inherit modules;
          inventory.machines = { jon.tags = [ "backup" ]; sara.tags = [ "backup" ]; backup_server = { }; };
          inventory.services.borgbackup.instance_1 = {
            roles.client.tags = [ "backup" ];
            roles.server.machines = [ "backup_server" ];
          };
        })"#,
    );
    assert_eq!(
        out["services"]["borgbackup"]["instance_1"]["roles"]["client"],
        json!({ "machines": ["jon", "sara"] })
    );
    assert_eq!(out["machines"]["sara"]["modules"][0], json!("borg-client"));
    assert_eq!(
        out["machines"]["sara"]["tags"],
        json!(["backup", "all", "nixos"])
    );
}

#[test]
fn seed_example_two_instances_and_a_machine_in_two_roles() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        r#"show (builtins.clanInventory {
          inherit modules;
          inventory.machines = { jon = { }; backup_server = { }; backup_backup_server = { }; };
          inventory.services.borgbackup = {
            instance_1 = { roles.client.machines = [ "jon" ]; roles.server.machines = [ "backup_server" ]; };
            instance_2 = { roles.client.machines = [ "backup_server" ]; roles.server.machines = [ "backup_backup_server" ]; };
            both = { roles.client.machines = [ "jon" ]; roles.server.machines = [ "jon" ]; };
          };
        })"#,
    );
    let bs = &out["machines"]["backup_server"];
    assert_eq!(
        bs["services"]["borgbackup"],
        json!({ "instance_1": { "roles": ["server"] }, "instance_2": { "roles": ["client"] } })
    );
    let files: Vec<&Value> = bs["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.get("file").unwrap_or(m))
        .collect();
    assert_eq!(
        files,
        [
            &json!("borg-server"),
            &json!("clan-inventory/services/borgbackup/instance_1"),
            &json!("borg-client"),
            &json!("clan-inventory/services/borgbackup/instance_2")
        ]
    );
    // A machine in two roles of one instance: both role modules, in sorted role order, then one
    // generated module (instances in sorted order: both, instance_1).
    let jon = &out["machines"]["jon"];
    assert_eq!(
        jon["services"]["borgbackup"]["both"],
        json!({ "roles": ["client", "server"] })
    );
    assert_eq!(jon["modules"][0], json!("borg-client"));
    assert_eq!(jon["modules"][1], json!("borg-server"));
    assert_eq!(
        jon["modules"][2]["file"],
        json!("clan-inventory/services/borgbackup/both")
    );
    assert_eq!(jon["modules"][3], json!("borg-client"));
    assert_eq!(jon["modules"].as_array().unwrap().len(), 5);
}

#[test]
fn config_at_three_levels_lands_in_spec_order() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        r#"show (builtins.clanInventory {
          inherit modules;
          inventory.machines = { jon = { }; sara = { }; };
          inventory.services.borgbackup.i = {
            config = { level = "instance"; };
            machines.jon.config = { level = "machine"; };
            roles.server = { machines = [ "jon" ]; config = { level = "server"; }; };
            roles.client = { machines = [ "jon" "sara" ]; config = { level = "client"; }; };
          };
        })"#,
    );
    let roles =
        json!({ "client": { "machines": ["jon", "sara"] }, "server": { "machines": ["jon"] } });
    let level = |l: &str| json!({ "level": l });
    assert_eq!(
        out["machines"]["jon"]["modules"][2],
        generated(
            "borgbackup",
            "i",
            &roles,
            Some(json!([
                level("instance"),
                level("machine"),
                level("client"),
                level("server")
            ]))
        )
    );
    assert_eq!(
        out["machines"]["sara"]["modules"][1],
        generated(
            "borgbackup",
            "i",
            &roles,
            Some(json!([level("instance"), level("client")]))
        )
    );
}

#[test]
fn disabled_instance_contributes_nothing() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        r#"show (builtins.clanInventory {
          inherit modules;
          inventory.machines.jon = { };
          inventory.services.zerotier.off = { enabled = false; roles.peer.machines = [ "jon" ]; };
        })"#,
    );
    assert_eq!(
        out["machines"]["jon"],
        json!({ "instances": [], "modules": [], "services": {}, "tags": ["all", "nixos"] })
    );
    assert_eq!(out["services"]["zerotier"]["off"]["enabled"], json!(false));
    // The controller constraint (min 1) is not checked for a disabled instance.
    assert_eq!(out["assertions"], json!([]));
}

#[test]
fn extra_modules_order_and_directory() {
    let nix = Nix::with_plugin();
    let base = r#"
          inherit modules;
          inventory.machines.jon = { };
          inventory.services.borgbackup.i = {
            extraModules = [ "inst.nix" ];
            machines.jon.extraModules = [ "machine.nix" ];
            roles.server = { machines = [ "jon" ]; extraModules = [ "server.nix" ]; };
            roles.client = { machines = [ "jon" ]; extraModules = [ (mod "inline") ./README.md ]; };
          };"#;
    let out = eval(
        &nix,
        &format!("show (builtins.clanInventory {{ {base} directory = /some/clan; }})"),
    );
    let modules = &out["machines"]["jon"]["modules"];
    assert_eq!(
        modules.as_array().unwrap()[..7],
        [
            json!("borg-client"),
            json!("borg-server"),
            json!("path:inst.nix"),
            json!("path:machine.nix"),
            json!("inline"),
            json!("path:README.md"),
            json!("path:server.nix"),
        ]
    );
    // A string entry becomes a path under a path directory, without copying anything to the store.
    let out = nix.json(&format!(
        "{PRELUDE} let r = builtins.clanInventory {{ {base} directory = /some/clan; }}; m = builtins.elemAt r.machines.jon.modules 2; in [ (builtins.isPath m) (toString m) ]"
    ));
    assert_eq!(out, json!([true, "/some/clan/inst.nix"]));
    // Under a string directory it stays a string.
    let out = nix.json(&format!(
        "{PRELUDE} let r = builtins.clanInventory {{ {base} directory = \"/str/clan\"; }}; in builtins.elemAt r.machines.jon.modules 3"
    ));
    assert_eq!(out, json!("/str/clan/machine.nix"));
    // Without a directory, a string entry fails when (and only when) it is used.
    let out = nix.json(&format!(
        "{PRELUDE} builtins.length (builtins.clanInventory {{ {base} }}).machines.jon.modules"
    ));
    assert_eq!(out, json!(8));
    let err = nix.error(&format!(
        "{PRELUDE} builtins.elemAt (builtins.clanInventory {{ {base} }}).machines.jon.modules 6"
    ));
    assert_eq!(err, "inventory.services.borgbackup.i.roles.server.extraModules[0]: the string module 'server.nix' needs 'directory' to be set");
}

/// Machines with the same roles in an instance share what the instance adds to their module
/// lists (the encoder keeps it from the first such machine), except where a machine's own entry
/// adds something: whichever machine is encoded first, each list is its own.
#[test]
fn machines_with_the_same_roles_share_only_what_their_entries_leave_alone() {
    let nix = Nix::with_plugin();
    // With a directory the extra modules are kept with the rest; without one they are wrapped
    // for each machine (their messages name the list), and the instance is walked every time.
    let body = |order: &str, directory: &str| {
        format!(
            r#"
      let
        r = builtins.clanInventory {{
          inventory = {{
            machines = {{ a = {{}}; b = {{}}; c = {{}}; d = {{}}; }};
            services.borgbackup.i = {{
              extraModules = [ (mod "inst") ];
              machines.b.extraModules = [ (mod "b-only") ];
              machines.c = {{}};
              machines.d.config.x = 1;
              roles.client = {{ tags = [ "all" ]; extraModules = [ (mod "client") ]; }};
            }};
          }};
          inherit modules;
          {directory}
        }};
        ids = m: map (x: if x ? id then x.id else "generated") r.machines.${{m}}.modules;
        # Encoded in this order: each machine is made when first forced.
        forced = builtins.foldl' (acc: m: builtins.seq (builtins.length r.machines.${{m}}.modules) acc) 0 [ {order} ];
      in builtins.seq forced (builtins.listToAttrs (map (m: {{ name = m; value = ids m; }}) [ {order} ]))
    "#
        )
    };
    let plain = json!(["borg-client", "inst", "client", "generated"]);
    let with_extra = json!(["borg-client", "inst", "b-only", "client", "generated"]);
    for directory in ["directory = ./.;", ""] {
        for order in [r#""a" "b" "c" "d""#, r#""b" "d" "c" "a""#] {
            let got = eval(&nix, &body(order, directory));
            let case = format!("order {order}, {directory:?}");
            assert_eq!(got["a"], plain, "{case}");
            assert_eq!(got["b"], with_extra, "{case}");
            assert_eq!(got["c"], plain, "{case}");
            assert_eq!(got["d"], plain, "{case}");
        }
    }
    // d's generated module carries its own config, whichever machine comes first.
    for order in [r#""a" "d" "c""#, r#""d" "c" "a""#] {
        let out = eval(
            &nix,
            &format!(
                r#"
          let
            r0 = builtins.clanInventory {{
              inventory = {{
                machines = {{ a = {{}}; c = {{}}; d = {{}}; }};
                services.borgbackup.i = {{
                  config.level = "instance";
                  machines.d.config.level = "machine";
                  roles.client.tags = [ "all" ];
                }};
              }};
              inherit modules;
            }};
            forced = builtins.foldl' (acc: m: builtins.seq (builtins.length r0.machines.${{m}}.modules) acc) 0 [ {order} ];
            r = show r0;
          in builtins.seq forced (builtins.listToAttrs (map (m: {{ name = m; value = r.machines.${{m}}.modules; }}) [ {order} ]))
        "#
            ),
        );
        let roles =
            json!({ "client": { "machines": ["a", "c", "d"] }, "server": { "machines": [] } });
        let level = |l: &str| json!({ "level": l });
        let shared = generated("borgbackup", "i", &roles, Some(json!([level("instance")])));
        let own = generated(
            "borgbackup",
            "i",
            &roles,
            Some(json!([level("instance"), level("machine")])),
        );
        assert_eq!(
            out["a"],
            json!(["borg-client", shared.clone()]),
            "order {order}"
        );
        assert_eq!(out["c"], json!(["borg-client", shared]), "order {order}");
        assert_eq!(out["d"], json!(["borg-client", own]), "order {order}");
    }
}

#[test]
fn deploy_hosts_become_clan_core_networking() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        r#"show (builtins.clanInventory {
          inventory.machines = {
            jon.deploy.targetHost = "root@jon";
            sara.deploy = { targetHost = "root@sara"; buildHost = "builder"; };
            idle.deploy.targetHost = null;
          };
        })"#,
    );
    assert_eq!(
        out["machines"]["jon"]["modules"],
        json!([{ "file": "clan-inventory/machines/jon/deploy", "config": { "clan": { "core": { "networking": { "targetHost": "root@jon" } } } } }])
    );
    assert_eq!(
        out["machines"]["sara"]["modules"][0]["config"]["clan"]["core"]["networking"],
        json!({ "targetHost": "root@sara", "buildHost": "builder" })
    );
    assert_eq!(out["machines"]["idle"]["modules"], json!([]));
}

#[test]
fn global_tags_and_the_computed_tags() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        r#"show (builtins.clanInventory {
          inherit modules;
          inventory.machines = { jon.tags = [ "own" ]; mac.machineClass = "darwin"; sara = { }; };
          inventory.tags = { web = [ "sara" "jon" ]; db = [ "jon" ]; };
          inventory.services.borgbackup.i = { roles.client.tags = [ "web" ]; roles.server.tags = [ "all" ]; };
          inventory.services.borgbackup.j = { roles.client.tags = [ "darwin" ]; };
        })"#,
    );
    assert_eq!(
        out["machines"]["jon"]["tags"],
        json!(["own", "db", "web", "all", "nixos"])
    );
    assert_eq!(out["machines"]["mac"]["tags"], json!(["all", "darwin"]));
    assert_eq!(
        out["services"]["borgbackup"]["i"]["roles"]["client"]["machines"],
        json!(["jon", "sara"])
    );
    assert_eq!(
        out["services"]["borgbackup"]["i"]["roles"]["server"]["machines"],
        json!(["jon", "mac", "sara"])
    );
    assert_eq!(
        out["services"]["borgbackup"]["j"]["roles"]["client"]["machines"],
        json!(["mac"])
    );
}

#[test]
fn constraints_become_assertions() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        r#"show (builtins.clanInventory {
          inherit modules;
          inventory.machines = { a.tags = [ "t" ]; b.tags = [ "t" ]; c = { }; };
          inventory.services.zerotier = {
            many = { roles.controller.machines = [ "a" ]; roles.controller.tags = [ "t" ]; };
            none = { roles.peer.machines = [ "c" ]; };
            one = { roles.controller.machines = [ "c" ]; };
          };
        })"#,
    );
    let many = "zerotier.many: role 'controller' allows at most 1 machines, has 2: a, b";
    let none = "zerotier.none: role 'controller' needs at least 1 machines, has 0: none";
    assert_eq!(
        out["assertions"],
        json!([{ "assertion": false, "message": many }, { "assertion": false, "message": none }])
    );
    assert_eq!(
        out["machines"]["a"]["modules"][2],
        json!({ "file": "clan-inventory/services/zerotier/many/constraints", "config": { "assertions": [{ "assertion": false, "message": many }] } })
    );
    assert_eq!(out["machines"]["c"]["modules"].as_array().unwrap().len(), 5);
}

#[test]
fn warnings_for_tags_that_match_nothing() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        r#"(builtins.clanInventory {
          inherit modules;
          inventory.machines = { jon.tags = [ "backup" ]; };
          inventory.services.borgbackup.i = { roles.client.tags = [ "bakup" "backup" ]; roles.server.tags = [ "nothing" ]; };
        })"#,
    );
    assert_eq!(
        out["warnings"],
        json!([
            "inventory.services.borgbackup.i.roles.client.tags: tag 'bakup' matches no machine; did you mean 'backup'?",
            "inventory.services.borgbackup.i.roles.server.tags: tag 'nothing' matches no machine"
        ])
    );
    assert_eq!(
        out["services"]["borgbackup"]["i"]["roles"]["client"]["machines"],
        json!(["jon"])
    );
}

#[test]
fn spec_errors_with_full_text() {
    let nix = Nix::with_plugin();
    let base = r"inherit modules; inventory.machines = { jon = { }; sara = { }; };";
    for (body, message) in [
        (
            r#"inventory.services.borgbackup.instance_1.roles.client.machines = [ "jonn" ];"#,
            "inventory.services.borgbackup.instance_1.roles.client.machines: machine 'jonn' is not defined in inventory.machines; did you mean 'jon'?",
        ),
        (
            r"inventory.services.borgbackup.instance_1.roles.clinet = { };",
            "inventory.services.borgbackup.instance_1.roles: role 'clinet' is not defined by module 'borgbackup' (roles: client, server); did you mean 'client'?",
        ),
        (r"inventory.services.fantasy = { };", "inventory.services.fantasy: no module named 'fantasy' (modules: borgbackup, zerotier)"),
        (
            r"inventory.services.borgbackup.i.machines.sarah = { };",
            "inventory.services.borgbackup.i.machines: machine 'sarah' is not defined in inventory.machines; did you mean 'sara'?",
        ),
        (r#"inventory.tags.t = [ "jn" ];"#, "inventory.tags.t: machine 'jn' is not defined in inventory.machines; did you mean 'jon'?"),
    ] {
        assert_eq!(error(&nix, &format!("builtins.clanInventory {{ {base} {body} }}")), message, "{body}");
    }
    assert_eq!(
        error(
            &nix,
            r"builtins.clanInventory { inventory.machines.jon.tags = 1; }"
        ),
        "inventory.machines.jon.tags: expected a list of strings, found an integer"
    );
}

/// Wrong types at every structural position: a clear message naming the path, never a crash.
#[test]
fn wrong_types_everywhere_give_path_errors() {
    let nix = Nix::with_plugin();
    for (arg, message) in [
        ("1", "clanInventory: expected an attribute set, found an integer"),
        ("(x: x)", "clanInventory: expected an attribute set, found a function"),
        ("{ inventory = [ ]; }", "inventory: expected an attribute set, found a list"),
        ("{ inventory = builtins.add; }", "inventory: expected an attribute set, found a function"),
        ("{ modules = null; }", "modules: expected an attribute set, found null"),
        ("{ directory = 1.5; }", "directory: expected a path or a string, found a float"),
        ("{ modules.m = ./.; }", "modules.m: expected an attribute set, found a path"),
        ("{ modules.m.roles = true; }", "modules.m.roles: expected an attribute set, found a Boolean"),
        ("{ modules.m.constraints = [ ]; }", "modules.m.constraints: expected an attribute set, found a list"),
        ("{ modules.m = { roles.r = 1; constraints.roles.r = 1; }; }", "modules.m.constraints.roles.r: expected an attribute set, found an integer"),
        ("{ modules.m = { roles.r = 1; constraints.roles.r.max = -2; }; }", "modules.m.constraints.roles.r.max: expected a non-negative integer or null, found -2"),
        ("{ inventory.machines = \"jon\"; }", "inventory.machines: expected an attribute set, found a string"),
        ("{ inventory.machines.jon = [ ]; }", "inventory.machines.jon: expected an attribute set, found a list"),
        ("{ inventory.machines.jon.tags = [ null ]; }", "inventory.machines.jon.tags[0]: expected a string, found null"),
        ("{ inventory.machines.jon.deploy = \"x\"; }", "inventory.machines.jon.deploy: expected an attribute set, found a string"),
        ("{ inventory.machines.jon.deploy.buildHost = /x; }", "inventory.machines.jon.deploy.buildHost: expected a string or null, found a path"),
        ("{ inventory.machines.jon.machineClass = null; }", "inventory.machines.jon.machineClass: expected \"nixos\" or \"darwin\", found null"),
        ("{ inventory.machines.jon.machineClass = \"bsd\"; }", "inventory.machines.jon.machineClass: expected \"nixos\" or \"darwin\", found \"bsd\""),
        ("{ inventory.tags = [ ]; }", "inventory.tags: expected an attribute set, found a list"),
        ("{ inventory.tags.t = { }; }", "inventory.tags.t: expected a list of strings, found an attribute set"),
        ("{ inventory.services = 1; }", "inventory.services: expected an attribute set, found an integer"),
        ("{ inventory.services.s = [ ]; }", "inventory.services.s: expected an attribute set, found a list"),
        ("{ inventory.services.s.i = null; }", "inventory.services.s.i: expected an attribute set, found null"),
        ("{ inventory.services.s.i.enabled = 1; }", "inventory.services.s.i.enabled: expected a Boolean, found an integer"),
        ("{ inventory.services.s.i.extraModules = ./x.nix; }", "inventory.services.s.i.extraModules: expected a list, found a path"),
        ("{ inventory.services.s.i.machines = [ ]; }", "inventory.services.s.i.machines: expected an attribute set, found a list"),
        ("{ inventory.services.s.i.machines.m = 1; }", "inventory.services.s.i.machines.m: expected an attribute set, found an integer"),
        ("{ inventory.services.s.i.machines.m.extraModules = { }; }", "inventory.services.s.i.machines.m.extraModules: expected a list, found an attribute set"),
        ("{ inventory.services.s.i.roles = [ ]; }", "inventory.services.s.i.roles: expected an attribute set, found a list"),
        ("{ inventory.services.s.i.roles.r = \"x\"; }", "inventory.services.s.i.roles.r: expected an attribute set, found a string"),
        ("{ inventory.services.s.i.roles.r.machines = \"jon\"; }", "inventory.services.s.i.roles.r.machines: expected a list of strings, found a string"),
        ("{ inventory.services.s.i.roles.r.tags = [ 1 ]; }", "inventory.services.s.i.roles.r.tags[0]: expected a string, found an integer"),
        ("{ inventory.services.s.i.roles.r.extraModules = 1; }", "inventory.services.s.i.roles.r.extraModules: expected a list, found an integer"),
        ("{ inventory.machines.\"a.b\".tags = 1; }", "inventory.machines.\"a.b\".tags: expected a list of strings, found an integer"),
        ("{ inventory.services.s.i.role = { }; }", "inventory.services.s.i: unknown attribute 'role' (attributes: config, enabled, extraModules, machines, meta, roles); did you mean 'roles'?"),
    ] {
        assert_eq!(nix.error(&format!("builtins.clanInventory {arg}")), message, "{arg}");
    }
}

#[test]
fn lazy_values_are_neither_forced_nor_copied() {
    let nix = Nix::with_plugin();
    let inventory = r#"
      r = builtins.clanInventory {
        modules.borgbackup.roles = { client = throw "role module forced"; server = { id = "server"; }; };
        inventory.machines = { jon = { description = throw "description forced"; }; sara = { }; };
        inventory.meta = throw "meta forced";
        inventory.services.borgbackup.i = {
          meta = throw "instance meta forced";
          config = { shared = builtins.trace "shared config forced" 42; };
          machines.jon.config = throw "jon's config forced";
          extraModules = [ (throw "extra module forced") ];
          roles.client.machines = [ "jon" ];
          roles.server.machines = [ "sara" ];
        };
      };"#;
    // The builtin itself and sara's results evaluate; jon's values fail only when used.
    let sara = nix.json(&format!(
        "let {inventory} gen = builtins.elemAt r.machines.sara.modules 2; in [ (builtins.length r.machines.jon.modules) (builtins.elemAt r.machines.sara.modules 0).id gen.config.clan.borgbackup.contents ]"
    ));
    assert_eq!(sara, json!([3, "server", [{ "shared": 42 }]]));
    for (index, message) in [(0, "role module forced"), (1, "extra module forced")] {
        let err = nix.error(&format!(
            "let {inventory} in builtins.elemAt r.machines.jon.modules {index}"
        ));
        assert_eq!(err, message);
    }
    let err = nix.error(&format!("let {inventory} in (builtins.elemAt r.machines.jon.modules 2).config.clan.borgbackup.contents"));
    assert_eq!(err, "jon's config forced");

    // A value shared by many machines is the user's very value: evaluated at most once.
    let out = nix
        .command("nix")
        .args([
            "eval",
            "--json",
            "--expr",
            &format!(
                "let {inventory} c = m: builtins.head (builtins.elemAt r.machines.${{m}}.modules 2).config.clan.borgbackup.contents; in [ (c \"sara\").shared (c \"sara\").shared ]"
            ),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("shared config forced").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn same_inventory_in_another_attribute_order_gives_identical_output() {
    // Nix orders attributes by when their names were first seen; the output must not depend on it.
    let a = r#"let
        names = [ "zed" "amy" "mid" ];
        r = builtins.clanInventory {
          modules.svc.roles = { zz = { }; aa = { }; };
          inventory.machines = { zed.tags = [ "t" ]; amy.tags = [ "t" ]; mid = { }; };
          inventory.tags = { zz = [ "mid" ]; aa = [ "mid" ]; };
          inventory.services.svc = { z1.roles.zz.tags = [ "t" ]; a1.roles.aa.machines = [ "mid" "zed" ]; };
        };
      in builtins.mapAttrs (_: m: m // { modules = builtins.length m.modules; }) r.machines // { inherit (r) services warnings; }"#;
    let b = r#"let
        names = [ "amy" "mid" "zed" "a1" "aa" "z1" "zz" ];
        r = builtins.clanInventory {
          inventory.services.svc = { a1.roles.aa.machines = [ "mid" "zed" ]; z1.roles.zz.tags = [ "t" ]; };
          inventory.tags = { aa = [ "mid" ]; zz = [ "mid" ]; };
          inventory.machines = { mid = { }; amy.tags = [ "t" ]; zed.tags = [ "t" ]; };
          modules.svc.roles = { aa = { }; zz = { }; };
        };
      in builtins.mapAttrs (_: m: m // { modules = builtins.length m.modules; }) r.machines // { inherit (r) services warnings; }"#;
    let nix = Nix::with_plugin();
    let (a, b) = (nix.eval_json(a).unwrap(), nix.eval_json(b).unwrap());
    assert_eq!(a, b);
    assert!(a.contains(r#""mid":{"instances":[],"modules":2,"services":{"svc":{"a1":{"roles":["aa"]}}},"tags":["aa","zz","all","nixos"]}"#), "{a}");
    assert!(a.contains(r#""zed":{"instances":[],"modules":4,"services":{"svc":{"a1":{"roles":["aa"]},"z1":{"roles":["zz"]}}},"tags":["t","all","nixos"]}"#), "{a}");
}

#[test]
fn errors_in_structural_values_name_their_path() {
    let nix = Nix::with_plugin();
    let err = nix.error(
        r#"builtins.clanInventory { inventory.machines.jon.tags = throw "no tags for you"; }"#,
    );
    assert!(err.contains("no tags for you"), "{err}");
    let out = nix
        .eval_json(
            r#"builtins.clanInventory { inventory.machines.jon.tags = throw "no tags for you"; }"#,
        )
        .unwrap_err();
    assert!(out.contains("inventory.machines.jon.tags"), "{out}");
    // Infinite recursion in a structural position is an error, not a crash.
    let out = nix
        .eval_json(
            r"let x = { inventory.machines = x.inventory.machines; }; in builtins.clanInventory x",
        )
        .unwrap_err();
    assert!(out.contains("infinite recursion"), "{out}");
}

#[test]
fn reentrant_calls_and_many_calls_in_one_evaluation() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        r#"let
          inner = builtins.clanInventory { inventory.machines.x.tags = [ "inner" ]; };
          outer = builtins.clanInventory {
            inherit modules;
            inventory.machines.jon.tags = inner.machines.x.tags;
            inventory.services.borgbackup.i = {
              roles.client.machines = [ "jon" ];
              config.nested = (builtins.clanInventory { inventory.machines.y = { }; }).machines.y.tags;
            };
          };
          many = builtins.genList (i: (builtins.clanInventory { inventory.machines."m${toString i}" = { }; }).machines) 200;
        in [ outer.machines.jon.tags (builtins.elemAt outer.machines.jon.modules 1).config.clan.borgbackup.contents (builtins.length many) ]"#,
    );
    assert_eq!(
        out,
        json!([["inner", "all", "nixos"], [{ "nested": ["all", "nixos"] }], 200])
    );
}

/// Nix 2.34+ keeps a thunk whose evaluation threw as a value of type "failed"; the builtin must
/// force it again so that the user sees their own error, with the path, not an internal error.
#[test]
fn an_input_whose_evaluation_already_failed_shows_its_own_error() {
    let nix = Nix::with_plugin();
    for (position, arg) in [
        ("inventory.machines.jon.tags", "{ inventory.machines.jon.tags = bad; }"),
        ("inventory.machines.jon", "{ inventory.machines.jon = bad; }"),
        (
            "inventory.services.borgbackup.i.roles.client.machines",
            "{ inherit modules; inventory.machines.jon = { }; inventory.services.borgbackup.i.roles.client.machines = bad; }",
        ),
    ] {
        // tryEval forces `bad` first, so the builtin meets a value that already failed.
        let out = nix
            .eval_json(&format!(
                "{PRELUDE} let bad = throw \"the user's own error\"; probe = builtins.tryEval bad; in builtins.seq probe.success (builtins.clanInventory {arg}).machines"
            ))
            .unwrap_err();
        assert!(out.contains("the user's own error"), "{position}: {out}");
        assert!(out.contains(position), "{position}: {out}");
        assert!(!out.contains("internal error"), "{position}: {out}");
    }
}

/// The statistics `NIX_SHOW_STATS` writes for a successful `nix eval` of `expr`, and their text.
fn show_stats(nix: &Nix, expr: &str) -> (Value, String) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let stats = nix.dir().join(format!("stats-{run}.json"));
    let out = nix
        .command("nix")
        .env("NIX_SHOW_STATS", "1")
        .env("NIX_SHOW_STATS_PATH", &stats)
        .args(["eval", "--json", "--expr", expr])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    crate::common::assert_no_crash(&out, &stderr);
    assert!(out.status.success(), "{stderr}");
    let text = std::fs::read_to_string(&stats).expect("NIX_SHOW_STATS_PATH written");
    (serde_json::from_str(&text).unwrap(), text)
}

/// The number of function calls Nix made in `expr` (`nrFunctionCalls` of `NIX_SHOW_STATS`).
fn function_calls(nix: &Nix, expr: &str) -> u64 {
    let (stats, text) = show_stats(nix, expr);
    stats["nrFunctionCalls"]
        .as_u64()
        .unwrap_or_else(|| panic!("no nrFunctionCalls in {text}"))
}

/// One config value given to many machines is one generated module in the result, however many
/// handles of it the C API hands out (Nix 2.33+ makes a new handle per getter call). Forcing every
/// machine's modules then evaluates that module once: the count of function calls does not grow
/// with the machines.
#[test]
fn a_value_shared_by_many_machines_is_one_value_in_the_result() {
    let nix = Nix::with_plugin();
    let fleet = |n: usize, force: &str| {
        format!(
            r#"{PRELUDE} let
              c = {{ shared = true; }};
              names = builtins.genList (i: "m${{toString i}}") {n};
              r = builtins.clanInventory {{
                inherit modules;
                inventory.machines = builtins.listToAttrs (map (name: {{ inherit name; value = {{ }}; }}) names);
                inventory.services.borgbackup.i = {{
                  roles.client.tags = [ "all" ];
                  machines = builtins.listToAttrs (map (name: {{ inherit name; value.config = c; }}) names);
                }};
              }};
              mods = map (m: r.machines.${{m}}.modules) names;
            in {force}"#
        )
    };
    let n = 200;
    let structure = function_calls(
        &nix,
        &fleet(n, "builtins.length (builtins.concatLists mods)"),
    );
    let forced = function_calls(&nix, &fleet(n, "builtins.deepSeq mods true"));
    let evaluated = forced - structure;
    // Shared: the generated-module helper is applied a handful of times for the one instance.
    // Unshared it would be applied once per machine.
    assert!(
        evaluated < 20,
        "forcing {n} machines' modules made {evaluated} function calls: the shared config was \
         encoded once per machine"
    );
}

/// The load-time version check asks the running Nix itself (its `nix::nixVersion`), not the C API
/// library the plugin brought along, which always names the plugin's own build.
#[test]
fn the_load_time_check_reads_the_running_nix_version() {
    let nix = Nix::with_plugin();
    assert_eq!(
        nix.json("(builtins.clanInventoryRunningNix null).version == builtins.nixVersion"),
        json!(true),
        "{}",
        nix.json("[ (builtins.clanInventoryRunningNix null).version builtins.nixVersion ]")
    );
}

/// The loader (`libclan_inventory_loader.so`, which links nothing of Nix) loads the plugin beside
/// it into the Nix it was built for: the builtin is there, and works.
#[test]
fn the_loader_loads_the_plugin_into_its_own_nix() {
    let loader =
        std::env::var("CLAN_PLUGIN_LOADER").expect("CLAN_PLUGIN_LOADER (scripts/test sets it)");
    let nix = Nix::without_plugin();
    let out = nix
        .command("nix")
        .args(["--option", "plugin-files", &loader])
        .args([
            "eval",
            "--json",
            "--expr",
            "(builtins.clanInventory { inventory.machines.jon = { }; }).machines.jon.tags",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    crate::common::assert_no_crash(&out, &stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("not loaded"), "{stderr}");
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!(["all", "nixos"])
    );
}

/// A plugin built against another Nix (its loader in `CLAN_FOREIGN_PLUGIN`, the version it was built for in
/// `CLAN_FOREIGN_NIX_VERSION`) says so once and registers nothing, and buildClan falls back to the
/// pure-Nix implementation. scripts/test-matrix runs it with a plugin of another version.
#[test]
#[ignore = "needs a plugin built for another Nix: scripts/test-matrix runs it"]
fn a_plugin_built_for_another_nix_registers_nothing_and_says_so_once() {
    let foreign = std::env::var("CLAN_FOREIGN_PLUGIN").expect("CLAN_FOREIGN_PLUGIN");
    let foreign_version =
        std::env::var("CLAN_FOREIGN_NIX_VERSION").expect("CLAN_FOREIGN_NIX_VERSION");
    let nix = Nix::without_plugin();
    // The example's clan service modules need nixpkgs' lib.
    let lib = match crate::common::nixpkgs_lib() {
        Ok(lib) => lib,
        Err(why) => {
            eprintln!("skipped: the example clan needs nixpkgs' lib: {why}");
            return;
        }
    };
    let expr = format!(
        "{{ has = builtins ? clanInventory; summary = import ./examples/clan/summary.nix {{ nixpkgs.lib = import {}; }}; }}",
        lib.display()
    );
    let summary = |plugin: Option<&str>| {
        let mut cmd = nix.command("nix");
        if let Some(p) = plugin {
            cmd.args(["--option", "plugin-files", p]);
        }
        let out = cmd
            .args(["eval", "--json", "--impure", "--expr", &expr])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        crate::common::assert_no_crash(&out, &stderr);
        assert!(out.status.success(), "{stderr}");
        (
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
            stderr,
        )
    };
    let (with_foreign, stderr) = summary(Some(&foreign));
    let (pure, _) = summary(None);
    assert_eq!(with_foreign["has"], json!(false), "{stderr}");
    assert_eq!(
        stderr.matches("clan-inventory plugin not loaded").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("built for Nix {foreign_version}")),
        "{stderr}"
    );
    // buildClan fell back to pure Nix: the same per-machine result as without any plugin.
    assert_eq!(with_foreign["summary"], pure["summary"]);
    assert!(with_foreign["summary"]
        .as_object()
        .is_some_and(|m| !m.is_empty()));
}

/// A fleet of `n` machines `m0`… for the laziness tests: every machine a client of one instance
/// (with a config at the instance and one machine level, and deploy hosts), `m0` the server, and
/// `force` an expression over `r`, the builtin's result, and `args`, its argument.
fn lazy_fleet(n: usize, force: &str) -> String {
    format!(
        r#"{PRELUDE} let
          names = builtins.genList (i: "m${{toString i}}") {n};
          args = {{
            inherit modules;
            inventory.machines = builtins.listToAttrs (map (name: {{
              inherit name;
              value = {{ tags = [ "t" ]; deploy.targetHost = "root@${{name}}"; }};
            }}) names);
            inventory.services.borgbackup.i = {{
              roles.client.tags = [ "t" ];
              roles.server.machines = [ "m0" ];
              config.repo = "/srv";
              machines.m1.config.extra = true;
            }};
          }};
          r = builtins.clanInventory args;
          one = r.machines.m1;
        in {force}"#
    )
}

/// What the one-machine workload forces (BENCHMARKS.md): one machine's module count, tags and
/// services, and the fleet's warnings and assertions.
const ONE_MACHINE: &str = "builtins.deepSeq args (builtins.deepSeq [ (builtins.length one.modules) one.tags one.services r.warnings r.assertions ] true)";

/// The counts of `NIX_SHOW_STATS` that grow with what an evaluation allocates.
fn allocations(nix: &Nix, expr: &str) -> [u64; 3] {
    let (stats, text) = show_stats(nix, expr);
    let count = |a: &str, b: &str| {
        stats[a][b]
            .as_u64()
            .unwrap_or_else(|| panic!("no {a}.{b} in {text}"))
    };
    [
        count("values", "number"),
        count("list", "elements"),
        count("sets", "elements"),
    ]
}

/// One machine of a fleet ten times larger costs the same: what the builtin allocates on top of
/// reading its argument (values, list elements and attributes, from `NIX_SHOW_STATS`) when one
/// machine is forced grows by the machines' entries in `machines` only (what `builtins.mapAttrs`
/// makes per machine: its name, a partial application and a thunk, one attribute), not by what
/// encoding a machine makes (its module list, tags, services, generated modules, member lists).
#[test]
fn one_machine_of_a_fleet_ten_times_larger_costs_the_same() {
    let nix = Nix::with_plugin();
    let extra = |n: usize| -> [u64; 3] {
        let floor = allocations(&nix, &lazy_fleet(n, "builtins.deepSeq args true"));
        let one = allocations(&nix, &lazy_fleet(n, ONE_MACHINE));
        [0, 1, 2].map(|i| one[i] - floor[i])
    };
    let (small, large) = (200, 2_000);
    let [v1, l1, s1] = extra(small);
    let [v2, l2, s2] = extra(large);
    eprintln!("values {v1} -> {v2}, list elements {l1} -> {l2}, attributes {s1} -> {s2}");
    let more = (large - small) as u64;
    assert!(
        l2 <= l1 + 16,
        "list elements grew from {l1} to {l2} for ten times the machines: machines were encoded"
    );
    assert!(
        v2 <= v1 + 3 * more + 64,
        "values grew from {v1} to {v2} (over 3 per machine): machines were encoded"
    );
    assert!(
        s2 <= s1 + more + 64,
        "attributes grew from {s1} to {s2} (over 1 per machine): machines were encoded"
    );
}

/// Validation runs in full before the builtin returns: an error anywhere in the inventory is an
/// error whichever machine is asked for, and `warnings` alone.
#[test]
fn an_invalid_inventory_is_an_error_whichever_machine_is_asked_for() {
    let nix = Nix::with_plugin();
    for force in [
        "r.machines.jon.tags",
        "r.warnings",
        "builtins.attrNames r.machines",
    ] {
        let err = error(
            &nix,
            &format!(
                r#"let r = builtins.clanInventory {{
                  inherit modules;
                  inventory.machines = {{ jon = {{ }}; sara = {{ }}; }};
                  inventory.services.borgbackup.i.roles.client.machines = [ "jon" ];
                  inventory.services.borgbackup.other.roles.server.machines = [ "sarah" ];
                }}; in {force}"#
            ),
        );
        assert!(
            err.contains("machine 'sarah' is not defined") && err.contains("did you mean 'sara'"),
            "{force}: {err}"
        );
    }
}

/// A machine that is never asked for is never encoded: the plugin counts the machines it encodes
/// (a test hook), and forcing one machine of 1,000, with the warnings, assertions and the
/// services of the fleet, encodes one.
#[cfg(feature = "test-hooks")]
#[test]
fn a_machine_never_asked_for_is_never_encoded() {
    let nix = Nix::with_plugin();
    let out = eval(
        &nix,
        &lazy_fleet(
            1_000,
            "let
              encoded = x: (builtins.clanInventoryEncoded x).machines;
              before = encoded 0;
              forced = builtins.deepSeq [ (builtins.length one.modules) one.tags one.services r.warnings r.assertions r.services ] true;
              afterOne = builtins.seq forced (encoded 1);
              all = builtins.seq afterOne (builtins.deepSeq (map (m: builtins.length m.modules) (builtins.attrValues r.machines)) true);
              afterAll = builtins.seq all (encoded 2);
            in builtins.seq before (builtins.seq afterAll [ (afterOne - before) (afterAll - before) ])",
        ),
    );
    assert_eq!(out, json!([1, 1_000]));
}

/// Every value the fleet keeps between the builtin's call and the forcing of a machine survives
/// collections: the input is built inside the call's argument (nothing else refers to it), the
/// builtin returns, several collections run (a test hook), and then every machine is forced and
/// shown, the same as without collections.
#[cfg(feature = "test-hooks")]
#[test]
fn values_held_between_the_call_and_a_machine_survive_collections() {
    let nix = Nix::with_plugin();
    let expr = |gc: bool| {
        format!(
            r#"let
              gc = x: if {gc} then builtins.clanInventoryGcNow x else x;
              r = builtins.clanInventory {{
                modules.b = {{
                  roles = {{ c = {{ id = "c" + toString 1; }}; s = {{ id = builtins.concatStringsSep "-" [ "s" "2" ]; }}; }};
                  constraints.roles.s.max = 0;
                }};
                inventory.machines = builtins.listToAttrs (builtins.genList (i: {{
                  name = "m${{toString i}}";
                  value = {{ tags = [ "t${{toString (i - i / 3 * 3)}}" ]; deploy.targetHost = "root@" + toString i; }};
                }}) 30);
                inventory.services.b.i = {{
                  config = {{ x = builtins.genList (i: i * i) 5; f = a: a + 1; }};
                  extraModules = [ {{ extra = builtins.toString 42; }} ];
                  machines.m3.config.y = "m" + "3";
                  roles.c = {{ tags = [ "t0" "t1" ]; config.z = [ 3 ]; }};
                  roles.s.machines = [ "m2" "m5" ];
                }};
              }};
              step = n: x: builtins.seq (gc n) x;
              held = builtins.seq r.warnings (step 1 (step 2 (step 3 r)));
              describe = m:
                if m ? _file then {{ inherit (m) _file; config = m.config // (if m.config ? clan then {{ clan = m.config.clan // (if m.config.clan ? b then {{ b = m.config.clan.b // {{ contents = map (c: c // (if c ? f then {{ f = c.f 1; }} else {{ }})) m.config.clan.b.contents; }}; }} else {{ }}); }} else {{ }}); }}
                else m;
            in builtins.mapAttrs (_: m: m // {{ modules = map describe m.modules; }}) held.machines // {{ inherit (held) services assertions; }}"#
        )
    };
    let collected = nix.json(&expr(true));
    let plain = nix.json(&expr(false));
    assert_eq!(collected, plain);
    assert_eq!(
        collected["m3"]["modules"][1]["extra"],
        json!("42"),
        "{collected}"
    );
    assert_eq!(
        collected["m2"]["services"],
        json!({ "b": { "i": { "roles": ["s"] } } })
    );
}

/// The data of a call whose result is dropped is released: six batches of 300 calls, each
/// forcing one machine, with a few collections after each batch; the plugin's External values
/// alive then (two are made per call) stay below one batch's worth. Measured: 0 to 2 on 2.26.3
/// and 2.31.5; 300 to 500 on 2.34.8, bounded all the same (a leak would leave 3,600).
#[cfg(feature = "test-hooks")]
#[test]
fn the_data_of_dropped_results_is_released() {
    let alive = externals_alive_after_batches(
        r#"batch = k: builtins.foldl' (acc: i: acc + builtins.length (builtins.clanInventory {
            modules.b.roles = { c = { }; s = { }; };
            inventory.machines = { "a${toString (i + k)}" = { tags = [ "x" ]; }; b = { }; };
            inventory.services.b.s.roles.c.tags = [ "x" "all" ];
          }).machines.b.modules) 0 (builtins.genList (i: i) 300);"#,
        6,
    );
    eprintln!("External values alive after each batch of 300 dropped results: {alive:?}");
    assert!(
        alive.iter().all(|&n| n <= 600),
        "External values of the plugin alive after batches of 300 dropped results: {alive:?}"
    );
}

/// The plugin's External values alive after each of `batches` calls of `batch` (defined in
/// `bindings`, `batch = k: ...`, called with 1000, 2000, ...) and four collections after each.
#[cfg(feature = "test-hooks")]
pub(crate) fn externals_alive_after_batches(bindings: &str, batches: usize) -> Vec<u64> {
    let nix = Nix::with_plugin();
    let out = nix.json(&format!(
        "let
          {bindings}
          count = x: (builtins.clanInventoryEncoded x).externals;
          gc = builtins.clanInventoryGcNow;
          settle = x: builtins.seq x (builtins.seq (gc 1) (builtins.seq (gc 2) (builtins.seq (gc 3) (builtins.seq (gc 4) (count x)))));
          go = k: if k == 0 then [ ] else [ (settle (batch (k * 1000))) ] ++ go (k - 1);
        in go {batches}"
    ));
    let alive: Vec<u64> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(alive.len(), batches);
    alive
}
