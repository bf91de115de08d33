//! ed25519 keys for cache entries, written as Nix writes its binary-cache keys: `NAME:BASE64`, the
//! secret file holding the 32-byte seed followed by the 32-byte public key, the public file the
//! public key alone. A signature line is `Sig: NAME:BASE64`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// A key the user trusts: entries signed by it are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub name: String,
    key: VerifyingKey,
}

/// The key this runner signs what it pushes with.
#[derive(Clone)]
pub struct SecretKey {
    pub name: String,
    key: SigningKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.name)
    }
}

/// Splits `NAME:BASE64` and decodes the base64 part.
fn split(text: &str) -> Result<(String, Vec<u8>), String> {
    let text = text.trim();
    let (name, data) = text.split_once(':').ok_or("a key is written NAME:BASE64")?;
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a key's name is one word before the `:`".into());
    }
    let bytes = STANDARD
        .decode(data)
        .map_err(|e| format!("the part after `{name}:` is not base64: {e}"))?;
    Ok((name.to_string(), bytes))
}

impl TrustedKey {
    /// Reads `NAME:BASE64` (a 32-byte ed25519 public key).
    pub fn parse(text: &str) -> Result<TrustedKey, String> {
        let (name, bytes) = split(text)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!("an ed25519 public key is 32 bytes, this one is {}", b.len())
        })?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "not a valid ed25519 public key".to_string())?;
        Ok(TrustedKey { name, key })
    }

    /// Whether `signature` (base64) is this key's over `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(bytes) = STANDARD.decode(signature) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.key.verify(message, &signature).is_ok()
    }

    /// `NAME:BASE64`, as `trusted-key` takes it.
    pub fn render(&self) -> String {
        format!("{}:{}", self.name, STANDARD.encode(self.key.as_bytes()))
    }
}

impl SecretKey {
    /// Reads a secret key file's text: `NAME:BASE64` of the seed and public key (64 bytes) or of
    /// the seed alone (32 bytes).
    pub fn parse(text: &str) -> Result<SecretKey, String> {
        let (name, bytes) = split(text)?;
        let seed: [u8; 32] = match bytes.len() {
            32 | 64 => bytes[..32]
                .try_into()
                .map_err(|_| "unreachable".to_string())?,
            n => {
                return Err(format!(
                    "an ed25519 secret key is 64 bytes, this one is {n}"
                ));
            }
        };
        let key = SigningKey::from_bytes(&seed);
        if bytes.len() == 64 && bytes[32..] != key.verifying_key().as_bytes()[..] {
            return Err("its public half does not match its secret half".into());
        }
        Ok(SecretKey { name, key })
    }

    /// A new key pair from the system's random source.
    pub fn generate(name: &str) -> Result<SecretKey, String> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| format!("no random bytes: {e}"))?;
        Ok(SecretKey {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The signature line's value: `NAME:BASE64`.
    pub fn sign(&self, message: &[u8]) -> String {
        let signature = self.key.sign(message);
        format!("{}:{}", self.name, STANDARD.encode(signature.to_bytes()))
    }

    /// The secret file's text.
    pub fn render(&self) -> String {
        format!(
            "{}:{}\n",
            self.name,
            STANDARD.encode(self.key.to_keypair_bytes())
        )
    }

    pub fn public(&self) -> TrustedKey {
        TrustedKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_sign() {
        let secret = SecretKey::generate("ci-1").unwrap();
        let again = SecretKey::parse(&secret.render()).unwrap();
        let public = TrustedKey::parse(&secret.public().render()).unwrap();
        let sig = again.sign(b"message");
        let (name, value) = sig.split_once(':').unwrap();
        assert_eq!(name, "ci-1");
        assert!(public.verifies(b"message", value));
        assert!(!public.verifies(b"other message", value));
        let other = SecretKey::generate("ci-1").unwrap().public();
        assert!(!other.verifies(b"message", value));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(TrustedKey::parse("no-colon").is_err());
        assert!(TrustedKey::parse("name:not base64!").is_err());
        assert!(TrustedKey::parse("name:AAAA").is_err());
        assert!(SecretKey::parse(":AAAA").is_err());
    }

    /// The secret key in Nix's manual (`nix key generate-secret`, "Format"): 64 bytes, the seed
    /// then the public key, which must be the seed's.
    #[test]
    fn nix_secret_keys_read() {
        let nix = "cache.example.org-0:E7lAO+MsPwTFfPXsdPtW8GKui/5ho4KQHVcAGnX+Tti1V4dUxoVoqLyWJ4YESuZJwQ67GVIksDt47og+tPVUZw==";
        let secret = SecretKey::parse(nix).unwrap();
        assert_eq!(secret.name, "cache.example.org-0");
        assert_eq!(secret.render().trim_end(), nix);
    }
}
