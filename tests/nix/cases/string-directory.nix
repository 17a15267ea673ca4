# `directory` as a string: string extraModules become strings; other entries stay as they are.
{
  directory = "/srv/clan";
  modules = import ./modules.nix;
  inventory = {
    machines.m = { };
    services.borgbackup.i.roles.server = {
      machines = [ "m" ];
      extraModules = [
        "x.nix"
        ./y.nix
      ];
    };
  };
}
