//! Attribute paths for messages: a borrowed chain on the decoder's stack ([`Path`]), turned into
//! an owned list of steps ([`AttrPath`]) only when a message needs one. Text is made only by
//! `Display`, so that the CLI can follow the steps into the file instead of parsing the message.

use std::fmt;

/// One step below the root of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// An attribute name.
    Attr(String),
    /// An index into a list.
    Index(usize),
}

/// Where in the argument a message points: a root (`inventory`, `modules`, `directory`, or
/// `clanInventory` for the argument itself) and the steps below it. Shown as Nix would write it:
/// `inventory.machines."web.1".tags[2]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub root: &'static str,
    pub steps: Vec<Step>,
}

impl AttrPath {
    #[must_use]
    pub fn root(root: &'static str) -> Self {
        AttrPath {
            root,
            steps: Vec::new(),
        }
    }

    /// This path with attribute `name` below it.
    #[must_use]
    pub fn attr(mut self, name: &str) -> Self {
        self.steps.push(Step::Attr(name.to_owned()));
        self
    }

    /// This path with list index `i` below it.
    #[must_use]
    pub fn index(mut self, i: usize) -> Self {
        self.steps.push(Step::Index(i));
        self
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.root)?;
        for step in &self.steps {
            match step {
                Step::Attr(name) => write!(f, ".{}", quote_attr(name))?,
                Step::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// One step of the walk down the argument. A chain of these lives on the stack of the decoder, so
/// the common case (no error) never allocates a path.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root(&'static str),
    Attr(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(crate) fn attr(&'a self, name: &'a str) -> Path<'a> {
        Path::Attr(self, name)
    }

    pub(crate) fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }

    /// The owned path, for a message.
    pub(crate) fn render(&self) -> AttrPath {
        match self {
            Path::Root(root) => AttrPath::root(root),
            Path::Attr(parent, name) => parent.render().attr(name),
            Path::Index(parent, i) => parent.render().index(*i),
        }
    }
}

/// Writes an attribute name as Nix would need it in an attribute path: bare when it is a plain
/// identifier, else in double quotes with Nix string escapes.
#[must_use]
pub fn quote_attr(name: &str) -> String {
    let mut chars = name.chars();
    let plain = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'));
    if plain {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if rest[1..].starts_with('{') => out.push_str("\\$"),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        for (name, quoted) in [
            ("jon", "jon"),
            ("instance_1", "instance_1"),
            ("a-b'c", "a-b'c"),
            ("web.1", "\"web.1\""),
            ("1st", "\"1st\""),
            ("", "\"\""),
            ("a\"b", "\"a\\\"b\""),
            ("a\\b", "\"a\\\\b\""),
            ("x${y}", "\"x\\${y}\""),
            ("x$y", "\"x$y\""),
            ("l\n\r\t", "\"l\\n\\r\\t\""),
            ("zoé", "\"zoé\""),
        ] {
            assert_eq!(quote_attr(name), quoted, "{name:?}");
        }
    }

    #[test]
    fn rendering() {
        let root = Path::Root("inventory");
        let machines = root.attr("machines");
        let jon = machines.attr("web.1");
        let tags = jon.attr("tags");
        assert_eq!(
            tags.index(2).render().to_string(),
            "inventory.machines.\"web.1\".tags[2]"
        );
        assert_eq!(
            tags.index(2).render().steps,
            [
                Step::Attr("machines".into()),
                Step::Attr("web.1".into()),
                Step::Attr("tags".into()),
                Step::Index(2)
            ]
        );
        // The steps of a quoted name are the name itself; its text is quoted like Nix.
        let odd = AttrPath::root("inventory").attr("tags").attr("a\"b${c}\n");
        assert_eq!(odd.to_string(), "inventory.tags.\"a\\\"b\\${c}\\n\"");
        assert_eq!(odd.steps[1], Step::Attr("a\"b${c}\n".into()));
    }
}
