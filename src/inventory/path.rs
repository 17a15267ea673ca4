//! Attribute paths for messages, built only when a message needs one.

use std::fmt;

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

    pub(crate) fn render(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Attr(parent, name) => write!(f, "{parent}.{}", quote_attr(name)),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
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
            tags.index(2).render(),
            "inventory.machines.\"web.1\".tags[2]"
        );
    }
}
