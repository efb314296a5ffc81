//! `routelab run`'s progress on standard error, from the run's events: each expectation
//! as it is decided, each action, each phase's tally. On a terminal a status line below
//! them counts the expectations still waiting and the time left; elsewhere (a CI log, a
//! pipe) the same lines come plain, without escape codes. `--quiet` prints none of it.
//! The final report on standard output is the same either way.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use routelab_lab::events::{Event, Reporter};

/// How often the status line is redrawn.
const TICK: Duration = Duration::from_millis(100);
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

pub struct Progress {
    shared: Arc<Shared>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    /// A status line is drawn (stderr is a terminal).
    live: bool,
    state: Mutex<State>,
    stop: AtomicBool,
}

#[derive(Default)]
struct State {
    scenario: String,
    phase: String,
    waiting: usize,
    started: Option<Instant>,
    budget: Duration,
    status_drawn: bool,
    tick: usize,
}

impl Progress {
    /// Progress for a terminal when stderr is one, plain lines otherwise.
    pub fn new() -> Progress {
        Progress::with(std::io::stderr().is_terminal())
    }

    fn with(live: bool) -> Progress {
        let shared = Arc::new(Shared {
            live,
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
        });
        let ticker = live.then(|| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                while !shared.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    let mut state = shared.state.lock().expect("no panic holds it");
                    state.tick += 1;
                    shared.draw(&mut state);
                }
            })
        });
        Progress { shared, ticker }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        let mut state = self.shared.state.lock().expect("no panic holds it");
        self.shared.clear(&mut state);
    }
}

impl Shared {
    fn clear(&self, state: &mut State) {
        if state.status_drawn {
            eprint!("\r\x1b[2K");
            state.status_drawn = false;
        }
    }

    fn draw(&self, state: &mut State) {
        if !self.live || state.waiting == 0 {
            return;
        }
        let Some(started) = state.started else { return };
        let left = state.budget.saturating_sub(started.elapsed());
        eprint!(
            "\r\x1b[2K{} {} `{}`: {} waiting, {}s left",
            SPINNER[state.tick % SPINNER.len()],
            state.scenario,
            state.phase,
            state.waiting,
            left.as_secs()
        );
        let _ = std::io::stderr().flush();
        state.status_drawn = true;
    }

    fn line(&self, state: &mut State, text: &str) {
        self.clear(state);
        eprintln!("{text}");
        self.draw(state);
    }
}

impl Reporter for Progress {
    fn event(&self, event: &Event<'_>) {
        let shared = &self.shared;
        let mut state = shared.state.lock().expect("no panic holds it");
        let state = &mut *state;
        match event {
            Event::Built {
                scenario,
                build,
                daemons,
            } => {
                state.scenario = scenario.to_string();
                let text = format!(
                    "{scenario}: built in {} ms, daemons up in {} ms",
                    build.as_millis(),
                    daemons.as_millis()
                );
                shared.line(state, &text);
            }
            Event::ActionDone { phase, action } => {
                let text = match &action.error {
                    Some(e) => format!("  {phase}: FAILED {}: {e}", action.action),
                    None => format!(
                        "  {phase}: did {} ({} ms)",
                        action.action,
                        action.took.as_millis()
                    ),
                };
                shared.line(state, &text);
            }
            Event::PhaseStarted {
                phase,
                expectations,
                budget,
            } => {
                state.phase = phase.to_string();
                state.waiting = *expectations;
                state.started = Some(Instant::now());
                state.budget = *budget;
                let text = format!(
                    "{}: phase `{phase}`: {expectations} expectation{}, up to {}s each",
                    state.scenario,
                    if *expectations == 1 { "" } else { "s" },
                    budget.as_secs()
                );
                shared.line(state, &text);
            }
            Event::ExpectationDone { outcome, .. } => {
                state.waiting = state.waiting.saturating_sub(1);
                let verdict = if outcome.holds { "ok  " } else { "FAIL" };
                let text = format!(
                    "  {verdict}  {}  {:.2}s",
                    outcome.label,
                    outcome.elapsed.as_secs_f64()
                );
                shared.line(state, &text);
            }
            Event::PhaseFinished { report } => {
                state.waiting = 0;
                let text = format!(
                    "{}: phase `{}`: {} passed, {} failed in {:.2}s",
                    state.scenario,
                    report.name,
                    report.outcomes.iter().filter(|o| o.holds).count(),
                    report.failed(),
                    report.took.as_secs_f64()
                );
                shared.line(state, &text);
            }
        }
    }
}
