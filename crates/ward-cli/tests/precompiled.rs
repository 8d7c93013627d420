//! `ward compile` and `ward run --allow-precompiled` end to end, and `-C cache=y`. Needs the
//! `cranelift` feature (without it `ward compile` fails naming it).

mod support;

use std::process::{Command, Output, Stdio};

use support::{repo, stderr, stdout, ward};

/// Runs `ward` with the code cache under `cache_home` (`XDG_CACHE_HOME`).
fn ward_cached(cache_home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .env("XDG_CACHE_HOME", cache_home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ward runs")
}

/// `ward run --allow-precompiled --invoke FUNC CWASM 20`.
fn run_precompiled(cwasm: &str, func: &str) -> Output {
    ward(&["run", "--allow-precompiled", "--invoke", func, cwasm, "20"])
}

#[test]
fn compile_then_run_allow_precompiled() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("hello.wat");
    std::fs::copy(repo("examples/hello.wat"), &module).unwrap();
    let module = module.display().to_string();
    let out = ward(&["compile", &module]);
    if !cfg!(feature = "cranelift") {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("cranelift"), "{}", stderr(&out));
        return;
    }
    assert!(out.status.success(), "{}", stderr(&out));
    // The default output: MODULE with the extension .cwasm.
    let cwasm = dir.path().join("hello.cwasm");
    assert!(cwasm.exists());
    let cwasm = cwasm.display().to_string();
    let out = run_precompiled(&cwasm, "fib");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "6765\n");
    let out = run_precompiled(&cwasm, "fac");
    assert_eq!(stdout(&out), "2432902008176640000\n");

    // Without the flag: refused, naming it.
    let out = ward(&["run", "--invoke", "fib", &cwasm, "20"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("running a precompiled module requires the `--allow-precompiled` flag"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");

    // -o names the output; a WASI program runs from its .cwasm as from its .wasm.
    let hello = dir.path().join("out.cwasm").display().to_string();
    let out = ward(&["compile", &repo("tests/programs/hello.wasm"), "-o", &hello]);
    assert!(out.status.success(), "{}", stderr(&out));
    let direct = ward(&[
        "run",
        "--argv0",
        "hello",
        &repo("tests/programs/hello.wasm"),
    ]);
    let precompiled = ward(&["run", "--allow-precompiled", "--argv0", "hello", &hello]);
    assert!(precompiled.status.success(), "{}", stderr(&precompiled));
    assert_eq!(stdout(&precompiled), "argc=1\nargv[0]=hello\n");
    assert_eq!(stdout(&precompiled), stdout(&direct));

    // Compiled with fuel on, run without: refused naming the setting.
    let fueled = dir.path().join("fuel.cwasm").display().to_string();
    let out = ward(&["compile", "-W", "fuel=1000000", &module, "-o", &fueled]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_precompiled(&fueled, "fib");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("compiled with a different configuration (fuel: true, this engine: false)"),
        "{}",
        stderr(&out)
    );
    let out = ward(&[
        "run",
        "--allow-precompiled",
        "-W",
        "fuel=1000000",
        "--invoke",
        "fib",
        &fueled,
        "20",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "6765\n");

    // `ward compile -C compiler=interpreter` makes no sense.
    let out = ward(&["compile", "-C", "compiler=interpreter", &module]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn tampered_cwasm_is_refused_by_run() {
    if !cfg!(feature = "cranelift") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cwasm = dir.path().join("hello.cwasm").display().to_string();
    let out = ward(&["compile", &repo("examples/hello.wat"), "-o", &cwasm]);
    assert!(out.status.success(), "{}", stderr(&out));
    let good = std::fs::read(&cwasm).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            {
                let mut b = good.clone();
                let n = b.len();
                b[n - 100] ^= 0x55;
                b
            },
            "precompiled module is corrupt",
        ),
        (good[..good.len() - 1].to_vec(), "truncated"),
        (good[..40].to_vec(), "truncated"),
        (
            {
                let mut b = good.clone();
                b[1] = b'W';
                b
            },
            "",
        ),
    ];
    for (bytes, message) in cases {
        std::fs::write(&cwasm, &bytes).unwrap();
        let out = run_precompiled(&cwasm, "fib");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
        assert_eq!(stdout(&out), "");
    }
}

#[test]
fn cache_y_stores_then_reuses_and_recompiles_a_bad_entry() {
    if !cfg!(feature = "cranelift") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let hello = repo("examples/hello.wat");
    let args = [
        "run",
        "-C",
        "compiler=cranelift,cache=y",
        "--invoke",
        "fib",
        &hello,
        "20",
    ];
    let out = ward_cached(home.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "6765\n");
    let cache = home.path().join("ward");
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1);
    assert!(cache.join("hmac-key").exists());
    let good = std::fs::read(&entries[0]).unwrap();

    // A hit: same output, no warning.
    let out = ward_cached(home.path(), &args);
    assert_eq!(stdout(&out), "6765\n");
    assert_eq!(stderr(&out), "");

    // A flipped byte: a warning, recompiled, the right answer, the entry rewritten.
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 1;
    std::fs::write(&entries[0], &bad).unwrap();
    let out = ward_cached(home.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "6765\n");
    assert!(
        stderr(&out).starts_with("warning: refused code cache entry"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("bad HMAC"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&entries[0]).unwrap(), good);
}
