//! `s3://BUCKET/PREFIX` caches, over the crate's one HTTP client: each request is signed with
//! SigV4 by `rusty-s3` (sans-IO: it signs URLs, `net` sends them), with the credentials of the
//! AWS chain (`credentials.rs`). Uploads are single `PutObject`s up to [`MULTIPART_FROM`] bytes,
//! multipart uploads above (parts of [`PART_SIZE`]); both make the object visible only once
//! whole. The region comes from the URL's `region=`, the environment or the profile; a bucket in
//! another region answers with `x-amz-bucket-region`, and the request is signed again for it.

pub mod credentials;
pub mod profile;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use super::backend::{Backend, CacheError, download_result};
use super::location::S3Location;
use crate::net::{Body, Client, Expected, NetError, Reply, Request, Tls};

/// Objects larger than this are uploaded in parts (the AWS CLI's default threshold and part size).
pub const MULTIPART_FROM: u64 = 8 * 1024 * 1024;
pub const PART_SIZE: u64 = 8 * 1024 * 1024;
/// How long a signed URL stays valid; each is used at once.
const SIGNED_FOR: Duration = Duration::from_secs(900);
/// The region asked when nothing names one; a bucket elsewhere says where it is.
const DEFAULT_REGION: &str = "us-east-1";

/// Signs one request for a bucket (in its current region) with the credentials, if any.
type Sign<'a> = dyn Fn(&Bucket, Option<&Credentials>) -> (&'static str, url::Url) + 'a;

pub struct S3Cache {
    location: S3Location,
    client: Arc<Client>,
    /// The endpoint the user named (URL, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`); AWS otherwise.
    endpoint: Option<String>,
    region: Mutex<String>,
    credentials: OnceLock<Result<Option<Credentials>, CacheError>>,
}

impl S3Cache {
    pub fn new(location: S3Location, client: Arc<Client>) -> S3Cache {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let endpoint = location
            .endpoint
            .clone()
            .or_else(|| var("AWS_ENDPOINT_URL_S3"))
            .or_else(|| var("AWS_ENDPOINT_URL"));
        let region = location
            .region
            .clone()
            .or_else(|| credentials::region(&profile::current()))
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        S3Cache {
            location,
            client,
            endpoint,
            region: Mutex::new(region),
            credentials: OnceLock::new(),
        }
    }

    /// [`S3Cache::new`] with these credentials rather than the chain's.
    pub fn with_credentials(
        location: S3Location,
        client: Arc<Client>,
        key: &str,
        secret: &str,
    ) -> S3Cache {
        let cache = S3Cache::new(location, client);
        let _ = cache
            .credentials
            .set(Ok(Some(Credentials::new(key, secret))));
        cache
    }

    fn region(&self) -> String {
        self.region.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn bucket(&self) -> Result<Bucket, CacheError> {
        let region = self.region();
        let endpoint = self
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        // Path-style for S3-compatible servers (and bucket names with dots, which a wildcard
        // certificate does not cover); virtual-hosted on AWS.
        let path_style = self
            .location
            .path_style
            .unwrap_or(self.endpoint.is_some() || self.location.bucket.contains('.'));
        let style = if path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let url = url::Url::parse(&endpoint)
            .map_err(|e| CacheError::Failed(format!("S3 endpoint {endpoint}: {e}")))?;
        Bucket::new(url, style, self.location.bucket.clone(), region)
            .map_err(|e| CacheError::Failed(format!("S3 endpoint {endpoint}: {e:?}")))
    }

    fn credentials(&self) -> Result<Option<&Credentials>, CacheError> {
        self.credentials
            .get_or_init(|| {
                let region = self.location.region.clone().or_else(|| Some(self.region()));
                credentials::find(&self.client, region.as_deref())
                    .map(|found| found.map(|f| f.credentials))
            })
            .as_ref()
            .map(Option::as_ref)
            .map_err(Clone::clone)
    }

    fn object(&self, name: &str) -> String {
        format!("{}{name}", self.location.prefix)
    }

    /// How messages name an object: its `s3://` URL, never a signed URL.
    fn label(&self, name: &str) -> String {
        format!("s3://{}/{}", self.location.bucket, self.object(name))
    }

    fn net_error(&self, name: &str, e: NetError) -> CacheError {
        NetError::new(&self.label(name), e.problem).into()
    }

    /// Sends the request `sign` makes, signed again once for the region a bucket elsewhere names.
    fn send(&self, name: &str, sign: &Sign<'_>, body: Option<&Body>) -> Result<Reply, CacheError> {
        for first in [true, false] {
            let bucket = self.bucket()?;
            let (method, url) = sign(&bucket, self.credentials()?);
            let mut request = Request::new(method, url.as_str(), Tls::Verify);
            if let Some(body) = body {
                request = request.with_body(body.clone());
            }
            let reply = self
                .client
                .send(&request)
                .map_err(|e| self.net_error(name, e))?;
            let elsewhere = reply
                .headers()
                .get("x-amz-bucket-region")
                .and_then(|v| v.to_str().ok())
                .filter(|r| *r != bucket.region())
                .map(str::to_string);
            match elsewhere {
                Some(region)
                    if first && matches!(reply.status().as_u16(), 301 | 307 | 400 | 403) =>
                {
                    if let Ok(mut current) = self.region.lock() {
                        *current = region;
                    }
                }
                _ => return Ok(reply),
            }
        }
        unreachable!("the second attempt returns")
    }

    /// An answer S3 did not mean as success, with its error code and message.
    fn failure(&self, name: &str, reply: Reply) -> CacheError {
        let status = reply.status().as_u16();
        let label = self.label(name);
        let body = self
            .client
            .read_small(&label, reply, 64 * 1024)
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let code = credentials::xml_text(&text, "Code").unwrap_or_default();
        let message = credentials::xml_text(&text, "Message").unwrap_or_default();
        let hint = if status == 403 && code.is_empty() {
            " (S3 answers 403 for a missing object to credentials that may not list the bucket)"
        } else {
            ""
        };
        CacheError::Failed(format!(
            "{label}: S3 answered {status} {code} {message}{hint}"
        ))
    }

    fn put_whole(&self, name: &str, body: &Body) -> Result<(), CacheError> {
        let object = self.object(name);
        let sign = |b: &Bucket, c: Option<&Credentials>| {
            ("PUT", b.put_object(c, &object).sign(SIGNED_FOR))
        };
        let reply = self.send(name, &sign, Some(body))?;
        match reply.status().as_u16() {
            200 => Ok(()),
            _ => Err(self.failure(name, reply)),
        }
    }

    /// A multipart upload: the object appears only when it is completed; any failure aborts it.
    fn put_parts(&self, name: &str, path: &Path, size: u64) -> Result<(), CacheError> {
        let object = self.object(name);
        let create = |b: &Bucket, c: Option<&Credentials>| {
            (
                "POST",
                b.create_multipart_upload(c, &object).sign(SIGNED_FOR),
            )
        };
        let reply = self.send(name, &create, None)?;
        if reply.status().as_u16() != 200 {
            return Err(self.failure(name, reply));
        }
        let label = self.label(name);
        let body = self
            .client
            .read_small(&label, reply, 1 << 20)
            .map_err(|e| self.net_error(name, e))?;
        let text = String::from_utf8_lossy(&body);
        let upload = rusty_s3::actions::CreateMultipartUpload::parse_response(&text)
            .map_err(|e| CacheError::Failed(format!("{label}: CreateMultipartUpload: {e}")))?;
        let id = upload.upload_id();
        let result = self.upload_parts(name, &object, id, path, size);
        if result.is_err() {
            let abort = |b: &Bucket, c: Option<&Credentials>| {
                (
                    "DELETE",
                    b.abort_multipart_upload(c, &object, id).sign(SIGNED_FOR),
                )
            };
            let _ = self.send(name, &abort, None);
        }
        result
    }

    fn upload_parts(
        &self,
        name: &str,
        object: &str,
        id: &str,
        path: &Path,
        size: u64,
    ) -> Result<(), CacheError> {
        let mut etags = Vec::new();
        for (index, offset) in (0..size).step_by(PART_SIZE as usize).enumerate() {
            let number = u16::try_from(index + 1)
                .map_err(|_| CacheError::Failed(format!("{}: too many parts", self.label(name))))?;
            let body = Body::File {
                path: path.to_path_buf(),
                offset,
                len: PART_SIZE.min(size - offset),
            };
            let sign = |b: &Bucket, c: Option<&Credentials>| {
                ("PUT", b.upload_part(c, object, number, id).sign(SIGNED_FOR))
            };
            let reply = self.send(name, &sign, Some(&body))?;
            if reply.status().as_u16() != 200 {
                return Err(self.failure(name, reply));
            }
            let etag = reply
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    CacheError::Failed(format!("{}: a part has no ETag", self.label(name)))
                })?;
            etags.push(etag.to_string());
        }
        let bucket = self.bucket()?;
        let complete = bucket.complete_multipart_upload(
            self.credentials()?,
            object,
            id,
            etags.iter().map(String::as_str),
        );
        let url = complete.sign(SIGNED_FOR);
        let body = Body::Bytes(complete.body().into_bytes().into());
        let request = Request::new("POST", url.as_str(), Tls::Verify).with_body(body);
        let reply = self
            .client
            .send(&request)
            .map_err(|e| self.net_error(name, e))?;
        let status = reply.status().as_u16();
        // S3 may answer 200 and still report an error in the body.
        let label = self.label(name);
        let answer = self
            .client
            .read_small(&label, reply, 1 << 20)
            .map_err(|e| self.net_error(name, e))?;
        let text = String::from_utf8_lossy(&answer);
        if status != 200 || text.contains("<Error>") {
            let code = credentials::xml_text(&text, "Code").unwrap_or_default();
            return Err(CacheError::Failed(format!(
                "{label}: CompleteMultipartUpload answered {status} {code}"
            )));
        }
        Ok(())
    }
}

impl Backend for S3Cache {
    fn read(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, CacheError> {
        let object = self.object(name);
        let sign = |b: &Bucket, c: Option<&Credentials>| {
            ("GET", b.get_object(c, &object).sign(SIGNED_FOR))
        };
        let reply = self.send(name, &sign, None)?;
        match reply.status().as_u16() {
            200 => self
                .client
                .read_small(&self.label(name), reply, limit)
                .map(Some)
                .map_err(|e| self.net_error(name, e)),
            404 => Ok(None),
            _ => Err(self.failure(name, reply)),
        }
    }

    fn download(&self, name: &str, expected: &Expected, target: &Path) -> Result<bool, CacheError> {
        let bucket = self.bucket()?;
        let url = bucket
            .get_object(self.credentials()?, &self.object(name))
            .sign(SIGNED_FOR);
        let request = Request::get(url.as_str(), Tls::Verify);
        let hidden = indicatif::ProgressBar::hidden();
        let result = crate::net::download(&self.client, &request, target, expected, &hidden);
        download_result(result.map_err(|e| NetError::new(&self.label(name), e.problem)))
    }

    fn get_request(&self, name: &str) -> Result<Option<(Request, String)>, CacheError> {
        let bucket = self.bucket()?;
        let url = bucket
            .get_object(self.credentials()?, &self.object(name))
            .sign(SIGNED_FOR);
        Ok(Some((
            Request::get(url.as_str(), Tls::Verify),
            self.label(name),
        )))
    }

    fn exists(&self, name: &str) -> Result<bool, CacheError> {
        let object = self.object(name);
        let sign = |b: &Bucket, c: Option<&Credentials>| {
            ("HEAD", b.head_object(c, &object).sign(SIGNED_FOR))
        };
        let reply = self.send(name, &sign, None)?;
        match reply.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            status => Err(CacheError::Failed(format!(
                "{}: S3 answered {status}",
                self.label(name)
            ))),
        }
    }

    fn upload(&self, name: &str, body: &Body) -> Result<(), CacheError> {
        match body {
            Body::File {
                path,
                offset: 0,
                len,
            } if *len > MULTIPART_FROM => self.put_parts(name, path, *len),
            _ => self.put_whole(name, body),
        }
    }
}
