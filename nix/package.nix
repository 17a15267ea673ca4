# The plugin (lib/libclan_inventory.so), its loader (lib/libclan_inventory_loader.so, the file to
# give Nix) and the CLI (bin/clan-inventory, the default feature `cli`, whose dependencies the
# plugin does not link), built against the Nix
# that will load the plugin: `nix` must be that Nix. Override it to pick another one:
#   clan-inventory.override { nix = pkgs.nixVersions.nix_2_34; }
{
  lib,
  rustPlatform,
  pkg-config,
  nix,
}:
let
  # Componentized Nix builds (2.29 and later in nixpkgs) have one package per library in
  # `nix.libs`; the monolithic ones (2.26, 2.28) keep headers and `.pc` files in `nix.dev`, which
  # `buildInputs = [ nix ]` brings in. The C++ libraries are for the shim (Nix < 2.34.1).
  componentized = nix ? libs;
  needsShim = lib.versionOlder nix.version "2.34.1";
in
assert lib.assertMsg (!(lib.versionAtLeast nix.version "2.34.0" && lib.versionOlder nix.version "2.34.1"))
  "clan-inventory: Nix 2.34.0 is not supported (NixOS/nix#12800): use 2.26 to 2.33, or 2.34.1 and later";
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
  buildInputs =
    if componentized then
      with nix.libs;
      [
        nix-util-c
        nix-store-c
        nix-expr-c
      ]
      ++ lib.optionals needsShim [
        nix-expr
        nix-fetchers
      ]
    else
      [ nix ];

  # The integration tests run a real `nix` with a store of their own; the sandbox runs the unit
  # tests, the core's (--lib) and the CLI's, which live in its binary (--bins).
  cargoTestFlags = [
    "--lib"
    "--bins"
  ];

  # build.rs writes the loader (the file to give Nix) beside the crate's artifacts.
  postInstall = ''
    install -Dm755 "$(find target -name libclan_inventory_loader.so -path '*release*' | head -n1)" \
      $out/lib/libclan_inventory_loader.so
  '';

  passthru = { inherit nix; };

  meta = {
    description = "builtins.clanInventory: a Nix plugin resolving clan inventories, and its CLI (built for Nix ${nix.version})";
    license = lib.licenses.mit;
    mainProgram = "clan-inventory";
  };
}
