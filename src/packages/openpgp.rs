//! OpenPGP checks of repository indexes with rpgp (`pgp`): an apt `InRelease` (a cleartext
//! signature), `Release` with `Release.gpg`, and `repomd.xml` with `repomd.xml.asc` (detached
//! signatures), each against a keyring. A signature counts when it verifies with a primary key of
//! the keyring or one of its subkeys whose binding to that primary key verifies.

use pgp::composed::{CleartextSignedMessage, Deserializable, DetachedSignature, SignedPublicKey};
use pgp::packet::Signature;
use pgp::types::KeyDetails;

/// The keys an index may be signed with.
pub struct Keyring {
    /// Where the keys came from, for messages.
    pub label: String,
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    /// The public keys in `bytes`: a binary keyring (`.gpg`, as `/usr/share/keyrings` holds) or
    /// ASCII-armored keys (`.asc`, an `RPM-GPG-KEY-*` file).
    pub fn parse(label: &str, bytes: &[u8]) -> Result<Keyring, String> {
        let (keys, _) = SignedPublicKey::from_reader_many(bytes)
            .map_err(|e| format!("{label} is not an OpenPGP keyring: {e}"))?;
        let keys: Vec<SignedPublicKey> = keys.filter_map(Result::ok).collect();
        if keys.is_empty() {
            return Err(format!("{label} holds no OpenPGP public key"));
        }
        Ok(Keyring {
            label: label.to_string(),
            keys,
        })
    }

    /// Whether `signature` over `data` verifies with one of the keys.
    fn verifies(&self, signature: &Signature, data: &[u8]) -> bool {
        self.keys.iter().any(|key| {
            signature.verify(&key.primary_key, data).is_ok()
                || key.public_subkeys.iter().any(|sub| {
                    sub.verify_bindings(&key.primary_key).is_ok()
                        && signature.verify(&sub.key, data).is_ok()
                })
        })
    }

    /// The text of an `InRelease` file once one of its signatures verifies (lines end in `\n`,
    /// dash-escaping removed), or why not.
    pub fn verify_cleartext(&self, text: &str) -> Result<String, String> {
        let (message, _) = CleartextSignedMessage::from_string(text)
            .map_err(|e| format!("not an OpenPGP cleartext-signed message: {e}"))?;
        let signed = message.signed_text();
        if message
            .signatures()
            .iter()
            .any(|s| self.verifies(s, signed.as_bytes()))
        {
            return Ok(signed.replace("\r\n", "\n"));
        }
        Err(self.no_valid_signature(message.signatures()))
    }

    /// Checks a detached signature (armored or binary) over `data`.
    pub fn verify_detached(&self, data: &[u8], signature: &[u8]) -> Result<(), String> {
        let (sigs, _) = DetachedSignature::from_reader_many(signature)
            .map_err(|e| format!("not an OpenPGP signature: {e}"))?;
        let sigs: Vec<Signature> = sigs.filter_map(Result::ok).map(|s| s.signature).collect();
        if sigs.iter().any(|s| self.verifies(s, data)) {
            Ok(())
        } else {
            Err(self.no_valid_signature(&sigs))
        }
    }

    fn no_valid_signature(&self, sigs: &[Signature]) -> String {
        if sigs.is_empty() {
            return "it carries no signature".to_string();
        }
        let issuers: Vec<String> = sigs
            .iter()
            .flat_map(|s| s.issuer_key_id())
            .map(|id| crate::digest::hex(id.as_ref()).to_uppercase())
            .collect();
        let known: Vec<String> = self
            .keys
            .iter()
            .map(|k| crate::digest::hex(k.primary_key.legacy_key_id().as_ref()).to_uppercase())
            .collect();
        format!(
            "no signature verifies with a key of {} (signed by {}; the keyring holds {})",
            self.label,
            if issuers.is_empty() {
                "unnamed keys".to_string()
            } else {
                issuers.join(", ")
            },
            known.join(", ")
        )
    }
}
