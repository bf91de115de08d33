#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    layerc_fuzz::rootfs_resolve(data);
    layerc_fuzz::rootfs_kernel(data);
});
