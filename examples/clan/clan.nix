# The example clan: inventory.json plus the Nix inventory below, modules/ and machines/.
#
#   import ./clan.nix { buildClan = ...; nixpkgs = ...; }   # what flake.nix does
{
  buildClan,
  nixpkgs ? null,
  nixosSystem ? null,
}:
buildClan {
  directory = ./.;
  inherit nixpkgs nixosSystem;

  inventory = {
    machines = {
      jon.tags = [ "desktop" ]; # added to the tags of inventory.json
      gateway.tags = [ "network" ];
    };
    # global tag membership
    tags.network = [ "backup_server" ];

    services.borgbackup = {
      instance_1 = {
        roles.client.config.paths = [ "/home" ];
        machines.jon.config.compression = "zstd,10";
      };
      # backup_server is a client here, a server in instance_1
      instance_2 = {
        roles.client.machines = [ "backup_server" ];
        roles.server.machines = [ "gateway" ];
        roles.server.config.startAt = "weekly";
      };
    };

    services.zerotier = {
      mesh = {
        config.networkId = "8056c2e21c000001";
        roles.controller.machines = [ "gateway" ];
        roles.peer.tags = [ "all" ];
        extraModules = [ "extra/zerotier-firewall.nix" ];
      };
      # Two controllers would break `max = 1`, but a disabled instance's constraints are not checked.
      lab = {
        enabled = false;
        roles.controller.machines = [
          "jon"
          "sara"
        ];
      };
    };

    # Clan services (inventory.instances): two instances of the clan.service module
    # modules/monitoring/. gateway is in both: the collector of one, an agent of the other.
    instances = {
      metrics-home = {
        module.name = "monitoring";
        roles.collector.machines.gateway = { };
        roles.agent = {
          tags = [ "backup" ];
          machines.nas = { };
          settings.collectors = [ "systemd" ];
          machines.jon.settings.collectors = [ "wifi" ];
        };
      };
      metrics-offsite = {
        module.name = "monitoring";
        roles.collector.machines.backup_server.settings.retention = "90d";
        roles.agent.machines.gateway.settings.port = 9101;
      };
    };
  };

  # Extra NixOS modules per machine; sara has no folder in machines/.
  machines.sara = {
    imports = [ ./common.nix ];
    time.timeZone = "Europe/Paris";
  };
}
