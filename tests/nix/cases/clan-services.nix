# Clan services (`inventory.instances`): explicit members, list and attribute tags (with
# settings), a member by machine and by tag at once, two instances of one module, modules from
# `self`, `clan-core` (the default once given) and another input, a role constraint and
# `maxInstances`, role extraModules relative to `directory`, a tag that matches nothing, and a
# module whose `roles` values are never looked at.
{
  directory = ./.;
  serviceModules = {
    self.backup = {
      roles = {
        client = { };
        server = { };
      };
      manifest.constraints = {
        maxInstances = 1;
        roles.server = {
          minMachines = 1;
          maxMachines = 1;
        };
      };
    };
    clan-core.admin.roles.default = { };
    community = {
      mesh = {
        roles = {
          controller = { };
          peer = { };
        };
        manifest.constraints.roles.controller.maxMachines = 1;
      };
    };
    empty = null;
  };
  inventory = {
    machines = {
      jon.tags = [ "laptop" ];
      sara.tags = [ "laptop" ];
      nas = {
        tags = [ "storage" ];
        machineClass = "darwin";
      };
    };
    tags.storage = [ "jon" ];
    instances = {
      backup-home = {
        module.name = "backup";
        module.input = "self";
        roles.server.machines.nas.settings.path = "/srv";
        roles.client = {
          settings.paths = [ "/home" ];
          tags.laptop.settings.paths = [ "/laptop" ];
          machines.jon.settings.paths = [ "/jon" ];
          extraModules = [
            "client.nix"
            ./extra.nix
          ];
        };
      };
      backup-nas = {
        module.name = "backup";
        module.input = "self";
        roles.client.tags = [
          "storage"
          "nope"
        ];
      };
      admin.roles.default.tags = [ "all" ];
      mesh = {
        module.input = "community";
        roles.controller.machines = {
          sara = { };
          jon = { };
        };
        roles.peer.tags.storage = { };
        roles.peer.tags.laptop.settings.port = 1;
      };
    };
  };
}
