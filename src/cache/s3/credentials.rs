//! The AWS credential chain, in the order the AWS SDKs and CLI use it:
//!
//! 1. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! 2. web identity (CI OIDC, EKS): `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` (or the
//!    profile's `web_identity_token_file` and `role_arn`), exchanged with STS
//!    `AssumeRoleWithWebIdentity` (an unsigned call; `AWS_ENDPOINT_URL_STS` moves it);
//! 3. the profile (`profile.rs`): `aws_access_key_id`, `aws_secret_access_key`,
//!    `aws_session_token`, or `credential_process` (a command printing the credentials as JSON);
//! 4. ECS container credentials: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on 169.254.170.2) or
//!    `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)`;
//! 5. EC2 instance metadata, IMDSv2 (a session token first), unless `AWS_EC2_METADATA_DISABLED`
//!    is `true`; `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves it.
//!
//! With none of them the requests go unsigned (a public bucket).

use std::time::Duration;

use rusty_s3::Credentials;

use super::profile::{self, Profile};
use crate::cache::backend::CacheError;
use crate::net::{Body, Client, Request, Tls};

/// Credentials found, and which link of the chain gave them.
pub struct Found {
    pub credentials: Credentials,
    pub source: &'static str,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The region: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region`.
pub fn region(profile: &Profile) -> Option<String> {
    var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .or_else(|| profile.get("region").map(str::to_string))
}

/// Walks the chain; `Ok(None)` when no link has credentials.
pub fn find(client: &Client, region: Option<&str>) -> Result<Option<Found>, CacheError> {
    let profile = profile::current();
    if let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Some(found(
            key,
            secret,
            var("AWS_SESSION_TOKEN"),
            "environment",
        )));
    }
    let token_file = var("AWS_WEB_IDENTITY_TOKEN_FILE")
        .or_else(|| profile.get("web_identity_token_file").map(str::to_string));
    let role = var("AWS_ROLE_ARN").or_else(|| profile.get("role_arn").map(str::to_string));
    if let (Some(token_file), Some(role)) = (token_file, role) {
        return web_identity(client, &token_file, &role, region).map(Some);
    }
    if let (Some(key), Some(secret)) = (
        profile.get("aws_access_key_id"),
        profile.get("aws_secret_access_key"),
    ) {
        let token = profile.get("aws_session_token").map(str::to_string);
        return Ok(Some(found(key.into(), secret.into(), token, "profile")));
    }
    if let Some(command) = profile.get("credential_process") {
        return credential_process(command).map(Some);
    }
    if let Some(found) = container(client)? {
        return Ok(Some(found));
    }
    if var("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    Ok(instance_metadata())
}

fn found(key: String, secret: String, token: Option<String>, source: &'static str) -> Found {
    let credentials = match token {
        Some(token) => Credentials::new_with_token(key, secret, token),
        None => Credentials::new(key, secret),
    };
    Found {
        credentials,
        source,
    }
}

fn failed(what: &str, why: impl std::fmt::Display) -> CacheError {
    CacheError::Failed(format!("AWS credentials from {what}: {why}"))
}

/// STS `AssumeRoleWithWebIdentity`, posted as a form so the token stays out of any URL.
fn web_identity(
    client: &Client,
    token_file: &str,
    role: &str,
    region: Option<&str>,
) -> Result<Found, CacheError> {
    let what = "web identity";
    let token = std::fs::read_to_string(token_file)
        .map_err(|e| failed(what, format!("cannot read {token_file}: {e}")))?;
    let session = var("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| "layerc".to_string());
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "AssumeRoleWithWebIdentity")
        .append_pair("Version", "2011-06-15")
        .append_pair("RoleArn", role)
        .append_pair("RoleSessionName", &session)
        .append_pair("WebIdentityToken", token.trim())
        .finish();
    let endpoint = var("AWS_ENDPOINT_URL_STS")
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|| match region {
            Some(region) => format!("https://sts.{region}.amazonaws.com"),
            None => "https://sts.amazonaws.com".to_string(),
        });
    let request = Request::new(
        "POST",
        format!("{}/", endpoint.trim_end_matches('/')),
        Tls::Verify,
    )
    .header("Content-Type", "application/x-www-form-urlencoded")
    .with_body(Body::Bytes(form.into_bytes().into()));
    let reply = client.send(&request)?;
    let status = reply.status().as_u16();
    let body = client.read_small(&endpoint, reply, 1 << 20)?;
    let text = String::from_utf8_lossy(&body);
    if status != 200 {
        let why = xml_text(&text, "Message").unwrap_or_else(|| format!("STS answered {status}"));
        return Err(failed(what, why));
    }
    sts_credentials(&text).ok_or_else(|| failed(what, "STS's answer has no credentials"))
}

/// The credentials of an STS `AssumeRole*` answer.
pub fn sts_credentials(xml: &str) -> Option<Found> {
    let key = xml_text(xml, "AccessKeyId")?;
    let secret = xml_text(xml, "SecretAccessKey")?;
    let token = xml_text(xml, "SessionToken");
    Some(found(key, secret, token, "web identity"))
}

/// The text of the first `<tag>...</tag>` (STS and S3 answers are flat enough for this).
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'"),
    )
}

/// `credential_process`: a command (run by `sh -c`) printing `{"Version": 1, "AccessKeyId":
/// ..., "SecretAccessKey": ..., "SessionToken": ...}`.
fn credential_process(command: &str) -> Result<Found, CacheError> {
    let what = "credential_process";
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| failed(what, e))?;
    if !output.status.success() {
        return Err(failed(
            what,
            format!("`{command}` failed ({})", output.status),
        ));
    }
    json_credentials(&output.stdout, "SessionToken", what)
}

/// Credentials from JSON with `AccessKeyId`, `SecretAccessKey` and a token under `token_key`.
fn json_credentials(
    bytes: &[u8],
    token_key: &str,
    what: &'static str,
) -> Result<Found, CacheError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| failed(what, format!("not JSON: {e}")))?;
    let field = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(key), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
        return Err(failed(what, "no AccessKeyId and SecretAccessKey"));
    };
    Ok(found(key, secret, field(token_key), what))
}

/// ECS (and EKS Pod Identity) container credentials.
fn container(client: &Client) -> Result<Option<Found>, CacheError> {
    let what = "the container credentials endpoint";
    let url = match (
        var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ) {
        (Some(relative), _) => format!("http://169.254.170.2{relative}"),
        (None, Some(full)) => full,
        (None, None) => return Ok(None),
    };
    let token = match var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(file) => Some(
            std::fs::read_to_string(&file)
                .map_err(|e| failed(what, format!("cannot read {file}: {e}")))?
                .trim()
                .to_string(),
        ),
        None => var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    };
    let mut request = Request::get(&url, Tls::Verify);
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    let reply = client.send(&request)?;
    if reply.status().as_u16() != 200 {
        return Err(failed(what, format!("{url} answered {}", reply.status())));
    }
    let body = client.read_small(&url, reply, 1 << 20)?;
    json_credentials(&body, "Token", what).map(Some)
}

/// IMDSv2: a session token, the instance role's name, then its credentials. Any failure means
/// "not on EC2": a short timeout, and no credentials rather than an error.
fn instance_metadata() -> Option<Found> {
    let client = Client::with_timeout(Duration::from_secs(1));
    let base = var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .unwrap_or_else(|| "http://169.254.169.254".to_string());
    let base = base.trim_end_matches('/');
    let token_request = Request::new("PUT", format!("{base}/latest/api/token"), Tls::Verify)
        .header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
        .with_body(Body::Bytes(Vec::new().into()));
    let get = |path: &str, token: &str| -> Option<Vec<u8>> {
        let url = format!("{base}{path}");
        let reply = client
            .send(&Request::get(&url, Tls::Verify).header("X-aws-ec2-metadata-token", token))
            .ok()?;
        (reply.status().as_u16() == 200).then_some(())?;
        client.read_small(&url, reply, 1 << 20).ok()
    };
    let reply = client.send(&token_request).ok()?;
    (reply.status().as_u16() == 200).then_some(())?;
    let token = String::from_utf8(client.read_small(base, reply, 4096).ok()?).ok()?;
    let roles = get("/latest/meta-data/iam/security-credentials/", &token)?;
    let role = String::from_utf8(roles)
        .ok()?
        .lines()
        .next()?
        .trim()
        .to_string();
    let path = format!("/latest/meta-data/iam/security-credentials/{role}");
    json_credentials(&get(&path, &token)?, "Token", "instance metadata").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer in the shape the STS API reference gives for AssumeRoleWithWebIdentity.
    #[test]
    fn sts_answer() {
        let xml = "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2014-10-24T23:00:23Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>";
        let found = sts_credentials(xml).unwrap();
        assert_eq!(found.credentials.key(), "ASgeIAIOSFODNN7EXAMPLE");
        assert_eq!(
            found.credentials.secret(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
        );
        assert_eq!(
            found.credentials.token(),
            Some("AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE")
        );
    }

    #[test]
    fn credential_json() {
        let json =
            br#"{"Version": 1, "AccessKeyId": "AK", "SecretAccessKey": "S", "SessionToken": "T"}"#;
        let found = json_credentials(json, "SessionToken", "test").unwrap();
        assert_eq!(found.credentials.token(), Some("T"));
        assert!(json_credentials(b"{}", "Token", "test").is_err());
    }
}
