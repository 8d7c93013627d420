//! `ward run --policy`, `--audit`, `--deterministic` and `ward policy check|from-flags`: a policy
//! grants exactly what it says, flags only narrow it, bad policies are one-line errors before
//! anything runs, the audit log is complete and flushed however the run ends, and deterministic runs
//! repeat byte for byte.

mod support;

use std::fs;
use std::path::Path;

use support::{program, stderr, stdout, ward, ward_in, write_temp};
use ward_wasi::DirPerms;
use ward_wasi::policy::{EnvGrant, Policy, RandomPolicy, StdioGrant};

/// A policy granting `dir` read-write as /data, env GIVEN=yes, stdout and stderr, fuel 10^9.
fn policy_text(dir: &Path) -> String {
    format!(
        r#"
[[dir]]
host = "{}"
guest = "/data"
access = "read-write"

[env]
vars = {{ GIVEN = "yes" }}

[stdio]
stdout = "inherit"
stderr = "inherit"

[limits]
fuel = 1_000_000_000
"#,
        dir.display()
    )
}

#[test]
fn policy_check_accepts_a_valid_policy_and_names_the_first_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_temp(&dir, "good.toml", &policy_text(dir.path()));
    let out = ward(&["policy", "check", &good]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("policy \"{good}\" is valid\n"));

    for (name, text, expected) in [
        (
            "unknown.toml",
            "[limits]\nfuel = 1\nmax_fuel = 2\n",
            "unknown key `limits.max_fuel` at line 3",
        ),
        ("malformed.toml", "[limits\n", "invalid TOML at line 1"),
        (
            "missing.toml",
            "[[dir]]\nhost = \"/nonexistent-ward-dir\"\n",
            "`dir[0].host` at line 2: directory \"/nonexistent-ward-dir\": No such file or directory",
        ),
        (
            "type.toml",
            "[limits]\nwall_time = 5\n",
            "`limits.wall_time` at line 2: expected a string, found integer",
        ),
    ] {
        let path = write_temp(&dir, name, text);
        let out = ward(&["policy", "check", &path]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("error: policy \"{path}\": {expected}")),
            "{name}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(stdout(&out).is_empty());
    }
    let out = ward(&["policy", "check", "/nonexistent-policy.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: failed to read policy \"/nonexistent-policy.toml\": No such file or directory\n"
    );
}

#[test]
fn run_with_a_policy_grants_what_it_says_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write_temp(&dir, "p.toml", &policy_text(dir.path()));
    // ward_in sets a host variable that must not reach the guest.
    let out = ward_in(
        dir.path(),
        &["run", "--policy", &policy, &program("hello"), "a1"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "argc=2\nargv[0]={}\nargv[1]=a1\nenv GIVEN=yes\n",
            program("hello")
        )
    );
    // Files in the granted directory are writable.
    let out = ward(&[
        "run",
        "--policy",
        &policy,
        &program("fsops"),
        "write",
        "/data/f",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(dir.path().join("f")).unwrap(), "x");
}

#[test]
fn a_bad_policy_stops_the_run_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write_temp(&dir, "p.toml", "[stdio]\nstdout = \"inherit\"\nbogus = 1\n");
    let out = ward(&["run", "--policy", &policy, &program("hello")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: policy \"{policy}\": unknown key `stdio.bogus` at line 3 (expected one of: \
             stdin, stdout, stderr)\n"
        )
    );
}

#[test]
fn flags_may_only_narrow_a_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write_temp(&dir, "p.toml", &policy_text(dir.path()));
    let other = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], expected: &str| {
        let mut all = vec!["run", "--policy", policy.as_str()];
        all.extend_from_slice(args);
        let hello = program("hello");
        all.push(&hello);
        let out = ward(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?} ran: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    };
    let other_dir = format!("{}::/data", other.path().display());
    refused(
        &["--dir", &other_dir],
        &format!(
            "directory \"{}\" (as \"/data\") is not granted by the policy",
            other.path().display()
        ),
    );
    refused(
        &["--env", "SECRET=1"],
        "environment variable SECRET is not granted by the policy",
    );
    refused(
        &["--fuel", "2000000000"],
        "limit fuel = 2000000000 exceeds the policy's 1000000000",
    );
    refused(
        &["-S", "inherit-env"],
        "-S inherit-env cannot be used with --policy",
    );
    refused(
        &["-S", "tcplisten=127.0.0.1:0"],
        "listening on 127.0.0.1:0 is not granted by the policy",
    );

    // --dir-ro of the read-write grant narrows it: writes now fail.
    let ro = format!("{}::/data", dir.path().display());
    let out = ward(&[
        "run",
        "--policy",
        &policy,
        "--dir-ro",
        &ro,
        &program("fsops"),
        "write",
        "/data/f",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!dir.path().join("f").exists());
    // A smaller --fuel replaces the policy's.
    let out = ward(&[
        "run",
        "--policy",
        &policy,
        "--fuel",
        "1000",
        &program("hello"),
    ]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(stderr(&out).contains("fuel limit of 1000 exhausted"));
    // A granted variable may be given another value.
    let out = ward(&[
        "run",
        "--policy",
        &policy,
        "--env",
        "GIVEN=other",
        &program("hello"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("env GIVEN=other\n"));
}

#[test]
fn from_flags_prints_a_policy_that_reads_back_to_the_same_grants() {
    let dir = tempfile::tempdir().unwrap();
    let rw = format!("{}::/data", dir.path().display());
    let ro = format!("{}::/ro", dir.path().display());
    let flags = [
        "--dir",
        &rw,
        "--dir-ro",
        &ro,
        "--env",
        "B=2",
        "--env",
        "A=1",
        "--fuel",
        "50000000",
        "--max-memory",
        "1MiB",
        "--timeout",
        "3s",
        "-W",
        "max-instances=4",
        "--deterministic",
        "--seed",
        "9",
    ];
    let hello = program("hello");
    let out = ward(
        &[
            &["policy", "from-flags"][..],
            &flags,
            &[&hello, "guest-arg"],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let policy = Policy::from_toml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(policy.args, Some(vec!["guest-arg".to_string()]));
    assert_eq!(policy.dirs.len(), 2);
    assert_eq!(policy.dirs[0].guest, "/data");
    assert_eq!(policy.dirs[0].perms, DirPerms::ReadWrite);
    assert_eq!(policy.dirs[1].guest, "/ro");
    assert_eq!(policy.dirs[1].perms, DirPerms::ReadOnly);
    assert_eq!(
        policy.env,
        [
            EnvGrant::Value {
                name: "A".into(),
                value: "1".into()
            },
            EnvGrant::Value {
                name: "B".into(),
                value: "2".into()
            },
        ]
    );
    assert_eq!(policy.stdout, StdioGrant::Inherit);
    assert_eq!(policy.limits.fuel, Some(50_000_000));
    assert_eq!(policy.limits.memory, Some(1 << 20));
    assert_eq!(policy.limits.instances, Some(4));
    assert_eq!(
        policy.limits.wall_time,
        Some(std::time::Duration::from_secs(3))
    );
    assert_eq!(policy.random, RandomPolicy::Seeded(9));
    assert!(policy.is_deterministic());
    // Printing it again gives the same text.
    assert_eq!(policy.to_toml(), text);

    // Running under the printed policy gives what running with the flags gives.
    let file = write_temp(&dir, "from-flags.toml", &text);
    let with_flags = ward(&[&["run"][..], &flags, &[&hello, "guest-arg"]].concat());
    assert_eq!(with_flags.status.code(), Some(0), "{}", stderr(&with_flags));
    let with_policy = ward(&["run", "--policy", &file, &program("hello")]);
    assert_eq!(
        with_policy.status.code(),
        Some(0),
        "{}",
        stderr(&with_policy)
    );
    assert_eq!(stdout(&with_policy), stdout(&with_flags));

    // Without a module it still converts the options.
    let out = ward(&["policy", "from-flags", "--env", "X=1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("vars = { \"X\" = \"1\" }"),
        "{}",
        stdout(&out)
    );
    // A bad option is a command-line error.
    let out = ward(&["policy", "from-flags", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn the_audit_log_is_written_and_flushed_however_the_run_ends() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.txt"), "input").unwrap();
    let log = dir.path().join("audit.jsonl").display().to_string();
    let data = format!("{}::/data", dir.path().display());
    let out = ward(&[
        "run",
        "--audit",
        &log,
        "--dir-ro",
        &data,
        &program("fsops"),
        "read",
        "/data/in.txt",
        "write",
        "/data/out.txt",
        "x",
    ]);
    // fsops exits 1 after the refused write (proc_exit).
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains(r#""event":"open","path":"/data/in.txt","mode":"read","allowed":true"#),
        "{text}"
    );
    assert!(
        lines[1].contains(r#""path":"/data/out.txt""#)
            && lines[1].contains(r#""allowed":false,"rule":"read-only preopen \"/data\"""#),
        "{text}"
    );
    assert!(
        lines[2].ends_with(r#""end":"exit","exit_code":1}"#),
        "{text}"
    );

    // A trap from an exhausted limit is recorded with the limit's name.
    let out = ward(&[
        "run",
        "--audit",
        &log,
        "--fuel",
        "20000",
        &program("clock_random"),
    ]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    let text = fs::read_to_string(&log).unwrap();
    let summary = text.lines().last().unwrap();
    assert!(
        summary.contains(r#""end":"limit","limit":"fuel""#),
        "{text}"
    );
    assert!(summary.contains(r#""clock_realtime_reads":1,"#), "{text}");

    // A path that cannot be created is a one-line error, before anything runs.
    let out = ward(&[
        "run",
        "--audit",
        "/nonexistent-dir/audit.jsonl",
        &program("hello"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert_eq!(
        stderr(&out),
        "error: failed to create audit log \"/nonexistent-dir/audit.jsonl\": No such file or directory\n"
    );
}

/// Runs the determinism program over a new directory with `entries` created in that order (a
/// trailing `/` makes a directory), with `extra` flags and a host variable `noise`.
fn deterministic_run(entries: &[&str], extra: &[&str], noise: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    for name in entries {
        if name.ends_with('/') {
            fs::create_dir(dir.path().join(name)).unwrap();
        } else {
            fs::write(dir.path().join(name), name).unwrap();
        }
    }
    let data = format!("{}::/d", dir.path().display());
    let mut args = vec!["run", "--deterministic", "--dir-ro", &data];
    args.extend_from_slice(extra);
    let module = program("determinism");
    args.extend([module.as_str(), "/d"]);
    std::process::Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(&args)
        .env("WARD_NOISE", noise)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn deterministic_runs_repeat_byte_for_byte() {
    let first = deterministic_run(&["b", "a/", "c"], &[], "one");
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = deterministic_run(&["c", "b", "a/"], &[], "two");
    assert_eq!(first.stdout, second.stdout);
    let out = stdout(&first);
    assert!(out.starts_with("time 946684800\n"), "{out}");
    assert!(out.contains("resolution 1000 ns\n"), "{out}");
    // Another seed changes the random bytes only.
    let reseeded = deterministic_run(&["a/", "b", "c"], &["--seed", "3"], "one");
    assert_eq!(reseeded.status.code(), Some(0), "{}", stderr(&reseeded));
    let reseeded_out = stdout(&reseeded);
    let differing: Vec<(&str, &str)> = out
        .lines()
        .zip(reseeded_out.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert!(!differing.is_empty());
    assert!(
        differing
            .iter()
            .all(|(a, _)| a.starts_with("random ") || a.starts_with("rand() ")),
        "{differing:?}"
    );
    // A policy saying the same is the same run.
    let dir = tempfile::tempdir().unwrap();
    let policy = write_temp(
        &dir,
        "p.toml",
        "deterministic = true\n[stdio]\nstdout = \"inherit\"\n",
    );
    let out = ward(&["run", "--policy", &policy, &program("determinism"), "/"]);
    // No directory is granted: the listing fails, everything before it is the same.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let before_listing = |text: &str| text.lines().take(7).collect::<Vec<_>>().join("\n");
    assert_eq!(
        before_listing(&stdout(&out)),
        before_listing(&stdout(&first))
    );
}

#[test]
fn seed_needs_deterministic_and_threads_are_refused_with_it() {
    let out = ward(&["run", "--seed", "1", &program("hello")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = ward(&["run", "--deterministic", "-S", "threads", &program("hello")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("thread scheduling depends on the host"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn deterministic_also_makes_float_nans_canonical() {
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(
        &dir,
        "nan.wat",
        r#"(module (func (export "nan") (result i32)
            (i32.reinterpret_f32 (f32.div (f32.const 0) (f32.const 0)))))"#,
    );
    let out = ward(&["run", "--deterministic", "--invoke", "nan", &module]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", 0x7fc0_0000));
    let policy = write_temp(&dir, "p.toml", "deterministic = true\n");
    let out = ward(&["run", "--policy", &policy, "--invoke", "nan", &module]);
    assert_eq!(stdout(&out), format!("{}\n", 0x7fc0_0000));
}

#[test]
fn a_policy_sets_the_virtual_clock_epoch_and_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write_temp(
        &dir,
        "p.toml",
        &format!(
            "[clocks]\nmode = \"virtual\"\nepoch = 1700000000\n[random]\nseed = 5\n\
             [stdio]\nstdout = \"inherit\"\n[[dir]]\nhost = \"{}\"\nguest = \"/d\"\n",
            dir.path().display()
        ),
    );
    let run = || ward(&["run", "--policy", &policy, &program("determinism"), "/d"]);
    let first = run();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stdout(&first).starts_with("time 1700000000\n"),
        "{}",
        stdout(&first)
    );
    // Virtual clocks and a seed alone are not the whole switch (file metadata stays the host's),
    // but the time and the random bytes repeat.
    let second = run();
    let random = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("random "))
            .unwrap()
            .to_string()
    };
    assert_eq!(random(&stdout(&first)), random(&stdout(&second)));
    assert_eq!(
        stdout(&first).lines().next(),
        stdout(&second).lines().next()
    );
}

/// A trace would end at the snapshot, so recording one is refused. (Deterministic runs can be
/// snapshotted: `tests/snapshot.rs` resumes one.)
#[test]
fn snapshots_are_refused_where_they_would_lose_state() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("s.snap").display().to_string();
    let module = program("hello");
    let args = [
        "run",
        "--snapshot-at-fuel",
        "1000",
        "--snapshot",
        &snapshot,
        "--record",
        "t.trace",
        &module,
    ];
    let out = ward(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--record cannot be used with --snapshot-at-fuel"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn the_audit_log_says_when_a_run_failed_before_the_guest_ran() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let module = write_temp(
        &dir,
        "needs.wat",
        r#"(module (import "env" "missing" (func)) (func (export "_start")))"#,
    );
    let out = ward(&["run", "--audit", &log.display().to_string(), &module]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(
            r#""end":"trap","message":"unknown import: `env::missing` has not been defined"}"#
        ),
        "{text}"
    );
}
