//! One repository of one registry over the distribution API: the `/v2/` ping (which also picks
//! https or, for a `tls-verify=#false` reference, plain http), authentication on a 401, manifests,
//! and blob requests.

use std::sync::Mutex;

use super::auth::{self, Challenge, Credentials, TokenAnswer};
use super::{RegistryError, Step};
use crate::net::{Client, NetError, Redirects, Reply, Request, Tls};
use crate::reference::Reference;

/// Manifests and tokens larger than this are refused.
pub(super) const MAX_DOCUMENT: u64 = 4 << 20;

/// Every manifest type layerc reads, for `Accept`.
pub(super) const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

pub(super) struct Remote<'a> {
    client: &'a Client,
    reference: &'a Reference,
    tls: Tls,
    /// `https://HOST` or `http://HOST`.
    base: String,
    credentials: Option<Credentials>,
    /// The `Authorization` header that the registry accepted (or asked for) last.
    authorization: Mutex<Option<String>>,
}

/// A manifest as fetched: its bytes, media type and the digest the registry named it by.
pub(super) struct Fetched {
    pub bytes: Vec<u8>,
    pub media_type: String,
}

impl<'a> Remote<'a> {
    /// Pings `/v2/`: over https, or for an insecure reference over https without checks and then
    /// over plain http. A 401 answer is what an authenticated registry gives; it is used at once.
    pub(super) fn connect(
        client: &'a Client,
        reference: &'a Reference,
        tls: Tls,
    ) -> Result<Remote<'a>, RegistryError> {
        let credentials = auth::lookup(reference)
            .map_err(|p| RegistryError::new(reference, Step::Credentials, p))?;
        let schemes: &[&str] = match tls {
            Tls::Verify => &["https"],
            Tls::Insecure => &["https", "http"],
        };
        let mut last = None;
        for scheme in schemes {
            let remote = Remote {
                client,
                reference,
                tls,
                base: format!("{scheme}://{}", reference.endpoint()),
                credentials: credentials.clone(),
                authorization: Mutex::new(None),
            };
            match remote.ping() {
                Ok(()) => return Ok(remote),
                Err(e) if e.unreachable() || e.is_tls() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("one scheme at least"))
    }

    fn ping(&self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.base);
        let reply = self
            .client
            .send(&Request::get(&url, self.tls))
            .map_err(|e| self.net(Step::Ping, e))?;
        match reply.status().as_u16() {
            200..=299 => Ok(()),
            401 => self.authenticate(&reply, Step::Ping),
            _ => Err(self.net(Step::Ping, NetError::status(&url, &reply))),
        }
    }

    fn net(&self, step: Step, e: NetError) -> RegistryError {
        RegistryError::net(self.reference, step, e)
    }

    /// Answers a 401's challenge: basic auth with the user's credentials, or a bearer token from
    /// the realm for pulling this repository.
    fn authenticate(&self, reply: &Reply, step: Step) -> Result<(), RegistryError> {
        let challenge = reply
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse);
        let header = match challenge {
            Some(c) if c.scheme == "bearer" => format!("Bearer {}", self.token(&c)?),
            Some(c) if c.scheme == "basic" => match &self.credentials {
                Some(creds) => creds.basic_header(),
                None => return Err(self.no_credentials(step)),
            },
            _ => {
                return Err(RegistryError::new(
                    self.reference,
                    step,
                    "the registry answered 401 without a challenge layerc can answer",
                ));
            }
        };
        *crate::lock(&self.authorization) = Some(header);
        Ok(())
    }

    fn no_credentials(&self, step: Step) -> RegistryError {
        RegistryError::new(
            self.reference,
            step,
            format!(
                "the registry asks for credentials, and none are configured for {} (log in with `skopeo login` or `docker login`, or set $REGISTRY_AUTH_FILE)",
                self.reference.registry
            ),
        )
    }

    fn token(&self, challenge: &Challenge) -> Result<String, RegistryError> {
        let realm = challenge
            .params
            .get("realm")
            .ok_or_else(|| RegistryError::new(self.reference, Step::Token, "no realm"))?;
        let scope = format!("repository:{}:pull", self.reference.repository);
        let mut url = format!("{realm}?scope={}", auth::query_escape(&scope));
        if let Some(service) = challenge.params.get("service") {
            url.push_str(&format!("&service={}", auth::query_escape(service)));
        }
        let mut request = Request::get(&url, self.tls);
        if let Some(creds) = &self.credentials {
            request = request.header("Authorization", creds.basic_header());
        }
        let reply = self
            .client
            .send(&request)
            .map_err(|e| self.net(Step::Token, e))?;
        if !reply.status().is_success() {
            return Err(self.net(Step::Token, NetError::status(&url, &reply)));
        }
        let bytes = self
            .client
            .read_small(&url, reply, MAX_DOCUMENT)
            .map_err(|e| self.net(Step::Token, e))?;
        let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|e| {
            RegistryError::new(
                self.reference,
                Step::Token,
                format!("not a token answer: {e}"),
            )
        })?;
        answer.token.or(answer.access_token).ok_or_else(|| {
            RegistryError::new(self.reference, Step::Token, "the answer holds no token")
        })
    }

    /// A request to the registry with the current authorization.
    fn request(&self, url: &str) -> Request {
        let mut request = Request::get(url, self.tls);
        if let Some(header) = crate::lock(&self.authorization).clone() {
            request = request.header("Authorization", header);
        }
        request
    }

    /// Sends a GET, answering one 401 by authenticating and sending it again.
    fn get(&self, url: &str, accept: Option<&str>, step: Step) -> Result<Reply, RegistryError> {
        let with_accept = |r: Request| match accept {
            Some(types) => r.header("Accept", types),
            None => r,
        };
        let redirects = Redirects::HttpsOnly;
        let send = || {
            self.client
                .send(&with_accept(self.request(url)).follow(redirects))
                .map_err(|e| self.net(step.clone(), e))
        };
        let reply = send()?;
        if reply.status().as_u16() != 401 {
            return Ok(reply);
        }
        self.authenticate(&reply, step.clone())?;
        send()
    }

    /// A manifest by tag or digest.
    pub(super) fn manifest(&self, reference: &str) -> Result<Fetched, RegistryError> {
        let url = format!(
            "{}/v2/{}/manifests/{reference}",
            self.base, self.reference.repository
        );
        let step = Step::Manifest(reference.to_string());
        let reply = self.get(&url, Some(&MANIFEST_TYPES.join(", ")), step.clone())?;
        if !reply.status().is_success() {
            return Err(self.net(step, NetError::status(&url, &reply)));
        }
        let media_type = reply
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
            .unwrap_or_default();
        let bytes = self
            .client
            .read_small(&url, reply, MAX_DOCUMENT)
            .map_err(|e| self.net(step, e))?;
        Ok(Fetched { bytes, media_type })
    }

    /// The request for a blob, with the authorization in force (a blob's redirect to storage is
    /// followed only to https, without the registry's credentials).
    pub(super) fn blob_request(&self, digest: &str) -> Request {
        let url = format!(
            "{}/v2/{}/blobs/{digest}",
            self.base, self.reference.repository
        );
        self.request(&url).follow(Redirects::HttpsOnly)
    }

    /// After a blob answered 401 (a token expired while layers were fetched): authenticate again.
    pub(super) fn reauthenticate(&self, digest: &str) -> Result<(), RegistryError> {
        let url = self.blob_request(digest).url;
        let reply = self
            .client
            .send(&Request::head(&url, self.tls))
            .map_err(|e| self.net(Step::Blob(digest.to_string()), e))?;
        if reply.status().as_u16() == 401 {
            self.authenticate(&reply, Step::Blob(digest.to_string()))?;
        }
        Ok(())
    }
}
