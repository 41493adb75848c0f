//! Kubeconfig loading, selection and flags, against files in a temporary
//! directory.

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
    crate::source::cluster::api::server_url(&t.config.cluster_url)
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
    assert_eq!(redact("https://me:pw@h:1/p@x"), "https://REDACTED@h:1/p@x");
    assert_eq!(redact("me:pw@h"), "REDACTED@h");
    assert_eq!(redact("https://h:1"), "https://h:1");
    let args = Connection {
        server: Some("https://me:s3cret@10.0.0.1:6443".into()),
        ..Connection::default()
    };
    let nothing = Env::default();
    assert_eq!(
        names(&args, &nothing).unwrap(),
        ["https://REDACTED@10.0.0.1:6443"]
    );
    let t = block(targets(&args, &nothing)).unwrap();
    assert_eq!(url(&t[0]), "https://REDACTED@10.0.0.1:6443");
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

#[test]
fn search_path_is_the_kubeconfig_list_else_home() {
    let list = Env {
        kubeconfig: Some(std::env::join_paths(["/a", "", "/b"]).unwrap()),
        home: Some(PathBuf::from("/home/me")),
        ..Env::default()
    };
    let sp = list.search_path();
    assert_eq!(sp.files, [PathBuf::from("/a"), PathBuf::from("/b")]);
    assert_eq!(sp.looked, "$KUBECONFIG=/a::/b");
    let home = Env {
        kubeconfig: Some("".into()),
        home: Some(PathBuf::from("/home/me")),
        ..Env::default()
    };
    assert_eq!(
        home.search_path().files,
        [PathBuf::from("/home/me/.kube/config")]
    );
    let none = Env::default().search_path();
    assert!(none.files.is_empty());
    assert_eq!(none.looked, "$HOME is not set");
}
