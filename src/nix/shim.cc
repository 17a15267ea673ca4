// Small C++ shim over Nix internals, for the Nix versions whose C API cannot do what the plugin
// needs. Compiled by build.rs against the exact Nix the plugin is built for.
//
// - Nix < 2.34.1 hands primop callbacks a pointer to the inner nix::EvalState where the C API
//   expects its wrapper struct (NixOS/nix#12800); clan_shim_fix_state recovers the wrapper.
// - Nix < 2.32 has no lazy getters: nix_get_attr_byidx and nix_get_list_byidx force the value.
//   clan_shim_attr_lazy / clan_shim_list_elem_lazy read the element without forcing it. On these
//   versions a nix_value* is the nix::Value* itself, so the element is the user's very value.
//
// None of these functions throw: the caller has checked the type and the bounds.
#include <cstddef>
#include <nix_api_expr_internal.h>

extern "C" {

EvalState * clan_shim_fix_state(void * inner)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
    return reinterpret_cast<EvalState *>(static_cast<char *>(inner) - offsetof(EvalState, state));
#pragma GCC diagnostic pop
}

nix_value * clan_shim_attr_lazy(EvalState * state, const nix_value * set, unsigned int i, const char ** name)
{
    const nix::Attr & a = (*set->value.attrs())[i];
    *name = state->state.symbols[a.name].c_str();
    return reinterpret_cast<nix_value *>(a.value);
}

nix_value * clan_shim_list_elem_lazy(const nix_value * list, unsigned int i)
{
    return reinterpret_cast<nix_value *>(list->value.listElems()[i]);
}

} // extern "C"
