//! The function's file system as Lambda lays it out: the application at `/var/task`, the layers'
//! planned entries unpacked at `/opt` (a later layer's file replacing an earlier one's, as Lambda
//! extracts them in order). Everything else (`/lib64`, `/var/lang/lib`) is the runtime's, known from
//! the catalog only, so it is absent here.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use crate::plan::{Content, LayerPlan};
use crate::rootfs::{Bytes, Kind, Metadata, RootFs, RootPath, Stamp};

/// Where the application is unpacked.
pub const TASK: &str = "/var/task";
/// Where layers are unpacked.
pub const OPT: &str = "/opt";

#[derive(Clone)]
enum OptEntry {
    Dir,
    File {
        fs: Arc<dyn RootFs>,
        source: RootPath,
        size: u64,
        mode: u32,
    },
    Symlink(String),
}

pub struct FunctionFs {
    app: Arc<dyn RootFs>,
    /// `/opt`'s entries by path below `/opt` (`/lib/libx.so.1`).
    opt: BTreeMap<RootPath, OptEntry>,
}

/// What a path of the function's file system is.
enum Place {
    /// A folder on the way to a mount (`/`, `/var`).
    Above,
    App(RootPath),
    Opt(RootPath),
    Nothing,
}

impl FunctionFs {
    /// `layers` in the order the function lists them, each with the rootfs its files come from.
    pub fn new(app: Arc<dyn RootFs>, layers: &[(&LayerPlan, Arc<dyn RootFs>)]) -> FunctionFs {
        let mut opt = BTreeMap::from([(RootPath::root(), OptEntry::Dir)]);
        for (plan, fs) in layers {
            for entry in &plan.entries {
                let path = RootPath::new(entry.path.as_str());
                let mut parent = path.parent();
                while parent != RootPath::root() {
                    opt.insert(parent.clone(), OptEntry::Dir);
                    parent = parent.parent();
                }
                let value = match &entry.content {
                    Content::File { source, size, mode } => OptEntry::File {
                        fs: fs.clone(),
                        source: source.clone(),
                        size: *size,
                        mode: *mode,
                    },
                    Content::Symlink { target } => OptEntry::Symlink(target.as_str().to_string()),
                };
                opt.insert(path, value);
            }
        }
        FunctionFs { app, opt }
    }

    fn place(path: &RootPath) -> Place {
        let p = path.as_str();
        if p == "/" || p == "/var" {
            return Place::Above;
        }
        for (mount, wrap) in [
            (TASK, Place::App as fn(RootPath) -> Place),
            (OPT, Place::Opt),
        ] {
            if p == mount {
                return wrap(RootPath::root());
            }
            if let Some(rest) = p.strip_prefix(mount).filter(|r| r.starts_with('/')) {
                return wrap(RootPath::new(rest));
            }
        }
        Place::Nothing
    }

    /// Runs a file operation on the backend that holds `path`, at its path there.
    fn on_file<T>(
        &self,
        path: &RootPath,
        op: impl FnOnce(&dyn RootFs, &RootPath) -> io::Result<T>,
    ) -> io::Result<T> {
        match Self::place(path) {
            Place::App(p) => op(self.app.as_ref(), &p),
            Place::Opt(p) => match self.opt.get(&p) {
                Some(OptEntry::File { fs, source, .. }) => op(fs.as_ref(), source),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{path} is not a regular file"),
                )),
            },
            _ => Err(absent(path)),
        }
    }
}

fn absent(path: &RootPath) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, path.to_string())
}

impl RootFs for FunctionFs {
    fn lstat(&self, path: &RootPath) -> io::Result<Option<Metadata>> {
        let dir = Metadata {
            kind: Kind::Dir,
            len: 0,
            mode: 0o755,
        };
        match Self::place(path) {
            Place::Above => Ok(Some(dir)),
            Place::App(p) => self.app.lstat(&p),
            Place::Opt(p) => Ok(self.opt.get(&p).map(|e| match e {
                OptEntry::Dir => dir,
                OptEntry::File { size, mode, .. } => Metadata {
                    kind: Kind::File,
                    len: *size,
                    mode: *mode,
                },
                OptEntry::Symlink(t) => Metadata {
                    kind: Kind::Symlink,
                    len: t.len() as u64,
                    mode: 0o777,
                },
            })),
            Place::Nothing => Ok(None),
        }
    }

    fn read_link(&self, path: &RootPath) -> io::Result<String> {
        match Self::place(path) {
            Place::App(p) => self.app.read_link(&p),
            Place::Opt(p) => match self.opt.get(&p) {
                Some(OptEntry::Symlink(t)) => Ok(t.clone()),
                _ => Err(absent(path)),
            },
            _ => Err(absent(path)),
        }
    }

    fn read(&self, path: &RootPath, limit: u64) -> io::Result<Vec<u8>> {
        self.on_file(path, |fs, p| fs.read(p, limit))
    }

    fn map(&self, path: &RootPath) -> io::Result<Bytes> {
        self.on_file(path, |fs, p| fs.map(p))
    }

    fn read_prefix(&self, path: &RootPath, len: usize) -> io::Result<Vec<u8>> {
        self.on_file(path, |fs, p| fs.read_prefix(p, len))
    }

    fn read_dir(&self, path: &RootPath) -> io::Result<Vec<String>> {
        match Self::place(path) {
            Place::Above if path.as_str() == "/" => Ok(vec!["opt".into(), "var".into()]),
            Place::Above => Ok(vec!["task".into()]),
            Place::App(p) => self.app.read_dir(&p),
            Place::Opt(p) => {
                let prefix = if p.as_str() == "/" {
                    "/".to_string()
                } else {
                    format!("{p}/")
                };
                Ok(self
                    .opt
                    .keys()
                    .filter_map(|k| k.as_str().strip_prefix(&prefix))
                    .filter(|rest| !rest.is_empty() && !rest.contains('/'))
                    .map(str::to_string)
                    .collect())
            }
            Place::Nothing => Err(absent(path)),
        }
    }

    fn stamp(&self, path: &RootPath) -> io::Result<Option<Stamp>> {
        match Self::place(path) {
            Place::App(p) => self.app.stamp(&p),
            Place::Opt(p) => match self.opt.get(&p) {
                Some(OptEntry::File { fs, source, .. }) => fs.stamp(source),
                _ => Ok(None),
            },
            _ => Ok(None),
        }
    }
}
