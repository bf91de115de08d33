#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| layerc_fuzz::package_index(data));
