# Most of spec section 3 at once: own, global and computed tags (with repeats), a darwin machine,
# a machine in two roles, members deduplicated in order, config at the three levels, machine config
# of a non-member, extraModules order with strings relative to a path `directory`, deploy hosts,
# a disabled instance, an empty role, and tags that match nothing (with and without a suggestion).
{
  directory = ./.;
  modules = import ./modules.nix;
  inventory = {
    meta.name = "features";
    machines = {
      alpha = {
        tags = [
          "web"
          "web"
        ];
        deploy.targetHost = "root@alpha";
      };
      beta = {
        machineClass = "darwin";
        deploy = {
          targetHost = null;
          buildHost = "root@builder";
        };
      };
      gamma.tags = [ "db" ];
      delta = { };
    };
    tags = {
      web = [ "gamma" ];
      backup = [
        "delta"
        "alpha"
        "delta"
      ];
    };
    services = {
      borgbackup = {
        main = {
          config.level = "instance";
          extraModules = [
            "extra/instance.nix"
            { id = "inline"; }
          ];
          machines = {
            alpha = {
              config.level = "machine-alpha";
              extraModules = [ "extra/alpha.nix" ];
            };
            # delta is in no role: this config reaches nobody
            delta.config.level = "machine-delta";
          };
          roles = {
            client = {
              machines = [ "gamma" ];
              tags = [
                "web"
                "nomatch"
                "darwin"
                "nomatch"
              ];
              config.level = "client";
              extraModules = [ "extra/client.nix" ];
            };
            server = {
              machines = [ "alpha" ];
              config.level = "server";
              extraModules = [ "extra/server.nix" ];
            };
          };
        };
        off = {
          enabled = false;
          roles.client.tags = [ "bakup" ];
          roles.server.machines = [ "beta" ];
        };
      };
      zerotier.net.roles.peer.tags = [ "all" ];
    };
  };
}
