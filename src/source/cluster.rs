//! Objects from live clusters: kubeconfig ([`kubeconfig`]), discovery
//! ([`discovery`]), then paginated lists evaluated page by page as they
//! arrive ([`list`]), over one client per cluster ([`api`]).
//!
//! Clusters and resource types are read concurrently; every list task owns
//! its batches and hands them over when its list ends, and an
//! [`Assembler`](crate::engine::Assembler)
//! puts them in a fixed order whatever the timing. Families are handed out as
//! soon as they are complete, so output can be written while lists still run.

mod api;
mod auth;
mod discovery;
mod kubeconfig;
mod list;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::engine::{Assembler, Batch, Engine, EvalErrors};
use crate::error::Error;
use crate::model::{Family, Incomplete, Origin, ResourceSummary};
use crate::ui::Ui;

pub use kubeconfig::{Connection, Env as KubeconfigEnv, SearchPath};
use list::ListOptions;

/// How to reach the cluster(s) and what to list, checked by the CLI layer.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    pub connection: Connection,
    /// One namespace (a valid name); `None` reads every namespace.
    pub namespace: Option<String>,
    /// A label selector for the API server; `None` when empty.
    pub selector: Option<String>,
    /// `limit` of each list request; 0 for unpaginated lists.
    pub chunk_size: u32,
    /// Resource types listed at once per cluster (at least 1).
    pub concurrency: usize,
    /// The label that tells clusters apart when several are read (a valid
    /// label name); empty leaves it out.
    pub cluster_label: String,
}

/// What listing the cluster(s) gave besides the families.
#[derive(Debug, Default)]
pub struct Collected {
    /// The config resources with the objects read of each.
    pub resources: Vec<ResourceSummary>,
    /// The clusters read and which of them were incomplete.
    pub origin: Origin,
}

/// The clusters of a run and the label its samples carry to tell them apart:
/// `--cluster-label`'s name when there are several, else none, so that one
/// cluster's output is KSM's.
pub fn origin(opts: &ClusterOptions, clusters: Vec<String>) -> Origin {
    let cluster_label =
        (clusters.len() > 1 && !opts.cluster_label.is_empty()).then(|| opts.cluster_label.clone());
    Origin {
        clusters,
        cluster_label,
        incomplete: Vec::new(),
    }
}

/// A list task is done with a resource: (cluster position, resource, its
/// batch or `None` when the cluster has nothing for it).
type Delivery = (usize, usize, Option<Batch>);

/// Lists every configured resource of every selected cluster once and
/// evaluates the objects, calling `ready` with each family, in config order,
/// as soon as every list it needs has ended. Missing CRDs are skipped with a
/// warning; resources that cannot be read (forbidden, failing) are warned
/// about and make the result partial; a run that could read nothing at all
/// fails (and has then handed out no family with samples).
pub fn collect(
    engine: &Engine,
    cluster: &ClusterOptions,
    errors: &mut EvalErrors,
    ui: &Ui,
    ready: &mut dyn FnMut(Family) -> Result<(), Error>,
) -> Result<Collected, Error> {
    let opts = Arc::new(ListOptions::new(cluster, ui.verbose));
    let env = kubeconfig::Env::from_process();
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|e| Error::failure(format!("cannot read the cluster: {e}")))?;
    let targets = runtime.block_on(kubeconfig::targets(&cluster.connection, &env))?;
    let multi = targets.len() > 1;
    let origin = origin(cluster, targets.iter().map(|t| t.name.clone()).collect());
    let mut asm = engine.assembler();
    asm.expect(targets.len());
    let progress = Arc::new(Progress::default());
    let clusters = cluster_contexts(
        engine,
        opts,
        targets,
        origin.cluster_label.as_deref(),
        &progress,
    );

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Delivery>();
    let ticker = ui
        .progress_enabled()
        .then(|| runtime.spawn(progress.clone().tick(*ui)));
    let listing = runtime.spawn(read_clusters(clusters, tx));
    let handed = hand_out(&runtime, rx, &mut asm, ready);
    if handed.is_err() {
        listing.abort();
    }
    let outcomes = handed.map(|()| runtime.block_on(listing));
    if let Some(t) = &ticker {
        t.abort();
    }
    ui.progress_done();
    let outcomes = outcomes?.map_err(|e| Error::failure(format!("listing stopped: {e}")))?;

    let mut collected = Collected {
        resources: Vec::new(),
        origin,
    };
    tally(outcomes, multi, &mut collected.origin, errors, ui)?;
    // Every resource has been delivered by now; closing only guards the order.
    asm.close();
    while let Some(fam) = asm.next_ready() {
        ready(fam)?;
    }
    collected.resources = asm.summaries().to_vec();
    Ok(collected)
}

/// What each cluster's list tasks share, with the cluster to read: its
/// name on the batches, its cluster label (when several are read), and its
/// page budget; evaluation is bounded by one budget for all, one per CPU.
fn cluster_contexts(
    engine: &Engine,
    opts: Arc<ListOptions>,
    targets: Vec<kubeconfig::Target>,
    cluster_label: Option<&str>,
    progress: &Arc<Progress>,
) -> Vec<(kubeconfig::Target, list::Context)> {
    let engine = Arc::new(engine.clone());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let evaluators = Arc::new(tokio::sync::Semaphore::new(cpus));
    targets
        .into_iter()
        .map(|t| {
            let labels = match cluster_label {
                Some(label) => vec![(label.to_string(), t.name.clone())],
                None => Vec::new(),
            };
            let ctx = list::Context {
                engine: engine.clone(),
                opts: opts.clone(),
                cluster: Some(t.name.clone()),
                labels,
                progress: progress.clone(),
                evaluators: evaluators.clone(),
                pages: Arc::new(tokio::sync::Semaphore::new(opts.concurrency + cpus)),
            };
            (t, ctx)
        })
        .collect()
}

/// Reads every cluster at once; each cluster's outcome, in target order.
async fn read_clusters(
    clusters: Vec<(kubeconfig::Target, list::Context)>,
    deliver: UnboundedSender<Delivery>,
) -> Vec<Result<ClusterOutcome, Error>> {
    let handles: Vec<_> = clusters
        .into_iter()
        .enumerate()
        .map(|(source, (t, ctx))| tokio::spawn(read_cluster(t, ctx, source, deliver.clone())))
        .collect();
    drop(deliver);
    let mut outcomes = Vec::with_capacity(handles.len());
    for h in handles {
        outcomes.push(
            h.await
                .map_err(|e| Error::failure(format!("listing stopped: {e}")))
                .and_then(|r| r),
        );
    }
    outcomes
}

/// Hands families to `ready` while the lists run, each as soon as every
/// list it needs has ended; returns when the channel closes (every list
/// task has ended) or `ready` fails.
fn hand_out(
    runtime: &tokio::runtime::Handle,
    mut deliveries: UnboundedReceiver<Delivery>,
    asm: &mut Assembler,
    ready: &mut dyn FnMut(Family) -> Result<(), Error>,
) -> Result<(), Error> {
    while let Some((source, resource, batch)) = runtime.block_on(deliveries.recv()) {
        asm.deliver(source, resource, batch);
        while let Some(fam) = asm.next_ready() {
            ready(fam)?;
        }
    }
    Ok(())
}

/// Adds up the clusters' outcomes: warnings are shown (prefixed with the
/// context when several clusters are read), evaluation errors merged, and
/// clusters read in part or not at all recorded in `origin`. Fails when
/// nothing could be read, and warns when the result is partial.
fn tally(
    outcomes: Vec<Result<ClusterOutcome, Error>>,
    multi: bool,
    origin: &mut Origin,
    errors: &mut EvalErrors,
    ui: &Ui,
) -> Result<(), Error> {
    let clusters = outcomes.len();
    let (mut read, mut unreadable, mut unreachable) = (0usize, 0usize, 0usize);
    let mut last_failure = String::new();
    for outcome in outcomes {
        let o = outcome?;
        let at = if multi {
            format!("context {:?}: ", o.name)
        } else {
            String::new()
        };
        if let Some(msg) = o.failed {
            if !multi {
                return Err(Error::failure(msg));
            }
            ui.warn(format!("{at}{msg}"));
            last_failure = msg;
            unreachable += 1;
            origin.incomplete.push(Incomplete {
                cluster: o.name,
                nothing_read: true,
            });
            continue;
        }
        for w in &o.warnings {
            ui.warn(format!("{at}{w}"));
        }
        if o.unreadable > 0 {
            origin.incomplete.push(Incomplete {
                cluster: o.name,
                nothing_read: o.read == 0,
            });
        }
        read += o.read;
        unreadable += o.unreadable;
        errors.merge(o.errors);
    }
    if unreachable == clusters {
        return Err(Error::failure(format!(
            "none of the {clusters} clusters could be read (last: {last_failure})"
        )));
    }
    if read == 0 && unreadable > 0 {
        return Err(Error::failure(format!(
            "nothing could be read: all {unreadable} resources failed (see the warnings above)"
        )));
    }
    if !origin.incomplete.is_empty() {
        let mut what = Vec::new();
        if unreadable > 0 {
            what.push(format!(
                "{unreadable} of {} resources could not be read",
                read + unreadable
            ));
        }
        if unreachable > 0 {
            what.push(format!(
                "{unreachable} of {clusters} clusters could not be read"
            ));
        }
        ui.warn(format!("partial result: {} (exit code 5)", what.join(", ")));
    }
    Ok(())
}

/// The clusters a run would read and their label, without connecting (for
/// `--delete`, which lists nothing).
pub fn clusters(opts: &ClusterOptions) -> Result<Origin, Error> {
    let names = kubeconfig::names(&opts.connection, &kubeconfig::Env::from_process())?;
    Ok(origin(opts, names))
}

/// One cluster's share of the run.
struct ClusterOutcome {
    name: String,
    /// Why the cluster could not be read at all.
    failed: Option<String>,
    errors: EvalErrors,
    /// Skipped and unreadable resources, in config order.
    warnings: Vec<String>,
    /// Resource types listed completely.
    read: usize,
    /// Resource types that could not be listed.
    unreadable: usize,
}

/// Lists one cluster's resources; each list's batches go to `deliver` when it
/// ends, and every config resource is delivered exactly once, read or not.
async fn read_cluster(
    target: kubeconfig::Target,
    ctx: list::Context,
    source: usize,
    deliver: UnboundedSender<Delivery>,
) -> Result<ClusterOutcome, Error> {
    let nothing_for = |resources: &mut dyn Iterator<Item = usize>| {
        for r in resources {
            // The receiver outlives every list; a send fails only when the
            // run is already failing.
            let _ = deliver.send((source, r, None));
        }
    };
    let all = ctx.engine.resources().len();
    let mut out = ClusterOutcome {
        name: target.name.clone(),
        failed: None,
        errors: EvalErrors::new(ctx.opts.verbosity),
        warnings: Vec::new(),
        read: 0,
        unreadable: 0,
    };
    let mut target = target;
    let limit = ctx.opts.exec_limit;
    // An exec plugin blocks while it runs.
    let resolved = tokio::task::spawn_blocking(move || {
        target.resolve_credentials(limit).map(|()| target.config)
    })
    .await;
    let config = match resolved {
        Ok(Ok(config)) => config,
        Ok(Err(e)) => {
            nothing_for(&mut (0..all));
            out.failed = Some(e.message);
            return Ok(out);
        }
        Err(e) => return Err(Error::failure(format!("listing stopped: {e}"))),
    };
    let api = match api::Api::new(config, ctx.opts.timeout) {
        Ok(api) => api,
        Err(msg) => {
            nothing_for(&mut (0..all));
            out.failed = Some(msg);
            return Ok(out);
        }
    };
    let plan = match discovery::plan(&api, ctx.engine.resources()).await {
        Ok(plan) => plan,
        Err(f) => {
            nothing_for(&mut (0..all));
            out.failed = Some(f.to_string());
            return Ok(out);
        }
    };
    let listed: std::collections::BTreeSet<usize> = plan
        .tasks
        .iter()
        .flat_map(|t| t.resources.iter().copied())
        .collect();
    nothing_for(&mut (0..all).filter(|r| !listed.contains(r)));
    out.warnings = plan.skipped;
    ctx.progress
        .total
        .fetch_add(plan.tasks.len(), Ordering::Relaxed);
    let ctx = Arc::new(ctx);
    let permits = Arc::new(tokio::sync::Semaphore::new(ctx.opts.concurrency));
    let handles: Vec<_> = plan
        .tasks
        .into_iter()
        .map(|task| {
            let (api, ctx, permits) = (api.clone(), ctx.clone(), permits.clone());
            let deliver = deliver.clone();
            tokio::spawn(async move {
                let slot = permits.acquire_owned().await.ok();
                let mut result = list::run(&api, &ctx, &task, slot).await;
                ctx.progress.done.fetch_add(1, Ordering::Relaxed);
                if let Ok(listed) = &mut result {
                    if listed.failure.is_some() {
                        for &r in &task.resources {
                            let _ = deliver.send((source, r, None));
                        }
                    }
                    for b in listed.batches.drain(..) {
                        let _ = deliver.send((source, b.resource, Some(b)));
                    }
                }
                result
            })
        })
        .collect();
    for h in handles {
        let listed = h
            .await
            .map_err(|e| Error::failure(format!("listing stopped: {e}")))??;
        match listed.failure {
            Some(w) => {
                out.warnings.push(w);
                out.unreadable += 1;
            }
            None => {
                out.read += 1;
                out.errors.merge(listed.errors);
            }
        }
    }
    Ok(out)
}

/// Counters for the progress line, shared by every list task.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    total: AtomicUsize,
    done: AtomicUsize,
    objects: AtomicU64,
}

impl Progress {
    async fn tick(self: Arc<Self>, ui: Ui) {
        let mut every = tokio::time::interval(Duration::from_millis(100));
        loop {
            every.tick().await;
            ui.progress(format!(
                "listing: {}/{} resources done, {} objects",
                self.done.load(Ordering::Relaxed),
                self.total.load(Ordering::Relaxed),
                self.objects.load(Ordering::Relaxed)
            ));
        }
    }
}
