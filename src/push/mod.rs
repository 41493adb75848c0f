//! Sending a snapshot: to a Prometheus Pushgateway, or with remote write
//! ([`remote_write`]); both over one HTTP client setup ([`transport`]).
//!
//! One request per group. Every group's body is rendered, checked and
//! compressed before the first request, so a bad snapshot pushes nothing; a
//! PUT replaces its group whole, so no group is ever half-updated.

mod body;
mod group;
mod remote_write;
mod transport;

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::Method;

use crate::error::{Error, ExitKind};
use crate::model::{MetricSet, Origin};
use crate::ui::Ui;

use group::{Group, Target};
pub use remote_write::{RemoteWriteOptions, RemoteWriter};
pub use transport::ClientOptions;
use transport::Transport;

/// The environment variable holding the basic-auth password of `--pushgateway-user`.
/// Not a flag: a password given as an argument shows in `ps` and shell history.
pub const PASSWORD_ENV: &str = "TAP_METRICS_PUSHGATEWAY_PASSWORD";

/// The environment variable holding the basic-auth password of `--remote-write-user`.
pub const REMOTE_WRITE_PASSWORD_ENV: &str = "TAP_METRICS_REMOTE_WRITE_PASSWORD";

/// How a push changes its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PushMode {
    /// PUT: replace the whole group (snapshot semantics).
    #[default]
    Replace,
    /// POST: replace only the pushed metric families of the group.
    Add,
}

/// Where and how to push, as the CLI layer resolved it.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// The Pushgateway's URL, as given.
    pub url: String,
    pub job: String,
    /// `KEY=VALUE` pairs, as given.
    pub grouping_key: Vec<String>,
    pub mode: PushMode,
    /// Push clusters of which some resources could not be read.
    pub push_partial: bool,
    /// When several contexts are asked for: the label that makes each cluster
    /// its own group (it must not clash with the group key).
    pub cluster_label: Option<String>,
    pub client: ClientOptions,
}

/// What a push or delete did, for the one-line summary on stderr.
#[derive(Debug)]
pub struct PushSummary {
    method: Method,
    gateway: String,
    groups: Vec<String>,
    families: usize,
    samples: u64,
    duplicates: u64,
    bytes: usize,
    elapsed: Duration,
}

impl PushSummary {
    /// Nothing sent yet; `send_all` fills in groups and time.
    fn new(method: Method, gateway: String) -> PushSummary {
        PushSummary {
            method,
            gateway,
            groups: Vec::new(),
            families: 0,
            samples: 0,
            duplicates: 0,
            bytes: 0,
            elapsed: Duration::ZERO,
        }
    }
}

impl fmt::Display for PushSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.groups.len();
        let groups = format!(
            "{n} group{} ({})",
            if n == 1 { "" } else { "s" },
            self.groups.join("; ")
        );
        let secs = self.elapsed.as_secs_f64();
        if self.method == Method::DELETE {
            return write!(f, "deleted {groups} from {} in {secs:.2}s", self.gateway);
        }
        write!(
            f,
            "pushed {groups} to {} with {}: {} families, {} samples, {} gzip in {secs:.2}s",
            self.gateway,
            self.method,
            self.families,
            self.samples,
            human_bytes(self.bytes)
        )?;
        if self.duplicates > 0 {
            write!(
                f,
                "; dropped {} duplicate series (same name and labels; the first was kept)",
                self.duplicates
            )?;
        }
        Ok(())
    }
}

fn human_bytes(n: usize) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

/// A push target whose flags, credential files and TLS material are checked,
/// so that a bad flag fails before the cluster is read. Nothing is sent yet.
pub struct Pusher<'a> {
    args: &'a PushOptions,
    target: Target,
    transport: Transport,
}

impl<'a> Pusher<'a> {
    pub fn new(args: &'a PushOptions) -> Result<Pusher<'a>, Error> {
        let target = Target::new(args)?;
        let transport = Transport::new(&args.client, &target.base)?;
        Ok(Pusher {
            args,
            target,
            transport,
        })
    }

    /// Whether several contexts were asked for, each with its own group.
    pub fn per_cluster(&self) -> bool {
        self.args.cluster_label.is_some()
    }

    /// Pushes `set`: one group, or one per cluster of `origin` when they are
    /// told apart by a label. Clusters with resources that could not be read
    /// are pushed only with `--push-partial`, since a PUT would drop the
    /// series of what was not read. Fails (partial) when that leaves nothing.
    pub fn push(&self, set: &MetricSet, origin: &Origin, ui: &Ui) -> Result<PushSummary, Error> {
        let started = Instant::now();
        let (args, target) = (self.args, &self.target);
        let groups = target.split(set, origin, args.push_partial, ui)?;
        if groups.is_empty() {
            let hint = if args.push_partial {
                "fix the access"
            } else {
                "fix the access or pass --push-partial"
            };
            return Err(Error::new(
                ExitKind::Partial,
                format!(
                    "some resources could not be read, so nothing was pushed to {}: a push would remove their series; {hint}",
                    target.base
                ),
            ));
        }
        let method = match args.mode {
            PushMode::Replace => Method::PUT,
            PushMode::Add => Method::POST,
        };
        let mut planned = Vec::new();
        for (group, part) in groups {
            let body = body::build(&part, &group.key).map_err(|e| {
                Error::failure(format!(
                    "cannot push group {}: {e}; nothing was pushed",
                    group.describe()
                ))
                .caused_by(e)
            })?;
            planned.push((group, Some(body)));
        }
        let mut summary = PushSummary::new(method.clone(), target.base.to_string());
        let mut families = BTreeSet::new();
        for (_, body) in &planned {
            let c = body.as_ref().map(|b| &b.checked);
            families.extend(c.into_iter().flat_map(|c| c.families.iter().cloned()));
            summary.samples += c.map_or(0, |c| c.samples);
            summary.duplicates += c.map_or(0, |c| c.duplicates);
            summary.bytes += body.as_ref().map_or(0, |b| b.gzip.len());
        }
        summary.families = families.len();
        send_all(&self.transport, method, &planned, ui, summary, started)
    }

    /// Deletes the group (one per cluster of `origin` when they are told
    /// apart by a label). Lists nothing.
    pub fn delete(&self, origin: &Origin, ui: &Ui) -> Result<PushSummary, Error> {
        let started = Instant::now();
        let planned: Vec<(Group, Option<body::Body>)> = self
            .target
            .delete_groups(origin)
            .into_iter()
            .map(|g| (g, None))
            .collect();
        let summary = PushSummary::new(Method::DELETE, self.target.base.to_string());
        send_all(
            &self.transport,
            Method::DELETE,
            &planned,
            ui,
            summary,
            started,
        )
    }
}

/// Sends every group in order. A refused group does not stop the others (each
/// cluster keeps its own data fresh); an unreachable Pushgateway does.
fn send_all(
    transport: &Transport,
    method: Method,
    planned: &[(Group, Option<body::Body>)],
    ui: &Ui,
    mut summary: PushSummary,
    started: Instant,
) -> Result<PushSummary, Error> {
    let mut failures: Vec<String> = Vec::new();
    let mut unreachable = false;
    let mut skipped = 0;
    for (group, body) in planned {
        if unreachable {
            skipped += 1;
            continue;
        }
        let what = format!("{method} of group {}", group.describe());
        let t = Instant::now();
        let sent = block_on(transport.send(
            method.clone(),
            &group.url,
            body.as_ref().map(|b| b.gzip.as_slice()),
            &what,
            ui,
        ))?;
        match sent {
            Ok(status) => {
                ui.detail(format!(
                    "{method} {}: {status} in {}ms",
                    group.url,
                    t.elapsed().as_millis()
                ));
                summary.groups.push(group.describe());
            }
            Err(failed) => {
                unreachable = failed.unreachable;
                failures.push(failed.message);
            }
        }
    }
    summary.elapsed = started.elapsed();
    if failures.is_empty() {
        return Ok(summary);
    }
    let mut msg = failures.join("; ");
    if planned.len() > 1 {
        msg = format!(
            "{} of {} groups failed: {msg}",
            planned.len() - summary.groups.len(),
            planned.len()
        );
        if skipped > 0 {
            msg.push_str(&format!("; {skipped} of them not attempted"));
        }
        if !summary.groups.is_empty() {
            msg.push_str(&format!("; done: {}", summary.groups.join("; ")));
        }
    }
    Err(Error::failure(msg))
}

/// Runs `fut` on the runtime `main` entered, or on a new one for library callers.
fn block_on<F: Future>(fut: F) -> Result<F::Output, Error> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => Ok(handle.block_on(fut)),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(fut))
            .map_err(|e| Error::failure(format!("cannot start the HTTP client: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_callers_without_a_runtime_get_one() {
        assert_eq!(block_on(async { 7 }), Ok(7));
    }

    #[test]
    fn summaries_read_as_one_line() {
        let mut s = PushSummary {
            method: Method::PUT,
            gateway: "http://pgw:9091/".into(),
            groups: vec![
                "job=\"a\",cluster=\"x\"".into(),
                "job=\"a\",cluster=\"y\"".into(),
            ],
            families: 3,
            samples: 12,
            duplicates: 0,
            bytes: 3 * 1024 + 512,
            elapsed: Duration::from_millis(1234),
        };
        assert_eq!(
            s.to_string(),
            "pushed 2 groups (job=\"a\",cluster=\"x\"; job=\"a\",cluster=\"y\") to http://pgw:9091/ with PUT: 3 families, 12 samples, 3.5 KiB gzip in 1.23s"
        );
        s.method = Method::DELETE;
        s.groups.truncate(1);
        assert_eq!(
            s.to_string(),
            "deleted 1 group (job=\"a\",cluster=\"x\") from http://pgw:9091/ in 1.23s"
        );
    }
}
