//! Which clusters a run reads and how to reach them, decided the way kubectl
//! decides: `--kubeconfig` (that file only), else the `$KUBECONFIG` path list
//! merged (missing files skipped), else `~/.kube/config`; the current context
//! or `--context`/`--all-contexts`; then the connection flags override what
//! the kubeconfig says. With no kubeconfig at all, inside a pod, the pod's
//! service account is used (kube's in-cluster config).

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use super::api::one_line;
use super::auth;
use crate::error::Error;

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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Context(String),
    InCluster,
    Server(String),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Context(n) => n.clone(),
            Source::Server(url) => redact(url),
            Source::InCluster => "in-cluster".into(),
        }
    }
}

struct Selection {
    kubeconfig: Kubeconfig,
    /// The files read, for messages.
    origin: String,
    sources: Vec<Source>,
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
        targets.push(Target {
            name: source.name(),
            config,
            who,
        });
    }
    Ok(targets)
}

fn select(args: &Connection, env: &Env) -> Result<Selection, Error> {
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

/// The merged kubeconfig and the files it came from.
fn load(args: &Connection, env: &Env) -> Result<(Kubeconfig, String), Error> {
    if let Some(path) = &args.kubeconfig {
        return Ok((read(Path::new(path))?, path.clone()));
    }
    let (paths, looked): (Vec<PathBuf>, String) = match &env.kubeconfig {
        Some(list) if !list.is_empty() => (
            std::env::split_paths(list)
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
            format!("$KUBECONFIG={}", list.to_string_lossy()),
        ),
        _ => match &env.home {
            Some(home) => {
                let p = home.join(".kube").join("config");
                let looked = p.display().to_string();
                (vec![p], looked)
            }
            None => (Vec::new(), "$HOME is not set".into()),
        },
    };
    let mut merged = Kubeconfig::default();
    let mut read_from = Vec::new();
    for p in paths {
        match std::fs::metadata(&p) {
            // kubectl skips files of the list that do not exist.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            _ => {}
        }
        let kc = read(&p)?;
        merged = merged.merge(kc).map_err(|e| {
            Error::failure(format!(
                "kubeconfig {}: {}",
                p.display(),
                kubeconfig_reason(&e)
            ))
        })?;
        read_from.push(p.display().to_string());
    }
    let origin = if read_from.is_empty() {
        format!("none: {looked}")
    } else {
        read_from.join(":")
    };
    Ok((merged, origin))
}

/// The largest kubeconfig read: real ones are kilobytes, and a path can name
/// an endless device.
const KUBECONFIG_MAX: u64 = 16 << 20;

fn read(path: &Path) -> Result<Kubeconfig, Error> {
    let fail = |why: String| Error::failure(format!("kubeconfig {}: {why}", path.display()));
    let too_big = || fail(format!("larger than {} MiB", KUBECONFIG_MAX >> 20));
    let cannot = |e: std::io::Error| fail(format!("cannot read: {}", crate::source::io_reason(&e)));
    let meta = std::fs::metadata(path).map_err(cannot)?;
    let parsed = if meta.is_file() {
        if meta.len() > KUBECONFIG_MAX {
            return Err(too_big());
        }
        // kube's reader also makes relative file paths relative to the file.
        Kubeconfig::read_from(path)
    } else {
        // A pipe (`--kubeconfig <(…)`) or a device: read no more than the limit.
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(KUBECONFIG_MAX + 1).read_to_string(&mut text))
            .map_err(cannot)?;
        if text.len() as u64 > KUBECONFIG_MAX {
            return Err(too_big());
        }
        Kubeconfig::from_yaml(&text)
    };
    parsed.map_err(|e| fail(kubeconfig_reason(&e)))
}

/// One line: kube's YAML errors go on with a snippet of the file, which may
/// hold a secret; the first line says where and what.
fn kubeconfig_reason(e: &KubeconfigError) -> String {
    match e {
        KubeconfigError::ReadConfig(io, _) => {
            format!("cannot read: {}", crate::source::io_reason(io))
        }
        KubeconfigError::Parse(yaml) => {
            let text = yaml.to_string();
            let first = text.lines().next().unwrap_or_default();
            format!(
                "invalid YAML: {}",
                one_line(first.trim_start_matches("error: "), 200)
            )
        }
        KubeconfigError::LoadClusterOfContext(c) => {
            format!("cluster {c:?} does not exist")
        }
        other => one_line(&super::api::reason(other), 300),
    }
}

/// `--server`: a URL, or `host:port` taken as HTTPS as kubectl does.
fn parse_server(s: &str) -> Result<http::Uri, Error> {
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

/// A URL as typed, with its user name and password (if any) replaced by
/// `xxxxx`, for messages and the cluster label.
fn redact(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}xxxxx{}", &url[..start], &url[start + at..]),
        None => url.to_string(),
    }
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
            crate::source::io_reason(&e)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "\
apiVersion: v1
kind: Config
current-context: build
clusters:
- name: build
  cluster: {server: 'https://build.example:6443'}
- name: run
  cluster: {server: 'https://run.example:6443'}
users:
- name: me
  user: {token: abc}
contexts:
- name: build
  context: {cluster: build, user: me}
- name: run
  context: {cluster: run, user: me}
";

    const OTHER: &str = "\
apiVersion: v1
kind: Config
current-context: view
clusters:
- name: view
  cluster: {server: 'https://view.example:6443'}
- name: build
  cluster: {server: 'https://shadowed.example:6443'}
contexts:
- name: view
  context: {cluster: view}
";

    fn files(docs: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = docs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let p = dir.path().join(format!("config{i}"));
                std::fs::write(&p, d).unwrap();
                p
            })
            .collect();
        (dir, paths)
    }

    fn env_list(paths: &[PathBuf]) -> Env {
        Env {
            kubeconfig: Some(std::env::join_paths(paths).unwrap()),
            ..Env::default()
        }
    }

    fn url(t: &Target) -> String {
        super::super::api::server_url(&t.config.cluster_url)
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn kubeconfig_list_is_merged_first_wins_and_missing_files_skipped() {
        let (dir, mut paths) = files(&[TWO, OTHER]);
        paths.insert(1, dir.path().join("missing"));
        let env = env_list(&paths);
        let args = Connection::default();
        assert_eq!(names(&args, &env).unwrap(), ["build"]);
        let t = block(targets(&args, &env)).unwrap();
        assert_eq!(url(&t[0]), "https://build.example:6443");
        let all = Connection {
            all_contexts: true,
            ..Connection::default()
        };
        assert_eq!(names(&all, &env).unwrap(), ["build", "run", "view"]);
        let two = Connection {
            contexts: vec!["run".into(), "view".into(), "run".into()],
            ..Connection::default()
        };
        assert_eq!(names(&two, &env).unwrap(), ["run", "view"]);
    }

    #[test]
    fn explicit_kubeconfig_is_that_file_only() {
        let (_dir, paths) = files(&[TWO, OTHER]);
        let env = env_list(&paths[..1]);
        let args = Connection {
            kubeconfig: Some(paths[1].display().to_string()),
            ..Connection::default()
        };
        assert_eq!(names(&args, &env).unwrap(), ["view"]);
        let missing = Connection {
            kubeconfig: Some("/nonexistent/kubeconfig".into()),
            ..Connection::default()
        };
        let e = names(&missing, &env).unwrap_err();
        assert_eq!(
            e.message,
            "kubeconfig /nonexistent/kubeconfig: cannot read: No such file or directory"
        );
    }

    #[test]
    fn unknown_context_and_no_config_are_clear_errors() {
        let (_dir, paths) = files(&[TWO]);
        let env = env_list(&paths);
        let args = Connection {
            contexts: vec!["prod".into()],
            ..Connection::default()
        };
        let e = names(&args, &env).unwrap_err();
        assert_eq!(e.kind, crate::error::ExitKind::Usage);
        assert!(
            e.message
                .starts_with("--context prod: no such context in kubeconfig ")
                && e.message.ends_with(" (contexts: build, run)"),
            "{e}"
        );
        let nothing = Env {
            home: Some(PathBuf::from("/nonexistent")),
            ..Env::default()
        };
        let e = names(&Connection::default(), &nothing).unwrap_err();
        assert!(
            e.message
                .starts_with("no kubeconfig found (none: /nonexistent/.kube/config)"),
            "{e}"
        );
        let pod = Env {
            in_cluster: true,
            ..nothing.clone()
        };
        assert_eq!(names(&Connection::default(), &pod).unwrap(), ["in-cluster"]);
        let server = Connection {
            server: Some("10.0.0.1:6443".into()),
            ..Connection::default()
        };
        assert_eq!(names(&server, &nothing).unwrap(), ["10.0.0.1:6443"]);
        let t = block(targets(&server, &nothing)).unwrap();
        assert_eq!(url(&t[0]), "https://10.0.0.1:6443");
    }

    #[test]
    fn flags_override_the_kubeconfig() {
        let (dir, paths) = files(&[TWO]);
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, "").unwrap();
        let env = env_list(&paths);
        let args = Connection {
            server: Some("https://override.example".into()),
            token: Some("t0k3n".into()),
            as_user: Some("jane".into()),
            as_groups: vec!["devs".into(), "ops".into()],
            certificate_authority: Some(ca.display().to_string()),
            tls_server_name: Some("kubernetes".into()),
            ..Connection::default()
        };
        let t = block(targets(&args, &env)).unwrap();
        let c = &t[0].config;
        assert_eq!(url(&t[0]), "https://override.example");
        assert_eq!(c.auth_info.impersonate.as_deref(), Some("jane"));
        assert_eq!(
            c.auth_info.impersonate_groups.as_deref(),
            Some(&["devs".to_string(), "ops".to_string()][..])
        );
        assert!(c.auth_info.token.is_some());
        assert_eq!(c.root_cert_file.as_deref(), Some(ca.as_path()));
        assert_eq!(c.tls_server_name.as_deref(), Some("kubernetes"));
        assert!(!c.default_retry);
        let bad = Connection {
            server: Some("https://".into()),
            ..Connection::default()
        };
        assert!(block(targets(&bad, &env)).is_err());
    }

    #[test]
    fn users_and_clusters_named_by_flags_must_exist() {
        let (_dir, paths) = files(&[TWO]);
        let env = env_list(&paths);
        let user = Connection {
            user: Some("nope".into()),
            ..Connection::default()
        };
        let e = names(&user, &env).unwrap_err();
        assert_eq!(e.kind, crate::error::ExitKind::Usage);
        assert!(
            e.message
                .starts_with("--user nope: auth info \"nope\" does not exist in kubeconfig ")
                && e.message.ends_with(" (users: me)"),
            "{e}"
        );
        let cluster = Connection {
            cluster: Some("nope".into()),
            ..Connection::default()
        };
        let e = names(&cluster, &env).unwrap_err();
        assert!(
            e.message
                .starts_with("--cluster nope: cluster \"nope\" does not exist in kubeconfig ")
                && e.message.ends_with(" (clusters: build, run)"),
            "{e}"
        );
        let both = Connection {
            user: Some("me".into()),
            cluster: Some("run".into()),
            ..Connection::default()
        };
        let t = block(targets(&both, &env)).unwrap();
        assert_eq!(url(&t[0]), "https://run.example:6443");
    }

    #[test]
    fn urls_with_credentials_are_never_shown_whole() {
        assert_eq!(redact("https://me:pw@h:1/p@x"), "https://xxxxx@h:1/p@x");
        assert_eq!(redact("me:pw@h"), "xxxxx@h");
        assert_eq!(redact("https://h:1"), "https://h:1");
        let args = Connection {
            server: Some("https://me:s3cret@10.0.0.1:6443".into()),
            ..Connection::default()
        };
        let nothing = Env::default();
        assert_eq!(
            names(&args, &nothing).unwrap(),
            ["https://xxxxx@10.0.0.1:6443"]
        );
        let t = block(targets(&args, &nothing)).unwrap();
        assert_eq!(url(&t[0]), "https://xxxxx@10.0.0.1:6443");
    }

    mod hostile {
        use super::*;
        use proptest::prelude::*;

        /// The token every generated kubeconfig holds: no message may show it.
        const SECRET: &str = "S3CRET-t0ken";

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(String::new()),
                "[a-z0-9:/@.\\[\\]-]{0,30}",
                "\\PC{0,20}",
                any::<String>().prop_map(|s| s.chars().take(40).collect()),
                Just("https://u:pw@127.0.0.1:1".to_string()),
                Just("\n\u{1b}]0;x\u{7}\r".to_string()),
            ]
        }

        /// A kubeconfig built from hostile values, then cut or spliced.
        fn kubeconfig() -> impl Strategy<Value = String> {
            (
                text(),
                text(),
                text(),
                text(),
                prop::collection::vec(text(), 0..3),
                any::<bool>(),
                any::<prop::sample::Index>(),
                text(),
            )
                .prop_map(|(server, ca, token_tail, user, groups, cut, at, splice)| {
                    let q = |s: &str| serde_json::to_string(s).unwrap();
                    let mut doc = format!(
                        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n\
                         - name: c\n  cluster: {{server: {}, certificate-authority-data: {}}}\n\
                         users:\n- name: u\n  user: {{token: {}, as: {}, as-groups: {}}}\n\
                         contexts:\n- name: c\n  context: {{cluster: c, user: u}}\n",
                        q(&server),
                        q(&ca),
                        q(&format!("{SECRET}{token_tail}")),
                        q(&user),
                        serde_json::to_string(&groups).unwrap(),
                    );
                    if cut {
                        // Only URLs are redacted: the same text spliced into
                        // a name is a name, and messages quote names.
                        let splice = splice.replace("u:pw@", "u@");
                        let mut i = at.index(doc.len() + 1);
                        while !doc.is_char_boundary(i) {
                            i -= 1;
                        }
                        doc.insert_str(i, &splice);
                    }
                    doc
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

            /// Whatever the kubeconfig holds: no panic, and every error is
            /// one line that shows no token.
            #[test]
            fn errors_are_one_line_without_secrets(doc in kubeconfig(), flag_token in text()) {
                let (_dir, paths) = files(&[&doc]);
                let env = env_list(&paths);
                let plain = Connection::default();
                let flagged = Connection {
                    token: Some(format!("{SECRET}{flag_token}")),
                    as_user: Some(flag_token.clone()),
                    ..Connection::default()
                };
                for args in [&plain, &flagged] {
                    let named = names(args, &env).map(drop);
                    let built = block(targets(args, &env)).and_then(|ts| {
                        ts.into_iter()
                            .try_for_each(|mut t| t.resolve_credentials(Duration::from_secs(1)))
                    });
                    for e in [named.err(), built.err()].into_iter().flatten() {
                        let m = &e.message;
                        prop_assert!(!m.contains(['\n', '\r']), "{m:?}");
                        prop_assert!(m.chars().count() < 1000, "{m:?}");
                        prop_assert!(!m.contains(SECRET), "{m:?}");
                        prop_assert!(!m.contains("u:pw@"), "{m:?}");
                    }
                }
            }
        }
    }
}
