# The Nix versions the project supports, where each comes from and where it is cached: stated once
# here and sourced by every script (bootstrap-nix, nix-root, env.sh, test, test-matrix).
# shellcheck shell=bash

# Every version the plugin is built and tested against (README "Tested versions").
CLAN_NIX_VERSIONS=(2.26.3 2.28.7 2.31.5 2.34.8 2.35.2)
# The version the README's two commands use: NixOS 25.11's `pkgs.nix` (the stable channel), and
# the newest of ours that nix-eval-jobs has a release for. See README "Nix versions".
CLAN_NIX_DEFAULT=2.31.5

CLAN_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/clan-inventory"
# The newer Debian root (scripts/nix-root) in which the versions Debian 12 cannot build are built
# and run. Bump the r-number when its package set changes.
CLAN_ROOTFS_SUITE=sid
CLAN_ROOTFS="$CLAN_CACHE/rootfs-$CLAN_ROOTFS_SUITE-r1"
# Cargo's target directory (relative to the repository) for the plugin of a Nix version that runs
# in the root: one per version. build.rs writes the loader into the profile directory, which
# cargo does not track, so versions sharing a directory could leave one version's loader beside
# another's plugin.
clan_root_target_dir() { echo "target/rootfs-$CLAN_ROOTFS_SUITE/nix-$1"; }

# sha256 of the release tarballs in ../shared/nix-src/ (its README has the same table).
declare -A CLAN_NIX_TARBALL_SHA256=(
  [2.28.7]=9169e5750b860d5c16e9dbafc06319fcd076f36b273822cee0fbc9d4047d142d
  [2.31.5]=656767785b64579c9eb69be85fa663d593930d351131bc4a747e15fd6ac584a8
  [2.34.8]=d6a4c33b133ff34d185f52f2325bbd0b1bf486d33460d51230f61512be324397
  [2.35.2]=3f4d86ad52fb7b7f63e31e092e6362906e1a94cd26ee35bd82ca03a490d2b6ee
)

# nix-eval-jobs releases in ../shared/nix-eval-jobs-src/, by the Nix minor version each builds
# against (its README has the same table), and their sha256. A Nix version without an entry has no
# nix-eval-jobs here (scripts/bootstrap-nix-eval-jobs says so).
declare -A CLAN_NIX_EVAL_JOBS_RELEASE=(
  [2.26]=2.26.0
  [2.28]=2.28.1
  [2.31]=2.31.0
  [2.33]=2.33.0
)
declare -A CLAN_NIX_EVAL_JOBS_SHA256=(
  [2.26.0]=857fdcf61d455158249bc3006fabf3b6210b81a6fbc1795e34fcba898e95c90f
  [2.28.1]=7a0f26547e10c2fd69aea4db458fd095e70c08932b134b32820712b405a6cd98
  [2.31.0]=d3a6e51488648b97b59d75c5a76aedb7d6708dced2e67d33020f032999e44e6e
  [2.33.0]=34d3cdbeea60476f82422e89fdaeb7805afa592b63d6b9a82a3157bb212aebac
)

# nix_eval_jobs_release NIX_VERSION: the nix-eval-jobs release for that Nix, or nothing.
nix_eval_jobs_release() { echo "${CLAN_NIX_EVAL_JOBS_RELEASE[${1%.*}]:-}"; }

# nix_eval_jobs_prefix NIX_VERSION: where nix-eval-jobs linked against that Nix is installed
# (bin/nix-eval-jobs), beside the Nix's own prefix.
nix_eval_jobs_prefix() { echo "$CLAN_CACHE/nix-eval-jobs-$(nix_eval_jobs_release "$1")-nix-$1-r1"; }

# The project's ../shared/ (sources no registry serves); CLAN_SHARED overrides it.
clan_shared_dir() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
  echo "${CLAN_SHARED:-$here/../shared}"
}

# nix_recipe VERSION: bumped when that version's build recipe changes the installed prefix.
nix_recipe() {
  case "$1" in
    2.26.3) echo 1 ;;
    *) echo 1 ;;
  esac
}

# nix_prefix VERSION: where that Nix is installed (bin/nix, lib/, include/, lib/pkgconfig).
nix_prefix() { echo "$CLAN_CACHE/nix-$1-r$(nix_recipe "$1")"; }

# nix_in_root VERSION: succeeds when that Nix is built, and must run, inside the Debian root.
nix_in_root() { [ "$1" != 2.26.3 ]; }

# nix_is_supported VERSION
nix_is_supported() {
  local v
  for v in "${CLAN_NIX_VERSIONS[@]}"; do [ "$v" = "$1" ] && return 0; done
  return 1
}

# The Debian mirror this machine's own apt sources use (the registry these machines reach).
debian_mirror() {
  grep -rhE '^[[:space:]]*(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true
}
