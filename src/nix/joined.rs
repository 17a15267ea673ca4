//! An owner and a value that borrows from it, kept together for as long as Nix keeps the
//! per-machine results alive: the decoded inventory and its resolution (which borrows names and
//! values of the inventory), beyond the primop call that made them. The pattern of the
//! `self_cell` crate, in the few lines this plugin needs.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

/// Names the type that borrows from the owner, for every lifetime of the borrow.
pub(crate) trait Family {
    type Of<'a>;
}

/// `O` on the heap, and an `F::Of<'o>` that may borrow from it for as long as both live. The
/// dependent is dropped first; neither moves while the other lives.
pub(crate) struct Joined<O: 'static, F: Family> {
    dependent: ManuallyDrop<Box<F::Of<'static>>>,
    owner: NonNull<O>,
    _owns: PhantomData<Box<O>>,
}

impl<O: 'static, F: Family> Joined<O, F> {
    /// Moves `owner` to the heap and makes the dependent from it.
    pub(crate) fn try_new<E>(
        owner: O,
        make: impl for<'a> FnOnce(&'a O) -> Result<F::Of<'a>, E>,
    ) -> Result<Self, E> {
        let owner = NonNull::from(Box::leak(Box::new(owner)));
        // SAFETY: the owner lives on the heap until `drop` (below, or on failure here), after the
        // dependent that borrows it.
        let dependent = make(unsafe { owner.as_ref() });
        match dependent {
            Ok(dependent) => {
                let dependent = Box::new(dependent);
                // SAFETY: only the lifetime changes (the layout is the same). The `'static` is
                // never seen outside: `with` hands the dependent out under a lifetime no longer
                // than the owner's, through a closure that cannot let it escape.
                let dependent =
                    unsafe { Box::from_raw(Box::into_raw(dependent).cast::<F::Of<'static>>()) };
                Ok(Joined {
                    dependent: ManuallyDrop::new(dependent),
                    owner,
                    _owns: PhantomData,
                })
            }
            Err(e) => {
                // SAFETY: the owner came from Box::leak above and nothing borrows it any more.
                drop(unsafe { Box::from_raw(owner.as_ptr()) });
                Err(e)
            }
        }
    }

    /// Lends the owner and the dependent. The closure works for any lifetime, so that nothing of
    /// a shorter life can be stored into the dependent and nothing borrowed can leave it.
    pub(crate) fn with<R>(&self, f: impl for<'a> FnOnce(&'a O, &'a F::Of<'a>) -> R) -> R {
        let dependent: *const F::Of<'static> = &raw const **self.dependent;
        // SAFETY: the owner is alive and not mutated while `self` is borrowed; the dependent is
        // shortened from its stored `'static` to the borrow of `self`.
        unsafe { f(self.owner.as_ref(), &*dependent.cast::<F::Of<'_>>()) }
    }
}

impl<O: 'static, F: Family> Drop for Joined<O, F> {
    fn drop(&mut self) {
        // SAFETY: the dependent first, then the owner it borrows from; each exactly once.
        unsafe {
            ManuallyDrop::drop(&mut self.dependent);
            drop(Box::from_raw(self.owner.as_ptr()));
        }
    }
}
