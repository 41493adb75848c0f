//! `kubectl-tap_metrics`: parse, run, map the result to a documented exit code.

use clap::Parser;

use tap_metrics::cli::Cli;
use tap_metrics::cli::plan::Plan;
use tap_metrics::run::{Outcome, run};
use tap_metrics::{Error, ExitKind};

fn main() {
    tune_allocator();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version: their text is the output.
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => fail(&Error::usage(usage_line(&e)), 0),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fail(&Error::failure(format!("cannot start: {e}")), 0),
    };
    let _guard = runtime.enter();
    let plan = match Plan::from_cli(cli) {
        Ok(plan) => plan,
        Err(e) => fail(&e, 0),
    };
    let verbose = plan.verbosity();
    match run(plan) {
        Ok(Outcome::Complete) => {}
        Ok(Outcome::Partial) => std::process::exit(ExitKind::Partial.code()),
        Err(e) => fail(&e, verbose),
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

/// Rust's start-up reopens a closed stdout on /dev/null, after which every
/// write "succeeds" and a `>&-` run would lose its output with exit 0. This
/// runs first, from `.init_array`, while fd 1 is still as the caller left it.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static NOTE_CLOSED_STDOUT: extern "C" fn() = {
    extern "C" fn note() {
        // SAFETY: F_GETFD only asks whether the descriptor is open.
        if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
            tap_metrics::run::note_stdout_closed();
        }
    }
    note
};

/// clap's several-line usage error as kubectl's one line: the error with its
/// tip or possible values, without the usage block.
fn usage_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // clap prints the whole help of `config` here; name the command instead.
        let command = text
            .lines()
            .find_map(|l| l.strip_prefix("Usage: "))
            .and_then(|u| u.split(" [").next())
            .map(|u| u.trim_end_matches(" <COMMAND>").to_string())
            .unwrap_or_else(|| "kubectl tap-metrics".into());
        return format!("{command} needs a subcommand; see '{command} --help' for usage");
    }
    let mut parts = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let first = parts.next().unwrap_or("invalid arguments");
    let mut line = first.strip_prefix("error: ").unwrap_or(first).to_string();
    for p in parts {
        line.push_str(if line.ends_with(':') { " " } else { "; " });
        line.push_str(p);
    }
    line.push_str("; see 'kubectl tap-metrics --help' for usage");
    line
}

/// Prints the one-line error (with `-v`, each cause on a line of its own
/// below it) and exits with its code.
fn fail(e: &Error, verbose: u8) -> ! {
    tap_metrics::ui::line("error: ", &e.message);
    if verbose > 0 {
        for cause in e.causes() {
            tap_metrics::ui::line("  caused by: ", &cause);
        }
    }
    std::process::exit(e.kind.code())
}
