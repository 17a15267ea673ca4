# Role `server` of the example borgbackup module: one repository per client of the instances in
# which this machine is a server.
{ config, lib, ... }:
let
  me = config.networking.hostName;
  instances = lib.filter (i: lib.elem me i.roles.server.machines) (
    lib.attrValues (config.clan.inventory.services.borgbackup or { })
  );
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
