//! Registering primops, and the one `extern "C"` trampoline every call goes through: it lends the
//! call's state to safe code, and turns an error or a panic into an evaluation error, so that
//! nothing unwinds into Nix and nothing aborts it.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::Once;

use super::ffi;
use super::state::State;
use super::value::Value;

/// The body of a primop: its arguments and the return slot, which it must fill (with a value that
/// is not a thunk) or leave alone and return an error.
pub(crate) type PrimopFn = for<'s> fn(&State<'s>, &[Value<'s>], &Value<'s>) -> Result<(), String>;

struct Primop {
    arity: usize,
    body: PrimopFn,
}

thread_local! {
    /// The message and place of the last panic on this thread, kept by our panic hook so that the
    /// trampoline can report it instead of letting Rust print it.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            // Only panics inside our primop are ours to silence; the flag is set by the trampoline.
            if IN_PRIMOP.with(Cell::get) > 0 {
                let place = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| {
                    *p.borrow_mut() = Some(format!("{}{place}", payload_text(info.payload())));
                });
            } else {
                previous(info);
            }
        }));
    });
}

thread_local! {
    /// How many of our primop calls are running on this thread (they nest when a lazy value
    /// calls the builtin again).
    static IN_PRIMOP: Cell<u32> = const { Cell::new(0) };
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

/// Registers `body` as the builtin `name` (use a `__` prefix to get `builtins.<name>` without a new
/// global). Must run in `nix_plugin_entry`, before Nix creates its evaluator.
pub(crate) fn register(
    name: &'static CStr,
    args: &'static [&'static CStr],
    doc: &'static CStr,
    body: PrimopFn,
) -> Result<(), String> {
    with_context(|ctx| {
        let op = alloc(ctx, name, args, doc, body)?;
        // SAFETY: op is a live primop with the reference nix_alloc_primop took, released here
        // once Nix has its copy.
        unsafe {
            ffi::nix_register_primop(ctx, op.as_ptr());
            let registered = ffi::nix_err_code(ctx) == ffi::NIX_OK;
            ffi::nix_gc_decref(ctx, op.as_ptr().cast::<c_void>().cast_const());
            if registered {
                Ok(())
            } else {
                Err(format!(
                    "could not register the primop {}",
                    name.to_string_lossy()
                ))
            }
        }
    })
}

/// A primop that is registered under no name: only the plugin makes values of it
/// ([`State::primop`](super::State::primop)), so only the plugin chooses its arguments.
pub(crate) struct PrivatePrimop(NonNull<ffi::PrimOp>);

// SAFETY: the primop is allocated once, kept alive for the process by the reference that is never
// released, never mutated, and only handed to Nix on the evaluator's thread.
unsafe impl Send for PrivatePrimop {}
// SAFETY: as above.
unsafe impl Sync for PrivatePrimop {}

impl PrivatePrimop {
    pub(super) fn as_ptr(&self) -> *mut ffi::PrimOp {
        self.0.as_ptr()
    }
}

/// Allocates `body` as a primop that is not registered (see [`PrivatePrimop`]). Like
/// [`register`], for `nix_plugin_entry`.
pub(crate) fn private(
    name: &'static CStr,
    args: &'static [&'static CStr],
    doc: &'static CStr,
    body: PrimopFn,
) -> Result<PrivatePrimop, String> {
    // The reference nix_alloc_primop took is kept: the primop is a GC root for ever.
    with_context(|ctx| alloc(ctx, name, args, doc, body).map(PrivatePrimop))
}

/// Runs `f` with a fresh context, freed afterwards.
fn with_context<R>(
    f: impl FnOnce(*mut ffi::nix_c_context) -> Result<R, String>,
) -> Result<R, String> {
    // SAFETY: a fresh context, freed below; never NULL, so Nix reports errors instead of throwing.
    let ctx = unsafe { ffi::nix_c_context_create() };
    if ctx.is_null() {
        return Err("could not create a Nix context".to_owned());
    }
    let result = f(ctx);
    // SAFETY: ctx came from nix_c_context_create and is freed once.
    unsafe { ffi::nix_c_context_free(ctx) };
    result
}

/// A new primop whose calls go through the trampoline to `body`, with one reference of ours.
fn alloc(
    ctx: *mut ffi::nix_c_context,
    name: &'static CStr,
    args: &'static [&'static CStr],
    doc: &'static CStr,
    body: PrimopFn,
) -> Result<NonNull<ffi::PrimOp>, String> {
    install_panic_hook();
    // The primop lives as long as the process; so do its definition and argument names.
    let def: &'static Primop = Box::leak(Box::new(Primop {
        arity: args.len(),
        body,
    }));
    let mut names: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
    names.push(std::ptr::null());
    let names: &'static [*const c_char] = Box::leak(names.into_boxed_slice());
    let arity = c_int::try_from(args.len()).map_err(|_| "too many arguments".to_owned())?;
    // SAFETY: name, names and doc are 'static and NUL-terminated (doc must be non-null and static
    // on Nix <= 2.32, which stores the pointer); def is 'static user data for the trampoline.
    let op = unsafe {
        ffi::nix_alloc_primop(
            ctx,
            Some(trampoline),
            arity,
            name.as_ptr(),
            names.as_ptr().cast_mut(),
            doc.as_ptr(),
            std::ptr::from_ref(def).cast_mut().cast::<c_void>(),
        )
    };
    // SAFETY: ctx is live.
    let ok = unsafe { ffi::nix_err_code(ctx) } == ffi::NIX_OK;
    match NonNull::new(op) {
        Some(op) if ok => Ok(op),
        _ => Err(format!(
            "could not allocate the primop {}",
            name.to_string_lossy()
        )),
    }
}

unsafe extern "C" fn trampoline(
    user_data: *mut c_void,
    ctx: *mut ffi::nix_c_context,
    state: *mut ffi::EvalState,
    args: *mut *mut ffi::nix_value,
    ret: *mut ffi::nix_value,
) {
    IN_PRIMOP.with(|d| d.set(d.get() + 1));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        // Data of the plugin that Nix collected since the last call is released here, where
        // calling Nix is allowed (see external.rs).
        super::external::release_dead();
        // SAFETY: user_data is the 'static Primop given to nix_alloc_primop.
        let def = unsafe { &*user_data.cast::<Primop>() };
        // SAFETY: ctx and state are this call's, used on this thread until we return.
        let st = unsafe { State::from_callback(ctx, state) };
        let mut values = Vec::with_capacity(def.arity);
        for i in 0..def.arity {
            // SAFETY: Nix passes exactly `arity` argument pointers.
            let ptr = unsafe { *args.add(i) };
            let ptr = NonNull::new(ptr).ok_or("internal error: null argument")?;
            // SAFETY: arguments are kept alive by the caller for the whole call. On Nix >= 2.33
            // each is a handle with a reference, released once after the body (below).
            values.push(unsafe { Value::borrowed(ptr, ctx) });
        }
        let ret = NonNull::new(ret).ok_or("internal error: null return slot")?;
        // SAFETY: the return slot lives for the call; it is Nix's, not ours to release.
        let ret = unsafe { Value::borrowed(ret, ctx) };
        (def.body)(&st, &values, &ret)
    }));
    IN_PRIMOP.with(|d| d.set(d.get().saturating_sub(1)));
    #[cfg(nix_primop_leaks_handles)]
    // SAFETY: the body has returned and every `Value` of it is dropped; the handles are this
    // call's, and nothing reads them after we return (Nix reads the value behind `ret`).
    unsafe {
        release_call_handles(user_data, ctx, args, ret);
    }
    let message = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(message)) => message,
        Err(payload) => {
            let detail = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| payload_text(payload.as_ref()));
            format!(
                "internal error: {detail} (please report this bug of the clan-inventory plugin)"
            )
        }
    };
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: ctx is this call's context; setting the error last makes Nix raise it as an
    // evaluation error after we return.
    unsafe { ffi::nix_set_err_msg(ctx, ffi::NIX_ERR_UNKNOWN, message.as_ptr()) };
}

/// Nix 2.33 to 2.35 make a counted handle for each argument and for the return slot of a primop
/// call (`new_nix_value` in `nix_c_primop_wrapper`) and never release them: each call would leave
/// its argument reachable from the C API's root table for ever. The plugin releases them.
///
/// # Safety
/// The pointers must be the ones Nix passed to the running callback, after the body has dropped
/// every handle it made from them, and this must run once per call.
#[cfg(nix_primop_leaks_handles)]
unsafe fn release_call_handles(
    user_data: *mut c_void,
    ctx: *mut ffi::nix_c_context,
    args: *mut *mut ffi::nix_value,
    ret: *mut ffi::nix_value,
) {
    // SAFETY: user_data is the 'static Primop given to nix_alloc_primop; Nix passes `arity`
    // arguments; each handle carries the one reference the wrapper took.
    unsafe {
        let def = &*user_data.cast::<Primop>();
        for i in 0..def.arity {
            let arg = *args.add(i);
            if !arg.is_null() {
                ffi::nix_value_decref(ctx, arg);
            }
        }
        if !ret.is_null() {
            ffi::nix_value_decref(ctx, ret);
        }
        // A failed release (a Nix that released them itself) must not fail the call.
        ffi::nix_clear_err(ctx);
    }
}
