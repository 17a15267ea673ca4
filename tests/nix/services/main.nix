# The clan of tests/nix/services.rs: clan.service modules of every kind of source (a file, a
# modules/ directory, a function, a flake input), two instances of one service on one machine,
# settings at role, tag and machine level, extraModules, a darwin machine, and a roles module of
# `inventory.services` beside them. Built with the stand-ins of stand-in.nix.
{
  lib,
  buildClan,
}:
let
  standIn = import ./stand-in.nix { inherit lib; };
in
buildClan {
  directory = ./clan;
  nixpkgs = { inherit lib; };
  inherit (standIn) nixosSystem darwinSystem;
  meta.name = "testclan";
  inputs = {
    # A flake input publishing clan service modules, and one that publishes none.
    upstream.clan.modules.remote = {
      _class = "clan.service";
      manifest.name = "remote";
      manifest.readme = "From upstream.";
      roles.peer.description = "A peer.";
      roles.peer.perInstance =
        { instanceName, ... }:
        {
          nixosModule.seen = [ "remote ${instanceName}" ];
        };
    };
    nixpkgs = { };
  };
  modules = {
    web = ./web.nix;
    # A function is a clan.service module.
    fn =
      { ... }:
      {
        _class = "clan.service";
        manifest.name = "fn";
        manifest.readme = "A function.";
        roles.solo.description = "Alone.";
        roles.solo.perInstance = { machine, ... }: {
          nixosModule.seen = [ "fn on ${machine.name}" ];
        };
      };
  };
  inventory = {
    machines = {
      jon.tags = [
        "desktop"
        "backup"
      ];
      sara.tags = [ "backup" ];
      nas = { };
      mac = {
        machineClass = "darwin";
        tags = [ "backup" ];
      };
    };
    instances = {
      # Members of server: jon (explicit), then the tags' members: jon, mac, sara.
      web-a = {
        module.name = "web";
        module.input = "self";
        roles.server = {
          settings = {
            name = "a";
            l = [ "role" ];
          };
          machines.jon.settings = {
            port = 8080;
            l = [ "machine" ];
          };
          tags.backup.settings.l = [ "tag backup" ];
          tags.desktop.settings.l = [ "tag desktop" ];
          extraModules = [
            "extra/by-string.nix"
            ./extra-path.nix
          ];
        };
        roles.client.machines.nas = { };
      };
      # jon again, in both roles: its own settings per instance.
      web-b = {
        module.name = "web";
        roles.server.machines.jon.settings.port = 9090;
        roles.server.settings.name = "b";
        roles.client.machines.jon = { };
      };
      remote-1 = {
        module = {
          name = "remote";
          input = "upstream";
        };
        roles.peer.machines.sara = { };
      };
      hello-1.module.name = "hello";
      hello-1.roles.greeter.tags = [ "desktop" ];
      fn-1.module.name = "fn";
      fn-1.roles.solo.machines.nas = { };
    };
    services.legacy.one.roles.member.machines = [ "nas" ];
  };
}
