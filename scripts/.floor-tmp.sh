#!/usr/bin/env bash
set -euo pipefail
cd /work/wt-perfnix
source scripts/env.sh
F=$(ls -d $PWD/target/bench/fleets-instances/n$1-*)
for w in ${W:-lib json resolve instances services modules}; do
NIX_SHOW_STATS=1 NIX_SHOW_STATS_PATH=$PWD/target/fl.json "$CLAN_NIX_PREFIX/bin/nix" --extra-experimental-features nix-command --option plugin-files "$CARGO_TARGET_DIR/release/libclan_inventory.so" --store dummy:// eval --impure --json --expr \
  "import $PWD/target/floor.nix { fleet = $F; repo = $PWD; nixpkgsLib = $HOME/.cache/clan-inventory/nixpkgs-lib/nixpkgs-lib/lib; what = \"$w\"; }"
python3 -c "import json;d=json.load(open('target/fl.json'));print('$w', d['cpuTime'])"
done
