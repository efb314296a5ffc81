//! Probes (interface placeholder; the implementation lands separately).
#![allow(dead_code, unused_variables, clippy::all)]
use std::io;
use std::net::IpAddr;
use std::time::Duration;
use crate::net::Netns;
pub struct PingSpec { pub dst: IpAddr, pub src: Option<IpAddr>, pub size: Option<u16>, pub dont_fragment: bool, pub ttl: Option<u8>, pub timeout: Duration, pub attempts: u8 }
#[derive(Debug)]
pub enum PingOutcome { Reply { from: IpAddr, ttl: u8, rtt: Duration }, NoReply }
impl std::fmt::Display for PingOutcome { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { todo!() } }
pub fn ping(ns: &Netns, s: &PingSpec) -> io::Result<PingOutcome> { todo!() }
pub struct TraceSpec { pub dst: IpAddr, pub max_hops: u8, pub timeout_per_hop: Duration, pub probes_per_hop: u8 }
pub struct Hop { pub ttl: u8, pub responders: Vec<IpAddr> }
pub struct Trace { pub hops: Vec<Hop>, pub reached: bool }
impl std::fmt::Display for Trace { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { todo!() } }
pub fn traceroute(ns: &Netns, s: &TraceSpec) -> io::Result<Trace> { todo!() }
pub struct PmtuSpec { pub dst: IpAddr, pub src: Option<IpAddr>, pub min: u16, pub max: u16, pub timeout: Duration }
pub struct PathMtu { pub mtu: u16 }
impl std::fmt::Display for PathMtu { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { todo!() } }
pub fn path_mtu(ns: &Netns, s: &PmtuSpec) -> io::Result<PathMtu> { todo!() }
