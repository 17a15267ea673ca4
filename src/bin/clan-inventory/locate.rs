//! Where a diagnostic points in `inventory.json`: the steps of its attribute path are followed
//! through the file's text to a line and column.

use std::collections::HashMap;

use clan_inventory::inventory::Step;

/// What to point at once the path is reached: the value itself, or a name in it: a member name
/// of an attribute set (an unknown attribute, an undefined role) or a string element of a list (an
/// undefined machine, a tag that matches nothing).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refine<'a> {
    None,
    Name(&'a str),
}

/// The positions in one `inventory.json`, read once: every diagnostic of a file is then placed in
/// time proportional to its path, not to the file (a 10,000-machine fleet can have a thousand
/// warnings, and scanning the text again for each took minutes).
pub(crate) struct Locator {
    root: Option<Node>,
    /// The offset at which each line starts, and whether the line is ASCII (then a column is a
    /// byte distance).
    lines: Vec<(usize, bool)>,
}

/// A JSON value at a position: for an attribute set its members (name, position of the name,
/// value) with an index by name (the first of equal names, as `serde_json` keeps the last but
/// the text reads top-down), for a list its elements.
struct Node {
    pos: usize,
    kind: Kind,
}

enum Kind {
    Object(Vec<(String, usize, Node)>, HashMap<String, usize>),
    Array(Vec<Node>),
    String(String),
    Other,
}

impl Locator {
    /// Reads the positions of `text`, the JSON that `locate` is then given again.
    pub(crate) fn new(text: &str) -> Self {
        let mut s = Scanner {
            text: text.as_bytes(),
            pos: 0,
        };
        let root = s.value();
        let mut lines = Vec::new();
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            lines.push((start, line.is_ascii()));
            start += line.len();
        }
        if lines.is_empty() {
            lines.push((0, true));
        }
        Locator { root, lines }
    }

    /// Line and column (from 1, columns in characters) of `steps`: the member name for a last
    /// step that is a key, the element for an index, refined by `refine` when it is found. The
    /// nearest enclosing position when the path is not all there.
    pub(crate) fn locate(&self, text: &str, steps: &[Step], refine: Refine<'_>) -> (usize, usize) {
        let Some(mut node) = self.root.as_ref() else {
            return (1, 1);
        };
        let mut at = node.pos;
        for step in steps {
            let next = match (step, &node.kind) {
                (Step::Attr(k), Kind::Object(members, index)) => index
                    .get(k.as_str())
                    .map(|&i| (members[i].1, &members[i].2)),
                (Step::Index(i), Kind::Array(elements)) => elements.get(*i).map(|e| (e.pos, e)),
                _ => None,
            };
            match next {
                Some((pos, child)) => {
                    at = pos;
                    node = child;
                }
                None => return self.line_col(text, at),
            }
        }
        let found = match (refine, &node.kind) {
            (Refine::Name(k), Kind::Object(members, index)) => index.get(k).map(|&i| members[i].1),
            (Refine::Name(e), Kind::Array(elements)) => elements
                .iter()
                .find(|x| matches!(&x.kind, Kind::String(v) if v == e))
                .map(|x| x.pos),
            _ => None,
        };
        self.line_col(text, found.unwrap_or(at))
    }

    fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self
            .lines
            .partition_point(|&(start, _)| start <= offset)
            .max(1);
        let (start, ascii) = self.lines[line - 1];
        let column = if ascii {
            offset - start
        } else {
            text[start..offset].chars().count()
        };
        (line, column + 1)
    }
}

/// A forgiving JSON reader over text that `serde_json` has already accepted.
struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Reads a string at `pos` (at its opening quote) and returns its contents.
    fn string(&mut self) -> Option<String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = self.peek()?;
                    self.pos += 1;
                    let c = match e {
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => self.unicode_escape()?,
                        other => char::from(other),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                b => out.push(b),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = std::str::from_utf8(self.text.get(self.pos..self.pos + 4)?).ok()?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    fn unicode_escape(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.text.get(self.pos..self.pos + 2) == Some(b"\\u") {
            self.pos += 2;
            let lo = self.hex4()?;
            return char::from_u32(
                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF),
            );
        }
        Some(char::from_u32(hi).unwrap_or('\u{fffd}'))
    }

    /// Reads the value at `pos` with the positions of everything in it.
    fn value(&mut self) -> Option<Node> {
        self.ws();
        let pos = self.pos;
        let kind = match self.peek()? {
            b'"' => Kind::String(self.string()?),
            b'{' => {
                self.pos += 1;
                let mut members: Vec<(String, usize, Node)> = Vec::new();
                let mut index = HashMap::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key_pos = self.pos;
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        let value = self.value()?;
                        index.entry(key.clone()).or_insert(members.len());
                        members.push((key, key_pos, value));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Kind::Object(members, index)
            }
            b'[' => {
                self.pos += 1;
                let mut elements = Vec::new();
                if !self.eat(b']') {
                    loop {
                        elements.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Kind::Array(elements)
            }
            _ => {
                // A number, true, false or null: up to the next delimiter.
                while matches!(self.peek(), Some(b) if !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                {
                    self.pos += 1;
                }
                Kind::Other
            }
        };
        Some(Node { pos, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locate(text: &str, steps: &[Step], refine: Refine<'_>) -> (usize, usize) {
        Locator::new(text).locate(text, steps, refine)
    }

    fn key(s: &str) -> Step {
        Step::Attr(s.into())
    }

    #[test]
    fn positions() {
        let text = "{\n  \"machines\": {\n    \"jon\": { \"tags\": [\"a\", 3, \"é\\u00e9\"] },\n    \"x\": {}\n  }\n}\n";
        let m = [key("machines")];
        assert_eq!(locate(text, &m, Refine::None), (2, 3));
        let tags = [key("machines"), key("jon"), key("tags")];
        assert_eq!(locate(text, &tags, Refine::None), (3, 14));
        let elem = [key("machines"), key("jon"), key("tags"), Step::Index(1)];
        assert_eq!(locate(text, &elem, Refine::None), (3, 28));
        assert_eq!(locate(text, &tags, Refine::Name("éé")), (3, 31));
        assert_eq!(locate(text, &[key("machines")], Refine::Name("x")), (4, 5));
        // Missing parts point at the nearest enclosing position.
        assert_eq!(
            locate(text, &[key("machines"), key("nope")], Refine::None),
            (2, 3)
        );
        assert_eq!(locate(text, &[], Refine::None), (1, 1));
    }

    #[test]
    fn one_line_with_non_ascii_names() {
        let text = "{\"a\":{\"é\":[\"x\",\"y\"]},\"b\":1}";
        let locator = Locator::new(text);
        let e = [key("a"), key("é")];
        assert_eq!(locator.locate(text, &e, Refine::Name("y")), (1, 16));
        assert_eq!(locator.locate(text, &[key("b")], Refine::None), (1, 22));
        assert_eq!(locator.locate(text, &[key("a")], Refine::Name("é")), (1, 7));
    }
}
