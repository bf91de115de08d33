//! S3 caches against Garage, a real S3-compatible store, on loopback: one node, then a cluster of
//! three where runner A writes through one node and runner B reads through another.

use std::fs;

use super::servers::{BUCKET, Garage, KEY_ID, SECRET, Silent, free_port, s3_env};
use super::*;

#[test]
fn garage_serves_a_runner_without_rootfs_with_a_multipart_zip() {
    let Some(garage) = Garage::start(1) else {
        return;
    };
    let url = garage.url(0, "fleet/a");
    // 20 MB of noise: uploaded in three parts.
    let fleet = Fleet::new(&format!("cache \"{url}\" push=#true"), 20_000_000);
    let name = url.split('?').next().unwrap();
    a_pushes_b_fetches(&fleet, &[], &s3_env(), name);
    assert!(
        fs::metadata(fleet.a.path().join("build/hello.zip"))
            .unwrap()
            .len()
            > 16 << 20
    );
}

#[test]
fn garage_cluster_of_three_shares_builds_between_nodes() {
    let Some(garage) = Garage::start(3) else {
        return;
    };
    let (push, read) = (garage.url(0, "fleet"), garage.url(2, "fleet"));
    let fleet = Fleet::new(&format!("cache \"{push}\" push=#true"), 100_000);
    let stores = tempfile::tempdir().unwrap();
    let secret = fleet.secret();
    let args = ["--signing-key", secret.to_str().unwrap()];
    ok(&build(
        fleet.a.path(),
        &stores.path().join("a"),
        &args,
        &s3_env(),
    ));
    let b = fleet.runner_b();
    let spec = fs::read_to_string(b.path().join("layer.kdl")).unwrap();
    fs::write(b.path().join("layer.kdl"), spec.replace(&push, &read)).unwrap();
    let out = ok(&build(
        b.path(),
        &stores.path().join("b"),
        &["--locked"],
        &s3_env(),
    ));
    assert!(out.contains("from remote cache s3://layers/fleet"), "{out}");
    assert_eq!(
        fs::read(fleet.a.path().join("build/hello.zip")).unwrap(),
        fs::read(b.path().join("build/hello.zip")).unwrap()
    );
}

/// The bytes under the zip's blob name replaced through the S3 API itself.
#[test]
fn garage_object_replaced_is_refused() {
    use layerc::cache::backend::Backend;
    use layerc::cache::location::{CacheSpec, Kind};
    let Some(garage) = Garage::start(1) else {
        return;
    };
    let url = garage.url(0, "tamper");
    let fleet = Fleet::new(&format!("cache \"{url}\" push=#true"), 50_000);
    let stores = tempfile::tempdir().unwrap();
    let secret = fleet.secret();
    let env = s3_env();
    let args = ["--signing-key", secret.to_str().unwrap()];
    ok(&build(
        fleet.a.path(),
        &stores.path().join("a"),
        &args,
        &env,
    ));
    let lock = fs::read_to_string(fleet.a.path().join("layer.lock")).unwrap();
    let zip_sha = lock.split("zip sha256=\"").nth(1).unwrap()[..64].to_string();
    let Kind::S3(location) = CacheSpec::parse(&url, std::path::Path::new("/"))
        .unwrap()
        .kind
    else {
        panic!("an S3 URL");
    };
    let client = std::sync::Arc::new(layerc::net::Client::with_timeout(
        std::time::Duration::from_secs(10),
    ));
    let s3 = layerc::cache::s3::S3Cache::with_credentials(location, client, KEY_ID, SECRET);
    let forged = fleet.a.path().join("forged.zip");
    let mut bytes = fs::read(fleet.a.path().join("build/hello.zip")).unwrap();
    bytes[200] ^= 1;
    fs::write(&forged, &bytes).unwrap();
    let body = layerc::net::Body::File {
        path: forged,
        offset: 0,
        len: bytes.len() as u64,
    };
    s3.upload(&format!("blobs/sha256/{zip_sha}"), &body)
        .unwrap();
    let b = fleet.runner_b();
    let out = build(b.path(), &stores.path().join("b"), &["--locked"], &env);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("refused the zip of"), "{err}");
    assert!(err.contains(&format!("not the sha256:{zip_sha}")), "{err}");
    assert!(!b.path().join("build").exists());
}

/// The shared credentials file and a named profile, as the AWS CLI reads them; wrong keys are a
/// warning and a local build.
#[test]
fn garage_with_profile_credentials_and_with_wrong_ones() {
    let Some(garage) = Garage::start(1) else {
        return;
    };
    let url = garage.url(0, "profiles");
    let fleet = Fleet::new(&format!("cache \"{url}\" push=#true"), 10_000);
    let aws = tempfile::tempdir().unwrap();
    let credentials = aws.path().join("credentials");
    fs::write(
        &credentials,
        format!("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[ci]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    let file = credentials.to_str().unwrap();
    let home = aws.path().to_str().unwrap();
    let base = [
        ("AWS_SHARED_CREDENTIALS_FILE", file),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("HOME", home),
    ];
    let stores = tempfile::tempdir().unwrap();
    let secret = fleet.secret();
    let args = ["--signing-key", secret.to_str().unwrap()];
    // The default profile's keys are refused: a warning, and the layer is built all the same.
    let out = ok(&build(
        fleet.a.path(),
        &stores.path().join("a"),
        &args,
        &base,
    ));
    assert!(
        out.contains(&format!("remote cache s3://{BUCKET}/profiles")),
        "{out}"
    );
    assert!(out.contains("S3 answered 403"), "{out}");
    let mut env = base.to_vec();
    env.push(("AWS_PROFILE", "ci"));
    fs::remove_dir_all(stores.path().join("a")).unwrap();
    let out = ok(&build(
        fleet.a.path(),
        &stores.path().join("a"),
        &args,
        &env,
    ));
    assert!(
        out.contains(&format!("pushed to s3://{BUCKET}/profiles")),
        "{out}"
    );
}

#[test]
fn an_s3_cache_down_or_silent_leaves_a_local_build() {
    let silent = Silent::start();
    let closed = free_port();
    let lines = format!(
        "cache \"s3://b/p?endpoint=http://127.0.0.1:{}&region=r\" push=#true\ncache \"s3://b/q?endpoint=http://127.0.0.1:{closed}&region=r\"",
        silent.port
    );
    let fleet = Fleet::new(&lines, 10_000);
    let stores = tempfile::tempdir().unwrap();
    let mut env = s3_env();
    env.push(("LAYERC_CACHE_TIMEOUT", "1"));
    let out = ok(&build(fleet.a.path(), stores.path(), &[], &env));
    assert!(
        out.contains("remote cache s3://b/p cannot be reached"),
        "{out}"
    );
    assert!(out.contains("timed out"), "{out}");
    assert!(
        out.contains("remote cache s3://b/q cannot be reached"),
        "{out}"
    );
    // Each is given up once, not once per request.
    assert_eq!(out.matches("cannot be reached").count(), 2, "{out}");
    unzip_ok(&fleet.a.path().join("build/hello.zip"));
}

#[test]
fn garage_keeps_blobs_by_digest() {
    let Some(garage) = Garage::start(1) else {
        return;
    };
    // The library reads the same environment the command line does.
    let url = garage.url(0, "blobs");
    let env = s3_env();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "cache::s3::blob_round_trip_in_a_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("LAYERC_TEST_BLOB_URL", &url)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

/// Run by `garage_keeps_blobs_by_digest` in a process of its own, with Garage's key in its
/// environment (a test thread must not change the suite's environment).
#[test]
#[ignore = "run by garage_keeps_blobs_by_digest"]
fn blob_round_trip_in_a_child() {
    let url = std::env::var("LAYERC_TEST_BLOB_URL").expect("run by garage_keeps_blobs_by_digest");
    blobs_round_trip(&url);
}

/// Credentials from ECS's container endpoint, EC2's instance metadata (IMDSv2: a token first) and
/// STS's web identity exchange, each served by nginx on loopback (`AWS_CONTAINER_CREDENTIALS_FULL_URI`,
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_ENDPOINT_URL_STS` point there), then used against Garage.
#[test]
fn garage_with_container_instance_and_web_identity_credentials() {
    use super::servers::Nginx;
    let Some(garage) = Garage::start(1) else {
        return;
    };
    let json = format!(
        r#"{{"AccessKeyId": "{KEY_ID}", "SecretAccessKey": "{SECRET}", "Token": "", "Expiration": "2099-01-01T00:00:00Z"}}"#
    );
    let sts = format!(
        "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{KEY_ID}</AccessKeyId><SecretAccessKey>{SECRET}</SecretAccessKey></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
    );
    let locations = format!(
        "    location = /creds {{\n      if ($http_authorization != \"secret-token\") {{ return 403; }}\n      default_type application/json;\n      return 200 '{json}';\n    }}\n\
         location = /latest/api/token {{\n      if ($request_method != PUT) {{ return 405; }}\n      return 200 'imds-token';\n    }}\n\
         location = /latest/meta-data/iam/security-credentials/ {{\n      if ($http_x_aws_ec2_metadata_token != \"imds-token\") {{ return 401; }}\n      return 200 'fleet-role';\n    }}\n\
         location = /latest/meta-data/iam/security-credentials/fleet-role {{\n      if ($http_x_aws_ec2_metadata_token != \"imds-token\") {{ return 401; }}\n      return 200 '{json}';\n    }}\n\
         location = /sts/ {{\n      if ($request_method != POST) {{ return 405; }}\n      return 200 '{sts}';\n    }}"
    );
    let Some(nginx) = Nginx::start(&locations) else {
        return;
    };
    let url = garage.url(0, "chain");
    let fleet = Fleet::new(&format!("cache \"{url}\" push=#true"), 10_000);
    let token = fleet.a.write("oidc-token", "a.jwt.token");
    let creds = format!("{}/creds", nginx.url);
    let sts = format!("{}/sts", nginx.url);
    let aws = fleet.a.path().to_str().unwrap();
    let none = [
        ("HOME", aws),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ];
    let ways: [Vec<(&str, &str)>; 3] = [
        vec![
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &creds),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-token"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
        vec![("AWS_EC2_METADATA_SERVICE_ENDPOINT", &nginx.url)],
        vec![
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/fleet"),
            ("AWS_ENDPOINT_URL_STS", &sts),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    ];
    let secret = fleet.secret();
    let args = ["--signing-key", secret.to_str().unwrap()];
    for (n, way) in ways.iter().enumerate() {
        let mut env = none.to_vec();
        env.extend(way.iter().copied());
        let store = tempfile::tempdir().unwrap();
        let out = ok(&build(fleet.a.path(), store.path(), &args, &env));
        // The first pushes; the others find the entry (a trusted one, fetched with those keys).
        let expected = if n == 0 {
            "pushed to s3://layers/chain"
        } else {
            "from remote cache s3://layers/chain"
        };
        assert!(out.contains(expected), "{way:?}: {out}");
    }
}
