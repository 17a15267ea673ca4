//! The view of a value tree the decoder needs: Nix values in the plugin, JSON in the CLI.

/// What a value is, once forced to weak head normal form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    Bool,
    String,
    Path,
    Null,
    Attrs,
    List,
    Function,
    External,
}

impl Kind {
    /// The name used in messages: "found an integer".
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Int => "an integer",
            Kind::Float => "a float",
            Kind::Bool => "a Boolean",
            Kind::String => "a string",
            Kind::Path => "a path",
            Kind::Null => "null",
            Kind::Attrs => "an attribute set",
            Kind::List => "a list",
            Kind::Function => "a function",
            Kind::External => "an external value",
        }
    }
}

/// A name or string as the source has it: UTF-8 text, or the raw bytes when it is not UTF-8.
pub type Text = Result<String, Vec<u8>>;

/// An owned text the decoder makes from a name or string of the source.
pub trait FromText: Sized {
    fn from_str(s: &str) -> Self;
    fn from_string(s: String) -> Self;
}

impl FromText for String {
    fn from_str(s: &str) -> Self {
        s.to_owned()
    }
    fn from_string(s: String) -> Self {
        s
    }
}

impl FromText for super::model::Name {
    fn from_str(s: &str) -> Self {
        s.into()
    }
    fn from_string(s: String) -> Self {
        s.into()
    }
}

/// A source of values. Handles (`Value`) are cheap references into the source; getting one never
/// evaluates anything, only [`Tree::kind`] does.
pub trait Tree {
    /// A handle to a value, possibly not yet evaluated.
    type Value;
    /// An evaluation failure of the source (a `throw` met while forcing a structural value).
    type Error;
    /// An attribute name, as bytes (the decoder checks that they are UTF-8). Most names are only
    /// matched against the schema and dropped, so a source that can lend its names (Nix's symbol
    /// table, a parsed JSON document) saves an allocation per attribute; the decoder owns only the
    /// names the model keeps.
    type Name: AsRef<[u8]>;

    /// Forces `v` to weak head normal form and tells what it is.
    fn kind(&mut self, v: &Self::Value) -> Result<Kind, Self::Error>;
    /// Appends to `out`, which is empty, the attributes of a set already known to be
    /// [`Kind::Attrs`], sorted by name (bytes), values not forced. (The caller lends the vector,
    /// so that decoding a large fleet reuses a few instead of allocating one per set.)
    fn attrs(
        &mut self,
        v: &Self::Value,
        out: &mut Vec<(Self::Name, Self::Value)>,
    ) -> Result<(), Self::Error>;
    /// The elements of a list already known to be [`Kind::List`], not forced.
    fn list(&mut self, v: &Self::Value) -> Result<Vec<Self::Value>, Self::Error>;
    /// [`Tree::list`] appended to `out`, which is empty: for the lists the decoder only reads
    /// (tag and machine names), so that it lends one vector to all of them.
    fn list_into(
        &mut self,
        v: &Self::Value,
        out: &mut Vec<Self::Value>,
    ) -> Result<(), Self::Error> {
        out.extend(self.list(v)?);
        Ok(())
    }
    /// The contents of a value known to be [`Kind::String`]; `Err(bytes)` when not UTF-8.
    fn string(&mut self, v: &Self::Value) -> Result<Text, Self::Error>;
    /// [`Tree::string`] as an `S`: a source that can lend the bytes makes it without an
    /// intermediate `String`.
    fn string_as<S: FromText>(
        &mut self,
        v: &Self::Value,
    ) -> Result<Result<S, Vec<u8>>, Self::Error> {
        Ok(self.string(v)?.map(S::from_string))
    }
    /// A value known to be [`Kind::Int`].
    fn int(&mut self, v: &Self::Value) -> Result<i64, Self::Error>;
    /// A value known to be [`Kind::Bool`].
    fn bool(&mut self, v: &Self::Value) -> Result<bool, Self::Error>;
}
