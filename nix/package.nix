# The plugin (lib/libclan_inventory.so) and the CLI (bin/clan-inventory), built against the Nix
# that will load the plugin: `nix` must be that Nix (its C API libraries come from `nix.libs`).
{
  lib,
  rustPlatform,
  pkg-config,
  nix,
}:
rustPlatform.buildRustPackage {
  pname = "clan-inventory";
  version = (lib.importTOML ../Cargo.toml).package.version;

  src = lib.cleanSourceWith {
    src = ../.;
    filter =
      path: type:
      lib.cleanSourceFilter path type && !(type == "directory" && baseNameOf path == "target");
  };
  cargoLock.lockFile = ../Cargo.lock;

  buildFeatures = [ "plugin" ];
  nativeBuildInputs = [
    pkg-config
    rustPlatform.bindgenHook
  ];
  buildInputs = with nix.libs; [
    nix-util-c
    nix-store-c
    nix-expr-c
  ];

  # The integration tests run a real `nix` with a store of their own; the sandbox runs the unit tests.
  cargoTestFlags = [ "--lib" ];

  passthru = { inherit nix; };

  meta = {
    description = "builtins.clanInventory: a Nix plugin resolving clan inventories, and its CLI";
    license = lib.licenses.mit;
    mainProgram = "clan-inventory";
  };
}
