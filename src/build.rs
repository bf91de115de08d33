//! The crate's build script. Each step lives beside the module it serves.

#[path = "runtime/build.rs"]
mod catalog;
#[path = "emit/zip/libdeflate/build.rs"]
mod libdeflate;

fn main() {
    catalog::main();
    libdeflate::main();
}
