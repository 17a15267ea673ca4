//! The Nix plugin: registers `builtins.clanInventory`, whose body is decode → resolve → encode.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

use crate::convert::{persist_input, Caches, Encoder, NixTree};
use crate::inventory::{self, Errors, Input};
use crate::nix::{Anchored, Family, Joined, PrivatePrimop, Rooted, State, Value};

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
                c"{ machines = <how many machines the plugin encoded so far>; instances = <how many instances.<i>>; settings = <how many entries of instances.<i>.roles.<r>.settings>; externals = <how many External values of the plugin are alive>; }: a test hook.",
                |st, _, ret| {
                    use std::sync::atomic::Ordering::Relaxed;
                    let count = |n: u64| st.new_int(i64::try_from(n).unwrap_or(i64::MAX));
                    let live = u64::try_from(crate::nix::live_externals()).unwrap_or(u64::MAX);
                    let mut b = st.attrs_builder(4).map_err(|e| e.0)?;
                    for (name, n) in [
                        ("externals", live),
                        ("instances", ENCODED_INSTANCES.load(Relaxed)),
                        ("machines", ENCODED.load(Relaxed)),
                        ("settings", ENCODED_SETTINGS.load(Relaxed)),
                    ] {
                        b.insert(name, &count(n).map_err(|e| e.0)?)
                            .map_err(|e| e.0)?;
                    }
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
    /// `machine results id name value`: the result of the machine `name` (`value`, its entry of
    /// `inventory.machines`, is not read). `builtins.mapAttrs` applies it to every machine.
    machine: PrivatePrimop,
    /// `services results`: the `services` of the result.
    services: PrivatePrimop,
    /// `roles fleet index`: the role sets of one instance.
    roles: PrivatePrimop,
    /// `instances results id`: the `instances` of the result.
    instances: PrivatePrimop,
    /// `instance results id instance`: one instance of `instances`.
    instance: PrivatePrimop,
    /// `roleMachines results id instance role`: the members of one role of an instance.
    role_machines: PrivatePrimop,
    /// `roleSettings results id instance role`: every member's settings of one role.
    role_settings: PrivatePrimop,
    /// `clanServices results id`: the `clanServices` of the result.
    clan_services: PrivatePrimop,
    /// `clanService results id service`: one service of `clanServices`.
    clan_service: PrivatePrimop,
    /// `serviceMachines results id service`: the `machines` of one service.
    service_machines: PrivatePrimop,
}

static PRIVATE: OnceLock<Private> = OnceLock::new();

/// Allocates [`PRIVATE`]; for `nix_plugin_entry`.
fn allocate_private() -> Result<(), String> {
    let private = Private {
        machine: crate::nix::private(
            c"clanInventoryMachine",
            &[c"results", c"id", c"name", c"value"],
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
        instance: crate::nix::private(
            c"clanInventoryInstance",
            &[c"results", c"id", c"instance"],
            c"One instance of the instances of a builtins.clanInventory call (internal).",
            encode_instance,
        )?,
        role_machines: crate::nix::private(
            c"clanInventoryRoleMachines",
            &[c"results", c"id", c"instance", c"role"],
            c"The members of one role of an instance of a builtins.clanInventory call (internal).",
            encode_role_machines,
        )?,
        role_settings: crate::nix::private(
            c"clanInventoryRoleSettings",
            &[c"results", c"id", c"instance", c"role"],
            c"The settings definitions of every member of one role of an instance of a builtins.clanInventory call (internal).",
            encode_role_settings,
        )?,
        clan_service: crate::nix::private(
            c"clanInventoryClanService",
            &[c"results", c"id", c"service"],
            c"One clan service of a builtins.clanInventory call (internal).",
            encode_clan_service,
        )?,
        service_machines: crate::nix::private(
            c"clanInventoryServiceMachines",
            &[c"results", c"id", c"service"],
            c"The machines of one clan service of a builtins.clanInventory call (internal).",
            encode_service_machines,
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
    joined: Joined<Anchored<Input<Value<'static>>>, SessionFamily>,
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
            let mut enc = Encoder::new(st, input.get(), &session.res, &mut caches);
            f(&mut enc).map_err(|e| e.0)
        })
    }

    /// The answer of a private primop: the value `f` encodes, copied into `ret`, after the
    /// test hook's collection (which the value, not yet in `ret`, must survive).
    fn answer<'s>(
        &self,
        st: &State<'s>,
        ret: &Value<'s>,
        f: impl for<'a> FnOnce(&mut Encoder<'_, '_, 'a, 's>) -> Result<Value<'s>, crate::nix::Error>,
    ) -> Result<(), String> {
        let value = self.encode(st, f)?;
        (self.between)();
        st.copy_into(ret, &value).map_err(|e| e.0)
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
    let rooted = Rooted::root(root);
    let input = match inventory::load(&mut tree, &rooted) {
        Ok(input) => input,
        Err(Errors::Invalid(errors)) => {
            return Err(errors.first().map(ToString::to_string).unwrap_or_default())
        }
        Err(Errors::Source { path, error }) => return Err(format!("{path}: {}", error.0)),
    };
    let input = persist_input(st, &rooted, input).map_err(|e| e.0)?;
    between();
    let joined = Joined::try_new(input, |input| {
        let res = inventory::Resolution::new(input.get());
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
    let machines = machines_of(st, root, &machine).map_err(e)?;
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

/// `machines` of the result: `builtins.mapAttrs machine inventory.machines`, a thunk, so that Nix
/// itself makes the per-machine thunks when `machines` is read (the names are those of
/// `inventory.machines`, which are the decoded machines: a name that is not UTF-8 is an error).
fn machines_of<'s>(
    st: &State<'s>,
    root: &Value<'s>,
    machine: &Value<'s>,
) -> Result<Value<'s>, crate::nix::Error> {
    // Both are attribute sets that decoding forced; absent, there are no machines.
    let set = st
        .attr(root, c"inventory")?
        .map(|inventory| st.attr(&inventory, c"machines"))
        .transpose()?
        .flatten();
    let Some(set) = set else {
        return st.attrs_builder(0)?.finish();
    };
    let map_attrs = st.eval(c"builtins.mapAttrs")?;
    st.apply(&st.apply(&map_attrs, machine)?, &set)
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

/// How many entries of `instances.<i>.roles.<r>.settings` (members) the plugin has encoded.
#[cfg(feature = "test-hooks")]
static ENCODED_SETTINGS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many `instances.<i>` the plugin has encoded.
#[cfg(feature = "test-hooks")]
static ENCODED_INSTANCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The body of the private `machine results id name value`.
fn encode_machine<'s>(st: &State<'s>, args: &[Value<'s>], ret: &Value<'s>) -> Result<(), String> {
    let [token, id, name, _] = args else {
        return Err("internal error: a machine needs four arguments".into());
    };
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    st.force(name).map_err(|e| e.0)?;
    let bytes = st.string(name).map_err(|e| e.0)?;
    // Made in `ret` itself: a value of its own would cost an allocation, a copy and a release.
    fleet.encode(st, |enc| {
        let mi = enc.machine_named(&bytes).ok_or_else(|| {
            crate::nix::Error("internal error: a machine that was not decoded".into())
        })?;
        enc.machine(mi, name, ret)
    })?;
    #[cfg(feature = "test-hooks")]
    ENCODED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (fleet.between)();
    Ok(())
}

/// The body of the private `services fleet`.
fn encode_services<'s>(st: &State<'s>, args: &[Value<'s>], ret: &Value<'s>) -> Result<(), String> {
    let [token, id] = args else {
        return Err("internal error: services need two arguments".into());
    };
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    // The method itself is not general enough over the closure's lifetimes.
    #[allow(clippy::redundant_closure_for_method_calls)]
    fleet.answer(st, ret, |enc| enc.services())
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
    fleet.answer(st, ret, |enc| enc.role_set_now(index))
}

/// `op token id`: a private primop applied to the results and their id, as their thunks refer
/// to them.
fn bound<'s>(
    st: &State<'s>,
    op: &PrivatePrimop,
    token: &Value<'s>,
    id: &Value<'s>,
) -> Result<Value<'s>, String> {
    st.primop(op)
        .and_then(|f| st.apply(&f, token))
        .and_then(|f| st.apply(&f, id))
        .map_err(|e| e.0)
}

/// The results, their id and `N` indices: the arguments of a private primop over the results.
fn results_and<'a, 's, const N: usize>(
    st: &State<'s>,
    args: &'a [Value<'s>],
    what: &str,
) -> Result<(&'a Value<'s>, &'a Value<'s>, [usize; N]), String> {
    let [token, id, indices @ ..] = args else {
        return Err(format!("internal error: {what} need {} arguments", N + 2));
    };
    if indices.len() != N {
        return Err(format!("internal error: {what} need {} arguments", N + 2));
    }
    let mut at = [0usize; N];
    for (slot, v) in at.iter_mut().zip(indices) {
        st.force(v).map_err(|e| e.0)?;
        *slot = usize::try_from(st.int(v).map_err(|e| e.0)?)
            .map_err(|_| format!("internal error: bad index of {what}"))?;
    }
    Ok((token, id, at))
}

fn private_ops() -> Result<&'static Private, String> {
    PRIVATE
        .get()
        .ok_or_else(|| "internal error: the plugin's primops were not allocated".to_owned())
}

/// The body of the private `instances results id`: per instance a thunk of the private
/// `instance`, which refers to the same results.
fn encode_instances<'s>(st: &State<'s>, args: &[Value<'s>], ret: &Value<'s>) -> Result<(), String> {
    let (token, id, []) = results_and::<0>(st, args, "instances")?;
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    let instance = bound(st, &private_ops()?.instance, token, id)?;
    fleet.answer(st, ret, |enc| enc.clan_instances(&instance))
}

/// The body of the private `instance results id instance`: its roles' `machines` and `settings`
/// are thunks of the private `roleMachines` and `roleSettings`.
fn encode_instance<'s>(st: &State<'s>, args: &[Value<'s>], ret: &Value<'s>) -> Result<(), String> {
    let (token, id, [ci]) = results_and::<1>(st, args, "an instance")?;
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    let private = private_ops()?;
    let machines = bound(st, &private.role_machines, token, id)?;
    let settings = bound(st, &private.role_settings, token, id)?;
    fleet.answer(st, ret, |enc| {
        let value = enc.clan_instance(ci, &machines, &settings)?;
        #[cfg(feature = "test-hooks")]
        ENCODED_INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(value)
    })
}

/// The body of the private `roleMachines results id instance role`.
fn encode_role_machines<'s>(
    st: &State<'s>,
    args: &[Value<'s>],
    ret: &Value<'s>,
) -> Result<(), String> {
    let (token, id, [ci, ri]) = results_and::<2>(st, args, "role members")?;
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    fleet.answer(st, ret, |enc| enc.clan_role_machines(ci, ri))
}

/// The body of the private `roleSettings results id instance role`.
fn encode_role_settings<'s>(
    st: &State<'s>,
    args: &[Value<'s>],
    ret: &Value<'s>,
) -> Result<(), String> {
    let (token, id, [ci, ri]) = results_and::<2>(st, args, "role settings")?;
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    fleet.answer(st, ret, |enc| {
        let value = enc.clan_role_settings(ci, ri)?;
        #[cfg(feature = "test-hooks")]
        ENCODED_SETTINGS.fetch_add(
            u64::try_from(enc.clan_role_size(ci, ri)).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(value)
    })
}

/// The body of the private `clanServices results id`: per service a thunk of the private
/// `clanService`.
fn encode_clan_services<'s>(
    st: &State<'s>,
    args: &[Value<'s>],
    ret: &Value<'s>,
) -> Result<(), String> {
    let (token, id, []) = results_and::<0>(st, args, "clan services")?;
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    let service = bound(st, &private_ops()?.clan_service, token, id)?;
    fleet.answer(st, ret, |enc| enc.clan_services(&service))
}

/// The body of the private `clanService results id service`: its `machines` is a thunk of the
/// private `serviceMachines`.
fn encode_clan_service<'s>(
    st: &State<'s>,
    args: &[Value<'s>],
    ret: &Value<'s>,
) -> Result<(), String> {
    let (token, id, [si]) = results_and::<1>(st, args, "a clan service")?;
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    let machines = bound(st, &private_ops()?.service_machines, token, id)?;
    fleet.answer(st, ret, |enc| enc.clan_service(si, &machines))
}

/// The body of the private `serviceMachines results id service`.
fn encode_service_machines<'s>(
    st: &State<'s>,
    args: &[Value<'s>],
    ret: &Value<'s>,
) -> Result<(), String> {
    let (token, id, [si]) = results_and::<1>(st, args, "a clan service's machines")?;
    let Results(fleet) = st.external(token, id).map_err(|e| e.0)?;
    fleet.answer(st, ret, |enc| enc.clan_service_machines(si))
}
