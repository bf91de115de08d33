//! Registries that ask for credentials (htpasswd basic auth, a token realm served here) and one
//! served over https with a certificate of a CA made here.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::{Registry, build, local_zip, openssl, report, spec_of, tools_or_skip, with_base};
use crate::common::Fixture;

/// An auth file in containers' format with `user:secret` for `registry`.
fn auth_file(fx: &Fixture, registry: &str, user_secret: &str) -> String {
    let json = serde_json::json!({"auths": {registry: {"auth": STANDARD.encode(user_secret)}}});
    let path = fx.write("auth.json", json.to_string());
    path.display().to_string()
}

#[test]
fn htpasswd_basic_auth_uses_the_auth_file() {
    let Some(()) = tools_or_skip() else { return };
    let Some(()) = crate::tier::oracle(&["htpasswd"]) else {
        return;
    };
    let fx = Fixture::new();
    let storage = fx.path().join("storage");
    drop(with_base(&fx));
    let out = Command::new("htpasswd")
        .args(["-Bbn", "ci", "s3cret"])
        .output()
        .unwrap();
    fs::write(fx.path().join("htpasswd"), &out.stdout).unwrap();
    let extra = format!(
        "auth:\n  htpasswd:\n    realm: layerc-test\n    path: {}\n",
        fx.path().join("htpasswd").display()
    );
    let registry = Registry::start(fx.path(), &storage, &extra, None);
    fx.spec(&spec_of(&registry.reference("fx/base:1"), "x86_64"));
    let (out, zip) = build(&fx, &[]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("rootfs::registry") && text.contains("credentials"),
        "{text}"
    );
    assert!(zip.is_none());
    let wrong = auth_file(&fx, &registry.addr, "ci:wrong");
    let (out, _) = build(&fx, &[("REGISTRY_AUTH_FILE", &wrong)]);
    assert_eq!(out.status.code(), Some(2), "{}", report(&out));
    assert!(report(&out).contains("401"), "{}", report(&out));
    let auth = auth_file(&fx, &registry.addr, "ci:s3cret");
    let (out, zip) = build(&fx, &[("REGISTRY_AUTH_FILE", &auth)]);
    assert!(out.status.success(), "{}", report(&out));
    assert!(zip.unwrap() == local_zip("oci"));
    // docker's config.json, found through $DOCKER_CONFIG, naming a credential helper for the host.
    fs::remove_dir_all(fx.path().join("cache")).unwrap();
    let env = helper_env(&fx, &registry.addr, "ci", "s3cret");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (out, zip) = build(&fx, &env);
    assert!(out.status.success(), "{}", report(&out));
    assert!(zip.unwrap() == local_zip("oci"));
}

/// The environment of a user whose only credentials are docker's `credHelpers` entry for
/// `registry`: `docker-credential-layerctest` on PATH answers `get` for it (and only for it) as
/// docker's helper protocol says, with `user` and `secret`.
fn helper_env(
    fx: &Fixture,
    registry: &str,
    user: &str,
    secret: &str,
) -> Vec<(&'static str, String)> {
    let bin = fx.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-layerctest");
    fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = \"{registry}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}' \"$server\"\n"
        ),
    )
    .unwrap();
    fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let docker = fx.path().join("docker");
    fs::create_dir_all(&docker).unwrap();
    let config = serde_json::json!({"credHelpers": {registry: "layerctest"}});
    fs::write(docker.join("config.json"), config.to_string()).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = fx.path().join("home").display().to_string();
    vec![
        ("REGISTRY_AUTH_FILE", String::new()),
        ("HOME", home.clone()),
        ("XDG_RUNTIME_DIR", home.clone()),
        ("XDG_CONFIG_HOME", home),
        ("DOCKER_CONFIG", docker.display().to_string()),
        ("PATH", path),
    ]
}

/// Serves `GET /token` on a new port for at most two minutes: a JWT (RS256, the certificate in
/// `x5c`) granting pull on the scope asked for, to requests carrying `authorization`.
fn serve_tokens(dir: &Path, authorization: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    let _ = answer_token(&mut stream, &dir, &authorization);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    port
}

fn answer_token(
    stream: &mut std::net::TcpStream,
    dir: &Path,
    authorization: &str,
) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let request = String::from_utf8_lossy(&request).to_string();
    let authorized = request.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("authorization:")
            && l.split_once(':').unwrap().1.trim() == authorization
    });
    if !authorized {
        return stream.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    let scope = request
        .split("scope=")
        .nth(1)
        .and_then(|s| s.split(['&', ' ']).next())
        .unwrap_or_default()
        .replace("%3A", ":")
        .replace("%2F", "/");
    let repository = scope.split(':').nth(1).unwrap_or_default().to_string();
    let body = serde_json::json!({"token": jwt(dir, &repository)}).to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())
}

fn jwt(dir: &Path, repository: &str) -> String {
    let pem = fs::read_to_string(dir.join("token.pem")).unwrap();
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [der]});
    let claims = serde_json::json!({
        "iss": "layerc-test", "sub": "ci", "aud": "layerc-registry",
        "exp": now + 600, "nbf": now - 10, "iat": now - 10, "jti": format!("{now}"),
        "access": [{"type": "repository", "name": repository, "actions": ["pull"]}],
    });
    let signing = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(dir.join("token.key"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing.as_bytes())
        .unwrap();
    let signature = child.wait_with_output().unwrap().stdout;
    format!("{signing}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[test]
fn a_token_realm_gives_a_bearer_token_for_the_credentials() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let storage = fx.path().join("storage");
    drop(with_base(&fx));
    super::self_signed(fx.path(), "token", "/CN=layerc-token");
    let port = serve_tokens(fx.path(), format!("Basic {}", STANDARD.encode("ci:t0ken")));
    let extra = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{port}/token\n    service: layerc-registry\n    issuer: layerc-test\n    rootcertbundle: {}\n",
        fx.path().join("token.pem").display()
    );
    let registry = Registry::start(fx.path(), &storage, &extra, None);
    fx.spec(&spec_of(&registry.reference("fx/base:1"), "x86_64"));
    // Anonymous: the realm refuses.
    let (out, _) = build(&fx, &[]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("getting a token") && text.contains("401"),
        "{text}"
    );
    let auth = auth_file(&fx, &registry.addr, "ci:t0ken");
    let (out, zip) = build(&fx, &[("REGISTRY_AUTH_FILE", &auth)]);
    assert!(out.status.success(), "{}", report(&out));
    assert!(zip.unwrap() == local_zip("oci"));
}

#[test]
fn https_with_a_custom_ca_is_verified_against_it() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let storage = fx.path().join("storage");
    drop(with_base(&fx));
    let dir = fx.path();
    super::self_signed(dir, "ca", "/CN=layerc test CA");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    let tls = Some((dir.join("srv.pem"), dir.join("srv.key")));
    let tls = tls.as_ref().map(|(c, k)| (c.as_path(), k.as_path()));
    let registry = Registry::start(dir, &storage, "", tls);
    let reference = registry.reference("fx/base:1");
    fx.spec(&super::spec_with(&format!("\"{reference}\""), "x86_64"));
    // Mozilla's roots do not know this CA.
    let (out, _) = build(&fx, &[]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("TLS error") && text.contains(&reference),
        "{text}"
    );
    let ca = dir.join("ca.pem");
    let (out, zip) = build(&fx, &[("LAYERC_CA_FILE", ca.to_str().unwrap())]);
    assert!(out.status.success(), "{}", report(&out));
    assert!(zip.unwrap() == local_zip("oci"));
    // `tls-verify=#false` accepts the certificate unchecked.
    fx.spec(&spec_of(&reference, "x86_64"));
    fs::remove_dir_all(dir.join("cache")).unwrap();
    let (out, _) = build(&fx, &[]);
    assert!(out.status.success(), "{}", report(&out));
}
