// Starts `layerc lsp` for files named layer.kdl: diagnostics, completion, hover, go to
// definition, outline and quick fixes all come from the server.
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate() {
  const command = vscode.workspace.getConfiguration('layerc').get('path') || 'layerc';
  const serverOptions = { command, args: ['lsp'] };
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'layerc' }],
  };
  client = new LanguageClient('layerc', 'layerc', serverOptions, clientOptions);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
