# Role `peer` of the example zerotier module: joins the network of its instances.
{ config, lib, ... }:
{
  services.zerotierone = {
    enable = true;
    joinNetworks = lib.optional (config.clan.zerotier ? networkId) config.clan.zerotier.networkId;
  };
}
