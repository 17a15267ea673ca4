//! The only home of `unsafe`: a small safe layer over the Nix C API for the scope of one primop
//! call. Three kinds of ownership, one type each: [`State`] borrows what Nix lends to one call,
//! [`Value`] is a handle (counted when the plugin allocated it), and the builders free themselves.
//! One checking path ([`State::check`]) turns C error codes into [`Error`].

mod external;
mod ffi;
mod joined;
mod primop;
mod state;
mod value;

#[cfg(feature = "test-hooks")]
pub(crate) use external::live_externals;
pub(crate) use joined::{Family, Joined};
pub(crate) use primop::{private, register, PrivatePrimop};
pub(crate) use state::{Error, State};
pub(crate) use value::{Anchored, Rooted, Type, Value};

/// Why the plugin must not register in this process, if it must not: it was built against another
/// Nix than the one loading it (the C API's structures differ between versions).
///
/// The loader (loader.c) makes the same check before it opens this file; this one guards a plugin
/// given to Nix directly. `nix` links only the C++ libraries, so `nix_version_get` would answer
/// from the C API library the plugin brought along, naming the plugin's own build: the running Nix
/// is asked through `nix::nixVersion` instead. Where that cannot be read, nothing is known.
pub(crate) fn version_mismatch() -> Option<String> {
    let built = env!("CLAN_NIX_BUILT_AGAINST");
    let running = running_nix_version()?;
    (running != built).then(|| format!("built for Nix {built}, loaded into Nix {running}"))
}

/// [`running_nix_version`], for the test hook that shows what the load-time check reads.
#[cfg(feature = "test-hooks")]
pub(crate) fn running_nix_version_for_tests() -> Option<String> {
    running_nix_version()
}

/// The version of the Nix running this process: the `std::string nix::nixVersion` of its
/// libnixstore. Only where the layout of `std::string` is known (libstdc++ on Linux); `None`
/// elsewhere, or where the symbol is not in the global scope.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn running_nix_version() -> Option<String> {
    /// libstdc++'s `std::string` (the C++11 ABI): data pointer, then length.
    #[repr(C)]
    struct CxxString {
        data: *const u8,
        len: usize,
    }
    extern "C" {
        fn dlsym(
            handle: *mut std::ffi::c_void,
            symbol: *const std::ffi::c_char,
        ) -> *mut std::ffi::c_void;
    }
    // RTLD_DEFAULT (a null handle on glibc): the executable and the libraries it was started with,
    // not the plugin's own dependencies, which Nix opens with RTLD_LOCAL.
    // SAFETY: dlsym only reads the symbol table; the name is NUL-terminated.
    let sym = unsafe {
        dlsym(
            std::ptr::null_mut(),
            c"_ZN3nix10nixVersionB5cxx11E".as_ptr(),
        )
    };
    if sym.is_null() {
        return None;
    }
    // SAFETY: the symbol is `std::string nix::nixVersion` of libnixstore (globals.hh in 2.26 to
    // 2.35), initialised before any plugin is loaded; its first two words are libstdc++'s data
    // pointer and length, and the bytes are read, not kept.
    let text = unsafe {
        let s = &*sym.cast::<CxxString>();
        if s.data.is_null() || s.len > 256 {
            return None;
        }
        std::slice::from_raw_parts(s.data, s.len).to_vec()
    };
    String::from_utf8(text).ok()
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn running_nix_version() -> Option<String> {
    None
}

/// Forces a full garbage collection (test hooks only: it is slow).
#[cfg(feature = "test-hooks")]
pub(crate) fn gc_now() {
    // SAFETY: called on the evaluator's thread during a primop call, where Nix allows collections.
    unsafe { ffi::nix_gc_now() };
}
