//! Record and replay through ward-wasi's public API: a replay answers every call from the trace,
//! touches nothing on the host and prints what the recorded run printed; a trace of another module,
//! a corrupt or truncated one, or a run that makes other calls is an error, never a panic.

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ward::{Engine, Error, Linker, Module, Store};
use ward_wasi::trace::TraceError;
use ward_wasi::{DirPerms, OutputBuffer, Stdio, WasiCtx, WasiCtxBuilder};

fn program(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/programs")
        .join(format!("{name}.wasm"));
    fs::read(path).unwrap()
}

/// Runs `_start` of `binary` with `ctx`.
fn run(binary: &[u8], ctx: WasiCtx) -> Result<(), Error> {
    let engine = Engine::default();
    let module = Module::from_binary(&engine, binary).unwrap();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    ward_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let mut store = Store::new(&engine, ctx);
    let instance = linker.instantiate(&mut store, &module)?;
    instance
        .get_typed_func::<(), ()>(&store, "_start")?
        .call(&mut store, ())
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records the determinism program (real clocks and randomness) over a directory that is deleted
/// afterwards; returns the trace and what the run printed.
fn record() -> (Vec<u8>, Vec<u8>) {
    let binary = program("determinism");
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("file"), "contents").unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    let trace = Shared::default();
    let stdout = OutputBuffer::new();
    let ctx = WasiCtxBuilder::new()
        .args(["determinism", "/d"])
        .unwrap()
        .env("SEEN", "yes")
        .unwrap()
        .preopened_dir(dir.path(), "/d", DirPerms::ReadOnly)
        .unwrap()
        .stdout(Stdio::Buffer(stdout.clone()))
        .record(trace.clone(), &binary)
        .build();
    run(&binary, ctx.share()).unwrap();
    ctx.finish_trace().unwrap();
    let bytes = trace.0.lock().unwrap().clone();
    (bytes, stdout.contents())
}

/// Replays `trace` of the determinism program; returns the result, the printed bytes and the
/// context's verdict on the trace's end.
fn replay(trace: Vec<u8>) -> (Result<(), Error>, Vec<u8>, Result<(), TraceError>) {
    let binary = program("determinism");
    let stdout = OutputBuffer::new();
    let ctx = WasiCtxBuilder::new()
        .stdout(Stdio::Buffer(stdout.clone()))
        .replay(trace, &binary)
        .unwrap()
        .build();
    let result = run(&binary, ctx.share());
    let end = ctx.finish_trace();
    (result, stdout.contents(), end)
}

#[test]
fn a_replay_prints_what_the_recorded_run_printed_without_the_host() {
    let (trace, printed) = record();
    let text = String::from_utf8(printed.clone()).unwrap();
    assert!(
        text.contains("entry file ") && text.contains("env SEEN=yes"),
        "{text}"
    );
    // The directory is gone; the clocks and random bytes the replay sees are the recorded ones.
    let (result, replayed, end) = replay(trace.clone());
    result.unwrap();
    end.unwrap();
    assert_eq!(replayed, printed);
    // A second replay is the same again.
    assert_eq!(replay(trace).1, printed);
}

#[test]
fn a_trace_of_another_module_or_format_is_refused() {
    let (trace, _) = record();
    let error = WasiCtxBuilder::new()
        .replay(trace.clone(), &program("hello"))
        .unwrap_err();
    assert!(
        matches!(error, TraceError::ModuleMismatch { .. }),
        "{error}"
    );
    let mut other_version = trace.clone();
    other_version[8] = 2;
    let error = WasiCtxBuilder::new()
        .replay(other_version, &program("determinism"))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "trace format version 2 is not supported (this ward reads version 1)"
    );
    let error = WasiCtxBuilder::new()
        .replay(b"not a trace".to_vec(), &program("determinism"))
        .unwrap_err();
    assert!(matches!(error, TraceError::BadMagic));
}

#[test]
fn a_different_call_is_reported_at_the_first_divergence() {
    let (mut trace, _) = record();
    // Rename the first recorded fd_write: the run's first write no longer matches.
    let at = trace
        .windows(8)
        .position(|w| w == b"fd_write")
        .expect("the run wrote to stdout");
    trace[at + 7] = b'X';
    let (result, _, _) = replay(trace);
    let message = result.unwrap_err().to_string();
    assert!(
        message.starts_with("replay diverged at host call ")
            && message.contains("the trace has fd_writX(1, ")
            && message.contains("the run made fd_write(1, "),
        "{message}"
    );
    // With the Wasm backtrace of the call that diverged: the program's code, innermost first.
    let backtrace = message
        .split_once("\nwasm backtrace:\n")
        .map(|(_, frames)| frames)
        .unwrap_or_else(|| panic!("no backtrace in {message}"));
    assert!(backtrace.starts_with("    0: "), "{message}");
    assert!(backtrace.lines().count() >= 3, "{message}");
}

#[test]
fn truncated_and_mutated_traces_are_errors_never_panics() {
    let (trace, _) = record();
    // Cut short anywhere after the header: the run stops at the missing call.
    for len in [42, 43, 50, trace.len() / 2, trace.len() - 1] {
        let (result, _, end) = replay(trace[..len].to_vec());
        assert!(result.is_err() || end.is_err(), "truncated to {len}");
    }
    // Extra bytes after the last call: the run ends before the trace does.
    let mut longer = trace.clone();
    longer.extend_from_slice(&[1, 0]);
    let (result, _, end) = replay(longer);
    result.unwrap();
    assert!(matches!(end, Err(TraceError::Unfinished { .. })), "{end:?}");
    // Flipped bytes: whatever happens is an orderly result, never a panic (a flip inside a recorded
    // memory write's bytes, a clock value say, is a different input and goes unnoticed; one in the
    // structure or a call's name or arguments is detected).
    let mut detected = 0;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..48 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let at = 42 + (state as usize) % (trace.len() - 42);
        let mut mutated = trace.clone();
        mutated[at] ^= 1 << (state >> 61);
        let (result, _, end) = replay(mutated);
        if result.is_err() || end.is_err() {
            detected += 1;
        }
    }
    assert!(detected > 0);
}
