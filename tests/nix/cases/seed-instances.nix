# Seed example 3: backup_server is a server in one instance and a client in another.
{
  modules = import ./modules.nix;
  inventory = {
    machines = {
      jon = { };
      backup_server = { };
      backup_backup_server = { };
    };
    services.borgbackup = {
      instance_1 = {
        roles.client.machines = [ "jon" ];
        roles.server.machines = [ "backup_server" ];
      };
      instance_2 = {
        roles.client.machines = [ "backup_server" ];
        roles.server.machines = [ "backup_backup_server" ];
      };
    };
  };
}
