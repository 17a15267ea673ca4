//! Build script. Without the `plugin` feature there is nothing to do: the core and the CLI need no
//! Nix. With it: find the Nix C API with pkg-config, generate bindings with bindgen, compile the C++
//! shim for old Nix versions, and emit version cfgs so code for newer Nix is one cfg away.

fn main() {
    for cfg in [
        "nix_lazy_getters",
        "nix_handle_layout_known",
        "nix_primop_leaks_handles",
        "nix_failed_type",
        "nix_state_fixed",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
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
        println!("cargo::rerun-if-changed=src/nix/loader.c");
        println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
        let expr_c = pkg_config::Config::new()
            .atleast_version("2.26")
            .probe("nix-expr-c")
            .unwrap_or_else(|e| panic!("the `plugin` feature needs the Nix C API (pkg-config nix-expr-c >= 2.26); run scripts/bootstrap-nix and set PKG_CONFIG_PATH, or see README.md: {e}"));
        let version = parse_version(&expr_c.version);
        println!("cargo::rustc-env=CLAN_NIX_BUILT_AGAINST={}", expr_c.version);
        assert!(
            !(version < (2, 26, 0) || ((2, 34, 0)..(2, 34, 1)).contains(&version)),
            "Nix {} is not supported: use 2.26 to 2.33, or 2.34.1 and later (2.34.0 passes primop \
             callbacks a state pointer that no offset can repair, NixOS/nix#12800)",
            expr_c.version
        );
        // From 2.32 the C API has getters that do not force; before, the shim reads elements.
        if version >= (2, 32, 0) {
            println!("cargo::rustc-cfg=nix_lazy_getters");
        }
        // From 2.33 a `nix_value *` is a counted handle `{ nix::Value * value; EvalMemory * mem; }`
        // made anew by every getter, instead of the `nix::Value` itself.
        if version >= (2, 33, 0) && handle_layout_known(&expr_c.include_paths) {
            println!("cargo::rustc-cfg=nix_handle_layout_known");
        }
        // 2.33 to 2.35 (read in the 2.34.8 and 2.35.2 sources) take a reference for each argument
        // handle and the return handle of a primop call and never release it: the plugin does.
        // A later Nix may release them itself, so the range stays closed until one is checked.
        if ((2, 33, 0)..(2, 36, 0)).contains(&version) {
            println!("cargo::rustc-cfg=nix_primop_leaks_handles");
        }
        // A thunk whose evaluation threw becomes a value of type NIX_TYPE_FAILED (2.34, and
        // Determinate Nix from v3.11 under an older version number): look at the header itself.
        if header_declares(&expr_c.include_paths, "nix_api_value.h", "NIX_TYPE_FAILED") {
            println!("cargo::rustc-cfg=nix_failed_type");
        }
        // 2.34.1 fixed the state pointer, and every later 2.34.x and 2.35+ has the fix.
        if version >= (2, 34, 1) {
            println!("cargo::rustc-cfg=nix_state_fixed");
        }
        // The C API libraries have no rpath of their own home: the plugin carries it, since `nix`
        // itself links only the C++ libraries; so do the test executables, which link them too.
        for dir in &expr_c.link_paths {
            println!("cargo::rustc-link-arg=-Wl,-rpath,{}", dir.display());
        }

        let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
        build_loader(&out, &expr_c.version);
        let mut builder = bindgen::Builder::default()
            .header("src/nix/wrapper.h")
            // Nix's headers use C23 attributes ([[deprecated]] on a typedef).
            .clang_arg("-std=c2x")
            .allowlist_function("nix_.*")
            .allowlist_type(
                "nix_.*|NIX_.*|ValueType|EvalState|BindingsBuilder|ListBuilder|PrimOp|PrimOpFun|ExternalValue|NixCExternalValueDesc",
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
                .flag_if_supported("-std=c++2a");
            // What the shim provides depends on the version: see shim.cc.
            if version < (2, 32, 0) {
                cc.define("CLAN_SHIM_LAZY_GETTERS", None);
            }
            if version >= (2, 30, 0) {
                cc.define("CLAN_SHIM_LIST_VIEW", None);
            }
            for lib in [&expr_c, &cxx.0, &cxx.1] {
                for dir in &lib.include_paths {
                    cc.include(dir);
                }
                for (k, v) in &lib.defines {
                    cc.define(k, v.as_deref());
                }
            }
            if let Some(std) = cxx_standard() {
                cc.flag(&std);
            }
            // Nix's own headers are not ours to warn about; the shim's code is. (/usr/include is a
            // system directory already; naming it again would break `#include_next`.)
            for dir in cxx.0.include_paths.iter().chain(&cxx.1.include_paths) {
                if !dir.starts_with("/usr/include") {
                    cc.flag(format!("-isystem{}", dir.display()));
                }
            }
            cc.compile("clan_nix_shim");
            // The shim's inline code from Nix's headers calls into the C++ libraries (from 2.31,
            // `nix::unreachable` of libnixutil): link them, or only the cdylib, whose symbols Nix
            // resolves at load time, would link, and not the test executables.
            println!("cargo::rustc-link-lib=dylib=nixexpr");
            println!("cargo::rustc-link-lib=dylib=nixutil");
        }
    }

    /// Compiles src/nix/loader.c into `libclan_inventory_loader.so` beside the crate's own
    /// artifacts (`target/<profile>/`, three levels above `OUT_DIR`), where the scripts and the
    /// package take it from. It links nothing of Nix.
    fn build_loader(out: &std::path::Path, version: &str) {
        let Some(profile_dir) = out.ancestors().nth(3) else {
            panic!("unexpected OUT_DIR {}", out.display());
        };
        let so = profile_dir.join("libclan_inventory_loader.so");
        let compiler = cc::Build::new().get_compiler();
        let status = compiler
            .to_command()
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror"])
            .arg(format!("-DCLAN_NIX_BUILT_AGAINST=\"{version}\""))
            .arg("src/nix/loader.c")
            .arg("-o")
            .arg(&so)
            .arg("-ldl")
            .status()
            .expect("the C compiler runs");
        assert!(status.success(), "could not compile src/nix/loader.c");
    }

    /// The `-std=` of `pkg-config --cflags nix-expr` (2.31 and later ask for C++23), if any.
    fn cxx_standard() -> Option<String> {
        let out = std::process::Command::new(
            env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into()),
        )
        .args(["--cflags", "nix-expr", "nix-fetchers"])
        .output()
        .expect("pkg-config runs");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .rfind(|w| w.starts_with("-std="))
            .map(str::to_owned)
    }

    /// The text of `header` in the first include directory that has it.
    fn read_header(dirs: &[PathBuf], header: &str) -> Option<String> {
        dirs.iter()
            .find_map(|d| std::fs::read_to_string(d.join(header)).ok())
    }

    fn header_declares(dirs: &[PathBuf], header: &str, name: &str) -> bool {
        read_header(dirs, header).is_some_and(|text| text.contains(name))
    }

    /// Whether `struct nix_value` starts with `nix::Value * value;`, which lets the plugin read the
    /// value a handle stands for (an identity that survives new handles). Checked in the installed
    /// header rather than assumed from the version number.
    fn handle_layout_known(dirs: &[PathBuf]) -> bool {
        let Some(text) = read_header(dirs, "nix_api_expr_internal.h") else {
            return false;
        };
        let Some(start) = text.find("struct nix_value\n{") else {
            return false;
        };
        let body = &text[start + "struct nix_value\n{".len()..];
        let first = body.lines().map(str::trim).find(|l| {
            !l.is_empty() && !l.starts_with("//") && !l.starts_with("/*") && !l.starts_with('*')
        });
        first.is_some_and(|l| l.split_whitespace().collect::<String>() == "nix::Value*value;")
    }
}
