//! How durations appear in JSON reports: seconds, to the millisecond.

use std::time::Duration;

/// Durations as seconds with millisecond precision in JSON.
pub fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Optional durations as seconds, or null.
pub fn serialize_opt_secs<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => serialize_secs(d, s),
        None => s.serialize_none(),
    }
}
