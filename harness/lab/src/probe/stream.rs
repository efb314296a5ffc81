//! A stream of echo requests at a fixed interval, for measuring an outage: which requests
//! were answered, and when they were sent.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::icmp::Message;
use super::socket::EchoSocket;
use crate::net::Netns;

/// How long after the last request its answer may still come.
const LATE_ANSWER: Duration = Duration::from_millis(500);

/// What the stream has seen so far, shared with whoever watches it.
#[derive(Debug, Default)]
pub struct StreamLog {
    /// Per request: when it was sent, and whether it was answered.
    pub probes: Vec<(Instant, bool)>,
}

impl StreamLog {
    /// Whether the last `n` requests old enough to have been answered all were.
    pub fn answering(&self, n: usize) -> bool {
        let now = Instant::now();
        let settled: Vec<&(Instant, bool)> = self
            .probes
            .iter()
            .filter(|(at, _)| now.duration_since(*at) >= Duration::from_millis(100))
            .collect();
        settled.len() >= n && settled.iter().rev().take(n).all(|(_, a)| *a)
    }
}

/// Sends an echo request to `dst` every `interval` from inside `ns` until `stop` is set,
/// recording each in `log`. Blocks; run it on a thread of its own.
pub fn stream(
    ns: &Netns,
    dst: IpAddr,
    src: Option<IpAddr>,
    interval: Duration,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<StreamLog>>,
) -> io::Result<()> {
    ns.run(|| stream_here(dst, src, interval, &stop, &log))?
}

fn stream_here(
    dst: IpAddr,
    src: Option<IpAddr>,
    interval: Duration,
    stop: &AtomicBool,
    log: &Mutex<StreamLog>,
) -> io::Result<()> {
    let mut socket = EchoSocket::open(dst, src, false)?;
    let size = if dst.is_ipv6() {
        usize::from(super::DEFAULT_SIZE_V6)
    } else {
        usize::from(super::DEFAULT_SIZE_V4)
    };
    // Sequence numbers wrap after 65536 requests (11 minutes at 10 ms): each maps to the
    // newest request that used it.
    let mut index_of_seq: Vec<Option<usize>> = vec![None; 1 << 16];
    let mut seq: u16 = 0;
    let mut next = Instant::now();
    let mut stopping_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        match stopping_at {
            None if stop.load(Ordering::Relaxed) => stopping_at = Some(now + LATE_ANSWER),
            Some(end) if now >= end => return Ok(()),
            _ => {}
        }
        if stopping_at.is_none() && now >= next {
            seq = seq.wrapping_add(1);
            let sent = socket.send(seq, size)?.unwrap_or(now);
            let mut log = log.lock().expect("the stream log is not poisoned");
            index_of_seq[usize::from(seq)] = Some(log.probes.len());
            log.probes.push((sent, false));
            next += interval;
            if next < now {
                // Fell behind (a loaded machine): send the next one on time from now.
                next = now + interval;
            }
        }
        let wait_until = stopping_at.unwrap_or(next).min(now + interval);
        while let Some(received) = socket.recv(wait_until)? {
            if let Message::EchoReply { seq, .. } = received.message
                && let Some(i) = index_of_seq[usize::from(seq)]
            {
                log.lock().expect("the stream log is not poisoned").probes[i].1 = true;
            }
        }
    }
}
