//! The Vartalaap server: the only crate that knows HTTP, WebSocket and JSON wire formats.
//!
//! It owns the process edge — settings from the environment, logging, the `vartalaap` CLI and
//! the warp routes — and wires the inner crates (configuration, storage, engine, providers)
//! together. Library form so end-to-end tests can build the same routes the binary serves.

pub mod backup;
pub mod chat;
pub mod cli;
pub mod commands;
pub mod config_editor;
pub mod dialog;
pub mod http;
pub mod llm;
pub mod logging;
pub mod private_files;
pub mod record_test;
pub mod review_job;
pub mod secrets;
pub mod serve;
pub mod settings;
pub mod storage;
