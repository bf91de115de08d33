//! Printing: diagnostics (human or JSON) and command output on stdout.

use std::io::{self, Write};

use layerc::Analysis;
use layerc::diagnostic::{self, Diagnostic};

use super::{Format, SUCCESS, TOOL_ERROR};

/// Prints diagnostics: miette reports on stderr, or one JSON object a line on stdout.
pub fn report(analysis: &Analysis, diags: &[Diagnostic], format: Format, color: bool) {
    let result = match format {
        Format::Human => human(analysis, diags, color),
        Format::Json => json(analysis, diags),
    };
    // Diagnostics are best effort: a closed stream is reported by the exit code's own output.
    let _ = result;
}

fn human(analysis: &Analysis, diags: &[Diagnostic], color: bool) -> io::Result<()> {
    let mut err = io::stderr().lock();
    for d in diags {
        let text = diagnostic::render_human(d, &analysis.source, color, 100);
        write!(err, "{text}")?;
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if errors + warnings > 0 {
        writeln!(err, "{errors} error(s), {warnings} warning(s)")?;
    }
    Ok(())
}

fn json(analysis: &Analysis, diags: &[Diagnostic]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for d in diags {
        let line = serde_json::to_string(&diagnostic::to_json(d, &analysis.source))
            .expect("diagnostics serialise");
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// Writes a command's output to stdout and returns the exit code: a closed pipe (`| head`) is not
/// an error, any other write failure is (exit 2).
pub fn print_out(text: &str) -> i32 {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            TOOL_ERROR
        }
    }
}
