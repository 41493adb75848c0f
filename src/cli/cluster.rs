//! Flags for reading from a live cluster, named as kubectl names them.

use clap::Args;

use crate::error::Error;
use crate::shared::names::{check_label_name, is_dns_label};
use crate::source::cluster::{ClusterOptions, Connection};

/// How to reach the cluster(s) and what to list.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Cluster")]
pub struct ClusterArgs {
    /// Path to the kubeconfig file to use (that file only; default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<String>,

    /// The kubeconfig context to use; repeat to read several clusters in one run.
    #[arg(long = "context", value_name = "NAME")]
    pub contexts: Vec<String>,

    /// Read every context of the kubeconfig.
    #[arg(long, conflicts_with = "contexts")]
    pub all_contexts: bool,

    /// The kubeconfig cluster to use.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// The kubeconfig user to use.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// The address and port of the Kubernetes API server.
    #[arg(short = 's', long, value_name = "URL")]
    pub server: Option<String>,

    /// Bearer token for authentication to the API server.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Username to impersonate for the operation.
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,

    /// Group to impersonate for the operation; repeatable.
    #[arg(long = "as-group", value_name = "GROUP")]
    pub as_groups: Vec<String>,

    /// Path to a cert file for the certificate authority.
    #[arg(long, value_name = "FILE")]
    pub certificate_authority: Option<String>,

    /// Path to a client certificate file for TLS.
    #[arg(long, value_name = "FILE")]
    pub client_certificate: Option<String>,

    /// Path to a client key file for TLS.
    #[arg(long, value_name = "FILE")]
    pub client_key: Option<String>,

    /// Do not check the server's certificate (insecure).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,

    /// Server name to use for server certificate validation.
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,

    /// How long to wait for one server request (e.g. 30s, 1m, 1m30s; a bare
    /// number is seconds; 0 = no limit).
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = check_duration)]
    pub request_timeout: String,

    /// Read one namespace only. Without it every namespace is read: a snapshot
    /// is cluster-wide. Cluster-scoped kinds are always read cluster-wide.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Read every namespace (the default; accepted for kubectl habit).
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,

    /// Label selector applied by the API server (e.g. app=web,tier!=db).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Objects per list request (pagination, as kubectl's --chunk-size); 0 lists without pages.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub chunk_size: u32,

    /// How many resource types are listed at once, per cluster.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,

    /// Name of the label that tells clusters apart when several contexts are
    /// read (its value is the context name); an empty name leaves it out.
    #[arg(long, value_name = "NAME", default_value = "cluster")]
    pub cluster_label: String,
}

impl ClusterArgs {
    /// The first cluster-only flag that was given, to refuse it with `--from-file`.
    pub fn first_cluster_flag(&self) -> Option<&'static str> {
        let set = [
            ("--kubeconfig", self.kubeconfig.is_some()),
            ("--context", !self.contexts.is_empty()),
            ("--all-contexts", self.all_contexts),
            ("--cluster", self.cluster.is_some()),
            ("--user", self.user.is_some()),
            ("--server", self.server.is_some()),
            ("--token", self.token.is_some()),
            ("--as", self.as_user.is_some()),
            ("--as-group", !self.as_groups.is_empty()),
            (
                "--certificate-authority",
                self.certificate_authority.is_some(),
            ),
            ("--client-certificate", self.client_certificate.is_some()),
            ("--client-key", self.client_key.is_some()),
            ("--insecure-skip-tls-verify", self.insecure_skip_tls_verify),
            ("--tls-server-name", self.tls_server_name.is_some()),
            ("--selector", self.selector.is_some()),
        ];
        set.into_iter().find(|(_, on)| *on).map(|(f, _)| f)
    }

    /// The source's options, every flag checked.
    pub fn options(&self) -> Result<ClusterOptions, Error> {
        if let Some(ns) = &self.namespace
            && !is_dns_label(ns)
        {
            return Err(Error::usage(format!(
                "-n {ns:?} is not a valid namespace name"
            )));
        }
        if !self.cluster_label.is_empty()
            && let Err(why) = check_label_name(&self.cluster_label)
        {
            return Err(Error::usage(format!(
                "--cluster-label {:?} {why}",
                self.cluster_label
            )));
        }
        Ok(ClusterOptions {
            connection: Connection {
                kubeconfig: self.kubeconfig.clone(),
                contexts: self.contexts.clone(),
                all_contexts: self.all_contexts,
                cluster: self.cluster.clone(),
                user: self.user.clone(),
                server: self.server.clone(),
                token: self.token.clone(),
                as_user: self.as_user.clone(),
                as_groups: self.as_groups.clone(),
                certificate_authority: self.certificate_authority.clone(),
                client_certificate: self.client_certificate.clone(),
                client_key: self.client_key.clone(),
                insecure_skip_tls_verify: self.insecure_skip_tls_verify,
                tls_server_name: self.tls_server_name.clone(),
                request_timeout: parse_duration(&self.request_timeout).map_err(Error::usage)?,
            },
            namespace: self.namespace.clone(),
            selector: self.selector.clone().filter(|s| !s.is_empty()),
            chunk_size: self.chunk_size,
            concurrency: self.concurrency.max(1) as usize,
            cluster_label: self.cluster_label.clone(),
        })
    }
}

fn check_duration(s: &str) -> Result<String, String> {
    parse_duration(s).map(|_| s.to_string())
}

/// kubectl's `--request-timeout`: a Go duration (`1h2m3.5s`, `500ms`) or a bare
/// number of seconds; zero means no limit.
pub fn parse_duration(s: &str) -> Result<Option<std::time::Duration>, String> {
    crate::shared::duration::parse(s, true, "30s, 1m, 1m30s, 500ms; 0 = no limit")
        .map(|d| (!d.is_zero()).then_some(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn namespaces_and_cluster_labels_are_checked() {
        let args = ClusterArgs {
            namespace: Some("Dev/x".into()),
            ..ClusterArgs::default()
        };
        assert_eq!(
            args.options().unwrap_err().message,
            "-n \"Dev/x\" is not a valid namespace name"
        );
        let args = ClusterArgs {
            cluster_label: "a-b".into(),
            ..ClusterArgs::default()
        };
        assert_eq!(
            args.options().unwrap_err().message,
            "--cluster-label \"a-b\" is not a valid label name"
        );
        let args = ClusterArgs {
            cluster_label: "__x".into(),
            ..ClusterArgs::default()
        };
        assert!(args.options().unwrap_err().message.contains("is reserved"));
    }

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(parse_duration("0"), Ok(None));
        assert_eq!(parse_duration("0s"), Ok(None));
        assert_eq!(parse_duration("5"), Ok(Some(Duration::from_secs(5))));
        assert_eq!(parse_duration("30s"), Ok(Some(Duration::from_secs(30))));
        assert_eq!(parse_duration("1m30s"), Ok(Some(Duration::from_secs(90))));
        assert_eq!(parse_duration("1h"), Ok(Some(Duration::from_secs(3600))));
        assert_eq!(
            parse_duration("1.5s"),
            Ok(Some(Duration::from_millis(1500)))
        );
        assert_eq!(
            parse_duration("500ms"),
            Ok(Some(Duration::from_millis(500)))
        );
        for bad in ["", "s", "10x", "-1s", "1s2", "abc", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
