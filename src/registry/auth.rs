//! Registry credentials and the distribution API's authentication: the `WWW-Authenticate`
//! challenge, basic auth, and bearer tokens from the challenge's realm (anonymous, or with the
//! user's credentials).
//!
//! Credentials are looked up as containers/image does (`pkg/docker/config`): `$REGISTRY_AUTH_FILE`,
//! then `$XDG_RUNTIME_DIR/containers/auth.json`, `$XDG_CONFIG_HOME/containers/auth.json` (or
//! `~/.config/...`), then docker's `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`). In each
//! file a `credHelpers` entry for the registry, then the most specific `auths` key
//! (`REGISTRY/REPO/...` before `REGISTRY`; docker's legacy `https://REGISTRY/v1/` form too), then a
//! `credsStore` apply; a helper is run as `docker-credential-NAME get` with the registry on stdin.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::reference::Reference;

#[derive(Clone, PartialEq, Eq)]
pub(super) struct Credentials {
    pub username: String,
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <secret>)", self.username)
    }
}

impl Credentials {
    pub(super) fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.username, self.secret);
        format!("Basic {}", STANDARD.encode(pair))
    }
}

#[derive(Deserialize, Default)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(rename = "credsStore", default)]
    creds_store: Option<String>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
}

/// The auth files, most preferred first.
fn auth_files() -> Vec<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(file) = var("REGISTRY_AUTH_FILE") {
        return vec![file];
    }
    let mut files = Vec::new();
    if let Some(dir) = var("XDG_RUNTIME_DIR") {
        files.push(dir.join("containers/auth.json"));
    }
    let home = var("HOME");
    if let Some(dir) = var("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config"))) {
        files.push(dir.join("containers/auth.json"));
    }
    if let Some(dir) = var("DOCKER_CONFIG").or_else(|| home.as_ref().map(|h| h.join(".docker"))) {
        files.push(dir.join("config.json"));
    }
    files
}

/// The user's credentials for a reference's registry, if any file or helper has them.
pub(super) fn lookup(reference: &Reference) -> Result<Option<Credentials>, String> {
    for path in auth_files() {
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let file: AuthFile = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not an auth file: {e}", path.display()))?;
        if let Some(found) = from_file(&file, reference)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn from_file(file: &AuthFile, reference: &Reference) -> Result<Option<Credentials>, String> {
    let registry = reference.registry.as_str();
    if let Some(helper) = file.cred_helpers.get(registry) {
        return helper_get(helper, registry);
    }
    let normalised: BTreeMap<String, &AuthEntry> = file
        .auths
        .iter()
        .map(|(key, entry)| (normalise_key(key), entry))
        .collect();
    let mut scope = format!("{registry}/{}", reference.repository);
    loop {
        if let Some(entry) = normalised.get(&scope) {
            return decode(entry).map(Some);
        }
        match scope.rsplit_once('/') {
            Some((parent, _)) => scope = parent.to_string(),
            None => break,
        }
    }
    match &file.creds_store {
        Some(store) => helper_get(store, registry),
        None => Ok(None),
    }
}

/// docker's keys may be URLs (`https://index.docker.io/v1/`); containers' are `REGISTRY[/REPO]`.
fn normalise_key(key: &str) -> String {
    let bare = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"));
    let key = match bare {
        Some(rest) => rest.split('/').next().unwrap_or(rest),
        None => key,
    };
    match key {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        other => other.to_string(),
    }
}

fn decode(entry: &AuthEntry) -> Result<Credentials, String> {
    let auth = entry.auth.as_deref().unwrap_or_default();
    let bytes = STANDARD
        .decode(auth.trim())
        .map_err(|_| "an `auth` value is not base64".to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "an `auth` value is not UTF-8".to_string())?;
    let (username, secret) = text
        .split_once(':')
        .ok_or_else(|| "an `auth` value is not `user:password`".to_string())?;
    Ok(Credentials {
        username: username.to_string(),
        secret: secret.to_string(),
    })
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// `docker-credential-NAME get`, the registry on stdin; "credentials not found" is no credentials.
fn helper_get(name: &str, registry: &str) -> Result<Option<Credentials>, String> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(registry.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program} failed: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if said.contains("credentials not found") {
            return Ok(None);
        }
        return Err(format!("{program} get failed: {}", said.trim()));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{program} gave no credentials: {e}"))?;
    Ok(Some(Credentials {
        username: answer.username,
        secret: answer.secret,
    }))
}

/// A parsed `WWW-Authenticate` header: its scheme (lower-case) and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// `Bearer realm="...",service="...",scope="..."` (RFC 7235's auth-param list).
    pub(super) fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut params = BTreeMap::new();
        let mut rest = rest.trim();
        while !rest.is_empty() {
            let (key, after) = rest.split_once('=')?;
            let after = after.trim_start();
            let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            params.insert(key.trim().to_ascii_lowercase(), value.to_string());
            rest = tail.trim_start().trim_start_matches(',').trim_start();
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }
}

/// `application/x-www-form-urlencoded`-safe text for a query value.
pub(super) fn query_escape(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Deserialize)]
pub(super) struct TokenAnswer {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.example/token");
        assert_eq!(c.params["scope"], "repository:a/b:pull,push");
        let basic = Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(basic.scheme, "basic");
    }

    #[test]
    fn auths_keys_match_most_specific_first() {
        let enc = |s: &str| STANDARD.encode(s);
        let file: AuthFile = serde_json::from_value(serde_json::json!({
            "auths": {
                "r.example": {"auth": enc("host:1")},
                "r.example/team": {"auth": enc("team:2")},
                "https://index.docker.io/v1/": {"auth": enc("hub:3")},
            }
        }))
        .unwrap();
        let user = |r: &str| {
            from_file(&file, &Reference::parse(r).unwrap())
                .unwrap()
                .map(|c| c.username)
        };
        assert_eq!(user("docker://r.example/team/app").as_deref(), Some("team"));
        assert_eq!(user("docker://r.example/other").as_deref(), Some("host"));
        assert_eq!(user("docker://debian").as_deref(), Some("hub"));
        assert_eq!(user("docker://elsewhere.example/x"), None);
    }
}
