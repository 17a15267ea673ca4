//! The one way the encoder caches: [`Encoder::memo`], over a map by key or a single slot
//! ([`Table`]), keeping values as persistent handles and indices as they are ([`Keep`]).

use rustc_hash::FxHashMap as HashMap;
use std::borrow::Borrow;
use std::hash::Hash;

use super::{Caches, Encoder, Slot};
use crate::nix::{Error, Value};

/// Where [`Encoder::memo`] keeps what it made: a map by key, or a single slot (the key `()`).
/// Each instance's [`InstanceValues`](super::InstanceValues) are slots, in a vector by instance
/// index, so that they cost no hashing on paths taken for every machine.
pub(super) trait Table<'k, Q: ?Sized> {
    type Kept;
    fn get(&self, key: &Q) -> Option<&Self::Kept>;
    fn put(&mut self, key: &'k Q, kept: Self::Kept);
}

impl<'k, K, Q, V> Table<'k, Q> for HashMap<K, V>
where
    K: Borrow<Q> + Hash + Eq + Key<'k, Q>,
    Q: Hash + Eq + ?Sized,
{
    type Kept = V;
    #[inline]
    fn get(&self, key: &Q) -> Option<&V> {
        HashMap::get(self, key)
    }
    #[inline]
    fn put(&mut self, key: &'k Q, kept: V) {
        self.insert(K::own(key), kept);
    }
}

impl<V> Table<'_, ()> for Option<V> {
    type Kept = V;
    #[inline]
    fn get(&self, (): &()) -> Option<&V> {
        self.as_ref()
    }
    #[inline]
    fn put(&mut self, (): &(), kept: V) {
        *self = Some(kept);
    }
}

/// The key a [`Table`] keeps, made from the borrowed one of a lookup only when an entry is added:
/// a lookup by a slice or a string allocates nothing.
pub(super) trait Key<'k, Q: ?Sized> {
    fn own(key: &'k Q) -> Self;
}

impl<'k, T: Copy> Key<'k, T> for T {
    #[inline]
    fn own(key: &'k T) -> T {
        *key
    }
}

impl<'k> Key<'k, str> for &'k str {
    #[inline]
    fn own(key: &'k str) -> Self {
        key
    }
}

impl<'k, T> Key<'k, [T]> for &'k [T] {
    #[inline]
    fn own(key: &'k [T]) -> Self {
        key
    }
}

impl<T: Clone> Key<'_, [T]> for Box<[T]> {
    #[inline]
    fn own(key: &[T]) -> Self {
        key.into()
    }
}

/// What a [`Table`] keeps of something made during a call (`'s`), and how it gives it back: a
/// value is kept as a persistent handle, an index as it is.
pub(super) trait Keep<'s>: Sized {
    type Kept;
    fn keep(&self) -> Result<Self::Kept, Error>;
    fn back(kept: &Self::Kept) -> Self;
}

impl<'s> Keep<'s> for Value<'s> {
    type Kept = Value<'static>;
    #[inline]
    fn keep(&self) -> Result<Value<'static>, Error> {
        self.clone().persist()
    }
    #[inline]
    fn back(kept: &Value<'static>) -> Self {
        kept.clone()
    }
}

impl Keep<'_> for usize {
    type Kept = usize;
    #[inline]
    fn keep(&self) -> Result<usize, Error> {
        Ok(*self)
    }
    #[inline]
    fn back(kept: &usize) -> Self {
        *kept
    }
}

impl<'i> Keep<'_> for Slot<'i> {
    type Kept = Slot<'i>;
    #[inline]
    fn keep(&self) -> Result<Slot<'i>, Error> {
        Ok(*self)
    }
    #[inline]
    fn back(kept: &Slot<'i>) -> Self {
        *kept
    }
}

impl<'s, A: Keep<'s>, B: Keep<'s>> Keep<'s> for (A, B) {
    type Kept = (A::Kept, B::Kept);
    #[inline]
    fn keep(&self) -> Result<Self::Kept, Error> {
        Ok((self.0.keep()?, self.1.keep()?))
    }
    #[inline]
    fn back(kept: &Self::Kept) -> Self {
        (A::back(&kept.0), B::back(&kept.1))
    }
}

impl<'s, T: Keep<'s>> Keep<'s> for Vec<T> {
    type Kept = Vec<T::Kept>;
    #[inline]
    fn keep(&self) -> Result<Self::Kept, Error> {
        self.iter().map(Keep::keep).collect()
    }
    #[inline]
    fn back(kept: &Self::Kept) -> Self {
        kept.iter().map(T::back).collect()
    }
}

impl<'i, 's> Encoder<'_, '_, 'i, 's> {
    /// What `table` (in the [`Caches`]) holds at `key`, made by `make` the first time: every
    /// cache of the encoder but `Caches::names` is filled here.
    #[inline]
    pub(super) fn memo<'k, Q, P, T>(
        &mut self,
        table: impl for<'t> Fn(&'t mut Caches<'i>) -> &'t mut P,
        key: &'k Q,
        make: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error>
    where
        Q: ?Sized,
        P: Table<'k, Q>,
        T: Keep<'s, Kept = P::Kept>,
    {
        if let Some(kept) = table(self.c).get(key) {
            return Ok(T::back(kept));
        }
        let value = make(self)?;
        let kept = value.keep()?;
        table(self.c).put(key, kept);
        Ok(value)
    }
}
