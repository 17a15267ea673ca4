//! `select`: a small algebra over sets of machines.
//!
//! ```text
//! expr    = term { "|" term }            union
//! term    = factor { "&" factor }        intersection
//! factor  = "!" factor | "(" expr ")" | atom      "!" is the complement (exclusion: a & !b)
//! atom    = "tag:" NAME | "machine:" NAME | "role:" SVC [ "." INST [ "." ROLE ] ]
//!         | "instance:" INST [ "." ROLE ] | "service:" KEY | "all"
//! ```
//!
//! `role:` counts the members the resolution lists under `services.<svc>.<inst>.roles.<r>.machines`;
//! `role:svc.inst` any role of the instance, `role:svc` any instance of the service. `instance:`
//! is the same for `inventory.instances` (`instance:i.r` the members of role r of instance i),
//! `service:` the members of every instance of a clan service, by its key (`self/hello`) or its
//! module name (`hello`: every input's).

use clan_inventory::inventory::{
    did_you_mean, hint, machine_not_defined, tag_matches_no_machine, Input, Output,
};

/// A parsed selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    All,
    Tag(String),
    Machine(String),
    Role(Vec<String>),
    /// `instance:I` or `instance:I.R`.
    Instance(String, Option<String>),
    /// `service:KEY`.
    Service(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Atom(String),
    Not,
    And,
    Or,
    Open,
    Close,
}

fn tokens(src: &str) -> Vec<(usize, Token)> {
    let mut out = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        let token = match c {
            c if c.is_whitespace() => {
                chars.next();
                continue;
            }
            '!' => Token::Not,
            '&' => Token::And,
            '|' => Token::Or,
            '(' => Token::Open,
            ')' => Token::Close,
            _ => {
                let mut end = src.len();
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_whitespace() || "!&|()".contains(c) {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push((i, Token::Atom(src[i..end].to_owned())));
                continue;
            }
        };
        chars.next();
        out.push((i, token));
    }
    out
}

/// Parses a selection.
///
/// # Errors
/// A message saying where the expression is malformed.
pub(crate) fn parse(src: &str) -> Result<Expr, String> {
    let tokens = tokens(src);
    let mut p = Parser {
        tokens: &tokens,
        next: 0,
        len: src.len(),
    };
    let e = p.expr()?;
    match p.tokens.get(p.next) {
        None => Ok(e),
        Some((at, _)) => Err(format!("unexpected ')' at character {}", at + 1)),
    }
}

struct Parser<'t> {
    tokens: &'t [(usize, Token)],
    next: usize,
    len: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(_, t)| t)
    }

    fn here(&self) -> usize {
        self.tokens.get(self.next).map_or(self.len, |(at, _)| *at) + 1
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut e = self.term()?;
        while self.peek() == Some(&Token::Or) {
            self.next += 1;
            e = Expr::Or(Box::new(e), Box::new(self.term()?));
        }
        Ok(e)
    }

    fn term(&mut self) -> Result<Expr, String> {
        let mut e = self.factor()?;
        while self.peek() == Some(&Token::And) {
            self.next += 1;
            e = Expr::And(Box::new(e), Box::new(self.factor()?));
        }
        Ok(e)
    }

    fn factor(&mut self) -> Result<Expr, String> {
        let at = self.here();
        let token = self.peek().cloned();
        self.next += 1;
        match token {
            Some(Token::Not) => Ok(Expr::Not(Box::new(self.factor()?))),
            Some(Token::Open) => {
                let e = self.expr()?;
                if self.peek() == Some(&Token::Close) {
                    self.next += 1;
                    Ok(e)
                } else {
                    Err(format!("expected ')' at character {}", self.here()))
                }
            }
            Some(Token::Atom(a)) => atom(&a).map_err(|e| format!("{e} at character {at}")),
            None => Err(format!("expected a selector at character {at} (the end)")),
            Some(_) => Err(format!("expected a selector at character {at}")),
        }
    }
}

fn atom(a: &str) -> Result<Expr, String> {
    if a == "all" || a == "*" {
        return Ok(Expr::All);
    }
    let (kind, name) = a.split_once(':').ok_or_else(|| {
        format!("'{a}' is not a selector (tag:NAME, machine:NAME, role:SVC.INST.ROLE, instance:INST.ROLE, service:KEY, all)")
    })?;
    if name.is_empty() {
        return Err(format!("'{a}' needs a name after ':'"));
    }
    match kind {
        "tag" => Ok(Expr::Tag(name.to_owned())),
        "machine" => Ok(Expr::Machine(name.to_owned())),
        "role" => {
            let parts: Vec<String> = name.splitn(3, '.').map(str::to_owned).collect();
            if parts.iter().any(String::is_empty) {
                return Err(format!("'{a}' is not of the form role:SVC[.INST[.ROLE]]"));
            }
            Ok(Expr::Role(parts))
        }
        "instance" => match name.split_once('.') {
            None => Ok(Expr::Instance(name.to_owned(), None)),
            Some((i, r)) if !i.is_empty() && !r.is_empty() && !r.contains('.') => {
                Ok(Expr::Instance(i.to_owned(), Some(r.to_owned())))
            }
            Some(_) => Err(format!("'{a}' is not of the form instance:INST[.ROLE]")),
        },
        "service" => Ok(Expr::Service(name.to_owned())),
        _ => Err(format!(
            "unknown selector kind '{kind}' (kinds: instance, machine, role, service, tag)"
        )),
    }
}

/// Evaluates `e` to one flag per machine of `input`. Names that are not defined are errors, with a
/// suggestion; a tag no machine carries only gives a warning.
pub(crate) fn eval<V>(
    e: &Expr,
    input: &Input<V>,
    output: &Output<'_, V>,
    warnings: &mut Vec<String>,
) -> Result<Vec<bool>, String> {
    let n = input.machines.len();
    Ok(match e {
        Expr::All => vec![true; n],
        Expr::Tag(t) => {
            let set: Vec<bool> = output
                .machines
                .iter()
                .map(|m| m.tags.contains(&t.as_str()))
                .collect();
            if !set.contains(&true) {
                let mut known: Vec<&str> = output
                    .machines
                    .iter()
                    .flat_map(|m| m.tags.iter().copied())
                    .collect();
                known.sort_unstable();
                known.dedup();
                let suggestion = did_you_mean(t, known);
                warnings.push(tag_matches_no_machine(t, suggestion.as_deref()));
            }
            set
        }
        Expr::Machine(name) => {
            let Ok(i) = input
                .machines
                .binary_search_by(|m| m.name.as_str().cmp(name))
            else {
                let suggestion = did_you_mean(name, input.machines.iter().map(|m| m.name.as_str()));
                return Err(machine_not_defined(name, suggestion.as_deref()));
            };
            let mut set = vec![false; n];
            set[i] = true;
            set
        }
        Expr::Role(parts) => role(parts, output, n)?,
        Expr::Instance(i, r) => clan_instance(i, r.as_deref(), output, n)?,
        Expr::Service(key) => clan_service(key, output, n)?,
        Expr::Not(e) => eval(e, input, output, warnings)?
            .into_iter()
            .map(|b| !b)
            .collect(),
        Expr::And(a, b) => zip(
            eval(a, input, output, warnings)?,
            eval(b, input, output, warnings)?,
            |x, y| x && y,
        ),
        Expr::Or(a, b) => zip(
            eval(a, input, output, warnings)?,
            eval(b, input, output, warnings)?,
            |x, y| x || y,
        ),
    })
}

fn zip(a: Vec<bool>, b: Vec<bool>, f: impl Fn(bool, bool) -> bool) -> Vec<bool> {
    a.into_iter().zip(b).map(|(x, y)| f(x, y)).collect()
}

fn role<V>(parts: &[String], output: &Output<'_, V>, n: usize) -> Result<Vec<bool>, String> {
    let service = &parts[0];
    let mut set = vec![false; n];
    let instances: Vec<_> = output
        .instances
        .iter()
        .filter(|i| i.service == service)
        .collect();
    if instances.is_empty() {
        let mut known: Vec<&str> = output.instances.iter().map(|i| i.service).collect();
        known.dedup();
        return Err(format!(
            "no service '{service}' in the inventory (services: {}){}",
            list(&known),
            hint(did_you_mean(service, known.iter().copied()).as_deref())
        ));
    }
    let instances: Vec<_> = match parts.get(1) {
        None => instances,
        Some(name) => {
            let found: Vec<_> = instances
                .iter()
                .copied()
                .filter(|i| i.instance == name)
                .collect();
            if found.is_empty() {
                let known: Vec<&str> = instances.iter().map(|i| i.instance).collect();
                return Err(format!(
                    "service '{service}' has no instance '{name}' (instances: {}){}",
                    list(&known),
                    hint(did_you_mean(name, known.iter().copied()).as_deref())
                ));
            }
            found
        }
    };
    for inst in instances {
        let roles: Vec<_> = match parts.get(2) {
            None => inst.roles.iter().collect(),
            Some(r) => {
                let found: Vec<_> = inst.roles.iter().filter(|(name, _)| name == r).collect();
                if found.is_empty() {
                    let known: Vec<&str> = inst.roles.iter().map(|(name, _)| *name).collect();
                    return Err(format!(
                        "role '{r}' is not defined by module '{service}' (roles: {}){}",
                        list(&known),
                        hint(did_you_mean(r, known.iter().copied()).as_deref())
                    ));
                }
                found
            }
        };
        for (_, members) in roles {
            for &m in members {
                set[m as usize] = true;
            }
        }
    }
    Ok(set)
}

/// The members of instance `name` of `inventory.instances` (of its role `role` only, if given).
fn clan_instance<V>(
    name: &str,
    role: Option<&str>,
    output: &Output<'_, V>,
    n: usize,
) -> Result<Vec<bool>, String> {
    let clan = &output.clan;
    let Some(inst) = clan.instances.iter().find(|i| i.name == name) else {
        let known: Vec<&str> = clan.instances.iter().map(|i| i.name).collect();
        return Err(format!(
            "no instance '{name}' in inventory.instances (instances: {}){}",
            list(&known),
            hint(did_you_mean(name, known.iter().copied()).as_deref())
        ));
    };
    let mut set = vec![false; n];
    let roles: Vec<_> = match role {
        None => inst.roles.iter().collect(),
        Some(r) => {
            let found: Vec<_> = inst.roles.iter().filter(|x| x.name == r).collect();
            if found.is_empty() {
                let known: Vec<&str> = inst.roles.iter().map(|x| x.name).collect();
                return Err(format!(
                    "instance '{name}' has no role '{r}' (roles: {}){}",
                    list(&known),
                    hint(did_you_mean(r, known.iter().copied()).as_deref())
                ));
            }
            found
        }
    };
    for r in roles {
        for &m in &r.members {
            set[m as usize] = true;
        }
    }
    Ok(set)
}

/// The members of every instance of the clan services with key `key`, or with module name `key`.
fn clan_service<V>(key: &str, output: &Output<'_, V>, n: usize) -> Result<Vec<bool>, String> {
    let clan = &output.clan;
    let matching: Vec<usize> = (0..clan.services.len())
        .filter(|&s| clan.services[s].key == key || clan.services[s].module == key)
        .collect();
    if matching.is_empty() {
        let known: Vec<&str> = clan.services.iter().map(|s| s.key.as_str()).collect();
        return Err(format!(
            "no clan service '{key}' in inventory.instances (services: {}){}",
            list(&known),
            hint(did_you_mean(key, known.iter().copied()).as_deref())
        ));
    }
    let mut set = vec![false; n];
    for s in matching {
        for (m, _) in clan.service_machines(s) {
            set[m] = true;
        }
    }
    Ok(set)
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_box_returns)]
    fn tag(t: &str) -> Box<Expr> {
        Box::new(Expr::Tag(t.into()))
    }

    #[test]
    fn precedence() {
        // `&` binds tighter than `|`; `!` tighter than both.
        assert_eq!(
            parse("tag:backup & !tag:zone-2 | role:borg.i.server").unwrap(),
            Expr::Or(
                Box::new(Expr::And(tag("backup"), Box::new(Expr::Not(tag("zone-2"))))),
                Box::new(Expr::Role(vec!["borg".into(), "i".into(), "server".into()]))
            )
        );
        assert_eq!(
            parse("!(tag:a|tag:b)&all").unwrap(),
            Expr::And(
                Box::new(Expr::Not(Box::new(Expr::Or(tag("a"), tag("b"))))),
                Box::new(Expr::All)
            )
        );
    }

    #[test]
    fn syntax_errors() {
        for (src, err) in [
            ("", "expected a selector at character 1 (the end)"),
            ("tag:a &", "expected a selector at character 8 (the end)"),
            ("(tag:a", "expected ')' at character 7"),
            ("tag:a)", "unexpected ')' at character 6"),
            ("backup", "'backup' is not a selector (tag:NAME, machine:NAME, role:SVC.INST.ROLE, instance:INST.ROLE, service:KEY, all) at character 1"),
            ("tag:x & host:a", "unknown selector kind 'host' (kinds: instance, machine, role, service, tag) at character 9"),
            ("instance:a.b.c", "'instance:a.b.c' is not of the form instance:INST[.ROLE] at character 1"),
            ("tag:", "'tag:' needs a name after ':' at character 1"),
            ("role:a..b", "'role:a..b' is not of the form role:SVC[.INST[.ROLE]] at character 1"),
            ("& tag:a", "expected a selector at character 1"),
        ] {
            assert_eq!(parse(src).unwrap_err(), err, "{src}");
        }
    }
}
