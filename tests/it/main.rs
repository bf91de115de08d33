//! The integration suite: one binary, each test in a fresh folder, fixtures compiled by `cc`.

mod common;

mod catalog;
mod cli;
mod debian;
mod emit;
mod lddtree;
mod recipe_config;
mod recipes;
mod resolution;
mod spec_errors;
mod validation;
