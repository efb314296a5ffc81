//! Running a suite: which files this machine takes (`--shard K/N`) and how many scenarios
//! run at once (`-j N`). Each scenario has its lab of its own (namespaces held by file
//! descriptor, never named in `/run/netns`), so concurrent runs cannot see each other.
//!
//! Limits: the concurrent runs share the machine, so their convergence and outage figures
//! are measured under each other's load; with `-j` above 1 the live progress lines are not
//! printed (each scenario's report still is, as one block, when it finishes).

use std::path::PathBuf;
use std::str::FromStr;

/// The K-th of N slices of a suite (1-based), for spreading it over N machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// The files of `shard`: the suite sorted by path, then every N-th from the K-th on. The
/// same files on every machine give the same slices, and together they are the suite,
/// each file in exactly one slice.
pub fn take_shard(mut files: Vec<PathBuf>, shard: Option<Shard>) -> Vec<PathBuf> {
    let Some(Shard { index, count }) = shard else {
        return files;
    };
    files.sort();
    files.dedup();
    files
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % count == index - 1)
        .map(|(_, f)| f)
        .collect()
}

/// Keeps only the expectations whose label contains `pattern`, in every phase of every
/// scenario; an error (exit 2) when none does, as a run would then prove nothing.
pub fn keep_only(loaded: &mut [routelab_lab::run::Loaded], pattern: &str) -> Result<(), u8> {
    let mut kept = 0;
    for l in loaded.iter_mut() {
        let scenario = &mut l.scenario;
        scenario.expectations.retain(|e| e.label.contains(pattern));
        kept += scenario.expectations.len();
        for step in &mut scenario.steps {
            step.expectations.retain(|e| e.label.contains(pattern));
            kept += step.expectations.len();
        }
    }
    if kept == 0 {
        eprintln!("routelab: --only {pattern:?}: no expectation's label contains it");
        return Err(crate::cli::EXIT_INVALID);
    }
    Ok(())
}

/// How many scenarios run at once by default: one per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| PathBuf::from(format!("s{i:02}.yaml")))
            .collect()
    }

    #[test]
    fn shards_partition_the_suite() {
        for count in 1..=5 {
            let mut seen: Vec<PathBuf> = Vec::new();
            for index in 1..=count {
                let mut given = files(11);
                given.reverse(); // the order given does not matter
                seen.extend(take_shard(given, Some(Shard { index, count })));
            }
            seen.sort();
            assert_eq!(seen, files(11), "{count} shards");
        }
    }

    #[test]
    fn shard_text_is_checked() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
