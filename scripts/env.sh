# Sourced by the scripts (after they cd to the repository): picks the Nix version
# (CLAN_NIX_VERSION, else the default in scripts/versions.sh), builds it once, and puts it on PATH
# and PKG_CONFIG_PATH. A version that lives in the Debian root (scripts/nix-root) re-runs the
# calling script, with the same arguments, inside that root: everything after `source env.sh`
# runs where that Nix's libraries are. Sets CLAN_NIX_PREFIX, which the tests use to find `nix`.
# Builds inside the root get a cargo target directory of their own (their binaries link against
# the root's libraries); the versions in one place share it, so dependencies compile once.
# shellcheck shell=bash
CLAN_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
CLAN_REPO=$(dirname "$CLAN_SCRIPTS")
# shellcheck source=scripts/versions.sh
source "$CLAN_SCRIPTS/versions.sh"
export CLAN_NIX_VERSION="${CLAN_NIX_VERSION:-$CLAN_NIX_DEFAULT}"
if [ -z "${CLAN_NIX_PREFIX:-}" ]; then
  CLAN_NIX_PREFIX=$("$CLAN_SCRIPTS/bootstrap-nix" "$CLAN_NIX_VERSION" | tail -n 1)
  if nix_in_root "$CLAN_NIX_VERSION" && [ -z "${CLAN_IN_ROOT:-}" ]; then
    if [ ! -f "$CLAN_SCRIPTS/$(basename "$0")" ]; then
      echo "[env] Nix $CLAN_NIX_VERSION runs in the Debian root: source scripts/env.sh from a script in scripts/, or enter the root with: scripts/nix-root run bash" >&2
      return 1
    fi
    echo "[env] Nix $CLAN_NIX_VERSION runs in the Debian root $CLAN_ROOTFS: re-running $(basename "$0") there" >&2
    exec "$CLAN_SCRIPTS/nix-root" run "$CLAN_SCRIPTS/$(basename "$0")" "$@"
  fi
fi
export CLAN_NIX_PREFIX
export PATH="$CLAN_NIX_PREFIX/bin:$PATH"
export PKG_CONFIG_PATH="$CLAN_NIX_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if [ -n "${CLAN_IN_ROOT:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CLAN_REPO/$(clan_root_target_dir "$CLAN_NIX_VERSION")}"
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CLAN_REPO/target}"
fi
# Where scripts/test keeps the plugin it tests, per version (scripts/test-matrix loads one
# version's plugin into another's Nix).
clan_plugin_under_test() { echo "$CARGO_TARGET_DIR/plugin-under-test/$1/libclan_inventory.so"; }
# bindgen needs libclang: the newest LLVM the system (or the root) has.
if [ -z "${LIBCLANG_PATH:-}" ] || [ ! -d "$LIBCLANG_PATH" ]; then
  for d in $(ls -d /usr/lib/llvm-*/lib 2>/dev/null | sort -V -r); do
    if compgen -G "$d/libclang*.so*" >/dev/null; then export LIBCLANG_PATH=$d; break; fi
  done
fi
