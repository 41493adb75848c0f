//! Flags for pushing the snapshot to a Prometheus Pushgateway.

use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::push::{self, ClientOptions, PASSWORD_ENV, PushOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PushMode {
    /// PUT: replace the whole group (snapshot semantics).
    #[default]
    Put,
    /// POST: replace only the pushed metric families of the group.
    Add,
}

/// Where and how to push.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Pushgateway")]
pub struct PushArgs {
    /// Push the snapshot to this Pushgateway (e.g. http://pushgateway:9091) instead of printing it.
    #[arg(long, value_name = "URL")]
    pub pushgateway: Option<String>,

    /// The job name of the pushed group (and the job label of remote-written series).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "tap-metrics",
        requires = "target"
    )]
    pub job: String,

    /// A grouping key label of the pushed group; repeatable. With several
    /// contexts, each cluster is its own group, keyed by --cluster-label too.
    #[arg(
        long = "grouping-key",
        value_name = "KEY=VALUE",
        requires = "pushgateway"
    )]
    pub grouping_key: Vec<String>,

    /// put replaces the whole group; add (POST) replaces only the pushed families.
    #[arg(long, value_enum, default_value_t = PushMode::Put, requires = "pushgateway")]
    pub push_mode: PushMode,

    /// Delete the group from the Pushgateway instead of pushing.
    #[arg(long, requires = "pushgateway", conflicts_with = "push_mode")]
    pub delete: bool,

    /// Also push (and remote-write) clusters of which some resources could not be
    /// read (a PUT then drops their series), and write --output-file; without it
    /// only clusters read in full are sent, and the file is left as it was.
    #[arg(long)]
    pub push_partial: bool,

    /// Basic-auth user for the Pushgateway; the password comes from
    /// --pushgateway-password-file or $TAP_METRICS_PUSHGATEWAY_PASSWORD.
    #[arg(long, value_name = "NAME", requires = "pushgateway")]
    pub pushgateway_user: Option<String>,

    /// File holding the basic-auth password (a trailing newline is ignored).
    #[arg(long, value_name = "FILE", requires = "pushgateway_user")]
    pub pushgateway_password_file: Option<String>,

    /// File holding a bearer token for the Pushgateway (a trailing newline is ignored).
    #[arg(
        long,
        value_name = "FILE",
        requires = "pushgateway",
        conflicts_with = "pushgateway_user"
    )]
    pub pushgateway_bearer_token_file: Option<String>,

    /// PEM file of the CA(s) that signed the Pushgateway's certificate
    /// (replaces the built-in public roots).
    #[arg(long, value_name = "FILE", requires = "pushgateway")]
    pub pushgateway_certificate_authority: Option<String>,

    /// PEM client certificate for TLS client authentication.
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["pushgateway", "pushgateway_client_key"]
    )]
    pub pushgateway_client_certificate: Option<String>,

    /// PEM private key of --pushgateway-client-certificate.
    #[arg(long, value_name = "FILE", requires = "pushgateway_client_certificate")]
    pub pushgateway_client_key: Option<String>,

    /// Do not check the Pushgateway's certificate (insecure).
    #[arg(long, requires = "pushgateway")]
    pub pushgateway_insecure_skip_tls_verify: bool,

    /// How long one request to the Pushgateway may take (e.g. 10s, 1m). Connection
    /// errors, timeouts and 5xx answers are retried, 3 attempts in all.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        value_parser = parse_duration,
        requires = "pushgateway"
    )]
    pub pushgateway_timeout: Duration,
}

impl PushArgs {
    /// The push target's options; `None` without `--pushgateway`.
    /// `several_clusters`: more than one context was asked for, so each
    /// cluster gets its own group keyed by `cluster_label` (if not empty).
    pub fn options(&self, several_clusters: bool, cluster_label: &str) -> Option<PushOptions> {
        let url = self.pushgateway.clone()?;
        Some(PushOptions {
            url,
            job: self.job.clone(),
            grouping_key: self.grouping_key.clone(),
            mode: match self.push_mode {
                PushMode::Put => push::PushMode::Replace,
                PushMode::Add => push::PushMode::Add,
            },
            push_partial: self.push_partial,
            cluster_label: (several_clusters && !cluster_label.is_empty())
                .then(|| cluster_label.to_string()),
            client: ClientOptions {
                flag: "--pushgateway",
                password_env_name: PASSWORD_ENV,
                user: self.pushgateway_user.clone(),
                password_file: self.pushgateway_password_file.clone(),
                password_env: self
                    .pushgateway_user
                    .as_ref()
                    .and_then(|_| std::env::var(PASSWORD_ENV).ok()),
                bearer_token_file: self.pushgateway_bearer_token_file.clone(),
                certificate_authority: self.pushgateway_certificate_authority.clone(),
                client_certificate: self.pushgateway_client_certificate.clone(),
                client_key: self.pushgateway_client_key.clone(),
                insecure_skip_tls_verify: self.pushgateway_insecure_skip_tls_verify,
                timeout: self.pushgateway_timeout,
            },
        })
    }
}

/// A positive Go duration: `500ms`, `10s`, `1m30s`, `2h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = crate::shared::duration::parse(s, false, "500ms, 10s, 1m30s")?;
    if d.is_zero() {
        return Err(format!("{s:?}: the duration must be positive"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        for bad in ["", "10", "s", "10x", "1..2s", "0s", "-1s", "1e3s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
