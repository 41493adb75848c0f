//! Shell completion: the committed scripts match the binary, and kubectl's plugin
//! completion (`kubectl_complete-tap_metrics`, cobra's `__complete` protocol)
//! answers as kubectl expects, called the way kubectl calls it.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::CommandFactory;
use tap_metrics::cli::Cli;
use tap_metrics::config;
use tap_metrics::engine::Engine;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-tap_metrics");
const REGENERATE: &str = "scripts/release.sh completions";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The committed file of each shell, as `scripts/release.sh completions` names it.
const SCRIPTS: [(&str, &str); 4] = [
    ("bash", "kubectl-tap_metrics.bash"),
    ("zsh", "_kubectl-tap_metrics"),
    ("fish", "kubectl-tap_metrics.fish"),
    ("powershell", "_kubectl-tap_metrics.ps1"),
];

#[test]
fn committed_scripts_match_the_binary() {
    let mut stale = Vec::new();
    for (shell, file) in SCRIPTS {
        let out = Command::new(BIN)
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "completion {shell} failed: {out:?}");
        let committed = std::fs::read(repo().join("completions").join(file)).unwrap_or_default();
        if committed != out.stdout {
            stale.push(format!("completions/{file}"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} differ from `kubectl tap-metrics completion <shell>`; regenerate them with `{REGENERATE}`",
        stale.join(", ")
    );
}

/// PATH with the plugin binary first, as after an install.
fn path_with_plugin(first: &Path) -> OsString {
    let mut dirs = vec![first.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap()
}

fn bin_dir() -> PathBuf {
    Path::new(BIN).parent().unwrap().to_path_buf()
}

struct Answer {
    candidates: Vec<(String, String)>,
    directive: u8,
}

impl Answer {
    fn parse(out: &Output) -> Answer {
        assert!(out.status.success(), "completion failed: {out:?}");
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let last = lines.pop().expect("no output");
        let directive = last
            .strip_prefix(':')
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("last line {last:?} is not :<directive> in\n{text}"));
        let candidates = lines
            .into_iter()
            .map(|l| match l.split_once('\t') {
                Some((v, d)) => (v.to_string(), d.to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect();
        Answer {
            candidates,
            directive,
        }
    }

    fn values(&self) -> BTreeSet<&str> {
        self.candidates.iter().map(|(v, _)| v.as_str()).collect()
    }

    fn has(&self, value: &str) -> bool {
        self.values().contains(value)
    }
}

/// Runs `completions/kubectl_complete-tap_metrics` as kubectl does: the words
/// after `kubectl tap-metrics` as arguments, the plugin on the PATH.
fn complete_with(words: &[&str], env: &[(&str, &OsString)]) -> Answer {
    let mut cmd = Command::new(repo().join("completions/kubectl_complete-tap_metrics"));
    cmd.args(words)
        .env("PATH", path_with_plugin(&bin_dir()))
        .env_remove("KUBECONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Answer::parse(&cmd.output().unwrap())
}

fn complete(words: &[&str]) -> Answer {
    complete_with(words, &[])
}

fn set(values: &[&'static str]) -> BTreeSet<&'static str> {
    values.iter().copied().collect()
}

const NO_FILE_COMP: u8 = 4;
const FILE_COMP: u8 = 0;
const ERROR: u8 = 1;

#[cfg(unix)]
#[test]
fn the_kubectl_script_is_executable() {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(repo().join("completions/kubectl_complete-tap_metrics"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "mode {mode:o}");
}

#[test]
fn empty_line_offers_the_visible_subcommands() {
    // kubectl sends no word at all for `kubectl tap-metrics <TAB>`.
    for words in [&[][..], &[""][..]] {
        let a = complete(words);
        assert_eq!(
            a.values(),
            set(&["completion", "config", "help", "monitoring"]),
            "{words:?}"
        );
        assert_eq!(a.directive, NO_FILE_COMP);
        assert!(a.candidates.iter().all(|(_, d)| !d.is_empty()));
    }
}

#[test]
fn flag_names_come_from_the_cli() {
    let a = complete(&["--"]);
    let cli = Cli::command();
    for arg in cli.get_arguments().filter(|a| !a.is_hide_set()) {
        if let Some(long) = arg.get_long() {
            assert!(a.has(&format!("--{long}")), "--{long} not offered");
        }
    }
    assert!(a.has("--help") && a.has("--version"));
    assert!(a.values().iter().all(|v| v.starts_with("--")));
    assert_eq!(a.directive, NO_FILE_COMP);

    let a = complete(&["--reso"]);
    assert_eq!(a.values(), set(&["--resource"]));
    assert!(
        a.candidates[0].1.contains("plural.group"),
        "{:?}",
        a.candidates
    );

    // Short flags too, and words clap itself would take as its own options.
    assert_eq!(complete(&["-o"]).values(), set(&["-o"]));
    assert_eq!(complete(&["--help"]).values(), set(&["--help"]));
    assert_eq!(complete(&["-h"]).values(), set(&["-h"]));
}

#[test]
fn given_flags_are_offered_again_only_when_repeatable() {
    let a = complete(&["-o", "json", "--resource", "x", "-"]);
    assert!(!a.has("--output") && !a.has("-o"));
    assert!(a.has("--resource") && a.has("--metric") && a.has("--wide"));
    // Flags, even unknown ones, rule out subcommands, as in the parser.
    assert!(complete(&["-o", "json", ""]).candidates.is_empty());
    assert!(complete(&["--bogus", ""]).candidates.is_empty());
}

#[test]
fn output_and_push_mode_values() {
    let formats = set(&["openmetrics", "prometheus", "table", "summary", "json"]);
    for words in [&["-o", ""][..], &["--output", ""], &["--wide", "-o", ""]] {
        let a = complete(words);
        assert_eq!(a.values(), formats, "{words:?}");
        assert_eq!(a.directive, NO_FILE_COMP);
    }
    assert_eq!(complete(&["-o", "j"]).values(), set(&["json"]));
    // `--flag=value`: the shell keeps `--flag=`, so only the value comes back.
    assert_eq!(complete(&["--output=pro"]).values(), set(&["prometheus"]));
    assert_eq!(complete(&["-o=t"]).values(), set(&["table"]));
    assert_eq!(
        complete(&["--push-mode", ""]).values(),
        set(&["put", "add"])
    );
}

#[test]
fn resources_and_metrics_of_the_embedded_config() {
    let loaded = config::tap_default();
    let engine = Engine::compile(&loaded.config, &loaded.origin).unwrap();

    let a = complete(&["--resource", ""]);
    assert_eq!(a.directive, NO_FILE_COMP);
    assert_eq!(a.candidates.len(), engine.resources().len());
    for name in ["workloads.carto.run", "builds.kpack.io", "images.kpack.io"] {
        assert!(a.has(name), "{name} missing from {:?}", a.values());
    }
    assert_eq!(
        complete(&["--resource", "work"]).values(),
        set(&["workloads.carto.run"])
    );

    let a = complete(&["--metric", ""]);
    let families: BTreeSet<&str> = engine
        .resources()
        .iter()
        .flat_map(|r| &r.families)
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(a.values(), families);
    let a = complete(&["--metric", "kpack_build_"]);
    assert!(a.has("kpack_build_status"), "{:?}", a.values());
    assert!(a.values().iter().all(|v| v.starts_with("kpack_build_")));
}

const WIDGET_CONFIG: &str = "\
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    metricNamePrefix: acme
    metrics:
    - name: widget_info
      help: One per widget
      each:
        type: Info
        info:
          labelsFromPath:
            name: [metadata, name]
";

#[test]
fn resources_and_metrics_of_the_given_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ksm.yaml");
    std::fs::write(&file, WIDGET_CONFIG).unwrap();
    let file = file.to_str().unwrap();

    let a = complete(&["--config", file, "--resource", ""]);
    assert_eq!(a.values(), set(&["widgets.example.com"]));
    let a = complete(&[&format!("--config={file}"), "--metric", ""]);
    assert_eq!(a.values(), set(&["acme_widget_info"]));
    assert_eq!(a.candidates[0].1, "One per widget");

    let a = complete(&["-c", "/nonexistent/ksm.yaml", "--resource", ""]);
    assert!(a.candidates.is_empty());
    assert_eq!(a.directive, ERROR);
}

#[test]
fn contexts_clusters_and_users_from_the_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    std::fs::write(
        &one,
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: prod\n  context: {cluster: gke-prod, user: admin}\n- name: dev\n  context: {cluster: kind-dev, user: me}\nclusters:\n- name: gke-prod\n  cluster: {server: 'https://10.0.0.1'}\nusers: null\n",
    )
    .unwrap();
    std::fs::write(
        &two,
        "contexts:\n- name: prod\n  context: {cluster: elsewhere}\n- name: staging\nusers:\n- name: ci\n",
    )
    .unwrap();
    let missing = dir.path().join("missing");
    let list = std::env::join_paths([&one, &missing, &two]).unwrap();

    // The $KUBECONFIG list merges; missing files are skipped; the first file wins.
    let a = complete_with(&["--context", ""], &[("KUBECONFIG", &list)]);
    assert_eq!(a.values(), set(&["dev", "prod", "staging"]));
    assert!(
        a.candidates
            .contains(&("prod".into(), "cluster gke-prod".into()))
    );
    assert_eq!(a.directive, NO_FILE_COMP);
    let a = complete_with(&["--cluster", ""], &[("KUBECONFIG", &list)]);
    assert_eq!(a.values(), set(&["gke-prod"]));
    let a = complete_with(&["--user", ""], &[("KUBECONFIG", &list)]);
    assert_eq!(a.values(), set(&["ci"]));

    // --kubeconfig means that file only.
    let two_arg = two.to_str().unwrap();
    let a = complete_with(
        &["--kubeconfig", two_arg, "--context", "s"],
        &[("KUBECONFIG", &list)],
    );
    assert_eq!(a.values(), set(&["staging"]));

    // Without $KUBECONFIG: ~/.kube/config.
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".kube")).unwrap();
    std::fs::copy(&two, home.join(".kube/config")).unwrap();
    let a = complete_with(&["--context", ""], &[("HOME", &home.into_os_string())]);
    assert_eq!(a.values(), set(&["prod", "staging"]));
}

#[test]
fn paths_complete_as_files_and_free_text_as_nothing() {
    for words in [
        &["--config", ""][..],
        &["-c", ""],
        &["--from-file", ""],
        &["-f", "a.json", "-f", ""],
        &["--kubeconfig", ""],
        &["--kubeconfig=~/"],
        &["config", "validate", ""],
    ] {
        let a = complete(words);
        assert!(a.candidates.is_empty(), "{words:?}");
        assert_eq!(a.directive, FILE_COMP, "{words:?}");
    }
    for words in [
        &["--namespace", ""][..],
        &["--server", ""],
        &["-l", ""],
        &["--", ""],
    ] {
        let a = complete(words);
        assert!(a.candidates.is_empty(), "{words:?}");
        assert_eq!(a.directive, NO_FILE_COMP, "{words:?}");
    }
}

#[test]
fn subcommands_and_their_arguments() {
    assert_eq!(
        complete(&["config", ""]).values(),
        set(&["default", "help", "validate"])
    );
    assert_eq!(complete(&["config", "v"]).values(), set(&["validate"]));
    assert_eq!(
        complete(&["config", "validate", "--"]).values(),
        set(&["--help", "--strict"])
    );
    assert_eq!(
        complete(&["completion", ""]).values(),
        set(&["bash", "elvish", "fish", "powershell", "zsh"])
    );
    let a = complete(&["completion", "bash", ""]);
    assert!(a.candidates.is_empty());
    assert_eq!(a.directive, NO_FILE_COMP);
}

/// kubectl itself, end to end: `kubectl __complete tap-metrics ...` is what
/// kubectl's own shell completion runs for `kubectl tap-metrics <TAB>`.
#[cfg(unix)]
#[test]
fn kubectl_drives_the_plugin_completion() {
    use std::os::unix::fs::symlink;

    let Some(kubectl) = find_on_path("kubectl") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl (1.26+) is not on the PATH; CI must run this test"
        );
        eprintln!("skipped: kubectl is not on the PATH");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    symlink(BIN, dir.path().join("kubectl-tap_metrics")).unwrap();
    symlink(
        repo().join("completions/kubectl_complete-tap_metrics"),
        dir.path().join("kubectl_complete-tap_metrics"),
    )
    .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "contexts:\n- name: tap-prod\n  context: {cluster: c}\n- name: tap-dev\n  context: {cluster: c}\n",
    )
    .unwrap();
    let run = |words: &[&str]| {
        let out = Command::new(&kubectl)
            .arg("__complete")
            .arg("tap-metrics")
            .args(words)
            .env("PATH", path_with_plugin(dir.path()))
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap();
        let version = Command::new(&kubectl)
            .args(["version", "--client"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        (Answer::parse(&out), version)
    };

    let (a, version) = run(&[""]);
    assert_eq!(
        a.values(),
        set(&["completion", "config", "help", "monitoring"]),
        "kubectl ({version}) did not use kubectl_complete-tap_metrics"
    );
    assert_eq!(a.directive, NO_FILE_COMP);
    let (a, _) = run(&["--resource", "work"]);
    assert_eq!(a.values(), set(&["workloads.carto.run"]));
    let (a, _) = run(&["-o", ""]);
    assert!(a.has("openmetrics") && a.has("json"));
    let (a, _) = run(&["--context", "tap-"]);
    assert_eq!(a.values(), set(&["tap-dev", "tap-prod"]));
    let (a, _) = run(&["--config", ""]);
    assert_eq!(a.directive, FILE_COMP);
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
