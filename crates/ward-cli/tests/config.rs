//! `ward run --config FILE` (Wasmtime's TOML shape), `ward config new`, `ward settings` and
//! `ward completion`.

mod support;

use support::{program, repo, stderr, stdout, ward, ward_in, write_temp};

#[test]
fn config_file_limits_apply_and_the_command_line_overrides_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_temp(&dir, "ward.toml", "[wasm]\nfuel = 50\n");
    let hello = repo("examples/hello.wat");
    let out = ward(&["run", "--config", &config, "--invoke", "fib", &hello, "20"]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("fuel limit of 50"),
        "{}",
        stderr(&out)
    );

    for flag in [&["--fuel", "10000000"][..], &["-W", "fuel=10000000"]] {
        let mut args = vec!["run", "--config", &config];
        args.extend_from_slice(flag);
        args.extend_from_slice(&["--invoke", "fib", &hello, "20"]);
        let out = ward(&args);
        assert_eq!(out.status.code(), Some(0), "{flag:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "6765\n");
    }
}

#[test]
fn config_file_switches_proposals_and_wasi_options() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_temp(
        &dir,
        "ward.toml",
        "[wasm]\nsimd = false\n\n[wasi]\ninherit-env = true\n\n[optimize]\n",
    );
    let simd = write_temp(
        &dir,
        "simd.wat",
        r#"(module (func (export "f") (result v128) v128.const i64x2 0 0))"#,
    );
    let out = ward(&["run", "--config", &config, "--invoke", "f", &simd]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("-W simd=y"), "{}", stderr(&out));
    let out = ward(&[
        "run", "--config", &config, "-W", "simd=y", "--invoke", "f", &simd,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = ward_in(dir.path(), &["run", "--config", &config, &program("hello")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("env WARD_TEST_HOST_ONLY=must not leak"));
}

#[test]
fn config_file_errors_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(&dir, "empty.wat", "(module)");
    for (text, expected) in [
        ("[wasm]\nturbo = true\n", "[wasm] turbo: unknown option"),
        (
            "[wasm]\nfuel = \"lots\"\n",
            "[wasm] fuel: \"lots\" is not a number",
        ),
        ("[wasi]\nnn = true\n", "unknown WASI option `-S nn`"),
        (
            "[optimize]\nopt-level = 2\n",
            "[optimize] opt-level: not supported by ward",
        ),
        ("[cache]\n", "unknown table [cache]"),
        ("[wasm\n", "invalid TOML at line 1"),
    ] {
        let config = write_temp(&dir, "bad.toml", text);
        let out = ward(&["run", "--config", &config, &module]);
        assert_eq!(out.status.code(), Some(1), "{text}");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("error: config file \"{config}\": ")),
            "{text}: {err}"
        );
        assert!(err.contains(expected), "{text}: {err}");
        assert_eq!(err.lines().count(), 1, "{text}: {err}");
    }
    let out = ward(&["run", "--config", "/no/such/ward.toml", &module]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("failed to read config file \"/no/such/ward.toml\""));
}

#[test]
fn config_new_writes_a_commented_file_that_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.toml").display().to_string();
    let out = ward(&["config", "new", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("[wasm]") && text.contains("[wasi]"), "{text}");
    assert!(text.contains("# wide-arithmetic = false"), "{text}");
    assert!(text.contains("# fuel = "), "{text}");

    let out = ward(&[
        "run",
        "--config",
        &path,
        "--invoke",
        "fib",
        &repo("examples/hello.wat"),
        "10",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // An existing file is left alone.
    std::fs::write(&path, "mine").unwrap();
    let out = ward(&["config", "new", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");

    // Without a file it is printed.
    let out = ward(&["config", "new"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), text);
}

#[test]
fn settings_show_proposals_and_limits_after_config_and_flags() {
    let out = ward(&["settings"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("  simd                       on\n"), "{text}");
    assert!(
        text.contains("  wide-arithmetic            off\n"),
        "{text}"
    );
    assert!(
        text.contains("  fuel                       unlimited\n"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = write_temp(&dir, "ward.toml", "[wasm]\nmax-memory-size = \"1MiB\"\n");
    let out = ward(&["settings", "--config", &config, "-W", "simd=n,fuel=7"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("  simd                       off\n"),
        "{text}"
    );
    assert!(
        text.contains("  relaxed-simd               off (needs simd)\n"),
        "{text}"
    );
    assert!(text.contains("  fuel                       7\n"), "{text}");
    assert!(
        text.contains("  max-memory-size            1048576 bytes\n"),
        "{text}"
    );
}

#[test]
fn completion_prints_a_script_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = ward(&["completion", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains("ward"), "{shell}");
        assert!(script.contains("preload"), "{shell}: options are completed");
    }
    let out = ward(&["completion", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}
