//! Record and replay: every WASI call a guest makes, with its arguments, its result and the bytes it
//! wrote into guest memory, written to a trace ([`crate::WasiCtxBuilder::record`]) and fed back in
//! place of the host ([`crate::WasiCtxBuilder::replay`]).
//!
//! Every nondeterministic input reaches a guest through a WASI call writing into its memory (clock
//! values, random bytes, bytes read from stdin, files and sockets, directory listings, metadata,
//! arguments and environment), so recording the calls at the one place they all pass (`with_ctx` in
//! `lib.rs`) records all of them. A replay touches no host file system, network or clock: each call
//! is checked against the trace (name and arguments; the first that differs is a
//! [`TraceError::Diverged`] naming the call) and answered with the recorded result and memory
//! writes. Writes to stdout and stderr are performed again, on the replaying context's own streams,
//! so a replay prints what the run printed.
//!
//! # Format (version 1)
//!
//! All integers are unsigned LEB128 unless said otherwise.
//!
//! - Header: the 8 bytes `WARDTRC\0`, the version as 2 bytes little-endian (1), and the SHA-256 of
//!   the module's binary (32 bytes).
//! - Then one event per host call, in order:
//!   - `1`: a call: the function name (length, bytes), the argument count and each argument (the
//!     Wasm `i32`/`i64` bits, zero-extended), the errno returned, the number of memory writes and
//!     each write (guest address, length, bytes).
//!   - `2`: `proc_exit`, with the exit code (its `i32` bits).
//! - The trace ends after the last event (a run that trapped ends without a `2`).
//!
//! A recording flushes on [`crate::WasiCtx::finish_trace`] or when the context is dropped. Threads
//! are not supported (a trace is one sequence of calls).

use std::io::{BufWriter, Write};

use sha2::{Digest, Sha256};

use crate::errno::Errno;

/// The first bytes of every trace.
pub const MAGIC: &[u8; 8] = b"WARDTRC\0";
/// The version of the format this ward writes and reads.
pub const VERSION: u16 = 1;

const EVENT_CALL: u8 = 1;
const EVENT_EXIT: u8 = 2;

/// Errors of reading or replaying a trace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The bytes do not start like a trace.
    #[error("not a ward trace (bad magic bytes)")]
    BadMagic,
    /// A trace of another format version.
    #[error("trace format version {found} is not supported (this ward reads version {VERSION})")]
    Version {
        /// The trace's version.
        found: u16,
    },
    /// The trace was recorded for another module.
    #[error(
        "the trace was recorded for another module (module SHA-256 {expected}, this one is {found})"
    )]
    ModuleMismatch {
        /// The recorded module's hash, in hex.
        expected: String,
        /// This module's hash, in hex.
        found: String,
    },
    /// The trace ends in the middle of an event, or an event is malformed.
    #[error("trace is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// Where.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The replayed run made a call the recorded one did not.
    #[error("replay diverged at host call {index}: the trace has {expected}, the run made {found}")]
    Diverged {
        /// The 0-based number of the call.
        index: u64,
        /// The recorded call.
        expected: String,
        /// The call the run made.
        found: String,
    },
    /// A recorded call wrote where this run has no memory.
    #[error(
        "replay diverged at host call {index}: the recorded call wrote outside this run's memory"
    )]
    Memory {
        /// The 0-based number of the call.
        index: u64,
    },
    /// The run ended with recorded calls left over.
    #[error("replay diverged: the run ended after {index} host calls, the trace has more")]
    Unfinished {
        /// How many calls the run made.
        index: u64,
    },
    /// Writing the trace failed.
    #[error("failed to write the trace: {0}")]
    Io(#[from] std::io::Error),
}

/// The SHA-256 of `bytes`.
pub fn module_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// One recorded host call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub name: String,
    pub args: Vec<u64>,
    pub errno: u16,
    pub writes: Vec<(u32, Vec<u8>)>,
}

impl Call {
    fn describe(name: &str, args: &[u64]) -> String {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        format!("{name}({})", args.join(", "))
    }
}

/// A recording in progress.
pub(crate) struct Recorder {
    out: BufWriter<Box<dyn Write + Send>>,
    error: Option<std::io::Error>,
}

impl Recorder {
    pub(crate) fn new(out: Box<dyn Write + Send>, module: &[u8]) -> Recorder {
        let mut recorder = Recorder {
            out: BufWriter::new(out),
            error: None,
        };
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&module_hash(module));
        recorder.emit(&header);
        recorder
    }

    fn emit(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.out.write_all(bytes)
        {
            self.error = Some(e);
        }
    }

    pub(crate) fn call(&mut self, call: &Call) {
        let mut event = vec![EVENT_CALL];
        put_varint(&mut event, call.name.len() as u64);
        event.extend_from_slice(call.name.as_bytes());
        put_varint(&mut event, call.args.len() as u64);
        for &arg in &call.args {
            put_varint(&mut event, arg);
        }
        put_varint(&mut event, u64::from(call.errno));
        put_varint(&mut event, call.writes.len() as u64);
        for (at, bytes) in &call.writes {
            put_varint(&mut event, u64::from(*at));
            put_varint(&mut event, bytes.len() as u64);
            event.extend_from_slice(bytes);
        }
        self.emit(&event);
    }

    pub(crate) fn exit(&mut self, code: i32) {
        let mut event = vec![EVENT_EXIT];
        put_varint(&mut event, u64::from(code as u32));
        self.emit(&event);
    }

    pub(crate) fn finish(&mut self) -> Result<(), TraceError> {
        if let Err(e) = self.out.flush() {
            self.error.get_or_insert(e);
        }
        match self.error.take() {
            Some(e) => Err(TraceError::Io(e)),
            None => Ok(()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

/// A trace being replayed.
pub(crate) struct Replayer {
    bytes: Vec<u8>,
    at: usize,
    /// Host calls answered so far.
    pub(crate) index: u64,
}

/// What the next recorded event is.
pub(crate) enum Event {
    Call(Call),
    Exit(i32),
}

impl Replayer {
    /// Checks the header of `bytes` against the module's binary.
    pub(crate) fn new(bytes: Vec<u8>, module: &[u8]) -> Result<Replayer, TraceError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(TraceError::BadMagic);
        }
        let mut replayer = Replayer {
            bytes,
            at: MAGIC.len(),
            index: 0,
        };
        let version = replayer.take(2, "the header ends early")?;
        let found = u16::from_le_bytes([version[0], version[1]]);
        if found != VERSION {
            return Err(TraceError::Version { found });
        }
        let recorded = replayer.take(32, "the header ends early")?.to_vec();
        let this = module_hash(module);
        if recorded != this {
            return Err(TraceError::ModuleMismatch {
                expected: hex(&recorded),
                found: hex(&this),
            });
        }
        Ok(replayer)
    }

    fn corrupt(&self, reason: &'static str) -> TraceError {
        TraceError::Corrupt {
            offset: self.at,
            reason,
        }
    }

    fn take(&mut self, len: usize, reason: &'static str) -> Result<&[u8], TraceError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.corrupt(reason))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn varint(&mut self) -> Result<u64, TraceError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or_else(|| self.corrupt("an event ends early"))?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.corrupt("a number is too long"))
    }

    /// A length that must fit in what is left of the trace (so a corrupt one never allocates much).
    fn length(&mut self) -> Result<usize, TraceError> {
        let len = self.varint()?;
        usize::try_from(len)
            .ok()
            .filter(|&len| len <= self.bytes.len() - self.at)
            .ok_or_else(|| self.corrupt("a length runs past the end of the trace"))
    }

    /// The next event, or `None` at the end of the trace.
    pub(crate) fn next(&mut self) -> Result<Option<Event>, TraceError> {
        let Some(&tag) = self.bytes.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        match tag {
            EVENT_CALL => {
                let len = self.length()?;
                let name = self.take(len, "a name ends early")?.to_vec();
                let name = String::from_utf8(name)
                    .map_err(|_| self.corrupt("a function name is not UTF-8"))?;
                let count = self.length()?;
                let args = (0..count)
                    .map(|_| self.varint())
                    .collect::<Result<Vec<_>, _>>()?;
                let errno = u16::try_from(self.varint()?)
                    .map_err(|_| self.corrupt("an errno is out of range"))?;
                let count = self.length()?;
                let mut writes = Vec::with_capacity(count.min(64));
                for _ in 0..count {
                    let at = u32::try_from(self.varint()?)
                        .map_err(|_| self.corrupt("a memory address is out of range"))?;
                    let len = self.length()?;
                    writes.push((at, self.take(len, "a memory write ends early")?.to_vec()));
                }
                Ok(Some(Event::Call(Call {
                    name,
                    args,
                    errno,
                    writes,
                })))
            }
            EVENT_EXIT => {
                let code = u32::try_from(self.varint()?)
                    .map_err(|_| self.corrupt("an exit code is out of range"))?;
                Ok(Some(Event::Exit(code as i32)))
            }
            _ => Err(self.corrupt("unknown event")),
        }
    }

    /// The recorded call for the run's call `name(args)`, or why there is none.
    pub(crate) fn expect_call(&mut self, name: &str, args: &[u64]) -> Result<Call, TraceError> {
        let index = self.index;
        let found = || Call::describe(name, args);
        let call = match self.next()? {
            Some(Event::Call(call)) if call.name == name && call.args == args => call,
            Some(Event::Call(call)) => {
                return Err(TraceError::Diverged {
                    index,
                    expected: Call::describe(&call.name, &call.args),
                    found: found(),
                });
            }
            Some(Event::Exit(code)) => {
                return Err(TraceError::Diverged {
                    index,
                    expected: format!("proc_exit({code})"),
                    found: found(),
                });
            }
            None => {
                return Err(TraceError::Diverged {
                    index,
                    expected: "the end of the trace".into(),
                    found: found(),
                });
            }
        };
        self.index += 1;
        Ok(call)
    }

    /// Checks that the run's `proc_exit(code)` is the recorded one.
    pub(crate) fn expect_exit(&mut self, code: i32) -> Result<(), TraceError> {
        let index = self.index;
        let found = format!("proc_exit({code})");
        match self.next()? {
            Some(Event::Exit(recorded)) if recorded == code => {
                self.index += 1;
                Ok(())
            }
            Some(Event::Exit(recorded)) => Err(TraceError::Diverged {
                index,
                expected: format!("proc_exit({recorded})"),
                found,
            }),
            Some(Event::Call(call)) => Err(TraceError::Diverged {
                index,
                expected: Call::describe(&call.name, &call.args),
                found,
            }),
            None => Err(TraceError::Diverged {
                index,
                expected: "the end of the trace".into(),
                found,
            }),
        }
    }

    /// Checks that nothing is left once the run has ended.
    pub(crate) fn finish(&mut self) -> Result<(), TraceError> {
        if self.at < self.bytes.len() {
            return Err(TraceError::Unfinished { index: self.index });
        }
        Ok(())
    }
}

/// A context's recording or replay.
pub(crate) enum Tracing {
    Record(Recorder),
    Replay(Replayer),
}

/// The errno a recorded call returns, as the guest's `i32`.
pub(crate) fn errno_result(errno: u16) -> i32 {
    i32::from(errno)
}

/// The errno of a syscall result, for recording.
pub(crate) fn errno_of(result: &Result<(), Errno>) -> u16 {
    match result {
        Ok(()) => 0,
        Err(errno) => errno.code(),
    }
}

impl std::fmt::Debug for Tracing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tracing::Record(_) => f.write_str("Record"),
            Tracing::Replay(replayer) => write!(f, "Replay(at call {})", replayer.index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_events_read_back() {
        let mut bytes = Vec::new();
        struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let shared = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let call = Call {
            name: "fd_read".into(),
            args: vec![0, 1024, u64::from(u32::MAX), 1 << 40],
            errno: 0,
            writes: vec![(1024, b"hello".to_vec()), (8, vec![5, 0, 0, 0])],
        };
        {
            let mut recorder = Recorder::new(Box::new(Sink(shared.clone())), b"module");
            recorder.call(&call);
            recorder.exit(-1);
            recorder.finish().unwrap();
        }
        bytes.extend_from_slice(&shared.lock().unwrap());
        let mut replayer = Replayer::new(bytes.clone(), b"module").unwrap();
        assert_eq!(replayer.expect_call("fd_read", &call.args).unwrap(), call);
        replayer.expect_exit(-1).unwrap();
        replayer.finish().unwrap();
        assert!(matches!(
            Replayer::new(bytes.clone(), b"other"),
            Err(TraceError::ModuleMismatch { .. })
        ));
        // Every truncation is an error, never a panic.
        for len in 0..bytes.len() {
            let result = Replayer::new(bytes[..len].to_vec(), b"module").and_then(|mut r| {
                r.expect_call("fd_read", &call.args)?;
                r.expect_exit(-1)
            });
            assert!(result.is_err(), "truncated to {len}");
        }
    }
}
