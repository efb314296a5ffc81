//! Link impairments against the kernel: a bulk TCP transfer across the `shaped-line`
//! scenario's line, shaped to 10 Mbit/s each way, goes no faster than that; unshaped, a
//! veth carries gigabits. Needs root and the kernel's tbf (skipped with the reason
//! without it); BIRD is not started, the transfer crosses the line's own subnet.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Instant;

use routelab_lab::lab::{Lab, Mode};

/// The network of `scenarios/NAME.yaml`, built without its daemons, and the runtime its
/// netlink connections run on (enter it while using the lab); `None` when `test` is skipped:
/// no privileges (a failure in CI), or a kernel without the queueing disciplines it needs.
fn built(name: &str, test: &str) -> Option<(tokio::runtime::Runtime, Lab)> {
    if !routelab_lab::net::netns::can_create_namespaces() {
        routelab_lab::skip_or_fail_without_root(test);
        return None;
    }
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.yaml"));
    let loaded = routelab_lab::run::load(&file, &routelab_lab::daemon::BirdSearch::from_env())
        .unwrap_or_else(|d| panic!("{d}"));
    let missing = routelab_lab::env::missing_kernel_features(&loaded.scenario, &loaded.plan);
    if !missing.is_empty() {
        println!("{test}: skipped: {}", missing.join("; "));
        return None;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lab = runtime
        .block_on(Lab::build(&loaded.plan, Mode::Ephemeral))
        .unwrap_or_else(|e| panic!("building {name}: {e}"));
    Some((runtime, lab))
}

/// Bytes sent: two seconds' worth at 10 Mbit/s.
const BYTES: usize = 2_500_000;

#[test]
fn a_shaped_line_carries_no_more_than_its_rate() {
    let Some((runtime, lab)) = built("shaped-line", "a_shaped_line_carries_no_more_than_its_rate")
    else {
        return;
    };
    let _guard = runtime.enter();

    // Sockets belong to the namespace they are made in, whichever thread uses them later.
    let listener = lab
        .netns("r2")
        .unwrap()
        .run(|| TcpListener::bind("192.0.2.2:0"))
        .unwrap()
        .unwrap();
    let to = listener.local_addr().unwrap();
    let mut sender = lab
        .netns("r1")
        .unwrap()
        .run(|| TcpStream::connect(to))
        .unwrap()
        .unwrap();
    let (mut receiver, _) = listener.accept().unwrap();

    let receiving = std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        let mut first = None;
        while got < BYTES {
            let n = receiver.read(&mut buf).unwrap();
            assert!(n > 0, "the sender closed after {got} bytes");
            first.get_or_insert_with(Instant::now);
            got += n;
        }
        first.unwrap().elapsed()
    });
    sender.write_all(&vec![7u8; BYTES]).unwrap();
    let took = receiving.join().unwrap();
    let mbit = BYTES as f64 * 8.0 / took.as_secs_f64() / 1e6;
    println!("{BYTES} bytes across a 10mbit line in {took:.2?}: {mbit:.2} Mbit/s of payload");
    // The upper bound is what shaping proves (a busy machine only makes it slower); the
    // lower one that the line is not shaped to far less than it says.
    assert!(
        mbit <= 10.5,
        "{mbit:.2} Mbit/s is more than the line's 10mbit"
    );
    assert!(
        mbit >= 5.0,
        "{mbit:.2} Mbit/s is far below the line's 10mbit"
    );
}

/// Round trips across `cross-region-latency`'s line (16 ms each way, ±1 ms of jitter),
/// pinged from one end to the other: none is shorter than the delays allow, and the middle
/// one is near the configured 32 ms. Needs netem: skipped with the reason without it
/// (`ci/vm-test.sh --test impair` runs it on Debian's kernel).
#[test]
fn a_delayed_line_adds_its_delay_to_every_round_trip() {
    use routelab_lab::probe::{PingOutcome, PingSpec, ping};
    use std::time::Duration;

    let Some((runtime, lab)) = built(
        "cross-region-latency",
        "a_delayed_line_adds_its_delay_to_every_round_trip",
    ) else {
        return;
    };
    let _guard = runtime.enter();
    let r1 = lab.netns("r1").unwrap();
    let mut spec = PingSpec::new("192.0.2.2".parse().unwrap());
    spec.attempts = 3;
    let mut rtts: Vec<Duration> = (0..30)
        .map(|_| match ping(&r1, &spec).unwrap() {
            PingOutcome::Reply { rtt, .. } => rtt,
            other => panic!("no reply across the line: {other}"),
        })
        .collect();
    rtts.sort();
    let (min, median, max) = (rtts[0], rtts[rtts.len() / 2], rtts[rtts.len() - 1]);
    println!(
        "30 round trips across 16ms ± 1ms each way (32 ms configured): min {:.2} ms, median \
         {:.2} ms, max {:.2} ms",
        min.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    // netem never sends a packet early: each way takes at least delay - jitter.
    assert!(
        min >= Duration::from_millis(30),
        "{min:?} is below 2 x (16 - 1) ms"
    );
    // A busy machine only adds to a round trip; a median 8 ms above the configured delays
    // would be no 16 ms line.
    assert!(median < Duration::from_millis(40), "median {median:?}");
}
