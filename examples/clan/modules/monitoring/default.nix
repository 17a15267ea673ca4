# A clan service module (`_class = "clan.service"`, used by `inventory.instances`): node exporters
# on the agents of an instance, scraped by its collector. modules/monitoring/ is a clan.service
# module because it has a default.nix and no roles/ folder (nix/modules.nix).
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  _class = "clan.service";
  manifest = {
    name = "monitoring";
    description = "Prometheus node exporters, scraped by one collector per instance";
    readme = "Agents export their metrics; the collector of the same instance scrapes them.";
    constraints.roles.collector = {
      minMachines = 1;
      maxMachines = 1;
    };
  };

  roles.collector = {
    description = "Runs Prometheus and scrapes every agent of the instance.";
    interface.options.retention = mkOption {
      type = types.str;
      default = "15d";
      description = "How long the collector keeps metrics.";
    };
    perInstance =
      {
        instanceName,
        settings,
        roles,
        ...
      }:
      {
        nixosModule.services.prometheus = {
          enable = true;
          retentionTime = settings.retention;
          # One scrape job per instance: a collector of two instances scrapes both.
          scrapeConfigs = [
            {
              job_name = instanceName;
              static_configs = [
                {
                  targets = lib.mapAttrsToList (m: agent: "${m}:${toString agent.settings.port}") (
                    roles.agent.machines or { }
                  );
                }
              ];
            }
          ];
        };
      };
  };

  roles.agent = {
    description = "Exports the machine's metrics.";
    interface.options = {
      port = mkOption {
        type = types.port;
        default = 9100;
        description = "The port of the node exporter.";
      };
      collectors = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Extra collectors of the node exporter.";
      };
    };
    perInstance =
      { settings, ... }:
      {
        nixosModule = {
          services.prometheus.exporters.node = {
            enable = true;
            inherit (settings) port;
            enabledCollectors = settings.collectors;
          };
          networking.firewall.allowedTCPPorts = [ settings.port ];
        };
      };
  };

  # Once per machine of the service, whatever its instances and roles.
  perMachine =
    { machine, ... }:
    {
      nixosModule.environment.etc."clan-monitoring-roles".text = lib.concatStringsSep "\n" machine.roles;
    };
}
