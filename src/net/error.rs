//! What can go wrong on the network, named by URL.

use std::fmt;
use std::time::Duration;

/// A request that failed, with the URL it was for.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{url}: {problem}")]
pub struct NetError {
    pub url: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The server answered with a status the caller cannot use.
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    Timeout(String),
    Tls(String),
    Connect(String),
    HostNotFound,
    Io(String),
    BadUrl(String),
    /// A redirect from an https request to a plain `http://` URL.
    InsecureRedirect,
    TooManyRedirects,
    /// A body over what the caller accepts.
    TooLarge {
        limit: u64,
    },
    /// A body whose sha256 is not the one it was fetched by.
    Digest {
        expected: String,
        actual: String,
    },
    /// A body that ended before its announced size.
    Short {
        expected: u64,
        got: u64,
    },
    CaFile(String),
    /// The temporary or final file could not be written.
    Write(String),
    /// The file a request's body comes from could not be read.
    Read(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Status { code, retry_after } => {
                write!(f, "the server answered {code}")?;
                if let Some(name) = status_name(*code) {
                    write!(f, " ({name})")?;
                }
                if let Some(wait) = retry_after {
                    write!(f, "; it asks to retry after {} s", wait.as_secs())?;
                }
                Ok(())
            }
            Problem::Timeout(what) => write!(f, "timed out ({what})"),
            Problem::Tls(e) => write!(f, "TLS error: {e}"),
            Problem::Connect(e) => write!(f, "cannot connect: {e}"),
            Problem::HostNotFound => f.write_str("the host name does not resolve"),
            Problem::Io(e) => write!(f, "{e}"),
            Problem::BadUrl(e) => write!(f, "not a usable URL: {e}"),
            Problem::InsecureRedirect => {
                f.write_str("a redirect to plain http was refused (only https is followed)")
            }
            Problem::TooManyRedirects => f.write_str("too many redirects"),
            Problem::TooLarge { limit } => write!(f, "the body is larger than {limit} bytes"),
            Problem::Digest { expected, actual } => write!(
                f,
                "the bytes have digest sha256:{actual}, not the sha256:{expected} they were fetched by"
            ),
            Problem::Short { expected, got } => write!(
                f,
                "the body ended after {got} of the {expected} bytes announced"
            ),
            Problem::CaFile(e) => write!(f, "cannot use this CA file: {e}"),
            Problem::Write(e) => write!(f, "cannot write the download: {e}"),
            Problem::Read(e) => write!(f, "cannot read what is to be sent: {e}"),
        }
    }
}

fn status_name(code: u16) -> Option<&'static str> {
    Some(match code {
        400 => "bad request",
        401 => "unauthorized: the credentials are missing or were refused",
        403 => "forbidden",
        404 => "not found",
        416 => "range not satisfiable",
        429 => "too many requests",
        500 => "internal server error",
        502 => "bad gateway",
        503 => "service unavailable",
        504 => "gateway timeout",
        _ => return None,
    })
}

impl NetError {
    pub fn new(url: &str, problem: Problem) -> NetError {
        NetError {
            url: url.to_string(),
            problem,
        }
    }

    pub fn status(url: &str, reply: &super::Reply) -> NetError {
        NetError::new(
            url,
            Problem::Status {
                code: reply.status().as_u16(),
                retry_after: super::retry_after(reply),
            },
        )
    }

    pub fn from_ureq(url: &str, e: ureq::Error) -> NetError {
        let problem = match e {
            ureq::Error::Timeout(what) => Problem::Timeout(what.to_string()),
            ureq::Error::HostNotFound => Problem::HostNotFound,
            ureq::Error::ConnectionFailed => Problem::Connect("connection failed".into()),
            ureq::Error::Io(io) => return NetError::from_io(url, io),
            ureq::Error::Rustls(e) => Problem::Tls(e.to_string()),
            ureq::Error::Tls(e) => Problem::Tls(e.to_string()),
            ureq::Error::BadUri(e) => Problem::BadUrl(e),
            ureq::Error::Http(e) => Problem::BadUrl(e.to_string()),
            ureq::Error::TooManyRedirects => Problem::TooManyRedirects,
            other => Problem::Io(other.to_string()),
        };
        NetError::new(url, problem)
    }

    pub fn from_io(url: &str, e: std::io::Error) -> NetError {
        use std::io::ErrorKind;
        let problem = match e.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => Problem::Timeout(e.to_string()),
            ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::NotConnected => Problem::Connect(e.to_string()),
            // rustls reports a refused certificate or handshake as invalid data.
            ErrorKind::InvalidData => Problem::Tls(e.to_string()),
            _ => {
                // ureq wraps its own errors (a timeout, a TLS alert) in io::Error while a body streams.
                match e.into_inner().map(|inner| inner.downcast::<ureq::Error>()) {
                    Some(Ok(inner)) => return NetError::from_ureq(url, *inner),
                    Some(Err(other)) => Problem::Io(other.to_string()),
                    None => Problem::Io("read failed".into()),
                }
            }
        };
        NetError::new(url, problem)
    }

    /// A failure another attempt may not meet: a refused or reset connection.
    pub fn is_transient(&self) -> bool {
        matches!(self.problem, Problem::Connect(_))
    }

    /// The server could not be reached at all (so a stored copy may stand in for its answer).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self.problem,
            Problem::Connect(_) | Problem::HostNotFound | Problem::Timeout(_)
        )
    }
}
