//! "Did you mean" suggestions for misspelt names.

/// The closest of `known` to `bad` by Levenshtein distance over bytes, when it is close enough:
/// at most `max(1, len(bad) / 3)`. Ties go to the first candidate in byte order, whatever order
/// `known` comes in.
pub fn did_you_mean<'k, I>(bad: &str, known: I) -> Option<String>
where
    I: IntoIterator<Item = &'k str>,
{
    let limit = (bad.len() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in known {
        // Candidates much longer or shorter than the limit cannot be close: skip the quadratic work.
        if candidate.len().abs_diff(bad.len()) > limit {
            continue;
        }
        let d = levenshtein(bad.as_bytes(), candidate.as_bytes());
        if d > limit {
            continue;
        }
        let better = match best {
            None => true,
            Some((bd, bc)) => d < bd || (d == bd && candidate < bc),
        };
        if better {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c.to_owned())
}

fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(levenshtein(b"", b""), 0);
        assert_eq!(levenshtein(b"jon", b"jonn"), 1);
        assert_eq!(levenshtein(b"clinet", b"client"), 2);
        assert_eq!(levenshtein(b"kitten", b"sitting"), 3);
        assert_eq!(levenshtein(b"", b"abc"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("jonn", ["jon", "sara"]), Some("jon".into()));
        assert_eq!(
            did_you_mean("clinet", ["client", "server"]),
            Some("client".into())
        );
        assert_eq!(did_you_mean("fantasy", ["borgbackup", "zerotier"]), None);
        assert_eq!(
            did_you_mean("bakup", ["backup", "all"]),
            Some("backup".into())
        );
        // Short names still get a suggestion at distance 1, but not at 2.
        assert_eq!(did_you_mean("ab", ["xy", "ac"]), Some("ac".into()));
        assert_eq!(did_you_mean("ab", ["xy"]), None);
        // Ties: the first in byte order, whatever the input order.
        assert_eq!(did_you_mean("ab", ["ac", "aa"]), Some("aa".into()));
        assert_eq!(did_you_mean("ab", ["aa", "ac"]), Some("aa".into()));
        assert_eq!(did_you_mean("x", std::iter::empty()), None);
    }
}
