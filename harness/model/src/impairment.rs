//! Link impairments: what a real line does to packets that a veth does not — a delay, its
//! jitter, random loss and a rate limit — built with the kernel's netem (delay, jitter,
//! loss) and tbf (rate) queueing disciplines on the sending interface.
//!
//! ```yaml
//! links:
//!   - wire:
//!       name: cross-region
//!       impair: { delay: 16ms, jitter: 1ms, loss: 0.1%, rate: 100mbit }  # every end
//!       ends:
//!         - { node: cn, addresses: [10.255.0.1/30] }
//!         - { node: global, addresses: [10.255.0.2/30], impair: { rate: 20mbit } }
//! ```
//!
//! An impairment acts on what leaves an interface, so on a link it is one way: a wire
//! with `delay: 16ms` on the link delays each direction by 16 ms and adds 32 ms to a
//! round trip, as the seeds' cross-region line has it; across a bridge or an overlay a
//! packet is delayed once, by its sender's end. An end's own `impair` replaces the link's
//! for that end (fields are not merged). `rate` is in bits per second with `bit`,
//! `kbit`, `mbit` or `gbit` (powers of 1000, as `tc` counts); tbf queues up to 100 ms of
//! traffic at the rate and drops the rest, as a shaper on a real line does.
//!
//! Limits: netem with `jitter` reorders packets whose delays cross, as it does on any
//! machine; loss is independent per packet (no bursts). The timeline changes an
//! impairment with `impair:` ([`crate::timeline::impair`]). The kernel must have
//! `sch_netem` for delay, jitter and loss and `sch_tbf` for rate: a scenario that needs
//! one the kernel lacks is skipped, with the reason.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use serde_saphyr::Spanned;

use crate::context::Context;

/// An impairment as written: each field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImpairment {
    /// One-way delay added to every packet, such as `16ms`.
    pub delay: Option<Spanned<String>>,
    /// How far each packet's delay varies around `delay` (needs `delay`).
    pub jitter: Option<Spanned<String>>,
    /// The share of packets dropped at random, as a percentage: `0.5%`.
    pub loss: Option<Spanned<String>>,
    /// The most the interface sends, such as `100mbit`.
    pub rate: Option<Spanned<String>>,
}

/// The longest delay or jitter taken: a line slower than this is no line.
const MAX_DELAY: Duration = Duration::from_secs(10);
/// The slowest and fastest rates taken: below 8 kbit/s a single full-size frame takes
/// more than a second; above 100 Gbit/s a veth is the limit, not the shaper.
const MIN_RATE: u64 = 8_000;
const MAX_RATE: u64 = 100_000_000_000;

/// A validated impairment of one interface's outgoing packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Impairment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Micros>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Micros>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<Loss>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
}

/// A time in microseconds, netem's resolution as `tc` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Micros(pub u64);

/// A share of packets in millionths (`0.5%` is 5000), fine enough for any loss `tc` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loss(pub u32);

/// A rate in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub u64);

impl Impairment {
    /// Validates `raw`, reporting each bad field at its position; `None` when one is bad.
    /// An impairment with no field is `Some` of the empty one: no impairment.
    pub fn validate(cx: &mut Context, raw: &RawImpairment) -> Option<Impairment> {
        let mut ok = true;
        let mut time = |cx: &mut Context, field: &Option<Spanned<String>>, what: &str| {
            let f = field.as_ref()?;
            let d = match crate::context::parse_duration(&f.value) {
                Ok(d) if d > MAX_DELAY => {
                    cx.error(
                        f.referenced,
                        format!(
                            "a {what} of {} is more than routelab takes ({} s)",
                            f.value,
                            MAX_DELAY.as_secs()
                        ),
                    );
                    ok = false;
                    return None;
                }
                Ok(d) => d,
                Err(e) => {
                    cx.error(f.referenced, e);
                    ok = false;
                    return None;
                }
            };
            Some(Micros(d.as_micros() as u64))
        };
        let delay = time(cx, &raw.delay, "delay");
        let jitter = time(cx, &raw.jitter, "jitter");
        if let Some(j) = &raw.jitter {
            match delay {
                None if raw.delay.is_none() => {
                    cx.error(
                        j.referenced,
                        "`jitter` varies a delay: give the `delay` it varies too",
                    );
                    ok = false;
                }
                Some(d) if jitter.is_some_and(|j| j > d) => {
                    cx.error(
                        j.referenced,
                        format!(
                            "a jitter of {} is more than the delay of {d}: packets cannot be \
                             sent before they leave",
                            j.value
                        ),
                    );
                    ok = false;
                }
                _ => {}
            }
        }
        let loss = raw.loss.as_ref().and_then(|l| match parse_loss(&l.value) {
            Ok(loss) => Some(loss),
            Err(e) => {
                cx.error(l.referenced, e);
                ok = false;
                None
            }
        });
        let rate = raw.rate.as_ref().and_then(|r| match parse_rate(&r.value) {
            Ok(rate) => Some(rate),
            Err(e) => {
                cx.error(r.referenced, e);
                ok = false;
                None
            }
        });
        ok.then_some(Impairment {
            delay,
            jitter,
            loss,
            rate,
        })
    }

    /// No field set: the interface is left as the kernel makes it.
    pub fn is_none(&self) -> bool {
        *self == Impairment::default()
    }

    /// Whether it needs netem (delay, jitter or loss); `rate` alone needs only tbf.
    pub fn needs_netem(&self) -> bool {
        self.delay.is_some() || self.jitter.is_some() || self.loss.is_some()
    }
}

/// `0.5%`, `100%`: a percentage from 0 to 100.
fn parse_loss(text: &str) -> Result<Loss, String> {
    let Some(number) = text.trim().strip_suffix('%') else {
        return Err(format!(
            "loss `{text}` is not a percentage; write it as one, such as `loss: 0.5%`"
        ));
    };
    match number.trim().parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(Loss((p * 10_000.0).round() as u32)),
        Ok(_) => Err(format!("loss `{text}` is not between 0% and 100%")),
        Err(_) => Err(format!(
            "loss `{text}` is not a percentage; write it as one, such as `loss: 0.5%`"
        )),
    }
}

/// `100mbit`, `1.5gbit`, `64kbit`, `9600bit`: bits per second, in powers of 1000.
fn parse_rate(text: &str) -> Result<Rate, String> {
    let lower = text.trim().to_ascii_lowercase();
    let units = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)];
    let unit = units.iter().find(|(u, _)| lower.ends_with(u));
    let Some((unit, scale)) = unit else {
        let what = if lower.ends_with("bps") {
            "is not in bits per second (tc's `bps` is bytes per second: 1 MB/s is `8mbit`)"
        } else {
            "has no unit"
        };
        return Err(format!(
            "rate `{text}` {what}; write bits per second with `bit`, `kbit`, `mbit` or \
             `gbit`, such as `rate: 100mbit`"
        ));
    };
    let number = lower[..lower.len() - unit.len()].trim();
    let Ok(value) = number.parse::<f64>() else {
        return Err(format!(
            "rate `{text}`: `{number}` is not a number; write it such as `rate: 100mbit`"
        ));
    };
    let bits = (value * scale).round();
    if !(MIN_RATE as f64..=MAX_RATE as f64).contains(&bits) {
        return Err(format!(
            "rate `{text}` is outside the {} to {} routelab takes",
            Rate(MIN_RATE),
            Rate(MAX_RATE)
        ));
    }
    Ok(Rate(bits as u64))
}

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us >= 1_000_000 && us % 1_000 == 0 {
            write!(f, "{}s", trim(us as f64 / 1e6))
        } else if us >= 1_000 {
            write!(f, "{}ms", trim(us as f64 / 1e3))
        } else {
            write!(f, "{us}us")
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", trim(f64::from(self.0) / 10_000.0))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (unit, scale) in [
            ("gbit", 1_000_000_000),
            ("mbit", 1_000_000),
            ("kbit", 1_000),
        ] {
            if b >= scale {
                return write!(f, "{}{unit}", trim(b as f64 / scale as f64));
            }
        }
        write!(f, "{b}bit")
    }
}

/// A number without trailing zeros: `16`, `1.5`, `0.125`.
fn trim(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl fmt::Display for Impairment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return f.write_str("none");
        }
        let mut parts = Vec::new();
        if let Some(d) = self.delay {
            parts.push(match self.jitter {
                Some(j) => format!("delay {d} ± {j}"),
                None => format!("delay {d}"),
            });
        }
        if let Some(l) = self.loss {
            parts.push(format!("loss {l}"));
        }
        if let Some(r) = self.rate {
            parts.push(format!("rate {r}"));
        }
        f.write_str(&parts.join(", "))
    }
}

macro_rules! serialize_as_text {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )*};
}
serialize_as_text!(Micros, Loss, Rate);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_bits_per_second_in_powers_of_1000() {
        assert_eq!(parse_rate("100mbit"), Ok(Rate(100_000_000)));
        assert_eq!(parse_rate("1.5Gbit"), Ok(Rate(1_500_000_000)));
        assert_eq!(parse_rate("64kbit"), Ok(Rate(64_000)));
        assert_eq!(parse_rate("9600bit"), Ok(Rate(9_600)));
        assert_eq!(Rate(1_500_000_000).to_string(), "1.5gbit");
        assert_eq!(Rate(64_000).to_string(), "64kbit");
        let bytes = parse_rate("10mbps").unwrap_err();
        assert!(bytes.contains("not in bits per second"), "{bytes}");
        assert!(parse_rate("100").unwrap_err().contains("no unit"));
        assert!(parse_rate("fastmbit").unwrap_err().contains("not a number"));
        assert!(parse_rate("1bit").unwrap_err().contains("outside"));
        assert!(parse_rate("1000gbit").unwrap_err().contains("outside"));
    }

    #[test]
    fn loss_is_a_percentage() {
        assert_eq!(parse_loss("0.5%"), Ok(Loss(5_000)));
        assert_eq!(parse_loss("100%"), Ok(Loss(1_000_000)));
        assert_eq!(parse_loss(" 2 %"), Ok(Loss(20_000)));
        assert_eq!(Loss(5_000).to_string(), "0.5%");
        assert!(parse_loss("0.5").unwrap_err().contains("percentage"));
        assert!(parse_loss("101%").unwrap_err().contains("between"));
    }

    #[test]
    fn times_print_in_the_largest_unit_that_keeps_them_exact() {
        assert_eq!(Micros(16_000).to_string(), "16ms");
        assert_eq!(Micros(1_500).to_string(), "1.5ms");
        assert_eq!(Micros(250).to_string(), "250us");
        assert_eq!(Micros(2_000_000).to_string(), "2s");
        let i = Impairment {
            delay: Some(Micros(16_000)),
            jitter: Some(Micros(1_000)),
            loss: Some(Loss(1_000)),
            rate: Some(Rate(100_000_000)),
        };
        assert_eq!(i.to_string(), "delay 16ms ± 1ms, loss 0.1%, rate 100mbit");
        assert!(i.needs_netem());
        let shaped = Impairment {
            rate: Some(Rate(1_000_000)),
            ..Impairment::default()
        };
        assert!(!shaped.needs_netem(), "rate alone is tbf's");
        assert_eq!(Impairment::default().to_string(), "none");
    }

    /// A link's impairment reaches every end but one that gives its own, which replaces it
    /// whole; the plan impairs exactly those interfaces, and a step's `impair` adds the
    /// kernel features it needs to the scenario's.
    #[test]
    fn an_end_replaces_the_links_impairment_and_the_timeline_adds_its_needs() {
        use crate::plan::KernelFeature;
        let yaml = r#"
nodes:
  a: {}
  b: {}
  c: {}
links:
  - wire:
      name: w
      impair: { delay: 10ms, loss: 1% }
      ends:
        - { node: a, addresses: [10.0.0.1/30] }
        - { node: b, addresses: [10.0.0.2/30], impair: { rate: 1mbit } }
  - wire:
      name: plain
      ends:
        - { node: b, addresses: [10.0.1.1/30] }
        - { node: c, addresses: [10.0.1.2/30] }
"#;
        let load = |steps: &str| {
            crate::scenario::load_str(std::path::Path::new("i.yaml"), &format!("{yaml}{steps}"))
                .unwrap_or_else(|d| panic!("{d}"))
                .0
        };
        let s = load("");
        let plan = crate::planner::plan(&s);
        let impaired: Vec<(&str, &str, String)> = plan
            .impairments
            .iter()
            .map(|i| {
                (
                    i.ns.as_str(),
                    i.interface.as_str(),
                    i.impairment.to_string(),
                )
            })
            .collect();
        assert_eq!(
            impaired,
            [
                ("a", "eth0", "delay 10ms, loss 1%".to_string()),
                ("b", "eth0", "rate 1mbit".to_string()),
            ]
        );
        assert_eq!(
            s.kernel_features(&plan),
            [KernelFeature::Netem, KernelFeature::Tbf]
        );

        let later = load(
            "steps:\n  - name: shaped\n    do: [ { impair: { link: plain, node: c, rate: 5mbit } } ]\n",
        );
        let unimpaired = crate::planner::plan(&crate::scenario::load_str(
            std::path::Path::new("p.yaml"),
            "nodes: { a: {}, b: {} }\nlinks:\n  - wire: { name: w, ends: [ { node: a }, { node: b } ] }\n",
        )
        .unwrap_or_else(|d| panic!("{d}"))
        .0);
        assert!(unimpaired.impairments.is_empty());
        let crate::timeline::Action::Impair(step) = &later.steps[0].actions[0] else {
            panic!("an impair action");
        };
        assert_eq!(
            (step.targets.len(), step.targets[0].interface.as_str()),
            (1, "eth0")
        );
        assert_eq!(step.to_string(), "impair plain at c: rate 5mbit");
    }
}
