# One clan whose perInstance and perMachine results are built by a direct call
# (nix/clan-services.nix, `direct`) where that applies: `slow = false` gives the service as written,
# `slow = true` the same service with each perInstance and perMachine function wrapped in a functor
# (the same function to the module system, which the direct call never takes), so every one of
# them goes through lib.evalModules. tests/nix/services.rs compares the two.
{
  lib,
  buildClan,
  slow ? false,
}:
let
  standIn = import ./stand-in.nix { inherit lib; };
  wrap =
    f:
    if slow then
      {
        __functor = _: f;
        __functionArgs = lib.functionArgs f;
      }
    else
      f;
  interface = {
    options.port = lib.mkOption { type = lib.types.int; };
    options.l = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
    };
  };
in
buildClan {
  directory = ./clan;
  nixpkgs = { inherit lib; };
  inherit (standIn) nixosSystem darwinSystem;
  modules.shapes = {
    _class = "clan.service";
    manifest.name = "shapes";
    manifest.readme = "Every shape of perInstance.";
    # A function of named arguments: the direct call.
    roles.fn = {
      description = "Named arguments.";
      inherit interface;
      perInstance = wrap (
        {
          instanceName,
          settings,
          machine,
          roles,
          extendSettings,
          ...
        }:
        {
          nixosModule = {
            seen = [ "fn ${instanceName} ${toString settings.port} ${lib.concatStringsSep "," settings.l}" ];
            record."fn/${instanceName}" = {
              inherit (machine) name roles;
              members = builtins.attrNames roles.fn.machines;
              extended = (extendSettings { l = [ "more" ]; }).l;
            };
          };
          darwinModule.seen = [ "darwin fn ${instanceName}" ];
        }
      );
    };
    # `args@`: reads `lib` and `config` from the whole argument set (config from the evaluation).
    roles.whole = {
      description = "The whole argument set.";
      inherit interface;
      perInstance = wrap (
        args@{ settings, ... }:
        {
          nixosModule =
            { config, ... }:
            {
              seen = [ "whole ${args.lib.toUpper args.instanceName} ${builtins.typeOf args.config}" ];
              extra = [ "host ${config.networking.hostName}" ];
            };
        }
      );
    };
    # A plain attribute set, and a nixosModule that is a path.
    roles.set = {
      description = "An attribute set.";
      perInstance = {
        nixosModule = ./extra-path.nix;
      };
    };
    # Asks for `config`: always evaluated.
    roles.config = {
      description = "Reads config.";
      perInstance = wrap (
        { config, instanceName, ... }:
        {
          nixosModule.seen = [ "config ${instanceName} ${builtins.typeOf config.nixosModule}" ];
        }
      );
    };
    # Has imports and a mkIf: always evaluated.
    roles.imports = {
      description = "Imports.";
      perInstance = {
        imports = [ { nixosModule.seen = [ "imported" ]; } ];
        nixosModule = lib.mkIf true { seen = [ "mkIf" ]; };
      };
    };
    perMachine = wrap (
      { machine, instances, ... }:
      {
        nixosModule.seen = [ "perMachine ${lib.concatStringsSep "," machine.roles} ${toString (builtins.attrNames instances)}" ];
      }
    );
  };
  inventory = {
    machines = {
      jon.tags = [ "t" ];
      sara.tags = [ "t" ];
      mac = {
        machineClass = "darwin";
        tags = [ "t" ];
      };
    };
    instances.a = {
      module.name = "shapes";
      roles.fn = {
        settings.port = 1;
        tags.t.settings.l = [ "tag" ];
        machines.jon.settings.l = [ "jon" ];
      };
      roles.whole.tags = [ "t" ];
      roles.whole.settings.port = 2;
      roles.set.machines.jon = { };
      roles.config.machines.sara = { };
      roles.imports.machines.jon = { };
    };
    instances.b = {
      module.name = "shapes";
      roles.fn.machines.sara.settings.port = 3;
      roles.fn.machines.jon.settings.port = 4;
    };
  };
}
