//! clan-inventory: resolves a clan inventory (services with roles over a fleet of machines) into
//! per-machine module lists. The pure core is [`inventory`]; with the `plugin` feature the crate is
//! also a Nix plugin registering `builtins.clanInventory`. The `clan-inventory` command is the
//! binary (src/bin/clan-inventory/), so that the plugin links none of its dependencies.

pub mod inventory;

#[cfg(feature = "plugin")]
mod convert;
#[cfg(feature = "plugin")]
mod nix;
#[cfg(feature = "plugin")]
mod plugin;
