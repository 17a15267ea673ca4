//! The primop's argument as a [`Tree`], and the decoded input kept beyond the call.

use crate::inventory::{FromText, Input, Kind, Text, Tree};
use crate::nix::{Anchored, Error, Rooted, State, Type, Value};

/// Reads the argument of the primop. Handles point into the argument itself, so nothing is copied
/// and only structural values are forced.
pub(crate) struct NixTree<'a, 's> {
    st: &'a State<'s>,
}

impl<'a, 's> NixTree<'a, 's> {
    pub(crate) fn new(st: &'a State<'s>) -> Self {
        NixTree { st }
    }
}

impl<'s> Tree for NixTree<'_, 's> {
    type Value = Rooted<'s>;
    type Error = Error;
    /// Names are lent by Nix's symbol table, which outlives the call.
    type Name = &'s [u8];

    fn kind(&mut self, v: &Rooted<'s>) -> Result<Kind, Error> {
        Ok(match self.st.force(v)? {
            Type::Int => Kind::Int,
            Type::Float => Kind::Float,
            Type::Bool => Kind::Bool,
            Type::String => Kind::String,
            Type::Path => Kind::Path,
            Type::Null => Kind::Null,
            Type::Attrs => Kind::Attrs,
            Type::List => Kind::List,
            Type::Function => Kind::Function,
            Type::External => Kind::External,
            t @ (Type::Thunk | Type::Failed | Type::Other) => {
                return Err(Error(format!(
                    "internal error: value of type {t:?} after forcing"
                )))
            }
        })
    }

    fn attrs(
        &mut self,
        v: &Rooted<'s>,
        out: &mut Vec<(&'s [u8], Rooted<'s>)>,
    ) -> Result<(), Error> {
        self.st.attrs_lazy(v, out)?;
        // Nix keeps attributes in symbol order; the model wants byte order, as attrNames gives.
        out.sort_unstable_by_key(|(name, _)| *name);
        Ok(())
    }

    fn list(&mut self, v: &Rooted<'s>) -> Result<Vec<Rooted<'s>>, Error> {
        let mut out = Vec::new();
        self.st.list_lazy(v, &mut out)?;
        Ok(out)
    }

    fn list_into(&mut self, v: &Rooted<'s>, out: &mut Vec<Rooted<'s>>) -> Result<(), Error> {
        self.st.list_lazy(v, out)
    }

    fn string(&mut self, v: &Rooted<'s>) -> Result<Text, Error> {
        Ok(String::from_utf8(self.st.string(v)?).map_err(std::string::FromUtf8Error::into_bytes))
    }

    fn string_as<S: FromText>(&mut self, v: &Rooted<'s>) -> Result<Result<S, Vec<u8>>, Error> {
        self.st
            .string_with(v, |bytes| match std::str::from_utf8(bytes) {
                Ok(s) => Ok(S::from_str(s)),
                Err(_) => Err(bytes.to_vec()),
            })
    }

    fn int(&mut self, v: &Rooted<'s>) -> Result<i64, Error> {
        self.st.int(v)
    }

    fn bool(&mut self, v: &Rooted<'s>) -> Result<bool, Error> {
        self.st.bool(v)
    }
}

/// The decoded input with every value held beyond the call (see `State::anchor`): the
/// per-machine results are encoded in later calls. `root` is what the input was read from.
pub(crate) fn persist_input<'s>(
    st: &State<'s>,
    root: &Rooted<'s>,
    input: Input<Rooted<'s>>,
) -> Result<Anchored<Input<Value<'static>>>, Error> {
    st.anchor(root, input, |input, keep| input.try_map(keep))
}
