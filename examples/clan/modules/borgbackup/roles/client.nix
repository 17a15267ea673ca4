# Role `client` of the example borgbackup module: one backup job per server of its instances.
{ config, lib, ... }:
let
  settings = config.clan.borgbackup;
  instances = lib.attrValues (config.clan.inventory.services.borgbackup or { });
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
