# Seed example 1: borgbackup with explicit machines.
{
  modules = import ./modules.nix;
  inventory = {
    machines = {
      jon = { };
      backup_server = { };
    };
    services.borgbackup.instance_1 = {
      roles.client.machines = [ "jon" ];
      roles.server.machines = [ "backup_server" ];
    };
  };
}
