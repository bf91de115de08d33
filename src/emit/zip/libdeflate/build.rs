//! Compiles the vendored libdeflate compressor (README.md beside this file says what differs from
//! upstream). Every exported symbol gets a `layerc_` prefix, so another copy of libdeflate linked
//! into the same program cannot be confused with this one.

const DIR: &str = "src/emit/zip/libdeflate";

const SYMBOLS: [&str; 12] = [
    "libdeflate_alloc_compressor",
    "libdeflate_alloc_compressor_ex",
    "libdeflate_deflate_compress",
    "libdeflate_deflate_compress_bound",
    "libdeflate_deflate_compress_continuable",
    "libdeflate_free_compressor",
    "libdeflate_get_compression_level",
    "libdeflate_aligned_free",
    "libdeflate_aligned_malloc",
    "libdeflate_default_free_func",
    "libdeflate_default_malloc_func",
    "libdeflate_set_memory_allocator",
];

pub(crate) fn main() {
    println!("cargo:rerun-if-changed={DIR}");
    let mut build = cc::Build::new();
    build
        .files([
            format!("{DIR}/lib/deflate_compress.c"),
            format!("{DIR}/lib/utils.c"),
        ])
        .include(DIR)
        // libdeflate's own release flags, in every profile: the test suite compresses real files.
        .opt_level(2)
        .warnings(false);
    for symbol in SYMBOLS {
        build.define(symbol, format!("layerc_{symbol}").as_str());
    }
    build.compile("layerc_libdeflate");
}
