//! The integration suite: one binary, each test in a fresh folder, fixtures compiled by `cc`.

mod common;
mod lsp_client;
mod lsp_oracle;

mod app_artifacts;
mod app_fix;
mod app_pinvoke;
mod app_scan;
mod app_spec;
mod architecture;
mod artifacts;
mod catalog;
mod cli;
mod debian;
mod dotnet;
mod emit;
mod fuzz_regressions;
mod hostile;
mod hostile_input;
mod images;
mod imports;
mod lddtree;
mod lsp;
mod lsp_nvim;
mod merge;
mod merge_corpus;
mod merge_text;
mod recipe_config;
mod recipes;
mod resolution;
mod runtime_scan;
mod session;
mod spec_errors;
mod stack;
mod template_checks;
mod validation;
