# Machines in no service still have an entry; a module nobody uses is fine.
{
  modules = import ./modules.nix;
  inventory.machines = {
    solo.tags = [ "lonely" ];
    "web.1" = { };
  };
}
