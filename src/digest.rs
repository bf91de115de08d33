//! Digests as layerc writes them: sha256 in lower-case hexadecimal, as locks, the store, image
//! layouts, package indexes and remote caches name content. **Invariant:** the one home of hex
//! encoding and of hashing a stream.

use std::io::{self, Read, Seek, SeekFrom};

use sha2::{Digest, Sha256};

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Whether `text` is a sha256 as [`hex`] writes it (64 lower-case hexadecimal digits).
pub fn is_sha256_hex(text: &[u8]) -> bool {
    text.len() == 64 && text.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The sha256 of a stream, read in 64 KiB chunks.
pub fn sha256_of(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// The sha256 of a file just written, read back from its start.
pub fn sha256_from_start(file: &mut (impl Read + Seek)) -> io::Result<String> {
    file.seek(SeekFrom::Start(0))?;
    sha256_of(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_sha256_match_known_values() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let empty = sha256_of(&b""[..]).unwrap();
        assert_eq!(
            empty,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_sha256_hex(empty.as_bytes()));
        assert!(!is_sha256_hex(empty.to_uppercase().as_bytes()));
        assert!(!is_sha256_hex(&empty.as_bytes()[1..]));
    }
}
