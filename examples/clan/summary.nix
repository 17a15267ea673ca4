# Per machine: its tags, its services with its roles, the number of its modules, and its clan
# service instances with the settings the service module's interface gives it there.
#
#   nix eval --json --file examples/clan/summary.nix --arg nixpkgs '{ lib = import <nixpkgs/lib>; }'
#
# (`nixpkgs`, or just its lib, evaluates the clan service modules; scripts/run-example passes one.)
{
  nixpkgs ? null,
  clan ? import ./. { inherit nixpkgs; },
}:
let
  inherit (clan.clanInternals) resolved clanServices;
  plain = settings: removeAttrs settings [ "_module" ];
in
builtins.mapAttrs (name: m: {
  inherit (m) tags services;
  modules = builtins.length m.modules;
  instances = map (x: {
    inherit (x) service instance role;
    settings = plain clanServices.settings.${x.instance}.${x.role}.machines.${name}.config;
  }) m.instances;
}) resolved.machines
