//! A throwaway GnuPG home with one RSA signing key, for signing test repositories.

use std::path::Path;
use std::process::Command;

use super::run;

pub(crate) struct Gpg {
    home: tempfile::TempDir,
    pub uid: String,
}

impl Gpg {
    pub(crate) fn new(name: &str) -> Gpg {
        let home = tempfile::Builder::new()
            .prefix("layerc-gpg-")
            .tempdir()
            .unwrap();
        let uid = format!("{name} <{name}@example.com>");
        let gpg = Gpg { home, uid };
        run(gpg
            .cmd()
            .args(["--passphrase", "", "--quick-gen-key"])
            .arg(&gpg.uid)
            .args(["rsa3072", "sign", "never"]));
        gpg
    }

    pub(crate) fn home(&self) -> &Path {
        self.home.path()
    }

    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.home.path()).args([
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
        ]);
        cmd
    }

    /// The public key, ASCII-armored (`armor`) or as a binary keyring.
    pub(crate) fn export(&self, to: &Path, armor: bool) {
        let mut cmd = self.cmd();
        if armor {
            cmd.arg("--armor");
        }
        run(cmd.arg("--output").arg(to).arg("--export").arg(&self.uid));
    }

    pub(crate) fn clearsign(&self, input: &Path, output: &Path) {
        run(self
            .cmd()
            .args(["--local-user", &self.uid, "--output"])
            .arg(output)
            .arg("--clearsign")
            .arg(input));
    }

    pub(crate) fn detach_sign(&self, input: &Path, output: &Path) {
        run(self
            .cmd()
            .args(["--local-user", &self.uid, "--armor", "--output"])
            .arg(output)
            .arg("--detach-sign")
            .arg(input));
    }
}
