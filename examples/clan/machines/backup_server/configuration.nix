# backup_server: defined in inventory.json.
{
  imports = [ ../../common.nix ];
}
