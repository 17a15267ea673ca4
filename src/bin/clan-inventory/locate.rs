//! Where a diagnostic points in `inventory.json`: the steps of its attribute path are followed
//! through the file's text to a line and column.

use clan_inventory::inventory::Step;

/// What to point at once the path is reached: the value itself, or a name in it: a member name
/// of an attribute set (an unknown attribute, an undefined role) or a string element of a list (an
/// undefined machine, a tag that matches nothing).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refine<'a> {
    None,
    Name(&'a str),
}

/// Line and column (from 1, columns in characters) of `steps` in the JSON `text`: the member name
/// for a last step that is a key, the element for an index, refined by `refine` when it is found.
/// The nearest enclosing position when the path is not all there.
pub(crate) fn locate(text: &str, steps: &[Step], refine: Refine<'_>) -> (usize, usize) {
    let mut s = Scanner {
        text: text.as_bytes(),
        pos: 0,
    };
    s.ws();
    let mut at = s.pos;
    for step in steps {
        match (step, s.peek()) {
            (Step::Attr(k), Some(b'{')) => match s.member(k) {
                Some(key_pos) => at = key_pos,
                None => return line_col(text, at),
            },
            (Step::Index(i), Some(b'[')) => match s.element(*i) {
                Some(pos) => at = pos,
                None => return line_col(text, at),
            },
            _ => return line_col(text, at),
        }
    }
    let found = match (refine, s.peek()) {
        (Refine::Name(k), Some(b'{')) => s.member(k),
        (Refine::Name(e), Some(b'[')) => s.string_element(e),
        _ => None,
    };
    line_col(text, found.unwrap_or(at))
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[start..].chars().count() + 1)
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

    /// Skips the value at `pos`.
    fn skip(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => {
                self.string()?;
            }
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.pos += 1;
                if self.eat(close) {
                    return Some(());
                }
                loop {
                    if open == b'{' {
                        self.ws();
                        self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                    }
                    self.skip()?;
                    if self.eat(close) {
                        return Some(());
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            _ => {
                while matches!(self.peek(), Some(b) if !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                {
                    self.pos += 1;
                }
            }
        }
        Some(())
    }

    /// In the object at `pos`, finds member `name`: returns the position of its name and leaves
    /// `pos` at its value.
    fn member(&mut self, name: &str) -> Option<usize> {
        self.pos += 1;
        if self.eat(b'}') {
            return None;
        }
        loop {
            self.ws();
            let key_pos = self.pos;
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            if key == name {
                self.ws();
                return Some(key_pos);
            }
            self.skip()?;
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// In the array at `pos`, finds element `index`: returns and leaves `pos` at its position.
    fn element(&mut self, index: usize) -> Option<usize> {
        self.pos += 1;
        if self.eat(b']') {
            return None;
        }
        for _ in 0..index {
            self.skip()?;
            if !self.eat(b',') {
                return None;
            }
        }
        self.ws();
        Some(self.pos)
    }

    /// In the array at `pos`, the position of the first string element equal to `want`.
    fn string_element(&mut self, want: &str) -> Option<usize> {
        self.pos += 1;
        if self.eat(b']') {
            return None;
        }
        loop {
            self.ws();
            let at = self.pos;
            if self.peek() == Some(b'"') {
                if self.string()? == want {
                    return Some(at);
                }
            } else {
                self.skip()?;
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
