//! Image references: `docker://REGISTRY/REPO:TAG` and `docker://REGISTRY/REPO@sha256:HEX`, as
//! the spec writes them and the registry client pulls them, normalised as docker normalises names
//! (distribution/reference's `ParseNormalizedNamed`): a first component without `.` or `:` that
//! is not `localhost` is a Docker Hub name (`docker.io`), and a Docker Hub name of one component
//! is under `library/`; no tag and no digest means `:latest`.

use std::fmt;

/// The transport prefix of an image reference (skopeo's and podman's name for it).
pub const SCHEME: &str = "docker://";

const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API is served (docker's `DefaultV2Registry`).
const DOCKER_HUB_ENDPOINT: &str = "registry-1.docker.io";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    /// The registry as named (`docker.io`, `public.ecr.aws`, `127.0.0.1:5000`).
    pub registry: String,
    /// The repository path (`library/debian`, `lambda/dotnet`).
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:HEX`, when the reference pins one.
    pub digest: Option<String>,
}

/// Whether a `rootfs` or `target-rootfs` value is a reference rather than a path.
pub fn is_reference(value: &str) -> bool {
    value.starts_with(SCHEME)
}

impl Reference {
    /// Parses `docker://NAME[:TAG][@DIGEST]`.
    pub fn parse(text: &str) -> Result<Reference, String> {
        let rest = text
            .strip_prefix(SCHEME)
            .ok_or_else(|| format!("an image reference starts with `{SCHEME}`"))?;
        let (name, digest) = match rest.split_once('@') {
            Some((name, digest)) => (name, Some(check_digest(digest)?)),
            None => (rest, None),
        };
        let (name, tag) = split_tag(name);
        if let Some(tag) = tag {
            check_tag(tag)?;
        }
        let (registry, repository) = split_registry(name);
        check_repository(&repository)?;
        let tag = tag
            .map(str::to_string)
            .or_else(|| digest.is_none().then(|| "latest".to_string()));
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The host (and port) the registry API is served on.
    pub fn endpoint(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_ENDPOINT
        } else {
            &self.registry
        }
    }

    /// What a manifest request names: the digest when there is one, else the tag.
    pub fn manifest_ref(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// The same image by digest.
    pub fn with_digest(&self, digest: &str) -> Reference {
        Reference {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// A tag follows the last `:` that comes after the last `/` (a `:` before it is a port).
fn split_tag(name: &str) -> (&str, Option<&str>) {
    let last = name.rfind('/').map_or(0, |i| i + 1);
    match name[last..].rfind(':') {
        Some(i) => (&name[..last + i], Some(&name[last + i + 1..])),
        None => (name, None),
    }
}

fn split_registry(name: &str) -> (String, String) {
    let (first, rest) = match name.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (name, None),
    };
    match rest {
        Some(rest) if first.contains(['.', ':']) || first == "localhost" => {
            let registry = if first == "index.docker.io" {
                DOCKER_HUB
            } else {
                first
            };
            let repository = if registry == DOCKER_HUB && !rest.contains('/') {
                format!("library/{rest}")
            } else {
                rest.to_string()
            };
            (registry.to_string(), repository)
        }
        Some(_) => (DOCKER_HUB.to_string(), name.to_string()),
        None => (DOCKER_HUB.to_string(), format!("library/{name}")),
    }
}

/// Repository components: lower-case letters and digits, joined by `.`, `_`, `__` or `-`s.
fn check_repository(repository: &str) -> Result<(), String> {
    let ok = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
    };
    if repository.len() <= 255 && repository.split('/').all(ok) {
        Ok(())
    } else {
        Err(format!(
            "`{repository}` is not a repository name (lower-case letters, digits and `._-` between `/`)"
        ))
    }
}

fn check_tag(tag: &str) -> Result<(), String> {
    let ok = tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{tag}` is not a tag (letters, digits, `_`, `.` and `-`, at most 128)"
        ))
    }
}

fn check_digest(digest: &str) -> Result<String, String> {
    match digest.split_once(':') {
        Some(("sha256", hex)) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
        }
        _ => Err(format!(
            "`{digest}` is not a digest layerc checks (write `sha256:` and 64 hexadecimal digits)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> String {
        let r = Reference::parse(text).unwrap();
        format!("{} {} {}", r.endpoint(), r.repository, r.manifest_ref())
    }

    #[test]
    fn docker_hub_names_expand_as_docker_does() {
        assert_eq!(
            parsed("docker://debian"),
            "registry-1.docker.io library/debian latest"
        );
        assert_eq!(
            parsed("docker://debian:bookworm"),
            "registry-1.docker.io library/debian bookworm"
        );
        assert_eq!(
            parsed("docker://user/app:1"),
            "registry-1.docker.io user/app 1"
        );
        assert_eq!(
            parsed("docker://docker.io/debian"),
            "registry-1.docker.io library/debian latest"
        );
        assert_eq!(
            Reference::parse("docker://debian").unwrap().to_string(),
            "docker://docker.io/library/debian:latest"
        );
    }

    #[test]
    fn registries_ports_and_digests() {
        assert_eq!(
            parsed("docker://public.ecr.aws/lambda/dotnet:8"),
            "public.ecr.aws lambda/dotnet 8"
        );
        assert_eq!(
            parsed("docker://127.0.0.1:5000/a/b"),
            "127.0.0.1:5000 a/b latest"
        );
        assert_eq!(parsed("docker://localhost/a"), "localhost a latest");
        let hex = "a".repeat(64);
        let by_digest = Reference::parse(&format!("docker://r.io/x:1@sha256:{hex}")).unwrap();
        assert_eq!(by_digest.manifest_ref(), format!("sha256:{hex}"));
        assert_eq!(by_digest.tag.as_deref(), Some("1"));
    }

    #[test]
    fn bad_references_are_refused() {
        for bad in [
            "debian",
            "docker://",
            "docker://Debian",
            "docker://r.io/x:bad/tag",
            "docker://r.io/x@md5:00",
            "docker://r.io/x:-t",
            "docker://r.io//x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }
}
