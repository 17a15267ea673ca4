//! The text form of `resolve`: one row per machine and instance it is a member of.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use clan_inventory::inventory::{Input, Output};

/// Machine `mi`'s instances of `inventory.instances`, as `<instance> (<service key>)` and its
/// roles, by service key then instance name.
pub(crate) fn clan_instances<V>(output: &Output<'_, V>, mi: usize) -> Vec<(String, String)> {
    let clan = &output.clan;
    let mut by_instance: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for &m in clan.memberships(mi) {
        let inst = &clan.instances[m.instance as usize];
        by_instance
            .entry((clan.service_of(m).key.as_str(), inst.name))
            .or_default()
            .push(clan.role_name(m));
    }
    by_instance
        .into_iter()
        .map(|((key, name), roles)| (format!("{name} ({key})"), roles.join(", ")))
        .collect()
}

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
        let mut entries: Vec<(String, String)> = m
            .services
            .iter()
            .map(|(index, roles)| {
                let inst = &output.instances[*index];
                (
                    format!("{}.{}", inst.service, inst.instance),
                    roles.join(", "),
                )
            })
            .collect();
        entries.extend(clan_instances(output, i));
        if entries.is_empty() {
            rows.push([m.name.to_owned(), tags.clone(), "-".into(), "-".into()]);
        }
        for (k, (instance, roles)) in entries.into_iter().enumerate() {
            let (name, tags) = if k == 0 {
                (m.name.to_owned(), tags.clone())
            } else {
                (String::new(), String::new())
            };
            rows.push([name, tags, instance, roles]);
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
