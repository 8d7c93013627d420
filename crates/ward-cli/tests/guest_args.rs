//! Everything after MODULE on a `ward run` command line belongs to the guest: it reaches the guest's
//! argv verbatim (or the `--invoke` parameters) and is never read as one of ward's own flags. A wrapper
//! that runs `ward run app.wasm "$@"` must not let its caller grant itself host directories,
//! environment variables or limits.

mod support;

use std::fs;
use support::{program, repo, stderr, stdout, ward_in};

/// What `hello` prints for these guest arguments and no environment.
fn hello_output(module: &str, guest_args: &[&str]) -> String {
    let mut expected = format!("argc={}\nargv[0]={module}\n", guest_args.len() + 1);
    for (i, arg) in guest_args.iter().enumerate() {
        expected.push_str(&format!("argv[{}]={arg}\n", i + 1));
    }
    expected
}

/// Every flag `ward run` accepts, each with a value that would change the run if ward read it: a
/// granted directory or variable, a limit too small for `hello` to finish, a function to invoke, help
/// or version text instead of running.
fn every_run_flag(dir: &str) -> Vec<Vec<String>> {
    let flags: &[&[&str]] = &[
        &["--invoke", "_start"],
        &["--invoke=_start"],
        &["--dir", dir],
        &["--dir=/"],
        &["--dir", "/::/host::ro"],
        &["--dir-ro", dir],
        &["--dir-ro=/"],
        &["--env", "INJECTED=1"],
        &["--env=INJECTED=1"],
        &["--env", "WARD_TEST_HOST_ONLY"],
        &["--fuel", "1"],
        &["--fuel=1"],
        &["--timeout", "1ns"],
        &["--max-memory", "1"],
        &["--max-stack", "1"],
        &["-W", "fuel=1"],
        &["-Wfuel=1"],
        &["-W", "max-memory-size=1,trap-on-grow-failure=y"],
        &["-W", "max-wasm-stack=1"],
        &["-W", "timeout=1ns"],
        &["-W", "no-such-option"],
        &["--help"],
        &["-h"],
        &["--version"],
        &["-V"],
        &["--"],
        &["--no-such-flag"],
        &["-x"],
    ];
    flags
        .iter()
        .map(|f| f.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn every_run_flag_after_the_module_reaches_the_guest_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let dir_text = dir.path().display().to_string();
    let hello = program("hello");
    for flag in every_run_flag(&dir_text) {
        let flag: Vec<&str> = flag.iter().map(String::as_str).collect();
        // Directly after the module, and after a plain guest argument: the same either way.
        for leading in [&[][..], &["plain"][..]] {
            let guest_args: Vec<&str> = leading.iter().chain(&flag).copied().collect();
            let mut args = vec!["run", hello.as_str()];
            args.extend(&guest_args);
            let out = ward_in(dir.path(), &args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?}: stderr: {}",
                stderr(&out)
            );
            // The exact output shows the flag in argv and no environment variable granted.
            assert_eq!(stdout(&out), hello_output(&hello, &guest_args), "{args:?}");
            assert_eq!(stderr(&out), "", "{args:?}");
        }
    }
}

#[test]
fn ward_without_a_subcommand_runs_the_module_like_ward_run() {
    let dir = tempfile::tempdir().unwrap();
    let hello = program("hello");
    let out = ward_in(
        dir.path(),
        &[&hello, "--dir", "/", "--env", "INJECTED=1", "run"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        hello_output(&hello, &["--dir", "/", "--env", "INJECTED=1", "run"])
    );

    // ward's own flags before the module still apply.
    let out = ward_in(dir.path(), &["--env", "GRANTED=yes", &hello, "x"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{}env GRANTED=yes\n", hello_output(&hello, &["x"]))
    );

    let hello_wat = repo("examples/hello.wat");
    let out = ward_in(dir.path(), &["--invoke", "fib", &hello_wat, "10"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "55\n");
}

#[test]
fn a_wrapper_passing_dir_after_the_module_cannot_read_host_files() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret.txt");
    fs::write(&secret, "top secret").unwrap();
    let root_text = root.path().display().to_string();
    let secret_text = secret.display().to_string();
    let fsops = program("fsops");

    // `fsops` reads its argv as commands: "--dir" is not one, so it stops with exit 2.
    let out = ward_in(
        root.path(),
        &["run", &fsops, "--dir", &root_text, "read", &secret_text],
    );
    assert!(!stdout(&out).contains("top secret"), "{}", stdout(&out));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown command --dir"),
        "{}",
        stderr(&out)
    );

    // After a plain command, the same flag is still the guest's: the read finds no preopen.
    let out = ward_in(
        root.path(),
        &[
            "run",
            &fsops,
            "read",
            &secret_text,
            "--dir",
            &root_text,
            "read",
            &secret_text,
        ],
    );
    assert!(!stdout(&out).contains("top secret"), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with(&format!("read {secret_text}: ")),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("unknown command --dir"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn flags_after_the_module_are_invoke_parameters_not_options() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("echo.wat");
    fs::write(
        &module,
        r#"(module (func (export "add") (param i32 i32) (result i32)
             local.get 0 local.get 1 i32.add))"#,
    )
    .unwrap();
    let module = module.display().to_string();
    // `--fuel 1` before the module would stop the call; after it, "--fuel" is a parameter.
    let out = ward_in(
        dir.path(),
        &["run", "--invoke", "add", &module, "--fuel", "1"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("\"--fuel\" is not a valid i32"),
        "{}",
        stderr(&out)
    );
    let out = ward_in(dir.path(), &["run", "--invoke", "add", &module, "-1", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "2\n");
}
