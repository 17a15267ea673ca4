# A fleet of `n` machines in one instance (explicit members, and all of them again by the tag
# `all` in a second role), where every machine's settings but m000's, and every perInstance and
# perMachine result but m000's, throw: m000's configuration evaluates only its own.
{
  lib,
  buildClan,
  n ? 300,
}:
let
  standIn = import ./stand-in.nix { inherit lib; };
  name = i: "m" + lib.fixedWidthNumber 3 i;
  names = lib.genList name n;
  only =
    machine: value: if machine.name == "m000" then value else throw "evaluated for ${machine.name}";
in
buildClan {
  directory = ./clan;
  nixpkgs = { inherit lib; };
  inherit (standIn) nixosSystem;
  modules.fleet = {
    _class = "clan.service";
    manifest.name = "fleet";
    manifest.readme = "Many.";
    roles.peer = {
      description = "A peer.";
      interface.options.port = lib.mkOption { type = lib.types.int; };
      perInstance =
        { machine, settings, ... }:
        only machine { nixosModule.record.peer = settings.port; };
    };
    roles.all = {
      description = "Everyone.";
      perInstance = { machine, ... }: only machine { nixosModule.record.all = machine.name; };
    };
    perMachine = { machine, ... }: only machine { nixosModule.record.perMachine = machine.roles; };
  };
  inventory = {
    machines = lib.genAttrs names (_: { });
    instances.big.module.name = "fleet";
    instances.big.roles.peer.machines = lib.genAttrs names (
      m: { settings = if m == "m000" then { port = 1; } else throw "the settings of ${m} were evaluated"; }
    );
    instances.big.roles.all.tags = [ "all" ];
  };
}
