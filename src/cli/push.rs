//! Flags for pushing the snapshot to a Prometheus Pushgateway.

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PushMode {
    /// PUT: replace the whole group (snapshot semantics).
    #[default]
    Put,
    /// POST: replace only the pushed metric families of the group.
    Add,
}

/// Where and how to push.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Pushgateway")]
pub struct PushArgs {
    /// Push the snapshot to this Pushgateway (e.g. http://pushgateway:9091) instead of printing it.
    #[arg(long, value_name = "URL")]
    pub pushgateway: Option<String>,

    /// The job name of the pushed group.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "tap-metrics",
        requires = "pushgateway"
    )]
    pub job: String,

    /// A grouping key label of the pushed group; repeatable.
    #[arg(
        long = "grouping-key",
        value_name = "KEY=VALUE",
        requires = "pushgateway"
    )]
    pub grouping_key: Vec<String>,

    /// put replaces the whole group; add (POST) replaces only the pushed families.
    #[arg(long, value_enum, default_value_t = PushMode::Put, requires = "pushgateway")]
    pub push_mode: PushMode,

    /// Delete the group from the Pushgateway instead of pushing.
    #[arg(long, requires = "pushgateway")]
    pub delete: bool,

    /// Push even when some resources could not be read (a PUT then drops their series).
    #[arg(long, requires = "pushgateway")]
    pub push_partial: bool,
}
