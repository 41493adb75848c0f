//! Which clusters a run reads and how to reach them, decided the way kubectl
//! decides: `--kubeconfig` (that file only), else the `$KUBECONFIG` path list
//! merged (missing files skipped), else `~/.kube/config`; the current context
//! or `--context`/`--all-contexts`; then the connection flags override what
//! the kubeconfig says. With no kubeconfig at all, inside a pod, the pod's
//! service account is used (kube's in-cluster config).

mod build;
mod load;
mod select;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use super::auth;
use crate::error::Error;
pub use load::SearchPath;
#[cfg(test)]
use select::redact;
use select::{Source, select};

/// Which kubeconfig and contexts a run reads, and kubectl's connection flags
/// that win over what the kubeconfig says. Checked by the CLI layer.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// `--kubeconfig`: that file only.
    pub kubeconfig: Option<String>,
    pub contexts: Vec<String>,
    pub all_contexts: bool,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub server: Option<String>,
    pub token: Option<String>,
    pub as_user: Option<String>,
    pub as_groups: Vec<String>,
    pub certificate_authority: Option<String>,
    pub client_certificate: Option<String>,
    pub client_key: Option<String>,
    pub insecure_skip_tls_verify: bool,
    pub tls_server_name: Option<String>,
    /// Bounds each request, and exec credential plugins; `None`: no limit.
    pub request_timeout: Option<Duration>,
}

/// The process environment kubeconfig loading depends on.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub kubeconfig: Option<OsString>,
    pub home: Option<PathBuf>,
    /// `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT` are set, as in a pod.
    pub in_cluster: bool,
}

impl Env {
    pub fn from_process() -> Env {
        let set = |k| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        Env {
            kubeconfig: std::env::var_os("KUBECONFIG"),
            home: std::env::var_os("HOME").map(PathBuf::from),
            in_cluster: set("KUBERNETES_SERVICE_HOST") && set("KUBERNETES_SERVICE_PORT"),
        }
    }

    /// kubectl's kubeconfig files when `--kubeconfig` is not given: the
    /// `$KUBECONFIG` path list, else `$HOME/.kube/config`.
    pub fn search_path(&self) -> SearchPath {
        load::search_path(self)
    }
}

/// One cluster to read.
pub struct Target {
    /// The context name (the `cluster` label value), `in-cluster`, or the
    /// `--server` URL when there is no kubeconfig.
    pub name: String,
    pub config: kube::Config,
    /// Where its credentials come from, for messages (`kubeconfig user "x"`).
    pub who: String,
}

impl Target {
    /// Checks and settles the credentials (an exec plugin runs here, for at
    /// most `exec_limit`); a cluster whose credentials fail is one that
    /// cannot be read, not the end of a run over several.
    pub fn resolve_credentials(&mut self, exec_limit: Duration) -> Result<(), Error> {
        auth::resolve(&mut self.config.auth_info, &self.who, exec_limit)
    }
}

/// How long an exec plugin may run: `--request-timeout`, else a default.
pub fn exec_limit(args: &Connection) -> Duration {
    args.request_timeout.unwrap_or(auth::EXEC_DEFAULT_LIMIT)
}

/// The names of the clusters a run reads, in order, without connecting.
pub fn names(args: &Connection, env: &Env) -> Result<Vec<String>, Error> {
    Ok(select(args, env)?
        .sources
        .iter()
        .map(Source::name)
        .collect())
}

/// The clusters a run reads, each with its connection settings.
pub async fn targets(args: &Connection, env: &Env) -> Result<Vec<Target>, Error> {
    let sel = select(args, env)?;
    let mut targets = Vec::with_capacity(sel.sources.len());
    for source in &sel.sources {
        targets.push(build::target(&sel, source, args).await?);
    }
    Ok(targets)
}
