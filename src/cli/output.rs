//! Printing: diagnostics (human or JSON) and command output on stdout.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use layerc::Analysis;
use layerc::diagnostic::{self, Diagnostic, Severity, SourceMap};

use super::{Format, SUCCESS, TOOL_ERROR};

/// Set when a write to stdout or stderr failed for another reason than a closed pipe: the run then
/// exits 2 whatever it did ([`exit_code`]), and prints nothing more to the failed stream.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);
static STDERR_FAILED: AtomicBool = AtomicBool::new(false);

/// The exit code of a command that returned `code`: 2 when any output could not be written.
pub(super) fn exit_code(code: i32) -> i32 {
    if STDOUT_FAILED.load(Ordering::Relaxed) || STDERR_FAILED.load(Ordering::Relaxed) {
        TOOL_ERROR
    } else {
        code
    }
}

/// Records a failed write to the stream `failed` stands for. A closed pipe (`| head`) is the
/// reader's choice, not a failure.
fn check(failed: &AtomicBool, result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            failed.store(true, Ordering::Relaxed);
            Err(e)
        }
        other => other,
    }
}

/// Records the outcome of clap printing its help, version or usage error.
pub(super) fn check_clap(result: io::Result<()>, on_stderr: bool) {
    let stream = if on_stderr {
        &STDERR_FAILED
    } else {
        &STDOUT_FAILED
    };
    let _ = check(stream, result);
}

/// `--verbose`: say which files are read.
static VERBOSE: AtomicBool = AtomicBool::new(false);

pub(super) fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// A line on stderr under `--verbose` only.
pub(super) fn verbose(args: std::fmt::Arguments<'_>) {
    if VERBOSE.load(Ordering::Relaxed) {
        say(args);
    }
}

/// Prints one line on stderr (what `eprintln!` does, without its panic when stderr is unwritable).
/// Control characters that names in it carry are escaped; its own line breaks are kept.
pub(super) fn say(args: std::fmt::Arguments<'_>) {
    if STDERR_FAILED.load(Ordering::Relaxed) {
        return;
    }
    let text = args.to_string();
    let text = layerc::escape::controls_but_lines(&text);
    let mut err = io::stderr().lock();
    let written = err
        .write_all(text.as_bytes())
        .and_then(|()| err.write_all(b"\n"));
    let _ = check(&STDERR_FAILED, written);
}

/// Diagnostics drawn per run: past these, a count. A spec with thousands of errors has a few
/// mistakes repeated, and drawing them all would bury the first.
const MAX_SHOWN: usize = 50;

/// Prints diagnostics: miette reports on stderr, or one JSON object a line on stdout.
pub(super) fn report(analysis: &Analysis, diags: &[Diagnostic], format: Format, color: bool) {
    let _ = match format {
        Format::Human => check(&STDERR_FAILED, human(&analysis.sources, diags, color)),
        Format::Json => check(&STDOUT_FAILED, json(analysis, diags)),
    };
}

/// Prints diagnostics as miette reports on stderr.
pub(super) fn report_human(source: &SourceMap, diags: &[Diagnostic], color: bool) {
    let _ = check(&STDERR_FAILED, human(source, diags, color));
}

fn human(source: &SourceMap, diags: &[Diagnostic], color: bool) -> io::Result<()> {
    let mut err = io::stderr().lock();
    for d in diags.iter().take(MAX_SHOWN) {
        let text = diagnostic::render_human(d, source, color, 100);
        write!(err, "{text}")?;
    }
    let count = |ds: &[Diagnostic], s: Severity| ds.iter().filter(|d| d.severity == s).count();
    let (errors, warnings) = (
        count(diags, Severity::Error),
        count(diags, Severity::Warning),
    );
    if let Some(rest) = diags.get(MAX_SHOWN..) {
        writeln!(
            err,
            "… and {} more: {} error(s), {} warning(s) not shown (`--format json` lists all)",
            rest.len(),
            count(rest, Severity::Error),
            count(rest, Severity::Warning)
        )?;
    }
    if errors + warnings > 0 {
        writeln!(err, "{errors} error(s), {warnings} warning(s)")?;
    }
    Ok(())
}

fn json(analysis: &Analysis, diags: &[Diagnostic]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for d in diags {
        let line = serde_json::to_string(&diagnostic::to_json(d, &analysis.sources))
            .expect("diagnostics serialise");
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// Writes a command's output to stdout and returns the exit code: a closed pipe (`| head`) is not
/// an error, any other write failure is (exit 2). Control characters from names in it are
/// escaped; its line breaks are kept.
pub(super) fn print_out(text: &str) -> i32 {
    let text = layerc::escape::controls_but_lines(text);
    let mut out = io::stdout().lock();
    match check(
        &STDOUT_FAILED,
        out.write_all(text.as_bytes()).and_then(|()| out.flush()),
    ) {
        Ok(()) => SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => SUCCESS,
        Err(e) => {
            say(format_args!("error: cannot write the output: {e}"));
            TOOL_ERROR
        }
    }
}
