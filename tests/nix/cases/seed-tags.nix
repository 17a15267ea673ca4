# Seed example 2: clients by tag.
{
  modules = import ./modules.nix;
  inventory = {
    machines = {
      jon.tags = [ "backup" ];
      sara.tags = [ "backup" ];
      backup_server = { };
    };
    services.borgbackup.instance_1 = {
      roles.client.tags = [ "backup" ];
      roles.server.machines = [ "backup_server" ];
    };
  };
}
