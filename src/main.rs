//! The `layerc` command. The command line lives with the binary: the library is the pipeline.

mod cli;

fn main() {
    std::process::exit(cli::run(std::env::args_os()));
}
