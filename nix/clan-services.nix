# Clan service modules (`_class = "clan.service"`, the modules of `inventory.instances`), evaluated
# with nixpkgs' module system as clan-core d7c35d9 does (docs/semantics.md, "Evaluating the service
# modules"; shared/spec/INSTANCES.md §§ 4–6). Shared by both resolution paths: the builtin and
# nix/inventory.nix only say who is in which role with which settings definitions; this file turns
# that into NixOS and nix-darwin modules.
#
#   services = import ./clan-services.nix { inherit lib directory meta inputs selfModules instances; };
#   services.serviceModules           # the `serviceModules` argument of clanInventory
#   services.forMachine resolved m "nixos"   # m's service modules, for nixosSystem
#
# `selfModules` are the clan's own clan.service modules (buildClan's `modules` and modules/<name>/),
# `inputs` the flake inputs (their `clan.modules`). Everything is lazy: a service module is
# evaluated when the resolution reads its roles, or when a machine of it is built; the settings and
# `perInstance` of (instance, role, machine) when that machine's configuration reads them, once per
# evaluation. Building one machine evaluates no other machine's settings or `perInstance`. A plain
# perInstance or perMachine function is called directly, without an evaluation of its own, and
# members with the same settings definitions share one evaluation (docs/semantics.md).
{
  lib,
  directory,
  meta ? { },
  inputs ? { },
  selfModules ? { },
  # inventory.instances as written (the tags' settings, for the shared settings evaluations)
  instances ? { },
}:
let
  inherit (builtins)
    all
    attrNames
    concatMap
    concatStringsSep
    elemAt
    filter
    head
    isAttrs
    isList
    length
    listToAttrs
    mapAttrs
    removeAttrs
    ;
  msg = import ./inventory/messages.nix;
  inherit (lib) mkOption types;

  # The service key of a module of `input` (as the resolution computes it).
  keyOf = input: name: (if input == "clan-core" then "<clan-core>" else input) + "/" + name;

  unsupported = key: where: "clan service module '${key}': exports are not supported by clan-inventory yet (${where})";

  sortedUnique =
    names:
    attrNames (
      listToAttrs (
        map (n: {
          name = n;
          value = null;
        }) names
      )
    );

  # An option that only exists to refuse its use: no default, so `isDefined` tells whether a
  # module set it.
  refused = mkOption {
    type = types.raw;
    visible = false;
    description = "Not supported by clan-inventory yet.";
  };

  # What perInstance and perMachine return.
  resultModule = {
    options.nixosModule = mkOption {
      type = types.deferredModule;
      default = { };
      description = "A NixOS module for the machine.";
    };
    options.darwinModule = mkOption {
      type = types.deferredModule;
      default = { };
      description = "A nix-darwin module for the machine.";
    };
    options.exports = refused;
  };

  # The module system's own `lib` (the `lib` argument of every module), for the direct calls.
  moduleLib =
    (lib.evalModules {
      modules = [ ({ lib, ... }: { config._module.args.moduleLib = lib; }) ];
    })._module.args.moduleLib;

  # perInstance or perMachine without an evaluation of its own, when the module system would
  # only call it and pass its result on. `merged` is the option's value (types.deferredModuleWith:
  # `{ imports = [ resultModule (setDefaultModuleLocation "<file>, via option <loc>" <value>) ]; }`).
  # The direct call applies when there is exactly one definition, a plain function that asks only
  # for arguments the module system would give from specialArgs (whose names are `known`; not
  # `config` or `options`, though a function with `...` still gets them, from the evaluation) or a
  # plain attribute set, whose result is an attribute set of `nixosModule` and `darwinModule`
  # only, each a plain attribute set, a function or a path. It then builds what the evaluation's
  # `config.<name>` would be (types.deferredModule's merge of one definition, or the default);
  # anything else reads the evaluation. `planOf` looks at the option once (per service and role),
  # `callDirect` makes one call, `moduleOf` builds a result module from it.
  planOf =
    known: merged:
    let
      imps = merged.imports or [ ];
      def = elemAt imps 1;
      value = head def.imports;
      isFn = builtins.isFunction value;
    in
    {
      inherit value isFn;
      applies =
        isList imps
        && length imps == 2
        && isAttrs def
        && attrNames def == [
          "_file"
          "imports"
        ]
        && length def.imports == 1
        && (
          if isFn then
            all (n: n != "config" && n != "options" && known ? ${n}) (attrNames (builtins.functionArgs value))
          else
            isAttrs value && !(value ? _type) && !(value ? __functor)
        );
      # types.deferredModule's merge of one definition of `nixosModule` or `darwinModule` from
      # the module `value` (whose file is the definition's).
      locations = {
        nixosModule = "${def._file}, via option nixosModule";
        darwinModule = "${def._file}, via option darwinModule";
      };
      # What the module system makes of a result that defines neither: the options' defaults, from
      # an evaluation of the option's static module alone (resultModule as the option's type
      # gives it, with its declaring file).
      defaults = (lib.evalModules { modules = [ (head imps) ]; }).config;
    };

  noPrefix = [ ];
  resultNames = {
    nixos = "nixosModule";
    darwin = "darwinModule";
  };

  # The arguments a direct call gives (those of roleContexts' and serviceContexts' `call`): the
  # specialArgs of perInstance and perMachine, and the module system's own.
  perInstanceNames = {
    instanceName = null;
    settings = null;
    extendSettings = null;
    machine = null;
    roles = null;
    meta = null;
    exports = null;
    mkExports = null;
  }
  // moduleArgs;
  perMachineNames = {
    machine = null;
    instances = null;
    meta = null;
    settings = null;
    exports = null;
    mkExports = null;
  }
  // moduleArgs;
  moduleArgs = builtins.listToAttrs (
    map (name: {
      inherit name;
      value = null;
    }) moduleArgNames
  );

  # The arguments the module system gives every module besides specialArgs.
  moduleArgNames = [
    "lib"
    "specialArgs"
    "options"
    "config"
    "_class"
    "_prefix"
  ];

  # The result of the direct call with `args` (what the module system would call the function
  # with: specialArgs and its own arguments, `config` and `options` those of the evaluation), when
  # it applies; else null (then the evaluation gives everything, including whether `exports` is
  # set).
  callDirect =
    plan: args:
    if !plan.applies then
      null
    else
      let
        result = if plan.isFn then plan.value args else plan.value;
      in
      if
        isAttrs result
        && !(result ? _type)
        && length (attrNames result) == (if result ? nixosModule then 1 else 0) + (if result ? darwinModule then 1 else 0)
      then
        result
      else
        null;

  # The evaluation's `config.<name>`, from the direct call's `result` (`slow`: the evaluation, for
  # a value the direct call does not take, such as a `mkIf`).
  moduleOf =
    plan: result: name: slow:
    let
      v = result.${name};
    in
    if !(result ? ${name}) then
      plan.defaults.${name}
    else if (isAttrs v && !(v ? _type)) || builtins.isFunction v || builtins.isPath v then
      {
        imports = [
          {
            _file = plan.locations.${name};
            imports = [ v ];
          }
        ];
      }
    else
      slow.config.${name};

  # The interface of a clan.service module, as far as clan-inventory supports it.
  schema = {
    _file = "clan-inventory/nix/clan-services.nix";
    options = {
      manifest = {
        name = mkOption {
          type = types.str;
          description = "The name of the service, used in messages and in the class of its settings.";
        };
        description = mkOption {
          type = types.str;
          default = "No description";
          description = "A short description of the service.";
        };
        readme = mkOption {
          type = types.str;
          default = "";
          description = "A longer description; without one, every member gets a NixOS warning.";
        };
        categories = mkOption {
          type = types.listOf types.str;
          default = [ "Uncategorized" ];
          description = "Categories of the service.";
        };
        constraints = {
          maxInstances = mkOption {
            type = types.nullOr types.ints.positive;
            default = null;
            description = "At most this many instances of the service (null: no limit).";
          };
          roles = mkOption {
            type = types.attrsOf (
              types.submodule {
                options.minMachines = mkOption {
                  type = types.nullOr types.ints.unsigned;
                  default = null;
                  description = "At least this many members per instance (null: no minimum).";
                };
                options.maxMachines = mkOption {
                  type = types.nullOr types.ints.positive;
                  default = null;
                  description = "At most this many members per instance (null: no limit).";
                };
              }
            );
            default = { };
            description = "Per role: member counts each instance must keep.";
          };
        };
        exports = refused;
      };
      roles = mkOption {
        type = types.attrsOf (
          types.submodule {
            options.description = mkOption {
              type = types.nullOr types.str;
              default = null;
              description = "What the role does to its members; without one, every member gets a NixOS warning.";
            };
            options.interface = mkOption {
              type = types.deferredModule;
              default = { };
              description = "The options of the role's settings.";
            };
            options.perInstance = mkOption {
              type = types.deferredModuleWith { staticModules = [ resultModule ]; };
              default = { };
              description = "Per (instance, member): a module of the arguments instanceName, settings, machine, roles, meta and extendSettings.";
            };
          }
        );
        default = { };
        description = "The roles of the service.";
      };
      perMachine = mkOption {
        type = types.deferredModuleWith { staticModules = [ resultModule ]; };
        default = { };
        description = "Once per machine of the service: a module of the arguments machine, instances and meta.";
      };
      exports = refused;
    };
  };

  evalService =
    key: module:
    lib.evalModules {
      class = "clan.service";
      specialArgs = {
        inherit directory meta;
        exports = throw (unsupported key "exports");
        # clan-core's own modules take clan-core's library (most of it is for vars and exports).
        clanLib =
          inputs.clan-core.clanLib or (throw "clan service module '${key}' uses clanLib, clan-core's library: give buildClan a clan-core input (inputs.clan-core.clanLib)");
      };
      modules = [
        schema
        module
      ];
    };

  # input -> name -> the evaluation of that module; an input without clan.modules is null.
  evaluated =
    mapAttrs (
      input: value:
      if value ? clan.modules then mapAttrs (name: evalService (keyOf input name)) value.clan.modules else null
    ) inputs
    // {
      self = mapAttrs (name: evalService (keyOf "self" name)) selfModules;
    };

  # The `serviceModules` argument of clanInventory: each module's evaluated config.
  serviceModules = mapAttrs (_: ms: if ms == null then null else mapAttrs (_: e: e.config) ms) evaluated;

  # Everything that depends on the resolution (the builtin's or nix/inventory.nix's result).
  withResolution =
    resolved:
    let
      serviceOf = key: resolved.clanServices.${key};
      evalOf =
        key:
        let
          inherit (serviceOf key) module;
        in
        evaluated.${module.input}.${module.name};

      settingsEval =
        key: i: r: prefix: definitions:
        let
          svc = (evalOf key).config;
        in
        lib.evalModules {
          inherit prefix;
          class = "${svc.manifest.name}.${r}.settings";
          specialArgs = { inherit meta; };
          modules = [ svc.roles.${r}.interface ] ++ definitions;
        };

      # Per instance and role: the settings evaluation of each member, and of the role settings
      # alone. Built once, lazily; each evaluation is a thunk of its own. Members whose definitions
      # are the same (no machine-level settings, the same tags with settings) share one
      # evaluation, whose prefix is the role's path (docs/semantics.md, "Evaluating the service
      # modules"): a member with only the role settings shares the role's own evaluation, the
      # others one per set of tags, found in a lazy tree over the role's tags with settings (from
      # the instance as the user wrote it; each level is keyed by the definitions' `_file`s, so a
      # member is looked up by its own definitions, in their order, and only the nodes some member
      # reaches are built). A member whose definitions the tree does not have gets an evaluation of
      # its own with its own prefix, as does a member with machine-level settings.
      settings = mapAttrs (
        i: inst:
        mapAttrs (
          r: role:
          let
            rpath = msg.attr "${msg.attr "inventory.instances" i}.roles" r;
            rolePrefix = [
              "inventory"
              "instances"
              i
              "roles"
              r
              "settings"
            ];
            ownEval =
              m: defs:
              settingsEval inst.service i r [
                "inventory"
                "instances"
                i
                "roles"
                r
                "machines"
                m
                "settings"
              ] defs;
            alone = settingsEval inst.service i r rolePrefix role.roleSettings;
            nRole = length role.roleSettings;
            written = instances.${i}.roles.${r}.tags or [ ];
            # The tags' definitions (sorted names, as the resolution orders them).
            tagDefs =
              if isAttrs written then
                concatMap (
                  t:
                  if written.${t} ? settings then
                    [
                      {
                        _file = "${msg.attr "${rpath}.tags" t}.settings";
                        imports = [ written.${t}.settings ];
                      }
                    ]
                  else
                    [ ]
                ) (attrNames written)
              else
                [ ];
            nTags = length tagDefs;
            # The definitions `acc` (tags before index k), and the nodes of the tags from k on.
            node = k: acc: {
              shared = settingsEval inst.service i r rolePrefix (role.roleSettings ++ acc);
              next = listToAttrs (
                builtins.genList (
                  d:
                  let
                    def = elemAt tagDefs (k + d);
                  in
                  {
                    name = def._file;
                    value = node (k + d + 1) (acc ++ [ def ]);
                  }
                ) (nTags - k)
              );
            };
            tree = node 0 [ ];
            member =
              m: defs:
              let
                n = length defs;
                found = builtins.foldl' (
                  at: d: if at == null then null else at.next.${(elemAt defs d)._file} or null
                ) tree (builtins.genList (d: nRole + d) (n - nRole));
              in
              if n == nRole then
                alone
              else if (elemAt defs nRole)._file == "${msg.attr "${rpath}.machines" m}.settings" then
                ownEval m defs
              else if found == null then
                ownEval m defs
              else
                found.shared;
          in
          {
            machines = mapAttrs member role.settings;
            role = alone;
          }
        ) inst.roles
      ) resolved.instances;

      # The `roles` argument of perInstance (and each instance of perMachine's `instances`).
      rolesArg = mapAttrs (
        i: inst:
        mapAttrs (r: _: {
          machines = mapAttrs (_: e: { settings = e.config; }) settings.${i}.${r}.machines;
          settings =
            lib.warn
              "clan service '${inst.service}', instance '${i}': roles.${r}.settings are the role's settings without any machine's; clan-core deprecates them, read roles.${r}.machines.<machine>.settings instead"
              settings.${i}.${r}.role.config;
        }) inst.roles
      ) resolved.instances;

      membershipsOf = m: resolved.machines.${m}.instances;

      # Per instance and role: what every member's perInstance shares (bound once, so that each
      # member's arguments refer to the same values), and `call m slow`, the arguments of a direct
      # call of perInstance for member m (`slow`: the evaluation, for `options` and `config`): the
      # specialArgs of the evaluation and the module system's own arguments, in one set, as
      # applyModuleArgs builds it. perInstanceArgs is the specialArgs alone.
      roleContexts = mapAttrs (
        i: inst:
        let
          exports = throw (unsupported inst.service "exports");
          mkExports = throw (unsupported inst.service "mkExports");
          roles = rolesArg.${i};
        in
        mapAttrs (
          r: role:
          let
            where = "inventory.instances.${i}.roles.${r}";
            members = settings.${i}.${r}.machines;
          in
          {
            inherit where;
            # extraModules, wrapped once for every member
            extraModules = map (lib.setDefaultModuleLocation "${where}.extraModules") role.extraModules;
            call =
              m: slow:
              {
                lib = moduleLib;
                specialArgs = perInstanceArgs i r m;
                inherit (slow) options config;
                _class = null;
                _prefix = noPrefix;
                instanceName = i;
                settings = members.${m}.config;
                extendSettings = module: (members.${m}.extendModules { modules = lib.toList module; }).config;
                machine = {
                  name = m;
                  roles = map (x: x.role) (filter (x: x.instance == i) (membershipsOf m));
                };
                inherit
                  roles
                  meta
                  exports
                  mkExports
                  ;
              };
          }
        ) inst.roles
      ) resolved.instances;
      perInstanceArgs = i: r: m: removeAttrs (roleContexts.${i}.${r}.call m null) moduleArgNames;

      # Per service: the plans of the direct calls of perMachine and each role's perInstance.
      plans = mapAttrs (
        key: _:
        let
          svc = (evalOf key).config;
        in
        {
          perMachine = planOf perMachineNames svc.perMachine;
          roles = mapAttrs (_: role: planOf perInstanceNames role.perInstance) svc.roles;
        }
      ) resolved.clanServices;

      # The evaluations of perInstance (what clanInternals shows; a machine's module reads them
      # only when the direct call below does not apply).
      perInstance = mapAttrs (
        i: inst:
        mapAttrs (
          r: role:
          mapAttrs (
            m: _:
            lib.evalModules {
              specialArgs = perInstanceArgs i r m;
              modules = [ (evalOf inst.service).config.roles.${r}.perInstance ];
            }
          ) role.settings
        ) inst.roles
      ) resolved.instances;

      # Per service: what every machine's perMachine and module share, and `call m mine slow`, the
      # arguments of a direct call of perMachine for machine m (`mine`: m's memberships in the
      # service, in membership order), as roleContexts' `call`.
      serviceContexts = mapAttrs (
        key: service:
        let
          svc = (evalOf key).config;
          settings = throw "clan service module '${key}': perMachine has no 'settings' argument; read each instance's settings from 'instances' instead";
          exports = throw (unsupported key "exports");
          mkExports = throw (unsupported key "mkExports");
        in
        {
          warnings =
            map (r: "clan service '${key}': role '${r}' has no description") (
              filter (r: svc.roles.${r}.description == null) (attrNames svc.roles)
            )
            ++ lib.optional (svc.manifest.readme == "") "clan service '${key}': manifest.readme is empty";
          warningsFile = "clan-inventory/clan-services/${key}/warnings";
          assertionsFile = "clan-inventory/clan-services/${key}/assertions";
          call =
            m: mine: slow:
            {
              lib = moduleLib;
              specialArgs = perMachineArgs key m mine;
              inherit (slow) options config;
              _class = null;
              _prefix = noPrefix;
              machine = {
                name = m;
                roles = sortedUnique (map (x: x.role) mine);
              };
              instances = listToAttrs (
                map (i: {
                  name = i;
                  value.roles = rolesArg.${i};
                }) service.machines.${m}
              );
              inherit
                meta
                settings
                exports
                mkExports
                ;
            };
        }
      ) resolved.clanServices;
      perMachineArgs =
        key: m: mine: removeAttrs (serviceContexts.${key}.call m mine null) moduleArgNames;

      perMachine =
        key: m: mine:
        lib.evalModules {
          specialArgs = perMachineArgs key m mine;
          modules = [ (evalOf key).config.perMachine ];
        };

      # The module of service `key` for machine `m` (`cls`: "nixos" or "darwin").
      # `mine`: m's memberships in the service.
      serviceModuleFor =
        cls: key: m: mine:
        let
          e = evalOf key;
          context = serviceContexts.${key};
          pmSlow = perMachine key m mine;
          pmPlan = plans.${key}.perMachine;
          pm = callDirect pmPlan (context.call m mine pmSlow);
          result = resultNames.${cls};
          refusal =
            if e.options.exports.isDefined then
              "exports"
            else if e.options.manifest.exports.isDefined then
              "manifest.exports"
            else if pm == null && pmSlow.options.exports.isDefined then
              "perMachine sets exports"
            else
              null;
          instanceModule =
            x:
            let
              slow = perInstance.${x.instance}.${x.role}.${m};
              role = roleContexts.${x.instance}.${x.role};
              plan = plans.${key}.roles.${x.role};
              pi = callDirect plan (role.call m slow);
            in
            if pi == null && slow.options.exports.isDefined then
              throw (unsupported key "perInstance of role '${x.role}' sets exports")
            else
              {
                _file = "${role.where}.machines.${m}, via clan service '${key}'";
                imports = [
                  {
                    imports = [
                      (if pi == null then slow.config.${result} else moduleOf plan pi result slow)
                    ]
                    ++ role.extraModules;
                  }
                ];
              };
          assertions =
            (serviceOf key).assertions
            ++ concatMap (i: resolved.instances.${i}.assertions) (serviceOf key).machines.${m};
          perMachineModule = {
            _file = "perMachine of clan service '${key}', machine '${m}'";
            imports = [ (if pm == null then pmSlow.config.${result} else moduleOf pmPlan pm result pmSlow) ];
          };
          # The warnings and assertions, then perMachine's module.
          first =
            if cls == "nixos" then
              [
                {
                  _file = context.warningsFile;
                  inherit (context) warnings;
                  inherit assertions;
                }
                perMachineModule
              ]
            else if assertions != [ ] then
              [
                {
                  _file = context.assertionsFile;
                  inherit assertions;
                }
                perMachineModule
              ]
            else
              [ perMachineModule ];
        in
        {
          # The refusals are checked when the module system reads the imports, not when the module
          # list is built: listing a machine's modules evaluates no perMachine.
          imports = if refusal != null then throw (unsupported key refusal) else first ++ map instanceModule mine;
        };

      # m's modules by service key: one per service it takes part in (key order is their order).
      machineModules =
        m: cls: mapAttrs (key: serviceModuleFor cls key m) (builtins.groupBy (x: x.service) (membershipsOf m));
      forMachine = m: cls: builtins.attrValues (machineModules m cls);
    in
    {
      inherit
        forMachine
        machineModules
        settings
        perInstance
        ;
    };
in
{
  inherit serviceModules evaluated withResolution;
}
