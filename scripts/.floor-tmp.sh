#!/usr/bin/env bash
set -euo pipefail
cd /work/wt-perfnix
source scripts/env.sh
F=$(ls -d $PWD/target/bench/fleets-instances/n$1-*)
for w in ${W:-instances services}; do
for k in 1 2 3; do
NIX_SHOW_STATS=1 NIX_SHOW_STATS_PATH=$PWD/target/fl.json "$CLAN_NIX_PREFIX/bin/nix" --extra-experimental-features nix-command --option plugin-files "$CARGO_TARGET_DIR/release/libclan_inventory.so" --store dummy:// eval --impure --json --expr \
  "import $PWD/target/floor.nix { fleet = $F; repo = $PWD; nixpkgsLib = $HOME/.cache/clan-inventory/nixpkgs-lib/nixpkgs-lib/lib; what = \"$w\"; }" >/dev/null
python3 -c "import json;d=json.load(open('target/fl.json'));print('$w', round(d['cpuTime'],3), d['nrFunctionCalls'], d['nrThunks'], d['sets']['elements'], d['values']['bytes']//1000000)"
done; done
