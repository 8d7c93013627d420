//! The audit log: one JSON Lines record per capability decision the WASI layer makes for a guest.
//!
//! Records (every one has `"seq"`, its number from 0, and `"event"`):
//! - `open`: `path_open`, with the guest path, the mode asked for, `"allowed"`, the `"rule"` that
//!   decided and, when the host refused an allowed open, its `"errno"`;
//! - `mkdir`, `rmdir`, `unlink`, `rename`, `link`, `symlink`, `set-times`: the other path calls that
//!   change a directory, with the same fields;
//! - `bind` (a listening socket granted when the context was built) and `accept` (a connection
//!   accepted on one);
//! - `env`: the names of the variables the guest can read, when it asks for them
//!   (`environ_sizes_get`, which every libc calls first);
//! - `summary`, last: clock reads per clock, `random_get` calls and bytes, sleeps, and how
//!   the run ended (`"end"`; for a limit, `"limit"` names it).
//!
//! Clocks and randomness are counted rather than logged per call, so a busy guest does not flood the
//! log. A context without an audit log pays one `Option` test per decision. The log is written
//! through a `BufWriter` and flushed by [`crate::WasiCtx::finish_audit`] (the embedder calls it when
//! the run ends, however it ended) or, failing that, when the context is dropped. Used by `path`,
//! `sock`, `process` and `poll`; installed by [`crate::WasiCtxBuilder::audit`].

use std::fmt::Write as _;
use std::io::{BufWriter, Write};

/// How a run ended, for the audit log's summary record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// The called function returned.
    Returned,
    /// The guest called `proc_exit` with this code.
    Exit(i32),
    /// A limit was exhausted: `limit` names it as a policy does (`fuel`, `wall_time`, `memory`,
    /// `table_elements`, `stack`).
    Limit {
        /// The policy key of the limit.
        limit: &'static str,
        /// The trap message.
        message: String,
    },
    /// Any other trap or error.
    Trap(String),
}

impl RunEnd {
    /// How a call into the guest that returned `result` ended.
    pub fn of<T>(result: &ward::Result<T>) -> RunEnd {
        match result {
            Ok(_) => RunEnd::Returned,
            Err(error) => RunEnd::of_error(error),
        }
    }

    /// How a call into the guest that failed with `error` ended.
    pub fn of_error(error: &ward::Error) -> RunEnd {
        match error {
            ward::Error::Exit(code) => RunEnd::Exit(*code),
            ward::Error::Trap(trap) => {
                let limit = match trap.kind() {
                    ward::TrapKind::OutOfFuel => Some("fuel"),
                    ward::TrapKind::Interrupt => Some("wall_time"),
                    ward::TrapKind::MemoryLimitExceeded | ward::TrapKind::GcHeapExhausted => {
                        Some("memory")
                    }
                    ward::TrapKind::TableLimitExceeded => Some("table_elements"),
                    ward::TrapKind::StackOverflow => Some("stack"),
                    _ => None,
                };
                match limit {
                    Some(limit) => RunEnd::Limit {
                        limit,
                        message: trap.to_string(),
                    },
                    None => RunEnd::Trap(trap.to_string()),
                }
            }
            other => RunEnd::Trap(other.to_string()),
        }
    }
}

/// Appends `text` to `out` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One record being written: `{"seq":N,"event":"…",…}`.
pub(crate) struct Record {
    line: String,
}

impl Record {
    fn new(seq: u64, event: &str) -> Record {
        let mut line = format!("{{\"seq\":{seq},\"event\":");
        push_json_string(&mut line, event);
        Record { line }
    }

    fn key(&mut self, key: &str) {
        self.line.push(',');
        push_json_string(&mut self.line, key);
        self.line.push(':');
    }

    /// Adds a string field.
    pub(crate) fn str(mut self, key: &str, value: &str) -> Record {
        self.key(key);
        push_json_string(&mut self.line, value);
        self
    }

    /// Adds a number field.
    pub(crate) fn num(mut self, key: &str, value: impl std::fmt::Display) -> Record {
        self.key(key);
        let _ = write!(self.line, "{value}");
        self
    }

    /// Adds a boolean field.
    pub(crate) fn bool(mut self, key: &str, value: bool) -> Record {
        self.key(key);
        self.line.push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds an array of strings.
    pub(crate) fn strs<'a>(
        mut self,
        key: &str,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Record {
        self.key(key);
        self.line.push('[');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            push_json_string(&mut self.line, value);
        }
        self.line.push(']');
        self
    }
}

/// What a guest did with clocks and randomness, counted.
#[derive(Debug, Default, Clone)]
struct Counters {
    /// Reads per WASI clock id (realtime, monotonic, process, thread).
    clock_reads: [u64; 4],
    random_calls: u64,
    random_bytes: u64,
    sleeps: u64,
}

/// An audit log being written (see the module documentation).
pub(crate) struct AuditLog {
    out: BufWriter<Box<dyn Write + Send>>,
    seq: u64,
    counters: Counters,
    finished: bool,
    /// The first write error, reported by [`AuditLog::finish`] (a failing log never fails the guest).
    error: Option<std::io::Error>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("seq", &self.seq).finish()
    }
}

impl AuditLog {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> AuditLog {
        AuditLog {
            out: BufWriter::new(out),
            seq: 0,
            counters: Counters::default(),
            finished: false,
            error: None,
        }
    }

    /// A new record for `event`; write it with [`AuditLog::write`].
    pub(crate) fn record(&mut self, event: &str) -> Record {
        let record = Record::new(self.seq, event);
        self.seq += 1;
        record
    }

    pub(crate) fn write(&mut self, record: Record) {
        let mut line = record.line;
        line.push_str("}\n");
        if let Err(e) = self.out.write_all(line.as_bytes()) {
            self.error.get_or_insert(e);
        }
    }

    pub(crate) fn count_clock(&mut self, id: u32) {
        if let Some(count) = self.counters.clock_reads.get_mut(id as usize) {
            *count += 1;
        }
    }

    pub(crate) fn count_random(&mut self, bytes: u32) {
        self.counters.random_calls += 1;
        self.counters.random_bytes += u64::from(bytes);
    }

    pub(crate) fn count_sleep(&mut self) {
        self.counters.sleeps += 1;
    }

    /// Writes the summary record and flushes. Only the first call writes; later ones flush.
    pub(crate) fn finish(&mut self, end: &RunEnd) -> std::io::Result<()> {
        if !self.finished {
            self.finished = true;
            let counters = self.counters.clone();
            let mut record = self
                .record("summary")
                .num("clock_realtime_reads", counters.clock_reads[0])
                .num("clock_monotonic_reads", counters.clock_reads[1])
                .num("clock_process_cputime_reads", counters.clock_reads[2])
                .num("clock_thread_cputime_reads", counters.clock_reads[3])
                .num("random_calls", counters.random_calls)
                .num("random_bytes", counters.random_bytes)
                .num("sleeps", counters.sleeps);
            record = match end {
                RunEnd::Returned => record.str("end", "returned"),
                RunEnd::Exit(code) => record.str("end", "exit").num("exit_code", code),
                RunEnd::Limit { limit, message } => record
                    .str("end", "limit")
                    .str("limit", limit)
                    .str("message", message),
                RunEnd::Trap(message) => record.str("end", "trap").str("message", message),
            };
            self.write(record);
        }
        if let Err(e) = self.out.flush() {
            self.error.get_or_insert(e);
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // An embedder that never said how the run ended still gets the counts, flushed.
        let _ = self.finish(&RunEnd::Trap(
            "the context was dropped without finish_audit".into(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> String {
        let mut out = String::new();
        push_json_string(&mut out, text);
        out
    }

    #[test]
    fn strings_are_escaped_as_json_requires() {
        assert_eq!(json("plain"), "\"plain\"");
        assert_eq!(json("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(json("line\nnext\ttab"), "\"line\\nnext\\ttab\"");
        assert_eq!(json("\u{1}\u{1f}"), "\"\\u0001\\u001f\"");
        assert_eq!(json("é😀"), "\"é😀\"");
    }

    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn records_are_numbered_lines_and_the_summary_comes_once() {
        let out = Shared::default();
        let mut log = AuditLog::new(Box::new(out.clone()));
        let record = log.record("open").str("path", "x").bool("allowed", true);
        log.write(record);
        log.count_clock(1);
        log.count_random(16);
        log.finish(&RunEnd::Exit(3)).unwrap();
        log.finish(&RunEnd::Returned).unwrap();
        drop(log);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(
            lines[0],
            r#"{"seq":0,"event":"open","path":"x","allowed":true}"#
        );
        assert!(
            lines[1].starts_with(r#"{"seq":1,"event":"summary""#),
            "{text}"
        );
        assert!(lines[1].contains(r#""clock_monotonic_reads":1"#), "{text}");
        assert!(lines[1].contains(r#""random_bytes":16"#), "{text}");
        assert!(
            lines[1].ends_with(r#""end":"exit","exit_code":3}"#),
            "{text}"
        );
    }
}
