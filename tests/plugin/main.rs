//! The plugin's integration tests, as one binary: linking a test binary costs minutes on a
//! small machine, so every suite is a module here. The fake API server is the
//! `fake-apiserver` dev crate (tests/fake-apiserver); `pushgateway` is the harness for the
//! real Pushgateway and Prometheus the `push_*` suites share.

mod cli;
mod cluster_live;
mod completions;
mod engine_semantics;
mod formats;
mod krew_manifest;
mod projection;
mod push_clusters;
mod push_cronjob_example;
mod push_prometheus_e2e;
mod push_pushgateway;
mod push_transport;
mod pushgateway;
mod reference_config;
mod remote_write;
mod textfile;
