//! Squall's workflows, apart from any front end (the way rsigma keeps its runtime apart from
//! its CLI): plain option structs in, typed results out, no argument parser and no printing.
//! The `squall` binary is one front end; a web UI is the next, and calls the same functions.
//!
//! What a workflow must tell its caller while it runs (a plan to show, a warning, progress) it
//! passes to a callback; what it produced it returns. Errors are for people: they name the
//! case, file or resource and, where there is one, the way out.

pub mod activity;
pub mod aws;
pub mod case;
pub mod collect;
pub mod context;
pub mod examples;
pub mod gcp;
pub mod hunt;
pub mod proposal;
pub mod respond;
pub mod settings;
pub mod timespec;

pub use context::Context;
