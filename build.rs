//! Build script. Without the `plugin` feature there is nothing to do: the core and the CLI need no
//! Nix. With it: find the Nix C API with pkg-config, generate bindings with bindgen, compile the C++
//! shim for old Nix versions, and emit version cfgs so code for newer Nix is one cfg away.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(nix_lazy_getters)");
    println!("cargo::rustc-check-cfg=cfg(nix_value_handles)");
    println!("cargo::rustc-check-cfg=cfg(nix_state_fixed)");
    println!("cargo::rerun-if-changed=build.rs");
    #[cfg(feature = "plugin")]
    plugin::build();
}

#[cfg(feature = "plugin")]
mod plugin {
    use std::env;
    use std::path::PathBuf;

    /// A Nix version as (major, minor, patch); pre-release suffixes are dropped, so "2.32.0pre" is
    /// treated as 2.32.0.
    fn parse_version(v: &str) -> (u32, u32, u32) {
        let mut parts = v.split('.').map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(0)
        });
        (
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
        )
    }

    pub(super) fn build() {
        println!("cargo::rerun-if-changed=src/nix/shim.cc");
        println!("cargo::rerun-if-changed=src/nix/wrapper.h");
        println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
        let expr_c = pkg_config::Config::new()
            .atleast_version("2.26")
            .probe("nix-expr-c")
            .unwrap_or_else(|e| panic!("the `plugin` feature needs the Nix C API (pkg-config nix-expr-c >= 2.26); run scripts/bootstrap-nix and set PKG_CONFIG_PATH, or see README.md: {e}"));
        let version = parse_version(&expr_c.version);
        println!("cargo::rustc-env=CLAN_NIX_BUILT_AGAINST={}", expr_c.version);
        if version >= (2, 32, 0) {
            println!("cargo::rustc-cfg=nix_lazy_getters");
        }
        if version >= (2, 33, 0) {
            println!("cargo::rustc-cfg=nix_value_handles");
        }
        // 2.34.1 fixed the state pointer, and every later 2.34.x and 2.35+ has the fix.
        if version >= (2, 34, 1) {
            println!("cargo::rustc-cfg=nix_state_fixed");
        }
        assert!(
            !(version < (2, 26, 0) || ((2, 34, 0)..(2, 34, 1)).contains(&version)),
            "Nix {} is not supported: use 2.26 to 2.33, or 2.34.1 and later",
            expr_c.version
        );
        // The C API libraries have no rpath of their own home: the plugin carries it, since `nix`
        // itself links only the C++ libraries.
        for dir in &expr_c.link_paths {
            println!("cargo::rustc-cdylib-link-arg=-Wl,-rpath,{}", dir.display());
        }

        let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
        let mut builder = bindgen::Builder::default()
            .header("src/nix/wrapper.h")
            // Nix's headers use C23 attributes ([[deprecated]] on a typedef).
            .clang_arg("-std=c2x")
            .allowlist_function("nix_.*")
            .allowlist_type(
                "nix_.*|NIX_.*|ValueType|EvalState|BindingsBuilder|ListBuilder|PrimOp|PrimOpFun",
            )
            .allowlist_var("NIX_.*")
            .prepend_enum_name(false)
            .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
        for dir in &expr_c.include_paths {
            builder = builder.clang_arg(format!("-I{}", dir.display()));
        }
        builder
            .generate()
            .expect("bindgen could not read the Nix C API headers")
            .write_to_file(out.join("bindings.rs"))
            .expect("could not write the bindings");

        if version < (2, 34, 1) {
            // The shim includes nix_api_expr_internal.h, which pulls in the C++ headers of libexpr
            // and libfetchers: take their flags from pkg-config too.
            let cxx = pkg_config::Config::new()
                .cargo_metadata(false)
                .probe("nix-expr")
                .and_then(|a| pkg_config::Config::new().cargo_metadata(false).probe("nix-fetchers").map(|b| (a, b)))
                .unwrap_or_else(|e| panic!("the shim for Nix {} needs the C++ headers (pkg-config nix-expr nix-fetchers): {e}", expr_c.version));
            let mut cc = cc::Build::new();
            cc.cpp(true)
                .file("src/nix/shim.cc")
                .flag_if_supported("-std=c++2a")
                .warnings(false);
            for lib in [&expr_c, &cxx.0, &cxx.1] {
                for dir in &lib.include_paths {
                    cc.include(dir);
                }
                for (k, v) in &lib.defines {
                    cc.define(k, v.as_deref());
                }
            }
            for flag in cxx_extra_flags() {
                cc.flag(&flag);
            }
            cc.compile("clan_nix_shim");
        }
    }

    /// Flags of `pkg-config --cflags nix-expr` that are not include paths or defines (e.g. the
    /// `-include config-*.hh` of Nix 2.26, and its `-std=`).
    fn cxx_extra_flags() -> Vec<String> {
        let out = std::process::Command::new(
            env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into()),
        )
        .args(["--cflags", "nix-expr", "nix-fetchers"])
        .output()
        .expect("pkg-config runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut flags = Vec::new();
        let mut words = text.split_whitespace();
        while let Some(w) = words.next() {
            if w == "-include" {
                if let Some(f) = words.next() {
                    flags.push("-include".to_owned());
                    flags.push(f.to_owned());
                }
            } else if w.starts_with("-std=") {
                flags.push(w.to_owned());
            }
        }
        flags
    }
}
