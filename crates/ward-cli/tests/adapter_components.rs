//! The C test programs of tests/programs run as WASI preview1 modules and, wrapped with the
//! preview1 adapter (`*.component.wasm`, made by tools/wrap-component through
//! tests/programs/build.sh), as WASI 0.2 components: with the same arguments, environment,
//! directories and standard input, both must give the same stdout, stderr and exit code, except
//! where the adapter itself makes a difference, which [`Expect`] spells out case by case.

mod support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{repo, stderr, stdout};

/// One run of a program: its arguments, environment, standard input and whether it gets a fresh
/// copy of the sandbox tree as `/box` (read-write) and `/ro` (read-only).
struct Case {
    program: &'static str,
    args: &'static [&'static str],
    env: &'static [&'static str],
    stdin: &'static str,
    dirs: bool,
    /// `--deterministic` (virtual clocks, seeded randomness, stable metadata).
    deterministic: bool,
    expect: Expect,
}

/// How the component's run must compare with the module's.
#[derive(Clone, Copy)]
enum Expect {
    /// The same stdout, stderr and exit code.
    Same,
    /// The same stdout and stderr; a non-zero `proc_exit` code comes out as 1, since WASI 0.2's
    /// `exit` carries only success or failure and the adapter calls it (Wasmtime 49 exits 1 too).
    ExitCodeBecomesFailure,
    /// A trap: the same exit code (134) and stdout, and the component's backtrace begins with the
    /// module's frames (the adapter's `run` follows them; the first line names what was run).
    Trap,
    /// The same stderr and exit code, and the same stdout but for the lines starting with these
    /// prefixes, present in both: readings of the virtual clocks, which advance with the fuel
    /// executed, and the adapter executes more.
    SameButClockLines(&'static [&'static str]),
}

const fn case(program: &'static str, args: &'static [&'static str]) -> Case {
    Case {
        program,
        args,
        env: &[],
        stdin: "",
        dirs: false,
        deterministic: false,
        expect: Expect::Same,
    }
}

const CASES: &[Case] = &[
    Case {
        env: &["GREETING=hi there", "EMPTY="],
        ..case("hello", &["one", "3 4"])
    },
    Case {
        stdin: "Hello, wörld!\nsecond line\n",
        ..case("upper", &[])
    },
    Case {
        expect: Expect::ExitCodeBecomesFailure,
        ..case("exit_code", &["7"])
    },
    case("exit_code", &["return"]),
    case("exit_code", &["0"]),
    Case {
        expect: Expect::Trap,
        ..case("exit_code", &["trap"])
    },
    Case {
        dirs: true,
        ..case(
            "fsops",
            &[
                "write",
                "/box/a.txt",
                "hello",
                "append",
                "/box/a.txt",
                " world",
                "read",
                "/box/a.txt",
                "patch",
                "/box/a.txt",
                "1",
                "E",
                "read",
                "/box/a.txt",
                "truncate",
                "/box/a.txt",
                "3",
                "read",
                "/box/a.txt",
                "mkdir",
                "/box/d",
                "rename",
                "/box/a.txt",
                "/box/d/b.txt",
                "ls",
                "/box/d",
                "read",
                "/box/missing",
                "excl",
                "/box/d/b.txt",
                "unlink",
                "/box/d/b.txt",
                "rmdir",
                "/box/d",
                "read",
                "/box/../outside.txt",
                "read",
                "/ro/existing.txt",
                "write",
                "/ro/new.txt",
                "x",
            ],
        )
    },
    Case {
        dirs: true,
        expect: Expect::ExitCodeBecomesFailure,
        ..case("journal", &["/box", "5"])
    },
    Case {
        deterministic: true,
        ..case("clock_random", &[])
    },
    Case {
        dirs: true,
        deterministic: true,
        expect: Expect::SameButClockLines(&["realtime ", "work took ", "slept "]),
        ..case("determinism", &["/ro"])
    },
];

/// A fresh host tree: `outside.txt` beside `box/` (with `input.txt` for the journal) and `ro/`
/// (with `existing.txt`).
fn sandbox() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("outside.txt"), "top secret").unwrap();
    fs::create_dir(root.path().join("box")).unwrap();
    fs::write(
        root.path().join("box/input.txt"),
        "alpha\nbeta\ngamma\ndelta\nepsilon\nzeta\n",
    )
    .unwrap();
    fs::create_dir(root.path().join("ro")).unwrap();
    fs::write(root.path().join("ro/existing.txt"), "kept").unwrap();
    root
}

/// Runs `case` with `binary` (the module or the component) in a fresh sandbox.
fn run(case: &Case, binary: &str) -> Output {
    let root = sandbox();
    let grant = |dir: &str| format!("{}::/{dir}", root.path().join(dir).display());
    // The program name is fixed so that argv[0] does not give away which binary runs.
    let mut args: Vec<String> = vec!["run".into(), "--argv0".into(), case.program.into()];
    for var in case.env {
        args.extend(["--env".into(), var.to_string()]);
    }
    if case.dirs {
        args.extend(["--dir".into(), grant("box"), "--dir-ro".into(), grant("ro")]);
    }
    if case.deterministic {
        args.push("--deterministic".into());
    }
    args.push(binary.into());
    args.extend(case.args.iter().map(|a| a.to_string()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .current_dir(root.path())
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ward runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(case.stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn binaries(program: &str) -> (String, String) {
    let module = repo(&format!("tests/programs/{program}.wasm"));
    let component = repo(&format!("tests/programs/{program}.component.wasm"));
    assert!(
        Path::new(&component).exists(),
        "{component} is missing: run tests/programs/build.sh"
    );
    (module, component)
}

#[test]
fn every_c_program_has_a_committed_component() {
    let dir = repo("tests/programs");
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "c") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            binaries(&name);
            assert!(
                CASES.iter().any(|c| c.program == name),
                "{name} has no case here"
            );
        }
    }
}

/// Whether `actual` (the component's run) compares with `expected` (the module's) as `expect`
/// says.
fn matches(expect: Expect, expected: &Output, actual: &Output) -> bool {
    let (out, err, code) = (stdout(expected), stderr(expected), expected.status.code());
    let (c_out, c_err, c_code) = (stdout(actual), stderr(actual), actual.status.code());
    match expect {
        Expect::Same => (out, err, code) == (c_out, c_err, c_code),
        Expect::ExitCodeBecomesFailure => {
            let collapsed = code.map(|c| i32::from(c != 0));
            (out, err, collapsed) == (c_out, c_err, c_code)
        }
        Expect::Trap => {
            let frames =
                |text: &str| -> Vec<String> { text.lines().skip(1).map(String::from).collect() };
            let (frames, c_frames) = (frames(&err), frames(&c_err));
            code == Some(134)
                && c_code == code
                && out == c_out
                && err.contains("wasm trap: unreachable")
                && c_err.contains("wasm trap: unreachable")
                && frames.len() > 1
                && c_frames.starts_with(&frames[..frames.len() - 1])
        }
        Expect::SameButClockLines(prefixes) => {
            let kept = |text: &str| -> (Vec<String>, usize) {
                let clock = |line: &&str| prefixes.iter().any(|p| line.starts_with(p));
                let lines = text
                    .lines()
                    .filter(|l| !clock(l))
                    .map(String::from)
                    .collect();
                (lines, text.lines().filter(clock).count())
            };
            let ((lines, clocks), (c_lines, c_clocks)) = (kept(&out), kept(&c_out));
            clocks == prefixes.len()
                && c_clocks == clocks
                && lines == c_lines
                && (err, code) == (c_err, c_code)
        }
    }
}

#[test]
fn module_and_adapter_component_give_the_same_output_and_exit_code() {
    let mut differences = Vec::new();
    for case in CASES {
        let (module, component) = binaries(case.program);
        let expected = run(case, &module);
        let actual = run(case, &component);
        if !matches(case.expect, &expected, &actual) {
            differences.push(format!(
                "{} {:?}:\n  module:    {:?} {:?} {:?}\n  component: {:?} {:?} {:?}",
                case.program,
                case.args,
                expected.status.code(),
                stdout(&expected),
                stderr(&expected),
                actual.status.code(),
                stdout(&actual),
                stderr(&actual)
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
