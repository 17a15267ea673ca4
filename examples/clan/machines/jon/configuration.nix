# jon: a laptop; most of its inventory entry comes from inventory.json.
{
  imports = [ ../../common.nix ];
  time.timeZone = "Europe/Berlin";
}
