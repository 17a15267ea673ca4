//! A panic inside the primop becomes an ordinary evaluation error, and Nix goes on evaluating.
//! Needs the `test-hooks` feature (scripts/test enables it), which registers
//! `builtins.clanInventoryPanic`, a primop that always panics.
#![cfg(feature = "test-hooks")]

use crate::common::Nix;

#[test]
fn a_panic_is_an_evaluation_error_and_nix_goes_on() {
    let nix = Nix::with_plugin();
    let err = nix.error("builtins.clanInventoryPanic 1");
    assert!(
        err.starts_with("internal error: deliberate test panic at src/plugin.rs"),
        "{err}"
    );
    assert!(
        err.ends_with("(please report this bug of the clan-inventory plugin)"),
        "{err}"
    );
    // The same process goes on: `nix repl` evaluates the next expressions after the panic.
    let mut child = nix
        .command("nix")
        .args(["repl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "builtins.clanInventoryPanic 1").unwrap();
        writeln!(
            stdin,
            "(builtins.clanInventory {{ inventory.machines.after = {{ }}; }}).machines.after.tags"
        )
        .unwrap();
        writeln!(stdin, "builtins.clanInventoryPanic 2").unwrap();
        writeln!(stdin, "6 * 7").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    crate::common::assert_no_crash(&out, &stderr);
    assert_eq!(
        stderr.matches("deliberate test panic").count(),
        2,
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked at"),
        "Rust's panic message leaked: {stderr}"
    );
    // The call after the panic gives the right answer (the repl colours and wraps it; from 2.35
    // it no longer echoes the input when that is not a terminal). Errors go to stderr, so these
    // strings on stdout can only be the answer.
    assert!(
        stdout.contains("\"all\"") && stdout.contains("\"nixos\""),
        "{stdout}"
    );
    assert!(stdout.contains("42"), "{stdout}");
}
