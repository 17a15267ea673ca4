# nas: named nowhere in the inventory; this folder alone makes it a machine.
{
  imports = [ ../../common.nix ];
}
