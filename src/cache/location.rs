//! Where a remote cache is, read from its URL: `s3://BUCKET/PREFIX`, `https://HOST/PATH` (or
//! `http://`), `file:///PATH`. layerc's own options ride in the URL's query, so that `--cache` and
//! `LAYERC_CACHES` can say everything a spec's `cache` node says:
//!
//! - `push=true`: upload what this build makes (the spec's `push=#true`);
//! - `check-signatures=false`: accept entries without a trusted signature (the spec's
//!   `check-signatures=#false`), for a cache only trusted writers reach;
//! - S3 only: `endpoint=URL` (an S3-compatible server; else `AWS_ENDPOINT_URL_S3` or
//!   `AWS_ENDPOINT_URL`), `region=NAME`, `addressing=path|virtual` (path-style requests are the
//!   default with a custom endpoint, virtual-hosted ones on AWS).

use std::path::{Path, PathBuf};

/// A cache as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSpec {
    /// The URL without layerc's options: how messages and the build summary name the cache.
    pub name: String,
    pub kind: Kind,
    pub push: bool,
    pub check_signatures: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    S3(S3Location),
    /// `http(s)://...`, without a trailing `/`.
    Http(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Object names start with this (no leading `/`; ends with `/` unless empty).
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Path-style (`ENDPOINT/BUCKET/KEY`) rather than virtual-hosted (`BUCKET.ENDPOINT/KEY`).
    pub path_style: Option<bool>,
}

impl CacheSpec {
    /// Reads a cache URL; relative `file://` paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<CacheSpec, String> {
        let (url, query) = text.split_once('?').unwrap_or((text, ""));
        let mut spec = CacheSpec {
            name: url.to_string(),
            kind: Kind::File(PathBuf::new()),
            push: false,
            check_signatures: true,
        };
        let mut s3 = S3Location {
            bucket: String::new(),
            prefix: String::new(),
            endpoint: None,
            region: None,
            path_style: None,
        };
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "push" => spec.push = boolean(&key, &value)?,
                "check-signatures" => spec.check_signatures = boolean(&key, &value)?,
                "endpoint" => s3.endpoint = Some(value),
                "region" => s3.region = Some(value),
                "addressing" => {
                    s3.path_style = Some(match value.as_str() {
                        "path" => true,
                        "virtual" => false,
                        _ => return Err("`addressing` is `path` or `virtual`".into()),
                    })
                }
                other => {
                    return Err(format!(
                        "unknown cache option `{other}` (layerc reads push, check-signatures, endpoint, region, addressing)"
                    ));
                }
            }
        }
        let s3_only = s3.endpoint.is_some() || s3.region.is_some() || s3.path_style.is_some();
        spec.kind = if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("an S3 cache is written s3://BUCKET/PREFIX".into());
            }
            s3.bucket = bucket.to_string();
            s3.prefix = normalize_prefix(prefix);
            Kind::S3(s3)
        } else if s3_only {
            return Err("endpoint, region and addressing are options of s3:// caches".into());
        } else if url.starts_with("https://") || url.starts_with("http://") {
            Kind::Http(url.trim_end_matches('/').to_string())
        } else if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() {
                return Err("a file cache is written file:///PATH".into());
            }
            Kind::File(base.join(path))
        } else {
            return Err("a cache URL starts with s3://, https://, http:// or file://".into());
        };
        Ok(spec)
    }
}

fn boolean(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("`{key}` is true or false")),
    }
}

fn normalize_prefix(prefix: &str) -> String {
    let parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{}/", parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_urls() {
        let base = Path::new("/spec");
        let s3 = CacheSpec::parse(
            "s3://bucket/a//b/?push=true&endpoint=http%3A%2F%2F127.0.0.1%3A3900&region=garage",
            base,
        )
        .unwrap();
        assert_eq!(s3.name, "s3://bucket/a//b/");
        assert!(s3.push && s3.check_signatures);
        let Kind::S3(loc) = s3.kind else { panic!() };
        assert_eq!(loc.bucket, "bucket");
        assert_eq!(loc.prefix, "a/b/");
        assert_eq!(loc.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
        assert_eq!(loc.region.as_deref(), Some("garage"));
        let http =
            CacheSpec::parse("https://cache.example/layers/?check-signatures=false", base).unwrap();
        assert_eq!(http.kind, Kind::Http("https://cache.example/layers".into()));
        assert!(!http.check_signatures && !http.push);
        let file = CacheSpec::parse("file://cache", base).unwrap();
        assert_eq!(file.kind, Kind::File("/spec/cache".into()));
        assert_eq!(
            CacheSpec::parse("file:///abs", base).unwrap().kind,
            Kind::File("/abs".into())
        );
    }

    #[test]
    fn bad_cache_urls() {
        let base = Path::new("/");
        for bad in [
            "ftp://x",
            "s3:///prefix",
            "s3://b?pushh=true",
            "https://x?region=r",
            "s3://b?push=maybe",
            "file://",
        ] {
            assert!(CacheSpec::parse(bad, base).is_err(), "{bad}");
        }
    }
}
