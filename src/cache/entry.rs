//! A layer's entry in a remote cache: a small text file beside the zip, in the manner of Nix's
//! `.narinfo`, naming the zip by sha256 and size and signed over (key, sha256, size):
//!
//! ```text
//! layerc-cache-entry 1
//! Key: <the store key>
//! Sha256: <the zip's sha256>
//! Size: <the zip's size>
//! Sig: NAME:BASE64
//! ```
//!
//! The signature covers the fingerprint `layerc-cache-entry-1;KEY;SHA256;SIZE`, so an entry moved
//! to another key, or pointed at other bytes, no longer verifies.

use super::keys::{SecretKey, TrustedKey};

const HEADER: &str = "layerc-cache-entry 1";
/// The most bytes an entry file may have (a few signatures).
pub const MAX_ENTRY_BYTES: u64 = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub sha256: String,
    pub size: u64,
    /// `NAME:BASE64` signatures.
    pub signatures: Vec<String>,
}

/// What the signatures of an entry say to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed by this trusted key.
    Trusted(String),
    Unsigned,
    /// Signed only by keys nobody listed as trusted.
    Untrusted(Vec<String>),
    /// A signature under a trusted key's name that is not that key's over this entry.
    Forged(String),
}

impl Entry {
    pub fn new(key: &str, sha256: &str, size: u64) -> Entry {
        Entry {
            key: key.to_string(),
            sha256: sha256.to_string(),
            size,
            signatures: Vec::new(),
        }
    }

    fn fingerprint(&self) -> String {
        format!(
            "layerc-cache-entry-1;{};{};{}",
            self.key, self.sha256, self.size
        )
    }

    pub fn sign(&mut self, secret: &SecretKey) {
        let signature = secret.sign(self.fingerprint().as_bytes());
        if !self.signatures.contains(&signature) {
            self.signatures.push(signature);
        }
    }

    /// The first trusted key that signed the entry, or why none did.
    pub fn verify(&self, trusted: &[TrustedKey]) -> Verdict {
        let message = self.fingerprint();
        let mut untrusted = Vec::new();
        let mut forged = None;
        for signature in &self.signatures {
            let Some((name, value)) = signature.split_once(':') else {
                continue;
            };
            match trusted
                .iter()
                .filter(|k| k.name == name)
                .find(|k| k.verifies(message.as_bytes(), value))
            {
                Some(key) => return Verdict::Trusted(key.name.clone()),
                None if trusted.iter().any(|k| k.name == name) => {
                    forged.get_or_insert_with(|| name.to_string());
                }
                None => untrusted.push(name.to_string()),
            }
        }
        match (forged, untrusted.is_empty()) {
            (Some(name), _) => Verdict::Forged(name),
            (None, false) => Verdict::Untrusted(untrusted),
            (None, true) => Verdict::Unsigned,
        }
    }

    pub fn render(&self) -> String {
        let mut text = format!(
            "{HEADER}\nKey: {}\nSha256: {}\nSize: {}\n",
            self.key, self.sha256, self.size
        );
        for signature in &self.signatures {
            text.push_str(&format!("Sig: {signature}\n"));
        }
        text
    }

    /// Reads an entry; `key` is the key it was fetched under, which it must name.
    pub fn parse(text: &str, key: &str) -> Result<Entry, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err("not a layerc cache entry".into());
        }
        let (mut found_key, mut sha256, mut size) = (None, None, None);
        let mut signatures = Vec::new();
        for line in lines {
            let Some((field, value)) = line.split_once(": ") else {
                return Err(format!("a line is not `Field: value`: {line:?}"));
            };
            match field {
                "Key" => found_key = Some(value.to_string()),
                "Sha256" if is_sha256(value) => sha256 = Some(value.to_string()),
                "Size" => size = value.parse::<u64>().ok(),
                "Sig" => signatures.push(value.to_string()),
                // Fields a later layerc may add are left alone.
                _ => {}
            }
        }
        let (Some(found_key), Some(sha256), Some(size)) = (found_key, sha256, size) else {
            return Err("the entry lacks its Key, Sha256 or Size".into());
        };
        if found_key != key {
            return Err(format!("the entry names the key {found_key}"));
        }
        Ok(Entry {
            key: found_key,
            sha256,
            size,
            signatures,
        })
    }
}

pub fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const SHA: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    #[test]
    fn signed_entries_verify_only_unchanged_and_trusted() {
        let ci = SecretKey::generate("ci-1").unwrap();
        let stranger = SecretKey::generate("stranger-1").unwrap();
        let mut entry = Entry::new(KEY, SHA, 1234);
        assert_eq!(entry.verify(&[ci.public()]), Verdict::Unsigned);
        entry.sign(&ci);
        let read = Entry::parse(&entry.render(), KEY).unwrap();
        assert_eq!(read, entry);
        assert_eq!(read.verify(&[ci.public()]), Verdict::Trusted("ci-1".into()));
        assert_eq!(
            read.verify(&[stranger.public()]),
            Verdict::Untrusted(vec!["ci-1".into()])
        );
        let mut moved = read.clone();
        moved.size = 1235;
        assert_eq!(moved.verify(&[ci.public()]), Verdict::Forged("ci-1".into()));
        // A key of the same name but other bytes: a forgery, not a stranger.
        let impostor = SecretKey::generate("ci-1").unwrap();
        let mut forged = Entry::new(KEY, SHA, 1234);
        forged.sign(&impostor);
        assert_eq!(
            forged.verify(&[ci.public()]),
            Verdict::Forged("ci-1".into())
        );
    }

    #[test]
    fn entries_name_their_key() {
        let entry = Entry::new(KEY, SHA, 1);
        assert!(Entry::parse(&entry.render(), SHA).is_err());
        assert!(Entry::parse("garbage", KEY).is_err());
        assert!(Entry::parse(&entry.render().replace("Size: 1\n", ""), KEY).is_err());
    }
}
