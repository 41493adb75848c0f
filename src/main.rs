//! `kubectl-tap_metrics`: parse, run, map the result to a documented exit code.

use clap::Parser;

use tap_metrics::cli::Cli;
use tap_metrics::run::{Outcome, run};
use tap_metrics::{Error, ExitKind};

fn main() {
    tune_allocator();
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

/// glibc raises its mmap threshold each time a large block is freed, after
/// which list pages (about 1 MB each) come from heaps it seldom gives back,
/// and peak memory grows with the object count. A fixed trim threshold (which
/// also fixes the mmap threshold) keeps it flat. `MALLOC_TRIM_THRESHOLD_`
/// in the environment still wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    if std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_none() {
        // SAFETY: mallopt only sets allocator parameters; no thread is running yet.
        unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn fail(e: &Error) -> ! {
    tap_metrics::ui::line("error: ", &e.message);
    std::process::exit(e.kind.code())
}
