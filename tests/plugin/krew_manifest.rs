//! The krew manifest: the committed template holds no hash, and the manifest
//! `scripts/release.sh` renders follows krew's rules, carries the hashes of the
//! archives it names, and describes the layout of the archive built for the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_yaml::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-tap_metrics");
const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));
const BASE_URL: &str = "https://github.com/tap-metrics/tap-metrics/releases/download/v0.1.0";
const PLATFORMS: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn release_sh(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo().join("scripts/release.sh"))
        .args(args)
        .output()
        .expect("bash runs scripts/release.sh")
}

fn archive_name(os: &str, arch: &str) -> String {
    format!("tap-metrics-{VERSION}-{os}-{arch}.tar.gz")
}

fn host() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        arch => arch,
    };
    (os, arch)
}

/// SHA-256 independent of the script's `sha256sum` (rustls is a dev-dependency).
fn sha256_hex(data: &[u8]) -> String {
    let rustls::SupportedCipherSuite::Tls13(suite) =
        rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
    else {
        unreachable!("a TLS 1.3 suite")
    };
    let digest = suite.common.hash_provider.hash(data);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

struct Release {
    dist: PathBuf,
    manifest: Value,
}

/// The host archive, built by the script from the test binary, stand-ins for
/// the four archives only a release pipeline can build, and the manifest
/// rendered from them. Built once: packing the debug binary takes seconds.
fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let dist = Path::new(env!("CARGO_TARGET_TMPDIR")).join("krew-release");
        let _ = std::fs::remove_dir_all(&dist);
        std::fs::create_dir_all(&dist).unwrap();
        let dist_arg = dist.to_str().unwrap();
        let out = release_sh(&[
            "archive",
            "--version",
            VERSION,
            "--bin",
            BIN,
            "--out",
            dist_arg,
        ]);
        assert!(out.status.success(), "archive: {out:?}");
        let (host_os, host_arch) = host();
        for (os, arch) in PLATFORMS {
            if (os, arch) != (host_os, host_arch) {
                // Distinct contents, so a hash put under the wrong platform shows.
                std::fs::write(dist.join(archive_name(os, arch)), format!("{os}-{arch}")).unwrap();
            }
        }
        let out = release_sh(&[
            "manifest",
            "--version",
            VERSION,
            "--base-url",
            BASE_URL,
            "--out",
            dist_arg,
        ]);
        assert!(out.status.success(), "manifest: {out:?}");
        let text = std::fs::read_to_string(dist.join("tap-metrics.yaml")).unwrap();
        Release {
            dist,
            manifest: serde_yaml::from_str(&text).unwrap(),
        }
    })
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

fn platforms(manifest: &Value) -> &[Value] {
    manifest["spec"]["platforms"]
        .as_sequence()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn labels(platform: &Value) -> BTreeMap<String, String> {
    platform["selector"]["matchLabels"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
        .collect()
}

fn selects(platform: &Value, os: &str, arch: &str) -> bool {
    labels(platform).iter().all(|(k, v)| match k.as_str() {
        "os" => v == os,
        "arch" => v == arch,
        _ => false,
    })
}

fn is_semver_tag(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let core = rest.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

/// krew's rules (its `validation.ValidatePlugin` and `validate-krew-manifest`'s
/// overlap check) plus ours: five platforms, the LICENSE installed.
fn krew_problems(manifest: &Value, file_name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, problem: String| {
        if !ok {
            problems.push(problem);
        }
    };
    check(
        str_at(manifest, &["apiVersion"]) == Some("krew.googlecontainertools.github.com/v1alpha2"),
        "apiVersion".into(),
    );
    check(str_at(manifest, &["kind"]) == Some("Plugin"), "kind".into());
    let name = str_at(manifest, &["metadata", "name"]).unwrap_or("");
    check(
        file_name == format!("{name}.yaml")
            && !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        format!("metadata.name {name:?} for file {file_name}"),
    );
    let version = str_at(manifest, &["spec", "version"]).unwrap_or("");
    check(
        is_semver_tag(version) && version == VERSION,
        format!("spec.version {version:?} is not {VERSION}"),
    );
    let homepage = str_at(manifest, &["spec", "homepage"]).unwrap_or("");
    check(homepage.starts_with("https://"), "homepage".into());
    let short = str_at(manifest, &["spec", "shortDescription"]).unwrap_or("");
    check(
        !short.trim().is_empty() && !short.contains(['\r', '\n']),
        "shortDescription must be one line".into(),
    );
    for field in ["description", "caveats"] {
        let text = str_at(manifest, &["spec", field]).unwrap_or("");
        check(!text.trim().is_empty(), format!("spec.{field} is empty"));
    }

    let all = platforms(manifest);
    for (i, p) in all.iter().enumerate() {
        let uri = str_at(p, &["uri"]).unwrap_or("");
        check(
            uri.starts_with("https://"),
            format!("platforms[{i}].uri {uri:?}"),
        );
        let sha = str_at(p, &["sha256"]).unwrap_or("");
        check(
            sha.len() == 64 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            format!("platforms[{i}].sha256 {sha:?} is not lower-case 64-hex"),
        );
        let selector = p["selector"].as_mapping();
        check(
            selector.is_some_and(|s| s.keys().all(|k| k.as_str() == Some("matchLabels"))),
            format!("platforms[{i}].selector must hold matchLabels only"),
        );
        let l = labels(p);
        check(
            !l.is_empty() && l.keys().all(|k| k == "os" || k == "arch"),
            format!("platforms[{i}] selector keys {:?}", l.keys()),
        );
        let bin = str_at(p, &["bin"]).unwrap_or("");
        let windows = l.get("os").map(String::as_str) == Some("windows");
        check(
            !bin.is_empty() && bin.ends_with(".exe") == windows,
            format!("platforms[{i}].bin {bin:?}"),
        );
        let files = p["files"]
            .as_sequence()
            .map(Vec::as_slice)
            .unwrap_or_default();
        check(!files.is_empty(), format!("platforms[{i}].files is empty"));
        for f in files {
            let (from, to) = (str_at(f, &["from"]), str_at(f, &["to"]));
            check(
                from.is_some_and(|s| !s.is_empty())
                    && to.is_some_and(|t| {
                        !t.is_empty() && !t.starts_with('/') && !t.split('/').any(|c| c == "..")
                    }),
                format!("platforms[{i}].files entry {f:?}"),
            );
        }
        check(
            files
                .iter()
                .any(|f| str_at(f, &["from"]) == Some("LICENSE")),
            format!("platforms[{i}] does not install the LICENSE"),
        );
    }
    for (os, arch) in PLATFORMS {
        let n = all.iter().filter(|p| selects(p, os, arch)).count();
        check(n == 1, format!("{n} platforms select {os}/{arch}"));
    }
    for os in ["linux", "darwin", "windows", "freebsd"] {
        for arch in ["amd64", "arm64", "386", "arm", "ppc64le", "s390x"] {
            let n = all.iter().filter(|p| selects(p, os, arch)).count();
            check(n <= 1, format!("{n} platforms overlap on {os}/{arch}"));
        }
    }
    problems
}

#[test]
fn the_template_holds_no_hash() {
    let text = std::fs::read_to_string(repo().join("plugin-manifest/tap-metrics.yaml.in")).unwrap();
    let template: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(str_at(&template, &["spec", "version"]), Some("__VERSION__"));
    assert_eq!(platforms(&template).len(), PLATFORMS.len());
    for p in platforms(&template) {
        let l = labels(p);
        let token = format!("__SHA256_{}_{}__", l["os"], l["arch"]).to_uppercase();
        assert_eq!(str_at(p, &["sha256"]), Some(token.as_str()), "{l:?}");
        let uri = format!(
            "__BASE_URL__/tap-metrics-__VERSION__-{}-{}.tar.gz",
            l["os"], l["arch"]
        );
        assert_eq!(str_at(p, &["uri"]), Some(uri.as_str()));
    }
}

#[test]
fn rendered_manifest_follows_krew_rules() {
    let r = release();
    let problems = krew_problems(&r.manifest, "tap-metrics.yaml");
    assert!(problems.is_empty(), "{problems:#?}");
    let caveats = str_at(&r.manifest, &["spec", "caveats"]).unwrap();
    assert!(caveats.contains(&format!("store/tap-metrics/{VERSION}/completions")));
}

#[test]
fn rendered_hashes_and_uris_are_the_archives() {
    let r = release();
    for p in platforms(&r.manifest) {
        let l = labels(p);
        let name = archive_name(&l["os"], &l["arch"]);
        let bytes = std::fs::read(r.dist.join(&name)).unwrap();
        assert_eq!(
            str_at(p, &["sha256"]),
            Some(sha256_hex(&bytes).as_str()),
            "{name}"
        );
        assert_eq!(
            str_at(p, &["uri"]),
            Some(format!("{BASE_URL}/{name}").as_str())
        );
    }
}

/// Extracts the host archive and installs it as krew would (krew's file
/// operations: an existing `from` moves to `to`, `.` keeping its name), then
/// runs the `bin` the manifest names.
#[test]
fn host_archive_installs_as_the_manifest_says() {
    let r = release();
    let (os, arch) = host();
    let platform = platforms(&r.manifest)
        .iter()
        .find(|p| selects(p, os, arch))
        .expect("a platform for the host");
    let work = tempfile::tempdir().unwrap();
    let (extracted, installed) = (work.path().join("x"), work.path().join("i"));
    std::fs::create_dir_all(&extracted).unwrap();
    std::fs::create_dir_all(&installed).unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(r.dist.join(archive_name(os, arch)))
        .arg("-C")
        .arg(&extracted)
        .status()
        .unwrap();
    assert!(status.success());

    let mut entries: Vec<String> = std::fs::read_dir(&extracted)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        ["LICENSE", "README.md", "completions", "kubectl-tap_metrics"]
    );

    for f in platform["files"].as_sequence().unwrap() {
        let (from, to) = (str_at(f, &["from"]).unwrap(), str_at(f, &["to"]).unwrap());
        let source = extracted.join(from);
        assert!(source.exists(), "the archive has no {from}");
        let target = if to == "." {
            installed.join(source.file_name().unwrap())
        } else {
            installed.join(to)
        };
        std::fs::rename(&source, &target).unwrap();
    }

    let bin = installed.join(str_at(platform, &["bin"]).unwrap());
    let out = Command::new(&bin).arg("--version").output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with(&format!(
            "kubectl tap-metrics {} (",
            env!("CARGO_PKG_VERSION")
        )),
        "{said}"
    );
    let license = std::fs::read(installed.join("LICENSE")).unwrap();
    assert_eq!(license, std::fs::read(repo().join("LICENSE")).unwrap());
    for file in [
        "kubectl_complete-tap_metrics",
        "kubectl-tap_metrics.bash",
        "_kubectl-tap_metrics",
        "kubectl-tap_metrics.fish",
        "_kubectl-tap_metrics.ps1",
    ] {
        let path = installed.join("completions").join(file);
        assert!(path.is_file(), "completions/{file} not installed");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let script = installed.join("completions/kubectl_complete-tap_metrics");
        let mode = std::fs::metadata(script).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o111,
            0o111,
            "kubectl_complete-tap_metrics lost its x bit"
        );
    }
}

/// The checks above would pass vacuously if the validator found nothing wrong
/// with anything.
#[test]
fn the_validator_catches_broken_manifests() {
    let good = &release().manifest;
    type Break = fn(&mut Value);
    let breaks: [(&str, Break); 8] = [
        ("upper-case hash", |m| {
            let sha = m["spec"]["platforms"][0]["sha256"]
                .as_str()
                .unwrap()
                .to_uppercase();
            m["spec"]["platforms"][0]["sha256"] = sha.into();
        }),
        ("version without v", |m| {
            m["spec"]["version"] = env!("CARGO_PKG_VERSION").into();
        }),
        ("two-line shortDescription", |m| {
            m["spec"]["shortDescription"] = "one\ntwo".into();
        }),
        ("windows bin without .exe", |m| {
            m["spec"]["platforms"][4]["bin"] = "kubectl-tap_metrics".into();
        }),
        ("selector without arch overlaps", |m| {
            let labels = m["spec"]["platforms"][0]["selector"]["matchLabels"]
                .as_mapping_mut()
                .unwrap();
            labels.remove("arch");
        }),
        ("unknown selector key", |m| {
            m["spec"]["platforms"][0]["selector"]["matchLabels"]["distro"] = "debian".into();
        }),
        ("no LICENSE", |m| {
            let files = m["spec"]["platforms"][1]["files"]
                .as_sequence_mut()
                .unwrap();
            files.retain(|f| f["from"].as_str() != Some("LICENSE"));
        }),
        ("a platform missing", |m| {
            m["spec"]["platforms"].as_sequence_mut().unwrap().pop();
        }),
    ];
    for (what, break_it) in breaks {
        let mut broken = good.clone();
        break_it(&mut broken);
        assert!(
            !krew_problems(&broken, "tap-metrics.yaml").is_empty(),
            "{what} passed"
        );
    }
    assert!(
        !krew_problems(good, "other.yaml").is_empty(),
        "file name passed"
    );
}

#[test]
fn the_script_refuses_a_wrong_version_and_missing_archives() {
    let out = release_sh(&["archive", "--version", "v9.9.9", "--bin", BIN]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cargo.toml"));

    let empty = tempfile::tempdir().unwrap();
    let out = release_sh(&[
        "manifest",
        "--version",
        VERSION,
        "--base-url",
        BASE_URL,
        "--out",
        empty.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&archive_name("darwin", "arm64")),
        "{stderr}"
    );
    assert!(!empty.path().join("tap-metrics.yaml").exists());
}
