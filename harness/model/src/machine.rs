//! Whether the machine was too busy during a timed span for its figures to be routelab's
//! and the daemons' own: a judgement on two samples of the kernel's load figures, taken
//! at the span's start and end (the lab takes them; this module reads their text and
//! judges).
//!
//! A span is overloaded when, at either end, any of these holds:
//! - the 1-minute load average is above the number of CPUs;
//! - more than [`MAX_STEAL_PERCENT`] of the CPU time between the samples was stolen by
//!   the hypervisor;
//! - `some avg10` of `/proc/pressure/cpu` is above [`MAX_CPU_PRESSURE`] or that of
//!   `/proc/pressure/memory` above [`MAX_MEMORY_PRESSURE`].
//!
//! Limits: the load average and `avg10` are averages over the last minute and the last
//! 10 s, so a span shorter than that is judged partly by what came before it; a figure a
//! kernel does not offer (no PSI, no steal column) is not judged.

use serde::Serialize;

/// Stolen CPU time, in percent of all CPU time between two samples, above which figures
/// are not clean.
pub const MAX_STEAL_PERCENT: f64 = 5.0;
/// `some avg10` of CPU pressure (percent of the last 10 s in which some runnable task
/// waited for a CPU) above which figures are not clean. On a 2-core machine a single
/// busy neighbour already reaches 20-25 %, which still leaves routelab a core.
pub const MAX_CPU_PRESSURE: f64 = 40.0;
/// `some avg10` of memory pressure (percent of the last 10 s in which some task stalled
/// on memory reclaim) above which figures are not clean.
pub const MAX_MEMORY_PRESSURE: f64 = 10.0;

/// The kernel's load figures at one moment. `None` where the kernel does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadSample {
    /// CPUs this process may run on.
    pub cpus: u32,
    /// The 1-minute load average (`/proc/loadavg`).
    pub load1: Option<f64>,
    /// Cumulative CPU time over all CPUs, and its stolen part (`/proc/stat`, in ticks).
    pub cpu_ticks: Option<CpuTicks>,
    /// `some avg10` of `/proc/pressure/cpu`, percent.
    pub cpu_pressure: Option<f64>,
    /// `some avg10` of `/proc/pressure/memory`, percent.
    pub memory_pressure: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTicks {
    pub total: u64,
    pub steal: u64,
}

/// One reason a span's figures are not clean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Strain {
    /// The 1-minute load average (the higher of the two samples) above the CPUs.
    Load { load1: f64, cpus: u32 },
    /// Stolen CPU time between the samples, percent.
    Steal { percent: f64 },
    /// CPU pressure `some avg10`, the higher of the two samples.
    CpuPressure { avg10: f64 },
    /// Memory pressure `some avg10`, the higher of the two samples.
    MemoryPressure { avg10: f64 },
}

impl std::fmt::Display for Strain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Strain::Load { load1, cpus } => {
                let s = if *cpus == 1 { "" } else { "s" };
                write!(f, "load {load1:.1} on {cpus} core{s}")
            }
            Strain::Steal { percent } => write!(f, "{percent:.0}% of CPU time stolen"),
            Strain::CpuPressure { avg10 } => write!(f, "CPU pressure {avg10:.0}%"),
            Strain::MemoryPressure { avg10 } => write!(f, "memory pressure {avg10:.0}%"),
        }
    }
}

/// Why a span's figures are not clean: at least one reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Overload(pub Vec<Strain>);

impl std::fmt::Display for Overload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reasons: Vec<String> = self.0.iter().map(Strain::to_string).collect();
        write!(f, "machine overloaded ({})", reasons.join(", "))
    }
}

/// Judges the span between two samples: `None` when its figures are clean.
pub fn judge(start: &LoadSample, end: &LoadSample) -> Option<Overload> {
    let higher = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let mut strains = Vec::new();
    let cpus = end.cpus.max(1);
    if let Some(load1) = higher(start.load1, end.load1)
        && load1 > f64::from(cpus)
    {
        strains.push(Strain::Load { load1, cpus });
    }
    if let (Some(a), Some(b)) = (start.cpu_ticks, end.cpu_ticks) {
        let total = b.total.saturating_sub(a.total);
        let steal = b.steal.saturating_sub(a.steal);
        if total > 0 {
            let percent = steal as f64 * 100.0 / total as f64;
            if percent > MAX_STEAL_PERCENT {
                strains.push(Strain::Steal { percent });
            }
        }
    }
    if let Some(avg10) = higher(start.cpu_pressure, end.cpu_pressure)
        && avg10 > MAX_CPU_PRESSURE
    {
        strains.push(Strain::CpuPressure { avg10 });
    }
    if let Some(avg10) = higher(start.memory_pressure, end.memory_pressure)
        && avg10 > MAX_MEMORY_PRESSURE
    {
        strains.push(Strain::MemoryPressure { avg10 });
    }
    (!strains.is_empty()).then_some(Overload(strains))
}

/// The 1-minute load average from the text of `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// All CPU time and its stolen part from the text of `/proc/stat` (its `cpu` line: user
/// nice system idle iowait irq softirq steal ...). Guest time is already counted in user
/// time, so it is not added again.
pub fn parse_stat(text: &str) -> Option<CpuTicks> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    Some(CpuTicks {
        total: ticks.iter().sum(),
        steal: ticks.get(7).copied().unwrap_or(0),
    })
}

/// `some avg10` from the text of a `/proc/pressure/*` file.
pub fn parse_pressure(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix("some "))?
        .split_whitespace()
        .find_map(|f| f.strip_prefix("avg10="))?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle() -> LoadSample {
        LoadSample {
            cpus: 2,
            load1: Some(0.4),
            cpu_ticks: Some(CpuTicks {
                total: 10_000,
                steal: 10,
            }),
            cpu_pressure: Some(3.0),
            memory_pressure: Some(0.0),
        }
    }

    fn later(mut s: LoadSample, ticks: u64, stolen: u64) -> LoadSample {
        let t = s.cpu_ticks.as_mut().unwrap();
        t.total += ticks;
        t.steal += stolen;
        s
    }

    #[test]
    fn an_idle_machine_gives_clean_figures() {
        assert_eq!(judge(&idle(), &later(idle(), 400, 4)), None);
    }

    #[test]
    fn a_load_above_the_cores_at_either_end_is_an_overload() {
        let busy = LoadSample {
            load1: Some(3.26),
            ..idle()
        };
        let verdict = judge(&idle(), &later(busy, 400, 0)).expect("overloaded");
        assert_eq!(
            verdict.to_string(),
            "machine overloaded (load 3.3 on 2 cores)"
        );
        assert!(judge(&busy, &idle()).is_some());
        // At the cores exactly, every core is busy but nothing waits.
        let full = LoadSample {
            load1: Some(2.0),
            ..idle()
        };
        assert_eq!(judge(&full, &full), None);
    }

    #[test]
    fn steal_is_judged_between_the_samples() {
        // 30 of 400 ticks stolen: 7.5 %.
        let verdict = judge(&idle(), &later(idle(), 400, 30)).expect("overloaded");
        assert_eq!(verdict.0, vec![Strain::Steal { percent: 7.5 }]);
        assert_eq!(
            verdict.to_string(),
            "machine overloaded (8% of CPU time stolen)"
        );
        // 4 % is a few percent: clean.
        assert_eq!(judge(&idle(), &later(idle(), 400, 16)), None);
    }

    #[test]
    fn pressure_above_its_threshold_is_an_overload() {
        let cpu = LoadSample {
            cpu_pressure: Some(55.0),
            ..idle()
        };
        let memory = LoadSample {
            memory_pressure: Some(12.5),
            ..idle()
        };
        assert_eq!(
            judge(&cpu, &memory).unwrap().to_string(),
            "machine overloaded (CPU pressure 55%, memory pressure 12%)"
        );
        let neighbour = LoadSample {
            cpu_pressure: Some(24.0),
            ..idle()
        };
        assert_eq!(judge(&neighbour, &neighbour), None);
    }

    #[test]
    fn every_reason_is_named() {
        let bad = LoadSample {
            cpus: 1,
            load1: Some(1.5),
            cpu_ticks: Some(CpuTicks {
                total: 100,
                steal: 0,
            }),
            cpu_pressure: Some(90.0),
            memory_pressure: Some(30.0),
        };
        let end = LoadSample {
            cpu_ticks: Some(CpuTicks {
                total: 200,
                steal: 50,
            }),
            ..bad
        };
        assert_eq!(
            judge(&bad, &end).unwrap().to_string(),
            "machine overloaded (load 1.5 on 1 core, 50% of CPU time stolen, CPU pressure \
             90%, memory pressure 30%)"
        );
    }

    #[test]
    fn what_the_kernel_does_not_say_is_not_judged() {
        let blind = LoadSample {
            cpus: 2,
            ..LoadSample::default()
        };
        assert_eq!(judge(&blind, &blind), None);
        // One end without ticks: no steal figure at all.
        let one = later(idle(), 400, 300);
        assert_eq!(judge(&blind, &one), None);
    }

    #[test]
    fn the_kernel_files_are_read() {
        assert_eq!(parse_loadavg("1.16 1.15 0.90 1/90 8908\n"), Some(1.16));
        assert_eq!(
            parse_stat(
                "cpu  788938 0 304189 1097554 123227 0 8161 46885 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"
            ),
            Some(CpuTicks {
                total: 788938 + 304189 + 1097554 + 123227 + 8161 + 46885,
                steal: 46885
            })
        );
        assert_eq!(parse_stat("cpu0 1 2 3\n"), None);
        let psi = "some avg10=23.60 avg60=22.76 avg300=13.08 total=3149070879\n\
                   full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(parse_pressure(psi), Some(23.6));
        assert_eq!(parse_pressure("full avg10=1.00\n"), None);
    }
}
