# The example clan with the library of this repository. The resolution is at
# `clanInternals.resolved`; building machines needs `nixpkgs` (or a `nixosSystem`), and so does the
# resolution itself, for the clan service module modules/monitoring/ (`nixpkgs.lib` evaluates it).
{
  buildClan ? (import ../../nix).buildClan,
  nixpkgs ? null,
  nixosSystem ? null,
}:
import ./clan.nix { inherit buildClan nixpkgs nixosSystem; }
