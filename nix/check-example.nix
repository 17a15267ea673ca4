# A flake check: the example clan resolves to the same JSON with the plugin and with the pure-Nix
# implementation (module values compared by their `_file` or path, see tests/nix/describe.nix).
{
  runCommand,
  nixWithPlugin,
  path,
}:
runCommand "clan-inventory-example-agrees"
  {
    nativeBuildInputs = [ nixWithPlugin ];
    src = ../.;
  }
  ''
    export HOME=$TMPDIR NIX_STATE_DIR=$TMPDIR/state NIX_CONF_DIR=$TMPDIR/etc
    run() {
      nix --store dummy:// --extra-experimental-features nix-command eval --impure --json \
        --expr "import $src/tests/nix/example-resolution.nix { implementation = \"$1\"; lib = import ${path}/lib; }"
    }
    run builtin > builtin.json
    run nix > nix.json
    diff builtin.json nix.json
    cp builtin.json $out
  ''
