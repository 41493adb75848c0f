//! Command-line interface: kubectl-style flags, parsed by clap.

pub mod cluster;
pub mod plan;
pub mod push;
pub mod remote_write;

use clap::{Args, Parser, Subcommand};

pub use cluster::ClusterArgs;
pub use push::PushArgs;
pub use remote_write::RemoteWriteArgs;

use clap::ValueEnum;

use crate::render::Format;

const ABOUT: &str = "kube-state-metrics custom-resource-state metrics for Tanzu Application Platform, \
from the command line.";

const LONG_ABOUT: &str = "\
kube-state-metrics custom-resource-state metrics for Tanzu Application Platform, from the command line.

Lists the configured custom resources once from the current cluster (or reads
`kubectl get -o json|yaml` output with --from-file), maps their fields to metrics
with the same semantics as kube-state-metrics' CustomResourceStateMetrics config,
and prints them as OpenMetrics, Prometheus text, JSON, a table or a one-screen
summary; or sends them to a Prometheus Pushgateway, with remote write (Mimir,
Thanos, Cortex, Grafana Cloud), or to a file for node_exporter's textfile
collector. Without --config, the embedded TAP config is used (see
`kubectl tap-metrics config default`).";

const AFTER_HELP: &str = "\
Examples:
  # One screen on the current cluster: ready / not ready per kind, what needs attention
  kubectl tap-metrics

  # Every object, one row each
  kubectl tap-metrics -o table

  # OpenMetrics for objects you already have, no cluster needed
  kubectl get workloads.carto.run,builds.kpack.io -A -o json | kubectl tap-metrics --from-file -

  # Only workloads' metrics, with your own KSM config
  kubectl tap-metrics --config values.yaml --resource workloads.carto.run -o prometheus

  # From a cron job: replace the Pushgateway group with a fresh snapshot
  kubectl tap-metrics --pushgateway http://pushgateway:9091 --job tap-metrics

  # Remote write to Mimir, one tenant; or a file for node_exporter
  kubectl tap-metrics --remote-write http://mimir:9009/api/v1/push --remote-write-header X-Scope-OrgID=platform
  kubectl tap-metrics --output-file /var/lib/prometheus/node-exporter/tap-metrics.prom

Exit codes:
  0  success
  1  failure: cluster unreachable, nothing could be read, push failed, output not writable
  2  bad flags or arguments
  3  the config cannot be read or is invalid
  4  an input file cannot be read or holds no Kubernetes objects
  5  partial result: some resources could not be read (e.g. forbidden); the rest was produced";

/// `kubectl tap-metrics`.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-tap_metrics",
    bin_name = "kubectl tap-metrics",
    display_name = "kubectl tap-metrics",
    version = crate::VERSION,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    max_term_width = 100,
    // What --job names: a Pushgateway group or the remote-written series.
    group = clap::ArgGroup::new("target").multiple(true).args(["pushgateway", "remote_write"])
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print or check KSM configs.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Grafana dashboards and Prometheus alerts for these metrics.
    #[command(subcommand)]
    Monitoring(MonitoringCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// kubectl's plugin completion protocol (kubectl 1.26+), used by
    /// `kubectl_complete-tap_metrics`: prints candidates, then `:<directive>`.
    #[command(name = "__complete", hide = true, disable_help_flag = true)]
    Complete {
        /// The words typed after `kubectl tap-metrics`, the last one being completed.
        #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
        words: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the embedded TAP config, a starting point for your own.
    Default,
    /// Check a config file (`-` for standard input) and report what it defines.
    Validate {
        /// The config: a CustomResourceStateMetrics document or Helm values.
        #[arg(value_name = "FILE")]
        file: String,
        /// Treat unknown keys as errors.
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MonitoringCommand {
    /// Print the Prometheus recording rules and alerts.
    #[command(after_help = "\
Examples:
  kubectl tap-metrics monitoring rules > tap-metrics.rules.yaml
  # kube-prometheus-stack selects rules labelled release=<helm release name>
  kubectl tap-metrics monitoring rules --prometheus-rule --label release=kube-prometheus-stack \\
    | kubectl apply -n monitoring -f -")]
    Rules {
        /// Print them as a PrometheusRule (monitoring.coreos.com/v1) for the Prometheus Operator.
        #[arg(long)]
        prometheus_rule: bool,
        /// A label of the PrometheusRule, e.g. release=kube-prometheus-stack. Repeatable.
        #[arg(long = "label", value_name = "KEY=VALUE", requires = "prometheus_rule")]
        labels: Vec<String>,
    },
    /// Write the Grafana dashboards into a directory, one file each.
    #[command(after_help = "\
Examples:
  kubectl tap-metrics monitoring dashboards --out dashboards/
  # ConfigMaps that kube-prometheus-stack's Grafana sidecar loads
  kubectl tap-metrics monitoring dashboards --out dashboards/ --configmap --namespace monitoring
  kubectl apply -f dashboards/")]
    Dashboards {
        /// The directory (created if missing); files of the same name are replaced.
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
        /// Write ConfigMaps labelled grafana_dashboard: "1" instead of JSON.
        #[arg(long)]
        configmap: bool,
        /// The ConfigMaps' namespace (Grafana's, for the sidecar's default search).
        #[arg(long, value_name = "NS", requires = "configmap")]
        namespace: Option<String>,
    },
}

/// Flags of a snapshot run.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Read objects from a file instead of the cluster: `kubectl get -o json|yaml`
    /// output, one object or a YAML stream; `-` is standard input. Repeatable.
    #[arg(short = 'f', long = "from-file", value_name = "PATH")]
    pub from_file: Vec<String>,

    /// A KSM custom-resource-state config: a CustomResourceStateMetrics document
    /// or Helm values holding one (`-` for standard input). Default: the embedded TAP config.
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<String>,

    /// Fail on config keys that kube-state-metrics would ignore, instead of warning.
    #[arg(long)]
    pub strict: bool,

    /// Output format. Default: summary on a terminal, openmetrics otherwise.
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    /// Write the output to this file instead of stdout, replacing it atomically
    /// (for node_exporter's textfile collector: name it *.prom). Default format:
    /// prometheus. A run that fails or is partial leaves the file as it was.
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<std::path::PathBuf>,

    /// With -o table: every condition, full messages and one table per metric.
    #[arg(long)]
    pub wide: bool,

    /// Only these resources: kind, plural or plural.group (e.g. workloads.carto.run); globs allowed. Repeatable.
    #[arg(long = "resource", value_name = "NAME")]
    pub resources: Vec<String>,

    /// Only these metrics, by full name; globs allowed (e.g. 'kpack_*'). Repeatable.
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,

    /// Show each problem, not only counts (-v); repeat for more (a metric's
    /// errorLogV sets the level its errors need).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print nothing on stderr but errors.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub push: PushArgs,

    #[command(flatten)]
    pub remote_write: RemoteWriteArgs,
}

/// The `-o/--output` values; each names one [`Format`] of the renderers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// OpenMetrics 1.0 text, ending in `# EOF`.
    Openmetrics,
    /// Prometheus text format 0.0.4 (info and stateset written as gauge).
    Prometheus,
    /// A table per resource kind, for people.
    Table,
    /// One screen: ready / not ready per kind, what needs attention, buildpacks, CVEs.
    Summary,
    /// prom2json's shape: `[{name, help, type, metrics: [{labels, value}]}]`.
    Json,
}

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Format {
        match f {
            OutputFormat::Openmetrics => Format::Openmetrics,
            OutputFormat::Prometheus => Format::Prometheus,
            OutputFormat::Table => Format::Table,
            OutputFormat::Summary => Format::Summary,
            OutputFormat::Json => Format::Json,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
