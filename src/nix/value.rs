//! Value handles.

use std::marker::PhantomData;
use std::ptr::NonNull;

use super::ffi;
use super::state::{Error, State};

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

/// How a [`Value`] keeps its value alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// By a reference of the handle's own in Nix's GC root table, released on drop.
    Counted,
    /// By the call: the value is reachable from the call's argument.
    Borrowed,
    /// By an [`Anchored`] that hands the handle out only by reference (see [`State::anchor`]).
    #[cfg_attr(nix_lazy_getters, allow(dead_code))] // only where a handle is the value itself
    Anchored,
}

/// A handle to a Nix value, valid for one primop call (`'s`).
///
/// A handle is *counted* when the plugin holds a reference in Nix's GC root table (values it
/// allocated, or handles the C API gave it with a reference): it then releases the reference on
/// drop. Otherwise it is *borrowed*: it points into the call's argument, which Nix keeps alive for
/// the whole call; or *anchored*: it points into an argument that an [`Anchored`] keeps alive.
pub(crate) struct Value<'s> {
    ptr: NonNull<ffi::nix_value>,
    ctx: *mut ffi::nix_c_context,
    hold: Hold,
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
            hold: Hold::Borrowed,
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
            hold: Hold::Counted,
            _call: PhantomData,
        }
    }

    /// A handle that outlives the call: the value stays in Nix's GC root table until the handle is
    /// dropped, which may be during a later primop call (the per-machine results) or when the
    /// plugin releases what a collected fleet held ([`super::external::release_dead`]). Counted handles keep
    /// their reference; borrowed and anchored ones take one.
    pub(crate) fn persist(self) -> Result<Value<'static>, Error> {
        let ctx = own_context()?;
        let this = std::mem::ManuallyDrop::new(self);
        if this.hold != Hold::Counted {
            // SAFETY: the handle is valid now (for the running call, or while its anchor lives,
            // which a borrow of it shows); the new reference is released by the persistent
            // handle's drop.
            unsafe { ffi::nix_value_incref(ctx, this.ptr.as_ptr()) };
        }
        Ok(Value {
            ptr: this.ptr,
            ctx,
            hold: Hold::Counted,
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
    /// A borrowed handle's clone is borrowed too; a counted or anchored one's takes a reference,
    /// so that it stands alone (an anchored handle's clone may outlive the anchor's borrow).
    fn clone(&self) -> Self {
        match self.hold {
            Hold::Borrowed => Value {
                ptr: self.ptr,
                ctx: self.ctx,
                hold: Hold::Borrowed,
                _call: PhantomData,
            },
            Hold::Counted | Hold::Anchored => {
                // SAFETY: the handle is valid (for the call, or while its anchor lives) and ctx is
                // a live context; the new reference is released by the clone's drop.
                unsafe { ffi::nix_value_incref(self.ctx, self.ptr.as_ptr()) };
                Value {
                    ptr: self.ptr,
                    ctx: self.ctx,
                    hold: Hold::Counted,
                    _call: PhantomData,
                }
            }
        }
    }
}

impl Drop for Value<'_> {
    fn drop(&mut self) {
        if self.hold == Hold::Counted {
            // SAFETY: this handle owns one reference to a value that is valid for the call.
            unsafe { ffi::nix_value_decref(self.ctx, self.ptr.as_ptr()) };
        }
    }
}

/// A handle to the argument of a call (its *root*) or to a value read from it through
/// [`State::attrs_lazy`] and [`State::list_lazy`]: what [`State::anchor`] can keep beyond the call
/// without a reference per value.
#[derive(Clone)]
pub(crate) struct Rooted<'s> {
    value: Value<'s>,
    /// The root's address: only values of the root that is anchored are anchored.
    root: usize,
}

impl<'s> Rooted<'s> {
    /// `v` as the root of what is read from it.
    pub(crate) fn root(v: &Value<'s>) -> Self {
        Rooted {
            value: v.clone(),
            root: v.as_ptr() as usize,
        }
    }

    /// `v`, read from this value's attribute set or list, under the same root.
    pub(super) fn child(&self, v: Value<'s>) -> Self {
        Rooted {
            value: v,
            root: self.root,
        }
    }
}

impl<'s> std::ops::Deref for Rooted<'s> {
    type Target = Value<'s>;
    fn deref(&self) -> &Value<'s> {
        &self.value
    }
}

/// What [`State::anchor`] hands its `map`: keeps one value read from the root beyond the call.
pub(crate) type Keep<'k, 's> = dyn FnMut(Rooted<'s>) -> Result<Value<'static>, Error> + 'k;

/// Data whose Nix values are kept alive beyond the call that read them (see [`State::anchor`]),
/// lent only by reference: a handle taken out of it is a clone, which holds its own reference.
pub(crate) struct Anchored<T> {
    data: T,
    /// What keeps the data's anchored handles valid; dropped after them (field order). Held,
    /// never read.
    #[allow(dead_code)]
    anchor: Option<Value<'static>>,
}

impl<T> Anchored<T> {
    pub(crate) fn get(&self) -> &T {
        &self.data
    }
}

impl<'s> State<'s> {
    /// `data`, values read from `root` (a forced value), turned by `map` into data that outlives
    /// the call: `map` gets a function that keeps one value beyond the call, and must put what it
    /// returns into the data it makes, nowhere else (it is a `fn`, so it captures nothing).
    ///
    /// Where a handle is the `nix::Value` itself (Nix < 2.32, whose getters of elements take no
    /// reference), one reference to a copy of the root keeps every value read from it alive, and
    /// the values are not counted one by one; elsewhere each value takes a reference.
    #[cfg_attr(nix_lazy_getters, allow(clippy::unused_self))] // the state allocates the anchor
    pub(crate) fn anchor<T, U>(
        &self,
        root: &Rooted<'s>,
        data: T,
        map: fn(T, &mut Keep<'_, 's>) -> Result<U, Error>,
    ) -> Result<Anchored<U>, Error> {
        #[cfg(not(nix_lazy_getters))]
        {
            let ctx = own_context()?;
            // The root's cell may be one that does not outlive the call (the C API hands primops
            // the argument's cell, wherever its caller keeps it): the anchor is a copy of it, in a
            // value of ours, which refers to the same attribute set.
            let copy = self.alloc()?;
            self.copy_into(&copy, root)?;
            let anchor = copy.persist()?;
            let id = root.root;
            let data = map(data, &mut |v: Rooted<'s>| {
                // The root's own cell is not kept by the anchor (a copy of it is): it takes a
                // reference like any value of another root.
                if v.root != id || v.value.hold != Hold::Borrowed || v.value.as_ptr() as usize == id
                {
                    return v.value.persist();
                }
                let this = std::mem::ManuallyDrop::new(v.value);
                // SAFETY (what makes the handle valid as long as `anchor`): before Nix 2.32 a
                // handle is the `nix::Value *` itself, and a borrowed one under this root other
                // than the root was read from it by attrs_lazy / list_lazy, transitively (`Rooted` is
                // made no other way, and the root's address matched). So the value is reachable
                // from the root's attribute set: `anchor`, a GC-allocated copy of the root with a
                // reference in the root table, points to the root's `Bindings`, which point to the
                // attributes' value cells, and so on through every set and list read. Nix never
                // changes a forced attribute set or list (bindings and list elements are
                // immutable once made), and forcing a thunk writes its result into the same cell,
                // so these cells stay reachable from `anchor` whatever is forced later, and the
                // GC keeps them. The handle goes into data that `Anchored` lends only by
                // reference, beside `anchor`, and is dropped before it; a clone takes a
                // reference of its own (`Clone for Value`), so none outlives `anchor`.
                Ok(Value {
                    ptr: this.ptr,
                    ctx,
                    hold: Hold::Anchored,
                    _call: PhantomData,
                })
            })?;
            Ok(Anchored {
                data,
                anchor: Some(anchor),
            })
        }
        #[cfg(nix_lazy_getters)]
        {
            // From 2.32 the getters give handles with a reference each (from 2.33 each a separate
            // allocation, which only its reference keeps alive): keep them as they are.
            let _ = root;
            let data = map(data, &mut |v: Rooted<'s>| v.value.persist())?;
            Ok(Anchored { data, anchor: None })
        }
    }
}
