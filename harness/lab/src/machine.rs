//! The one place the lab reads how busy the machine is: a [`LoadSample`] from
//! `/proc/loadavg`, `/proc/stat` and `/proc/pressure/{cpu,memory}` at the start and end of
//! every timed span (build, daemons, each phase), judged by
//! [`routelab_model::machine::judge`]. A sample is a few small reads, well under a
//! millisecond.

use routelab_model::machine::{
    LoadSample, Overload, judge, parse_loadavg, parse_pressure, parse_stat,
};
use serde::Serialize;

/// The machine's load figures now.
pub fn sample() -> LoadSample {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let stat = read("/proc/stat");
    // The load average counts tasks of the whole machine, so it is compared with every
    // online CPU, not the ones this process may use.
    let cpus = stat.as_deref().map_or(0, |s| {
        s.lines()
            .filter(|l| {
                l.strip_prefix("cpu")
                    .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count() as u32
    });
    LoadSample {
        cpus: if cpus > 0 {
            cpus
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
        },
        load1: read("/proc/loadavg").as_deref().and_then(parse_loadavg),
        cpu_ticks: stat.as_deref().and_then(parse_stat),
        cpu_pressure: read("/proc/pressure/cpu")
            .as_deref()
            .and_then(parse_pressure),
        memory_pressure: read("/proc/pressure/memory")
            .as_deref()
            .and_then(parse_pressure),
    }
}

/// A timed span whose start has been sampled.
pub struct Span(LoadSample);

impl Span {
    pub fn begin() -> Span {
        Span(sample())
    }

    /// Samples the end and judges the span: `None` when its figures are clean.
    pub fn end(self) -> Option<Overload> {
        judge(&self.0, &sample())
    }
}

/// How busy the machine was during each timed span of a scenario: `null` for a clean one.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MachineLoad {
    pub build: Option<Overload>,
    pub daemons: Option<Overload>,
    /// One per phase that ran, in order.
    pub phases: Vec<Option<Overload>>,
}

impl MachineLoad {
    /// Whether any span was overloaded.
    pub fn any(&self) -> bool {
        self.build.is_some() || self.daemons.is_some() || self.phases.iter().any(Option::is_some)
    }
}
