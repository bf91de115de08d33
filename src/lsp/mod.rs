//! `layerc lsp`: the language server. The same front half as the CLI (`Session::analyze`), a
//! second renderer. Invariant: this is the only module that knows the protocol; positions are
//! converted in `text`, diagnostics in `convert`, and analysis runs on the `worker` thread.

mod actions;
mod complete;
mod context;
mod convert;
mod hover;
mod navigate;
mod text;
pub mod transport;
mod worker;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crossbeam_channel::Sender;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, GotoDefinition, HoverRequest,
    Request as _,
};
use lsp_types::{
    CodeActionProviderCapability, CompletionOptions, HoverProviderCapability, InitializeParams,
    OneOf, SaveOptions, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri,
};

use crate::runtime::Catalog;
use crate::session::Session;
use convert::DocsLink;
use text::{Document, Encoding};
use worker::{Job, Shared, Worker};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs the server on stdin/stdout; returns the process exit code (0 after `shutdown` + `exit`,
/// 1 after an `exit` without `shutdown` or at the end of the input), or a protocol or I/O error.
/// Frames are read by [`transport`], with a cap on their size.
pub fn run_stdio(catalog: &'static Catalog) -> Result<i32, Error> {
    transport::run(|connection| serve_with(connection, catalog))
}

/// Serves one client over `connection` until `exit`. Returns 0 when `exit` followed `shutdown`.
pub fn serve(connection: Connection) -> Result<i32, Error> {
    serve_with(connection, Catalog::builtin())
}

/// [`serve`] with another catalog than the built-in one (`--catalog`).
pub fn serve_with(connection: Connection, catalog: &'static Catalog) -> Result<i32, Error> {
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams = serde_json::from_value(params)?;
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_deref());
    let encoding = Encoding::negotiate(offered);
    let docs_url = params
        .initialization_options
        .as_ref()
        .and_then(|o| o.get("diagnosticsUrl"))
        .and_then(|v| v.as_str());
    let result = serde_json::json!({
        "capabilities": capabilities(encoding),
        "serverInfo": ServerInfo {
            name: "layerc".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        },
    });
    connection.initialize_finish(id, result)?;

    let session = Arc::new(Session::new(catalog));
    let shared = Arc::new(Shared::default());
    let (jobs, job_receiver) = crossbeam_channel::unbounded();
    let worker = Worker {
        session: session.clone(),
        shared: shared.clone(),
        out: connection.sender.clone(),
        encoding,
        docs: DocsLink::new(docs_url),
    }
    .spawn(job_receiver);
    let mut server = Server {
        out: connection.sender.clone(),
        encoding,
        docs: HashMap::new(),
        session,
        shared,
        jobs,
        shut_down: false,
    };
    let code = server.main_loop(&connection);
    drop(server);
    let _ = worker.join();
    Ok(code)
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..Default::default()
            },
        )),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["\"".to_string(), "=".to_string()]),
            ..Default::default()
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..Default::default()
    }
}

struct Server {
    out: Sender<Message>,
    encoding: Encoding,
    docs: HashMap<String, Document>,
    session: Arc<Session>,
    shared: Arc<Shared>,
    jobs: Sender<Job>,
    shut_down: bool,
}

impl Server {
    fn main_loop(&mut self, connection: &Connection) -> i32 {
        for message in &connection.receiver {
            match message {
                Message::Request(req) if req.method == "shutdown" => {
                    self.shut_down = true;
                    self.respond(Response::new_ok(req.id, ()));
                }
                Message::Request(req) if self.shut_down => self.respond(Response::new_err(
                    req.id,
                    ErrorCode::InvalidRequest as i32,
                    "the server is shutting down".to_string(),
                )),
                Message::Request(req) => self.request(req),
                Message::Notification(n) if n.method == "exit" => {
                    return if self.shut_down { 0 } else { 1 };
                }
                Message::Notification(n) => self.notification(n),
                Message::Response(_) => {}
            }
        }
        // The client went away without `exit`.
        1
    }

    fn respond(&self, response: Response) {
        let _ = self.out.send(response.into());
    }

    fn request(&mut self, req: Request) {
        let id = req.id.clone();
        let method = req.method.clone();
        // A request that panics fails alone: the session's locks tolerate poisoning, so the
        // server answers the next request as if this one had not come.
        let answer = catch_unwind(AssertUnwindSafe(|| match req.method.as_str() {
            Completion::METHOD => self.handle(req, complete::completion),
            HoverRequest::METHOD => self.handle(req, hover::hover),
            GotoDefinition::METHOD => self.handle(req, navigate::definition),
            DocumentSymbolRequest::METHOD => self.handle(req, navigate::symbols),
            CodeActionRequest::METHOD => self.handle(req, actions::code_actions),
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("unknown method {}", req.method),
            )),
        }));
        let result = answer.unwrap_or_else(|_| {
            Err((
                ErrorCode::InternalError,
                format!("layerc failed on {method} (an internal error); the server goes on"),
            ))
        });
        self.respond(match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        });
    }

    /// Decodes a request's parameters and runs a handler against the open document.
    fn handle<P, R>(
        &self,
        req: Request,
        f: fn(&Context<'_>, P) -> R,
    ) -> Result<serde_json::Value, (ErrorCode, String)>
    where
        P: serde::de::DeserializeOwned + HasUri,
        R: serde::Serialize,
    {
        let params: P = serde_json::from_value(req.params)
            .map_err(|e| (ErrorCode::InvalidParams, e.to_string()))?;
        let uri = params.uri().clone();
        let Some(doc) = self.docs.get(uri.as_str()) else {
            return Ok(serde_json::Value::Null);
        };
        let cx = Context {
            uri: &uri,
            doc,
            encoding: self.encoding,
            session: &self.session,
            snapshot: self.shared.snapshot(&uri),
        };
        serde_json::to_value(f(&cx, params)).map_err(|e| (ErrorCode::InternalError, e.to_string()))
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) = params::<lsp_types::DidOpenTextDocumentParams>(&n) {
                    let doc = Document::new(p.text_document.text, p.text_document.version);
                    self.update(p.text_document.uri, doc);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) = params::<lsp_types::DidChangeTextDocumentParams>(&n) {
                    let uri = p.text_document.uri;
                    let Some(mut doc) = self.docs.get(uri.as_str()).cloned() else {
                        return;
                    };
                    doc.apply(p.content_changes, self.encoding);
                    doc.version = p.text_document.version;
                    self.update(uri, doc);
                }
            }
            DidSaveTextDocument::METHOD => {
                // Files in the rootfs may have changed too: analyse the same text again.
                if let Ok(p) = params::<lsp_types::DidSaveTextDocumentParams>(&n)
                    && let Some(doc) = self.docs.get(p.text_document.uri.as_str()).cloned()
                {
                    self.update(p.text_document.uri, doc);
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) = params::<lsp_types::DidCloseTextDocumentParams>(&n) {
                    let uri = p.text_document.uri;
                    self.docs.remove(uri.as_str());
                    self.shared.closed(&uri);
                    let _ = self.jobs.send(Job::Close { uri });
                }
            }
            _ => {}
        }
    }

    fn update(&mut self, uri: Uri, doc: Document) {
        self.docs.insert(uri.as_str().to_string(), doc.clone());
        self.shared.submitted(&uri, doc.version);
        let _ = self.jobs.send(Job::Analyze { uri, doc });
    }
}

fn params<P: serde::de::DeserializeOwned>(n: &Notification) -> Result<P, serde_json::Error> {
    P::deserialize(&n.params)
}

/// What a request handler sees: the document as typed, and the newest analysis (possibly of an
/// older version while the worker catches up).
pub(crate) struct Context<'a> {
    pub uri: &'a Uri,
    pub doc: &'a Document,
    pub encoding: Encoding,
    pub session: &'a Session,
    pub snapshot: Option<Arc<worker::Snapshot>>,
}

impl Context<'_> {
    /// The snapshot when it was made from exactly the current text (its spans are valid here).
    pub(crate) fn current(&self) -> Option<&worker::Snapshot> {
        self.snapshot
            .as_deref()
            .filter(|s| s.doc.version == self.doc.version && s.doc.text == self.doc.text)
    }
}

/// Requests that name a document.
pub(crate) trait HasUri {
    fn uri(&self) -> &Uri;
}

macro_rules! has_uri {
    ($($ty:ty => |$p:ident| $e:expr;)*) => {
        $(impl HasUri for $ty {
            fn uri(&self) -> &Uri {
                let $p = self;
                $e
            }
        })*
    };
}

has_uri! {
    lsp_types::CompletionParams => |p| &p.text_document_position.text_document.uri;
    lsp_types::HoverParams => |p| &p.text_document_position_params.text_document.uri;
    lsp_types::GotoDefinitionParams => |p| &p.text_document_position_params.text_document.uri;
    lsp_types::DocumentSymbolParams => |p| &p.text_document.uri;
    lsp_types::CodeActionParams => |p| &p.text_document.uri;
}

#[cfg(test)]
mod tests {
    /// The server offers no formatting: the `kdl` crate's formatter (6.x) drops a comment at the
    /// end of a line. When this test fails, a newer formatter keeps comments and formatting can be
    /// offered.
    #[test]
    fn the_kdl_formatter_loses_trailing_comments() {
        let text = "layer \"fonts\" {\n    runtime \"provided.al2023\" // the newest\n}\n";
        let mut doc: kdl::KdlDocument = text.parse().unwrap();
        doc.autoformat();
        assert!(!doc.to_string().contains("// the newest"), "{doc}");
    }
}
