# Per machine: its tags, its services with its roles, and the number of its modules.
#
#   nix eval --json --file examples/clan/summary.nix
{
  clan ? import ./. { },
}:
builtins.mapAttrs (_: m: {
  inherit (m) tags services;
  modules = builtins.length m.modules;
}) clan.clanInternals.resolved.machines
