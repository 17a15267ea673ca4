# Stand-ins for nixpkgs' lib.nixosSystem and nix-darwin's lib.darwinSystem: lib.evalModules with the
# class of each, NixOS-like `warnings` and `assertions`, and the options the test modules set.
{ lib }:
let
  inherit (lib) mkOption types;
  base = {
    _file = "tests/nix/services/stand-in.nix";
    options = {
      warnings = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      assertions = mkOption {
        type = types.listOf types.raw;
        default = [ ];
      };
      networking.hostName = mkOption { type = types.str; };
      # What the service modules of the tests write.
      seen = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      extra = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      record = mkOption {
        type = types.attrsOf types.raw;
        default = { };
      };
    };
  };
  system =
    class:
    {
      modules,
      specialArgs ? { },
    }:
    lib.evalModules {
      inherit class specialArgs;
      modules = [ base ] ++ modules;
    };
in
{
  nixosSystem = system "nixos";
  darwinSystem = system "darwin";
}
