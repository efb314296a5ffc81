//! The engineer's workbench: warnings at `check`, and what `run` shows and keeps.

#[path = "../common/mod.rs"]
mod common;

mod dirs;
mod graph;
mod ospf;
mod progress;
mod scripts;
mod warnings;
mod workflow;
