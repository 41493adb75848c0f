//! One invocation, start to end: config → source → engine → model → render or push.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use globset::{GlobSet, GlobSetBuilder};

use crate::cli::plan::{MonitoringPlan, Plan, SnapshotPlan, Source};
use crate::config::{self, Loaded};
use crate::engine::{Engine, EvalErrors};
use crate::error::{Error, ExitKind};
use crate::model::{MetricSet, Origin};
use crate::output::AtomicFile;
use crate::push::{Pusher, RemoteWriter};
use crate::render::{self, Format};
use crate::shared::io::io_reason;
use crate::shared::text::visible;
use crate::source::cluster::{self, ClusterOptions};
use crate::source::file;
use crate::ui::Ui;

/// How a run that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    /// Some resources could not be read; what could be read was produced.
    Partial,
}

pub fn run(plan: Plan) -> Result<Outcome, Error> {
    match plan {
        Plan::PrintDefaultConfig => {
            write_stdout(|out| out.write_all(config::TAP_DEFAULT_YAML.as_bytes()))?;
            Ok(Outcome::Complete)
        }
        Plan::ValidateConfig { file, strict } => validate(&file, strict),
        Plan::Monitoring(plan) => monitoring(plan),
        Plan::Completion(shell) => {
            write_stdout(|out| crate::complete::shell_script(shell, out))?;
            Ok(Outcome::Complete)
        }
        Plan::Complete(words) => {
            write_stdout(|out| crate::complete::complete(&words, out))?;
            Ok(Outcome::Complete)
        }
        Plan::Snapshot(plan) => snapshot(&plan),
    }
}

fn snapshot(plan: &SnapshotPlan) -> Result<Outcome, Error> {
    let ui = plan.ui;
    let loaded = match &plan.config {
        Some(path) => config::load_path(path)?,
        None => config::tap_default(),
    };
    check_unknown_keys(&loaded, plan.strict, &ui)?;
    let mut engine = Engine::compile(&loaded.config, &loaded.origin)?;
    apply_filters(&mut engine, &plan.resources, &plan.metrics)?;

    // Push flags and credential files are checked before the cluster is read.
    let pusher = plan.push.as_ref().map(Pusher::new).transpose()?;
    if let Some(pusher) = pusher.as_ref().filter(|_| plan.delete) {
        // Only several contexts make several groups; one needs no kubeconfig.
        let origin = match (&plan.source, pusher.per_cluster()) {
            (Source::Cluster(opts), true) => cluster::clusters(opts)?,
            _ => Origin::default(),
        };
        let summary = pusher.delete(&origin, &ui)?;
        ui.info(summary.to_string());
        return Ok(Outcome::Complete);
    }

    let writer = plan
        .remote_write
        .as_ref()
        .map(RemoteWriter::new)
        .transpose()?;
    // An output file that cannot be created fails before the cluster is read.
    let file = plan
        .output_file
        .as_deref()
        .map(AtomicFile::create)
        .transpose()?;
    let mut errors = EvalErrors::new(ui.verbose);
    if let (Source::Cluster(opts), None, None, Some(format)) =
        (&plan.source, &pusher, &writer, plan.format)
        && format.streams()
    {
        return match file {
            Some(file) => stream_cluster_to_file(&engine, opts, format, file, plan, &mut errors),
            None => stream_cluster(&engine, opts, format, &mut errors, &ui),
        };
    }

    let (set, origin) = match &plan.source {
        Source::Cluster(opts) => {
            let mut families = Vec::new();
            let collected = cluster::collect(&engine, opts, &mut errors, &ui, &mut |f| {
                families.push(f);
                Ok(())
            })?;
            let set = MetricSet {
                families,
                resources: collected.resources,
                names: engine.family_names(),
            };
            (set, collected.origin)
        }
        Source::Files { paths, namespace } => {
            let (batches, stats) =
                file::collect(&engine, paths, namespace.as_deref(), &mut errors)?;
            if !stats.unmatched.is_empty() {
                ui.detail(format!(
                    "{} of {} objects match no config resource:",
                    stats.unmatched.len(),
                    stats.objects
                ));
                for u in &stats.unmatched {
                    ui.detail(format!("  {u}"));
                }
            }
            (engine.assemble(batches), Origin::default())
        }
    };
    report_eval_errors(&errors, &ui);

    if let Some(pusher) = &pusher {
        let summary = pusher.push(&set, &origin, &ui)?;
        ui.info(summary.to_string());
    }
    if let Some(writer) = &writer {
        let summary = writer.write(&set, &origin, &ui)?;
        ui.info(summary.to_string());
    }
    match (plan.format, file) {
        (Some(format), Some(mut file)) => {
            render::render_unique(&set, format, &plan.table, file.writer())
                .map_err(|e| file_error(&file, &e))?;
            finish_file(file, &origin, plan.partial_ok, &ui)?;
        }
        (Some(format), None) => write_stdout(|out| render::render(&set, format, &plan.table, out))?,
        (None, _) => {}
    }
    Ok(outcome_of(&origin))
}

/// Puts a written output file in place (its series unique, as a collector
/// needs), unless the snapshot is partial: the
/// file's readers (a textfile collector) would lose the series of what could
/// not be read, so the previous file stays, as a push keeps its group.
fn finish_file(file: AtomicFile, origin: &Origin, partial_ok: bool, ui: &Ui) -> Result<(), Error> {
    if !origin.incomplete.is_empty() && !partial_ok {
        ui.warn(format!(
            "some resources could not be read, so {} is left as it is (--push-partial writes what was read)",
            file.path().display()
        ));
        return Ok(());
    }
    file.commit()
}

fn file_error(file: &AtomicFile, e: &std::io::Error) -> Error {
    Error::failure(format!(
        "cannot write {}: {}",
        file.path().display(),
        io_reason(e)
    ))
}

/// [`stream_cluster`] into an output file, which is put in place only when
/// the listing ends (see [`finish_file`]).
fn stream_cluster_to_file(
    engine: &Engine,
    opts: &ClusterOptions,
    format: Format,
    mut file: AtomicFile,
    plan: &SnapshotPlan,
    errors: &mut EvalErrors,
) -> Result<Outcome, Error> {
    let names = engine.family_names();
    let path = file.path().to_path_buf();
    let failed = |e: std::io::Error| {
        Error::failure(format!(
            "cannot write {}: {}",
            path.display(),
            io_reason(&e)
        ))
    };
    let mut stream = render::Stream::new(format, &names, file.writer())
        .expect("only streamable formats come here")
        .unique();
    let collected = cluster::collect(engine, opts, errors, &plan.ui, &mut |fam| {
        stream.family(&fam).map_err(failed)
    })?;
    stream.finish().map_err(failed)?;
    report_eval_errors(errors, &plan.ui);
    finish_file(file, &collected.origin, plan.partial_ok, &plan.ui)?;
    Ok(outcome_of(&collected.origin))
}

fn outcome_of(origin: &Origin) -> Outcome {
    if origin.incomplete.is_empty() {
        Outcome::Complete
    } else {
        Outcome::Partial
    }
}

/// Lists the cluster(s) and writes each family as soon as it is complete,
/// while later lists still run. Nothing is written before the first family,
/// so a run that fails before then prints nothing; a closed pipe (`| head`)
/// ends the output quietly.
fn stream_cluster(
    engine: &Engine,
    opts: &ClusterOptions,
    format: Format,
    errors: &mut EvalErrors,
    ui: &Ui,
) -> Result<Outcome, Error> {
    check_stdout_open()?;
    let names = engine.family_names();
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let mut stream =
        render::Stream::new(format, &names, &mut lock).expect("only streamable formats come here");
    let mut closed = false;
    let collected = cluster::collect(engine, opts, errors, ui, &mut |fam| {
        if !closed {
            closed = pipe_closed(stream.family(&fam))?;
        }
        Ok(())
    })?;
    if !closed {
        pipe_closed(stream.finish())?;
    }
    report_eval_errors(errors, ui);
    Ok(outcome_of(&collected.origin))
}

/// Whether a write found the reader gone, which ends the output quietly;
/// other write failures are errors.
fn pipe_closed(written: std::io::Result<()>) -> Result<bool, Error> {
    match written {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
        Err(e) => Err(write_error(e)),
    }
}

fn write_error(e: std::io::Error) -> Error {
    Error::failure(format!("cannot write output: {}", io_reason(&e)))
}

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Records that the process started with stdout closed (`>&-`); called by
/// the binary before Rust's start-up hides it behind /dev/null.
pub fn note_stdout_closed() {
    STDOUT_CLOSED.store(true, Ordering::Relaxed);
}

/// Output would be lost: refuse before writing anything.
fn check_stdout_open() -> Result<(), Error> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Err(Error::failure(
            "cannot write output: standard output is closed",
        ));
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
fn write_stdout(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), Error> {
    check_stdout_open()?;
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    pipe_closed(f(&mut lock).and_then(|_| lock.flush())).map(|_| ())
}

fn check_unknown_keys(loaded: &Loaded, strict: bool, ui: &Ui) -> Result<(), Error> {
    if loaded.unknown_keys.is_empty() {
        return Ok(());
    }
    if strict {
        let all: Vec<String> = loaded.unknown_keys.iter().map(|u| u.to_string()).collect();
        return Err(Error::new(
            ExitKind::Config,
            format!("config {}: {} (--strict)", loaded.origin, all.join("; ")),
        ));
    }
    for u in &loaded.unknown_keys {
        ui.warn(format!(
            "config {}: {u}; kube-state-metrics ignores it",
            loaded.origin
        ));
    }
    Ok(())
}

fn validate(path: &str, strict: bool) -> Result<Outcome, Error> {
    let ui = Ui::new(false, 0);
    let loaded = config::load_path(path)?;
    check_unknown_keys(&loaded, strict, &ui)?;
    let engine = Engine::compile(&loaded.config, &loaded.origin)?;
    let metrics: usize = engine.resources().iter().map(|r| r.families.len()).sum();
    write_stdout(|out| {
        // The path and the kinds come from the user: shown, never obeyed.
        writeln!(out, "config {}: {}", visible(&loaded.origin), loaded.form)?;
        writeln!(
            out,
            "{} resources, {} metrics",
            engine.resources().len(),
            metrics
        )?;
        for r in engine.resources() {
            writeln!(out, "  {}", visible(&r.gvk.to_string()))?;
            for f in &r.families {
                writeln!(out, "    {} ({})", f.name, f.metric_type.as_str())?;
            }
        }
        if !loaded.unknown_keys.is_empty() {
            writeln!(
                out,
                "{} unknown keys (see warnings)",
                loaded.unknown_keys.len()
            )?;
        }
        writeln!(out, "valid")
    })?;
    Ok(Outcome::Complete)
}

fn glob_set(patterns: &[String], flag: &str) -> Result<GlobSet, Error> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let g = globset::GlobBuilder::new(p)
            .case_insensitive(true)
            .literal_separator(false)
            .build()
            .map_err(|e| Error::usage(format!("{flag} {p:?}: {e}")))?;
        b.add(g);
    }
    b.build().map_err(|e| Error::usage(format!("{flag}: {e}")))
}

/// Narrows the engine to `--resource` and `--metric`.
fn apply_filters(
    engine: &mut Engine,
    resources: &[String],
    metrics: &[String],
) -> Result<(), Error> {
    if resources.is_empty() && metrics.is_empty() {
        return Ok(());
    }
    let res_globs = glob_set(resources, "--resource")?;
    let metric_globs = glob_set(metrics, "--metric")?;
    engine.retain(
        |r| {
            if resources.is_empty() {
                return true;
            }
            r.names().iter().any(|c| res_globs.is_match(c))
        },
        |f| metrics.is_empty() || metric_globs.is_match(&f.name),
    );
    if engine.resources().is_empty() {
        let mut given: Vec<String> = resources
            .iter()
            .map(|r| format!("--resource {r}"))
            .collect();
        given.extend(metrics.iter().map(|m| format!("--metric {m}")));
        return Err(Error::usage(format!(
            "{} matched nothing in the config (see `kubectl tap-metrics config validate FILE` for its resources and metrics)",
            given.join(" ")
        )));
    }
    Ok(())
}

fn report_eval_errors(errors: &EvalErrors, ui: &Ui) {
    if errors.total == 0 {
        return;
    }
    for m in &errors.messages {
        ui.detail(format!("error: {m}"));
    }
    if errors.messages_dropped > 0 {
        ui.detail(format!(
            "… {} more errors not shown",
            errors.messages_dropped
        ));
    }
    let per: Vec<String> = errors
        .by_metric
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let hint = if errors.messages.is_empty() {
        "; run with -v to see each"
    } else {
        ""
    };
    ui.warn(format!(
        "{} evaluation errors, samples skipped as kube-state-metrics would ({}){hint}",
        errors.total,
        per.join(", ")
    ));
}

/// `monitoring rules` prints the rule file; `monitoring dashboards` writes the dashboards.
fn monitoring(plan: MonitoringPlan) -> Result<Outcome, Error> {
    use crate::monitoring as m;
    match plan {
        MonitoringPlan::Rules { prometheus_rule } => {
            let text = match prometheus_rule {
                Some(labels) => m::prometheus_rule(&labels),
                None => m::RULES_YAML.to_string(),
            };
            write_stdout(|out| out.write_all(text.as_bytes()))?;
        }
        MonitoringPlan::Dashboards {
            out,
            configmap,
            namespace,
        } => {
            let files = m::dashboard_files(configmap, namespace.as_deref());
            crate::output::write_files(&out, &files)?;
            Ui::new(false, 0).info(format!(
                "wrote {} dashboard {} to {}",
                files.len(),
                if configmap { "ConfigMaps" } else { "files" },
                out.display()
            ));
        }
    }
    Ok(Outcome::Complete)
}
