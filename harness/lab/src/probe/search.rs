//! The search both size measurements run: the largest packet size in a range that passes.
//!
//! "Passes" is the caller's test — an echo reply to a DF probe for the path MTU
//! ([`super::path_mtu`]), a round trip without fragmentation anywhere for
//! `max_unfragmented` — and the search assumes that when a size passes, every smaller one
//! does too. It is a pure state machine: it says which size to try next
//! ([`LargestPassing::next_size`]), is told how that went ([`LargestPassing::record`]), and
//! sends nothing itself.
//!
//! Two kinds of hint make it fast without being able to make it wrong:
//!
//! - an expected answer ([`LargestPassing::expecting`]), tried first;
//! - an MTU reported by whatever refused a size (a router's "fragmentation needed" or
//!   "packet too big", or the local interface), tried next; at most [`MAX_REPORTS`] of them,
//!   one per narrower hop on the path.
//!
//! A hinted size that passes is followed by the size one above it, so a right hint settles
//! the answer in two tries, and a wrong or stale one only costs those tries before plain
//! bisection goes on. Without hints the range's top is tried first (the common case is that
//! the largest size fits), then the range is halved until the answer is exact.

/// How many reported MTUs the search follows before it just bisects; each hop on the path
/// that is narrower than the one before can report one.
pub(crate) const MAX_REPORTS: usize = 4;

/// How one size went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Passed,
    /// Did not pass; `reported_mtu` is the MTU that whatever refused it named, if any.
    Failed {
        reported_mtu: Option<u32>,
    },
}

/// Which sizes are known to pass and to fail, and which to try next. Sizes are held as u32
/// so that `min - 1` and `max + 1` fit.
#[derive(Debug, Clone)]
pub(crate) struct LargestPassing {
    /// Largest size that passed, or `min - 1` if none has yet.
    passed: u32,
    /// Whether `passed` was actually seen to pass (rather than being `min - 1`).
    verified: bool,
    /// Smallest size that failed, or `max + 1`.
    failed: u32,
    /// The next size to try, if a hint suggested one.
    suggested: Option<u32>,
    /// Hinted sizes: one that passes is followed by the size just above it.
    hinted: Vec<u32>,
    /// How many reported MTUs were followed.
    reports_followed: usize,
}

impl LargestPassing {
    /// A search of `min..=max` (a `max` below `min` is taken as `min`), starting at `max`.
    pub(crate) fn new(min: u16, max: u16) -> LargestPassing {
        let max = max.max(min);
        LargestPassing {
            passed: u32::from(min) - 1,
            verified: false,
            failed: u32::from(max) + 1,
            suggested: Some(u32::from(max)),
            hinted: Vec::new(),
            reports_followed: 0,
        }
    }

    /// A search of `min..=max` that tries `expected` first, then the size above it; an
    /// `expected` outside the range is ignored.
    pub(crate) fn expecting(min: u16, max: u16, expected: u16) -> LargestPassing {
        let mut search = LargestPassing::new(min, max);
        let expected = u32::from(expected);
        if search.open(expected) {
            search.suggested = Some(expected);
            search.hinted.push(expected);
        }
        search
    }

    /// Whether `size` is still undecided.
    fn open(&self, size: u32) -> bool {
        size > self.passed && size < self.failed
    }

    /// The size to try next, or `None` once the answer is exact.
    pub(crate) fn next_size(&mut self) -> Option<u16> {
        if self.failed <= self.passed + 1 {
            return None;
        }
        let size = match self.suggested.take() {
            Some(s) if self.open(s) => s,
            _ => self.passed + (self.failed - self.passed) / 2,
        };
        u16::try_from(size).ok()
    }

    pub(crate) fn record(&mut self, size: u16, outcome: Outcome) {
        let size = u32::from(size);
        match outcome {
            Outcome::Passed => {
                if size > self.passed {
                    self.passed = size;
                    self.verified = true;
                }
                // A hinted size that works: check that one byte more really fails.
                if self.hinted.contains(&size) {
                    self.suggested = Some(size + 1);
                }
            }
            Outcome::Failed { reported_mtu } => {
                self.failed = self.failed.min(size);
                if let Some(mtu) = reported_mtu
                    && self.open(mtu)
                    && self.reports_followed < MAX_REPORTS
                {
                    self.reports_followed += 1;
                    self.hinted.push(mtu);
                    self.suggested = Some(mtu);
                }
            }
        }
    }

    /// The largest passing size, once [`LargestPassing::next_size`] says `None`; `None` if
    /// not even `min` passed.
    pub(crate) fn answer(&self) -> Option<u16> {
        if self.verified {
            u16::try_from(self.passed).ok()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `search` against a model path: sizes up to `limit` pass (none if `None`); larger
    /// ones fail with `report(size)` as the reported MTU. Returns the answer and the sizes
    /// tried.
    fn run(
        mut search: LargestPassing,
        limit: Option<u16>,
        report: impl Fn(u16) -> Option<u32>,
    ) -> (Option<u16>, Vec<u16>) {
        let mut tried = Vec::new();
        while let Some(size) = search.next_size() {
            tried.push(size);
            assert!(tried.len() < 64, "the search does not end: {tried:?}");
            let outcome = if limit.is_some_and(|l| size <= l) {
                Outcome::Passed
            } else {
                Outcome::Failed {
                    reported_mtu: report(size),
                }
            };
            search.record(size, outcome);
        }
        (search.answer(), tried)
    }

    /// Path MTU style: no expectation, failures may report an MTU.
    fn with_reports(
        min: u16,
        max: u16,
        mtu: u16,
        report: impl Fn(u16) -> Option<u32>,
    ) -> (Option<u16>, Vec<u16>) {
        run(LargestPassing::new(min, max), Some(mtu), report)
    }

    /// Fragmentation style: an expected answer, failures report nothing.
    fn with_expectation(
        lo: u16,
        hi: u16,
        first: u16,
        limit: Option<u16>,
    ) -> (Option<u16>, Vec<u16>) {
        run(LargestPassing::expecting(lo, hi, first), limit, |_| None)
    }

    #[test]
    fn an_honest_report_takes_three_probes() {
        let (answer, tried) = with_reports(576, 1500, 1420, |_| Some(1420));
        assert_eq!(answer, Some(1420));
        assert_eq!(tried, vec![1500, 1420, 1421]);
    }

    #[test]
    fn a_black_hole_is_bisected() {
        let (answer, tried) = with_reports(576, 1500, 1420, |_| None);
        assert_eq!(answer, Some(1420));
        // 925 candidate sizes: at most ten halvings after the first probe at max.
        assert!(tried.len() <= 11, "{tried:?}");
    }

    #[test]
    fn narrowing_hops_report_one_after_another() {
        // First hop says 1450; a later, narrower hop says 1400.
        let (answer, tried) = with_reports(576, 1500, 1400, |size| {
            Some(if size > 1450 { 1450 } else { 1400 })
        });
        assert_eq!(answer, Some(1400));
        assert_eq!(tried, vec![1500, 1450, 1400, 1401]);
    }

    #[test]
    fn wrong_reports_cannot_decide_the_answer() {
        // Claims 1300 but 1420 fits: the confirmation probe at 1301 passes, bisection goes on.
        let (answer, _) = with_reports(576, 1500, 1420, |_| Some(1300));
        assert_eq!(answer, Some(1420));
        // Reports of 0 or of the probe's own size are ignored.
        let (answer, _) = with_reports(576, 1500, 1000, |_| Some(0));
        assert_eq!(answer, Some(1000));
        let (answer, _) = with_reports(576, 1500, 1000, |size| Some(u32::from(size)));
        assert_eq!(answer, Some(1000));
    }

    #[test]
    fn the_search_is_bounded_whatever_is_reported() {
        for mtu in [576u16, 577, 1000, 1279, 1499, 1500] {
            for lie in [None, Some(577u32), Some(1499), Some(9000)] {
                let (answer, tried) = with_reports(576, 1500, mtu, |_| lie);
                assert_eq!(answer, Some(mtu), "mtu {mtu} lie {lie:?}");
                assert!(tried.len() <= 11 + 2 * MAX_REPORTS, "{tried:?}");
            }
        }
    }

    #[test]
    fn nothing_fits_means_no_answer() {
        let (answer, tried) = with_reports(576, 1500, 500, |_| None);
        assert_eq!(answer, None);
        assert_eq!(tried.last(), Some(&576));
        let (answer, tried) = with_reports(1400, 1400, 1500, |_| None);
        assert_eq!((answer, tried), (Some(1400), vec![1400]));
    }

    #[test]
    fn a_right_expectation_takes_two_trials() {
        assert_eq!(
            with_expectation(28, 1500, 1380, Some(1380)),
            (Some(1380), vec![1380, 1381])
        );
    }

    #[test]
    fn a_wrong_expectation_still_finds_the_exact_answer() {
        for limit in [28, 29, 100, 1379, 1381, 1420, 1499] {
            for first in [1380, 28, 1499, 1500, 2000] {
                let (found, tried) = with_expectation(28, 1500, first, Some(limit));
                assert_eq!(
                    found,
                    Some(limit),
                    "limit {limit}, first {first}: {tried:?}"
                );
                assert!(tried.len() <= 16, "limit {limit}, first {first}: {tried:?}");
            }
        }
    }

    #[test]
    fn the_ends_of_the_range() {
        // Everything passes: the top of the range is the answer.
        assert_eq!(with_expectation(28, 1500, 1380, Some(9000)).0, Some(1500));
        // Nothing passes, not even the smallest packet: no answer.
        assert_eq!(with_expectation(28, 1500, 1380, None).0, None);
        assert_eq!(with_expectation(28, 1500, 28, None), (None, vec![28]));
        // A range upside down is the single size at its bottom.
        assert_eq!(
            with_expectation(100, 50, 75, Some(1500)),
            (Some(100), vec![100])
        );
    }
}
