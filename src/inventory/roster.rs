//! Who is who: every machine's tags, every tag's machines, and the one rule of role membership
//! ([`Roster::walk`]), which gives each membership its reasons. The members of both APIs' roles,
//! the warning about `machines.<m>` entries of machines in no role, and `explain` all read it, so
//! that membership is decided in this file only.

// Fx hashing: the keys are the user's own names, and SipHash showed in profiles of large fleets.
use rustc_hash::{FxHashMap as HashMap, FxHashSet};
use std::collections::hash_map::Entry;

use super::error::Warning;
use super::model::{ClanRole, Input, MachineClass, Name, Role};
use super::path::Path;
use super::resolve::narrow;

/// One reason a machine is a member of a role. A role's members are in the order of their first
/// reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason<'a> {
    /// Entry `index` of the role's `machines` names the machine (for `inventory.instances`, the
    /// index into its attribute names, sorted).
    Listed { index: usize },
    /// The machine carries `tag`, entry `index` of the role's `tags` (its first occurrence there).
    Tag { tag: &'a str, index: usize },
}

/// The machines of an input by name and by tag.
pub struct Roster<'a> {
    by_name: MachineIndex<'a>,
    /// For each tag, the machines carrying it, sorted.
    by_tag: HashMap<&'a str, Vec<usize>>,
}

impl std::fmt::Debug for Roster<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roster")
            .field("machines", &self.by_name.0.len())
            .field("tags", &self.by_tag.len())
            .finish_non_exhaustive()
    }
}

/// The tags of each machine (in `Input::machines` order): its own, then the global tags naming it
/// (sorted), then `all` and its class, each once. `tags[mi]` is machine `mi`'s. All machines' tags
/// are in one vector, cut at `ends`: a vector per machine was 50,000 allocations at 50,000
/// machines, a fifth of the resolution's cost for one machine.
pub(super) struct MachineTags<'a> {
    all: Vec<&'a str>,
    /// Where each machine's tags end in `all`.
    ends: Vec<u32>,
}

impl<'a> std::ops::Index<usize> for MachineTags<'a> {
    type Output = [&'a str];

    fn index(&self, mi: usize) -> &[&'a str] {
        let start = if mi == 0 {
            0
        } else {
            self.ends[mi - 1] as usize
        };
        &self.all[start..self.ends[mi] as usize]
    }
}

impl MachineTags<'_> {
    fn len(&self) -> usize {
        self.ends.len()
    }
}

impl<'a> Roster<'a> {
    /// The roster of `input`, and the tags of every machine it is made from: both linear in the
    /// input, computed once.
    pub(super) fn new<V>(input: &'a Input<V>) -> (Self, MachineTags<'a>) {
        let by_name = MachineIndex::new(input);
        let tags = machine_tags(input, &by_name);
        let by_tag = machines_by_tag(&tags);
        (Roster { by_name, by_tag }, tags)
    }

    /// The index into `Input::machines` of the machine named `name`.
    pub(super) fn machine(&self, name: &str) -> Option<usize> {
        self.by_name.get(name)
    }

    /// The machines carrying `tag`, sorted.
    fn carrying(&self, tag: &str) -> &[usize] {
        self.by_tag.get(tag).map_or(&[], Vec::as_slice)
    }

    /// Whether some machine carries `tag`.
    pub(super) fn is_tag(&self, tag: &str) -> bool {
        self.by_tag.contains_key(tag)
    }

    /// Every tag some machine carries, sorted (for "did you mean").
    pub(super) fn known_tags(&self) -> Vec<&'a str> {
        let mut all: Vec<&str> = self.by_tag.keys().copied().collect();
        all.sort_unstable();
        all
    }

    /// The warnings of one role's `tags` (at `path`): one per distinct tag that no machine carries,
    /// in order of first occurrence. `known` keeps the names "did you mean" picks from, computed
    /// once for all roles.
    pub(super) fn unmatched_tags<'t>(
        &self,
        tags: impl Iterator<Item = &'t str>,
        path: &Path<'_>,
        known: &mut Option<Vec<&'a str>>,
        out: &mut Vec<Warning>,
    ) {
        for tag in first_occurrences(tags) {
            if self.is_tag(tag) {
                continue;
            }
            let known = known.get_or_insert_with(|| self.known_tags());
            out.push(Warning::UnmatchedTag {
                path: path.render(),
                tag: tag.to_owned(),
                suggestion: super::did_you_mean(tag, known.iter().copied()),
            });
        }
    }

    /// The rule of membership: calls `each(machine, reason)` for every reason of every member of
    /// a role whose `machines` are `listed` and whose `tags` are `tags`. First the listed machines,
    /// in list order; then, for each tag in order (repeats left out), the machines carrying it,
    /// sorted. A machine may come more than once; its first reason places it among the members.
    /// Names of no machine are left out (validation reports them).
    fn walk<'r>(
        &self,
        listed: impl Iterator<Item = &'r str>,
        tags: impl Iterator<Item = &'r str>,
        mut each: impl FnMut(usize, Reason<'r>),
    ) {
        for (index, name) in listed.enumerate() {
            if let Some(i) = self.by_name.get(name) {
                each(i, Reason::Listed { index });
            }
        }
        for (index, tag) in first_occurrences_by(tags.enumerate(), |&(_, t)| t) {
            for &i in self.carrying(tag) {
                each(i, Reason::Tag { tag, index });
            }
        }
    }

    /// The members of a role (see [`Roster::walk`]), each once, in the order of their first
    /// reasons. `seen` is only scratch space.
    fn members<'r>(
        &self,
        listed: impl Iterator<Item = &'r str>,
        tags: impl Iterator<Item = &'r str>,
        seen: &mut Seen,
    ) -> Vec<u32> {
        seen.next();
        let mut out = Vec::new();
        self.walk(listed, tags, |i, _| {
            if seen.insert(i) {
                out.push(narrow(i));
            }
        });
        out
    }

    /// How many members a role has (see [`Roster::walk`]), without listing them. `seen` is only
    /// scratch space.
    fn count<'r>(
        &self,
        listed: impl Iterator<Item = &'r str>,
        tags: impl Iterator<Item = &'r str>,
        seen: &mut Seen,
    ) -> usize {
        seen.next();
        let mut n = 0;
        self.walk(listed, tags, |i, _| {
            n += usize::from(seen.insert(i));
        });
        n
    }

    /// Whether machine `mi` is a member of a role (see [`Roster::walk`]), without walking its
    /// members: one of the `listed` names is the machine's, or it carries one of the `tags`.
    fn is_member<'r>(
        &self,
        mut listed: impl Iterator<Item = &'r str>,
        tags: impl Iterator<Item = &'r str>,
        mi: usize,
    ) -> bool {
        listed.any(|name| self.by_name.get(name) == Some(mi)) || self.tagged(tags, mi)
    }

    /// Whether machine `mi` carries one of `tags`: a binary search in each tag's machines.
    fn tagged<'r>(&self, mut tags: impl Iterator<Item = &'r str>, mi: usize) -> bool {
        tags.any(|tag| self.carrying(tag).binary_search(&mi).is_ok())
    }

    /// Every reason of machine `mi` in a role (see [`Roster::walk`]); none if it is no member.
    fn reasons_in<'r>(
        &self,
        listed: impl Iterator<Item = &'r str>,
        tags: impl Iterator<Item = &'r str>,
        mi: usize,
    ) -> Vec<Reason<'r>> {
        let mut out = Vec::new();
        self.walk(listed, tags, |i, reason| {
            if i == mi {
                out.push(reason);
            }
        });
        out
    }

    /// The members of `role` of an `inventory.services` instance.
    pub(super) fn members_of<V>(&self, role: &Role<V>, seen: &mut Seen) -> Vec<u32> {
        self.members(names(&role.machines), names(&role.tags), seen)
    }

    /// How many members `role` of an `inventory.services` instance has.
    pub(super) fn count_members_of<V>(&self, role: &Role<V>, seen: &mut Seen) -> usize {
        self.count(names(&role.machines), names(&role.tags), seen)
    }

    /// Whether machine `mi` is a member of `role` of an `inventory.services` instance.
    pub(super) fn is_member_of<V>(&self, role: &Role<V>, mi: usize) -> bool {
        self.is_member(names(&role.machines), names(&role.tags), mi)
    }

    /// Marks in `seen` the machines that `role` of an `inventory.services` instance lists: with
    /// [`Roster::tagged_in`], whether a machine is a member, for many machines of one instance
    /// (each `machines.<m>` entry) without scanning the lists once per machine.
    pub(super) fn mark_listed_in<V>(&self, role: &Role<V>, seen: &mut Seen) {
        for name in &role.machines {
            if let Some(i) = self.by_name.get(name) {
                seen.insert(i);
            }
        }
    }

    /// Whether machine `mi` carries one of the tags of `role` of an `inventory.services` instance.
    pub(super) fn tagged_in<V>(&self, role: &Role<V>, mi: usize) -> bool {
        self.tagged(names(&role.tags), mi)
    }

    /// Why machine `mi` is a member of `role` of an `inventory.services` instance: every reason,
    /// explicit listings first, then tags in the order given; empty if it is no member.
    #[must_use]
    pub fn reasons<V>(&self, role: &'a Role<V>, mi: usize) -> Vec<Reason<'a>> {
        self.reasons_in(names(&role.machines), names(&role.tags), mi)
    }

    /// The members of `role` of an `inventory.instances` instance: the machines it lists, in their
    /// order, then those of its tags (`ClanResolution::settings_at` relies on the listed ones coming first).
    pub(super) fn clan_members_of<V>(&self, role: &ClanRole<V>, seen: &mut Seen) -> Vec<u32> {
        self.members(clan_listed(role), clan_tags(role), seen)
    }

    /// Why machine `mi` is a member of `role` of an `inventory.instances` instance, as
    /// [`Roster::reasons`].
    #[must_use]
    pub fn clan_reasons<V>(&self, role: &'a ClanRole<V>, mi: usize) -> Vec<Reason<'a>> {
        self.reasons_in(clan_listed(role), clan_tags(role), mi)
    }
}

fn names(list: &[String]) -> impl Iterator<Item = &str> {
    list.iter().map(String::as_str)
}

fn clan_listed<V>(role: &ClanRole<V>) -> impl Iterator<Item = &str> {
    role.machines.iter().map(|m| m.name.as_str())
}

fn clan_tags<V>(role: &ClanRole<V>) -> impl Iterator<Item = &str> {
    role.tags.iter().map(|t| t.name.as_str())
}

/// Machine names to their index in `Input::machines`: a hash lookup per role member and per
/// `machines.<m>` entry, where a binary search compared a dozen names (a tenth of the builtin's
/// time at 50,000 machines, measured with perf).
struct MachineIndex<'a>(HashMap<&'a str, usize>);

impl<'a> MachineIndex<'a> {
    fn new<V>(input: &'a Input<V>) -> Self {
        MachineIndex(
            input
                .machines
                .iter()
                .enumerate()
                .map(|(i, m)| (m.name.as_str(), i))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<usize> {
        self.0.get(name).copied()
    }
}

/// Tags of each machine: its own, then the global tags naming it (sorted), then `all` and its class.
fn machine_tags<'a, V>(input: &'a Input<V>, index: &MachineIndex<'_>) -> MachineTags<'a> {
    let mut global: Vec<Vec<&str>> = vec![Vec::new(); input.machines.len()];
    for (tag, members) in &input.tags {
        for m in members {
            if let Some(i) = index.get(m) {
                global[i].push(tag);
            }
        }
    }
    let mut out = MachineTags {
        all: Vec::with_capacity(input.machines.iter().map(|m| m.tags.len() + 2).sum()),
        ends: Vec::with_capacity(input.machines.len()),
    };
    for (m, global) in input.machines.iter().zip(global) {
        let start = out.all.len();
        let all = m
            .tags
            .iter()
            .map(Name::as_str)
            .chain(global)
            .chain([ALL_TAG, m.class.as_str()]);
        // First occurrences only, as `first_occurrences` does, without a vector per machine.
        let mut seen: Option<FxHashSet<&str>> = None;
        for tag in all {
            let new = match &mut seen {
                Some(set) => set.insert(tag),
                None => !out.all[start..].contains(&tag),
            };
            if new {
                out.all.push(tag);
                if seen.is_none() && out.all.len() - start > FIRST_OCCURRENCES_LINEAR {
                    seen = Some(out.all[start..].iter().copied().collect());
                }
            }
        }
        out.ends.push(narrow(out.all.len()));
    }
    out
}

/// The tag every machine carries. A static, so that [`machines_by_tag`] knows it by address.
static ALL_TAG: &str = "all";

/// For each tag, the machines carrying it, sorted by name (machines are visited in name order).
fn machines_by_tag<'a>(tags: &MachineTags<'a>) -> HashMap<&'a str, Vec<usize>> {
    // `all` and the class, which every machine carries, are gathered without hashing (two
    // fifths of all lookups in the benchmark fleets). They are known by address: a user's tag
    // of the same name is a string of its own, which goes through the map, and the two lists of
    // such a tag are merged below (a machine carries a tag once, so they have no machine in
    // common).
    let computed = [
        ALL_TAG,
        MachineClass::Nixos.as_str(),
        MachineClass::Darwin.as_str(),
    ];
    let mut direct: [Vec<usize>; 3] = Default::default();
    let mut by_tag: HashMap<&str, Vec<usize>> = HashMap::default();
    for i in 0..tags.len() {
        'tags: for &t in &tags[i] {
            for (c, list) in computed.iter().zip(&mut direct) {
                if std::ptr::eq(t, *c) {
                    list.push(i);
                    continue 'tags;
                }
            }
            by_tag.entry(t).or_default().push(i);
        }
    }
    for (tag, list) in computed.into_iter().zip(direct) {
        if list.is_empty() {
            continue;
        }
        match by_tag.entry(tag) {
            Entry::Vacant(e) => {
                e.insert(list);
            }
            Entry::Occupied(mut e) => {
                let merged = merge_sorted(e.get(), &list);
                *e.get_mut() = merged;
            }
        }
    }
    by_tag
}

/// The union of two sorted lists with no element in common, sorted.
fn merge_sorted(a: &[usize], b: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] < b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Up to how many items a list of first occurrences is checked linearly; longer ones (a machine
/// with thousands of tags) switch to a set.
const FIRST_OCCURRENCES_LINEAR: usize = 16;

/// The items without repetitions, first occurrence kept.
pub(super) fn first_occurrences<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    first_occurrences_by(items, |s| s)
}

/// The items without repetitions of their names, first occurrence kept. Lists are usually short,
/// where a linear check beats hashing; long ones (a machine with thousands of tags) switch to a
/// set.
fn first_occurrences_by<'a, T: Copy>(
    items: impl Iterator<Item = T>,
    name: impl Fn(&T) -> &'a str,
) -> Vec<T> {
    const LINEAR: usize = FIRST_OCCURRENCES_LINEAR;
    let mut out: Vec<T> = Vec::new();
    let mut seen: Option<FxHashSet<&str>> = None;
    for item in items {
        let key = name(&item);
        let new = match &mut seen {
            Some(set) => set.insert(key),
            None => !out.iter().any(|o| name(o) == key),
        };
        if new {
            out.push(item);
            if seen.is_none() && out.len() > LINEAR {
                seen = Some(out.iter().map(&name).collect());
            }
        }
    }
    out
}

/// A set of machine indices that empties in O(1): each role's members are deduplicated with it.
pub(super) struct Seen {
    stamp: Vec<u32>,
    generation: u32,
}

impl Seen {
    pub(super) fn new(n: usize) -> Self {
        Seen {
            stamp: vec![0; n],
            generation: 0,
        }
    }

    /// Empties the set.
    pub(super) fn next(&mut self) {
        self.generation += 1;
    }

    /// Adds `i`; whether it was not in the set yet.
    pub(super) fn insert(&mut self, i: usize) -> bool {
        if self.stamp[i] == self.generation {
            false
        } else {
            self.stamp[i] = self.generation;
            true
        }
    }

    /// Whether `i` was added since the last [`Seen::next`] (which must have been called once).
    pub(super) fn contains(&self, i: usize) -> bool {
        self.stamp[i] == self.generation
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::json::JsonTree;
    use super::super::{load, resolve};
    use super::*;

    /// Where a reason comes in the walk: listings in order, then tags in order, each tag's
    /// machines sorted.
    fn walk_order(reason: Reason<'_>, machine: usize) -> (usize, usize, usize) {
        match reason {
            Reason::Listed { index } => (0, index, 0),
            Reason::Tag { index, .. } => (1, index, machine),
        }
    }

    /// The members of a role are exactly the machines with a reason, in the order of their first.
    fn check_members(members: &[u32], reasons: &[Vec<Reason<'_>>]) {
        let mut with: Vec<((usize, usize, usize), usize)> = reasons
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(m, r)| (walk_order(r[0], m), m))
            .collect();
        with.sort_unstable();
        let ordered: Vec<u32> = with.into_iter().map(|(_, m)| narrow(m)).collect();
        assert_eq!(ordered, members);
    }

    #[test]
    fn reasons_of_both_apis_agree_with_their_members() {
        let args = json!({
            "inventory": {
                "machines": { "d": { "tags": ["t"] }, "c": { "tags": ["t", "u"] }, "b": { "tags": ["u"] }, "a": {} },
                "services": { "borg": { "i": { "roles": {
                    "client": { "machines": ["d", "a", "d"], "tags": ["u", "t", "u"] }
                } } } },
                "instances": {
                    "second": { "module": { "name": "backup" }, "roles": {
                        "client": { "machines": { "d": {}, "a": {} }, "tags": ["u", "t"] }
                    } }
                }
            },
            "modules": { "borg": { "roles": { "client": "c.nix", "server": "s.nix" } } },
            "serviceModules": { "self": { "backup": { "roles": { "client": {} } } } }
        });
        let mut tree = JsonTree::new();
        let input = load(&mut tree, &&args).unwrap();
        let res = resolve(&input);
        let (a, b, c, d) = (0, 1, 2, 3);
        let tag = |tag, index| Reason::Tag { tag, index };
        let listed = |index| Reason::Listed { index };

        let role = &input.services[0].instances[0].roles[0];
        let reasons: Vec<_> = (0..4).map(|m| res.roster.reasons(role, m)).collect();
        // Every listing; a tag once, at its first occurrence.
        assert_eq!(reasons[d], [listed(0), listed(2), tag("t", 1)]);
        assert_eq!(reasons[c], [tag("u", 0), tag("t", 1)]);
        assert_eq!(reasons[b], [tag("u", 0)]);
        assert_eq!(reasons[a], [listed(1)]);
        let members = &res.instances[0].roles[0].1;
        assert_eq!(members, &[d, a, b, c].map(narrow));
        check_members(members, &reasons);
        // Asked without the list: the members are the machines with a reason.
        for (m, r) in reasons.iter().enumerate() {
            assert_eq!(res.roster.is_member_of(role, m), !r.is_empty());
        }
        let mut seen = Seen::new(4);
        assert_eq!(res.roster.count_members_of(role, &mut seen), members.len());
        // The module's other role, which the instance does not fill.
        assert!(res.instances[0].roles[1].1.is_empty());

        // Listed machines of `inventory.instances` are attribute names, sorted.
        let role = &input.instances[0].roles[0];
        let reasons: Vec<_> = (0..4).map(|m| res.roster.clan_reasons(role, m)).collect();
        assert_eq!(reasons[d], [listed(1), tag("t", 1)]);
        assert_eq!(reasons[a], [listed(0)]);
        assert_eq!(reasons[c], [tag("u", 0), tag("t", 1)]);
        let members = &res.clan.instances[0].roles[0].members;
        assert_eq!(members, &[a, d, b, c].map(narrow));
        check_members(members, &reasons);
    }

    #[test]
    fn user_tags_named_like_the_computed_ones_share_their_lists() {
        // `b` and `d` tag themselves `all`, `c` (darwin) tags itself `nixos`, `a` `darwin`: each
        // tag's machines are one sorted list, whether the tag is computed or given.
        let args = json!({
            "inventory": {
                "machines": {
                    "a": { "tags": ["darwin"] }, "b": { "tags": ["all"] },
                    "c": { "machineClass": "darwin", "tags": ["nixos"] },
                    "d": { "tags": ["all", "x"] }, "e": { "machineClass": "darwin" }
                },
                "services": {}
            },
            "modules": {}
        });
        let mut tree = JsonTree::new();
        let input = load(&mut tree, &&args).unwrap();
        let (roster, tags) = Roster::new(&input);
        assert_eq!(roster.carrying("all"), [0, 1, 2, 3, 4]);
        assert_eq!(roster.carrying("nixos"), [0, 1, 2, 3]);
        assert_eq!(roster.carrying("darwin"), [0, 2, 4]);
        assert_eq!(roster.carrying("x"), [3]);
        assert_eq!(&tags[2], ["nixos", "all", "darwin"]);
        assert_eq!(&tags[3], ["all", "x", "nixos"]);
    }

    #[test]
    fn first_occurrences_keep_the_first_also_past_the_linear_scan() {
        let many: Vec<String> = (0..40).map(|i| format!("t{}", i % 25)).collect();
        let firsts = first_occurrences_by(many.iter().map(String::as_str).enumerate(), |&(_, t)| t);
        assert_eq!(firsts.len(), 25);
        assert!(firsts.iter().enumerate().all(|(k, &(i, _))| k == i));
    }
}
