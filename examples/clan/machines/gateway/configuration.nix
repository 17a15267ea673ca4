# gateway: named by the Nix inventory of clan.nix; the zerotier controller.
{
  imports = [ ../../common.nix ];
  networking.firewall.allowedTCPPorts = [ 22 ];
}
