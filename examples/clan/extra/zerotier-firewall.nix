# An extra module of the zerotier instance `mesh` (given as the string "extra/zerotier-firewall.nix").
{
  networking.firewall.allowedUDPPorts = [ 9993 ];
}
