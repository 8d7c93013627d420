//! `ward run --record TRACE` and `ward replay TRACE MODULE`: a replay prints the same stdout and
//! stderr and exits with the same code without the host's files, environment or clocks; a wrong
//! module, a corrupt, truncated or other-version trace is a one-line error (exit 1), never a panic.

mod support;

use std::fs;

use support::{program, stderr, stdout, ward};

/// Records the determinism program (real clocks, host randomness) over a fresh directory, then
/// removes the directory; returns the trace's path (in `work`) and the recorded run's output.
fn record(work: &tempfile::TempDir) -> (String, std::process::Output) {
    let data = work.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("file"), "contents").unwrap();
    let trace = work.path().join("run.trace").display().to_string();
    let dir = format!("{}::/d", data.display());
    let out = ward(&[
        "run",
        "--record",
        &trace,
        "--dir-ro",
        &dir,
        "--env",
        "SEEN=yes",
        &program("determinism"),
        "/d",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    fs::remove_dir_all(&data).unwrap();
    (trace, out)
}

#[test]
fn a_replay_prints_the_same_output_and_exits_the_same_way() {
    let work = tempfile::tempdir().unwrap();
    let (trace, recorded) = record(&work);
    assert!(stdout(&recorded).contains("env SEEN=yes"));
    let replayed = ward(&["replay", &trace, &program("determinism")]);
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr(&replayed));
    assert_eq!(replayed.stdout, recorded.stdout);
    assert_eq!(replayed.stderr, recorded.stderr);

    // proc_exit and stdin are replayed too.
    let exit_trace = work.path().join("exit.trace").display().to_string();
    let out = ward(&["run", "--record", &exit_trace, &program("exit_code"), "7"]);
    assert_eq!(out.status.code(), Some(7));
    let replayed = ward(&["replay", &exit_trace, &program("exit_code")]);
    assert_eq!(replayed.status.code(), Some(7), "{}", stderr(&replayed));
    assert_eq!(replayed.stdout, out.stdout);
}

#[test]
fn a_wrong_module_or_a_damaged_trace_is_a_one_line_error() {
    let work = tempfile::tempdir().unwrap();
    let (trace, _) = record(&work);
    let one_line_error = |out: &std::process::Output, expected: &str| {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
        let err = stderr(out);
        assert!(err.contains(expected), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    };
    let out = ward(&["replay", &trace, &program("hello")]);
    one_line_error(&out, "the trace was recorded for another module");
    assert!(stdout(&out).is_empty());

    let bytes = fs::read(&trace).unwrap();
    let damaged = work.path().join("damaged.trace");
    let damaged_path = damaged.display().to_string();
    let mut other_version = bytes.clone();
    other_version[8] = 9;
    fs::write(&damaged, &other_version).unwrap();
    one_line_error(
        &ward(&["replay", &damaged_path, &program("determinism")]),
        "trace format version 9 is not supported",
    );
    fs::write(&damaged, b"WARD").unwrap();
    one_line_error(
        &ward(&["replay", &damaged_path, &program("determinism")]),
        "not a ward trace",
    );
    // A trace that ends with proc_exit(7), two bytes: cut into it, and cut it off.
    let exit_trace = work.path().join("exit.trace").display().to_string();
    ward(&["run", "--record", &exit_trace, &program("exit_code"), "7"]);
    let exit_bytes = fs::read(&exit_trace).unwrap();
    assert_eq!(exit_bytes[exit_bytes.len() - 2..], [2, 7]);
    fs::write(&damaged, &exit_bytes[..exit_bytes.len() - 1]).unwrap();
    let out = ward(&["replay", &damaged_path, &program("exit_code")]);
    one_line_error(
        &out,
        &format!(
            "trace is corrupt at byte {}: an event ends early",
            exit_bytes.len() - 1
        ),
    );
    fs::write(&damaged, &exit_bytes[..exit_bytes.len() - 2]).unwrap();
    let out = ward(&["replay", &damaged_path, &program("exit_code")]);
    one_line_error(
        &out,
        "the trace has the end of the trace, the run made proc_exit(7)",
    );
    fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let out = ward(&["replay", &damaged_path, &program("determinism")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Flipped bits anywhere after the header never crash ward (a panic exits 101). A flipped bit
    // in a recorded memory write changes the guest's memory, and with it what the guest does: it
    // may loop for ever without another host call (seen with a damaged directory listing), which
    // is the guest's behaviour, bounded as any guest's is, here by --timeout.
    for at in (42..bytes.len()).step_by(bytes.len() / 40 + 1) {
        let mut mutated = bytes.clone();
        mutated[at] ^= 0x10;
        fs::write(&damaged, &mutated).unwrap();
        let out = ward(&[
            "replay",
            "--timeout",
            "20s",
            &damaged_path,
            &program("determinism"),
        ]);
        assert_ne!(out.status.code(), Some(101), "byte {at}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("panicked"),
            "byte {at}: {}",
            stderr(&out)
        );
    }
    let out = ward(&["replay", "/nonexistent.trace", &program("determinism")]);
    one_line_error(
        &out,
        "failed to read trace \"/nonexistent.trace\": No such file or directory",
    );
}

#[test]
fn a_run_that_ran_out_of_fuel_replays_to_the_same_trap_with_the_same_limit() {
    let work = tempfile::tempdir().unwrap();
    let trace = work.path().join("fuel.trace").display().to_string();
    let recorded = ward(&[
        "run",
        "--record",
        &trace,
        "--fuel",
        "20000",
        &program("clock_random"),
    ]);
    assert_eq!(recorded.status.code(), Some(134), "{}", stderr(&recorded));
    let replayed = ward(&[
        "replay",
        "--fuel",
        "20000",
        &trace,
        &program("clock_random"),
    ]);
    assert_eq!(replayed.status.code(), Some(134), "{}", stderr(&replayed));
    assert_eq!(replayed.stdout, recorded.stdout);
    assert!(
        stderr(&replayed).contains("fuel limit of 20000 exhausted"),
        "{}",
        stderr(&replayed)
    );
    // Without the limit the replay runs past the end of the trace, and says so.
    let unlimited = ward(&["replay", &trace, &program("clock_random")]);
    assert_eq!(unlimited.status.code(), Some(1), "{}", stderr(&unlimited));
    assert!(
        stderr(&unlimited).contains("the trace has the end of the trace"),
        "{}",
        stderr(&unlimited)
    );
}
