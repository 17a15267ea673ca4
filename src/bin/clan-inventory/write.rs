//! Replacing `inventory.json` safely: the new text goes to a temporary file in the same directory,
//! is flushed to disk, and is renamed over the original only if the original still holds what was
//! read. A crash at any point leaves either the old file or the new one, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use super::Failure;

/// Test hook: `fail-after-temp` makes the write fail once the temporary file is complete;
/// `pause-after-temp` prints `paused` on stderr and waits for a line on stdin there (so that a test
/// can kill the process, or change the file under it).
const HOOK: &str = "CLAN_INVENTORY_TEST_HOOK";

/// Writes `new` to `path`, provided `path` still contains `original`.
///
/// # Errors
/// The file changed since it was read, or an I/O error; the original is then untouched.
pub(crate) fn replace(path: &Path, original: &str, new: &str) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map_or_else(
        || "inventory.json".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let io_fail = |what: &str, e: io::Error| {
        Failure::invalid(format!("failed to {what} `{}`: {e}", path.display()))
    };

    let result = write_temp(&temp, path, new)
        .map_err(|e| io_fail("write a temporary file for", e))
        .and_then(|()| hook())
        .and_then(|()| {
            let now = fs::read_to_string(path).map_err(|e| io_fail("re-read", e))?;
            if now == original {
                Ok(())
            } else {
                Err(Failure::invalid(format!(
                    "`{}` changed since it was read; nothing was written (run the command again)",
                    path.display()
                )))
            }
        })
        .and_then(|()| fs::rename(&temp, path).map_err(|e| io_fail("replace", e)));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
        return result;
    }
    // Make the rename itself durable. Not every platform can open a directory: best effort.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_temp(temp: &Path, original: &Path, text: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(temp)?;
    let written = f
        .write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| {
            // Keep the original's permissions (a private inventory stays private).
            let perms = fs::metadata(original)?.permissions();
            fs::set_permissions(temp, perms)
        });
    if written.is_err() {
        let _ = fs::remove_file(temp);
    }
    written
}

fn hook() -> Result<(), Failure> {
    match std::env::var(HOOK).as_deref() {
        Ok("fail-after-temp") => Err(Failure::invalid(
            "simulated failure after writing the temporary file",
        )),
        Ok("pause-after-temp") => {
            eprintln!("paused");
            let mut line = String::new();
            let _ = io::stdin().lock().read_line(&mut line);
            Ok(())
        }
        _ => Ok(()),
    }
}
