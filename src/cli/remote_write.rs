//! Flags for writing the snapshot to a Prometheus remote-write receiver.

use std::time::Duration;

use clap::Args;

use super::push::parse_duration;
use crate::push::{ClientOptions, REMOTE_WRITE_PASSWORD_ENV, RemoteWriteOptions};

/// Where and how to write.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Remote write")]
pub struct RemoteWriteArgs {
    /// Send the snapshot with Prometheus remote write 1.0 to this receiver (Mimir,
    /// Thanos Receive, Cortex, VictoriaMetrics, Grafana Cloud, or Prometheus with
    /// --web.enable-remote-write-receiver: http://prometheus:9090/api/v1/write).
    #[arg(long, value_name = "URL")]
    pub remote_write: Option<String>,

    /// A header sent with every request, e.g. X-Scope-OrgID=tenant-a for Mimir
    /// and Cortex; repeatable.
    #[arg(
        long = "remote-write-header",
        value_name = "NAME=VALUE",
        requires = "remote_write"
    )]
    pub headers: Vec<String>,

    /// Basic-auth user; the password comes from --remote-write-password-file or
    /// $TAP_METRICS_REMOTE_WRITE_PASSWORD.
    #[arg(long, value_name = "NAME", requires = "remote_write")]
    pub remote_write_user: Option<String>,

    /// File holding the basic-auth password (a trailing newline is ignored).
    #[arg(long, value_name = "FILE", requires = "remote_write_user")]
    pub remote_write_password_file: Option<String>,

    /// File holding a bearer token (a trailing newline is ignored).
    #[arg(
        long,
        value_name = "FILE",
        requires = "remote_write",
        conflicts_with = "remote_write_user"
    )]
    pub remote_write_bearer_token_file: Option<String>,

    /// PEM file of the CA(s) that signed the receiver's certificate (replaces
    /// the built-in public roots).
    #[arg(long, value_name = "FILE", requires = "remote_write")]
    pub remote_write_certificate_authority: Option<String>,

    /// PEM client certificate for TLS client authentication.
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["remote_write", "remote_write_client_key"]
    )]
    pub remote_write_client_certificate: Option<String>,

    /// PEM private key of --remote-write-client-certificate.
    #[arg(
        long,
        value_name = "FILE",
        requires = "remote_write_client_certificate"
    )]
    pub remote_write_client_key: Option<String>,

    /// Do not check the receiver's certificate (insecure).
    #[arg(long, requires = "remote_write")]
    pub remote_write_insecure_skip_tls_verify: bool,

    /// How long one request may take (e.g. 10s, 1m). Connection errors, 5xx and
    /// 429 answers are retried, 5 attempts in all, honouring Retry-After.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        value_parser = parse_duration,
        requires = "remote_write"
    )]
    pub remote_write_timeout: Duration,
}

impl RemoteWriteArgs {
    /// The remote-write target's options; `None` without `--remote-write`.
    pub fn options(&self, job: &str, push_partial: bool) -> Option<RemoteWriteOptions> {
        Some(RemoteWriteOptions {
            url: self.remote_write.clone()?,
            job: job.to_string(),
            headers: self.headers.clone(),
            push_partial,
            client: ClientOptions {
                flag: "--remote-write",
                password_env_name: REMOTE_WRITE_PASSWORD_ENV,
                user: self.remote_write_user.clone(),
                password_file: self.remote_write_password_file.clone(),
                password_env: self
                    .remote_write_user
                    .as_ref()
                    .and_then(|_| std::env::var(REMOTE_WRITE_PASSWORD_ENV).ok()),
                bearer_token_file: self.remote_write_bearer_token_file.clone(),
                certificate_authority: self.remote_write_certificate_authority.clone(),
                client_certificate: self.remote_write_client_certificate.clone(),
                client_key: self.remote_write_client_key.clone(),
                insecure_skip_tls_verify: self.remote_write_insecure_skip_tls_verify,
                timeout: self.remote_write_timeout,
            },
        })
    }
}
