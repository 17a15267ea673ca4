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
pub(crate) fn version_mismatch() -> Option<String> {
    let built = env!("CLAN_NIX_BUILT_AGAINST");
    // SAFETY: nix_version_get returns a static NUL-terminated string.
    let running = unsafe { std::ffi::CStr::from_ptr(ffi::nix_version_get()) }
        .to_string_lossy()
        .into_owned();
    (running != built).then(|| format!("built for Nix {built}, loaded into Nix {running}"))
}

/// Forces a full garbage collection (test hooks only: it is slow).
#[cfg(feature = "test-hooks")]
pub(crate) fn gc_now() {
    // SAFETY: called on the evaluator's thread during a primop call, where Nix allows collections.
    unsafe { ffi::nix_gc_now() };
}
