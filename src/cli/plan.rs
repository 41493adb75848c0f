//! The flags resolved once into what each stage needs. Every flag is checked
//! here (clap checks the grammar, this the meaning); below this layer no
//! module knows clap exists: each stage gets options of its own.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::{Cli, Command, ConfigCommand, MonitoringCommand, RunArgs};
use crate::error::Error;
use crate::push::{PushOptions, RemoteWriteOptions};
use crate::render::{Format, TableOptions};
use crate::shared::names::is_dns_label;
use crate::source::cluster::ClusterOptions;
use crate::ui::Ui;

/// One invocation, decided.
pub enum Plan {
    /// `config default`.
    PrintDefaultConfig,
    /// `config validate FILE`.
    ValidateConfig { file: String, strict: bool },
    /// `monitoring …`.
    Monitoring(MonitoringPlan),
    /// `completion SHELL`.
    Completion(clap_complete::Shell),
    /// `__complete WORDS…`, kubectl's plugin completion protocol.
    Complete(Vec<String>),
    /// A snapshot: the run without a subcommand.
    Snapshot(Box<SnapshotPlan>),
}

/// `monitoring rules` or `monitoring dashboards`.
pub enum MonitoringPlan {
    /// The rule file; as a PrometheusRule with these labels when `Some`.
    Rules {
        prometheus_rule: Option<Vec<(String, String)>>,
    },
    /// The dashboards into `out`, as ConfigMaps (in `namespace`) or JSON.
    Dashboards {
        out: PathBuf,
        configmap: bool,
        namespace: Option<String>,
    },
}

/// A snapshot: where the config and objects come from, what is kept, and
/// where the result goes.
pub struct SnapshotPlan {
    pub ui: Ui,
    /// `--config`; the embedded TAP config when `None`.
    pub config: Option<String>,
    pub strict: bool,
    /// `--resource` and `--metric` globs.
    pub resources: Vec<String>,
    pub metrics: Vec<String>,
    pub source: Source,
    /// What stdout (or `output_file`) gets; `None` when pushing without `-o`.
    pub format: Option<Format>,
    /// `--output-file`: the output replaces this file instead of going to stdout.
    pub output_file: Option<PathBuf>,
    /// `--push-partial`: a partial snapshot is still pushed and written.
    pub partial_ok: bool,
    pub table: TableOptions,
    /// `--pushgateway`.
    pub push: Option<PushOptions>,
    /// `--remote-write`.
    pub remote_write: Option<RemoteWriteOptions>,
    /// `--delete`: remove the group(s) instead of listing anything.
    pub delete: bool,
}

/// Where the objects come from.
pub enum Source {
    /// `--from-file` paths (`-` is standard input), with `-n` applied.
    Files {
        paths: Vec<String>,
        namespace: Option<String>,
    },
    Cluster(Box<ClusterOptions>),
}

impl Plan {
    /// `-v`'s count, for how much of an error to show.
    pub fn verbosity(&self) -> u8 {
        match self {
            Plan::Snapshot(p) => p.ui.verbose,
            _ => 0,
        }
    }

    pub fn from_cli(cli: Cli) -> Result<Plan, Error> {
        Ok(match cli.command {
            Some(Command::Config(ConfigCommand::Default)) => Plan::PrintDefaultConfig,
            Some(Command::Config(ConfigCommand::Validate { file, strict })) => {
                Plan::ValidateConfig { file, strict }
            }
            Some(Command::Monitoring(cmd)) => Plan::Monitoring(monitoring(cmd)?),
            Some(Command::Completion { shell }) => Plan::Completion(shell),
            Some(Command::Complete { words }) => Plan::Complete(words),
            None => Plan::Snapshot(Box::new(snapshot(cli.run)?)),
        })
    }
}

fn monitoring(cmd: MonitoringCommand) -> Result<MonitoringPlan, Error> {
    Ok(match cmd {
        MonitoringCommand::Rules {
            prometheus_rule,
            labels,
        } => MonitoringPlan::Rules {
            prometheus_rule: if prometheus_rule {
                Some(
                    labels
                        .iter()
                        .map(|l| crate::monitoring::parse_label(l))
                        .collect::<Result<_, _>>()?,
                )
            } else {
                None
            },
        },
        MonitoringCommand::Dashboards {
            out,
            configmap,
            namespace,
        } => {
            if let Some(ns) = namespace.as_deref().filter(|ns| !is_dns_label(ns)) {
                return Err(Error::usage(format!(
                    "--namespace {ns:?}: not a namespace name (at most 63 lowercase letters, digits and '-')"
                )));
            }
            MonitoringPlan::Dashboards {
                out,
                configmap,
                namespace,
            }
        }
    })
}

fn snapshot(args: RunArgs) -> Result<SnapshotPlan, Error> {
    // Standard input can be read once: by the config or by one object input.
    let stdin_inputs = args.from_file.iter().filter(|p| *p == "-").count();
    if stdin_inputs > 1 {
        return Err(Error::usage(
            "--from-file -: standard input can be read only once",
        ));
    }
    if stdin_inputs == 1 && args.config.as_deref() == Some("-") {
        return Err(Error::usage(
            "--from-file - and --config - cannot both read standard input",
        ));
    }
    let cluster = args.cluster.options()?;
    let source = if args.from_file.is_empty() {
        Source::Cluster(Box::new(cluster))
    } else {
        if let Some(flag) = args.cluster.first_cluster_flag() {
            return Err(Error::usage(format!(
                "{flag} reads from a cluster and cannot be used with --from-file"
            )));
        }
        Source::Files {
            paths: args.from_file,
            namespace: cluster.namespace,
        }
    };
    let several_clusters = args.cluster.contexts.len() > 1 || args.cluster.all_contexts;
    let push = args
        .push
        .options(several_clusters, &args.cluster.cluster_label);
    let remote_write = args
        .remote_write
        .options(&args.push.job, args.push.push_partial);
    if args.push.push_partial
        && push.is_none()
        && remote_write.is_none()
        && args.output_file.is_none()
    {
        return Err(Error::usage(
            "--push-partial goes with --pushgateway, --remote-write or --output-file",
        ));
    }
    let sending = push.is_some() || remote_write.is_some();
    // --delete lists nothing: there is no snapshot for the other targets.
    if args.push.delete {
        let other = [
            ("--remote-write", remote_write.is_some()),
            ("--output-file", args.output_file.is_some()),
            ("--output", args.output.is_some()),
        ];
        if let Some((flag, _)) = other.iter().find(|(_, given)| *given) {
            return Err(Error::usage(format!(
                "--delete lists nothing, so it cannot be used with {flag}"
            )));
        }
    }
    let stdout_tty = std::io::stdout().is_terminal();
    let format = args.output.map(Format::from).or_else(|| {
        if args.output_file.is_some() {
            // What node_exporter's textfile collector reads.
            Some(Format::Prometheus)
        } else {
            (!sending).then_some(if stdout_tty {
                Format::Summary
            } else {
                Format::Openmetrics
            })
        }
    });
    Ok(SnapshotPlan {
        ui: Ui::new(args.quiet, args.verbose),
        config: args.config,
        strict: args.strict,
        resources: args.resources,
        metrics: args.metrics,
        source,
        format,
        table: TableOptions {
            wide: args.wide,
            fit_terminal: stdout_tty && args.output_file.is_none(),
            ..TableOptions::default()
        },
        push,
        remote_write,
        delete: args.push.delete,
        output_file: args.output_file,
        partial_ok: args.push.push_partial,
    })
}
