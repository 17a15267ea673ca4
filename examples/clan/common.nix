# What every machine of the example shares (imported by each machine's configuration).
{
  nixpkgs.hostPlatform = "x86_64-linux";
  boot.isContainer = true;
  system.stateVersion = "24.11";
}
