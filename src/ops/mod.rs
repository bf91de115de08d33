//! Operations any front end runs whole, in cargo's `ops` shape: options in, a report out. The
//! command line maps its arguments onto them and prints what they report.

mod build;
pub mod summary;

pub use build::{
    BuildError, BuildOptions, Built, build, fresh_lock, lock_would_change, missing_folders,
};
