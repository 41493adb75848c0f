//! Building one cluster's `kube::Config`: from its kubeconfig context, the
//! in-cluster service account or `--server`, then kubectl's connection flags
//! on top.

use std::path::PathBuf;

use kube::config::KubeConfigOptions;

use super::load::kubeconfig_reason;
use super::select::{Selection, Source, redact};
use super::{Connection, Target};
use crate::error::Error;
use crate::shared::text::one_line;
use crate::source::cluster::auth;

/// The connection settings of one selected cluster.
pub(super) async fn target(
    sel: &Selection,
    source: &Source,
    args: &Connection,
) -> Result<Target, Error> {
    // Where the credentials come from, for messages.
    let who = match source {
        Source::Context(name) => {
            let user = args.user.clone().or_else(|| {
                sel.kubeconfig
                    .contexts
                    .iter()
                    .find(|c| &c.name == name)
                    .and_then(|c| c.context.as_ref()?.user.clone())
            });
            match user {
                Some(u) => format!("kubeconfig user {u:?}"),
                None => format!("kubeconfig context {name:?}"),
            }
        }
        Source::InCluster => "the in-cluster service account".into(),
        Source::Server(_) => "--server".into(),
    };
    let mut config = match source {
        Source::Context(name) => {
            let mut kc = sel.kubeconfig.clone();
            if args.insecure_skip_tls_verify || args.certificate_authority.is_some() {
                // The flags replace the kubeconfig's CA, which then need not be readable.
                for c in kc.clusters.iter_mut().filter_map(|c| c.cluster.as_mut()) {
                    c.certificate_authority = None;
                    c.certificate_authority_data = None;
                }
            }
            let opts = KubeConfigOptions {
                context: Some(name.clone()),
                cluster: args.cluster.clone(),
                user: args.user.clone(),
            };
            kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| {
                    Error::failure(format!(
                        "kubeconfig {}, context {name:?}: {}",
                        sel.origin,
                        kubeconfig_reason(&e)
                    ))
                })?
        }
        Source::InCluster => kube::Config::incluster().map_err(|e| {
            Error::failure(format!(
                "no kubeconfig, and the in-cluster service account cannot be used: {}",
                one_line(&e.to_string(), 300)
            ))
        })?,
        Source::Server(url) => kube::Config::new(parse_server(url)?),
    };
    apply_flags(&mut config, args)?;
    // Retries are ours: bounded, and for 5xx too.
    config.default_retry = false;
    Ok(Target {
        name: source.name(),
        config,
        who,
    })
}

/// `--server`: a URL, or `host:port` taken as HTTPS as kubectl does.
pub(super) fn parse_server(s: &str) -> Result<http::Uri, Error> {
    let url = if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{s}")
    };
    url.parse::<http::Uri>()
        .ok()
        .filter(|u| u.host().is_some())
        .ok_or_else(|| Error::usage(format!("--server {:?} is not a URL", redact(s))))
}

/// The connection flags, which win over the kubeconfig as in kubectl.
fn apply_flags(config: &mut kube::Config, args: &Connection) -> Result<(), Error> {
    if let Some(server) = &args.server {
        config.cluster_url = parse_server(server)?;
    }
    if let Some(name) = &args.tls_server_name {
        config.tls_server_name = Some(name.clone());
    }
    if args.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
        config.root_cert = None;
        config.root_cert_file = None;
    } else if let Some(ca) = &args.certificate_authority {
        readable("--certificate-authority", ca)?;
        config.root_cert_file = Some(PathBuf::from(ca));
    }
    let auth = &mut config.auth_info;
    if let Some(token) = &args.token {
        auth::set_token(auth, "--token", "the token", token)?;
        // A token given on the command line replaces the kubeconfig's way to log in.
        auth.token_file = None;
        auth.exec = None;
        auth.auth_provider = None;
        auth.username = None;
        auth.password = None;
    }
    if let Some(cert) = &args.client_certificate {
        readable("--client-certificate", cert)?;
        auth.client_certificate = Some(cert.clone());
        auth.client_certificate_data = None;
    }
    if let Some(key) = &args.client_key {
        readable("--client-key", key)?;
        auth.client_key = Some(key.clone());
        auth.client_key_data = None;
    }
    if let Some(user) = &args.as_user {
        auth::header_value("--as", "the user name", user)?;
        auth.impersonate = Some(user.clone());
    }
    for group in &args.as_groups {
        auth::header_value("--as-group", "the group name", group)?;
    }
    if !args.as_groups.is_empty() {
        auth.impersonate_groups = Some(args.as_groups.clone());
    }
    Ok(())
}

fn readable(flag: &str, path: &str) -> Result<(), Error> {
    std::fs::File::open(path).map(drop).map_err(|e| {
        Error::usage(format!(
            "{flag} {path}: cannot read: {}",
            crate::shared::io::io_reason(&e)
        ))
    })
}
