//! The crate's one HTTP client: every fetch layerc makes (registries today; package repositories
//! and remote caches build on it) goes through [`Client`].
//!
//! The client is synchronous (ureq over rustls). Its configuration comes from the environment:
//! `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY` (read by ureq), the trusted roots from
//! `LAYERC_CA_FILE` or `SSL_CERT_FILE` (PEM; Mozilla's roots otherwise), timeouts from
//! `LAYERC_NET_TIMEOUT` (seconds without progress before a request counts as hung). Redirects are
//! never followed by ureq: [`Client::send`] follows them itself, so a caller decides where a
//! redirect may go (a registry's blob redirect only to https). Failures are [`NetError`]s naming
//! the URL and what went wrong.

mod download;
mod error;

use std::io::{Read, Seek};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ureq::Agent;
use ureq::http::{Response, StatusCode};

pub use download::{Expected, download};
pub use error::{NetError, Problem};

/// Attempts of one request before a retryable failure (a refused connection, 429, 502, 503, 504)
/// is reported.
const ATTEMPTS: u32 = 4;
/// Redirects followed for one request.
const MAX_REDIRECTS: u32 = 5;
/// The longest `Retry-After` honoured; a server asking for more is reported at once.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Whether a request's server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tls {
    Verify,
    /// A server the user marked `tls-verify=#false`: any certificate, and plain HTTP, are accepted.
    Insecure,
}

/// Where a redirect may lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Not followed: the 3xx response is the answer.
    None,
    /// Followed only to `https://` (or anywhere for an insecure request).
    HttpsOnly,
    /// Followed anywhere, plain `http://` included: for bytes the caller checks itself (package
    /// repositories' signed indexes and the files they list by sha256).
    Any,
}

/// One request: a URL, headers, a body, and how to treat TLS and redirects.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    pub tls: Tls,
    pub redirects: Redirects,
}

/// What a request sends, read again from the start for every attempt.
#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Arc<[u8]>),
    /// `len` bytes of a file from `offset` (one part of a multipart upload, or a whole file).
    File {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn reader(&self) -> std::io::Result<Box<dyn Read + Send>> {
        match self {
            Body::Bytes(bytes) => Ok(Box::new(std::io::Cursor::new(bytes.clone()))),
            Body::File { path, offset, len } => {
                let mut file = std::fs::File::open(path)?;
                file.seek(std::io::SeekFrom::Start(*offset))?;
                Ok(Box::new(file.take(*len)))
            }
        }
    }
}

impl Request {
    /// A request with any method (`PUT`, `MOVE`, ...) and no body.
    pub fn new(method: &'static str, url: impl Into<String>, tls: Tls) -> Request {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            tls,
            redirects: Redirects::None,
        }
    }

    pub fn get(url: impl Into<String>, tls: Tls) -> Request {
        Request::new("GET", url, tls)
    }

    /// Sends `body` with its length (never chunked: S3 refuses chunked uploads).
    pub fn with_body(mut self, body: Body) -> Request {
        self.body = Some(body);
        self
    }

    pub fn head(url: impl Into<String>, tls: Tls) -> Request {
        Request {
            method: "HEAD",
            ..Request::get(url, tls)
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn follow(mut self, redirects: Redirects) -> Request {
        self.redirects = redirects;
        self
    }
}

/// A response whose status the caller reads; the body streams.
pub type Reply = Response<ureq::Body>;

/// The HTTP client, with its configuration read once from the environment.
pub struct Client {
    verified: OnceLock<Result<Agent, NetError>>,
    insecure: OnceLock<Agent>,
    timeout: Duration,
}

impl Default for Client {
    fn default() -> Self {
        Client::from_env()
    }
}

impl Client {
    pub fn from_env() -> Client {
        Client::with_timeout(
            seconds_from_env("LAYERC_NET_TIMEOUT").unwrap_or(Duration::from_secs(60)),
        )
    }

    /// A client whose requests count as hung after `timeout` without progress.
    pub fn with_timeout(timeout: Duration) -> Client {
        Client {
            verified: OnceLock::new(),
            insecure: OnceLock::new(),
            timeout,
        }
    }

    fn agent(&self, tls: Tls) -> Result<&Agent, NetError> {
        match tls {
            Tls::Verify => self
                .verified
                .get_or_init(|| roots().map(|roots| self.build_agent(roots, false)))
                .as_ref()
                .map_err(Clone::clone),
            Tls::Insecure => Ok(self
                .insecure
                .get_or_init(|| self.build_agent(ureq::tls::RootCerts::WebPki, true))),
        }
    }

    fn build_agent(&self, roots: ureq::tls::RootCerts, insecure: bool) -> Agent {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(roots)
            .disable_verification(insecure)
            .build();
        Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            // WebDAV's MOVE, for uploads renamed into place.
            .allow_non_standard_methods(true)
            .proxy(ureq::Proxy::try_from_env())
            .tls_config(tls)
            .user_agent(concat!("layerc/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(self.timeout.min(Duration::from_secs(30))))
            .timeout_recv_response(Some(self.timeout))
            .timeout_per_read(Some(self.timeout))
            .timeout_per_write(Some(self.timeout))
            .build()
            .new_agent()
    }

    /// Sends a request, retrying refused connections, 429 and 5xx gateway answers with backoff
    /// (honouring `Retry-After`), and following redirects as the request allows. Any status comes
    /// back as a response; only transport failures are errors.
    pub fn send(&self, request: &Request) -> Result<Reply, NetError> {
        let mut request = request.clone();
        for _ in 0..=MAX_REDIRECTS {
            let reply = self.send_retrying(&request)?;
            let Some(next) = redirect_target(&request, &reply)? else {
                return Ok(reply);
            };
            if request.redirects == Redirects::None {
                return Ok(reply);
            }
            if !next.starts_with("https://")
                && request.tls == Tls::Verify
                && request.redirects != Redirects::Any
            {
                return Err(NetError::new(&next, Problem::InsecureRedirect));
            }
            // Credentials are for the server that asked for them, never for where it redirects.
            if host_of(&next) != host_of(&request.url) {
                request
                    .headers
                    .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
            }
            request.url = next;
        }
        Err(NetError::new(&request.url, Problem::TooManyRedirects))
    }

    fn send_retrying(&self, request: &Request) -> Result<Reply, NetError> {
        let mut wait = Duration::from_millis(250);
        for attempt in 1..=ATTEMPTS {
            let last = attempt == ATTEMPTS;
            match self.send_once(request) {
                Ok(reply) => {
                    let status = reply.status();
                    if !retryable(status) || last {
                        return Ok(reply);
                    }
                    match retry_after(&reply) {
                        Some(asked) if asked > MAX_RETRY_AFTER => return Ok(reply),
                        Some(asked) => wait = asked,
                        None => {}
                    }
                }
                Err(e) if e.is_transient() && !last => {}
                Err(e) => return Err(e),
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(MAX_RETRY_AFTER);
        }
        unreachable!("the last attempt returns")
    }

    fn send_once(&self, request: &Request) -> Result<Reply, NetError> {
        let agent = self.agent(request.tls)?;
        let mut builder = ureq::http::Request::builder()
            .method(request.method)
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let bad_url =
            |e: ureq::http::Error| NetError::new(&request.url, Problem::BadUrl(e.to_string()));
        let sent = match &request.body {
            None => agent.run(builder.body(()).map_err(bad_url)?),
            Some(body) => {
                let reader = body
                    .reader()
                    .map_err(|e| NetError::new(&request.url, Problem::Read(e.to_string())))?;
                let built = builder
                    .header("content-length", body.len().to_string())
                    .body(ureq::SendBody::from_owned_reader(reader))
                    .map_err(bad_url)?;
                agent.run(built)
            }
        };
        sent.map_err(|e| NetError::from_ureq(&request.url, e))
    }

    /// A small body read whole (a manifest, a token), refused past `limit` bytes.
    pub fn read_small(&self, url: &str, reply: Reply, limit: u64) -> Result<Vec<u8>, NetError> {
        let mut bytes = Vec::new();
        reply
            .into_body()
            .into_reader()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| NetError::from_io(url, e))?;
        if bytes.len() as u64 > limit {
            return Err(NetError::new(url, Problem::TooLarge { limit }));
        }
        Ok(bytes)
    }
}

/// A duration in seconds from an environment variable (fractions allowed), when set and positive.
pub fn seconds_from_env(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
}

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the HTTP-date form is read as "soon": a second).
pub fn retry_after(reply: &Reply) -> Option<Duration> {
    let value = reply.headers().get("retry-after")?.to_str().ok()?.trim();
    Some(
        value
            .parse::<u64>()
            .map_or(Duration::from_secs(1), Duration::from_secs),
    )
}

/// Where a 3xx response points, resolved against the request's URL.
fn redirect_target(request: &Request, reply: &Reply) -> Result<Option<String>, NetError> {
    if !reply.status().is_redirection() {
        return Ok(None);
    }
    let Some(location) = reply
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    if location.contains("://") {
        return Ok(Some(location.to_string()));
    }
    let origin = origin_of(&request.url)
        .ok_or_else(|| NetError::new(&request.url, Problem::BadUrl("no host".into())))?;
    if location.starts_with('/') {
        Ok(Some(format!("{origin}{location}")))
    } else {
        let base = request.url.rsplit_once('/').map_or("", |(b, _)| b);
        Ok(Some(format!("{base}/{location}")))
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let start = url.find("://")? + 3;
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    Some(&url[..end])
}

fn host_of(url: &str) -> Option<&str> {
    origin_of(url)
        .and_then(|o| o.split_once("://"))
        .map(|(_, h)| h)
}

/// The trusted roots: the PEM file `LAYERC_CA_FILE` or `SSL_CERT_FILE` names, or Mozilla's.
fn roots() -> Result<ureq::tls::RootCerts, NetError> {
    let file = ["LAYERC_CA_FILE", "SSL_CERT_FILE"]
        .iter()
        .find_map(|var| std::env::var_os(var).filter(|v| !v.is_empty()));
    let Some(file) = file else {
        return Ok(ureq::tls::RootCerts::WebPki);
    };
    let label = file.to_string_lossy().into_owned();
    let fail = |problem: String| NetError::new(&label, Problem::CaFile(problem));
    let pem = std::fs::read(&file).map_err(|e| fail(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(cert) = item.map_err(|e| fail(e.to_string()))? {
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        return Err(fail("holds no PEM certificate".into()));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers every request with `reply`, for a few requests.
    fn serve(reply: &'static str) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(4).flatten() {
                let mut stream = stream;
                let mut buf = [0; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        addr
    }

    #[test]
    fn redirects_are_followed_only_to_https() {
        let addr = serve(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/blob\r\nContent-Length: 0\r\n\r\n",
        );
        let client = Client::from_env();
        let url = format!("http://{addr}/v2/x/blobs/sha256:00");
        let request = Request::get(&url, Tls::Verify).follow(Redirects::HttpsOnly);
        let err = client.send(&request).unwrap_err();
        assert_eq!(err.problem, Problem::InsecureRedirect);
        assert_eq!(err.url, "http://127.0.0.1:9/blob");
        // Not followed at all, the redirect is the answer.
        let reply = client.send(&Request::get(&url, Tls::Verify)).unwrap();
        assert_eq!(reply.status().as_u16(), 307);
    }

    #[test]
    fn origins_and_hosts() {
        assert_eq!(
            origin_of("https://r.example:5000/v2/x"),
            Some("https://r.example:5000")
        );
        assert_eq!(host_of("http://127.0.0.1:5000"), Some("127.0.0.1:5000"));
        assert_eq!(origin_of("no-scheme"), None);
    }
}
