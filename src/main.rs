//! `kubectl-tap_metrics`: parse, run, map the result to a documented exit code.

use clap::Parser;

use tap_metrics::cli::Cli;
use tap_metrics::run::{Outcome, run};
use tap_metrics::{Error, ExitKind};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitKind::Usage.code()
            } else {
                0
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fail(&Error::failure(format!("cannot start: {e}"))),
    };
    let _guard = runtime.enter();
    match run(cli) {
        Ok(Outcome::Complete) => {}
        Ok(Outcome::Partial) => std::process::exit(ExitKind::Partial.code()),
        Err(e) => fail(&e),
    }
}

fn fail(e: &Error) -> ! {
    eprintln!("error: {e}");
    std::process::exit(e.kind.code())
}
