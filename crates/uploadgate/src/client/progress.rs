//! Upload progress: bars on a terminal, plain lines every few seconds
//! otherwise (logs of CI jobs and cron), nothing with `--quiet`.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use uploadgate_client::{Event, Progress};

/// Between two plain progress lines.
const PLAIN_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Quiet,
}

impl Mode {
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

/// All files of one command: a bar each, and a total when there are several.
pub struct Display {
    mode: Mode,
    multi: MultiProgress,
    total: Option<ProgressBar>,
}

impl Display {
    pub fn new(mode: Mode, total_bytes: u64, files: usize) -> Self {
        let multi = MultiProgress::with_draw_target(match mode {
            Mode::Bars => ProgressDrawTarget::stderr(),
            Mode::Lines | Mode::Quiet => ProgressDrawTarget::hidden(),
        });
        let total = (mode == Mode::Bars && files > 1).then(|| {
            let bar = multi.add(ProgressBar::new(total_bytes));
            bar.set_style(style());
            bar.set_message("total");
            bar
        });
        Self { mode, multi, total }
    }

    pub fn file(&self, name: &str) -> FileProgress {
        let bar = (self.mode == Mode::Bars).then(|| {
            let bar = self
                .multi
                .insert_from_back(usize::from(self.total.is_some()), ProgressBar::new(0));
            bar.set_style(style());
            bar.set_message(shorten(name));
            bar
        });
        let state = Arc::new(FileState {
            name: name.to_owned(),
            mode: self.mode,
            bar,
            total_bar: self.total.clone(),
            size: AtomicU64::new(0),
            position: AtomicI64::new(0),
            sent: AtomicU64::new(0),
            started: Instant::now(),
            last_line: std::sync::Mutex::new(Instant::now()),
        });
        FileProgress { state }
    }

    /// Prints a line without tearing the bars.
    pub fn println(&self, line: &str) {
        match self.mode {
            Mode::Bars => {
                let _ = self.multi.println(line);
            }
            Mode::Lines => eprintln!("{line}"),
            Mode::Quiet => {}
        }
    }
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{msg:24} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn shorten(name: &str) -> String {
    if name.chars().count() <= 24 {
        return name.to_owned();
    }
    let tail: String = name
        .chars()
        .rev()
        .take(23)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

pub struct FileProgress {
    state: Arc<FileState>,
}

struct FileState {
    name: String,
    mode: Mode,
    bar: Option<ProgressBar>,
    total_bar: Option<ProgressBar>,
    size: AtomicU64,
    /// Bytes in storage or on their way; goes back on a failed attempt.
    position: AtomicI64,
    /// Bytes sent by this run, failed attempts included.
    sent: AtomicU64,
    started: Instant,
    last_line: std::sync::Mutex<Instant>,
}

impl FileProgress {
    pub fn hook(&self) -> Progress {
        let state = self.state.clone();
        Arc::new(move |event| state.on(event))
    }

    /// Bytes this run sent so far, failed attempts included.
    pub fn sent(&self) -> u64 {
        self.state.sent.load(Ordering::Relaxed)
    }

    pub fn finish(&self, message: &str) {
        match (&self.state.bar, self.state.mode) {
            (Some(bar), _) => {
                bar.finish_with_message(format!("{} {message}", shorten(&self.state.name)))
            }
            (None, Mode::Lines) => eprintln!("{}: {message}", self.state.name),
            _ => {}
        }
    }

    pub fn abandon(&self) {
        if let Some(bar) = &self.state.bar {
            bar.abandon();
        }
    }
}

impl FileState {
    fn on(&self, event: Event) {
        match event {
            Event::Started {
                upload_id,
                total,
                already,
                resumed,
            } => {
                self.size.store(total, Ordering::Relaxed);
                self.position
                    .store(i64::try_from(already).unwrap_or(0), Ordering::Relaxed);
                if let Some(bar) = &self.bar {
                    bar.set_length(total);
                    bar.set_position(already);
                }
                if let Some(bar) = &self.total_bar {
                    bar.inc(already);
                }
                let line = if resumed {
                    format!(
                        "{}: resuming upload {upload_id}: storage holds {already} of {total} bytes",
                        self.name
                    )
                } else {
                    format!("{}: upload {upload_id}, {total} bytes", self.name)
                };
                self.println(&line);
            }
            Event::Sent(n) => {
                self.sent.fetch_add(n, Ordering::Relaxed);
                self.advance(i64::try_from(n).unwrap_or(0));
                self.maybe_line();
            }
            Event::Unsent(n) => self.advance(-i64::try_from(n).unwrap_or(0)),
            Event::Retrying { reason, delay } => {
                self.println(&format!(
                    "{}: {reason}; retrying in {:.1} s",
                    self.name,
                    delay.as_secs_f64()
                ));
            }
            Event::Verifying => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{} verifying", shorten(&self.name)));
                }
            }
        }
    }

    fn advance(&self, delta: i64) {
        self.position.fetch_add(delta, Ordering::Relaxed);
        for bar in self.bar.iter().chain(&self.total_bar) {
            if delta >= 0 {
                bar.inc(delta.unsigned_abs());
            } else {
                bar.set_position(bar.position().saturating_sub(delta.unsigned_abs()));
            }
        }
    }

    fn println(&self, line: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.println(line),
            (None, Mode::Lines) => eprintln!("{line}"),
            _ => {}
        }
    }

    /// In line mode, one line every few seconds: position, rate, time left.
    fn maybe_line(&self) {
        if self.mode != Mode::Lines {
            return;
        }
        let Ok(mut last) = self.last_line.try_lock() else {
            return;
        };
        if last.elapsed() < PLAIN_EVERY {
            return;
        }
        *last = Instant::now();
        let size = self.size.load(Ordering::Relaxed);
        let position = u64::try_from(self.position.load(Ordering::Relaxed)).unwrap_or(0);
        let rate = self.sent.load(Ordering::Relaxed) as f64
            / self.started.elapsed().as_secs_f64().max(0.001);
        let left = size.saturating_sub(position) as f64 / rate.max(1.0);
        eprintln!(
            "{}: {position} of {size} bytes ({:.0}%), {:.1} MiB/s, about {:.0} s left",
            self.name,
            position as f64 * 100.0 / size.max(1) as f64,
            rate / 1_048_576.0,
            left
        );
    }
}
