//! The tree the CLI decodes with: the core's [`JsonTree`], plus, for a whole clan read through
//! Nix, the marks `clan.nix` sends beside the data for what JSON cannot hold. A function is then
//! a function, a path a path, a derivation an attribute set, and a value that throws an
//! evaluation failure of the source, as the builtin sees them ("found a function"); a user's
//! string is a string whatever it says, since the marks are not in the data.

use std::fmt;
use std::sync::LazyLock;

use serde_json::Value;

use clan_inventory::inventory::json::JsonTree;
use clan_inventory::inventory::{Kind, Text, Tree};

/// A value and its marks (`None`: nothing in it is marked, as for inventory.json alone).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Handle<'a> {
    pub(crate) value: &'a Value,
    mark: Option<&'a Value>,
}

/// The mark of each attribute of a derivation: `clan.nix` sends only their names.
static UNREAD: LazyLock<Value> = LazyLock::new(|| serde_json::json!({ "k": "unread" }));

impl<'a> Handle<'a> {
    pub(crate) fn new(value: &'a Value, mark: Option<&'a Value>) -> Self {
        Handle {
            value,
            mark: mark.filter(|m| !m.is_null()),
        }
    }

    /// What the value is when it is not plain data: `function`, `path`, `derivation`, `error`,
    /// `module` or `unread`.
    pub(crate) fn special(&self) -> Option<&'a str> {
        self.mark?.get("k")?.as_str()
    }

    /// The handle of attribute `name` of this set.
    pub(crate) fn attr(&self, name: &str) -> Option<Handle<'a>> {
        let value = self.value.get(name)?;
        let mark = if self.special() == Some("derivation") {
            Some(&*UNREAD)
        } else {
            self.mark.and_then(|m| m.get("c")).and_then(|c| c.get(name))
        };
        Some(Handle::new(value, mark))
    }

    /// The handle of element `i` of this list.
    fn item(&self, i: usize) -> Option<Handle<'a>> {
        let value = self.value.get(i)?;
        let mark = self.mark.and_then(|m| m.get("l")).and_then(|l| l.get(i));
        Some(Handle::new(value, mark))
    }

    /// The value as the commands show it: a string as it is, a Nix value JSON cannot hold by
    /// what it is.
    pub(crate) fn show(&self) -> String {
        match (self.special(), self.value) {
            (Some("path") | None, Value::String(s)) => s.clone(),
            (Some("function"), _) => "a Nix function".to_owned(),
            (Some("derivation"), _) => "a derivation".to_owned(),
            (Some("module"), _) => "a module written inline".to_owned(),
            (Some("error"), _) => "a value that fails to evaluate".to_owned(),
            (_, other) => other.to_string(),
        }
    }
}

/// As JSON (a string in quotes), as the commands have always shown `deploy` hosts.
impl fmt::Display for Handle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// Why a value of a whole clan cannot be read: the source's errors for the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// Evaluating it throws (or fails an assertion).
    Throws,
    /// An attribute of a derivation: only the names are read.
    InDerivation,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unreadable::Throws => {
                "evaluating it fails (a throw or a failed assertion; `nix eval` on it shows why)"
            }
            Unreadable::InDerivation => {
                "an attribute of a derivation, where the inventory expects data"
            }
        })
    }
}

pub(crate) struct CliTree<'a> {
    json: JsonTree<'a>,
}

impl CliTree<'_> {
    pub(crate) fn new() -> Self {
        CliTree {
            json: JsonTree::new(),
        }
    }
}

impl<'a> Tree for CliTree<'a> {
    type Value = Handle<'a>;
    type Error = Unreadable;
    type Name = &'a str;

    fn kind(&mut self, v: &Handle<'a>) -> Result<Kind, Self::Error> {
        match v.special() {
            Some("function") => Ok(Kind::Function),
            Some("path") => Ok(Kind::Path),
            Some("derivation" | "module") => Ok(Kind::Attrs),
            Some("error") => Err(Unreadable::Throws),
            Some("unread") => Err(Unreadable::InDerivation),
            _ => Ok(self
                .json
                .kind(&v.value)
                .unwrap_or_else(|never| match never {})),
        }
    }

    fn attrs(
        &mut self,
        v: &Handle<'a>,
        out: &mut Vec<(&'a str, Handle<'a>)>,
    ) -> Result<(), Self::Error> {
        if v.special() == Some("module") {
            // An inline module of a role: the core never looks inside.
            return Ok(());
        }
        let Value::Object(map) = v.value else {
            return Ok(());
        };
        out.extend(map.keys().filter_map(|k| Some((k.as_str(), v.attr(k)?))));
        out.sort_by_key(|(name, _)| *name);
        Ok(())
    }

    fn list(&mut self, v: &Handle<'a>) -> Result<Vec<Handle<'a>>, Self::Error> {
        let n = v.value.as_array().map_or(0, Vec::len);
        Ok((0..n).filter_map(|i| v.item(i)).collect())
    }

    fn string(&mut self, v: &Handle<'a>) -> Result<Text, Self::Error> {
        Ok(self
            .json
            .string(&v.value)
            .unwrap_or_else(|never| match never {}))
    }

    fn int(&mut self, v: &Handle<'a>) -> Result<i64, Self::Error> {
        Ok(self
            .json
            .int(&v.value)
            .unwrap_or_else(|never| match never {}))
    }

    fn bool(&mut self, v: &Handle<'a>) -> Result<bool, Self::Error> {
        Ok(self
            .json
            .bool(&v.value)
            .unwrap_or_else(|never| match never {}))
    }
}
