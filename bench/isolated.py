"""An isolated Nix for the benchmarks: its own store, state, configuration and home under one
directory, and no daemon. Standard library only."""

import os


def isolated_env(root, conf):
    """Writes `conf` as root/conf/nix.conf and returns the environment of a Nix living in root."""
    os.makedirs(os.path.join(root, "conf"), exist_ok=True)
    with open(os.path.join(root, "conf", "nix.conf"), "w") as f:
        f.write(conf)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.path.join(root, "home"),
        "NIX_CONF_DIR": os.path.join(root, "conf"),
        "NIX_STATE_DIR": os.path.join(root, "state"),
        "NIX_LOG_DIR": os.path.join(root, "log"),
        "XDG_CACHE_HOME": os.path.join(root, "cache"),
        "NIX_REMOTE": "",
    }
