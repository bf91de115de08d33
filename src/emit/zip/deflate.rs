//! libdeflate's compressor behind a safe handle. The library is vendored in `libdeflate/` with one
//! addition: streams that another stream can follow byte for byte (no final block, then an empty
//! stored block up to the next byte boundary when needed), which is what lets chunks of one file be
//! compressed apart and joined (pigz's idea without the shared dictionary).
//!
//! Invariant: the only `unsafe` of the zip writer is here, and every call passes libdeflate an
//! output buffer at least as large as its own bound (plus the joining block's 5 bytes).

use std::ffi::c_void;
use std::ptr::NonNull;

/// libdeflate's opaque `struct libdeflate_compressor`.
#[repr(C)]
struct Raw {
    _private: [u8; 0],
}

// The build script gives every symbol a `layerc_` prefix.
unsafe extern "C" {
    fn layerc_libdeflate_alloc_compressor(level: i32) -> *mut Raw;
    fn layerc_libdeflate_free_compressor(compressor: *mut Raw);
    fn layerc_libdeflate_deflate_compress_bound(compressor: *mut Raw, in_len: usize) -> usize;
    fn layerc_libdeflate_deflate_compress(
        compressor: *mut Raw,
        input: *const c_void,
        in_len: usize,
        out: *mut c_void,
        out_avail: usize,
    ) -> usize;
    fn layerc_libdeflate_deflate_compress_continuable(
        compressor: *mut Raw,
        input: *const c_void,
        in_len: usize,
        out: *mut c_void,
        out_avail: usize,
    ) -> usize;
}

/// The bytes a continuable stream may need beyond libdeflate's bound: the empty stored block.
const JOIN_BLOCK: usize = 5;

/// One libdeflate compressor at one level (0 to 12).
pub(super) struct Compressor(NonNull<Raw>);

// SAFETY: a compressor is plain heap memory with no ties to the thread that made it, and `&mut
// self` on every call keeps it to one thread at a time.
unsafe impl Send for Compressor {}

impl Compressor {
    /// `None` when libdeflate refuses the level or cannot allocate.
    pub(super) fn new(level: i32) -> Option<Compressor> {
        // SAFETY: any level may be passed; an invalid one gives NULL.
        NonNull::new(unsafe { layerc_libdeflate_alloc_compressor(level) }).map(Compressor)
    }

    /// Replaces `out` with `input` as raw deflate data: a complete stream, or, when `continuable`,
    /// one that the next stream can follow byte for byte.
    pub(super) fn compress(&mut self, input: &[u8], continuable: bool, out: &mut Vec<u8>) {
        let raw = self.0.as_ptr();
        // SAFETY: `raw` is a live compressor.
        let room =
            unsafe { layerc_libdeflate_deflate_compress_bound(raw, input.len()) } + JOIN_BLOCK;
        out.clear();
        out.reserve(room);
        let compress = if continuable {
            layerc_libdeflate_deflate_compress_continuable
        } else {
            layerc_libdeflate_deflate_compress
        };
        // SAFETY: `input` is readable for its length and `out` writable for `room` bytes.
        let written = unsafe {
            compress(
                raw,
                input.as_ptr().cast(),
                input.len(),
                out.as_mut_ptr().cast(),
                room,
            )
        };
        assert!(
            written != 0 && written <= room,
            "libdeflate's bound is room enough"
        );
        // SAFETY: libdeflate initialised the first `written` bytes.
        unsafe { out.set_len(written) };
    }
}

impl Drop for Compressor {
    fn drop(&mut self) {
        // SAFETY: the compressor is live and freed once.
        unsafe { layerc_libdeflate_free_compressor(self.0.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress, Status};
    use std::io::Read;

    fn compress(data: &[u8], level: i32, continuable: bool) -> Vec<u8> {
        let mut out = Vec::new();
        Compressor::new(level)
            .unwrap()
            .compress(data, continuable, &mut out);
        out
    }

    /// zlib's inflate (zlib-rs through flate2) is the oracle.
    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Text, runs, binary-looking noise and incompressible bytes: every block type libdeflate
    /// emits (dynamic, fixed for tiny inputs, stored for noise and for the smallest inputs), and
    /// sizes around the passthrough limit and the stored block's 65,535 bytes.
    fn samples() -> Vec<Vec<u8>> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect()
        };
        let text: Vec<u8> = (0..40_000)
            .flat_map(|i| format!("symbol_{} GLIBC_2.{} ", i % 977, i % 38).into_bytes())
            .collect();
        let mut mixed = text[..100_000].to_vec();
        mixed.extend(noise(70_000));
        mixed.extend(std::iter::repeat_n(0u8, 50_000));
        vec![
            Vec::new(),
            b"a".to_vec(),
            b"abcabcabcabc".to_vec(),
            text[..55].to_vec(),
            text[..56].to_vec(),
            noise(65_535),
            noise(65_536),
            text,
            noise(200_000),
            mixed,
        ]
    }

    #[test]
    fn joined_streams_inflate_to_the_joined_inputs() {
        let samples = samples();
        for level in [0, 1, 6, 12] {
            // Every ordered pair and the whole sequence, so each end-bit alignment is met.
            let mut joined = Vec::new();
            for (i, sample) in samples.iter().enumerate() {
                joined.extend(compress(sample, level, i + 1 < samples.len()));
            }
            assert!(inflate(&joined) == samples.concat(), "level {level}");
            for a in &samples {
                for b in &samples {
                    let mut stream = compress(a, level, true);
                    stream.extend(compress(b, level, false));
                    assert!(
                        inflate(&stream) == [a.as_slice(), b].concat(),
                        "level {level}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_continuable_stream_has_no_final_block_and_ends_on_a_byte() {
        for level in [0, 1, 6, 12] {
            for sample in samples() {
                let stream = compress(&sample, level, true);
                let mut inflater = Decompress::new(false);
                let mut out = vec![0; sample.len() + 1];
                let status = inflater
                    .decompress(&stream, &mut out, FlushDecompress::None)
                    .unwrap();
                assert_ne!(status, Status::StreamEnd, "level {level}");
                assert_eq!(inflater.total_in(), stream.len() as u64);
                assert_eq!(inflater.total_out(), sample.len() as u64);
            }
        }
    }

    #[test]
    fn continuable_differs_from_complete_by_the_final_bit_and_the_joining_block() {
        for level in [0, 1, 6, 12] {
            for sample in samples() {
                let complete = compress(&sample, level, false);
                let continuable = compress(&sample, level, true);
                let (head, tail) = continuable.split_at(complete.len());
                let flipped: u32 = head
                    .iter()
                    .zip(&complete)
                    .map(|(a, b)| (a ^ b).count_ones())
                    .sum();
                assert_eq!(flipped, 1, "level {level}");
                assert!(
                    [&[][..], &[0, 0, 0xff, 0xff], &[0, 0, 0, 0xff, 0xff]].contains(&tail),
                    "level {level}: {tail:?}"
                );
            }
        }
    }

    #[test]
    fn every_level_joins_around_its_passthrough_size() {
        // Inputs up to 55 - 4 × level bytes are stored, not compressed: every length around that
        // boundary, at every level, followed by a stream of another kind.
        let text: Vec<u8> = (0..100u32)
            .flat_map(|i| [b'a' + (i % 7) as u8, b' '])
            .collect();
        for level in 0..=12 {
            let mut compressor = Compressor::new(level).unwrap();
            for len in 0..=80 {
                let (mut joined, mut tail) = (Vec::new(), Vec::new());
                compressor.compress(&text[..len], true, &mut joined);
                compressor.compress(&text, false, &mut tail);
                joined.extend(tail);
                assert!(
                    inflate(&joined) == [&text[..len], &text].concat(),
                    "level {level}, {len} bytes"
                );
            }
        }
    }

    #[test]
    fn levels_outside_libdeflate_s_range_are_refused() {
        assert!(Compressor::new(-2).is_none());
        assert!(Compressor::new(13).is_none());
        assert!(Compressor::new(0).is_some());
    }
}
