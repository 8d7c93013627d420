//! Measurements in child processes, for the `bombs` and `gc` programs.
//!
//! The parent re-runs its own executable with [`CASE_VAR`] naming one case and one engine; the child
//! prepares its input (text to bytes) outside of the measurement, resets its peak RSS with
//! [`reset_peak_rss`], measures, and prints one [`report`] line. Peak RSS is the child's `VmHWM`, so
//! each figure belongs to one case on one engine and nothing else.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in a child process: `<case>/<engine>`.
pub const CASE_VAR: &str = "WARD_BENCH_CASE";

/// The prefix of the one line a child prints with its figures.
const REPORT: &str = "bench-result";

/// In a child: the case and engine it measures, from [`CASE_VAR`].
pub fn child_case() -> Option<(String, String)> {
    let value = std::env::var(CASE_VAR).ok()?;
    let (case, engine) = value.split_once('/')?;
    Some((case.to_string(), engine.to_string()))
}

/// A field of `/proc/self/status` given in KiB (`VmHWM`, `VmRSS`).
pub fn status_kib(field: &str) -> u64 {
    let status =
        std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("the kernel reports {field} in KiB"))
}

/// This process's peak resident set size, in KiB.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM")
}

/// This process's resident set size, in KiB.
pub fn rss_kib() -> u64 {
    status_kib("VmRSS")
}

/// Resets the peak RSS to the current RSS (Linux `clear_refs` 5), so that a later
/// [`peak_rss_kib`] covers only what happened since.
pub fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("the peak RSS can be reset");
}

/// In a child: prints the figures as one line for the parent.
pub fn report(fields: &[(&str, String)]) {
    let mut line = String::from(REPORT);
    for (key, value) in fields {
        // Tabs separate fields; keep values on one line.
        let value: String = value
            .chars()
            .map(|c| if c == '\t' || c == '\n' { ' ' } else { c })
            .collect();
        line.push('\t');
        line.push_str(key);
        line.push('=');
        line.push_str(&value);
    }
    println!("{line}");
}

/// What one child run gave.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The child's figures, by key.
    Done(BTreeMap<String, String>),
    /// The child exited unsuccessfully or printed no report: the reason.
    Failed(String),
    /// The child ran past the time limit and was killed.
    TimedOut(Duration),
}

impl Outcome {
    /// A figure of a finished run.
    pub fn get(&self, key: &str) -> Option<&str> {
        match self {
            Outcome::Done(fields) => fields.get(key).map(String::as_str),
            _ => None,
        }
    }

    /// A numeric figure of a finished run.
    pub fn num(&self, key: &str) -> Option<f64> {
        self.get(key)?.parse().ok()
    }
}

/// Runs this executable as a child measuring `case` on `engine` (with `args`), killing it after
/// `limit`.
pub fn run_child(case: &str, engine: &str, args: &[String], limit: Duration) -> Outcome {
    let mut child = Command::new(std::env::current_exe().expect("the executable's path"))
        .args(args)
        .env(CASE_VAR, format!("{case}/{engine}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the executable runs itself");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let Some(status) = status else {
        return Outcome::TimedOut(limit);
    };
    let fields = stdout.lines().find_map(|l| {
        let rest = l.strip_prefix(REPORT)?;
        Some(
            rest.split('\t')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    });
    match fields {
        Some(fields) if status.success() => Outcome::Done(fields),
        _ => {
            // The last line of stderr usually says why (a panic message, a signal is in the status).
            let why = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.starts_with("note:"))
                .unwrap_or("")
                .trim()
                .to_string();
            Outcome::Failed(format!("{status}: {why}"))
        }
    }
}

/// Writes `bytes` to a temporary file for the children to read (with one allocation of the exact
/// size, so a child's RSS before the measurement holds no leftovers of text parsing).
pub fn module_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("ward-bench-{}-{name}.wasm", std::process::id()));
    std::fs::write(&path, bytes).expect("the module can be written to the temporary directory");
    path
}

/// The median of `values` (the lower middle one for an even count); `None` if empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[(v.len() - 1) / 2])
}

/// A duration in seconds, with units that keep three significant digits.
pub fn fmt_secs(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 1e-3 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{:.0} µs", secs * 1e6)
    }
}

/// A size given in KiB, as MiB.
pub fn fmt_kib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

/// `a / b` to two decimals, or `-` when either is missing.
pub fn fmt_ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".to_string(),
    }
}

/// Why a set of runs gave no figures, if one of them gave none: a short label for a table cell
/// (`failed`, `timed out`) and the details.
pub fn describe_failure(outcomes: &[Outcome]) -> Option<(&'static str, String)> {
    outcomes.iter().find_map(|o| match o {
        Outcome::Done(_) => None,
        Outcome::Failed(why) => Some(("failed", why.clone())),
        Outcome::TimedOut(limit) => {
            Some(("timed out", format!("killed after {} s", limit.as_secs())))
        }
    })
}

/// Footnotes of a table: long explanations (error messages) referred to by number from its cells.
#[derive(Default)]
pub struct Notes(Vec<String>);

impl Notes {
    /// `label [n]`, with `detail` as note `n` (the same detail gets the same number).
    pub fn cell(&mut self, label: &str, detail: &str) -> String {
        let n = match self.0.iter().position(|d| d == detail) {
            Some(i) => i + 1,
            None => {
                self.0.push(detail.to_string());
                self.0.len()
            }
        };
        format!("{label} [{n}]")
    }

    /// Prints the notes (nothing if there are none).
    pub fn print(&self) {
        if !self.0.is_empty() {
            println!();
        }
        for (i, detail) in self.0.iter().enumerate() {
            println!("[{}] {detail}  ", i + 1);
        }
    }
}

/// Measurements of every case on every engine: `(case, engine)` → one outcome per repetition.
pub type Runs<'e> = std::collections::BTreeMap<(String, &'e str), Vec<Outcome>>;

/// Runs case `name` on each of `engines` in a child process, interleaved (each engine once, then
/// again), `reps` times, logging every outcome on stderr with the time since `started`, and adds
/// the outcomes to `runs`.
pub fn run_interleaved<'e>(
    runs: &mut Runs<'e>,
    name: &str,
    engines: &[&'e str],
    child_args: &[String],
    reps: usize,
    limit: Duration,
    started: std::time::Instant,
) {
    for rep in 0..reps {
        for &engine in engines {
            let outcome = run_child(name, engine, child_args, limit);
            eprintln!(
                "[{:>6.1} s] {name} {engine} #{}: {}",
                started.elapsed().as_secs_f64(),
                rep + 1,
                match &outcome {
                    Outcome::Done(f) => f
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    other => format!("{other:?}"),
                }
            );
            runs.entry((name.to_string(), engine))
                .or_default()
                .push(outcome);
        }
    }
}
