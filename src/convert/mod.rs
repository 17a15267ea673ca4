//! Nix values to and from the inventory model, in safe code: a [`Tree`](crate::inventory::Tree)
//! over the primop's argument (`tree`), and the encoding of a resolution as the builtin's result
//! (`encode`), with the Nix expressions it applies (`helpers`).

mod encode;
mod helpers;
mod tree;

pub(crate) use encode::{Caches, Encoder};
pub(crate) use tree::{persist_input, NixTree};
