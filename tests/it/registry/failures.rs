//! Bad registries: a missing tag, a blob whose bytes were changed or grew in the registry's
//! storage, a server that never answers, one that asks to come back much later. Each is exit 2
//! naming the reference and the step, and nothing unchecked lands in the store.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::{build, report, spec_of, tools_or_skip, with_base};
use crate::common::Fixture;

/// The digest of the fixture image's (only) layer, from its OCI layout.
fn layer_digest() -> String {
    let layout = crate::images::tools::images().path("oci");
    let index = crate::images::tools::json_file(&layout.join("index.json"));
    let manifest = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest =
        crate::images::tools::json_file(&layout.join("blobs/sha256").join(&manifest[7..]));
    manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

fn stored_blob(fx: &Fixture, digest: &str) -> std::path::PathBuf {
    fx.path()
        .join("cache/images/registry/blobs/sha256")
        .join(&digest[7..])
}

/// Builds from a registry whose copy of the layer blob `alter` changed; the digest and the report
/// of a build that must fail with exit 2 and no zip.
fn pull_altered(fx: &Fixture, alter: impl FnOnce(&mut Vec<u8>)) -> (String, String) {
    let registry = with_base(fx);
    let digest = layer_digest();
    let file = registry.blob_file(&digest);
    let mut bytes = fs::read(&file).unwrap();
    alter(&mut bytes);
    fs::write(&file, &bytes).unwrap();
    fx.spec(&spec_of(&registry.reference("fx/base:1"), "x86_64"));
    let (out, zip) = build(fx, &[]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(zip.is_none());
    (digest, text)
}

#[test]
fn a_missing_tag_names_the_reference_and_the_step() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let registry = with_base(&fx);
    let reference = registry.reference("fx/base:nope");
    fx.spec(&spec_of(&reference, "x86_64"));
    let (out, zip) = build(&fx, &[]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("rootfs::registry"), "{text}");
    assert!(
        text.contains(&reference) && text.contains("fetching manifest nope"),
        "{text}"
    );
    assert!(text.contains("404"), "{text}");
    assert!(zip.is_none());
}

#[test]
fn a_tampered_blob_is_refused_and_never_stored() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let (digest, text) = pull_altered(&fx, |bytes| {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
    });
    assert!(text.contains(&format!("fetching blob {digest}")), "{text}");
    assert!(text.contains("not the sha256:"), "{text}");
    assert!(!stored_blob(&fx, &digest).exists());
    let partials = fs::read_dir(stored_blob(&fx, &digest).parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .count();
    assert_eq!(partials, 0, "a refused blob leaves no partial file");
}

#[test]
fn a_blob_larger_than_announced_is_cut_off() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let (digest, text) = pull_altered(&fx, |bytes| bytes.extend_from_slice(&[0; 4096]));
    assert!(text.contains("larger than"), "{text}");
    assert!(!stored_blob(&fx, &digest).exists());
}

/// A server on a new port that, for `life`, accepts connections and answers each with `reply`
/// (or holds it open without a word when `reply` is empty).
fn fake_server(reply: &'static str, life: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut held = Vec::new();
        while start.elapsed() < life {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let mut buf = [0; 4096];
                    let _ = stream.read(&mut buf);
                    if !reply.is_empty() {
                        let _ = stream.write_all(reply.as_bytes());
                    }
                    held.push(stream);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    addr
}

#[test]
fn a_registry_that_hangs_times_out() {
    let fx = Fixture::new();
    let addr = fake_server("", Duration::from_secs(60));
    let reference = format!("docker://{addr}/fx/base:1");
    fx.spec(&spec_of(&reference, "x86_64"));
    let start = Instant::now();
    let (out, _) = build(&fx, &[("LAYERC_NET_TIMEOUT", "1")]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&reference) && text.contains("timed out"),
        "{text}"
    );
    assert!(text.contains("contacting the registry"), "{text}");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn too_many_requests_names_the_retry_after() {
    let fx = Fixture::new();
    let addr = fake_server(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        Duration::from_secs(60),
    );
    fx.spec(&spec_of(&format!("docker://{addr}/fx/base:1"), "x86_64"));
    let (out, _) = build(&fx, &[]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("429") && text.contains("retry after 3600 s"),
        "{text}"
    );
}

#[test]
fn a_bad_reference_is_a_spec_error_at_its_node() {
    let fx = Fixture::new();
    fx.spec(&super::spec_with(
        "\"docker://Registry.example/UPPER:tag\"",
        "x86_64",
    ));
    let out = super::layerc(&fx, &["check"], &[]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("spec::bad-reference"), "{text}");
    fx.spec(&super::spec_with("\"rootfs\" tls-verify=#false", "x86_64"));
    let text = report(&super::layerc(&fx, &["check"], &[]));
    assert!(
        text.contains("`tls-verify` applies to image references only"),
        "{text}"
    );
}

#[test]
fn an_interrupted_pull_resumes_or_starts_again() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let registry = with_base(&fx);
    let digest = layer_digest();
    let blob = fs::read(registry.blob_file(&digest)).unwrap();
    let stored = stored_blob(&fx, &digest);
    let partial = stored.with_file_name(format!(".{}.partial", &digest[7..]));
    // The first half of the blob, as a pull stopped halfway leaves it: resumed with a Range.
    fs::create_dir_all(stored.parent().unwrap()).unwrap();
    fs::write(&partial, &blob[..blob.len() / 2]).unwrap();
    let reference = registry.reference("fx/base:1");
    assert!(super::built(&fx, &reference, &[]) == super::local_zip("oci"));
    assert_eq!(fs::read(&stored).unwrap(), blob);
    assert!(!partial.exists());
    // Bytes that are not the blob's start: the digest fails, and the blob is fetched whole.
    fs::remove_dir_all(fx.path().join("cache")).unwrap();
    fs::create_dir_all(stored.parent().unwrap()).unwrap();
    fs::write(&partial, vec![7; blob.len() / 3]).unwrap();
    assert!(super::built(&fx, &reference, &[]) == super::local_zip("oci"));
    assert_eq!(fs::read(&stored).unwrap(), blob);
}

#[test]
fn the_proxy_from_the_environment_is_used_unless_no_proxy_names_the_host() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let registry = with_base(&fx);
    let proxy = fake_server(
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        Duration::from_secs(60),
    );
    let proxy = format!("http://{proxy}");
    fx.spec(&spec_of(&registry.reference("fx/base:1"), "x86_64"));
    let (out, _) = build(&fx, &[("HTTP_PROXY", &proxy), ("NO_PROXY", "")]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("403"), "{text}");
    let (out, zip) = build(&fx, &[("HTTP_PROXY", &proxy), ("NO_PROXY", "127.0.0.1")]);
    assert!(out.status.success(), "{}", report(&out));
    assert!(zip.unwrap() == super::local_zip("oci"));
}
