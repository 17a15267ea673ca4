#!/usr/bin/env bash
# usage: target/prof.sh <size> <workload> <mode>
set -euo pipefail
cd /work/wt-perfnix
source scripts/env.sh
F=$(ls -d $PWD/target/bench/fleets-instances/n$1-*)
plugin=()
[ "$3" = builtin ] && plugin=(--option plugin-files "$CARGO_TARGET_DIR/release/libclan_inventory.so")
NIX_COUNT_CALLS=${COUNT:-0} NIX_SHOW_STATS=1 NIX_SHOW_STATS_PATH=$PWD/target/prof.json "$CLAN_NIX_PREFIX/bin/nix" --extra-experimental-features nix-command "${plugin[@]}" --store dummy:// eval --impure --json --expr \
  "import $PWD/bench/instances.nix { fleet = $F; mode = \"$3\"; repo = $PWD; nixpkgsLib = $HOME/.cache/clan-inventory/nixpkgs-lib/nixpkgs-lib/lib; workload = \"$2\"; }"
python3 -c "
import json;d=json.load(open('target/prof.json'))
print(d['cpuTime'], d['nrFunctionCalls'], d['nrThunks'], d['values'], d['sets'], d['envs'])
for x in sorted(d.get('functions',[]), key=lambda x:-x['count'])[:20]: print('  ',x['count'],(x['file'] or '').split('/')[-1],x['line'],x['column'],x['name'])
"
