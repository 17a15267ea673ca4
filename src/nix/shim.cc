// Small C++ shim over Nix internals, for the Nix versions whose C API cannot do what the plugin
// needs. Compiled by build.rs against the exact Nix the plugin is built for, and only for
// Nix < 2.34.1; build.rs defines what this version needs:
//
// - Always: Nix < 2.34.1 hands primop callbacks a pointer to the inner nix::EvalState where the C
//   API expects its wrapper struct (NixOS/nix#12800); clan_shim_fix_state recovers the wrapper.
//   The wrapper `{ fetchSettings; settings; nix::EvalState state; }` is the same from 2.26 to
//   2.33, so the offset taken from this version's own header is right.
// - CLAN_SHIM_LAZY_GETTERS (Nix < 2.32, which has no lazy getters: nix_get_attr_byidx and
//   nix_get_list_byidx force the value): clan_shim_attrs and clan_shim_list read a set's attributes
//   and a list's elements without forcing them. On these versions a
//   nix_value* is the nix::Value* itself, so the element is the user's very value.
//   clan_shim_type reads a value's type without the C API's per-call overhead.
//   clan_shim_make_list makes a list of given values in one call, without the C API's list
//   builder (an allocation and a free per list, a call per element). From 2.32 the C API's own
//   lazy getters are used instead: its attribute sets may be layered, and only the C API
//   collapses them correctly.
// - CLAN_SHIM_LIST_VIEW (Nix >= 2.30): list elements are read through Value::listView(), which
//   replaced Value::listElems().
//
// None of these functions throw: the caller has checked the type and the bounds (allocation
// errors of clan_shim_make_list are caught and returned as 0).
#include <cstddef>
#include <string_view>
#include <nix_api_expr_internal.h>

extern "C" {

// One attribute as clan_shim_attrs lends it (the same layout as `ffi::ClanAttr`).
struct clan_attr
{
    const char * name;
    size_t len;
    nix_value * value;
};

EvalState * clan_shim_fix_state(void * inner)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
    return reinterpret_cast<EvalState *>(static_cast<char *>(inner) - offsetof(EvalState, state));
#pragma GCC diagnostic pop
}

#ifdef CLAN_SHIM_LAZY_GETTERS
// The C API's type of `v`. nix_get_type resets the context's error, opens an exception frame and
// checks for null on every call; the decoder asks for the type of every value of the argument.
ValueType clan_shim_type(const nix_value * v)
{
    using namespace nix;
    switch (v->value.type()) {
    case nThunk: return NIX_TYPE_THUNK;
    case nInt: return NIX_TYPE_INT;
    case nFloat: return NIX_TYPE_FLOAT;
    case nBool: return NIX_TYPE_BOOL;
    case nString: return NIX_TYPE_STRING;
    case nPath: return NIX_TYPE_PATH;
    case nNull: return NIX_TYPE_NULL;
    case nAttrs: return NIX_TYPE_ATTRS;
    case nList: return NIX_TYPE_LIST;
    case nFunction: return NIX_TYPE_FUNCTION;
    case nExternal: return NIX_TYPE_EXTERNAL;
    }
    // Not reached on these versions (the switch covers every type they have).
    return NIX_TYPE_THUNK;
}

// Attributes `start` .. `start + cap` of `set` (symbol order, as many as there are) written to
// `out`; returns how many the set has. One call per set instead of one per attribute and one for the size, and the
// names come with their lengths (a set of the argument is read this way for every machine).
size_t clan_shim_attrs(EvalState * state, const nix_value * set, size_t start, clan_attr * out, size_t cap)
{
    const nix::Bindings & attrs = *set->value.attrs();
    size_t n = attrs.size();
    for (size_t i = start; i < n && i - start < cap; i++) {
        const nix::Attr & a = attrs[i];
        std::string_view name = state->state.symbols[a.name];
        clan_attr & o = out[i - start];
        o.name = name.data();
        o.len = name.size();
        o.value = reinterpret_cast<nix_value *>(a.value);
    }
    return n;
}

// The bytes of a string value, without the copy into a std::string that nix_get_string makes
// before calling back (a tag list of a large fleet is hundreds of thousands of strings). Valid
// while the value is: Nix strings are immutable.
const char * clan_shim_string(const nix_value * v, size_t * len)
{
    std::string_view s = v->value.string_view();
    *len = s.size();
    return s.data();
}

// Makes `out` (allocated, not yet a value) the list of the `n` values at `items`. Returns 1, or 0
// if the list could not be allocated (`out` is then left as it was).
int clan_shim_make_list(EvalState * state, nix_value * out, nix_value * const * items, size_t n)
{
    try {
        auto list = state->state.buildList(n);
        for (size_t i = 0; i < n; i++)
            list[i] = &items[i]->value;
        out->value.mkList(list);
        return 1;
    } catch (...) {
        return 0;
    }
}

// Elements `start` .. `start + cap` of `list` (as many as there are) written to `out`; returns how
// many the list has. One call per list instead of one per element and one for the size.
size_t clan_shim_list(const nix_value * list, size_t start, nix_value ** out, size_t cap)
{
    size_t n = list->value.listSize();
#  ifdef CLAN_SHIM_LIST_VIEW
    auto elems = list->value.listView();
#  else
    auto elems = list->value.listElems();
#  endif
    for (size_t i = start; i < n && i - start < cap; i++)
        out[i - start] = reinterpret_cast<nix_value *>(elems[i]);
    return n;
}
#endif

} // extern "C"
