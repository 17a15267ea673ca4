//! The Nix expressions the encoder applies, so that what is built per machine stays lazy: each is
//! evaluated once, on first use, and kept for as long as the caches.

use std::ffi::CStr;

use crate::nix::{Error, State, Value};

/// Turns `extraModules` entries into modules, lazily: a string is taken relative to `directory`.
const FIX_EXTRA: &CStr = c"dir: e: if builtins.isString e then dir + \"/${e}\" else e";
/// The same when there is no `directory`: a string entry throws when forced.
const FIX_EXTRA_NO_DIR: &CStr =
    c"where: e: if builtins.isString e then throw \"${where}: the string module '${e}' needs 'directory' to be set\" else e";
/// A generated module with config layers, applied lazily to its `_file`, the value of
/// `clan.inventory`, the service name and the layers. `inventory` is a reserved service name
/// (phase 2), so the two attributes of `clan` differ.
const GENERATED: &CStr = c"file: inventory: service: contents: { _file = file; config.clan = { inherit inventory; ${service} = { _type = \"merge\"; inherit contents; }; }; }";
/// The deploy module of a machine, applied lazily to the machine's name and its hosts, so that
/// only the machines whose configuration is evaluated pay for it. One function per combination
/// of hosts that are set.
const DEPLOY_TARGET: &CStr = c"name: targetHost: { _file = \"clan-inventory/machines/${name}/deploy\"; config.clan.core.networking = { inherit targetHost; }; }";
const DEPLOY_BUILD: &CStr = c"name: buildHost: { _file = \"clan-inventory/machines/${name}/deploy\"; config.clan.core.networking = { inherit buildHost; }; }";
const DEPLOY_BOTH: &CStr = c"name: targetHost: buildHost: { _file = \"clan-inventory/machines/${name}/deploy\"; config.clan.core.networking = { inherit buildHost targetHost; }; }";

/// The helper functions, each evaluated on first use.
#[derive(Default)]
pub(super) struct Helpers {
    fix_extra: Option<Value<'static>>,
    fix_extra_no_dir: Option<Value<'static>>,
    deploy_target: Option<Value<'static>>,
    deploy_build: Option<Value<'static>>,
    deploy_both: Option<Value<'static>>,
    generated: Option<Value<'static>>,
}

/// `slot`, evaluated from `expr` (then applied to `arg`, if given) the first time.
fn helper<'h, 's>(
    st: &State<'s>,
    slot: &'h mut Option<Value<'static>>,
    expr: &CStr,
    arg: Option<&Value<'s>>,
) -> Result<&'h Value<'static>, Error> {
    if slot.is_none() {
        let f = st.eval(expr)?;
        let f = match arg {
            Some(arg) => st.apply(&f, arg)?,
            None => f,
        };
        *slot = Some(f.persist()?);
    }
    slot.as_ref()
        .ok_or_else(|| Error("internal error: no helper function".into()))
}

impl Helpers {
    /// The `extraModules` entry `value` as a module, strings taken relative to `dir`.
    pub(super) fn fix_extra<'s>(
        &mut self,
        st: &State<'s>,
        dir: &Value<'s>,
        value: &Value<'s>,
    ) -> Result<Value<'s>, Error> {
        let fix = helper(st, &mut self.fix_extra, FIX_EXTRA, Some(dir))?;
        st.apply(fix, value)
    }

    /// The same without a `directory`: a string entry throws, naming the list it is in.
    pub(super) fn fix_extra_no_dir<'s>(
        &mut self,
        st: &State<'s>,
        origin: &str,
        value: &Value<'s>,
    ) -> Result<Value<'s>, Error> {
        let fix = helper(st, &mut self.fix_extra_no_dir, FIX_EXTRA_NO_DIR, None)?;
        let origin = st.new_string(origin)?;
        st.apply(&st.apply(fix, &origin)?, value)
    }

    /// The deploy module of the machine called `name` with these hosts, at least one of them set.
    pub(super) fn deploy<'s>(
        &mut self,
        st: &State<'s>,
        name: &Value<'s>,
        target_host: Option<&Value<'s>>,
        build_host: Option<&Value<'s>>,
    ) -> Result<Value<'s>, Error> {
        match (target_host, build_host) {
            (Some(t), Some(b)) => {
                let f = helper(st, &mut self.deploy_both, DEPLOY_BOTH, None)?;
                st.apply(&st.apply(&st.apply(f, name)?, t)?, b)
            }
            (Some(t), None) => {
                let f = helper(st, &mut self.deploy_target, DEPLOY_TARGET, None)?;
                st.apply(&st.apply(f, name)?, t)
            }
            (None, Some(b)) => {
                let f = helper(st, &mut self.deploy_build, DEPLOY_BUILD, None)?;
                st.apply(&st.apply(f, name)?, b)
            }
            (None, None) => Err(Error("internal error: deploy without hosts".into())),
        }
    }

    /// The generated-module function applied to all but the config layers: the module's `_file`,
    /// the value of `clan.inventory` and the service name.
    pub(super) fn generated<'s>(
        &mut self,
        st: &State<'s>,
        file: &Value<'s>,
        inventory: &Value<'s>,
        service: &Value<'s>,
    ) -> Result<Value<'s>, Error> {
        let f = helper(st, &mut self.generated, GENERATED, None)?;
        st.apply(&st.apply(&st.apply(f, file)?, inventory)?, service)
    }
}
