//! The Nix plugin: registers `builtins.clanInventory`, whose body is decode → resolve → encode.

use crate::convert::{Encoder, NixTree};
use crate::inventory::{self, Errors};
use crate::nix::{State, Value};

const DOC: &std::ffi::CStr = c"Resolve a clan inventory: `builtins.clanInventory { inventory; modules; directory ? null; }` returns, for every machine, the modules, tags and service roles the inventory gives it, plus the role members of every instance, warnings and failed constraints. Values of the inventory (configs, modules, extra modules) are referred to, never forced or copied. See docs/semantics.md of clan-inventory.";

/// Called by Nix when it loads the plugin, before any evaluator exists.
#[no_mangle]
#[allow(unreachable_pub)] // exported to Nix by symbol name, not to Rust
pub extern "C" fn nix_plugin_entry() {
    // Nothing may unwind into Nix; a failure to register is reported and leaves Nix running.
    let outcome = std::panic::catch_unwind(|| {
        if let Some(problem) = crate::nix::version_mismatch() {
            return Err(problem);
        }
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

/// decode → resolve → encode; `between` runs between the phases (a forced collection in tests).
fn run<'s>(
    st: &State<'s>,
    args: &[Value<'s>],
    ret: &Value<'s>,
    between: fn(),
) -> Result<(), String> {
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
    between();
    let resolution = inventory::Resolution::new(&input);
    between();
    let result = Encoder::new(st, &input, &resolution)
        .after_each_machine(between)
        .encode_into(ret)
        .map_err(|e| e.0);
    between();
    result
}
