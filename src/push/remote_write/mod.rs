//! Prometheus remote write 1.0: the snapshot as protobuf `WriteRequest`s,
//! snappy block-compressed, POSTed in requests of bounded size to Mimir,
//! Thanos Receive, Cortex, VictoriaMetrics, Grafana Cloud or a Prometheus
//! with `--web.enable-remote-write-receiver`.
//!
//! The series are what `-o prometheus` prints (info and stateset as gauges),
//! plus `job` and, with several contexts, the cluster label, every sample
//! stamped with the snapshot's time. Duplicate series are dropped as for a
//! push. Every request is built before the first is sent, so a snapshot that
//! cannot be written sends nothing.

mod proto;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prost::Message;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};

use super::transport::{ClientOptions, Transport, chain, condense};
use crate::error::{Error, ExitKind};
use crate::model::{MetricSet, Origin, Part};
use crate::render::SeenSeries;
use crate::shared::retry::{Step, doubling, retry, retry_after};
use crate::shared::text::one_line;
use crate::ui::Ui;

/// Series per request: Prometheus' own `max_samples_per_send` default, which
/// every receiver accepts.
const SERIES_PER_REQUEST: usize = 2000;
/// Attempts per request, the first one included.
const ATTEMPTS: u32 = 5;
/// Wait before the first retry; doubles for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between attempts, whatever Retry-After asks for.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// The most of a receiver's answer read, and the most of it quoted.
const MAX_ANSWER: usize = 64 * 1024;
const MAX_MESSAGE: usize = 600;

/// The start of an answer's body: a receiver's error is one sentence, and an
/// endless or huge body must not fill memory or the terminal.
async fn read_some(mut resp: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ANSWER {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_ANSWER);
    String::from_utf8_lossy(&body).into_owned()
}

/// Where and how to write, as the CLI layer resolved it.
#[derive(Debug, Clone, Default)]
pub struct RemoteWriteOptions {
    /// The receiver's URL, as given (e.g. `http://mimir:9009/api/v1/push`).
    pub url: String,
    /// The `job` label every series gets.
    pub job: String,
    /// `NAME=VALUE` headers sent with every request, as given (e.g. a tenant).
    pub headers: Vec<String>,
    /// Write clusters of which some resources could not be read.
    pub push_partial: bool,
    pub client: ClientOptions,
}

/// A checked receiver: URL, headers, credentials and TLS material read.
pub struct RemoteWriter<'a> {
    opts: &'a RemoteWriteOptions,
    url: Url,
    /// The URL as messages show it: without its query, which may hold a key.
    shown: String,
    headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    transport: Transport,
}

/// The requests of one write, encoded and compressed.
#[derive(Debug, Default)]
struct Requests {
    bodies: Vec<Vec<u8>>,
    series: u64,
    duplicates: u64,
    /// Compressed bytes, all requests.
    bytes: usize,
}

/// What a write did, for the one-line summary on stderr.
#[derive(Debug)]
pub struct WriteSummary {
    url: String,
    series: u64,
    requests: usize,
    bytes: usize,
    duplicates: u64,
    elapsed: Duration,
}

impl std::fmt::Display for WriteSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wrote {} series ({} sample{}) in {} {} ({} snappy) to {} in {:.2}s",
            self.series,
            self.series,
            if self.series == 1 { "" } else { "s" },
            self.requests,
            if self.requests == 1 {
                "request"
            } else {
                "requests"
            },
            super::human_bytes(self.bytes),
            self.url,
            self.elapsed.as_secs_f64()
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

/// Headers the protocol sets; a `--remote-write-header` may not replace them.
const PROTOCOL_HEADERS: [&str; 5] = [
    "content-type",
    "content-encoding",
    "content-length",
    "x-prometheus-remote-write-version",
    "user-agent",
];

impl<'a> RemoteWriter<'a> {
    /// Checks the options and reads the credential files; sends nothing.
    pub fn new(opts: &'a RemoteWriteOptions) -> Result<RemoteWriter<'a>, Error> {
        let shown = crate::shared::text::redact_userinfo(&opts.url);
        let bad = |why: String| Error::usage(format!("--remote-write {shown:?}: {why}"));
        let like = "expected a URL like http://mimir:9009/api/v1/push";
        if !opts.url.contains("://") {
            return Err(bad(like.into()));
        }
        let url = Url::parse(&opts.url).map_err(|e| bad(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(bad(format!("{like} (http or https)")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(format!(
                "credentials do not belong in the URL; use --remote-write-user with --remote-write-password-file or ${}",
                super::REMOTE_WRITE_PASSWORD_ENV
            )));
        }
        if opts.job.is_empty() {
            return Err(Error::usage("--job: the job name must not be empty"));
        }
        let mut headers = Vec::new();
        for h in &opts.headers {
            // A header's value may be a credential: messages name the header only.
            let (name, value) = h.split_once('=').ok_or_else(|| {
                Error::usage("--remote-write-header: expected NAME=VALUE (the value is not shown)")
            })?;
            let bad = |why: &str| Error::usage(format!("--remote-write-header {name:?}: {why}"));
            let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| bad("not a header name"))?;
            if PROTOCOL_HEADERS.contains(&name.as_str()) || name == reqwest::header::AUTHORIZATION {
                return Err(bad(
                    "the protocol or the auth flags set this header; it cannot be replaced",
                ));
            }
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| bad("the value holds characters an HTTP header cannot carry"))?;
            headers.push((name, value));
        }
        let transport = Transport::new(&opts.client, &url)?;
        let mut shown = url.clone();
        shown.set_query(None);
        Ok(RemoteWriter {
            opts,
            shown: shown.to_string(),
            url,
            headers,
            transport,
        })
    }

    /// Writes `set`: every cluster of `origin` read in full (and, with
    /// `--push-partial`, those read in part). Fails (partial) when that
    /// leaves nothing.
    pub fn write(&self, set: &MetricSet, origin: &Origin, ui: &Ui) -> Result<WriteSummary, Error> {
        let started = Instant::now();
        let keep = self.clusters_to_write(origin, ui)?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let requests = encode(set, &self.opts.job, now_ms, |p| keep(p), SERIES_PER_REQUEST)
            .map_err(|e| {
                Error::failure(format!(
                    "cannot write to {}: {e}; nothing was sent",
                    self.shown
                ))
                .caused_by(e)
            })?;
        let total = requests.bodies.len();
        for (i, body) in requests.bodies.iter().enumerate() {
            let what = if total == 1 {
                "remote write".to_string()
            } else {
                format!("remote write {} of {total}", i + 1)
            };
            super::block_on(self.send(body, &what, ui))?.map_err(|e| {
                let sent = if i == 0 {
                    "nothing was written".to_string()
                } else {
                    format!("{i} of {total} requests were written")
                };
                Error::failure(format!("{e}; {sent}"))
            })?;
        }
        Ok(WriteSummary {
            url: self.shown.clone(),
            series: requests.series,
            requests: total,
            bytes: requests.bytes,
            duplicates: requests.duplicates,
            elapsed: started.elapsed(),
        })
    }

    /// Sends one request. Retried as the protocol says: connection failures,
    /// timeouts, 5xx and 429 (after its Retry-After, at most [`MAX_WAIT`]),
    /// with backoff, [`ATTEMPTS`] in all; a request that arrived twice does no
    /// harm, since a receiver drops a sample it already has. Other answers are
    /// final and quoted.
    async fn send(&self, body: &[u8], what: &str, ui: &Ui) -> Result<(), String> {
        retry(|attempt| async move {
            let mut req = self
                .transport
                .request(Method::POST, &self.url)
                .header(CONTENT_TYPE, "application/x-protobuf")
                .header(CONTENT_ENCODING, "snappy")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0");
            for (name, value) in &self.headers {
                req = req.header(name, value);
            }
            let (failure, wait) = match req.body(body.to_vec()).send().await {
                Ok(resp) if resp.status().is_success() => return Step::Done(()),
                Ok(resp) => {
                    let status = resp.status();
                    let asked = resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| retry_after(v.to_str().ok()?));
                    let text = read_some(resp).await;
                    let mut msg = format!("{} refused the {what}: {status}", self.shown);
                    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    let quoted = one_line(&condense(&words), MAX_MESSAGE);
                    if !quoted.is_empty() {
                        msg.push_str(": ");
                        msg.push_str(&quoted);
                    }
                    if matches!(status.as_u16(), 401 | 403) {
                        msg.push_str(" (check --remote-write-user and its password, or --remote-write-bearer-token-file)");
                    }
                    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                        return Step::GiveUp(msg);
                    }
                    (msg, asked)
                }
                Err(e) => (
                    format!("cannot reach {} for the {what}: {}", self.shown, chain(&e)),
                    None,
                ),
            };
            if attempt == ATTEMPTS {
                return Step::GiveUp(format!("{failure}; gave up after {ATTEMPTS} attempts"));
            }
            let wait = wait
                .unwrap_or_else(|| doubling(FIRST_BACKOFF, attempt))
                .min(MAX_WAIT);
            ui.warn(format!(
                "{failure} (attempt {attempt} of {ATTEMPTS}); retrying in {}ms",
                wait.as_millis()
            ));
            Step::RetryAfter(wait)
        })
        .await
    }

    /// Which parts of the snapshot are written: the partial-listing rule of
    /// the push path. Without a cluster label the snapshot is one whole.
    fn clusters_to_write(
        &self,
        origin: &Origin,
        ui: &Ui,
    ) -> Result<impl Fn(&Part) -> bool + use<>, Error> {
        let partial_ok = self.opts.push_partial;
        let held: Vec<String> = origin
            .incomplete
            .iter()
            .filter(|i| i.held(partial_ok))
            .map(|i| i.cluster.clone())
            .collect();
        let whole = origin.cluster_label.is_none();
        if whole && !origin.incomplete.is_empty() {
            if !held.is_empty() {
                return Err(Error::new(
                    ExitKind::Partial,
                    format!(
                        "some resources could not be read, so nothing was written to {}; fix the access{}",
                        self.shown,
                        if partial_ok {
                            ""
                        } else {
                            " or pass --push-partial"
                        }
                    ),
                ));
            }
            ui.warn("some resources could not be read; writing the rest (--push-partial)");
        }
        if !whole {
            for i in &origin.incomplete {
                ui.warn(if held.contains(&i.cluster) {
                    format!(
                        "context {:?}: some resources could not be read, so its series are not written{}",
                        i.cluster,
                        if i.nothing_read { "" } else { " (--push-partial writes the rest)" }
                    )
                } else {
                    format!(
                        "context {:?}: some resources could not be read; writing the rest (--push-partial)",
                        i.cluster
                    )
                });
            }
            if !origin.clusters.is_empty() && origin.clusters.iter().all(|c| held.contains(c)) {
                return Err(Error::new(
                    ExitKind::Partial,
                    format!(
                        "no cluster could be read in full, so nothing was written to {}",
                        self.url
                    ),
                ));
            }
        }
        Ok(move |p: &Part| p.cluster.as_ref().is_none_or(|c| !held.contains(c)))
    }
}

/// Why the requests could not be built.
#[derive(Debug, thiserror::Error)]
enum EncodeError {
    #[error(
        "{family} has samples with the label \"job\", which remote write sets to {job:?}; rename the label in the config"
    )]
    JobLabel { family: String, job: String },
    #[error("cannot read the snapshot's samples: {0}")]
    Read(#[source] std::io::Error),
    #[error("cannot compress a request: {0}")]
    Compress(#[source] snap::Error),
}

/// Encodes and compresses `batch` into one more request, and empties it.
fn flush(batch: &mut proto::WriteRequest, out: &mut Requests) -> Result<(), EncodeError> {
    if batch.timeseries.is_empty() {
        return Ok(());
    }
    let raw = batch.encode_to_vec();
    let body = snap::raw::Encoder::new()
        .compress_vec(&raw)
        .map_err(EncodeError::Compress)?;
    out.bytes += body.len();
    out.bodies.push(body);
    batch.timeseries.clear();
    Ok(())
}

/// The snapshot's series (the parts `keep` accepts) as remote-write
/// requests of at most `per_request` series each, every sample at `time_ms`.
fn encode(
    set: &MetricSet,
    job: &str,
    time_ms: i64,
    keep: impl Fn(&Part) -> bool,
    per_request: usize,
) -> Result<Requests, EncodeError> {
    let mut out = Requests::default();
    let mut batch = proto::WriteRequest::default();
    for fam in &set.families {
        let mut seen = SeenSeries::default();
        let mut refused = None;
        fam.for_each_sample(|part, s| {
            if !keep(part) {
                return Ok(());
            }
            if s.label("job").is_some() {
                refused = Some(EncodeError::JobLabel {
                    family: fam.name.clone(),
                    job: job.to_string(),
                });
                return Err(std::io::Error::other("refused"));
            }
            if !seen.insert(s.labels) {
                out.duplicates += 1;
                return Ok(());
            }
            let mut labels: Vec<proto::Label> = s
                .labels
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| proto::Label {
                    name: k.to_string(),
                    value: v.to_string(),
                })
                .collect();
            labels.push(proto::Label {
                name: "__name__".into(),
                value: fam.name.clone(),
            });
            labels.push(proto::Label {
                name: "job".into(),
                value: job.into(),
            });
            labels.sort();
            batch.timeseries.push(proto::TimeSeries {
                labels,
                samples: vec![proto::Sample {
                    value: s.value,
                    timestamp: time_ms,
                }],
            });
            out.series += 1;
            if batch.timeseries.len() >= per_request {
                flush(&mut batch, &mut out).map_err(std::io::Error::other)?;
            }
            Ok(())
        })
        .map_err(|e| refused.take().unwrap_or(EncodeError::Read(e)))?;
    }
    flush(&mut batch, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, MetricType, Spool};
    use std::sync::Arc;

    fn set(samples: &[(&[(&str, &str)], f64)], cluster: Option<&str>) -> MetricSet {
        let mut spool = Spool::default();
        for (labels, v) in samples {
            spool.append(labels, *v);
        }
        MetricSet {
            families: vec![Family {
                name: "cartographer_workload_status".into(),
                help: "h".into(),
                metric_type: MetricType::Gauge,
                parts: vec![Part {
                    resource: 0,
                    cluster: cluster.map(str::to_string),
                    extra_labels: cluster
                        .map(|c| ("cluster".to_string(), c.to_string()))
                        .into_iter()
                        .collect(),
                    samples: Arc::new(spool),
                }],
            }],
            resources: vec![],
            names: Default::default(),
        }
    }

    fn decode(body: &[u8]) -> proto::WriteRequest {
        let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
        proto::WriteRequest::decode(raw.as_slice()).unwrap()
    }

    fn names(ts: &proto::TimeSeries) -> Vec<(&str, &str)> {
        ts.labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect()
    }

    #[test]
    fn series_carry_name_job_and_sorted_non_empty_labels() {
        let s = set(
            &[
                (&[("name", "api"), ("reason", ""), ("Zone", "z")], 1.0),
                (&[("name", "web")], f64::NAN),
            ],
            Some("east"),
        );
        let r = encode(&s, "tap-metrics", 1_700_000_000_000, |_| true, 10).unwrap();
        assert_eq!((r.series, r.duplicates, r.bodies.len()), (2, 0, 1));
        let req = decode(&r.bodies[0]);
        assert_eq!(
            names(&req.timeseries[0]),
            [
                ("Zone", "z"),
                ("__name__", "cartographer_workload_status"),
                ("cluster", "east"),
                ("job", "tap-metrics"),
                ("name", "api"),
            ]
        );
        assert_eq!(req.timeseries[0].samples[0].value, 1.0);
        assert_eq!(req.timeseries[0].samples[0].timestamp, 1_700_000_000_000);
        assert!(req.timeseries[1].samples[0].value.is_nan());
    }

    #[test]
    fn requests_are_bounded_and_duplicates_dropped() {
        let samples: Vec<(Vec<(&str, String)>, f64)> = (0..5)
            .map(|i| (vec![("name", format!("w{}", i % 4))], 1.0))
            .collect();
        let mut spool = Spool::default();
        for (labels, v) in &samples {
            spool.append(labels, *v);
        }
        let mut s = set(&[], None);
        s.families[0].parts[0].samples = Arc::new(spool);
        let r = encode(&s, "j", 0, |_| true, 2).unwrap();
        assert_eq!((r.series, r.duplicates), (4, 1));
        let sizes: Vec<usize> = r
            .bodies
            .iter()
            .map(|b| decode(b).timeseries.len())
            .collect();
        assert_eq!(sizes, [2, 2]);
        assert_eq!(r.bytes, r.bodies.iter().map(Vec::len).sum::<usize>());
    }

    #[test]
    fn a_job_label_in_the_samples_is_refused_and_kept_parts_only_are_sent() {
        let s = set(&[(&[("job", "x")], 1.0)], None);
        let e = encode(&s, "tap-metrics", 0, |_| true, 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("the label \"job\""), "{e}");
        let s = set(&[(&[("name", "a")], 1.0)], Some("west"));
        let r = encode(&s, "j", 0, |p| p.cluster.as_deref() != Some("west"), 10).unwrap();
        assert_eq!((r.series, r.bodies.len()), (0, 0));
    }
}
