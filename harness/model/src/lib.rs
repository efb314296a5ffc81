//! routelab's model: everything that can be known from a scenario file without touching
//! the machine.
//!
//! ```text
//! load ──► validate ──► plan          (this crate: pure, no privileges, no side effects)
//! scenario  scenario     plan
//!                         └──► apply ──► daemons ──► check ──► report   (routelab-lab)
//! ```
//!
//! - [`scenario`]: the file format, its loading and validation, with positions on every
//!   finding;
//! - [`link`]: one file per link kind (spec, validation, planning);
//! - [`expect`]: one file per expectation kind (spec, validation, what it asserts); their
//!   observation of a real network lives in `routelab-lab`;
//! - [`plan`]: the Plan vocabulary and the planner;
//! - [`calico`]: Calico resources, selectors, IPAM and confd's rendering;
//! - [`mtu`]: path MTU prediction from the file alone;
//! - [`overhead`]: the per-packet overhead of each encapsulation;
//! - [`mac`]: MAC addresses as the plan carries them;
//! - [`machine`]: whether the machine was too busy for a span's figures to be clean;
//! - [`names`]: the rules for every name that becomes a path or an interface;
//! - [`generate`]: scenario generators for scale measurements;
//! - [`timeline`]: steps that change the network after it is built, one file per action;
//! - [`bird_conf`]: the protocols a BIRD configuration defines, read from its text;
//! - [`graph`]: the topology as a Mermaid or DOT diagram;
//! - [`observed`]: what a running lab is seen to be (routes, protocol states), as data;
//! - [`snapshot`]: the observed state of every phase, and the keyed diff of two.
//!
//! This crate reads files (the scenario and what it names) and nothing else: it writes
//! nothing, spawns nothing and depends on no async runtime or kernel interface.

pub mod bird_conf;
pub mod calico;
pub mod context;
pub mod daemon;
pub mod diagnostic;
pub mod expect;
pub mod footprint;
pub mod generate;
pub mod graph;
pub mod hop;
pub mod impairment;
pub mod input;
pub mod link;
pub mod mac;
pub mod machine;
pub mod mtu;
pub mod names;
pub mod network;
pub mod observed;
pub mod overhead;
pub mod plan;
pub mod planner;
pub mod scenario;
pub mod snapshot;
pub mod text;
pub mod timeline;
pub mod yaml;
