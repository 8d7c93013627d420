//! `ward run --snapshot-at-fuel N --snapshot FILE` and `ward resume FILE`: a C program with open
//! files in a preopen, cut into pieces at fuel points and resumed piece by piece in new processes,
//! gives the same stdout, stderr, exit code and files as an uninterrupted run; bad snapshot files
//! and mismatched resumes fail with a one-line error and run nothing.

mod support;

use std::path::Path;
use std::process::Output;

use support::{program, stderr, stdout, ward_in};

const STEPS: &str = "12";
const INPUT: &str = "alpha\nbeta\ngamma\ndelta\nepsilon\nzeta\neta\n";

/// A directory with the program's input, to grant as `/data`.
fn data_dir(root: &Path, name: &str) -> String {
    let dir = root.join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("input.txt"), INPUT).unwrap();
    dir.display().to_string()
}

fn journal(dir: &str) -> String {
    std::fs::read_to_string(Path::new(dir).join("journal.txt")).unwrap()
}

/// Runs the journal program in pieces of `fuel`, each resumed from the last snapshot in a new
/// process. Returns each piece's output and the number of snapshots.
fn run_in_pieces(root: &Path, dir: &str, fuel: u64) -> (Vec<Output>, usize) {
    let grant = format!("{dir}::/data");
    let fuel = fuel.to_string();
    let journal = program("journal");
    let mut pieces = Vec::new();
    let first = root.join("snap0");
    let out = ward_in(
        root,
        &[
            "run",
            "--dir",
            &grant,
            "--snapshot-at-fuel",
            &fuel,
            "--snapshot",
            first.to_str().unwrap(),
            &journal,
            "/data",
            STEPS,
        ],
    );
    pieces.push(out);
    let mut taken = 0;
    while root.join(format!("snap{taken}")).exists() {
        let from = root.join(format!("snap{taken}"));
        let next = root.join(format!("snap{}", taken + 1));
        assert_eq!(
            pieces.last().unwrap().status.code(),
            Some(0),
            "a snapshot run exits 0"
        );
        let out = ward_in(
            root,
            &[
                "resume",
                "--dir",
                &grant,
                "--snapshot-at-fuel",
                &fuel,
                "--snapshot",
                next.to_str().unwrap(),
                from.to_str().unwrap(),
            ],
        );
        pieces.push(out);
        taken += 1;
        assert!(taken < 200, "the program never finishes");
    }
    (pieces, taken)
}

#[test]
fn a_run_resumed_from_snapshots_in_new_processes_matches_an_uninterrupted_run() {
    let root = tempfile::tempdir().unwrap();
    let whole_dir = data_dir(root.path(), "whole");
    let whole = ward_in(
        root.path(),
        &[
            "run",
            "--dir",
            &format!("{whole_dir}::/data"),
            &program("journal"),
            "/data",
            STEPS,
        ],
    );
    assert_eq!(whole.status.code(), Some(3), "{}", stderr(&whole));
    assert!(stdout(&whole).contains("step 11:"));

    for fuel in [700_000u64, 2_900_000] {
        let pieces_root = tempfile::tempdir().unwrap();
        let dir = data_dir(pieces_root.path(), "pieces");
        let (pieces, snapshots) = run_in_pieces(pieces_root.path(), &dir, fuel);
        assert!(snapshots >= 3, "{snapshots} snapshots at {fuel} fuel");
        let joined = |part: fn(&Output) -> &Vec<u8>| -> Vec<u8> {
            pieces.iter().flat_map(|o| part(o).clone()).collect()
        };
        assert_eq!(
            String::from_utf8(joined(|o| &o.stdout)).unwrap(),
            stdout(&whole),
            "stdout at {fuel} fuel per piece"
        );
        assert_eq!(
            String::from_utf8(joined(|o| &o.stderr)).unwrap(),
            stderr(&whole)
        );
        assert_eq!(pieces.last().unwrap().status.code(), Some(3));
        // The output really was cut: more than one piece printed.
        assert!(pieces.iter().filter(|o| !o.stdout.is_empty()).count() > 1);
        assert_eq!(journal(&dir), journal(&whole_dir));
    }
}

#[test]
fn a_program_that_ends_before_the_fuel_point_runs_as_usual() {
    let root = tempfile::tempdir().unwrap();
    let dir = data_dir(root.path(), "d");
    let snap = root.path().join("never");
    let out = ward_in(
        root.path(),
        &[
            "run",
            "--dir",
            &format!("{dir}::/data"),
            "--snapshot-at-fuel",
            "1000000000000",
            "--snapshot",
            snap.to_str().unwrap(),
            &program("journal"),
            "/data",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!snap.exists());
}

/// The first snapshot of the journal program, in `root`, with its data directory.
fn first_snapshot(root: &Path) -> (String, std::path::PathBuf) {
    let dir = data_dir(root, "d");
    let snap = root.join("snap");
    let out = ward_in(
        root,
        &[
            "run",
            "--dir",
            &format!("{dir}::/data"),
            "--snapshot-at-fuel",
            "3000000",
            "--snapshot",
            snap.to_str().unwrap(),
            &program("journal"),
            "/data",
            STEPS,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (dir, snap)
}

/// A failed resume: exit 1, one line naming the problem, and the guest never ran (no output).
fn assert_refused(out: &Output, expected: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(expected), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty(), "{}", stdout(out));
}

#[test]
fn damaged_truncated_and_foreign_snapshot_files_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let (dir, snap) = first_snapshot(root.path());
    let grant = format!("{dir}::/data");
    let bytes = std::fs::read(&snap).unwrap();
    let bad = root.path().join("bad");
    let resume_bad = |contents: &[u8]| {
        std::fs::write(&bad, contents).unwrap();
        ward_in(
            root.path(),
            &["resume", "--dir", &grant, bad.to_str().unwrap()],
        )
    };
    // Damage in the middle (memory contents) is found by the checksum.
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    assert_refused(&resume_bad(&damaged), "checksum does not match");
    for len in [0, 5, 20, bytes.len() / 3, bytes.len() - 1] {
        let out = resume_bad(&bytes[..len]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{len}: {err}");
        assert!(
            err.contains("not a ward snapshot") || err.contains("ends early"),
            "{len}: {err}"
        );
    }
    assert_refused(&resume_bad(b"hello, world"), "not a ward snapshot");
    // A module other than the one snapshotted.
    let out = ward_in(
        root.path(),
        &[
            "resume",
            "--dir",
            &grant,
            "--module",
            &program("hello"),
            snap.to_str().unwrap(),
        ],
    );
    assert_refused(&out, "different module");
}

#[test]
fn a_resume_must_grant_the_directories_again() {
    let root = tempfile::tempdir().unwrap();
    let (dir, snap) = first_snapshot(root.path());
    let snap = snap.to_str().unwrap();
    let out = ward_in(root.path(), &["resume", snap]);
    assert_refused(&out, "\"/data\", which is not granted");
    let out = ward_in(
        root.path(),
        &["resume", "--dir", &format!("{dir}::/elsewhere"), snap],
    );
    assert_refused(&out, "\"/data\", which is not granted");
    // The journal is open for appending: a read-only grant cannot take it back.
    let out = ward_in(
        root.path(),
        &["resume", "--dir-ro", &format!("{dir}::/data"), snap],
    );
    assert_refused(&out, "granted read-only now");
    // The input file is gone.
    std::fs::remove_file(Path::new(&dir).join("input.txt")).unwrap();
    let out = ward_in(
        root.path(),
        &["resume", "--dir", &format!("{dir}::/data"), snap],
    );
    assert_refused(&out, "cannot open \"input.txt\" in \"/data\" again");
}

#[test]
fn snapshot_options_that_do_not_fit_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let snap = root.path().join("s");
    let snap = snap.to_str().unwrap();
    let hello = program("hello");
    let out = ward_in(
        root.path(),
        &[
            "run",
            "--fuel",
            "10",
            "--snapshot-at-fuel",
            "5",
            "--snapshot",
            snap,
            &hello,
        ],
    );
    assert_refused(&out, "cannot be combined");
    // Each needs the other: a malformed command line (clap's exit 2).
    let out = ward_in(root.path(), &["run", "--snapshot-at-fuel", "5", &hello]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = ward_in(root.path(), &["run", "--snapshot", snap, &hello]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = ward_in(root.path(), &["resume", "missing.snap"]);
    assert_refused(&out, "failed to read snapshot \"missing.snap\"");
}

/// A deterministic run (virtual clocks, seeded random numbers) cut at fuel points and resumed in
/// new processes prints what the uninterrupted deterministic run prints: the snapshot carries the
/// clocks' time, the fuel they count and the generator's state, and `resume` runs deterministic.
#[test]
fn a_deterministic_run_resumed_from_snapshots_prints_the_same_times_and_numbers() {
    let root = tempfile::tempdir().unwrap();
    let examples = support::repo("examples");
    let grant = format!("{examples}::/d");
    let program = program("determinism");
    let whole = ward_in(
        root.path(),
        &[
            "run",
            "--deterministic",
            "--seed",
            "7",
            "--dir-ro",
            &grant,
            &program,
            "/d",
        ],
    );
    assert_eq!(whole.status.code(), Some(0), "{}", stderr(&whole));
    assert!(stdout(&whole).contains("realtime"));
    for fuel in ["30000", "150000"] {
        let mut printed = Vec::new();
        let first = root.path().join(format!("det-{fuel}-0"));
        let out = ward_in(
            root.path(),
            &[
                "run",
                "--deterministic",
                "--seed",
                "7",
                "--dir-ro",
                &grant,
                "--snapshot-at-fuel",
                fuel,
                "--snapshot",
                first.to_str().unwrap(),
                &program,
                "/d",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        printed.extend(out.stdout);
        let mut at = 0;
        while root.path().join(format!("det-{fuel}-{at}")).exists() {
            let from = root.path().join(format!("det-{fuel}-{at}"));
            let next = root.path().join(format!("det-{fuel}-{}", at + 1));
            let out = ward_in(
                root.path(),
                &[
                    "resume",
                    "--dir-ro",
                    &grant,
                    "--snapshot-at-fuel",
                    fuel,
                    "--snapshot",
                    next.to_str().unwrap(),
                    from.to_str().unwrap(),
                ],
            );
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            printed.extend(out.stdout);
            at += 1;
        }
        assert!(at >= 2, "{at} snapshots at {fuel} fuel");
        assert_eq!(
            String::from_utf8(printed).unwrap(),
            stdout(&whole),
            "at {fuel} fuel"
        );
    }
}

/// Snapshots pause the program between two instructions, which only the interpreter does: without
/// `-C compiler` a snapshot run uses it (tier-up is the default otherwise), and asking for a
/// compiler with snapshots is refused before anything runs.
#[test]
fn snapshots_run_interpreted_and_refuse_a_compiler() {
    let root = tempfile::tempdir().unwrap();
    let dir = data_dir(root.path(), "data");
    let grant = format!("{dir}::/data");
    let journal = program("journal");
    let snap = root.path().join("snap");
    for compiler in ["compiler=cranelift", "compiler=auto"] {
        let out = ward_in(
            root.path(),
            &[
                "run",
                "-C",
                compiler,
                "--dir",
                &grant,
                "--snapshot-at-fuel",
                "100000",
                "--snapshot",
                snap.to_str().unwrap(),
                &journal,
                "/data",
                STEPS,
            ],
        );
        assert_refused(&out, "snapshots need the interpreter");
        assert!(!snap.exists());
        assert!(!Path::new(&dir).join("journal.txt").exists());
    }
}
