//! Apply progress on stderr (an edge: it writes to the terminal).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ec2::{Progress, StepResult};
use crate::plan::steps::Step;
use crate::render;

/// Progress on stderr: a rewritten line on a TTY, a line every 10 s in CI.
pub struct LineProgress {
    tty: bool,
    last: Mutex<Option<Instant>>,
}

impl Default for LineProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl LineProgress {
    /// Progress on stderr, as a terminal or a CI log wants it.
    pub fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            last: Mutex::new(None),
        }
    }

    /// Clears a spinner line.
    pub fn clear(&self) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
    }
}

impl Progress for LineProgress {
    fn started(&self, step: &Step) {
        tracing::info!(resource = %step.resource, "step started");
    }

    fn finished(&self, result: &StepResult) {
        self.clear();
        eprintln!("{}", render::report::step_line(result));
    }

    fn waiting(&self, pending: usize, state: &str, elapsed: Duration) {
        let line = format!(
            "waiting for {pending} instance(s) to be {state} ({}s)",
            elapsed.as_secs()
        );
        if self.tty {
            const SPIN: [char; 4] = ['|', '/', '-', '\\'];
            let c = SPIN[(elapsed.as_millis() / 250) as usize % 4];
            eprint!("\r\x1b[2K{c} {line}");
            return;
        }
        self.every_10s(&line);
    }

    fn note(&self, text: &str) {
        // The note quotes the lease holder, which anyone with tag rights
        // can write: one line, controls shown escaped.
        let text = render::escape::log_lines(&render::escape::terminal(text));
        if self.tty {
            eprint!("\r\x1b[2K{text}");
        } else {
            self.every_10s(&text);
        }
    }
}

impl LineProgress {
    /// CI logs get a repeated line at most every 10 s.
    fn every_10s(&self, line: &str) {
        let mut last = self.last.lock().expect("progress lock");
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            eprintln!("{line}");
            *last = Some(Instant::now());
        }
    }
}
