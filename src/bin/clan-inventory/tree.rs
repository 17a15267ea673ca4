//! The tree the CLI decodes with: the core's [`JsonTree`], except that for a whole clan read
//! through Nix the marker `clan.nix` writes for a Nix function is a function. The core then
//! reports a function where it expects, say, a string as the builtin does ("found a function").

use serde_json::Value;

use clan_inventory::inventory::json::JsonTree;
use clan_inventory::inventory::{Kind, Text, Tree};

/// What `clan.nix` writes for a function.
pub(crate) const FUNCTION: &str = "«function»";

pub(crate) struct CliTree<'a> {
    json: JsonTree<'a>,
    /// Whether the values come from Nix (then [`FUNCTION`] is a function); for inventory.json
    /// alone it is a string like any other.
    from_nix: bool,
}

impl CliTree<'_> {
    pub(crate) fn new(from_nix: bool) -> Self {
        CliTree {
            json: JsonTree::new(),
            from_nix,
        }
    }
}

impl<'a> Tree for CliTree<'a> {
    type Value = &'a Value;
    type Error = std::convert::Infallible;

    fn kind(&mut self, v: &&'a Value) -> Result<Kind, Self::Error> {
        if self.from_nix && v.as_str() == Some(FUNCTION) {
            return Ok(Kind::Function);
        }
        self.json.kind(v)
    }

    fn attrs(&mut self, v: &&'a Value) -> Result<Vec<(Text, &'a Value)>, Self::Error> {
        self.json.attrs(v)
    }

    fn list(&mut self, v: &&'a Value) -> Result<Vec<&'a Value>, Self::Error> {
        self.json.list(v)
    }

    fn string(&mut self, v: &&'a Value) -> Result<Text, Self::Error> {
        self.json.string(v)
    }

    fn int(&mut self, v: &&'a Value) -> Result<i64, Self::Error> {
        self.json.int(v)
    }

    fn bool(&mut self, v: &&'a Value) -> Result<bool, Self::Error> {
        self.json.bool(v)
    }
}
