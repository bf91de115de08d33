//! The references a session has pulled, each once per architecture, and the digests layer.lock
//! pins them to under `--locked`.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use super::{ImageStore, PullError, PullOptions, Pulled, RegistryError, Step, pull};
use crate::arch::Architecture;
use crate::net::Client;

#[derive(Default)]
pub struct Pulls {
    client: OnceLock<Client>,
    done: Mutex<BTreeMap<(String, Architecture), Pulled>>,
    pins: Mutex<BTreeMap<String, String>>,
    /// Remote caches asked for blobs before the registry, and given what it sends.
    caches: OnceLock<std::sync::Arc<crate::cache::Caches>>,
}

impl Pulls {
    /// Pulls `reference` by this digest (the lock's) rather than by what its tag names now.
    pub fn pin(&self, reference: &str, digest: &str) {
        crate::lock(&self.pins).insert(reference.to_string(), digest.to_string());
    }

    /// Asks `caches` for each blob before the registry, and pushes what the registry sends to
    /// those that take pushes. Only the first call counts.
    pub fn use_caches(&self, caches: std::sync::Arc<crate::cache::Caches>) {
        let _ = self.caches.set(caches);
    }

    /// The pull of a reference for `arch`, made once per session (a failed one is tried again).
    pub fn pull(
        &self,
        reference: &str,
        arch: Architecture,
        insecure: bool,
    ) -> Result<Pulled, PullError> {
        let key = (reference.to_string(), arch);
        if let Some(done) = crate::lock(&self.done).get(&key) {
            return Ok(done.clone());
        }
        let store = ImageStore::from_env().ok_or_else(|| RegistryError {
            reference: reference.to_string(),
            step: Step::Store,
            problem: "there is no cache root for the image store (set $LAYERC_STORE or $HOME)"
                .to_string(),
            net: None,
        })?;
        let options = PullOptions {
            insecure,
            pin: crate::lock(&self.pins).get(reference).cloned(),
            offline: std::env::var_os("LAYERC_OFFLINE").is_some_and(|v| !v.is_empty() && v != "0"),
            caches: self.caches.get().cloned(),
        };
        let client = self.client.get_or_init(Client::from_env);
        let pulled = pull(client, &store, reference, arch, &options)?;
        crate::lock(&self.done).insert(key, pulled.clone());
        Ok(pulled)
    }

    /// Whether the tag of `reference` now names another digest than the one pinned to it: the
    /// registry is asked (a manifest, no blob); one that cannot be reached says nothing.
    pub fn moved(&self, reference: &str, insecure: bool) -> bool {
        let Some(pin) = crate::lock(&self.pins).get(reference).cloned() else {
            return false;
        };
        let Some(store) = ImageStore::from_env() else {
            return false;
        };
        let client = self.client.get_or_init(Client::from_env);
        matches!(super::tag_now(client, &store, reference, insecure), Ok(Some(now)) if now != pin)
    }

    /// What an earlier [`Pulls::pull`] of the reference for `arch` gave.
    pub fn get(&self, reference: &str, arch: Architecture) -> Option<Pulled> {
        crate::lock(&self.done)
            .get(&(reference.to_string(), arch))
            .cloned()
    }
}
