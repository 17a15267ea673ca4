//! Rust data owned by Nix's garbage collector: an External value whose finalizer gives the data
//! back to the plugin when nothing refers to it any more. The per-machine results hold one, so
//! that the decoded inventory and its resolution outlive the builtin's call.
//!
//! The finalizer does not drop the data itself. Boehm runs finalizers inside whatever allocation
//! triggers them, which can be inside the C API's own reference table (`nix_gc_incref` holds its
//! lock while it allocates): releasing the data's Nix references from there could deadlock or
//! corrupt that table. So the finalizer only queues the data, and the plugin drops what is queued
//! at the start of its next primop call ([`release_dead`]), where calling Nix is allowed.

use std::any::Any;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::{Mutex, PoisonError};

use rustc_hash::FxHashMap as HashMap;

use super::ffi;
use super::state::{Error, State};
use super::value::{own_context, Type, Value};

/// What the External's pointer points to: the data, boxed twice so that the pointer is thin.
type Payload = Box<dyn Any>;

/// The id of a payload whose External was collected.
struct Dead(usize);

/// Payloads whose External was collected, waiting to be dropped.
static DEAD: Mutex<Vec<Dead>> = Mutex::new(Vec::new());

/// How many payloads exist: made and not dropped yet (the tests read it to see data released).
static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Drops the data of collected External values. Called at the start of every primop call of the
/// plugin, on the evaluator's thread.
pub(crate) fn release_dead() {
    let dead = std::mem::take(&mut *DEAD.lock().unwrap_or_else(PoisonError::into_inner));
    for Dead(id) in dead {
        let Some(address) = payloads().as_mut().and_then(|p| p.remove(&id)) else {
            continue;
        };
        // SAFETY: the address is a `Box<Payload>` leaked by `State::new_external`, removed from
        // PAYLOADS just now (so dropped once); its External is gone.
        drop(unsafe { Box::from_raw(address as *mut Payload) });
        LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How many External payloads of the plugin are alive (made and not yet released).
#[cfg(feature = "test-hooks")]
pub(crate) fn live_externals() -> usize {
    LIVE.load(std::sync::atomic::Ordering::Relaxed)
}

unsafe extern "C" fn finalize(_object: *mut c_void, id: *mut c_void) {
    // Nothing may unwind into the collector; a poisoned lock still holds a valid queue.
    let _ = std::panic::catch_unwind(|| {
        DEAD.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Dead(id as usize));
    });
}

unsafe extern "C" fn print(_payload: *mut c_void, printer: *mut ffi::nix_printer) {
    let Ok(ctx) = own_context() else { return };
    // SAFETY: Nix passes a live printer; the text is static and NUL-terminated.
    unsafe {
        ffi::nix_external_print(ctx, printer, c"«clan-inventory fleet»".as_ptr());
        ffi::nix_clear_err(ctx);
    }
}

unsafe extern "C" fn type_name(_payload: *mut c_void, res: *mut ffi::nix_string_return) {
    // SAFETY: Nix passes a live return slot; the text is copied.
    unsafe { ffi::nix_set_string_return(res, c"clan-inventory-fleet".as_ptr()) };
}

/// The class of the plugin's External values. Nix keeps a reference to it in every one of them,
/// so it is a `static`; only `print`, `showType` and `typeOf` are required.
static mut DESC: ffi::NixCExternalValueDesc = ffi::NixCExternalValueDesc {
    print: Some(print),
    showType: Some(type_name),
    typeOf: Some(type_name),
    coerceToString: None,
    equal: None,
    printValueAsJSON: None,
    printValueAsXML: None,
};

/// Names a payload: the External value's pointer cannot be read back through the C API
/// (`nix_get_external` refuses every initialised value in Nix 2.26 to 2.35: it checks its argument
/// as an output), so the plugin passes this number next to the External, which is only the
/// payload's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ExternalId(pub(crate) i64);

/// The payloads by id, as addresses of `Box<Payload>`s: alive from `new_external` until
/// `release_dead` drops them.
static PAYLOADS: Mutex<Option<HashMap<usize, usize>>> = Mutex::new(None);

static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

fn payloads() -> std::sync::MutexGuard<'static, Option<HashMap<usize, usize>>> {
    PAYLOADS.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<'s> State<'s> {
    /// A new External value that owns `data` until Nix collects it (and the plugin's next call
    /// releases it), and the id under which [`State::external`] finds the data.
    pub(crate) fn new_external<T: Any>(&self, data: T) -> Result<(Value<'s>, ExternalId), Error> {
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let payload: Box<Payload> = Box::new(Box::new(data));
        let payload = Box::into_raw(payload);
        LIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        payloads()
            .get_or_insert_with(HashMap::default)
            .insert(id, payload as usize);
        let forget = || {
            payloads().as_mut().and_then(|p| p.remove(&id));
            // SAFETY: no External owns the payload: take it back.
            drop(unsafe { Box::from_raw(payload) });
            LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        };
        // SAFETY: DESC is static and only read by Nix; the External refers to the payload only
        // as an opaque pointer.
        let ext = unsafe {
            ffi::nix_create_external_value(self.ctx(), &raw mut DESC, payload.cast::<c_void>())
        };
        let ext = match (self.check(), NonNull::new(ext)) {
            (Ok(()), Some(ext)) => ext,
            (result, _) => {
                forget();
                result?;
                return Err(Error(
                    "internal error: could not make an external value".into(),
                ));
            }
        };
        // SAFETY: ext is the start of a GC object that Nix just allocated; from now on its
        // collection queues the payload's id (an integer, passed as the client data pointer).
        unsafe {
            ffi::nix_gc_register_finalizer(
                ext.as_ptr().cast::<c_void>(),
                id as *mut c_void,
                Some(finalize),
            );
        }
        let v = self.alloc()?;
        // SAFETY: v is fresh; the value refers to ext, which keeps it alive from now on.
        let code = unsafe { ffi::nix_init_external(self.ctx(), v.as_ptr(), ext.as_ptr()) };
        // SAFETY: nix_create_external_value took a reference for us; the value holds it now.
        unsafe { ffi::nix_gc_decref(self.ctx(), ext.as_ptr().cast::<c_void>().cast_const()) };
        self.check_code(code)?;
        let id = i64::try_from(id)
            .map_err(|_| Error("internal error: too many external values".into()))?;
        Ok((v, ExternalId(id)))
    }

    /// The data that [`State::new_external`] made with a `T` under `id`, borrowed for the call.
    /// `token` must be the External value made with it, an argument of the running call: it
    /// keeps the data from being released before the call ends.
    ///
    /// Only the plugin pairs tokens and ids: the primops that take them are never registered
    /// under a name, and only the plugin applies them.
    pub(crate) fn external<T: Any>(
        &self,
        token: &Value<'s>,
        id: &Value<'s>,
    ) -> Result<&'s T, Error> {
        if self.force(token)? != Type::External {
            return Err(Error(
                "internal error: expected the plugin's external value".into(),
            ));
        }
        self.force(id)?;
        let id = usize::try_from(self.int(id)?)
            .map_err(|_| Error("internal error: not an id of the plugin".into()))?;
        let address = payloads()
            .as_ref()
            .and_then(|p| p.get(&id).copied())
            .ok_or_else(|| Error("internal error: the plugin's data is gone".into()))?;
        // SAFETY: the address is a live `Box<Payload>` (it is in PAYLOADS); its External is the
        // call's argument `token`, so it is not queued, let alone released, before the call ends.
        let payload: &'s Payload = unsafe { &*(address as *const Payload) };
        payload
            .downcast_ref::<T>()
            .ok_or_else(|| Error("internal error: external value of another kind".into()))
    }
}
