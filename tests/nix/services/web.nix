# A clan.service module that records every argument it is given in the machine's configuration:
# `record."<instance>/<role>"` (perInstance) and `record."perMachine"`, and `seen` (a list option,
# to compare the order of definitions).
{ lib, meta, ... }:
let
  inherit (lib) mkOption types;
  # A settings value without the module system's own `_module`, which holds functions.
  plain = s: removeAttrs s [ "_module" ];
  listOption = mkOption {
    type = types.listOf types.str;
    default = [ ];
  };
  perInstance =
    role:
    {
      instanceName,
      settings,
      machine,
      roles,
      meta,
      extendSettings,
      ...
    }:
    let
      record = {
        inherit instanceName machine;
        settings = plain settings;
        roles = lib.mapAttrs (_: r: lib.attrNames r.machines) roles;
        # Another member's settings, as perInstance sees them.
        peerSettings = lib.mapAttrs (_: r: lib.mapAttrs (_: m: plain m.settings) r.machines) roles;
        meta = meta.name;
        # The server's settings extended by a module of perInstance's own.
        extended = if role == "server" then (extendSettings { port = lib.mkForce 1; }).port else null;
      };
    in
    {
      nixosModule = {
        record."${instanceName}/${role}" = record;
        seen = [ "nixos ${instanceName}/${role}" ];
      };
      darwinModule = {
        record."${instanceName}/${role}" = record;
        seen = [ "darwin ${instanceName}/${role}" ];
      };
    };
in
{
  _class = "clan.service";
  manifest.name = "web";
  manifest.readme = "Serves ${meta.name}.";
  roles.server = {
    description = "Serves the web.";
    interface = {
      options.port = mkOption {
        type = types.int;
        default = 80;
      };
      options.name = mkOption {
        type = types.str;
        default = "unnamed";
      };
      options.l = listOption;
    };
    perInstance = perInstance "server";
  };
  # No description: a warning on every member.
  roles.client = {
    interface.options.l = listOption;
    perInstance = perInstance "client";
  };
  perMachine =
    { machine, instances, ... }:
    let
      record = {
        inherit machine;
        instances = lib.mapAttrs (
          _: i: lib.mapAttrs (_: r: lib.mapAttrs (_: m: plain m.settings) r.machines) i.roles
        ) instances;
      };
    in
    {
      nixosModule = {
        record.perMachine = record;
        seen = [ "nixos perMachine" ];
      };
      darwinModule = {
        record.perMachine = record;
        seen = [ "darwin perMachine" ];
      };
    };
}
