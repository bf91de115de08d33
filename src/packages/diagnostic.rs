//! How a package rootfs that could not be prepared is reported: the code, label and help line of
//! each kind of failure.

use super::{Failure, PackagesError};
use crate::diagnostic::{Code, Diagnostic};
use crate::spec::PackageRootfs;

/// A package rootfs that could not be prepared, at the `package` node it is about (else the
/// `rootfs` block).
pub(crate) fn diagnostic(e: &PackagesError, packages: &PackageRootfs) -> Diagnostic {
    let requested = packages.requested();
    let node = e
        .package
        .as_ref()
        .and_then(|name| requested.iter().find(|p| &p.value == name));
    let span = node.map_or(packages.span, |p| p.span);
    let (code, label, help) = match &e.failure {
        Failure::Unknown { closest } => {
            let help = closest.as_ref().map_or_else(
                || "check the name with the repository (`apt-cache search`, `dnf search`): a package rootfs names binary packages".to_string(),
                |c| format!("did you mean `{c}`?"),
            );
            return Diagnostic::error(Code::RootfsPackageUnknown, e.to_string())
                .at(span)
                .label("unknown package")
                .help(help)
                .suggest(closest.clone());
        }
        Failure::Unsatisfiable => (
            Code::RootfsPackageUnsatisfiable,
            "cannot be installed",
            "add a source that has the missing package (an updates or security suite, another component), or name another package",
        ),
        Failure::Signature | Failure::Key => (
            Code::RootfsPackageSignature,
            "not verified",
            "give the repository's signing key with `key=\"FILE\"` (a keyring or an armored key); `trusted=#true` skips the check, for a local test repository only",
        ),
        Failure::Pinned => (
            Code::LockPackages,
            "locked package",
            "the file layer.lock pins is gone or changed on the mirror: point `mirror=` at a snapshot that still has it, or run `layerc lock` to resolve again",
        ),
        Failure::Unreachable | Failure::Network | Failure::Index | Failure::Store => (
            Code::RootfsPackages,
            "package source",
            "check the URL, the network ($HTTPS_PROXY, $LAYERC_CA_FILE, $LAYERC_NET_TIMEOUT) and the store; files already fetched are kept for the next attempt",
        ),
    };
    Diagnostic::error(code, e.to_string())
        .at(span)
        .label(label)
        .help(help)
}
