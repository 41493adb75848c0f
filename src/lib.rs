//! `kubectl tap-metrics`: kube-state-metrics custom-resource-state metrics for
//! Tanzu Application Platform, from the command line.
//!
//! Data flows one way, one module per step:
//! [`cli`] → [`config`] → [`source`] → [`engine`] → [`model`] → [`render`] or [`push`].
//! [`run`] wires them together for one invocation.

pub mod cli;
pub mod complete;
pub mod config;
pub mod engine;
pub mod error;
pub mod model;
pub mod monitoring;
pub mod output;
pub mod push;
pub mod render;
pub mod run;
pub mod shared;
pub mod source;
pub mod ui;

pub use error::{Error, ExitKind};

/// The version `--version` prints: the crate version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("TAP_METRICS_GIT_COMMIT"),
    ")"
);
