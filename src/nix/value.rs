//! Value handles.

use std::marker::PhantomData;
use std::ptr::NonNull;

use super::ffi;
use super::state::Error;

thread_local! {
    /// The plugin's own context on this thread, for what persistent handles do outside the call
    /// that made them (taking and releasing references; nothing there is expected to fail). Made
    /// on first use and kept for the thread's life: a call's own context dies with the call.
    static OWN_CONTEXT: std::cell::Cell<*mut ffi::nix_c_context> =
        const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// This thread's [`OWN_CONTEXT`].
pub(super) fn own_context() -> Result<*mut ffi::nix_c_context, Error> {
    OWN_CONTEXT.with(|c| {
        if c.get().is_null() {
            // SAFETY: creates a context that nothing frees (one per thread, for the process's life).
            c.set(unsafe { ffi::nix_c_context_create() });
        }
        let ctx = c.get();
        if ctx.is_null() {
            Err(Error(
                "internal error: could not create a Nix context".into(),
            ))
        } else {
            Ok(ctx)
        }
    })
}

/// What a value is. `Thunk` only before forcing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    Thunk,
    Int,
    Float,
    Bool,
    String,
    Path,
    Null,
    Attrs,
    List,
    Function,
    External,
    /// A value whose evaluation already threw (Nix 2.34+): forcing it again rethrows the error.
    #[cfg_attr(not(nix_failed_type), allow(dead_code))] // older Nix has no such type
    Failed,
    /// A type this plugin does not know (a newer Nix's, say).
    Other,
}

impl Type {
    pub(super) fn from_raw(t: ffi::ValueType) -> Type {
        match t {
            ffi::NIX_TYPE_THUNK => Type::Thunk,
            ffi::NIX_TYPE_INT => Type::Int,
            ffi::NIX_TYPE_FLOAT => Type::Float,
            ffi::NIX_TYPE_BOOL => Type::Bool,
            ffi::NIX_TYPE_STRING => Type::String,
            ffi::NIX_TYPE_PATH => Type::Path,
            ffi::NIX_TYPE_NULL => Type::Null,
            ffi::NIX_TYPE_ATTRS => Type::Attrs,
            ffi::NIX_TYPE_LIST => Type::List,
            ffi::NIX_TYPE_FUNCTION => Type::Function,
            ffi::NIX_TYPE_EXTERNAL => Type::External,
            #[cfg(nix_failed_type)]
            ffi::NIX_TYPE_FAILED => Type::Failed,
            _ => Type::Other,
        }
    }
}

/// A handle to a Nix value, valid for one primop call (`'s`).
///
/// A handle is *counted* when the plugin holds a reference in Nix's GC root table (values it
/// allocated, or handles the C API gave it with a reference): it then releases the reference on
/// drop. Otherwise it is *borrowed*: it points into the call's argument, which Nix keeps alive for
/// the whole call.
pub(crate) struct Value<'s> {
    ptr: NonNull<ffi::nix_value>,
    ctx: *mut ffi::nix_c_context,
    counted: bool,
    _call: PhantomData<&'s ()>,
}

impl Value<'_> {
    /// # Safety
    /// `ptr` must be a valid value for the call that `ctx` belongs to, and stay valid for `'s`
    /// without a reference of ours (it is reachable from the call's arguments).
    pub(super) unsafe fn borrowed(
        ptr: NonNull<ffi::nix_value>,
        ctx: *mut ffi::nix_c_context,
    ) -> Self {
        Value {
            ptr,
            ctx,
            counted: false,
            _call: PhantomData,
        }
    }

    /// # Safety
    /// `ptr` must be a valid value that carries one reference (`nix_value_incref`) that this handle
    /// now owns; `ctx` must be the call's context.
    pub(super) unsafe fn counted(
        ptr: NonNull<ffi::nix_value>,
        ctx: *mut ffi::nix_c_context,
    ) -> Self {
        Value {
            ptr,
            ctx,
            counted: true,
            _call: PhantomData,
        }
    }

    /// A handle that outlives the call: the value stays in Nix's GC root table until the handle is
    /// dropped, which may be during a later primop call (the per-machine results) or when the
    /// plugin releases what a collected fleet held ([`super::external::release_dead`]). Counted handles keep
    /// their reference; borrowed ones take one.
    pub(crate) fn persist(self) -> Result<Value<'static>, Error> {
        let ctx = own_context()?;
        let this = std::mem::ManuallyDrop::new(self);
        if !this.counted {
            // SAFETY: the handle is valid for the running call; the new reference is released by
            // the persistent handle's drop.
            unsafe { ffi::nix_value_incref(ctx, this.ptr.as_ptr()) };
        }
        Ok(Value {
            ptr: this.ptr,
            ctx,
            counted: true,
            _call: PhantomData,
        })
    }

    pub(super) fn as_ptr(&self) -> *mut ffi::nix_value {
        self.ptr.as_ptr()
    }

    /// An address that identifies the underlying Nix value for the call (for caches keyed by
    /// value): the same for two handles of one value, which a value reached twice has on Nix 2.33+.
    pub(crate) fn identity(&self) -> usize {
        #[cfg(nix_handle_layout_known)]
        {
            // SAFETY: from Nix 2.33 a handle is `struct nix_value { nix::Value * value; ... }`
            // (build.rs checked the installed nix_api_expr_internal.h); the handle is valid for the
            // call, so its first field can be read. Only the address is used, never dereferenced.
            let inner = unsafe { *self.ptr.as_ptr().cast::<*const std::ffi::c_void>() };
            inner as usize
        }
        // Before 2.33 the handle is the value itself. On a 2.33+ Nix whose layout build.rs could
        // not confirm, two handles of one value stay two keys: results are the same, only unshared.
        #[cfg(not(nix_handle_layout_known))]
        {
            self.ptr.as_ptr() as usize
        }
    }
}

impl Clone for Value<'_> {
    fn clone(&self) -> Self {
        if self.counted {
            // SAFETY: the handle is valid for the call and ctx is the call's context; the new
            // reference is released by the clone's drop.
            unsafe { ffi::nix_value_incref(self.ctx, self.ptr.as_ptr()) };
        }
        Value {
            ptr: self.ptr,
            ctx: self.ctx,
            counted: self.counted,
            _call: PhantomData,
        }
    }
}

impl Drop for Value<'_> {
    fn drop(&mut self) {
        if self.counted {
            // SAFETY: this handle owns one reference to a value that is valid for the call.
            unsafe { ffi::nix_value_decref(self.ctx, self.ptr.as_ptr()) };
        }
    }
}
