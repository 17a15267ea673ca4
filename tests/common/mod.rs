//! Shared helpers for the tests that run the real `nix`: an isolated Nix (its own store, state,
//! config and home under a temporary directory) with or without the plugin built by this crate.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The prefix of the plugin-capable Nix (`scripts/test` sets `CLAN_NIX_PREFIX` for the version
/// it runs against; scripts/versions.sh lists them).
pub fn nix_prefix() -> PathBuf {
    let prefix = std::env::var_os("CLAN_NIX_PREFIX").map(PathBuf::from).expect(
        "no plugin-capable Nix: run the tests with scripts/test (it builds one), or set CLAN_NIX_PREFIX",
    );
    assert!(
        prefix.join("bin/nix").exists(),
        "CLAN_NIX_PREFIX={} has no bin/nix",
        prefix.display()
    );
    prefix
}

/// The plugin under test: `CLAN_PLUGIN` when set (scripts/test builds the plugin and sets it),
/// else the cdylib `cargo test` leaves in `deps/` next to the test binary. That file has no hash
/// in its name, so a concurrent cargo run with other features may replace it: prefer `CLAN_PLUGIN`.
pub fn plugin_path() -> PathBuf {
    let so = match std::env::var_os("CLAN_PLUGIN") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()
            .expect("test binary path")
            .parent()
            .expect("deps directory")
            .join("libclan_inventory.so"),
    };
    assert!(so.exists(), "plugin not built at {}", so.display());
    so
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A directory under the target dir that is removed on drop (no tempfile dependency).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let base = std::env::temp_dir().join(format!(
            "clan-inventory-test-{}-{tag}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).expect("create temp dir");
        TempDir(base)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Store paths are read-only: make them writable before removing.
        let _ = Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An isolated Nix: its own store and state, no daemon, no user configuration.
pub struct Nix {
    dir: TempDir,
    pub plugin: bool,
    /// Evaluate with `--impure` (to read the test's own files by absolute path).
    pub impure: bool,
}

impl Nix {
    pub fn with_plugin() -> Nix {
        Nix::new(true)
    }

    pub fn without_plugin() -> Nix {
        Nix::new(false)
    }

    fn new(plugin: bool) -> Nix {
        let dir = TempDir::new(if plugin { "nix-plugin" } else { "nix-pure" });
        let conf = dir.path().join("conf");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(
            conf.join("nix.conf"),
            "experimental-features = nix-command flakes\nbuild-users-group =\nsandbox = false\n",
        )
        .unwrap();
        Nix {
            dir,
            plugin,
            impure: false,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A `nix` (or other Nix binary) command set up for this isolated Nix; the plugin option goes
    /// before any subcommand, where Nix requires it.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = self.isolated(&nix_prefix().join("bin").join(program));
        if self.plugin {
            cmd.arg("--option").arg("plugin-files").arg(plugin_path());
        }
        cmd.arg("--store").arg(self.dir.path().join("store"));
        cmd
    }

    /// Another program linked against this Nix (nix-eval-jobs), in the same isolation, with the
    /// store given as an option (nix-eval-jobs 2.26 has no `--store`). The plugin is the caller's.
    pub fn program(&self, program: &Path) -> Command {
        let mut cmd = self.isolated(program);
        cmd.arg("--option")
            .arg("store")
            .arg(self.dir.path().join("store"));
        cmd
    }

    /// `program` with an empty environment but for PATH and this Nix's own directories.
    pub fn isolated(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        let d = self.dir.path();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", d.join("home"))
            .env("NIX_CONF_DIR", d.join("conf"))
            .env("NIX_STATE_DIR", d.join("state"))
            .env("NIX_LOG_DIR", d.join("log"))
            .env("XDG_CACHE_HOME", d.join("cache"))
            .env("NIX_REMOTE", "")
            .current_dir(repo_root());
        cmd
    }

    /// `nix eval --json --expr EXPR` (strict): the JSON text, or the error text Nix printed.
    pub fn eval_json(&self, expr: &str) -> Result<String, String> {
        let mut cmd = self.command("nix");
        cmd.arg("eval");
        if self.impure {
            cmd.arg("--impure");
        }
        let out = cmd
            .args(["--json", "--expr", expr])
            .output()
            .expect("run nix");
        result(&out)
    }

    /// Evaluates and expects success; on failure the test fails with Nix's error.
    pub fn json(&self, expr: &str) -> serde_json::Value {
        match self.eval_json(expr) {
            Ok(text) => serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("bad JSON from nix ({e}): {text}")),
            Err(err) => panic!("nix eval failed:\n{err}\nexpression:\n{expr}"),
        }
    }

    /// Evaluates and expects an error; returns its message (see [`error_message`]).
    pub fn error(&self, expr: &str) -> String {
        match self.eval_json(expr) {
            Ok(text) => panic!("expected an error, got {text}\nexpression:\n{expr}"),
            Err(err) => error_message(&err),
        }
    }
}

fn result(out: &Output) -> Result<String, String> {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_crash(out, &stderr);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(stderr)
    }
}

/// Whatever happened, Nix must not have crashed, aborted or printed a Rust panic.
pub fn assert_no_crash(out: &Output, stderr: &str) {
    use std::os::unix::process::ExitStatusExt;
    assert!(
        out.status.signal().is_none(),
        "nix was killed by signal {:?}:\n{stderr}",
        out.status.signal()
    );
    for bad in [
        "panicked at",
        "RUST_BACKTRACE",
        "unexpected unrecoverable internal error",
        "Aborted",
        "Segmentation fault",
    ] {
        assert!(!stderr.contains(bad), "nix printed `{bad}`:\n{stderr}");
    }
    // Nix exits with 1 on an evaluation error; anything else (134 abort, 139 segfault) is a crash.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "nix exited with {:?}:\n{stderr}",
        out.status.code()
    );
}

/// The message of the innermost `error:` of a Nix error report, without the wrapper the C API
/// adds to errors of a primop ("Error from custom function: ").
pub fn error_message(stderr: &str) -> String {
    let line = stderr
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("error:"))
        .rfind(|l| l.trim() != "error:")
        .unwrap_or_else(|| panic!("no error line in:\n{stderr}"));
    let msg = line.trim_start_matches("error:").trim();
    msg.strip_prefix("Error from custom function: ")
        .unwrap_or(msg)
        .to_owned()
}

/// A Nix string literal for `s`.
pub fn nix_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Copies the directory `from` to `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `tests/nix/flake` with the library (`nix/`) beside it as `./lib` and `tests/nix/describe.nix`:
/// a flake of its own, in a temporary directory named after `tag`.
pub fn test_flake(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    copy_tree(&repo_root().join("tests/nix/flake"), dir.path());
    copy_tree(&repo_root().join("nix"), &dir.path().join("lib"));
    std::fs::copy(
        repo_root().join("tests/nix/describe.nix"),
        dir.path().join("describe.nix"),
    )
    .unwrap();
    dir
}

/// nixpkgs' `lib` (the module system), for tests of clan service modules: `CLAN_NIXPKGS_LIB` when
/// set (scripts/test unpacks `../shared/nixpkgs-lib/` into the cache and sets it; a value
/// starting with `none:` says why there is none), else that unpacked copy in the cache. `Err`
/// says why the test cannot run; the caller skips with that message.
pub fn nixpkgs_lib() -> Result<PathBuf, String> {
    let lib = match std::env::var("CLAN_NIXPKGS_LIB") {
        Ok(v) if v.starts_with("none:") => return Err(format!("no nixpkgs lib ({v})")),
        Ok(v) => PathBuf::from(v),
        Err(_) => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .ok_or("no nixpkgs lib: CLAN_NIXPKGS_LIB, XDG_CACHE_HOME and HOME are unset")?;
            cache.join("clan-inventory/nixpkgs-lib/nixpkgs-lib/lib")
        }
    };
    if lib.join("default.nix").is_file() {
        Ok(lib)
    } else {
        Err(format!(
            "no nixpkgs lib at {} (scripts/test unpacks ../shared/nixpkgs-lib/ there; or set CLAN_NIXPKGS_LIB to an unpacked nixpkgs lib/)",
            lib.display()
        ))
    }
}
