//! The Nix plugin: registers `builtins.clanInventory`, whose body is decode → resolve → encode.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

use crate::convert::{persist_input, Caches, Encoder, NixTree};
use crate::inventory::{self, Errors, Input};
use crate::nix::{Family, Joined, PrivatePrimop, State, Value};

const DOC: &std::ffi::CStr = c"Resolve a clan inventory: `builtins.clanInventory { inventory; modules; serviceModules ? { }; directory ? null; }` returns, for every machine, the modules, tags, service roles and clan service memberships the inventory gives it, plus the role members of every instance, each member's settings definitions, warnings and failed constraints. Values of the inventory (configs, modules, extra modules) are referred to, never forced or copied. See docs/semantics.md of clan-inventory.";

/// Called by Nix when it loads the plugin, before any evaluator exists.
#[no_mangle]
#[allow(unreachable_pub)] // exported to Nix by symbol name, not to Rust
pub extern "C" fn nix_plugin_entry() {
    // Nothing may unwind into Nix; a failure to register is reported and leaves Nix running.
    let outcome = std::panic::catch_unwind(|| {
        if let Some(problem) = crate::nix::version_mismatch() {
            return Err(problem);
        }
        allocate_private()?;
        crate::nix::register(c"__clanInventory", &[c"args"], DOC, clan_inventory)?;
        #[cfg(feature = "test-hooks")]
        {
            crate::nix::register(
                c"__clanInventoryPanic",
                &[c"x"],
                c"Panics: a test of the plugin's trampoline.",
                |_, _, _| panic!("deliberate test panic"),
            )?;
            crate::nix::register(
                c"__clanInventoryGcStress",
                &[c"args"],
                c"clanInventory with a forced garbage collection between its phases: a test hook.",
                |st, args, ret| run(st, args, ret, crate::nix::gc_now),
            )?;
            crate::nix::register(
                c"__clanInventoryEncoded",
                &[c"x"],
                c"{ machines = <how many machines the plugin encoded so far>; externals = <how many External values of the plugin are alive>; }: a test hook.",
                |st, _, ret| {
                    let n = ENCODED.load(std::sync::atomic::Ordering::Relaxed);
                    let live = crate::nix::live_externals();
                    let machines = st
                        .new_int(i64::try_from(n).unwrap_or(i64::MAX))
                        .map_err(|e| e.0)?;
                    let externals = st
                        .new_int(i64::try_from(live).unwrap_or(i64::MAX))
                        .map_err(|e| e.0)?;
                    let mut b = st.attrs_builder(2).map_err(|e| e.0)?;
                    b.insert("externals", &externals).map_err(|e| e.0)?;
                    b.insert("machines", &machines).map_err(|e| e.0)?;
                    b.finish_into(ret).map_err(|e| e.0)
                },
            )?;
            crate::nix::register(
                c"__clanInventoryGcNow",
                &[c"x"],
                c"Forces a garbage collection, then returns its argument: a test hook.",
                |st, args, ret| {
                    crate::nix::gc_now();
                    let x = args.first().ok_or("no argument")?;
                    st.force(x).map_err(|e| e.0)?;
                    st.copy_into(ret, x).map_err(|e| e.0)
                },
            )?;
            crate::nix::register(
                c"__clanInventoryRunningNix",
                &[c"x"],
                c"{ version = <what the load-time check reads as the running Nix's version>; }: a test hook.",
                |st, _, ret| {
                    let version = crate::nix::running_nix_version_for_tests()
                        .unwrap_or_else(|| "unknown".to_owned());
                    let v = st.new_string(&version).map_err(|e| e.0)?;
                    let mut b = st.attrs_builder(1).map_err(|e| e.0)?;
                    b.insert("version", &v).map_err(|e| e.0)?;
                    b.finish_into(ret).map_err(|e| e.0)
                },
            )?;
        }
        Ok(())
    });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(problem)) => eprintln!("warning: clan-inventory plugin not loaded: {problem}"),
        Err(_) => {
            eprintln!(
                "warning: clan-inventory plugin not loaded: internal error while registering"
            );
        }
    }
}

fn clan_inventory<'s>(st: &State<'s>, args: &[Value<'s>], ret: &Value<'s>) -> Result<(), String> {
    run(st, args, ret, || {})
}

/// The private primops behind the lazy parts of the result, allocated when the plugin loads.
struct Private {
    /// `machine results index`: the result of one machine.
    machine: PrivatePrimop,
    /// `services results`: the `services` of the result.
    services: PrivatePrimop,
    /// `roles fleet index`: the role sets of one instance.
    roles: PrivatePrimop,
    /// `instances results id`: the `instances` of the result.
    instances: PrivatePrimop,
    /// `clanServices results id`: the `clanServices` of the result.
    clan_services: PrivatePrimop,
    /// `settings results id instance role machine`: one member's settings definitions.
    settings: PrivatePrimop,
}

static PRIVATE: OnceLock<Private> = OnceLock::new();

/// Allocates [`PRIVATE`]; for `nix_plugin_entry`.
fn allocate_private() -> Result<(), String> {
    let private = Private {
        machine: crate::nix::private(
            c"clanInventoryMachine",
            &[c"results", c"id", c"machine"],
            c"The result of one machine of a builtins.clanInventory call (internal).",
            encode_machine,
        )?,
        services: crate::nix::private(
            c"clanInventoryServices",
            &[c"results", c"id"],
            c"The services of a builtins.clanInventory call (internal).",
            encode_services,
        )?,
        roles: crate::nix::private(
            c"clanInventoryRoles",
            &[c"fleet", c"id", c"instance"],
            c"The role members of one instance of a builtins.clanInventory call (internal).",
            encode_roles,
        )?,
        instances: crate::nix::private(
            c"clanInventoryInstances",
            &[c"results", c"id"],
            c"The instances of a builtins.clanInventory call (internal).",
            encode_instances,
        )?,
        clan_services: crate::nix::private(
            c"clanInventoryClanServices",
            &[c"results", c"id"],
            c"The clan services of a builtins.clanInventory call (internal).",
            encode_clan_services,
        )?,
        settings: crate::nix::private(
            c"clanInventorySettings",
            &[c"results", c"id", c"instance", c"role", c"machine"],
            c"The settings definitions of one member of a role of a builtins.clanInventory call (internal).",
            encode_settings,
        )?,
    };
    // A second load of the plugin keeps the first allocation.
    let _ = PRIVATE.set(private);
    Ok(())
}

/// A resolved inventory: the decoded input, its resolution and what the encoder shares between
/// machines. Owned by Nix's GC through two External values:
///
/// - [`Results`], which the per-machine results and `services` refer to until they are forced;
/// - [`Roles`], which the role sets of instances refer to (in `services` and in generated
///   modules, which the caches keep).
///
/// The caches are the only roots the fleet holds that can lead back to one of its Externals (to
/// [`Roles`], through cached generated modules); they are cleared when [`Results`] is collected,
/// after which nothing but values in the results can reach the fleet.
struct Fleet {
    joined: Joined<Input<Value<'static>>, SessionFamily>,
    /// Run after each machine is encoded: a forced collection under the GC-stress test hook.
    between: fn(),
}

struct Session<'i> {
    res: inventory::Resolution<'i, Value<'static>>,
    caches: RefCell<Caches<'i>>,
}

struct SessionFamily;

impl Family for SessionFamily {
    type Of<'a> = Session<'a>;
}

/// The External payload of the per-machine results and `services`.
struct Results(Rc<Fleet>);

impl Drop for Results {
    fn drop(&mut self) {
        // No machine can be encoded any more: let go of what was shared between machines (and of
        // the role-sets function, which refers to the `Roles` External).
        self.0.joined.with(|_, session| {
            if let Ok(mut caches) = session.caches.try_borrow_mut() {
                *caches = Caches::new(session.res.instances.len());
            }
        });
    }
}

/// The External payload of the role sets.
struct Roles(Rc<Fleet>);

impl Fleet {
    /// Runs `f` with an encoder over this fleet. Encoding never forces the user's values, so it
    /// does not re-enter; should it, that is an error rather than a panic.
    fn encode<'s, R>(
        &self,
        st: &State<'s>,
        f: impl for<'a> FnOnce(&mut Encoder<'_, '_, 'a, 's>) -> Result<R, crate::nix::Error>,
    ) -> Result<R, String> {
        self.joined.with(|input, session| {
            let mut caches = session
                .caches
                .try_borrow_mut()
                .map_err(|_| "internal error: the encoder was re-entered".to_owned())?;
            let mut enc = Encoder::new(st, input, &session.res, &mut caches);
            f(&mut enc).map_err(|e| e.0)
        })
    }
}

/// decode → resolve, then the lazy result; `between` runs between the phases and after each
/// machine is encoded (a forced collection in tests).
fn run<'s>(
    st: &State<'s>,
    args: &[Value<'s>],
    ret: &Value<'s>,
    between: fn(),
) -> Result<(), String> {
    let private = PRIVATE
        .get()
        .ok_or("internal error: the plugin's primops were not allocated")?;
    let root = args
        .first()
        .ok_or("internal error: clanInventory called without an argument")?;
    let mut tree = NixTree::new(st);
    let input = match inventory::load(&mut tree, root) {
        Ok(input) => input,
        Err(Errors::Invalid(errors)) => {
            return Err(errors.first().map(ToString::to_string).unwrap_or_default())
        }
        Err(Errors::Source { path, error }) => return Err(format!("{path}: {}", error.0)),
    };
    let input = persist_input(input).map_err(|e| e.0)?;
    between();
    let names: Vec<String> = input.machines.iter().map(|m| m.name.clone()).collect();
    let joined = Joined::try_new(input, |input| {
        let res = inventory::Resolution::new(input);
        let caches = RefCell::new(Caches::new(res.instances.len()));
        Ok::<_, String>(Session { res, caches })
    })?;
    let fleet = Rc::new(Fleet { joined, between });
    between();
    let e = |e: crate::nix::Error| e.0;
    let roles = external_fn(st, &private.roles, Roles(Rc::clone(&fleet))).map_err(e)?;
    let (warnings, assertions) = fleet.encode(st, |enc| {
        enc.set_role_sets(roles)?;
        Ok((enc.warnings()?, enc.assertions()?))
    })?;
    let (results, id) = st.new_external(Results(fleet)).map_err(e)?;
    let id = st.new_int(id.0).map_err(e)?;
    let apply2 = |op: &PrivatePrimop| -> Result<Value<'s>, crate::nix::Error> {
        st.apply(&st.apply(&st.primop(op)?, &results)?, &id)
    };
    let machine = apply2(&private.machine).map_err(e)?;
    let mut machines = st.attrs_builder(names.len()).map_err(e)?;
    for (mi, name) in names.iter().enumerate() {
        let index = i64::try_from(mi).map_err(|_| "internal error: too many machines")?;
        let thunk = st
            .apply(&machine, &st.new_int(index).map_err(e)?)
            .map_err(e)?;
        machines.insert(name, &thunk).map_err(e)?;
    }
    let machines = machines.finish().map_err(e)?;
    let services = apply2(&private.services).map_err(e)?;
    let instances = apply2(&private.instances).map_err(e)?;
    let clan_services = apply2(&private.clan_services).map_err(e)?;
    let mut result = st.attrs_builder(6).map_err(e)?;
    result
        .insert_static(c"assertions", &assertions)
        .map_err(e)?;
    result
        .insert_static(c"clanServices", &clan_services)
        .map_err(e)?;
    result.insert_static(c"instances", &instances).map_err(e)?;
    result.insert_static(c"machines", &machines).map_err(e)?;
    result.insert_static(c"services", &services).map_err(e)?;
    result.insert_static(c"warnings", &warnings).map_err(e)?;
    let result = result.finish_into(ret).map_err(e);
    between();
    result
}

/// `op token id`: the private primop applied to a new External that owns `data` and to its id.
fn external_fn<'s, T: std::any::Any>(
    st: &State<'s>,
    op: &PrivatePrimop,
    data: T,
) -> Result<Value<'s>, crate::nix::Error> {
    let (token, id) = st.new_external(data)?;
    let id = st.new_int(id.0)?;
    st.apply(&st.apply(&st.primop(op)?, &token)?, &id)
}

/// How many machines the plugin has encoded in this process (the laziness tests read it).
#[cfg(feature = "test-hooks")]
static ENCODED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The body of the private `machine fleet index`.
fn encode_machine<'s>(st: &State<'s>, args: &[Value<'s>], ret: &Value<'s>) -> Result<(), String> {
    let [token, id, index] = args else {
        return Err("internal error: a machine needs three arguments".into());
    };
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    st.force(index).map_err(|e| e.0)?;
    let index = st.int(index).map_err(|e| e.0)?;
    let mi = usize::try_from(index).map_err(|_| "internal error: bad machine index")?;
    let value = fleet.encode(st, |enc| {
        if mi >= enc.machine_count() {
            return Err(crate::nix::Error(
                "internal error: machine index out of range".into(),
            ));
        }
        enc.machine(mi)
    })?;
    #[cfg(feature = "test-hooks")]
    ENCODED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (fleet.between)();
    st.copy_into(ret, &value).map_err(|e| e.0)
}

/// The body of the private `services fleet`.
fn encode_services<'s>(st: &State<'s>, args: &[Value<'s>], ret: &Value<'s>) -> Result<(), String> {
    let [token, id] = args else {
        return Err("internal error: services need two arguments".into());
    };
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    // The method itself is not general enough over the closure's lifetimes.
    #[allow(clippy::redundant_closure_for_method_calls)]
    let value = fleet.encode(st, |enc| enc.services())?;
    (fleet.between)();
    st.copy_into(ret, &value).map_err(|e| e.0)
}

/// The body of the private `roles fleet index`.
fn encode_roles<'s>(st: &State<'s>, args: &[Value<'s>], ret: &Value<'s>) -> Result<(), String> {
    let [token, id, index] = args else {
        return Err("internal error: role sets need three arguments".into());
    };
    let Roles(fleet) = st.external(token, id).map_err(|e| e.0)?;
    st.force(index).map_err(|e| e.0)?;
    let index = st.int(index).map_err(|e| e.0)?;
    let index = usize::try_from(index).map_err(|_| "internal error: bad instance index")?;
    let value = fleet.encode(st, |enc| enc.role_set_now(index))?;
    (fleet.between)();
    st.copy_into(ret, &value).map_err(|e| e.0)
}

/// The body of the private `instances results id`. Each member's settings list is a thunk of the
/// private `settings`, which refers to the same results.
fn encode_instances<'s>(st: &State<'s>, args: &[Value<'s>], ret: &Value<'s>) -> Result<(), String> {
    let [token, id] = args else {
        return Err("internal error: instances need two arguments".into());
    };
    let private = PRIVATE
        .get()
        .ok_or("internal error: the plugin's primops were not allocated")?;
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    let settings = st
        .primop(&private.settings)
        .and_then(|f| st.apply(&f, token))
        .and_then(|f| st.apply(&f, id))
        .map_err(|e| e.0)?;
    let value = fleet.encode(st, |enc| enc.clan_instances(&settings))?;
    (fleet.between)();
    st.copy_into(ret, &value).map_err(|e| e.0)
}

/// The body of the private `clanServices results id`.
fn encode_clan_services<'s>(
    st: &State<'s>,
    args: &[Value<'s>],
    ret: &Value<'s>,
) -> Result<(), String> {
    let [token, id] = args else {
        return Err("internal error: clan services need two arguments".into());
    };
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    #[allow(clippy::redundant_closure_for_method_calls)]
    let value = fleet.encode(st, |enc| enc.clan_services())?;
    (fleet.between)();
    st.copy_into(ret, &value).map_err(|e| e.0)
}

/// The body of the private `settings results id instance role machine`.
fn encode_settings<'s>(st: &State<'s>, args: &[Value<'s>], ret: &Value<'s>) -> Result<(), String> {
    let [token, id, indices @ ..] = args else {
        return Err("internal error: settings need five arguments".into());
    };
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    let mut at = [0usize; 3];
    if indices.len() != at.len() {
        return Err("internal error: settings need five arguments".into());
    }
    for (slot, v) in at.iter_mut().zip(indices) {
        st.force(v).map_err(|e| e.0)?;
        *slot = usize::try_from(st.int(v).map_err(|e| e.0)?)
            .map_err(|_| "internal error: bad settings index")?;
    }
    let [ci, ri, mi] = at;
    let value = fleet.encode(st, |enc| enc.clan_settings(ci, ri, mi))?;
    (fleet.between)();
    st.copy_into(ret, &value).map_err(|e| e.0)
}
