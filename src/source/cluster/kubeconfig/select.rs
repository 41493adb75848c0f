//! Choosing the clusters of a run from the merged kubeconfig and the flags,
//! as kubectl does: `--all-contexts`, `--context`, the current context,
//! `--server`, else the in-cluster service account.

use kube::config::Kubeconfig;

use super::load::load;
use super::{Connection, Env};
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    Context(String),
    InCluster,
    Server(String),
}

impl Source {
    pub(super) fn name(&self) -> String {
        match self {
            Source::Context(n) => n.clone(),
            Source::Server(url) => redact(url),
            Source::InCluster => "in-cluster".into(),
        }
    }
}

pub(super) struct Selection {
    pub kubeconfig: Kubeconfig,
    /// The files read, for messages.
    pub origin: String,
    pub sources: Vec<Source>,
}

pub(super) fn select(args: &Connection, env: &Env) -> Result<Selection, Error> {
    let (kubeconfig, origin) = load(args, env)?;
    // As kubectl: a user or cluster asked for by name must be there.
    if let Some(user) = &args.user
        && !kubeconfig.auth_infos.iter().any(|u| &u.name == user)
    {
        let known: Vec<&str> = kubeconfig
            .auth_infos
            .iter()
            .map(|u| u.name.as_str())
            .collect();
        return Err(Error::usage(format!(
            "--user {user}: auth info {user:?} does not exist in kubeconfig {origin}{}",
            listed("users", &known)
        )));
    }
    if let Some(cluster) = &args.cluster
        && !kubeconfig.clusters.iter().any(|c| &c.name == cluster)
    {
        let known: Vec<&str> = kubeconfig
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(Error::usage(format!(
            "--cluster {cluster}: cluster {cluster:?} does not exist in kubeconfig {origin}{}",
            listed("clusters", &known)
        )));
    }
    let exists = |n: &str| kubeconfig.contexts.iter().any(|c| c.name == n);
    let mut sources = Vec::new();
    if args.all_contexts {
        if kubeconfig.contexts.is_empty() {
            return Err(Error::failure(format!(
                "--all-contexts: kubeconfig {origin} has no contexts"
            )));
        }
        sources.extend(
            kubeconfig
                .contexts
                .iter()
                .map(|c| Source::Context(c.name.clone())),
        );
    } else if !args.contexts.is_empty() {
        for name in &args.contexts {
            if !exists(name) {
                return Err(Error::usage(format!(
                    "--context {name}: no such context in kubeconfig {origin}{}",
                    known_contexts(&kubeconfig)
                )));
            }
            let s = Source::Context(name.clone());
            if !sources.contains(&s) {
                sources.push(s);
            }
        }
    } else if let Some(current) = kubeconfig
        .current_context
        .as_deref()
        .filter(|c| !c.is_empty())
    {
        if !exists(current) {
            return Err(Error::failure(format!(
                "kubeconfig {origin}: current-context {current:?} does not exist; use --context{}",
                known_contexts(&kubeconfig)
            )));
        }
        sources.push(Source::Context(current.to_string()));
    } else if let Some(server) = &args.server {
        sources.push(Source::Server(server.clone()));
    } else if kubeconfig.contexts.is_empty() && kubeconfig.clusters.is_empty() {
        if !env.in_cluster {
            return Err(Error::failure(format!(
                "no kubeconfig found ({origin}) and not running in a pod \
                 (KUBERNETES_SERVICE_HOST is not set); use --kubeconfig, --context or --server"
            )));
        }
        sources.push(Source::InCluster);
    } else {
        return Err(Error::failure(format!(
            "kubeconfig {origin} has no current-context; use --context{}",
            known_contexts(&kubeconfig)
        )));
    }
    Ok(Selection {
        kubeconfig,
        origin,
        sources,
    })
}

fn known_contexts(kc: &Kubeconfig) -> String {
    let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
    listed("contexts", &names)
}

/// ` (what: a, b)`, or nothing for no names.
fn listed(what: &str, names: &[&str]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({what}: {})", names.join(", "))
    }
}

/// A URL as typed, credentials hidden, for messages and the cluster label.
pub(super) fn redact(url: &str) -> String {
    crate::shared::text::redact_userinfo(url).into_owned()
}
