//! Analysis off the message loop: one worker thread runs `Session::analyze` for the newest text of
//! each document and publishes its diagnostics. A job whose version is no longer the newest is
//! skipped (before and after analysing), so an older version is never published after a newer one.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use lsp_server::{Message, Notification};
use lsp_types::notification::{Notification as _, PublishDiagnostics};
use lsp_types::{PublishDiagnosticsParams, Uri};

use super::convert::{DocsLink, Target, to_lsp};
use super::text::{Document, Encoding};
use crate::analysis::Analysis;
use crate::diagnostic::SourceFile;
use crate::runtime::Date;
use crate::session::Session;

/// The newest analysis of a document, with the exact text it was made from.
pub(crate) struct Snapshot {
    pub doc: Document,
    pub analysis: Analysis,
}

pub(super) enum Job {
    Analyze { uri: Uri, doc: Document },
    Close { uri: Uri },
}

/// What the message loop and the worker share.
#[derive(Default)]
pub(super) struct Shared {
    /// The newest version submitted per document; `None` once closed.
    latest: Mutex<HashMap<String, i32>>,
    snapshots: Mutex<HashMap<String, Arc<Snapshot>>>,
}

impl Shared {
    pub(super) fn submitted(&self, uri: &Uri, version: i32) {
        self.lock_latest().insert(uri.as_str().to_string(), version);
    }

    pub(super) fn closed(&self, uri: &Uri) {
        self.lock_latest().remove(uri.as_str());
    }

    fn is_current(&self, uri: &Uri, version: i32) -> bool {
        self.lock_latest().get(uri.as_str()) == Some(&version)
    }

    pub(super) fn snapshot(&self, uri: &Uri) -> Option<Arc<Snapshot>> {
        crate::lock(&self.snapshots).get(uri.as_str()).cloned()
    }

    fn lock_latest(&self) -> std::sync::MutexGuard<'_, HashMap<String, i32>> {
        crate::lock(&self.latest)
    }

    fn store(&self, uri: &Uri, snapshot: Option<Snapshot>) {
        let mut map = crate::lock(&self.snapshots);
        match snapshot {
            Some(s) => map.insert(uri.as_str().to_string(), Arc::new(s)),
            None => map.remove(uri.as_str()),
        };
    }
}

pub(super) struct Worker {
    pub session: Arc<Session>,
    pub shared: Arc<Shared>,
    pub out: Sender<Message>,
    pub encoding: Encoding,
    pub docs: DocsLink,
}

impl Worker {
    pub(super) fn spawn(self, jobs: Receiver<Job>) -> JoinHandle<()> {
        std::thread::Builder::new()
            .name("layerc-analysis".to_string())
            .spawn(move || self.run(jobs))
            .expect("spawn the analysis thread")
    }

    fn run(self, jobs: Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            // Everything queued meanwhile: only each document's last job matters.
            let mut batch = vec![first];
            batch.extend(jobs.try_iter());
            let mut last: HashMap<String, usize> = HashMap::new();
            for (i, job) in batch.iter().enumerate() {
                last.insert(job_uri(job).as_str().to_string(), i);
            }
            for (i, job) in batch.into_iter().enumerate() {
                if last.get(job_uri(&job).as_str()) == Some(&i) {
                    self.handle(job);
                }
            }
        }
    }

    fn handle(&self, job: Job) {
        match job {
            Job::Close { uri } => {
                self.shared.store(&uri, None);
                self.publish(uri, Vec::new(), None);
            }
            Job::Analyze { uri, doc } => {
                if !self.shared.is_current(&uri, doc.version) {
                    return;
                }
                let analysis = catch_unwind(AssertUnwindSafe(|| self.analyze(&uri, &doc)));
                let Ok(analysis) = analysis else {
                    self.log(&format!("layerc: analysis of {} failed", uri.as_str()));
                    return;
                };
                if !self.shared.is_current(&uri, doc.version) {
                    return;
                }
                let at = Target {
                    uri: &uri,
                    doc: &doc,
                    sources: &analysis.sources,
                    enc: self.encoding,
                };
                let diags = analysis
                    .diagnostics
                    .iter()
                    .map(|d| to_lsp(d, &at, &self.docs))
                    .collect();
                let version = doc.version;
                self.shared.store(&uri, Some(Snapshot { doc, analysis }));
                self.publish(uri, diags, Some(version));
            }
        }
    }

    fn analyze(&self, uri: &Uri, doc: &Document) -> Analysis {
        let path = super::convert::uri_path(uri);
        let dir = path
            .as_ref()
            .and_then(|p| p.parent())
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."));
        let name = path.map_or_else(|| uri.as_str().to_string(), |p| p.display().to_string());
        let source = SourceFile::new(name, doc.text.as_str());
        self.session.analyze(source, &dir, Date::today())
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>, version: Option<i32>) {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        let note = Notification::new(PublishDiagnostics::METHOD.to_string(), params);
        let _ = self.out.send(note.into());
    }
}

impl Worker {
    /// A message for the client's log (the protocol owns stdout; nothing else is printed).
    fn log(&self, message: &str) {
        let params = lsp_types::LogMessageParams {
            typ: lsp_types::MessageType::ERROR,
            message: message.to_string(),
        };
        let note = Notification::new("window/logMessage".to_string(), params);
        let _ = self.out.send(note.into());
    }
}

fn job_uri(job: &Job) -> &Uri {
    match job {
        Job::Analyze { uri, .. } | Job::Close { uri } => uri,
    }
}
