//! Joining raw deflate streams compressed independently into one stream (pigz's idea without the
//! shared dictionary): every stream but the last has its final-block bit cleared and is brought to
//! a byte boundary with an empty stored block, so the next one can follow it byte for byte.
//!
//! libdeflate reports neither where its last block starts nor the bit where it ends, so both are
//! found by walking the stream's block headers and Huffman codes (no output is produced).

use std::io;

/// Bit positions of a stream's last block: where its header starts and where its end-of-block
/// code ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastBlock {
    pub start: u64,
    pub end: u64,
}

/// Turns one complete raw deflate stream into a prefix the next stream can be appended to.
pub fn make_continuable(stream: &mut Vec<u8>) -> io::Result<()> {
    let last = last_block(stream)?;
    if last.end.div_ceil(8) != stream.len() as u64 {
        return Err(invalid("bytes after the last deflate block"));
    }
    stream[(last.start / 8) as usize] &= !(1 << (last.start % 8));
    let used = (last.end % 8) as u32;
    if used != 0 {
        // The rest of the last byte is zero: a stored block's header is three zero bits, so it
        // starts right there (spilling into one more zero byte when fewer than three bits remain),
        // then its LEN 0 and NLEN 0xffff follow on the next byte boundary.
        let tail = stream.len() - 1;
        stream[tail] &= (1u8 << used) - 1;
        if 8 - used < 3 {
            stream.push(0);
        }
        stream.extend_from_slice(&[0, 0, 0xff, 0xff]);
    }
    Ok(())
}

/// Walks a raw deflate stream to its last block.
pub fn last_block(data: &[u8]) -> io::Result<LastBlock> {
    let mut bits = Bits { data, pos: 0 };
    loop {
        let start = bits.pos;
        let is_last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => bits.skip_stored()?,
            1 => {
                let (lit, dist) = fixed_tables();
                bits.skip_codes(&lit, &dist)?;
            }
            2 => {
                let (lit, dist) = bits.dynamic_tables()?;
                bits.skip_codes(&lit, &dist)?;
            }
            _ => return Err(invalid("reserved block type")),
        }
        if is_last {
            return Ok(LastBlock {
                start,
                end: bits.pos,
            });
        }
    }
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("deflate stream: {why}"))
}

/// Extra bits of length symbols 257..=285 and of distance symbols 0..=29.
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order in which code-length code lengths are stored.
const CLEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

fn fixed_tables() -> (Table, Table) {
    let mut lit = [8u8; 288];
    lit[144..256].fill(9);
    lit[256..280].fill(7);
    let dist = [5u8; 30];
    (
        Table::new(&lit).expect("the fixed code is complete"),
        Table::new(&dist).expect("the fixed code is valid"),
    )
}

/// Bits the first-level table looks at: it stays in the L1 cache, and codes longer than this (rare,
/// as they are the rare symbols) are decoded the slow, canonical way.
const FAST_BITS: u32 = 11;
const FAST_MASK: u64 = (1 << FAST_BITS) - 1;
/// A first-level entry for a code longer than `FAST_BITS`.
const LONG: u16 = 0xffff;

/// A canonical Huffman code: a lookup table indexed by the next `FAST_BITS` bits of input for the
/// short codes, and the code's length counts and sorted symbols for the long ones.
struct Table {
    /// `symbol << 4 | code length`; [`LONG`] where a longer code starts with these bits, 0 where
    /// no code does.
    fast: [u16; 1 << FAST_BITS],
    /// How many codes have each length.
    count: [u16; 16],
    /// Symbols in canonical order (by code length, then symbol).
    sorted: Vec<u16>,
}

impl Table {
    fn new(lengths: &[u8]) -> io::Result<Table> {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        let mut next = [0u32; 16];
        let mut code = 0;
        for len in 1..16 {
            code = (code + u32::from(count[len - 1])) << 1;
            next[len] = code;
            if code + u32::from(count[len]) > 1 << len {
                return Err(invalid("over-subscribed Huffman code"));
            }
        }
        let mut fast = [0u16; 1 << FAST_BITS];
        for (symbol, &len) in lengths.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let len = u32::from(len);
            let code = next[len as usize];
            next[len as usize] += 1;
            let reversed = (code.reverse_bits() >> (32 - len)) as usize;
            if len > FAST_BITS {
                fast[reversed & FAST_MASK as usize] = LONG;
                continue;
            }
            let entry = (symbol as u16) << 4 | len as u16;
            for index in (reversed..fast.len()).step_by(1 << len) {
                fast[index] = entry;
            }
        }
        // A counting sort: where each length's symbols start, then every symbol in its place.
        let mut offset = [0usize; 16];
        for len in 1..15 {
            offset[len + 1] = offset[len] + usize::from(count[len]);
        }
        let mut sorted = vec![0u16; lengths.iter().filter(|&&l| l != 0).count()];
        for (symbol, &len) in lengths.iter().enumerate().filter(|(_, l)| **l != 0) {
            sorted[offset[usize::from(len)]] = symbol as u16;
            offset[usize::from(len)] += 1;
        }
        Ok(Table {
            fast,
            count,
            sorted,
        })
    }

    /// Decodes a code longer than `FAST_BITS` one bit at a time (as zlib's `puff` does).
    #[cold]
    fn decode_long(&self, word: u64) -> u16 {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= ((word >> (len - 1)) & 1) as i32;
            let count = i32::from(self.count[len]);
            if code - first < count {
                let symbol = self.sorted[(index + code - first) as usize];
                return symbol << 4 | len as u16;
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        0
    }
}

/// A reader of the stream's bits, least significant first; past the end it reads zeros, which
/// `check` turns into an error.
struct Bits<'a> {
    data: &'a [u8],
    pos: u64,
}

impl Bits<'_> {
    /// The next 57 bits at least (zeros past the end).
    #[inline(always)]
    fn word(&self) -> u64 {
        let byte = (self.pos / 8) as usize;
        let word = match self.data.get(byte..byte + 8) {
            Some(eight) => u64::from_le_bytes(eight.try_into().expect("eight bytes")),
            None => {
                let mut word = [0u8; 8];
                let tail = self.data.get(byte..).unwrap_or_default();
                word[..tail.len()].copy_from_slice(tail);
                u64::from_le_bytes(word)
            }
        };
        word >> (self.pos % 8)
    }

    fn peek(&self, n: u32) -> u32 {
        (self.word() & ((1u64 << n) - 1)) as u32
    }

    fn check(&self) -> io::Result<()> {
        if self.pos > self.data.len() as u64 * 8 {
            return Err(invalid("truncated"));
        }
        Ok(())
    }

    fn take(&mut self, n: u32) -> io::Result<u32> {
        let value = self.peek(n);
        self.pos += u64::from(n);
        self.check()?;
        Ok(value)
    }

    fn decode(&mut self, table: &Table) -> io::Result<usize> {
        let (symbol, len) = lookup(table, self.word())?;
        // No bounds check here: `dynamic_tables` checks at its end.
        self.pos += u64::from(len);
        Ok(symbol)
    }

    fn skip_stored(&mut self) -> io::Result<()> {
        self.pos = self.pos.div_ceil(8) * 8;
        let len = self.take(16)?;
        if self.take(16)? != !len & 0xffff {
            return Err(invalid("stored block length check"));
        }
        self.pos += u64::from(len) * 8;
        self.check()
    }

    fn dynamic_tables(&mut self) -> io::Result<(Table, Table)> {
        let lit_count = self.take(5)? as usize + 257;
        let dist_count = self.take(5)? as usize + 1;
        let clen_count = self.take(4)? as usize + 4;
        let mut clen = [0u8; 19];
        for &i in &CLEN_ORDER[..clen_count] {
            clen[i] = self.take(3)? as u8;
        }
        let clen = Table::new(&clen)?;
        let mut lengths = Vec::with_capacity(lit_count + dist_count);
        while lengths.len() < lit_count + dist_count {
            let (value, repeat) = match self.decode(&clen)? {
                symbol @ 0..=15 => (symbol as u8, 1),
                16 => {
                    let previous = *lengths.last().ok_or_else(|| invalid("repeat first"))?;
                    (previous, 3 + self.take(2)?)
                }
                17 => (0, 3 + self.take(3)?),
                _ => (0, 11 + self.take(7)?),
            };
            lengths.extend(std::iter::repeat_n(value, repeat as usize));
        }
        self.check()?;
        if lengths.len() != lit_count + dist_count || lengths[256] == 0 {
            return Err(invalid("bad code lengths"));
        }
        let (lit, dist) = lengths.split_at(lit_count);
        Ok((Table::new(lit)?, Table::new(dist)?))
    }

    /// Skips a block's symbols up to its end-of-block code: the hot loop of joining. One load
    /// gives 57 bits, enough for three literals (15 bits at most each) or a whole length/distance
    /// pair (48 bits at most).
    fn skip_codes(&mut self, lit: &Table, dist: &Table) -> io::Result<()> {
        let end = self.data.len() as u64 * 8;
        loop {
            let word = self.word();
            let (symbol, len) = lookup(lit, word)?;
            let used = match symbol {
                0..=255 => {
                    let mut used = len;
                    for _ in 0..2 {
                        let (next, len) = lookup(lit, word >> used)?;
                        if next >= 256 {
                            break;
                        }
                        used += len;
                    }
                    used
                }
                256 => {
                    self.pos += u64::from(len);
                    return self.check();
                }
                257..=285 => {
                    let used = len + u32::from(LENGTH_EXTRA[symbol - 257]);
                    let (d, len) = lookup(dist, word >> used)?;
                    let extra = DIST_EXTRA.get(d).ok_or_else(|| invalid("distance code"))?;
                    used + len + u32::from(*extra)
                }
                _ => return Err(invalid("length code")),
            };
            self.pos += u64::from(used);
            if self.pos > end {
                return Err(invalid("truncated"));
            }
        }
    }
}

/// The symbol and code length at the start of `word`.
#[inline(always)]
fn lookup(table: &Table, word: u64) -> io::Result<(usize, u32)> {
    let mut entry = table.fast[(word & FAST_MASK) as usize];
    if entry == LONG {
        entry = table.decode_long(word);
    }
    if entry == 0 {
        return Err(invalid("invalid Huffman code"));
    }
    Ok((usize::from(entry >> 4), u32::from(entry & 15)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn compress(data: &[u8], level: i32) -> Vec<u8> {
        let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap());
        let mut out = vec![0; c.deflate_compress_bound(data.len())];
        let n = c.deflate_compress(data, &mut out).unwrap();
        out.truncate(n);
        out
    }

    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Text, runs, binary-looking noise and incompressible bytes: every block type libdeflate
    /// emits (dynamic, fixed for tiny inputs, stored for noise).
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
            text,
            noise(200_000),
            mixed,
        ]
    }

    #[test]
    fn finds_the_end_of_every_stream() {
        for level in [1, 6, 12] {
            for sample in samples() {
                let stream = compress(&sample, level);
                let last = last_block(&stream).unwrap();
                assert_eq!(last.end.div_ceil(8), stream.len() as u64, "level {level}");
                assert_eq!(stream[(last.start / 8) as usize] >> (last.start % 8) & 1, 1);
            }
        }
    }

    #[test]
    fn joined_streams_inflate_to_the_joined_inputs() {
        let samples = samples();
        for level in [1, 6, 12] {
            // Every ordered pair and the whole sequence, so each end-bit alignment is met.
            let mut joined = Vec::new();
            let mut expected: Vec<u8> = Vec::new();
            for (i, sample) in samples.iter().enumerate() {
                let mut stream = compress(sample, level);
                if i + 1 < samples.len() {
                    make_continuable(&mut stream).unwrap();
                }
                joined.extend(stream);
                expected.extend(sample);
            }
            assert!(inflate(&joined) == expected, "level {level}");
            for a in &samples {
                for b in &samples {
                    let mut stream = compress(a, level);
                    make_continuable(&mut stream).unwrap();
                    stream.extend(compress(b, level));
                    assert!(inflate(&stream) == [a.as_slice(), b].concat());
                }
            }
        }
    }

    #[test]
    fn rejects_what_is_not_a_deflate_stream() {
        assert!(last_block(&[]).is_err());
        assert!(last_block(&[0xff; 3]).is_err());
        let mut stream = compress(&samples()[3], 6);
        stream.truncate(stream.len() / 2);
        assert!(last_block(&stream).is_err());
    }
}
