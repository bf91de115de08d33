//! `layerc completions SHELL` and `layerc man [COMMAND]`: generated from the clap definition, so
//! they never drift from the real arguments.

use super::TOOL_ERROR;
use super::output::{print_out, say};

pub(super) fn completions(mut cmd: clap::Command, shell: clap_complete::Shell) -> i32 {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "layerc", &mut out);
    print_out(&String::from_utf8_lossy(&out))
}

/// The man page of `layerc` (its subcommands listed), or of one subcommand as `layerc-NAME(1)`.
pub(super) fn man(cmd: clap::Command, command: Option<&str>) -> i32 {
    let mut cmd = cmd.name("layerc");
    cmd.build();
    let page = match command {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            // The page's name lives as long as the process (clap takes a `'static` one).
            Some(sub) => sub.clone().name(&*format!("layerc-{name}").leak()),
            None => {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                say(format_args!(
                    "error: no command `{name}`; the commands are {}",
                    names.join(", ")
                ));
                return TOOL_ERROR;
            }
        },
    };
    let mut out = Vec::new();
    match clap_mangen::Man::new(page).render(&mut out) {
        Ok(()) => print_out(&String::from_utf8_lossy(&out)),
        Err(e) => {
            say(format_args!("error: cannot render the man page: {e}"));
            TOOL_ERROR
        }
    }
}
