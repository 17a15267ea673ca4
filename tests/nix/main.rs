//! Every test that runs the real `nix` (scripts/test gives it the Nix and the plugin), in one
//! target so that the shared helpers compile once: the plugin inside nix, the Nix library, the two
//! implementations against each other, the CLI against the builtin, nix-eval-jobs, hostile inputs,
//! panics and valgrind. Each module says which feature it needs; `cargo test` alone builds none of them.
//! The Nix files beside this one are their fixtures. Run one part with a filter:
//! `scripts/test --test nix -- plugin::`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../gen/mod.rs"]
mod gen;

mod cli_clan;
mod cli_vs_builtin;
mod differential;
mod eval_jobs;
mod hostile;
mod instances;
mod nix_lib;
mod panic;
mod plugin;
mod valgrind;
