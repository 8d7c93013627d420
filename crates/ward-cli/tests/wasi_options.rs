//! Wasmtime's `-S` WASI options on `ward run`: inherit-env, tcplisten, the refused inherit-network
//! and preview2 (accepted), `-S help`, and unknown keys.

mod support;

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{program, stderr, stdout, ward, ward_in, write_temp};

#[test]
fn inherit_env_passes_the_host_environment_and_env_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(dir.path(), &["run", &program("hello")]);
    assert!(
        !stdout(&out).contains("WARD_TEST_HOST_ONLY"),
        "{}",
        stdout(&out)
    );

    let out = ward_in(dir.path(), &["run", "-S", "inherit-env", &program("hello")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("env WARD_TEST_HOST_ONLY=must not leak\n"),
        "{}",
        stdout(&out)
    );

    let out = ward_in(
        dir.path(),
        &[
            "run",
            "-S",
            "inherit-env=y",
            "--env",
            "WARD_TEST_HOST_ONLY=replaced",
            &program("hello"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("env WARD_TEST_HOST_ONLY=replaced\n"));
    assert_eq!(stdout(&out).matches("WARD_TEST_HOST_ONLY").count(), 1);

    let out = ward_in(
        dir.path(),
        &["run", "-S", "inherit-env=n", &program("hello")],
    );
    assert!(
        !stdout(&out).contains("WARD_TEST_HOST_ONLY"),
        "{}",
        stdout(&out)
    );
}

/// Accepts one connection on descriptor 3 (the first granted socket), writes a greeting to it and
/// closes it.
const GREET_ONE_CLIENT: &str = r#"(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello over tcp\n")
  (func (export "_start")
    (if (call $accept (i32.const 3) (i32.const 0) (i32.const 0)) (then unreachable))
    (i32.store (i32.const 32) (i32.const 16))
    (i32.store (i32.const 36) (i32.const 15))
    (if (call $write (i32.load (i32.const 0)) (i32.const 32) (i32.const 1) (i32.const 40))
      (then unreachable))
    (drop (call $close (i32.load (i32.const 0))))))"#;

#[test]
fn tcplisten_grants_a_listening_socket_the_guest_accepts_on() {
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(&dir, "greet.wat", GREET_ONE_CLIENT);
    // A port that was free a moment ago (the host binds it again for the guest).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["run", "-S", &format!("tcplisten={address}"), &module])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut stream = loop {
        match TcpStream::connect(&address) {
            Ok(stream) => break stream,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => {
                let _ = child.kill();
                panic!("ward never listened on {address}: {e}");
            }
        }
    };
    let mut greeting = String::new();
    stream.read_to_string(&mut greeting).unwrap();
    assert_eq!(greeting, "hello over tcp\n");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn tcplisten_on_a_bad_address_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let module = write_temp(&dir, "greet.wat", GREET_ONE_CLIENT);
    for address in ["not-an-address", "127.0.0.1:99999"] {
        let out = ward(&["run", "-S", &format!("tcplisten={address}"), &module]);
        assert_eq!(out.status.code(), Some(1), "{address}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!(
                "error: -S tcplisten={address}: failed to listen there"
            )),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn inherit_network_is_refused_with_a_reason_and_preview2_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(
        dir.path(),
        &["run", "-S", "inherit-network", &program("hello")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("-S tcplisten=ADDR"),
        "{}",
        stderr(&out)
    );

    // As in Wasmtime, `preview2=y` runs a core module: it only names how preview1 is provided.
    let out = ward_in(dir.path(), &["run", "-S", "preview2=y", &program("hello")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = ward_in(
        dir.path(),
        &[
            "run",
            "-S",
            "preview2=n,inherit-network=n",
            &program("hello"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn wasi_options_help_lists_every_key() {
    for args in [
        &["run", "-S", "help"][..],
        &["-S", "help"],
        &["run", "-Sthreads,help"],
        &["run", "--wasi", "help", "module.wasm"],
    ] {
        let out = ward(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let help = stdout(&out);
        for key in [
            "inherit-env[=y|n]",
            "inherit-network[=y|n]",
            "tcplisten=ADDR",
            "preview2[=y|n]",
            "threads[=y|n]",
        ] {
            assert!(help.contains(&format!("-S {key}")), "{args:?}: {help}");
        }
    }
}

#[test]
fn unknown_wasi_option_names_the_key_and_the_supported_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = ward_in(dir.path(), &["run", "-S", "cli=y", &program("hello")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("unknown WASI option `-S cli`"), "{err}");
    assert!(
        err.contains(
            "inherit-env, inherit-network, allow-ip-name-lookup, tcplisten, preview2, threads"
        ),
        "{err}"
    );
    let out = ward_in(
        dir.path(),
        &["run", "-S", "threads=maybe", &program("hello")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("expected y or n"), "{}", stderr(&out));
}
