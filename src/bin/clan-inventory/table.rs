//! The text form of `resolve`: one row per machine and instance it is a member of.

use std::fmt::Write as _;

use clan_inventory::inventory::{Input, Output};

pub(crate) fn resolution<V>(
    input: &Input<V>,
    output: &Output<'_, V>,
    only: Option<usize>,
) -> String {
    let mut rows: Vec<[String; 4]> =
        vec![["MACHINE", "TAGS", "INSTANCE", "ROLES"].map(String::from)];
    for (i, m) in output.machines.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let tags = m.tags.join(", ");
        if m.services.is_empty() {
            rows.push([m.name.to_owned(), tags.clone(), "-".into(), "-".into()]);
        }
        for (k, (index, roles)) in m.services.iter().enumerate() {
            let inst = &output.instances[*index];
            let (name, tags) = if k == 0 {
                (m.name.to_owned(), tags.clone())
            } else {
                (String::new(), String::new())
            };
            rows.push([
                name,
                tags,
                format!("{}.{}", inst.service, inst.instance),
                roles.join(", "),
            ]);
        }
    }
    let _ = input;
    let mut widths = [0; 4];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut s = String::new();
    for row in &rows {
        let mut line = String::new();
        for (k, (w, cell)) in widths.iter().zip(row).enumerate() {
            if k == 3 {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}
