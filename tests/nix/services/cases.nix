# Small clans, one behaviour each (tests/nix/services.rs). Each attribute is a buildClan result.
{
  lib,
  buildClan,
}:
let
  standIn = import ./stand-in.nix { inherit lib; };
  # A service with one role `server` whose settings are { port (int), l (list) }, recording them.
  portService = extra: {
    _class = "clan.service";
    manifest = {
      name = "port";
      readme = "Ports.";
    }
    // (extra.manifest or { });
    roles.server = {
      description = "Serves.";
      interface = {
        options.port = lib.mkOption { type = lib.types.int; };
        options.l = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ ];
        };
      };
      perInstance = extra.perInstance or (
        { instanceName, settings, ... }:
        {
          nixosModule.record.${instanceName} = { inherit (settings) port l; };
        }
      );
    };
  }
  // removeAttrs extra [
    "manifest"
    "perInstance"
  ];
  clan =
    {
      instances,
      service ? portService { },
      machines ? {
        jon = { };
        sara = { };
      },
      inputs ? { },
    }:
    buildClan {
      directory = ./clan;
      nixpkgs = { inherit lib; };
      inherit (standIn) nixosSystem darwinSystem;
      inherit inputs;
      modules.port = service;
      inventory = {
        inherit machines;
        # Every instance is of `port` unless it says otherwise.
        instances = builtins.mapAttrs (_: i: { module.name = "port"; } // i) instances;
      };
    };
in
{
  # A scalar set at role and machine level.
  conflict = clan {
    instances.p.roles.server = {
      settings.port = 1;
      machines.jon.settings.port = 2;
      machines.sara = { };
    };
  };
  # A scalar set at role and tag level: jon and sara have the same definitions and share one
  # evaluation, whose messages name the role's path.
  tagConflict = clan {
    machines = {
      jon.tags = [ "t" ];
      sara.tags = [ "t" ];
    };
    instances.p.roles.server = {
      settings.port = 1;
      tags.t.settings.port = 2;
    };
  };
  # Priorities decide: mkDefault at the role, mkForce at a tag.
  priorities = clan {
    machines = {
      jon.tags = [ "t" ];
      sara = { };
    };
    instances.p.roles.server = {
      settings.port = lib.mkDefault 1;
      machines.jon.settings.port = 2;
      machines.sara.settings.port = 2;
      tags.t.settings.port = lib.mkForce 3;
    };
  };
  # One machine's settings throw: only that machine breaks.
  throwing = clan {
    instances.p.roles.server = {
      settings.port = 1;
      machines.jon.settings = throw "the settings of jon were evaluated";
      machines.sara = { };
    };
  };
  # module.input null with a clan-core input: the module comes from clan-core.
  clanCore = clan {
    inputs.clan-core.clan.modules.port = portService {
      perInstance =
        { instanceName, ... }:
        {
          nixosModule.record.${instanceName} = "from clan-core";
        };
    };
    instances.p.roles.server.machines.jon.settings.port = 1;
    instances.own = {
      module = {
        name = "port";
        input = "self";
      };
      roles.server.machines.jon.settings.port = 2;
    };
  };
  # No manifest.readme: a warning on every member.
  noReadme = clan {
    service = portService { manifest.readme = ""; };
    instances.p.roles.server.machines.jon.settings.port = 1;
  };
  # manifest.constraints broken: assertions on the members.
  constraints = clan {
    service = portService {
      manifest.constraints = {
        maxInstances = 1;
        roles.server.maxMachines = 1;
      };
    };
    instances.p.roles.server.machines = {
      jon.settings.port = 1;
      sara.settings.port = 1;
    };
    instances.q.roles.server.machines.jon.settings.port = 2;
  };
  # What clan-inventory does not support yet: each an error that says so.
  exportsOption = clan {
    service = portService { exports = { }; };
    instances.p.roles.server.machines.jon.settings.port = 1;
  };
  manifestExports = clan {
    service = portService { manifest.exports.out = [ "peer" ]; };
    instances.p.roles.server.machines.jon.settings.port = 1;
  };
  perInstanceExports = clan {
    service = portService {
      perInstance = _: { exports.x = { }; };
    };
    instances.p.roles.server.machines.jon.settings.port = 1;
  };
  mkExports = clan {
    service = portService {
      perInstance =
        { mkExports, ... }:
        {
          nixosModule.record.x = mkExports { };
        };
    };
    instances.p.roles.server.machines.jon.settings.port = 1;
  };
  exportsArgument = clan {
    service = portService {
      perInstance =
        { exports, ... }:
        {
          nixosModule.record.x = exports;
        };
    };
    instances.p.roles.server.machines.jon.settings.port = 1;
  };
  perMachineSettings = clan {
    service = portService {
      perMachine =
        { settings, ... }:
        {
          nixosModule.record.x = settings;
        };
    };
    instances.p.roles.server.machines.jon.settings.port = 1;
  };
  # A module of clan-core's kind, taking clanLib: without a clan-core input using it is an error,
  # with one it is that input's clanLib.
  clanLibMissing = clan {
    service =
      { clanLib, ... }:
      portService {
        perInstance = _: { nixosModule.record.clanLib = clanLib.description; };
      };
    instances.p.roles.server.machines.jon.settings.port = 1;
  };
  clanLibGiven = clan {
    inputs.clan-core = {
      clanLib.description = "from clanLib";
      clan.modules = { };
    };
    service =
      { clanLib, ... }:
      portService {
        perInstance = _: { nixosModule.record.clanLib = clanLib.description; };
      };
    instances.p = {
      module = {
        name = "port";
        input = "self";
      };
      roles.server.machines.jon.settings.port = 1;
    };
  };
  # The deprecated role settings of the `roles` argument: they work, with a warning.
  roleSettings = clan {
    service = portService {
      perInstance =
        { roles, ... }:
        {
          nixosModule.record.roleSettings = { inherit (roles.server.settings) port l; };
        };
    };
    instances.p.roles.server = {
      settings.port = 7;
      settings.l = [ "role" ];
      machines.jon.settings.l = [ "machine" ];
    };
  };
}
