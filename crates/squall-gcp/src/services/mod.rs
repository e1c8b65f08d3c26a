//! Thin calls of Google's clients: one call each (a mutation waited for until done), plain
//! values out.

pub mod compute;
pub mod iam;
pub mod logging;
pub mod resourcemanager;
pub mod storage;
