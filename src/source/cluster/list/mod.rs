//! Paginated lists of one resource, each page evaluated as it arrives and
//! dropped before the next: memory follows the page size, not the object count.
//!
//! A page is read by a streaming deserializer that hands each item to the
//! engine as soon as it is parsed, so only one object's tree exists at a time
//! ([`page`]).

mod page;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[cfg(test)]
use page::trailing_metadata;
use page::{Page, PageError, evaluate_page, peek_token};

use super::Progress;
use super::api::{Api, Failure};
use super::discovery::{Gvr, Task};
use crate::engine::{Batch, Engine, EvalErrors, Projection};
use crate::error::Error;
use crate::model::Labels;

/// What to list and how, the same for every resource and cluster.
#[derive(Debug, Clone)]
pub struct ListOptions {
    pub namespace: Option<String>,
    pub selector: Option<String>,
    /// `limit` of each list request; 0 for unpaginated lists.
    pub chunk_size: u32,
    /// Resource types listed at once per cluster.
    pub concurrency: usize,
    pub timeout: Option<Duration>,
    /// How long an exec credential plugin may run.
    pub exec_limit: Duration,
    /// `-v` count, for the per-task evaluation error collectors.
    pub verbosity: u8,
}

impl ListOptions {
    pub fn new(opts: &super::ClusterOptions, verbosity: u8) -> ListOptions {
        ListOptions {
            namespace: opts.namespace.clone(),
            selector: opts.selector.clone(),
            chunk_size: opts.chunk_size,
            concurrency: opts.concurrency,
            timeout: opts.connection.request_timeout,
            exec_limit: super::kubeconfig::exec_limit(&opts.connection),
            verbosity,
        }
    }
}

/// What every list task of one cluster shares.
pub struct Context {
    pub engine: Arc<Engine>,
    pub opts: Arc<ListOptions>,
    /// The cluster name batches carry.
    pub cluster: Option<String>,
    /// Labels added to every sample (the cluster label when several clusters are read).
    pub labels: Labels,
    pub progress: Arc<Progress>,
    /// Pages evaluated at once, over all clusters: one per CPU. Evaluation is
    /// CPU-bound; more at once would only hold more pages in memory.
    pub evaluators: Arc<tokio::sync::Semaphore>,
    /// Pages of this cluster held at once (fetching, waiting or being
    /// evaluated): one per list running, and one more per CPU for reading ahead.
    pub pages: Arc<tokio::sync::Semaphore>,
}

/// One list task's result.
pub struct Listed {
    /// One per config resource of the task, in the task's order.
    pub batches: Vec<Batch>,
    pub errors: EvalErrors,
    /// Why the resource could not be read (a warning line); its batches are then empty.
    pub failure: Option<String>,
}

/// The batches of one list attempt; a list restarted after 410 starts afresh.
struct Progressing {
    batches: Vec<Batch>,
    errors: EvalErrors,
    objects: u64,
}

/// Lists one resource page by page. Only spool write failures and a selector
/// the server rejects stop the run; other failures come back as a warning.
///
/// `slot` is the list's place among the `--concurrency` lists at once. It is
/// given back as soon as the last page has arrived, so that the next list's
/// request is on its way while this page is evaluated (pages in memory stay
/// bounded by the page budget).
pub async fn run(
    api: &Api,
    ctx: &Context,
    task: &Task,
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Result<Listed, Error> {
    let mut list = List::new(api, ctx, task, slot);
    let mut st = list.fresh();
    loop {
        let (got, held) = list.fetch().await;
        let body = match got {
            Ok(body) => body,
            Err(f) if list.may_restart(&f) => {
                st = list.restart(st);
                continue;
            }
            Err(f) => return list.failed(f, st),
        };
        list.read_ahead(&body);
        let (back, page) = list.evaluate(body, held, st).await?;
        st = back;
        let page = match page {
            Ok(page) => page,
            Err(e) => return list.invalid(e, st),
        };
        ctx.progress
            .objects
            .fetch_add(page.objects, Ordering::Relaxed);
        match page.next {
            Some(next) if list.token.as_deref() == Some(next.as_str()) => {
                return Ok(list.fail(
                    "the API server returned the same continue token twice".into(),
                    st,
                ));
            }
            Some(next) => list.token = Some(next),
            None => {
                return Ok(Listed {
                    batches: st.batches,
                    errors: st.errors,
                    failure: None,
                });
            }
        }
    }
}

/// One list in progress: where it is (the continue token, the page asked
/// for ahead) and what it reads; the batches travel apart, in
/// [`Progressing`], since each page's evaluation owns them for a while.
struct List<'a> {
    api: &'a Api,
    ctx: &'a Context,
    task: &'a Task,
    gvr: Arc<Gvr>,
    /// The list's path, without the query.
    path: String,
    projection: Arc<Projection>,
    slot: Permit,
    /// The list has been started over once after its token expired.
    restarted: bool,
    /// The continue token of the page to read next; `None` for the first.
    token: Option<String>,
    /// The page being read, for messages.
    uri: String,
    /// The next page, requested while this one is evaluated.
    ahead: Option<Ahead>,
}

impl<'a> List<'a> {
    fn new(api: &'a Api, ctx: &'a Context, task: &'a Task, slot: Permit) -> List<'a> {
        let gvr = Arc::new(task.gvr.clone());
        List {
            api,
            ctx,
            task,
            path: gvr.path(ctx.opts.namespace.as_deref()),
            gvr,
            projection: Arc::new(ctx.engine.projection(&task.resources)),
            slot,
            restarted: false,
            token: None,
            uri: String::new(),
            ahead: None,
        }
    }

    /// Empty batches, one per config resource of the task.
    fn fresh(&self) -> Progressing {
        let ctx = self.ctx;
        Progressing {
            batches: self
                .task
                .resources
                .iter()
                .map(|&r| ctx.engine.batch(r, ctx.cluster.clone(), ctx.labels.clone()))
                .collect(),
            errors: EvalErrors::new(ctx.opts.verbosity),
            objects: 0,
        }
    }

    /// The page at the current token: the one requested ahead if it is that
    /// page, else requested now, with its place in the page budget.
    async fn fetch(&mut self) -> (Result<Vec<u8>, Failure>, Permit) {
        self.uri = page_uri(&self.path, &self.ctx.opts, self.token.as_deref());
        match self.ahead.take() {
            Some(a) if Some(a.token.as_str()) == self.token.as_deref() => a.result().await,
            _ => {
                let held = self.ctx.pages.clone().acquire_owned().await.ok();
                (self.api.get(&self.uri).await, held)
            }
        }
    }

    /// The continue token expired (etcd compaction): the list may start
    /// over, once.
    fn may_restart(&self, f: &Failure) -> bool {
        f.code() == Some(410) && self.token.is_some() && !self.restarted
    }

    /// Starts the list over, forgetting what it had read.
    fn restart(&mut self, st: Progressing) -> Progressing {
        self.restarted = true;
        self.ctx
            .progress
            .objects
            .fetch_sub(st.objects, Ordering::Relaxed);
        self.token = None;
        self.fresh()
    }

    /// A page could not be had: a selector the server rejects stops the
    /// run; anything else makes this resource unreadable.
    fn failed(&self, f: Failure, st: Progressing) -> Result<Listed, Error> {
        if f.code() == Some(400) && self.ctx.opts.selector.is_some() {
            return Err(Error::usage(format!(
                "-l {:?}: the API server rejects it: {f}",
                self.ctx.opts.selector.as_deref().unwrap_or_default()
            )));
        }
        let again = if self.restarted && f.code() == Some(410) {
            " (after restarting the list once)"
        } else {
            ""
        };
        Ok(self.fail(format!("{f}{again}"), st))
    }

    /// Gives the list's slot back after its last page, and requests the
    /// next page now if the page budget has room: ahead of a slow server
    /// this hides its latency; ahead of a fast one pages would just wait in
    /// memory.
    fn read_ahead(&mut self, body: &[u8]) {
        let peeked = peek_token(body);
        if peeked.is_none() {
            drop(self.slot.take());
        }
        if let Some(next) = peeked
            && let Ok(held) = self.ctx.pages.clone().try_acquire_owned()
        {
            let api = self.api.clone();
            let uri = page_uri(&self.path, &self.ctx.opts, Some(&next));
            self.ahead = Some(Ahead {
                token: next,
                task: Cancel(tokio::spawn(async move { api.get(&uri).await })),
                held: Some(held),
            });
        }
    }

    /// Evaluates one page on a blocking thread, within the evaluator budget;
    /// the page and its place in the page budget are let go when it is done.
    async fn evaluate(
        &self,
        body: Vec<u8>,
        held: Permit,
        mut st: Progressing,
    ) -> Result<(Progressing, Result<Page, PageError>), Error> {
        let engine = self.ctx.engine.clone();
        let g = self.gvr.clone();
        let reads = self.projection.clone();
        let evaluator = self.ctx.evaluators.clone().acquire_owned().await.ok();
        tokio::task::spawn_blocking(move || {
            let page = evaluate_page(&engine, &reads, &g, &body, &mut st);
            drop((body, held, evaluator));
            (st, page)
        })
        .await
        .map_err(|e| Error::failure(format!("listing {} stopped: {e}", self.gvr.display())))
    }

    /// A page that could not be evaluated: samples that cannot be kept stop
    /// the run; a body that is no list makes this resource unreadable.
    fn invalid(&self, e: PageError, st: Progressing) -> Result<Listed, Error> {
        match e {
            PageError::Spool(e) => Err(Error::failure(format!(
                "cannot keep samples: {}",
                crate::shared::io::io_reason(&e)
            ))),
            PageError::Invalid(why) => {
                Ok(self.fail(format!("{}{} answered {why}", self.api.url, self.uri), st))
            }
        }
    }

    /// The resource could not be read: a warning naming it, and no batches.
    fn fail(&self, why: String, st: Progressing) -> Listed {
        Listed {
            batches: Vec::new(),
            errors: st.errors,
            failure: Some(format!(
                "cannot list {} {}: {why}",
                self.gvr.display(),
                scope(&self.gvr, &self.ctx.opts)
            )),
        }
    }
}

/// A place in a budget; the semaphores are never closed, so it is always there.
type Permit = Option<tokio::sync::OwnedSemaphorePermit>;

/// A page requested ahead, with its place in the page budget.
struct Ahead {
    token: String,
    task: Cancel,
    held: Permit,
}

impl Ahead {
    async fn result(self) -> (Result<Vec<u8>, Failure>, Permit) {
        let Ahead { mut task, held, .. } = self;
        let got = (&mut task.0)
            .await
            .unwrap_or_else(|e| Err(Failure::Transport(format!("the request stopped: {e}"))));
        (got, held)
    }
}

/// A request that is cancelled when no longer wanted (the list failed).
struct Cancel(tokio::task::JoinHandle<Result<Vec<u8>, Failure>>);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where a list looks, for messages: naming the namespace as RBAC does.
fn scope(gvr: &Gvr, opts: &ListOptions) -> String {
    match (&opts.namespace, gvr.namespaced) {
        (_, false) => "(cluster-scoped)".into(),
        (Some(ns), true) => format!("in namespace {ns:?}"),
        (None, true) => "in all namespaces".into(),
    }
}

fn page_uri(path: &str, opts: &ListOptions, token: Option<&str>) -> String {
    let mut query = Vec::new();
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    if let Some(sel) = &opts.selector {
        query.push(format!("labelSelector={}", enc(sel)));
    }
    if opts.chunk_size > 0 {
        query.push(format!("limit={}", opts.chunk_size));
    }
    if let Some(t) = token {
        query.push(format!("continue={}", enc(t)));
    }
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}
