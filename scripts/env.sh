# Sourced by the scripts: builds (once) the plugin-capable Nix and puts it on PATH and PKG_CONFIG_PATH.
# Sets CLAN_NIX_PREFIX, which the tests use to find `nix`.
CLAN_NIX_PREFIX=$("$(dirname "${BASH_SOURCE[0]}")/bootstrap-nix" | tail -n 1)
export CLAN_NIX_PREFIX
export PATH="$CLAN_NIX_PREFIX/bin:$PATH"
export PKG_CONFIG_PATH="$CLAN_NIX_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# bindgen needs libclang; Debian 12 installs it under /usr/lib/llvm-14.
if [ -z "${LIBCLANG_PATH:-}" ] && [ -d /usr/lib/llvm-14/lib ]; then
  export LIBCLANG_PATH=/usr/lib/llvm-14/lib
fi
