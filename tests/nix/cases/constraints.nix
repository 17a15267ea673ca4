# Failed constraints: a missing server (min), two controllers after deduplication (max), and a
# disabled instance whose constraints are not checked.
{
  modules = import ./modules.nix;
  inventory = {
    machines = {
      a = { };
      b = { };
      c = { };
    };
    services = {
      borgbackup.lonely.roles.client.machines = [ "a" ];
      zerotier = {
        crowded = {
          roles.controller.machines = [
            "c"
            "a"
            "c"
          ];
          roles.peer.machines = [ "b" ];
        };
        off = {
          enabled = false;
          roles.controller.machines = [
            "a"
            "b"
          ];
        };
      };
    };
  };
}
