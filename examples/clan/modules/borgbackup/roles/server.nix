# Role `server` of the example borgbackup module: one repository per client of its instances.
{ config, lib, ... }:
let
  instances = lib.attrValues (config.clan.inventory.services.borgbackup or { });
  clients = lib.unique (lib.concatMap (i: i.roles.client.machines) instances);
in
{
  services.borgbackup.repos = lib.listToAttrs (
    map (client: {
      name = client;
      value.path = "/var/lib/borgbackup/${client}";
    }) clients
  );
}
