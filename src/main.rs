fn main() {
    std::process::exit(layerc::cli::run(std::env::args_os()));
}
