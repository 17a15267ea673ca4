//! The evaluator lent to one primop call, and what can be done with it.

use std::ffi::{c_char, c_uint, c_void, CStr, CString};
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::ffi;
use super::value::{Rooted, Type, Value};

/// A failed C API call: the message Nix gave (an evaluation error, typically).
#[derive(Debug)]
pub(crate) struct Error(pub(crate) String);

/// The `EvalState` and context Nix hands to one primop call. Borrowed: Nix owns both and they
/// live until the call returns, which `'s` stands for.
pub(crate) struct State<'s> {
    ctx: *mut ffi::nix_c_context,
    eval: *mut ffi::EvalState,
    _call: PhantomData<&'s ()>,
}

impl<'s> State<'s> {
    /// # Safety
    /// `ctx` and `state` must be the pointers Nix passed to the running primop callback, used only
    /// on its thread and only until the callback returns.
    pub(super) unsafe fn from_callback(
        ctx: *mut ffi::nix_c_context,
        state: *mut ffi::EvalState,
    ) -> Self {
        #[cfg(not(nix_state_fixed))]
        // SAFETY: before 2.34.1 Nix passes the inner nix::EvalState, which is a member of the
        // C API's EvalState wrapper; the shim subtracts the member's offset (NixOS/nix#12800).
        let state = unsafe { ffi::clan_shim_fix_state(state.cast::<c_void>()) };
        State {
            ctx,
            eval: state,
            _call: PhantomData,
        }
    }

    pub(super) fn ctx(&self) -> *mut ffi::nix_c_context {
        self.ctx
    }

    /// The one checking path: turns the context's error state after a call into a `Result`, and
    /// clears it so that a handled error does not fail the primop.
    pub(super) fn check(&self) -> Result<(), Error> {
        // SAFETY: ctx is the call's live context.
        self.check_code(unsafe { ffi::nix_err_code(self.ctx) })
    }

    /// [`State::check`] for the calls that return their error code: saves asking the context
    /// again on the hot path (list and attribute set building).
    #[inline]
    pub(super) fn check_code(&self, code: ffi::nix_err) -> Result<(), Error> {
        if code == ffi::NIX_OK {
            Ok(())
        } else {
            Err(self.take_error())
        }
    }

    /// The context's error, which is then cleared.
    #[cold]
    fn take_error(&self) -> Error {
        let message = self.error_message();
        // SAFETY: ctx is the call's live context.
        unsafe { ffi::nix_clear_err(self.ctx) };
        Error(message)
    }

    fn error_message(&self) -> String {
        let mut out = String::new();
        // SAFETY: the callback receives `out` as user data and only appends the n bytes it is given;
        // a scratch context receives errors of the read itself.
        unsafe {
            let scratch = ffi::nix_c_context_create();
            if scratch.is_null() {
                return "unknown Nix error".to_owned();
            }
            ffi::nix_err_info_msg(
                scratch,
                self.ctx,
                Some(collect_string),
                (&raw mut out).cast(),
            );
            if out.is_empty() {
                let mut n: c_uint = 0;
                let msg = ffi::nix_err_msg(scratch, self.ctx, &raw mut n);
                if !msg.is_null() {
                    out = String::from_utf8_lossy(std::slice::from_raw_parts(
                        msg.cast::<u8>(),
                        n as usize,
                    ))
                    .into_owned();
                }
            }
            ffi::nix_c_context_free(scratch);
        }
        if out.is_empty() {
            "unknown Nix error".to_owned()
        } else {
            out
        }
    }

    /// The type of `v` without evaluating it.
    #[cfg(nix_lazy_getters)]
    pub(crate) fn type_of(&self, v: &Value<'s>) -> Type {
        // SAFETY: v is a valid value of this call.
        Type::from_raw(unsafe { ffi::nix_get_type(self.ctx, v.as_ptr()) })
    }

    /// The type of `v` without evaluating it, read by the shim (before 2.32).
    #[cfg(not(nix_lazy_getters))]
    #[allow(clippy::unused_self)] // the same signature as the C API's version, which needs it
    pub(crate) fn type_of(&self, v: &Value<'s>) -> Type {
        // SAFETY: v is a valid value of this call; on these versions a nix_value* is the
        // nix::Value* itself, whose type the shim reads.
        Type::from_raw(unsafe { ffi::clan_shim_type(v.as_ptr()) })
    }

    /// Forces `v` to weak head normal form, in place (shared with every other reference to it).
    /// A value whose evaluation already failed (Nix 2.34+) is forced too: that rethrows the
    /// user's own error, which is what the caller reports.
    pub(crate) fn force(&self, v: &Value<'s>) -> Result<Type, Error> {
        let t = self.type_of(v);
        if !matches!(t, Type::Thunk | Type::Failed) {
            return Ok(t);
        }
        // SAFETY: v is a valid value of this call; state is the fixed EvalState.
        let code = unsafe { ffi::nix_value_force(self.ctx, self.eval, v.as_ptr()) };
        self.check_code(code)?;
        Ok(self.type_of(v))
    }

    fn expect(&self, v: &Value<'s>, want: Type) -> Result<(), Error> {
        let found = self.type_of(v);
        if found == want {
            Ok(())
        } else {
            // The C API asserts on a wrong type, which would abort the evaluator: refuse here.
            Err(Error(format!(
                "internal error: expected a value of type {want:?}, found {found:?}"
            )))
        }
    }

    /// The number of attributes of a forced attribute set.
    #[cfg(nix_lazy_getters)]
    fn attrs_len(&self, v: &Value<'s>) -> Result<usize, Error> {
        self.expect(v, Type::Attrs)?;
        // SAFETY: v is an attribute set of this call.
        let n = unsafe { ffi::nix_get_attrs_size(self.ctx, v.as_ptr()) };
        self.check()?;
        Ok(n as usize)
    }

    /// Appends to `out` the attributes of a forced attribute set (in Nix's internal order), names
    /// as the symbol table lends them, none of the values forced. The type and size are read once
    /// for the whole set, and `out` grows once. Before 2.32 the shim reads them a chunk at a
    /// time, names with their lengths (one call per chunk instead of one per attribute).
    #[cfg(not(nix_lazy_getters))]
    pub(crate) fn attrs_lazy(
        &self,
        v: &Rooted<'s>,
        out: &mut Vec<(&'s [u8], Rooted<'s>)>,
    ) -> Result<(), Error> {
        self.expect(v, Type::Attrs)?;
        let read = |start, chunk, cap| {
            // SAFETY: v is an attribute set of this call (checked above); the shim writes the
            // attributes from `start` on into at most `cap` entries at `chunk`, neither forcing
            // nor throwing.
            unsafe { ffi::clan_shim_attrs(self.eval, v.as_ptr(), start, chunk, cap) }
        };
        let element = |a: ffi::ClanAttr| {
            let ptr = NonNull::new(a.value)
                .ok_or_else(|| Error("internal error: null attribute value".into()))?;
            if a.name.is_null() {
                return Err(Error("internal error: null attribute name".into()));
            }
            // SAFETY: the name is `len` bytes in the evaluator's symbol table, which outlives the
            // call.
            let name: &'s [u8] = unsafe { std::slice::from_raw_parts(a.name.cast::<u8>(), a.len) };
            // SAFETY: ptr is a value of v, reachable from the call's argument; the shim took no
            // reference.
            Ok((name, v.child(unsafe { self.element(ptr, false) })))
        };
        // SAFETY: `read` writes what `read_chunked` asks for (see clan_shim_attrs).
        unsafe { read_chunked(read, out, element) }
    }

    /// Appends to `out` the attributes of a forced attribute set (in Nix's internal order), names
    /// as the symbol table lends them, none of the values forced, through the C API's lazy
    /// getters (2.32 and later).
    #[cfg(nix_lazy_getters)]
    pub(crate) fn attrs_lazy(
        &self,
        v: &Rooted<'s>,
        out: &mut Vec<(&'s [u8], Rooted<'s>)>,
    ) -> Result<(), Error> {
        let n = self.attrs_len(v)?;
        out.reserve(n);
        for i in 0..n {
            let i = c_uint::try_from(i)
                .map_err(|_| Error("internal error: attribute index too large".into()))?;
            let mut name: *const c_char = std::ptr::null();
            // SAFETY: v is an attribute set and i < its size; the lazy getter returns a new reference.
            let ptr = unsafe {
                ffi::nix_get_attr_byidx_lazy(self.ctx, v.as_ptr(), self.eval, i, &raw mut name)
            };
            self.check()?;
            let ptr = NonNull::new(ptr)
                .ok_or_else(|| Error("internal error: null attribute value".into()))?;
            if name.is_null() {
                return Err(Error("internal error: null attribute name".into()));
            }
            // SAFETY: names live in the evaluator's symbol table, which outlives the call.
            let name = unsafe { CStr::from_ptr(name) };
            // SAFETY: ptr is a value of v, valid for the call, with the reference the getter took.
            out.push((name.to_bytes(), v.child(unsafe { self.element(ptr, true) })));
        }
        Ok(())
    }

    /// The attribute `name` of a forced attribute set, forced; `None` if the set has none.
    pub(crate) fn attr(&self, v: &Value<'s>, name: &CStr) -> Result<Option<Value<'s>>, Error> {
        self.expect(v, Type::Attrs)?;
        // SAFETY: v is an attribute set of this call; the name is NUL-terminated.
        let has =
            unsafe { ffi::nix_has_attr_byname(self.ctx, v.as_ptr(), self.eval, name.as_ptr()) };
        self.check()?;
        if !has {
            return Ok(None);
        }
        // SAFETY: as above; the getter returns the attribute with a new reference (2.26 to 2.35).
        let ptr =
            unsafe { ffi::nix_get_attr_byname(self.ctx, v.as_ptr(), self.eval, name.as_ptr()) };
        self.check()?;
        let ptr = NonNull::new(ptr)
            .ok_or_else(|| Error("internal error: null attribute value".into()))?;
        // SAFETY: we own the reference the getter took.
        Ok(Some(unsafe { Value::counted(ptr, self.ctx) }))
    }

    /// The number of elements of a forced list.
    #[cfg(nix_lazy_getters)]
    fn list_len(&self, v: &Value<'s>) -> Result<usize, Error> {
        self.expect(v, Type::List)?;
        // SAFETY: v is a list of this call.
        let n = unsafe { ffi::nix_get_list_size(self.ctx, v.as_ptr()) };
        self.check()?;
        Ok(n as usize)
    }

    /// Appends to `out` the elements of a forced list, none of them forced; `out` grows once.
    /// Before 2.32 the shim reads them a chunk at a time.
    #[cfg(not(nix_lazy_getters))]
    pub(crate) fn list_lazy(&self, v: &Rooted<'s>, out: &mut Vec<Rooted<'s>>) -> Result<(), Error> {
        self.expect(v, Type::List)?;
        let read = |start, chunk, cap| {
            // SAFETY: v is a list of this call (checked above); the shim writes the elements from
            // `start` on into at most `cap` entries at `chunk`, neither forcing nor throwing.
            unsafe { ffi::clan_shim_list(v.as_ptr(), start, chunk, cap) }
        };
        let element = |ptr: *mut ffi::nix_value| {
            let ptr = NonNull::new(ptr)
                .ok_or_else(|| Error("internal error: null list element".into()))?;
            // SAFETY: ptr is an element of v, reachable from the call's argument; the shim took
            // no reference.
            Ok(v.child(unsafe { self.element(ptr, false) }))
        };
        // SAFETY: `read` writes what `read_chunked` asks for (see clan_shim_list).
        unsafe { read_chunked(read, out, element) }
    }

    /// Appends to `out` the elements of a forced list, none of them forced, through the C API's
    /// lazy getter (2.32 and later). The type and size are read once, and `out` grows once.
    #[cfg(nix_lazy_getters)]
    pub(crate) fn list_lazy(&self, v: &Rooted<'s>, out: &mut Vec<Rooted<'s>>) -> Result<(), Error> {
        let n = self.list_len(v)?;
        out.reserve(n);
        for i in 0..n {
            let i = c_uint::try_from(i)
                .map_err(|_| Error("internal error: list index too large".into()))?;
            // SAFETY: v is a list and i < its size; the lazy getter returns a new reference.
            let ptr = unsafe { ffi::nix_get_list_byidx_lazy(self.ctx, v.as_ptr(), self.eval, i) };
            self.check()?;
            let ptr = NonNull::new(ptr)
                .ok_or_else(|| Error("internal error: null list element".into()))?;
            // SAFETY: ptr is an element of v, with the reference the getter took.
            out.push(v.child(unsafe { self.element(ptr, true) }));
        }
        Ok(())
    }

    /// A handle to an element of a set or list of the call's argument, as a lazy getter gave it:
    /// counted when the getter took a reference (Nix >= 2.32), borrowed otherwise.
    ///
    /// # Safety
    /// `ptr` must be an element of a value of this call, and `counted` must say whether the
    /// getter took a reference for it.
    unsafe fn element(&self, ptr: NonNull<ffi::nix_value>, counted: bool) -> Value<'s> {
        // SAFETY: the caller's contract is that of the two constructors.
        unsafe {
            if counted {
                Value::counted(ptr, self.ctx)
            } else {
                Value::borrowed(ptr, self.ctx)
            }
        }
    }

    /// The bytes of a forced string (its context is not read).
    pub(crate) fn string(&self, v: &Value<'s>) -> Result<Vec<u8>, Error> {
        self.expect(v, Type::String)?;
        self.string_bytes(v)
    }

    /// `f` of the bytes of a forced string, lent where Nix can lend them (before 2.32: read in
    /// place), so that a caller keeping a short copy allocates nothing.
    pub(crate) fn string_with<R>(
        &self,
        v: &Value<'s>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, Error> {
        self.expect(v, Type::String)?;
        #[cfg(not(nix_lazy_getters))]
        {
            // SAFETY: as in `string_bytes`: v is a string value of this call; its bytes stay
            // valid while v does and are only lent to `f`.
            let bytes = unsafe { self.string_in_place(v)? };
            Ok(f(bytes))
        }
        #[cfg(nix_lazy_getters)]
        {
            Ok(f(&self.string_bytes(v)?))
        }
    }

    /// The bytes of the string value `v`, read in place by the shim.
    ///
    /// # Safety
    /// `v` must be a string value of this call (the caller checked); the bytes are valid while
    /// `v` is (Nix strings are immutable) and must not be used after.
    #[cfg(not(nix_lazy_getters))]
    #[allow(clippy::unused_self)]
    unsafe fn string_in_place<'v>(&self, v: &'v Value<'s>) -> Result<&'v [u8], Error> {
        let mut len = 0usize;
        // SAFETY: the caller's contract: v is a string value, so the shim reads its bytes.
        unsafe {
            let p = ffi::clan_shim_string(v.as_ptr(), &raw mut len);
            if p.is_null() {
                return Err(Error("internal error: null string".into()));
            }
            Ok(std::slice::from_raw_parts(p.cast::<u8>(), len))
        }
    }

    /// The bytes of a string value, read in place by the shim: `nix_get_string` copies them into
    /// a `std::string` before calling back, which showed for the tag lists of large fleets.
    #[cfg(not(nix_lazy_getters))]
    fn string_bytes(&self, v: &Value<'s>) -> Result<Vec<u8>, Error> {
        // SAFETY: v is a string value of this call (the caller checked); its bytes are copied at
        // once.
        Ok(unsafe { self.string_in_place(v)? }.to_vec())
    }

    /// The bytes of a string value, through the C API.
    #[cfg(nix_lazy_getters)]
    fn string_bytes(&self, v: &Value<'s>) -> Result<Vec<u8>, Error> {
        let mut out: Vec<u8> = Vec::new();
        // SAFETY: v is a string; the callback appends the bytes it is given to `out`.
        unsafe {
            ffi::nix_get_string(
                self.ctx,
                v.as_ptr(),
                Some(collect_bytes),
                (&raw mut out).cast(),
            )
        };
        self.check()?;
        Ok(out)
    }

    pub(crate) fn int(&self, v: &Value<'s>) -> Result<i64, Error> {
        self.expect(v, Type::Int)?;
        // SAFETY: v is an integer.
        let n = unsafe { ffi::nix_get_int(self.ctx, v.as_ptr()) };
        self.check()?;
        Ok(n)
    }

    pub(crate) fn bool(&self, v: &Value<'s>) -> Result<bool, Error> {
        self.expect(v, Type::Bool)?;
        // SAFETY: v is a Boolean.
        let b = unsafe { ffi::nix_get_bool(self.ctx, v.as_ptr()) };
        self.check()?;
        Ok(b)
    }

    pub(super) fn alloc(&self) -> Result<Value<'s>, Error> {
        // SAFETY: state is the fixed EvalState; the new value comes with one reference.
        let ptr = unsafe { ffi::nix_alloc_value(self.ctx, self.eval) };
        self.check()?;
        let ptr = NonNull::new(ptr)
            .ok_or_else(|| Error("internal error: could not allocate a value".into()))?;
        // SAFETY: we own the reference nix_alloc_value took.
        Ok(unsafe { Value::counted(ptr, self.ctx) })
    }

    pub(crate) fn new_string(&self, s: &str) -> Result<Value<'s>, Error> {
        let c =
            CString::new(s).map_err(|_| Error("internal error: string with a NUL byte".into()))?;
        let v = self.alloc()?;
        // SAFETY: v is freshly allocated and uninitialised; the string is copied.
        let code = unsafe { ffi::nix_init_string(self.ctx, v.as_ptr(), c.as_ptr()) };
        self.check_code(code)?;
        Ok(v)
    }

    pub(crate) fn new_bool(&self, b: bool) -> Result<Value<'s>, Error> {
        let v = self.alloc()?;
        // SAFETY: v is freshly allocated and uninitialised.
        let code = unsafe { ffi::nix_init_bool(self.ctx, v.as_ptr(), b) };
        self.check_code(code)?;
        Ok(v)
    }

    /// A value of the primop `op` (a function of the plugin's own).
    pub(crate) fn primop(&self, op: &super::PrivatePrimop) -> Result<Value<'s>, Error> {
        let v = self.alloc()?;
        // SAFETY: v is fresh; op is alive for the process.
        let code = unsafe { ffi::nix_init_primop(self.ctx, v.as_ptr(), op.as_ptr()) };
        self.check_code(code)?;
        Ok(v)
    }

    pub(crate) fn new_int(&self, n: i64) -> Result<Value<'s>, Error> {
        let v = self.alloc()?;
        // SAFETY: v is freshly allocated and uninitialised.
        let code = unsafe { ffi::nix_init_int(self.ctx, v.as_ptr(), n) };
        self.check_code(code)?;
        Ok(v)
    }

    /// Writes `v` into `out`, which must not be initialised yet (the primop's return slot): a
    /// copy of the value cell, so an attribute set or list is shared, not copied. `v` must not be
    /// a thunk (its suspended computation would then be duplicated).
    pub(crate) fn copy_into(&self, out: &Value<'s>, v: &Value<'s>) -> Result<(), Error> {
        if self.type_of(v) == Type::Thunk {
            return Err(Error("internal error: copying a thunk".into()));
        }
        // SAFETY: both are values of this call; out is uninitialised.
        let code = unsafe { ffi::nix_copy_value(self.ctx, out.as_ptr(), v.as_ptr()) };
        self.check_code(code)
    }

    /// The lazy application `f arg` (a thunk).
    pub(crate) fn apply(&self, f: &Value<'s>, arg: &Value<'s>) -> Result<Value<'s>, Error> {
        let v = self.alloc()?;
        // SAFETY: v is fresh; f and arg are valid for the call and stay reachable from the thunk.
        let code = unsafe { ffi::nix_init_apply(self.ctx, v.as_ptr(), f.as_ptr(), arg.as_ptr()) };
        self.check_code(code)?;
        Ok(v)
    }

    /// Evaluates a Nix expression of the plugin's own (helper functions), with `/` as base path.
    pub(crate) fn eval(&self, expr: &CStr) -> Result<Value<'s>, Error> {
        let v = self.alloc()?;
        // SAFETY: v is fresh; the expression and path are NUL-terminated and copied by Nix.
        unsafe {
            ffi::nix_expr_eval_from_string(
                self.ctx,
                self.eval,
                expr.as_ptr(),
                c"/".as_ptr(),
                v.as_ptr(),
            )
        };
        self.check()?;
        Ok(v)
    }

    /// A list of the given values, shared, not copied.
    pub(crate) fn new_list<'v, I>(&self, items: I) -> Result<Value<'s>, Error>
    where
        I: ExactSizeIterator<Item = &'v Value<'s>>,
        's: 'v,
    {
        let v = self.alloc()?;
        self.fill_list(&v, items)?;
        Ok(v)
    }

    /// Makes `out` the list of `items`. Before 2.32 the shim makes it in one call: the C API's
    /// builder costs an allocation and a free per list and a call per element, and the whole
    /// fleet's module lists are millions of elements.
    #[cfg(not(nix_lazy_getters))]
    fn fill_list<'v, I>(&self, out: &Value<'s>, items: I) -> Result<(), Error>
    where
        I: ExactSizeIterator<Item = &'v Value<'s>>,
        's: 'v,
    {
        let ptrs: Vec<*mut ffi::nix_value> = items.map(Value::as_ptr).collect();
        // SAFETY: state is the fixed EvalState and out an allocated value that is not yet set;
        // each pointer is a value kept alive by its handle for the call, and the list the shim
        // makes refers to them from Nix's heap before `ptrs` is dropped. On these versions a
        // nix_value* is the nix::Value* itself.
        let made =
            unsafe { ffi::clan_shim_make_list(self.eval, out.as_ptr(), ptrs.as_ptr(), ptrs.len()) };
        if made == 1 {
            Ok(())
        } else {
            Err(Error("internal error: could not allocate a list".into()))
        }
    }

    /// Makes `out` the list of `items`, through the C API's list builder (Nix 2.32 and later,
    /// whose values are handles).
    #[cfg(nix_lazy_getters)]
    fn fill_list<'v, I>(&self, out: &Value<'s>, items: I) -> Result<(), Error>
    where
        I: ExactSizeIterator<Item = &'v Value<'s>>,
        's: 'v,
    {
        let len = items.len();
        // SAFETY: state is the fixed EvalState; the builder is freed below on every path.
        let lb = unsafe { ffi::nix_make_list_builder(self.ctx, self.eval, len) };
        self.check()?;
        if lb.is_null() {
            return Err(Error("internal error: could not allocate a list".into()));
        }
        let result = (|| {
            for (i, item) in items.enumerate() {
                if i >= len {
                    return Err(Error("internal error: list longer than announced".into()));
                }
                // SAFETY: i < capacity (checked above); the builder stores the value pointer, and
                // the builder's memory is traced by the GC until the list is made.
                let index = c_uint::try_from(i)
                    .map_err(|_| Error("internal error: list too long".into()))?;
                // SAFETY: as above.
                let code =
                    unsafe { ffi::nix_list_builder_insert(self.ctx, lb, index, item.as_ptr()) };
                self.check_code(code)?;
            }
            // SAFETY: every slot below len was filled (ExactSizeIterator); out is uninitialised.
            let code = unsafe { ffi::nix_make_list(self.ctx, lb, out.as_ptr()) };
            self.check_code(code)
        })();
        // SAFETY: lb came from nix_make_list_builder and is freed once.
        unsafe { ffi::nix_list_builder_free(lb) };
        result
    }

    /// A builder for an attribute set of at most `capacity` attributes.
    pub(crate) fn attrs_builder(&self, capacity: usize) -> Result<AttrsBuilder<'_, 's>, Error> {
        // SAFETY: state is the fixed EvalState; AttrsBuilder frees the builder on drop.
        let raw = unsafe { ffi::nix_make_bindings_builder(self.ctx, self.eval, capacity) };
        self.check()?;
        let raw = NonNull::new(raw)
            .ok_or_else(|| Error("internal error: could not allocate an attribute set".into()))?;
        Ok(AttrsBuilder {
            state: self,
            raw,
            capacity,
            len: 0,
            name: Vec::new(),
        })
    }
}

/// Builds an attribute set; frees the C builder on drop. Names must be distinct (Nix does not
/// check), which the callers guarantee: they come from the names of attribute sets.
pub(crate) struct AttrsBuilder<'a, 's> {
    state: &'a State<'s>,
    raw: NonNull<ffi::BindingsBuilder>,
    capacity: usize,
    len: usize,
    /// The NUL-terminated name being inserted, reused from one insertion to the next.
    name: Vec<u8>,
}

impl<'s> AttrsBuilder<'_, 's> {
    pub(crate) fn insert(&mut self, name: &str, value: &Value<'s>) -> Result<(), Error> {
        let mut buf = std::mem::take(&mut self.name);
        buf.clear();
        buf.extend_from_slice(name.as_bytes());
        buf.push(0);
        // Fails on a NUL byte inside the name.
        let result = CStr::from_bytes_with_nul(&buf)
            .map_err(|_| Error("internal error: attribute name with a NUL byte".into()))
            .and_then(|c| self.insert_static(c, value));
        self.name = buf;
        result
    }

    /// [`AttrsBuilder::insert`] for a name that is already NUL-terminated.
    pub(crate) fn insert_static(&mut self, name: &CStr, value: &Value<'s>) -> Result<(), Error> {
        if self.len >= self.capacity {
            // Nix would trip an assertion and abort.
            return Err(Error("internal error: attribute set over capacity".into()));
        }
        // SAFETY: below capacity; the name is copied into the symbol table and the value pointer
        // is stored in traced memory.
        let code = unsafe {
            ffi::nix_bindings_builder_insert(
                self.state.ctx,
                self.raw.as_ptr(),
                name.as_ptr(),
                value.as_ptr(),
            )
        };
        self.state.check_code(code)?;
        self.len += 1;
        Ok(())
    }

    /// The finished set, as a new value.
    pub(crate) fn finish(self) -> Result<Value<'s>, Error> {
        let v = self.state.alloc()?;
        self.finish_into(&v)?;
        Ok(v)
    }

    /// Makes the set in `out`, which must not be initialised yet (the primop's return slot).
    pub(crate) fn finish_into(self, out: &Value<'s>) -> Result<(), Error> {
        // SAFETY: out is uninitialised; nix_make_attrs sorts and copies the bindings.
        let code = unsafe { ffi::nix_make_attrs(self.state.ctx, out.as_ptr(), self.raw.as_ptr()) };
        self.state.check_code(code)
    }
}

impl Drop for AttrsBuilder<'_, '_> {
    fn drop(&mut self) {
        // SAFETY: raw came from nix_make_bindings_builder and is freed exactly once.
        unsafe { ffi::nix_bindings_builder_free(self.raw.as_ptr()) };
    }
}

#[cfg(nix_lazy_getters)] // before, strings are read by the shim
unsafe extern "C" fn collect_bytes(start: *const c_char, n: c_uint, user_data: *mut c_void) {
    if start.is_null() || user_data.is_null() {
        return;
    }
    // SAFETY: user_data is the &mut Vec<u8> passed by State::string; start..start+n is readable.
    unsafe {
        let out = &mut *user_data.cast::<Vec<u8>>();
        out.extend_from_slice(std::slice::from_raw_parts(start.cast::<u8>(), n as usize));
    }
}

unsafe extern "C" fn collect_string(start: *const c_char, n: c_uint, user_data: *mut c_void) {
    if start.is_null() || user_data.is_null() {
        return;
    }
    // SAFETY: user_data is the &mut String passed by State::error_message; start..start+n is readable.
    unsafe {
        let out = &mut *user_data.cast::<String>();
        out.push_str(&String::from_utf8_lossy(std::slice::from_raw_parts(
            start.cast::<u8>(),
            n as usize,
        )));
    }
}

/// Appends to `out` the elements of a set or list that a shim reader gives 32 at a time (one call
/// per chunk instead of one per element), each turned into an output by `element`; `out` grows
/// once.
///
/// # Safety
/// `read(start, chunk, cap)` must write the elements from `start` on, at most `cap` of them, to
/// `chunk`, and return how many elements there are in all.
#[cfg(not(nix_lazy_getters))]
unsafe fn read_chunked<T: Copy, U>(
    mut read: impl FnMut(usize, *mut T, usize) -> usize,
    out: &mut Vec<U>,
    mut element: impl FnMut(T) -> Result<U, Error>,
) -> Result<(), Error> {
    const CHUNK: usize = 32;
    let mut chunk = [const { std::mem::MaybeUninit::<T>::uninit() }; CHUNK];
    let mut start = 0;
    loop {
        let n = read(start, chunk.as_mut_ptr().cast(), CHUNK);
        if start == 0 {
            out.reserve(n);
        }
        let got = n.saturating_sub(start).min(CHUNK);
        for entry in &chunk[..got] {
            // SAFETY: by the caller's contract `read` wrote the first `got` entries; T is Copy.
            out.push(element(unsafe { entry.assume_init() })?);
        }
        start += got;
        if got == 0 || start >= n {
            return Ok(());
        }
    }
}
