# Role `controller` of the example zerotier module.
{ config, ... }:
{
  services.zerotierone.enable = true;
  environment.etc."zerotier/controller.json".text = builtins.toJSON {
    network = config.clan.zerotier.networkId or null;
  };
}
