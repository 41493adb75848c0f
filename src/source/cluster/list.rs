//! Paginated lists of one resource, each page evaluated as it arrives and
//! dropped before the next: memory follows the page size, not the object count.
//!
//! A page is read by a streaming deserializer that hands each item to the
//! engine as soon as it is parsed, so only one object's tree exists at a time.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

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
    mut slot: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Result<Listed, Error> {
    let gvr = Arc::new(task.gvr.clone());
    let path = gvr.path(ctx.opts.namespace.as_deref());
    let projection = Arc::new(ctx.engine.projection(&task.resources));
    let fresh = || Progressing {
        batches: task
            .resources
            .iter()
            .map(|&r| ctx.engine.batch(r, ctx.cluster.clone(), ctx.labels.clone()))
            .collect(),
        errors: EvalErrors::new(ctx.opts.verbosity),
        objects: 0,
    };
    let fail = |why: String, st: Progressing| Listed {
        batches: Vec::new(),
        errors: st.errors,
        failure: Some(format!(
            "cannot list {} {}: {why}",
            gvr.display(),
            scope(&gvr, &ctx.opts)
        )),
    };
    let mut st = fresh();
    let mut restarted = false;
    let mut token: Option<String> = None;
    // The next page, requested while this one is evaluated.
    let mut ahead: Option<Ahead> = None;
    loop {
        let uri = page_uri(&path, &ctx.opts, token.as_deref());
        let (got, held) = match ahead.take() {
            Some(a) if Some(a.token.as_str()) == token.as_deref() => a.result().await,
            _ => {
                let held = ctx.pages.clone().acquire_owned().await.ok();
                (api.get(&uri).await, held)
            }
        };
        let body = match got {
            Ok(body) => body,
            // The continue token expired (etcd compaction): start over, once.
            Err(f) if f.code() == Some(410) && token.is_some() && !restarted => {
                restarted = true;
                ctx.progress
                    .objects
                    .fetch_sub(st.objects, Ordering::Relaxed);
                st = fresh();
                token = None;
                continue;
            }
            Err(f) if f.code() == Some(400) && ctx.opts.selector.is_some() => {
                return Err(Error::usage(format!(
                    "-l {:?}: the API server rejects it: {f}",
                    ctx.opts.selector.as_deref().unwrap_or_default()
                )));
            }
            Err(f) => {
                let again = if restarted && f.code() == Some(410) {
                    " (after restarting the list once)"
                } else {
                    ""
                };
                return Ok(fail(format!("{f}{again}"), st));
            }
        };
        let peeked = peek_token(&body);
        if peeked.is_none() {
            drop(slot.take());
        }
        // Only within the page budget: ahead of a slow server this hides its
        // latency; ahead of a fast one pages would just wait in memory.
        if let Some(next) = peeked
            && let Ok(held) = ctx.pages.clone().try_acquire_owned()
        {
            let (api, uri) = (api.clone(), page_uri(&path, &ctx.opts, Some(&next)));
            ahead = Some(Ahead {
                token: next,
                task: Cancel(tokio::spawn(async move { api.get(&uri).await })),
                held: Some(held),
            });
        }
        let engine = ctx.engine.clone();
        let g = gvr.clone();
        let reads = projection.clone();
        let evaluator = ctx.evaluators.clone().acquire_owned().await.ok();
        let (back, page) = tokio::task::spawn_blocking(move || {
            let page = evaluate_page(&engine, &reads, &g, &body, &mut st);
            drop((body, held, evaluator));
            (st, page)
        })
        .await
        .map_err(|e| Error::failure(format!("listing {} stopped: {e}", gvr.display())))?;
        st = back;
        let page = match page {
            Ok(page) => page,
            Err(PageError::Spool(e)) => {
                return Err(Error::failure(format!(
                    "cannot keep samples: {}",
                    crate::source::io_reason(&e)
                )));
            }
            Err(PageError::Invalid(why)) => {
                return Ok(fail(format!("{}{uri} answered {why}", api.url), st));
            }
        };
        ctx.progress
            .objects
            .fetch_add(page.objects, Ordering::Relaxed);
        match page.next {
            Some(next) if token.as_deref() == Some(next.as_str()) => {
                return Ok(fail(
                    "the API server returned the same continue token twice".into(),
                    st,
                ));
            }
            Some(next) => token = Some(next),
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

/// The continue token of a list body, without building its items: read from
/// the end when `metadata` is the body's last key (custom resource lists sort
/// their keys), else by a scan that skips everything else. `None` for a last
/// page or a body that is not a list (the evaluation then says why).
fn peek_token(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        metadata: Option<ListMeta>,
    }
    let meta = match trailing_metadata(body) {
        Some(meta) => meta,
        None => serde_json::from_slice::<Head>(body).ok()?.metadata?,
    };
    meta.token.filter(|t| !t.is_empty())
}

/// `"metadata": {…}` right before the body's final `}`: then it is a key of
/// the top-level object (a nested one would need its own `}` after it), and
/// the key cannot be inside a string, where every quote is escaped.
fn trailing_metadata(body: &[u8]) -> Option<ListMeta> {
    const KEY: &[u8] = b"\"metadata\":";
    let end = body.iter().rposition(|b| !b.is_ascii_whitespace())?;
    if body[end] != b'}' {
        return None;
    }
    // List metadata is a few hundred bytes.
    let from = end.saturating_sub(4096);
    let key = from + body[from..end].windows(KEY.len()).rposition(|w| w == KEY)?;
    if key > 0 && body[key - 1] == b'\\' {
        return None;
    }
    let mut de = serde_json::Deserializer::from_slice(&body[key + KEY.len()..end]);
    let meta = ListMeta::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(meta)
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

enum PageError {
    /// Samples could not be written to the spool.
    Spool(std::io::Error),
    /// The body is not a Kubernetes list.
    Invalid(String),
}

struct Page {
    objects: u64,
    /// The continue token of the next page, if any.
    next: Option<String>,
}

/// Evaluates every item of one list page into the task's batches, each item
/// parsed into only what the engine reads of it.
fn evaluate_page(
    engine: &Engine,
    reads: &Projection,
    gvr: &Gvr,
    body: &[u8],
    st: &mut Progressing,
) -> Result<Page, PageError> {
    let api_version = Value::String(gvr.api_version());
    let kind = Value::String(gvr.kind.clone());
    let mut spool_error = None;
    let mut objects = 0u64;
    let Progressing {
        batches, errors, ..
    } = st;
    let mut each = |mut obj: Value| -> Result<(), ()> {
        // Built-in lists leave apiVersion and kind out of their items.
        if let Value::Object(m) = &mut obj {
            m.entry("apiVersion").or_insert_with(|| api_version.clone());
            m.entry("kind").or_insert_with(|| kind.clone());
        }
        objects += 1;
        for b in batches.iter_mut() {
            if let Err(e) = engine.evaluate(b, &obj, errors) {
                spool_error = Some(e);
                return Err(());
            }
        }
        Ok(())
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = PageSeed {
        reads,
        each: &mut each,
    }
    .deserialize(&mut de)
    .and_then(|next| de.end().map(|()| next));
    st.objects += objects;
    if let Some(e) = spool_error {
        return Err(PageError::Spool(e));
    }
    // serde quotes what it did not expect, which may be long.
    let next = parsed.map_err(|e| {
        PageError::Invalid(format!(
            "an invalid list: {}",
            super::api::one_line(&e.to_string(), 300)
        ))
    })?;
    Ok(Page { objects, next })
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Metadata,
    Items,
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(rename = "continue", default)]
    token: Option<String>,
}

/// A list body: `items` streamed into `each`, the rest skipped but
/// `metadata.continue`, which is returned (the server may put it last).
struct PageSeed<'a, F> {
    reads: &'a Projection,
    each: &'a mut F,
}

impl<'de, F: FnMut(Value) -> Result<(), ()>> DeserializeSeed<'de> for PageSeed<'_, F> {
    type Value = Option<String>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Value) -> Result<(), ()>> Visitor<'de> for PageSeed<'_, F> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut next = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Metadata => {
                    let meta: Option<ListMeta> = map.next_value()?;
                    next = meta.and_then(|m| m.token).filter(|t| !t.is_empty());
                }
                Field::Items => map.next_value_seed(Items {
                    reads: self.reads,
                    each: &mut *self.each,
                })?,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(next)
    }
}

struct Items<'a, F> {
    reads: &'a Projection,
    each: &'a mut F,
}

impl<'de, F: FnMut(Value) -> Result<(), ()>> DeserializeSeed<'de> for Items<'_, F> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, F: FnMut(Value) -> Result<(), ()>> Visitor<'de> for Items<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while let Some(item) = seq.next_element_seed(self.reads.seed())? {
            // Not a Kubernetes list: refused whole, rather than a number
            // counted as an object of the kind.
            if !item.is_object() {
                let what = match item {
                    Value::Null => "null",
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    Value::String(_) => "a string",
                    _ => "an array",
                };
                return Err(de::Error::custom(format_args!(
                    "items[{i}] is {what}, not an object"
                )));
            }
            (self.each)(item).map_err(|()| de::Error::custom("evaluation stopped"))?;
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ListOptions {
        ListOptions {
            namespace: None,
            selector: None,
            chunk_size: 500,
            concurrency: 8,
            timeout: None,
            exec_limit: Duration::from_secs(1),
            verbosity: 0,
        }
    }

    fn engine() -> Engine {
        let yaml = r#"
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: "", version: v1, kind: ConfigMap}
    metrics:
    - name: cm_info
      help: x
      each:
        type: Info
        info:
          labelsFromPath:
            name: [metadata, name]
            api: [apiVersion]
            kind: [kind]
"#;
        let cfg: crate::config::Metrics = serde_yaml::from_str(yaml).unwrap();
        Engine::compile(&cfg, "test").unwrap()
    }

    fn cm_gvr() -> Gvr {
        Gvr {
            group: String::new(),
            version: "v1".into(),
            plural: "configmaps".into(),
            kind: "ConfigMap".into(),
            namespaced: true,
        }
    }

    fn evaluate(engine: &Engine, body: &str) -> (Result<Page, PageError>, Progressing) {
        let mut st = Progressing {
            batches: vec![engine.batch(0, None, Vec::new())],
            errors: EvalErrors::new(0),
            objects: 0,
        };
        let reads = engine.projection(&[0]);
        let page = evaluate_page(engine, &reads, &cm_gvr(), body.as_bytes(), &mut st);
        (page, st)
    }

    #[test]
    fn pages_stream_items_and_find_the_token_wherever_it_is() {
        let engine = engine();
        // Core lists put metadata first and leave apiVersion/kind out of items.
        let body = r#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"abc"},
            "items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}"#;
        let (page, st) = evaluate(&engine, body);
        let page = page.ok().unwrap();
        assert_eq!((page.objects, page.next.as_deref()), (2, Some("abc")));
        assert_eq!(st.batches[0].objects, 2);
        let set = engine.assemble(st.batches);
        let mut seen = Vec::new();
        set.families[0]
            .for_each_sample(|_, s| {
                seen.push(format!(
                    "{} {} {}",
                    s.label("name").unwrap(),
                    s.label("api").unwrap(),
                    s.label("kind").unwrap()
                ));
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, ["a v1 ConfigMap", "b v1 ConfigMap"]);

        // Unstructured lists sort keys: metadata last; an empty token ends the list.
        let body = r#"{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}],
            "kind":"ConfigMapList","metadata":{"continue":""}}"#;
        let (page, _) = evaluate(&engine, body);
        let page = page.ok().unwrap();
        assert_eq!((page.objects, page.next), (1, None));
        let (page, _) = evaluate(&engine, r#"{"items":null,"metadata":{}}"#);
        assert_eq!(page.ok().unwrap().objects, 0);
    }

    #[test]
    fn tokens_are_peeked_without_reading_items() {
        let sorted = br#"{"apiVersion":"v1","items":[{"metadata":{"continue":"no"}}],"kind":"L","metadata":{"continue":"yes","resourceVersion":"1"}}
"#;
        assert_eq!(
            trailing_metadata(sorted).unwrap().token.as_deref(),
            Some("yes")
        );
        assert_eq!(peek_token(sorted).as_deref(), Some("yes"));
        // Metadata first (built-in lists): found by the scan, not at the end.
        let typed = br#"{"kind":"L","metadata":{"continue":"yes"},"items":[{"metadata":{"continue":"no"}}]}"#;
        assert!(trailing_metadata(typed).is_none());
        assert_eq!(peek_token(typed).as_deref(), Some("yes"));
        // The last page, an escaped look-alike key, and no list at all.
        assert_eq!(
            peek_token(br#"{"items":[],"metadata":{"continue":""}}"#),
            None
        );
        let lookalike = br#"{"items":[],"x\"metadata":{"continue":"no"}}"#;
        assert!(trailing_metadata(lookalike).is_none());
        assert_eq!(peek_token(lookalike), None);
        assert_eq!(peek_token(b"<html>"), None);
    }

    #[test]
    fn bodies_that_are_not_lists_are_rejected() {
        let engine = engine();
        for body in [
            "<html>",
            "[]",
            r#"{"items":{}}"#,
            r#"{"items":[]} x"#,
            r#"{"items":[{"metadata":{"name":"a"}},7]}"#,
            r#"{"items":[null]}"#,
        ] {
            match evaluate(&engine, body).0 {
                Err(PageError::Invalid(why)) => {
                    assert!(why.starts_with("an invalid list"), "{why}")
                }
                _ => panic!("{body} accepted"),
            }
        }
    }

    #[test]
    fn uris_carry_limit_selector_and_token() {
        let mut o = opts();
        assert_eq!(page_uri("/api/v1/pods", &o, None), "/api/v1/pods?limit=500");
        o.selector = Some("app in (a,b),tier!=db".into());
        o.chunk_size = 0;
        assert_eq!(
            page_uri("/api/v1/pods", &o, Some("eyJ2Ijoi+/=")),
            "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb&continue=eyJ2Ijoi%2B%2F%3D"
        );
        o.selector = None;
        assert_eq!(page_uri("/api/v1/pods", &o, None), "/api/v1/pods");
    }

    #[test]
    fn scopes_are_named() {
        let mut o = opts();
        assert_eq!(scope(&cm_gvr(), &o), "in all namespaces");
        o.namespace = Some("dev".into());
        assert_eq!(scope(&cm_gvr(), &o), "in namespace \"dev\"");
        let cluster_scoped = Gvr {
            namespaced: false,
            ..cm_gvr()
        };
        assert_eq!(scope(&cluster_scoped, &o), "(cluster-scoped)");
    }
}
