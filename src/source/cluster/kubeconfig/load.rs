//! Reading kubeconfig files: where kubectl looks for them, merging a list
//! (the first file to name something wins), and bounded, one-line errors.

use std::io::Read;
use std::path::{Path, PathBuf};

use kube::config::{Kubeconfig, KubeconfigError};

use super::{Connection, Env};
use crate::error::Error;
use crate::shared::text::one_line;
use crate::source::cluster::api;

/// kubectl's kubeconfig files when `--kubeconfig` is not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPath {
    /// In order; some may not exist.
    pub files: Vec<PathBuf>,
    /// Where was looked, for messages.
    pub looked: String,
}

/// The `$KUBECONFIG` path list (empty entries left out), else
/// `$HOME/.kube/config`, else nothing.
pub(super) fn search_path(env: &Env) -> SearchPath {
    let (files, looked) = match &env.kubeconfig {
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
    SearchPath { files, looked }
}

/// The merged kubeconfig and the files it came from.
pub(super) fn load(args: &Connection, env: &Env) -> Result<(Kubeconfig, String), Error> {
    if let Some(path) = &args.kubeconfig {
        return Ok((read(Path::new(path))?, path.clone()));
    }
    let SearchPath {
        files: paths,
        looked,
    } = env.search_path();
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
    let cannot =
        |e: std::io::Error| fail(format!("cannot read: {}", crate::shared::io::io_reason(&e)));
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
pub(super) fn kubeconfig_reason(e: &KubeconfigError) -> String {
    match e {
        KubeconfigError::ReadConfig(io, _) => {
            format!("cannot read: {}", crate::shared::io::io_reason(io))
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
        other => one_line(&api::reason(other), 300),
    }
}
