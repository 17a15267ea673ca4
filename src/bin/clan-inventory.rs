//! The `clan-inventory` command; everything is in [`clan_inventory::cli`].
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    clan_inventory::cli::main()
}
