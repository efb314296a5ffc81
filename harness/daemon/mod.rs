//! BIRD daemons: supervision inside a namespace and the control-socket client.
//! (Interface placeholder; the implementation lands separately.)
#![allow(dead_code, unused_variables, clippy::all)]
use std::path::{Path, PathBuf};
use crate::net::Netns;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DaemonError(pub String);
pub struct BirdBinary { pub path: PathBuf }
impl BirdBinary { pub fn bird2() -> Result<BirdBinary, DaemonError> { Err(DaemonError("stub".into())) } }
pub struct BirdSpec { pub binary: BirdBinary, pub config: PathBuf, pub socket: PathBuf, pub log: Option<PathBuf>, pub persistent: bool, pub label: String }
pub struct BirdProcess;
impl BirdProcess {
    pub async fn start(ns: &Netns, spec: &BirdSpec) -> Result<BirdProcess, DaemonError> { todo!() }
    pub fn pid(&self) -> u32 { todo!() }
    pub fn stop(self) { todo!() }
    pub fn detach(self) { todo!() }
}
pub fn stop_pid(pid: u32) -> Result<(), DaemonError> { todo!() }
pub fn check_config(bin: &BirdBinary, config: &Path) -> Result<(), DaemonError> { todo!() }
pub struct Reply;
impl Reply { pub fn text(&self) -> String { todo!() } }
pub struct ProtoState { pub state: String, pub bgp_state: Option<String>, pub info: String, pub last_error: Option<String> }
pub struct BirdClient;
impl BirdClient {
    pub async fn connect(p: &Path) -> Result<BirdClient, DaemonError> { todo!() }
    pub async fn command(&self, c: &str) -> Result<Reply, DaemonError> { todo!() }
    pub async fn protocol_state(&self, c: &str) -> Result<Option<ProtoState>, DaemonError> { todo!() }
    pub async fn protocol_names(&self) -> Result<Vec<String>, DaemonError> { todo!() }
    pub async fn ospf_neighbor_states(&self, c: &str) -> Result<Vec<(String, String)>, DaemonError> { todo!() }
}
