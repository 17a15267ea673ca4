//! `graph`: the fleet as a picture, each instance (of inventory.services, then of
//! inventory.instances, labelled with its clan service) a box of its roles, an edge from each role
//! to each member machine. Graphviz `dot` or Mermaid, both deterministic (resolution order).

use std::fmt::Write as _;

use clan_inventory::inventory::{Input, Output};

/// A string in double quotes for dot: `"` and `\` escaped.
fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A Mermaid label in double quotes: `"`, `<` and `>` (of `<clan-core>/name`) have to be
/// entities there.
fn mermaid_label(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('"', "#quot;")
            .replace('<', "#lt;")
            .replace('>', "#gt;")
    )
}

pub(crate) fn dot<V>(input: &Input<V>, output: &Output<'_, V>) -> String {
    let mut s = String::from("digraph clan {\n  rankdir=LR;\n  node [fontname=\"sans-serif\"];\n");
    for m in &input.machines {
        let _ = writeln!(
            s,
            "  {} [label={}, shape=box];",
            dot_id(&format!("m:{}", m.name)),
            dot_id(&m.name)
        );
    }
    for (k, inst) in output.instances.iter().enumerate() {
        let title = format!("{}.{}", inst.service, inst.instance);
        let _ = writeln!(s, "  subgraph cluster_{k} {{");
        let label = if inst.enabled {
            title.clone()
        } else {
            format!("{title} (disabled)")
        };
        let _ = writeln!(s, "    label={};", dot_id(&label));
        if !inst.enabled {
            s.push_str("    style=dashed;\n");
        }
        for (role, _) in &inst.roles {
            let _ = writeln!(
                s,
                "    {} [label={}, shape=ellipse];",
                dot_id(&format!("r:{title}.{role}")),
                dot_id(role)
            );
        }
        s.push_str("  }\n");
        for (role, members) in &inst.roles {
            for &i in members {
                let style = if inst.enabled { "" } else { " [style=dashed]" };
                let _ = writeln!(
                    s,
                    "  {} -> {}{style};",
                    dot_id(&format!("r:{title}.{role}")),
                    dot_id(&format!("m:{}", input.machines[i as usize].name))
                );
            }
        }
    }
    for (k, inst) in output.clan.instances.iter().enumerate() {
        let key = &output.clan.services[inst.service].key;
        let _ = writeln!(s, "  subgraph cluster_clan_{k} {{");
        let _ = writeln!(
            s,
            "    label={};",
            dot_id(&format!("{} ({key})", inst.name))
        );
        for role in &inst.roles {
            let _ = writeln!(
                s,
                "    {} [label={}, shape=ellipse];",
                dot_id(&format!("c:{}.{}", inst.name, role.name)),
                dot_id(role.name)
            );
        }
        s.push_str("  }\n");
        for role in &inst.roles {
            for &i in &role.members {
                let _ = writeln!(
                    s,
                    "  {} -> {};",
                    dot_id(&format!("c:{}.{}", inst.name, role.name)),
                    dot_id(&format!("m:{}", input.machines[i as usize].name))
                );
            }
        }
    }
    s.push_str("}\n");
    s
}

pub(crate) fn mermaid<V>(input: &Input<V>, output: &Output<'_, V>) -> String {
    let mut s = String::from("flowchart LR\n");
    for (i, m) in input.machines.iter().enumerate() {
        let _ = writeln!(s, "  m{i}[{}]", mermaid_label(&m.name));
    }
    for (k, inst) in output.instances.iter().enumerate() {
        let title = format!("{}.{}", inst.service, inst.instance);
        let label = if inst.enabled {
            title
        } else {
            format!("{title} (disabled)")
        };
        let _ = writeln!(s, "  subgraph i{k}[{}]", mermaid_label(&label));
        for (r, (role, _)) in inst.roles.iter().enumerate() {
            let _ = writeln!(s, "    i{k}r{r}([{}])", mermaid_label(role));
        }
        s.push_str("  end\n");
        let arrow = if inst.enabled { "-->" } else { "-.->" };
        for (r, (_, members)) in inst.roles.iter().enumerate() {
            for &i in members {
                let _ = writeln!(s, "  i{k}r{r} {arrow} m{i}");
            }
        }
    }
    for (k, inst) in output.clan.instances.iter().enumerate() {
        let key = &output.clan.services[inst.service].key;
        let label = format!("{} ({key})", inst.name);
        let _ = writeln!(s, "  subgraph c{k}[{}]", mermaid_label(&label));
        for (r, role) in inst.roles.iter().enumerate() {
            let _ = writeln!(s, "    c{k}r{r}([{}])", mermaid_label(role.name));
        }
        s.push_str("  end\n");
        for (r, role) in inst.roles.iter().enumerate() {
            for &i in &role.members {
                let _ = writeln!(s, "  c{k}r{r} --> m{i}");
            }
        }
    }
    s
}
