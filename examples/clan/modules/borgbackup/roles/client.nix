# Role `client` of the example borgbackup module: one backup job per server of the instances in
# which this machine is a client.
{ config, lib, ... }:
let
  settings = config.clan.borgbackup;
  me = config.networking.hostName;
  instances = lib.filter (i: lib.elem me i.roles.client.machines) (
    lib.attrValues (config.clan.inventory.services.borgbackup or { })
  );
  servers = lib.unique (lib.concatMap (i: i.roles.server.machines) instances);
in
{
  services.borgbackup.jobs = lib.listToAttrs (
    map (server: {
      name = server;
      value = {
        repo = "borg@${server}:.";
        paths = settings.paths or [ "/home" ];
        exclude = settings.exclude or [ ];
        compression = settings.compression or "auto,zstd";
        startAt = settings.startAt or "daily";
        encryption.mode = "none";
      };
    }) servers
  );
}
