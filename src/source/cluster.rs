//! Objects from a live cluster. (Being written: see issue 3.)

use crate::cli::ClusterArgs;
use crate::engine::{Batch, Engine, EvalErrors};
use crate::error::Error;
use crate::ui::Ui;

/// What listing the cluster(s) gave.
#[derive(Debug, Default)]
pub struct Collected {
    pub batches: Vec<Batch>,
    /// Some resources could not be read.
    pub partial: bool,
}

pub fn collect(
    _engine: &Engine,
    _args: &ClusterArgs,
    _errors: &mut EvalErrors,
    _ui: &Ui,
) -> Result<Collected, Error> {
    Err(Error::failure(
        "reading from a cluster is not built yet; use --from-file",
    ))
}

/// The names of the clusters a run reads (kubeconfig context names), in order;
/// the `cluster` label value of each. (For `--delete`, which lists nothing.)
pub fn context_names(_args: &ClusterArgs) -> Result<Vec<String>, Error> {
    Err(Error::failure("reading from a cluster is not built yet"))
}
