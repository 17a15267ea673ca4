//! The only home of `unsafe`: a small safe layer over the Nix C API for the scope of one primop
//! call. Three kinds of ownership, one type each: [`State`] borrows what Nix lends to one call,
//! [`Value`] is a handle (counted when the plugin allocated it), and the builders free themselves.
//! One checking path ([`State::check`]) turns C error codes into [`Error`].

mod ffi;
mod primop;
mod state;
mod value;

pub(crate) use primop::register;
pub(crate) use state::{Error, State};
pub(crate) use value::{Type, Value};

/// Why the plugin must not register in this process, if it must not: it was built against another
/// Nix than the one loading it (the C API's structures differ between versions).
///
/// Two ways to meet another Nix: where the libraries' SONAMEs are the same across versions (before
/// 2.32), the plugin's C API binds to the running Nix, whose version then differs from ours; where
/// they carry the version (2.32+), the dynamic loader brings in a second copy of our Nix's
/// libraries beside the running one's, which answers our own version, and a primop registered there
/// would reach no evaluator. The second is seen in the process's mappings.
pub(crate) fn version_mismatch() -> Option<String> {
    let built = env!("CLAN_NIX_BUILT_AGAINST");
    // SAFETY: nix_version_get returns a static NUL-terminated string.
    let running = unsafe { std::ffi::CStr::from_ptr(ffi::nix_version_get()) }
        .to_string_lossy()
        .into_owned();
    if running != built {
        return Some(format!("built for Nix {built}, loaded into Nix {running}"));
    }
    let copies = loaded_libraries("libnixexpr.so");
    if copies.len() > 1 {
        return Some(format!(
            "built for Nix {built}, loaded into another Nix (two copies of libnixexpr in this process: {})",
            copies.join(", ")
        ));
    }
    None
}

/// The distinct files mapped into this process whose name starts with `stem` (Linux; elsewhere
/// nothing is known, and the version check alone decides).
fn loaded_libraries(stem: &str) -> Vec<String> {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    let mut found: Vec<String> = Vec::new();
    for path in maps.lines().filter_map(|l| l.split_whitespace().nth(5)) {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.starts_with(stem) {
            let real = std::fs::canonicalize(path)
                .map_or_else(|_| path.to_owned(), |p| p.display().to_string());
            if !found.contains(&real) {
                found.push(real);
            }
        }
    }
    found
}

/// Forces a full garbage collection (test hooks only: it is slow).
#[cfg(feature = "test-hooks")]
pub(crate) fn gc_now() {
    // SAFETY: called on the evaluator's thread during a primop call, where Nix allows collections.
    unsafe { ffi::nix_gc_now() };
}
