# Bad arguments of clanInventory and the exact message each must stop with (docs/semantics.md).
# `<name> = { argument; error; }`; with `select`, the error comes when `select result` is forced
# (for errors that only forcing a lazy output value raises).
# Then accepted arguments and the exact texts of their warnings and failed constraints:
# `<name> = { argument; warnings; assertions; }` (`assertions` as their messages).
# tests/nix/nix_lib.rs checks the table against both implementations; the pure-Nix half alone:
# `scripts/test --test nix -- nix_lib::pure`.
let
  modules = import ./cases/modules.nix;
  machines = {
    jon = { };
    sara = { };
  };
  borg = instance: {
    inherit modules;
    inventory = {
      inherit machines;
      services.borgbackup.instance_1 = instance;
    };
  };
  inMachine = m: { inventory.machines.jon = m; };
  inInstance = i: { inventory.services.b.i = i; };
  inConstraint = c: { modules.x.constraints.roles.a = c; };

  # Clan services: `b` uses the clan's own module `b` (no `clan-core` input, so `self`).
  inClanInstance = i: { inventory.instances.b = i; };
  inServiceModule = m: {
    serviceModules.self.b = m;
    inventory.instances.b = { };
  };
  inServiceConstraints = c: inServiceModule { manifest.constraints = c; };
  backup = {
    roles = {
      client = { };
      server = { };
    };
  };
  clan = instances: {
    serviceModules = {
      self.backup = backup;
      clan-core.admin.roles.default = { };
      community = {
        mesh.roles.peer = { };
      };
      nomodules = null;
    };
    inventory = {
      inherit machines instances;
    };
  };
in
{
  # --- phase 1: the argument and `directory`
  not-attrs = {
    argument = 42;
    error = "clanInventory: expected an attribute set, found an integer";
  };
  not-attrs-function = {
    argument = x: x;
    error = "clanInventory: expected an attribute set, found a function";
  };
  unknown-argument = {
    argument.inventroy = { };
    error = "clanInventory: unknown attribute 'inventroy' (attributes: directory, inventory, modules, serviceModules); did you mean 'inventory'?";
  };
  directory-type = {
    argument.directory = 1;
    error = "directory: expected a path or a string, found an integer";
  };

  # --- phase 1: serviceModules (only the inputs and modules some instance uses)
  service-modules-type = {
    argument.serviceModules = [ ];
    error = "serviceModules: expected an attribute set, found a list";
  };
  service-input-type = {
    argument = {
      serviceModules.self = 1;
      inventory.instances.b = { };
    };
    error = "serviceModules.self: expected an attribute set or null, found an integer";
  };
  service-input-type-explicit = {
    argument = {
      serviceModules = {
        clan-core = "x";
        self = 1;
      };
      inventory.instances.b.module.input = "self";
    };
    error = "serviceModules.self: expected an attribute set or null, found an integer";
  };
  service-input-sorted = {
    argument = {
      serviceModules = {
        zz = 1;
        aa = 2;
      };
      inventory.instances = {
        a.module.input = "zz";
        b.module.input = "aa";
      };
    };
    error = "serviceModules.aa: expected an attribute set or null, found an integer";
  };
  service-module-type = {
    argument = inServiceModule "b";
    error = "serviceModules.self.b: expected an attribute set, found a string";
  };
  service-module-function = {
    argument = inServiceModule ({ ... }: { });
    error = "serviceModules.self.b: expected an attribute set, found a function";
  };
  service-roles-type = {
    argument = inServiceModule { roles = [ "client" ]; };
    error = "serviceModules.self.b.roles: expected an attribute set, found a list";
  };
  service-manifest-type = {
    argument = inServiceModule { manifest = null; };
    error = "serviceModules.self.b.manifest: expected an attribute set, found null";
  };
  service-manifest-before-roles = {
    argument = inServiceModule {
      roles = 1;
      manifest = 2;
    };
    error = "serviceModules.self.b.manifest: expected an attribute set, found an integer";
  };
  service-constraints-type = {
    argument = inServiceConstraints [ ];
    error = "serviceModules.self.b.manifest.constraints: expected an attribute set, found a list";
  };
  service-constraints-unknown = {
    argument = inServiceConstraints { maxInstance = 1; };
    error = "serviceModules.self.b.manifest.constraints: unknown attribute 'maxInstance' (attributes: maxInstances, roles); did you mean 'maxInstances'?";
  };
  service-max-instances-type = {
    argument = inServiceConstraints { maxInstances = "1"; };
    error = "serviceModules.self.b.manifest.constraints.maxInstances: expected an integer or null, found a string";
  };
  service-constraint-roles-type = {
    argument = inServiceConstraints { roles = [ ]; };
    error = "serviceModules.self.b.manifest.constraints.roles: expected an attribute set, found a list";
  };
  service-constraint-role-type = {
    argument = inServiceConstraints { roles.server = 1; };
    error = "serviceModules.self.b.manifest.constraints.roles.server: expected an attribute set, found an integer";
  };
  service-constraint-role-unknown = {
    argument = inServiceConstraints { roles.server.max = 1; };
    error = "serviceModules.self.b.manifest.constraints.roles.server: unknown attribute 'max' (attributes: maxMachines, minMachines)";
  };
  service-min-machines-type = {
    argument = inServiceConstraints { roles.server.minMachines = 1.0; };
    error = "serviceModules.self.b.manifest.constraints.roles.server.minMachines: expected an integer or null, found a float";
  };
  service-max-machines-type = {
    argument = inServiceConstraints { roles.server.maxMachines = true; };
    error = "serviceModules.self.b.manifest.constraints.roles.server.maxMachines: expected an integer or null, found a Boolean";
  };
  service-module-checked-after-inventory = {
    argument = {
      serviceModules.self.b = 1;
      inventory.instances.b.roles = 2;
    };
    error = "inventory.instances.b.roles: expected an attribute set, found an integer";
  };

  # --- phase 1: modules
  modules-type = {
    argument.modules = [ ];
    error = "modules: expected an attribute set, found a list";
  };
  module-type = {
    argument.modules.x = null;
    error = "modules.x: expected an attribute set, found null";
  };
  module-unknown = {
    argument.modules.x.role = { };
    error = "modules.x: unknown attribute 'role' (attributes: constraints, roles); did you mean 'roles'?";
  };
  module-roles-type = {
    argument.modules.x.roles = [ ];
    error = "modules.x.roles: expected an attribute set, found a list";
  };
  constraints-type = {
    argument.modules.x.constraints = true;
    error = "modules.x.constraints: expected an attribute set, found a Boolean";
  };
  constraints-unknown = {
    argument.modules.x.constraints.role = { };
    error = "modules.x.constraints: unknown attribute 'role' (attributes: roles); did you mean 'roles'?";
  };
  constraint-type = {
    argument = inConstraint 1;
    error = "modules.x.constraints.roles.a: expected an attribute set, found an integer";
  };
  constraint-unknown = {
    argument = inConstraint { maximum = 1; };
    error = "modules.x.constraints.roles.a: unknown attribute 'maximum' (attributes: max, min)";
  };
  min-negative = {
    argument = inConstraint { min = -1; };
    error = "modules.x.constraints.roles.a.min: expected a non-negative integer, found -1";
  };
  min-float = {
    argument = inConstraint { min = 1.5; };
    error = "modules.x.constraints.roles.a.min: expected a non-negative integer, found a float";
  };
  min-null = {
    argument = inConstraint { min = null; };
    error = "modules.x.constraints.roles.a.min: expected a non-negative integer, found null";
  };
  max-string = {
    argument = inConstraint { max = "1"; };
    error = "modules.x.constraints.roles.a.max: expected a non-negative integer or null, found a string";
  };
  max-negative = {
    argument = inConstraint { max = -2; };
    error = "modules.x.constraints.roles.a.max: expected a non-negative integer or null, found -2";
  };

  # --- phase 1: inventory, machines
  inventory-type = {
    argument.inventory = "x";
    error = "inventory: expected an attribute set, found a string";
  };
  inventory-unknown = {
    argument.inventory.service = { };
    error = "inventory: unknown attribute 'service' (attributes: instances, machines, meta, services, tags); did you mean 'services'?";
  };
  machines-type = {
    argument.inventory.machines = [ ];
    error = "inventory.machines: expected an attribute set, found a list";
  };
  machine-type = {
    argument = inMachine true;
    error = "inventory.machines.jon: expected an attribute set, found a Boolean";
  };
  machine-unknown = {
    argument = inMachine { tag = [ ]; };
    error = "inventory.machines.jon: unknown attribute 'tag' (attributes: deploy, description, icon, machineClass, name, tags); did you mean 'tags'?";
  };
  machine-tags-type = {
    argument = inMachine { tags = 1; };
    error = "inventory.machines.jon.tags: expected a list of strings, found an integer";
  };
  machine-tag-element = {
    argument = inMachine {
      tags = [
        "a"
        "b"
        3
      ];
    };
    error = "inventory.machines.jon.tags[2]: expected a string, found an integer";
  };
  quoted-name = {
    argument.inventory.machines."web.1".tags = [ ./errors.nix ];
    error = ''inventory.machines."web.1".tags[0]: expected a string, found a path'';
  };
  quoted-escapes = {
    argument.inventory.machines."x\${y}\"z\n\\" = 1;
    error = ''inventory.machines."x\''${y}\"z\n\\": expected an attribute set, found an integer'';
  };
  deploy-type = {
    argument = inMachine { deploy = "root@jon"; };
    error = "inventory.machines.jon.deploy: expected an attribute set, found a string";
  };
  deploy-function = {
    argument = inMachine { deploy = x: x; };
    error = "inventory.machines.jon.deploy: expected an attribute set, found a function";
  };
  deploy-unknown = {
    argument = inMachine { deploy.host = "x"; };
    error = "inventory.machines.jon.deploy: unknown attribute 'host' (attributes: buildHost, targetHost)";
  };
  target-host-type = {
    argument = inMachine { deploy.targetHost = 22; };
    error = "inventory.machines.jon.deploy.targetHost: expected a string or null, found an integer";
  };
  build-host-type = {
    argument = inMachine { deploy.buildHost = [ ]; };
    error = "inventory.machines.jon.deploy.buildHost: expected a string or null, found a list";
  };
  machine-class-value = {
    argument = inMachine { machineClass = "windows"; };
    error = ''inventory.machines.jon.machineClass: expected "nixos" or "darwin", found "windows"'';
  };
  machine-class-type = {
    argument = inMachine { machineClass = null; };
    error = ''inventory.machines.jon.machineClass: expected "nixos" or "darwin", found null'';
  };

  # --- phase 1: global tags
  tags-type = {
    argument.inventory.tags = [ ];
    error = "inventory.tags: expected an attribute set, found a list";
  };
  tag-type = {
    argument.inventory.tags.t = "jon";
    error = "inventory.tags.t: expected a list of strings, found a string";
  };

  # --- phase 1: services
  services-type = {
    argument.inventory.services = null;
    error = "inventory.services: expected an attribute set, found null";
  };
  service-type = {
    argument.inventory.services.b = [ ];
    error = "inventory.services.b: expected an attribute set, found a list";
  };
  instance-type = {
    argument = inInstance 1;
    error = "inventory.services.b.i: expected an attribute set, found an integer";
  };
  instance-unknown = {
    argument = inInstance { role = { }; };
    error = "inventory.services.b.i: unknown attribute 'role' (attributes: config, enabled, extraModules, machines, meta, roles); did you mean 'roles'?";
  };
  enabled-type = {
    argument = inInstance { enabled = "yes"; };
    error = "inventory.services.b.i.enabled: expected a Boolean, found a string";
  };
  extra-modules-type = {
    argument = inInstance { extraModules = ./errors.nix; };
    error = "inventory.services.b.i.extraModules: expected a list, found a path";
  };
  instance-machines-type = {
    argument = inInstance { machines = [ ]; };
    error = "inventory.services.b.i.machines: expected an attribute set, found a list";
  };
  instance-machine-unknown = {
    argument = inInstance { machines.jon.settings = { }; };
    error = "inventory.services.b.i.machines.jon: unknown attribute 'settings' (attributes: config, extraModules)";
  };
  instance-machine-extra-modules = {
    argument = inInstance { machines.jon.extraModules = { }; };
    error = "inventory.services.b.i.machines.jon.extraModules: expected a list, found an attribute set";
  };
  roles-type = {
    argument = inInstance { roles = [ ]; };
    error = "inventory.services.b.i.roles: expected an attribute set, found a list";
  };
  role-type = {
    argument = inInstance { roles.client = "jon"; };
    error = "inventory.services.b.i.roles.client: expected an attribute set, found a string";
  };
  role-unknown = {
    argument = inInstance { roles.client.machine = [ ]; };
    error = "inventory.services.b.i.roles.client: unknown attribute 'machine' (attributes: config, extraModules, machines, tags); did you mean 'machines'?";
  };
  role-machines-type = {
    argument = inInstance { roles.client.machines = "jon"; };
    error = "inventory.services.b.i.roles.client.machines: expected a list of strings, found a string";
  };
  role-tag-element = {
    argument = inInstance {
      roles.client.tags = [
        "a"
        null
      ];
    };
    error = "inventory.services.b.i.roles.client.tags[1]: expected a string, found null";
  };
  role-extra-modules-type = {
    argument = inInstance { roles.client.extraModules = "x.nix"; };
    error = "inventory.services.b.i.roles.client.extraModules: expected a list, found a string";
  };

  # --- phase 1: clan service instances
  instances-type = {
    argument.inventory.instances = [ ];
    error = "inventory.instances: expected an attribute set, found a list";
  };
  clan-instance-type = {
    argument = inClanInstance "b";
    error = "inventory.instances.b: expected an attribute set, found a string";
  };
  clan-instance-unknown = {
    argument = inClanInstance { role = { }; };
    error = "inventory.instances.b: unknown attribute 'role' (attributes: module, roles); did you mean 'roles'?";
  };
  clan-instance-services-attribute = {
    argument = inClanInstance { machines = { }; };
    error = "inventory.instances.b: unknown attribute 'machines' (attributes: module, roles)";
  };
  clan-module-type = {
    argument = inClanInstance { module = "borg"; };
    error = "inventory.instances.b.module: expected an attribute set, found a string";
  };
  clan-module-unknown = {
    argument = inClanInstance { module.inputs = "x"; };
    error = "inventory.instances.b.module: unknown attribute 'inputs' (attributes: input, name); did you mean 'input'?";
  };
  clan-module-name-type = {
    argument = inClanInstance { module.name = null; };
    error = "inventory.instances.b.module.name: expected a string, found null";
  };
  clan-module-input-type = {
    argument = inClanInstance { module.input = ./errors.nix; };
    error = "inventory.instances.b.module.input: expected a string or null, found a path";
  };
  clan-roles-type = {
    argument = inClanInstance { roles = [ ]; };
    error = "inventory.instances.b.roles: expected an attribute set, found a list";
  };
  clan-role-type = {
    argument = inClanInstance { roles.client = [ ]; };
    error = "inventory.instances.b.roles.client: expected an attribute set, found a list";
  };
  clan-role-unknown = {
    argument = inClanInstance { roles.client.setting = { }; };
    error = "inventory.instances.b.roles.client: unknown attribute 'setting' (attributes: extraModules, machines, settings, tags); did you mean 'settings'?";
  };
  clan-role-config = {
    argument = inClanInstance { roles.client.config = { }; };
    error = "inventory.instances.b.roles.client: unknown attribute 'config' (attributes: extraModules, machines, settings, tags)";
  };
  clan-role-machines-list = {
    argument = inClanInstance { roles.client.machines = [ "jon" ]; };
    error = "inventory.instances.b.roles.client.machines: expected an attribute set, found a list";
  };
  clan-role-machine-type = {
    argument = inClanInstance { roles.client.machines.jon = true; };
    error = "inventory.instances.b.roles.client.machines.jon: expected an attribute set, found a Boolean";
  };
  clan-role-machine-unknown = {
    argument = inClanInstance { roles.client.machines.jon.setings = { }; };
    error = "inventory.instances.b.roles.client.machines.jon: unknown attribute 'setings' (attributes: settings); did you mean 'settings'?";
  };
  clan-role-tags-type = {
    argument = inClanInstance { roles.client.tags = "backup"; };
    error = "inventory.instances.b.roles.client.tags: expected a list of strings or an attribute set, found a string";
  };
  clan-role-tag-element = {
    argument = inClanInstance {
      roles.client.tags = [
        "backup"
        1
      ];
    };
    error = "inventory.instances.b.roles.client.tags[1]: expected a string, found an integer";
  };
  clan-role-tag-type = {
    argument = inClanInstance { roles.client.tags.backup = [ ]; };
    error = "inventory.instances.b.roles.client.tags.backup: expected an attribute set, found a list";
  };
  clan-role-tag-unknown = {
    argument = inClanInstance { roles.client.tags.backup.machines = [ ]; };
    error = "inventory.instances.b.roles.client.tags.backup: unknown attribute 'machines' (attributes: settings)";
  };
  clan-role-extra-modules-type = {
    argument = inClanInstance { roles.client.extraModules = { }; };
    error = "inventory.instances.b.roles.client.extraModules: expected a list, found an attribute set";
  };
  clan-quoted-names = {
    argument.inventory.instances = {
      b.roles."cli ent".machines."web.1".settings = { };
      "b.2".roles = 1;
    };
    error = ''inventory.instances."b.2".roles: expected an attribute set, found an integer'';
  };

  # --- phase 1: walk order
  order-attributes-sorted = {
    argument = {
      modules = 1;
      inventory = 2;
    };
    error = "inventory: expected an attribute set, found an integer";
  };
  order-machines-sorted = {
    argument.inventory.machines = {
      b = 1;
      a.tags = 2;
    };
    error = "inventory.machines.a.tags: expected a list of strings, found an integer";
  };
  order-value-before-later-name = {
    argument = inMachine {
      deploy = 1;
      zzz = 1;
    };
    error = "inventory.machines.jon.deploy: expected an attribute set, found an integer";
  };
  order-name-before-later-value = {
    argument = inMachine {
      aaa = 1;
      tags = 1;
    };
    error = "inventory.machines.jon: unknown attribute 'aaa' (attributes: deploy, description, icon, machineClass, name, tags)";
  };
  order-phase-1-before-phase-2 = {
    argument = {
      inventory.services.fantasy.i = { };
      modules.x.constraints.roles.a.min = -1;
    };
    error = "modules.x.constraints.roles.a.min: expected a non-negative integer, found -1";
  };

  # --- phase 2
  no-module = {
    argument = {
      inherit modules;
      inventory.services.fantasy.i = { };
    };
    error = "inventory.services.fantasy: no module named 'fantasy' (modules: borgbackup, zerotier)";
  };
  no-module-suggestion = {
    argument = {
      inherit modules;
      inventory.services.zerotir.i = { };
    };
    error = "inventory.services.zerotir: no module named 'zerotir' (modules: borgbackup, zerotier); did you mean 'zerotier'?";
  };
  no-modules-at-all = {
    argument.inventory.services.x = { };
    error = "inventory.services.x: no module named 'x' (modules: none)";
  };
  reserved-service = {
    argument = {
      modules.inventory.roles = { };
      inventory.services.inventory = { };
    };
    error = "inventory.services.inventory: the service name 'inventory' is reserved (it would clash with clan.inventory)";
  };
  instance-machine-undefined = {
    argument = borg { machines.jonn = { }; };
    error = "inventory.services.borgbackup.instance_1.machines: machine 'jonn' is not defined in inventory.machines; did you mean 'jon'?";
  };
  role-undefined = {
    argument = borg { roles.clinet = { }; };
    error = "inventory.services.borgbackup.instance_1.roles: role 'clinet' is not defined by module 'borgbackup' (roles: client, server); did you mean 'client'?";
  };
  role-undefined-no-roles = {
    argument = {
      modules.x = { };
      inventory.services.x.i.roles.a = { };
    };
    error = "inventory.services.x.i.roles: role 'a' is not defined by module 'x' (roles: none)";
  };
  role-machine-undefined = {
    argument = borg { roles.client.machines = [ "jonn" ]; };
    error = "inventory.services.borgbackup.instance_1.roles.client.machines: machine 'jonn' is not defined in inventory.machines; did you mean 'jon'?";
  };
  role-machine-undefined-far = {
    argument = borg { roles.client.machines = [ "jonathan" ]; };
    error = "inventory.services.borgbackup.instance_1.roles.client.machines: machine 'jonathan' is not defined in inventory.machines";
  };
  role-machine-tie = {
    argument = {
      inherit modules;
      inventory.machines = {
        ac = { };
        aa = { };
      };
      inventory.services.borgbackup.i.roles.server.machines = [ "ab" ];
    };
    error = "inventory.services.borgbackup.i.roles.server.machines: machine 'ab' is not defined in inventory.machines; did you mean 'aa'?";
  };
  disabled-still-validated = {
    argument = borg {
      enabled = false;
      roles.server.machines = [ "nobody" ];
    };
    error = "inventory.services.borgbackup.instance_1.roles.server.machines: machine 'nobody' is not defined in inventory.machines";
  };
  global-tag-machine-undefined = {
    argument.inventory = {
      inherit machines;
      tags.backup = [
        "jon"
        "sarah"
      ];
    };
    error = "inventory.tags.backup: machine 'sarah' is not defined in inventory.machines; did you mean 'sara'?";
  };
  constraint-role-undefined = {
    argument.modules = modules // {
      borgbackup = modules.borgbackup // {
        constraints.roles.sever.max = 1;
      };
    };
    error = "modules.borgbackup.constraints.roles: role 'sever' is not defined by module 'borgbackup' (roles: client, server); did you mean 'server'?";
  };
  min-above-max = {
    argument.modules.borgbackup = modules.borgbackup // {
      constraints.roles.server = {
        min = 3;
        max = 1;
      };
    };
    error = "modules.borgbackup.constraints.roles.server: min (3) is greater than max (1)";
  };
  order-phase-2 = {
    argument = {
      modules = modules // {
        borgbackup = modules.borgbackup // {
          constraints.roles.nope = { };
        };
      };
      inventory = {
        inherit machines;
        tags.t = [ "nobody" ];
        services.borgbackup.i = {
          roles.clinet = { };
          machines.zz = { };
        };
      };
    };
    error = "inventory.services.borgbackup.i.machines: machine 'zz' is not defined in inventory.machines";
  };
  order-phase-2-tags-before-modules = {
    argument = {
      modules = modules // {
        borgbackup = modules.borgbackup // {
          constraints.roles.nope = { };
        };
      };
      inventory = {
        inherit machines;
        tags.t = [ "nobody" ];
      };
    };
    error = "inventory.tags.t: machine 'nobody' is not defined in inventory.machines";
  };

  # --- phase 2: clan service instances
  clan-no-input = {
    argument = clan { i.module.input = "comunity"; };
    error = "inventory.instances.i.module.input: no flake input 'comunity' (inputs: clan-core, community, nomodules, self); did you mean 'community'?";
  };
  clan-no-input-self = {
    argument.inventory.instances.i = { };
    error = "inventory.instances.i.module.input: no flake input 'self' (inputs: none)";
  };
  clan-no-input-clan-core = {
    argument = {
      serviceModules.self.admin = { };
      inventory.instances.i.module = {
        input = "clan-core";
        name = "admin";
      };
    };
    error = "inventory.instances.i.module.input: no flake input 'clan-core' (inputs: self)";
  };
  clan-input-without-modules = {
    argument = clan { i.module.input = "nomodules"; };
    error = "inventory.instances.i.module.input: flake input 'nomodules' has no clan.modules (clan service modules are published as clan.modules.<name>)";
  };
  clan-no-service-module-self = {
    argument = clan {
      i.module = {
        input = "self";
        name = "backpu";
      };
    };
    error = "inventory.instances.i.module.name: no clan service module 'backpu' in the clan's own modules (modules: backup); did you mean 'backup'?";
  };
  clan-no-service-module-by-instance-name = {
    argument = {
      serviceModules.self = { };
      inventory.instances.backup = { };
    };
    error = "inventory.instances.backup.module.name: no clan service module 'backup' in the clan's own modules (modules: none)";
  };
  clan-no-service-module-input = {
    argument = clan {
      i.module = {
        input = "community";
        name = "backup";
      };
    };
    error = "inventory.instances.i.module.name: no clan service module 'backup' in flake input 'community' (modules: mesh)";
  };
  clan-no-service-module-clan-core-by-default = {
    argument = clan { i.module.name = "backup"; };
    error = "inventory.instances.i.module.name: no clan service module 'backup' in flake input 'clan-core' (modules: admin)";
  };
  clan-role-undefined = {
    argument = clan {
      i.module = {
        input = "self";
        name = "backup";
      };
      i.roles.clinet = { };
    };
    error = "inventory.instances.i.roles: role 'clinet' is not defined by clan service module 'self/backup' (roles: client, server); did you mean 'client'?";
  };
  clan-role-undefined-clan-core = {
    argument = clan { admin.roles.peer = { }; };
    error = "inventory.instances.admin.roles: role 'peer' is not defined by clan service module '<clan-core>/admin' (roles: default)";
  };
  clan-role-undefined-no-roles = {
    argument = {
      serviceModules.self.x = { };
      inventory.instances.x.roles.a = { };
    };
    error = "inventory.instances.x.roles: role 'a' is not defined by clan service module 'self/x' (roles: none)";
  };
  clan-role-machine-undefined = {
    argument = clan { admin.roles.default.machines.jonn.settings = throw "not forced"; };
    error = "inventory.instances.admin.roles.default.machines: machine 'jonn' is not defined in inventory.machines; did you mean 'jon'?";
  };
  clan-role-machines-sorted = {
    argument = clan {
      admin.roles.default.machines = {
        zed = { };
        jon = { };
        bob = { };
      };
    };
    error = "inventory.instances.admin.roles.default.machines: machine 'bob' is not defined in inventory.machines";
  };
  clan-order-role-then-its-members = {
    argument = {
      serviceModules.self.x.roles = {
        a = { };
        c = { };
      };
      inventory = {
        inherit machines;
        instances.x.roles = {
          a.machines.nobody = { };
          b = { };
        };
      };
    };
    error = "inventory.instances.x.roles.a.machines: machine 'nobody' is not defined in inventory.machines";
  };
  clan-order-unresolved-module-hides-roles = {
    argument = clan {
      i.roles.nope.machines.nobody = { };
      j.roles.nope = { };
    };
    error = "inventory.instances.i.module.name: no clan service module 'i' in flake input 'clan-core' (modules: admin)";
  };
  clan-order-instances-sorted = {
    argument = clan {
      z.module.input = "nowhere";
      a.module.input = "nomodules";
    };
    error = "inventory.instances.a.module.input: flake input 'nomodules' has no clan.modules (clan service modules are published as clan.modules.<name>)";
  };
  clan-order-services-before-instances = {
    argument = clan { i.module.input = "nowhere"; } // {
      inherit modules;
      inventory = {
        inherit machines;
        instances.i.module.input = "nowhere";
        services.borgbackup.i.roles.clinet = { };
      };
    };
    error = "inventory.services.borgbackup.i.roles: role 'clinet' is not defined by module 'borgbackup' (roles: client, server); did you mean 'client'?";
  };
  clan-order-instances-before-tags = {
    argument = clan { i.module.input = "nowhere"; } // {
      inventory = {
        inherit machines;
        instances.i.module.input = "nowhere";
        tags.t = [ "nobody" ];
      };
    };
    error = "inventory.instances.i.module.input: no flake input 'nowhere' (inputs: clan-core, community, nomodules, self)";
  };
  clan-order-phase-1-service-module-before-phase-2 = {
    argument = {
      serviceModules.self.b.roles = [ ];
      inventory.instances = {
        a.module.input = "nowhere";
        b = { };
      };
    };
    error = "serviceModules.self.b.roles: expected an attribute set, found a list";
  };

  # --- errors raised by forcing one output value
  string-module-without-directory = {
    argument = borg {
      roles.client = {
        machines = [ "jon" ];
        extraModules = [
          ./errors.nix
          "x.nix"
        ];
      };
      roles.server.machines = [ "sara" ];
    };
    select = r: builtins.elemAt r.machines.jon.modules 2;
    error = "inventory.services.borgbackup.instance_1.roles.client.extraModules[1]: the string module 'x.nix' needs 'directory' to be set";
  };
  clan-string-module-without-directory = {
    argument = clan {
      admin.roles.default = {
        machines.jon = { };
        extraModules = [
          ./errors.nix
          "x.nix"
        ];
      };
    };
    select = r: builtins.elemAt r.instances.admin.roles.default.extraModules 1;
    error = "inventory.instances.admin.roles.default.extraModules[1]: the string module 'x.nix' needs 'directory' to be set";
  };

  # --- warnings (accepted; one per role and distinct tag no machine carries, disabled instances too)
  warning-unmatched-tag = {
    argument = {
      inherit modules;
      inventory = {
        machines.jon.tags = [ "backup" ];
        machines.sara = { };
        services.borgbackup.i = {
          roles.client.tags = [
            "bakup"
            "fantasy"
            "bakup"
          ];
          roles.server.machines = [ "sara" ];
        };
        services.borgbackup.off = {
          enabled = false;
          roles.server.tags = [ "nixxos" ];
        };
      };
    };
    warnings = [
      "inventory.services.borgbackup.i.roles.client.tags: tag 'bakup' matches no machine; did you mean 'backup'?"
      "inventory.services.borgbackup.i.roles.client.tags: tag 'fantasy' matches no machine"
      "inventory.services.borgbackup.off.roles.server.tags: tag 'nixxos' matches no machine; did you mean 'nixos'?"
    ];
    assertions = [ ];
  };
  warning-unmatched-tag-quoted-path = {
    argument = {
      inventory = {
        inherit machines;
        services.borgbackup."web.1".roles = {
          server.machines = [ "jon" ];
          "cli ent".tags = [ "x" ];
        };
      };
      modules = modules // {
        borgbackup = modules.borgbackup // {
          roles = modules.borgbackup.roles // {
            "cli ent" = { };
          };
        };
      };
    };
    warnings = [
      "inventory.services.borgbackup.\"web.1\".roles.\"cli ent\".tags: tag 'x' matches no machine"
    ];
    assertions = [ ];
  };

  # A `machines.<m>` entry of a machine in no role of the instance (spec § 3.3: it does nothing);
  # walk order puts an instance's `machines` before its `roles`.
  warning-ignored-machine-entry = {
    argument = {
      inherit modules;
      inventory = {
        machines.jon.tags = [ "backup" ];
        machines.sara = { };
        services.borgbackup.i = {
          machines.jon.config = { };
          machines.sara.extraModules = [ ];
          roles.client.tags = [
            "backup"
            "nope"
          ];
          roles.server.machines = [ "jon" ];
        };
      };
    };
    warnings = [
      "inventory.services.borgbackup.i.machines.sara: machine 'sara' is in no role of the instance, so this entry is ignored"
      "inventory.services.borgbackup.i.roles.client.tags: tag 'nope' matches no machine"
    ];
    assertions = [ ];
  };

  # Clan service instances: one warning per role and distinct tag no machine carries, after those
  # of services; instances and roles sorted, tags in list order or sorted names.
  clan-warning-unmatched-tag = {
    argument = {
      inherit modules;
      serviceModules.self.backup = backup;
      inventory = {
        machines.jon.tags = [ "laptop" ];
        machines.sara = { };
        services.borgbackup.i.roles = {
          client.tags = [ "fantasy" ];
          server.machines = [ "sara" ];
        };
        instances = {
          zz = {
            module.name = "backup";
            roles.server.tags = [ "nixxos" ];
          };
          backup.roles = {
            server.tags.lapotp.settings = { };
            client.tags = [
              "laptp"
              "nope"
              "laptop"
              "laptp"
            ];
          };
        };
      };
    };
    warnings = [
      "inventory.services.borgbackup.i.roles.client.tags: tag 'fantasy' matches no machine"
      "inventory.instances.backup.roles.client.tags: tag 'laptp' matches no machine; did you mean 'laptop'?"
      "inventory.instances.backup.roles.client.tags: tag 'nope' matches no machine"
      "inventory.instances.backup.roles.server.tags: tag 'lapotp' matches no machine; did you mean 'laptop'?"
      "inventory.instances.zz.roles.server.tags: tag 'nixxos' matches no machine; did you mean 'nixos'?"
    ];
    assertions = [ ];
  };
  clan-warning-quoted-path = {
    argument = {
      serviceModules.self.x.roles."a b" = { };
      inventory = {
        inherit machines;
        instances."x.1" = {
          module.name = "x";
          roles."a b".tags.darwn = { };
        };
      };
    };
    warnings = [
      "inventory.instances.\"x.1\".roles.\"a b\".tags: tag 'darwn' matches no machine"
    ];
    assertions = [ ];
  };

  # Nothing unused of serviceModules is forced, nor any settings or extraModules entry, nor the
  # roles' values or the rest of a used module.
  clan-lazy = {
    argument = {
      serviceModules = {
        self = {
          backup = {
            roles = {
              client = throw "role forced";
              server = throw "role forced";
            };
            manifest = {
              readme = throw "readme forced";
              constraints.roles.server.minMachines = 0;
            };
            perMachine = throw "perMachine forced";
          };
          unused = throw "unused module forced";
        };
        other = throw "unused input forced";
      };
      inventory = {
        inherit machines;
        instances.backup.roles.client = {
          settings = throw "settings forced";
          machines.jon.settings = throw "settings forced";
          tags.all.settings = throw "settings forced";
          extraModules = [ (throw "extra module forced") ];
        };
      };
    };
    warnings = [ ];
    assertions = [ ];
  };

  # --- failed constraints (assertion messages; enabled instances only, `min` then `max`)
  assertion-too-few = {
    argument = borg { roles.client.machines = [ "jon" ]; };
    warnings = [ ];
    assertions = [ "borgbackup.instance_1: role 'server' needs at least 1 machines, has 0: none" ];
  };
  assertion-too-many-and-too-few = {
    argument = {
      modules = modules // {
        zerotier = modules.zerotier // {
          constraints.roles = modules.zerotier.constraints.roles // {
            peer.min = 3;
          };
        };
      };
      inventory = {
        inherit machines;
        services.zerotier.z.roles = {
          controller.machines = [
            "sara"
            "jon"
          ];
          peer.machines = [ "jon" ];
        };
        services.zerotier.off = {
          enabled = false;
          roles.controller.machines = [
            "jon"
            "sara"
          ];
        };
      };
    };
    warnings = [ ];
    assertions = [
      "zerotier.z: role 'controller' allows at most 1 machines, has 2: sara, jon"
      "zerotier.z: role 'peer' needs at least 3 machines, has 1: jon"
    ];
  };

  # Clan services: per instance (sorted), each role of the module (sorted) with a constraint,
  # `minMachines` then `maxMachines`; then per service (sorted) `maxInstances`. Those of services
  # come first. A role the instance does not define has no members; null bounds check nothing.
  clan-assertions = {
    argument = {
      inherit modules;
      serviceModules = {
        self.mesh = {
          roles = {
            controller = { };
            peer = { };
            relay = { };
            unconstrained = { };
          };
          manifest.constraints = {
            maxInstances = 1;
            roles = {
              peer = {
                minMachines = 3;
                maxMachines = 1;
              };
              controller.maxMachines = 1;
              relay = {
                minMachines = null;
                maxMachines = null;
              };
              nosuchrole.minMachines = 1;
            };
          };
        };
        self.backup = backup // {
          manifest.constraints = {
            maxInstances = 2;
            roles.server.minMachines = 1;
          };
        };
        self.solo = {
          roles.x = { };
          manifest.constraints.maxInstances = null;
        };
      };
      inventory = {
        inherit machines;
        services.borgbackup.i.roles.client.machines = [ "jon" ];
        instances = {
          mesh-b = {
            module.name = "mesh";
            roles.peer.machines.jon = { };
          };
          mesh-a = {
            module.name = "mesh";
            roles.controller.tags = [ "all" ];
            roles.peer.tags.all = { };
            roles.relay.tags = [ "all" ];
          };
          backup.roles.server.machines.sara = { };
          solo = { };
          solo-2.module.name = "solo";
        };
      };
    };
    warnings = [ ];
    assertions = [
      "borgbackup.i: role 'server' needs at least 1 machines, has 0: none"
      "inventory.instances.mesh-a: role 'controller' allows at most 1 machines, has 2: jon, sara"
      "inventory.instances.mesh-a: role 'peer' needs at least 3 machines, has 2: jon, sara"
      "inventory.instances.mesh-a: role 'peer' allows at most 1 machines, has 2: jon, sara"
      "inventory.instances.mesh-b: role 'peer' needs at least 3 machines, has 1: jon"
      "clan service 'self/mesh' allows at most 1 instances, has 2: mesh-a, mesh-b"
    ];
  };
}
