//! Capability policies, the audit log and deterministic runs through ward-wasi's public API:
//! `Policy::from_toml` reads exactly the format and refuses anything else with the key and line,
//! `to_toml` round-trips, `narrowed` only ever takes grants away, and the context a policy builds
//! grants what it says (and the audit log and determinism switch behave as documented).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ward::{Config, Engine, Error, Linker, Module, Store};
use ward_wasi::policy::{
    ClockPolicy, DirGrant, EnvGrant, Narrowing, Policy, PolicyError, PolicyLimits, RandomPolicy,
    StdioGrant,
};
use ward_wasi::{DirPerms, OutputBuffer, RunEnd, Stdio, WasiCtx, WasiCtxBuilder};

fn program(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/programs")
        .join(format!("{name}.wasm"))
}

/// Runs `_start` of the test program `name` with `ctx` (fuel metered when `fuel` is given).
fn run(name: &str, ctx: WasiCtx, fuel: Option<u64>) -> Result<(), Error> {
    let mut config = Config::new();
    config.consume_fuel(fuel.is_some());
    let engine = Engine::new(&config).unwrap();
    let module = Module::from_file(&engine, program(name)).unwrap();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    ward_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let mut store = Store::new(&engine, ctx);
    if let Some(fuel) = fuel {
        store.set_fuel(fuel).unwrap();
    }
    let instance = linker.instantiate(&mut store, &module)?;
    instance
        .get_typed_func::<(), ()>(&store, "_start")?
        .call(&mut store, ())
}

/// A policy text with `{dir}` replaced by `dir`.
fn with_dir(text: &str, dir: &Path) -> String {
    text.replace("{dir}", &dir.display().to_string())
}

const FULL: &str = r#"
args = ["-v", "two words"]

[[dir]]
host = "{dir}"
guest = "/data"
access = "read-write"

[[dir]]
host = "{dir}"

[env]
vars = { LANG = "C", "WITH SPACE" = "x=y" }
inherit = ["HOME"]

[stdio]
stdin = { file = "in.txt" }
stdout = "captured"
stderr = "inherit"

[clocks]
mode = "virtual"
epoch = 1700000000

[random]
mode = "seeded"
seed = 0x2a

[network]
listen = ["127.0.0.1:0", "[::1]:8080"]
connect = ["example.org:443"]
name_lookup = true

[limits]
fuel = 1_000
memory = "64MiB"
table_elements = 100
instances = 3
stack = 65536
wall_time = "1500ms"
"#;

#[test]
fn every_key_of_the_format_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::from_toml(&with_dir(FULL, dir.path())).unwrap();
    assert_eq!(
        policy.args,
        Some(vec!["-v".to_string(), "two words".to_string()])
    );
    assert_eq!(
        policy.dirs,
        [
            DirGrant {
                host: dir.path().to_path_buf(),
                guest: "/data".into(),
                perms: DirPerms::ReadWrite
            },
            // The guest name defaults to the host path, and access to read-only.
            DirGrant {
                host: dir.path().to_path_buf(),
                guest: dir.path().display().to_string(),
                perms: DirPerms::ReadOnly
            },
        ]
    );
    assert_eq!(
        policy.env,
        [
            EnvGrant::Value {
                name: "LANG".into(),
                value: "C".into()
            },
            EnvGrant::Value {
                name: "WITH SPACE".into(),
                value: "x=y".into()
            },
            EnvGrant::Inherit("HOME".into()),
        ]
    );
    assert_eq!(policy.stdin, StdioGrant::File("in.txt".into()));
    assert_eq!(policy.stdout, StdioGrant::Captured);
    assert_eq!(policy.stderr, StdioGrant::Inherit);
    assert_eq!(
        policy.clocks,
        ClockPolicy::Virtual {
            epoch_seconds: 1_700_000_000
        }
    );
    assert_eq!(policy.random, RandomPolicy::Seeded(42));
    assert!(!policy.stable_metadata);
    assert_eq!(policy.network.listen, ["127.0.0.1:0", "[::1]:8080"]);
    assert_eq!(policy.network.connect, ["example.org:443"]);
    assert!(policy.network.name_lookup);
    assert_eq!(
        policy.limits,
        PolicyLimits {
            fuel: Some(1000),
            memory: Some(64 << 20),
            table_elements: Some(100),
            instances: Some(3),
            stack: Some(65536),
            wall_time: Some(Duration::from_millis(1500)),
        }
    );
}

#[test]
fn an_empty_policy_grants_nothing() {
    let policy = Policy::from_toml("").unwrap();
    assert_eq!(policy, Policy::default());
    assert!(policy.dirs.is_empty() && policy.env.is_empty() && policy.args.is_none());
    assert_eq!(policy.stdout, StdioGrant::Null);
    // Nothing reaches the guest: no arguments beyond its name, no environment, no output.
    let wasi = Policy::from_toml("[stdio]\nstdout = \"captured\"")
        .unwrap()
        .wasi("hello")
        .unwrap();
    let stdout = wasi.stdout.clone().unwrap();
    let mut builder = wasi.builder;
    run("hello", builder.build(), None).unwrap();
    assert_eq!(
        String::from_utf8(stdout.contents()).unwrap(),
        "argc=1\nargv[0]=hello\n"
    );
}

#[test]
fn deterministic_sets_virtual_clocks_seeded_random_and_stable_metadata() {
    let policy = Policy::from_toml("deterministic = true\n[random]\nseed = 9").unwrap();
    assert_eq!(
        policy.clocks,
        ClockPolicy::Virtual {
            epoch_seconds: ward_wasi::DEFAULT_EPOCH_SECONDS
        }
    );
    assert_eq!(policy.random, RandomPolicy::Seeded(9));
    assert!(policy.stable_metadata && policy.is_deterministic());
    let error = Policy::from_toml("deterministic = true\n[clocks]\nmode = \"real\"").unwrap_err();
    assert!(
        error.to_string().contains("conflicts with clocks.mode"),
        "{error}"
    );
}

/// The message of the error `text` gives.
fn error_of(text: &str) -> String {
    Policy::from_toml(text).unwrap_err().to_string()
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let error = Policy::from_toml("[limits]\nfuel = 1\nfule = 2\n").unwrap_err();
    assert!(
        matches!(&error, PolicyError::UnknownKey { key, line: 3, .. } if key == "limits.fule"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("expected one of: fuel"),
        "{error}"
    );
    assert_eq!(
        error_of("network_access = true"),
        "unknown key `network_access` at line 1 (expected one of: args, deterministic, dir, env, \
         stdio, clocks, random, network, limits)"
    );
    assert!(
        error_of("[env]\nvars = {}\npassthrough = [\"A\"]")
            .starts_with("unknown key `env.passthrough` at line 3")
    );
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[[dir]]\nhost = \"{}\"\nmode = \"rw\"\n",
        dir.path().display()
    );
    assert!(error_of(&text).starts_with("unknown key `dir[0].mode` at line 3"));
    assert!(
        error_of("[stdio]\nstdout = { path = \"x\" }")
            .starts_with("unknown key `stdio.stdout.path` at line 2")
    );
}

#[test]
fn malformed_toml_is_an_error_with_its_line() {
    let error = Policy::from_toml("args = []\n[limits\nfuel = 1\n").unwrap_err();
    assert!(
        matches!(error, PolicyError::Toml { line: 2, .. }),
        "{error:?}"
    );
    assert!(error_of("a = ").starts_with("invalid TOML at line 1"));
    // A key given twice is malformed TOML too.
    assert!(error_of("[limits]\nfuel = 1\nfuel = 2").starts_with("invalid TOML at line 3"));
}

#[test]
fn malformed_values_name_the_key() {
    for (text, expected) in [
        (
            "args = \"-v\"",
            "`args` at line 1: expected an array of strings, found string",
        ),
        (
            "args = [1]",
            "`args[0]` at line 1: expected a string, found integer",
        ),
        (
            "[limits]\nfuel = -1",
            "`limits.fuel` at line 2: expected an integer from 0 to 2^64-1",
        ),
        (
            "[limits]\nfuel = \"lots\"",
            "`limits.fuel` at line 2: expected an integer, found string",
        ),
        (
            "[limits]\nmemory = \"64 parsecs\"",
            "`limits.memory` at line 2: \"64 parsecs\": unknown size unit",
        ),
        (
            "[limits]\nwall_time = \"soon\"",
            "`limits.wall_time` at line 2: \"soon\" is not a duration",
        ),
        (
            "[clocks]\nmode = \"fast\"",
            "`clocks.mode` at line 2: \"fast\" is not \"real\" or \"virtual\"",
        ),
        (
            "[clocks]\nmode = \"real\"\nepoch = 5",
            "`clocks.epoch` at line 3: only a virtual clock has an epoch",
        ),
        (
            "[random]\nmode = \"dice\"",
            "`random.mode` at line 2: \"dice\" is not \"real\" or \"seeded\"",
        ),
        (
            "[stdio]\nstdout = \"tty\"",
            "`stdio.stdout` at line 2: \"tty\" is not",
        ),
        (
            "[stdio]\nstdin = \"captured\"",
            "`stdio.stdin` at line 2: stdin cannot be captured",
        ),
        (
            "[env]\nvars = { \"A=B\" = \"c\" }",
            "`env.vars.A=B` at line 2: \"A=B\" is not a variable name",
        ),
        (
            "[env]\ninherit = [\"\"]",
            "`env.inherit` at line 2: \"\" is not a variable name",
        ),
        (
            "[network]\nlisten = [\"localhost\"]",
            "`network.listen[0]` at line 2: \"localhost\" is not IP:PORT",
        ),
        (
            "[network]\nconnect = [\"example.org\"]",
            "`network.connect[0]` at line 2: \"example.org\" is not HOST:PORT",
        ),
        (
            "[network]\nname_lookup = \"yes\"",
            "`network.name_lookup` at line 2: expected true or false, found string",
        ),
        (
            "dir = 1",
            "`dir` at line 1: expected an array of tables ([[dir]])",
        ),
        (
            "[[dir]]\nguest = \"/x\"",
            "`dir[0]` at line 1: missing `host`",
        ),
        (
            "limits = 3",
            "`limits` at line 1: expected a table, found integer",
        ),
    ] {
        let error = error_of(text);
        assert!(error.starts_with(expected), "{text:?} gave: {error}");
    }
}

#[test]
fn a_directory_that_does_not_exist_is_refused_by_key() {
    let error = error_of("\n[[dir]]\nhost = \"/nonexistent-ward-policy-dir\"\nguest = \"/x\"\n");
    assert_eq!(
        error,
        "`dir[0].host` at line 3: directory \"/nonexistent-ward-policy-dir\": No such file or \
         directory"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    let error = error_of(&format!("[[dir]]\nhost = \"{}\"", file.path().display()));
    assert!(error.ends_with("is not a directory"), "{error}");
}

#[test]
fn to_toml_reads_back_as_the_same_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut policies = vec![
        Policy::default(),
        Policy::from_toml(&with_dir(FULL, dir.path())).unwrap(),
        Policy::from_toml("deterministic = true\n[random]\nseed = 18446744073709551615").unwrap(),
    ];
    let mut odd = Policy::from_toml(&with_dir(FULL, dir.path())).unwrap();
    // Given values come first, by name, then inherited ones (as the format reads them).
    odd.env.insert(
        2,
        EnvGrant::Value {
            name: "Z QUOTE\"BACKSLASH\\".into(),
            value: "tab\tnewline\nunicode é \u{1}".into(),
        },
    );
    odd.args = Some(vec![String::new(), "\"".into()]);
    odd.limits.wall_time = Some(Duration::from_nanos(7));
    policies.push(odd);
    for policy in policies {
        let text = policy.to_toml();
        let read = Policy::from_toml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(read, policy, "{text}");
    }
}

/// A policy granting `dir` read-write as /data and read-only as /ro, fuel 1000, env A and B.
fn granting(dir: &Path) -> Policy {
    Policy::from_toml(&with_dir(
        r#"
[[dir]]
host = "{dir}"
guest = "/data"
access = "read-write"
[[dir]]
host = "{dir}"
guest = "/ro"
[env]
vars = { A = "1" }
inherit = ["B"]
[network]
listen = ["127.0.0.1:0"]
[limits]
fuel = 1000
wall_time = "10s"
"#,
        dir,
    ))
    .unwrap()
}

#[test]
fn narrowing_takes_grants_away_and_never_adds_them() {
    let dir = tempfile::tempdir().unwrap();
    let policy = granting(dir.path());
    // Read-only narrows a read-write grant; a lower limit replaces a higher one.
    let narrowed = policy
        .narrowed(&Narrowing {
            dirs: vec![DirGrant {
                host: dir.path().into(),
                guest: "/data".into(),
                perms: DirPerms::ReadOnly,
            }],
            env: vec![EnvGrant::Value {
                name: "A".into(),
                value: "2".into(),
            }],
            listen: vec!["127.0.0.1:0".into()],
            limits: PolicyLimits {
                fuel: Some(10),
                ..PolicyLimits::default()
            },
            deterministic: true,
            seed: Some(5),
            ..Narrowing::default()
        })
        .unwrap();
    assert_eq!(narrowed.dirs[0].perms, DirPerms::ReadOnly);
    assert_eq!(narrowed.limits.fuel, Some(10));
    assert_eq!(narrowed.limits.wall_time, Some(Duration::from_secs(10)));
    assert_eq!(narrowed.random, RandomPolicy::Seeded(5));
    assert!(narrowed.is_deterministic());
    assert_eq!(
        narrowed.env[0],
        EnvGrant::Value {
            name: "A".into(),
            value: "2".into()
        }
    );

    let refused = |narrowing: Narrowing| policy.narrowed(&narrowing).unwrap_err().to_string();
    let other = tempfile::tempdir().unwrap();
    let error = refused(Narrowing {
        dirs: vec![DirGrant {
            host: other.path().into(),
            guest: "/data".into(),
            perms: DirPerms::ReadOnly,
        }],
        ..Narrowing::default()
    });
    assert!(
        error.contains(&format!("directory \"{}\"", other.path().display()))
            && error.contains("is not granted by the policy"),
        "{error}"
    );
    let error = refused(Narrowing {
        dirs: vec![DirGrant {
            host: dir.path().into(),
            guest: "/ro".into(),
            perms: DirPerms::ReadWrite,
        }],
        ..Narrowing::default()
    });
    assert!(error.contains("granted read-only by the policy"), "{error}");
    let error = refused(Narrowing {
        limits: PolicyLimits {
            fuel: Some(1001),
            ..PolicyLimits::default()
        },
        ..Narrowing::default()
    });
    assert_eq!(error, "limit fuel = 1001 exceeds the policy's 1000");
    let error = refused(Narrowing {
        env: vec![EnvGrant::Value {
            name: "SECRET".into(),
            value: "x".into(),
        }],
        ..Narrowing::default()
    });
    assert_eq!(
        error,
        "environment variable SECRET is not granted by the policy"
    );
    let error = refused(Narrowing {
        env: vec![EnvGrant::Inherit("A".into())],
        ..Narrowing::default()
    });
    assert!(error.contains("does not pass the host's on"), "{error}");
    let error = refused(Narrowing {
        listen: vec!["0.0.0.0:80".into()],
        ..Narrowing::default()
    });
    assert!(
        error.contains("listening on 0.0.0.0:80 is not granted"),
        "{error}"
    );
    let fixed = Policy::from_toml("args = [\"a\"]").unwrap();
    assert!(
        fixed
            .narrowed(&Narrowing {
                args: Some(vec!["b".into()]),
                ..Narrowing::default()
            })
            .is_err()
    );
}

#[test]
fn the_context_a_policy_builds_grants_what_it_says() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.txt"), "input").unwrap();
    let text = with_dir(
        r#"
args = ["read", "/ro/in.txt", "write", "/ro/out.txt", "x", "write", "/data/out.txt", "y"]
[[dir]]
host = "{dir}"
guest = "/data"
access = "read-write"
[[dir]]
host = "{dir}"
guest = "/ro"
[stdio]
stdout = "captured"
"#,
        dir.path(),
    );
    let wasi = Policy::from_toml(&text).unwrap().wasi("fsops").unwrap();
    let stdout = wasi.stdout.clone().unwrap();
    let mut builder = wasi.builder;
    // fsops exits 1 after a failed command: the write into the read-only directory.
    let result = run("fsops", builder.build(), None);
    assert!(matches!(result, Err(Error::Exit(1))), "{result:?}");
    let out = String::from_utf8(stdout.contents()).unwrap();
    assert!(
        out.starts_with("read /ro/in.txt: input\nwrite /ro/out.txt: "),
        "{out}"
    );
    assert!(!out.contains("write /ro/out.txt: ok"), "{out}");
    assert!(out.ends_with("write /data/out.txt: ok\n"), "{out}");
    assert_eq!(fs::read_to_string(dir.path().join("out.txt")).unwrap(), "y");
}

#[test]
fn policy_limits_reach_the_engine_and_the_store() {
    let policy = Policy::from_toml("[limits]\nfuel = 5\nmemory = 65536\nstack = 70000").unwrap();
    let mut config = Config::new();
    policy.configure(&mut config);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (memory 1) (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#,
    )
    .unwrap();
    struct Host(ward::StoreLimits);
    let mut store = Store::new(&engine, Host(policy.store_limits().build()));
    store.limiter(|host: &mut Host| &mut host.0);
    store.set_fuel(policy.limits.fuel.unwrap()).unwrap();
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow = instance.get_typed_func::<(), i32>(&store, "grow").unwrap();
    // Growing past the policy's 64 KiB fails.
    assert_eq!(grow.call(&mut store, ()).unwrap(), -1);
    // Fuel runs out after a few calls.
    let exhausted = (0..10)
        .map(|_| grow.call(&mut store, ()))
        .find(Result::is_err);
    let Some(Err(Error::Trap(trap))) = exhausted else {
        panic!("fuel never ran out")
    };
    assert_eq!(trap.kind(), ward::TrapKind::OutOfFuel);
}

// ---- determinism ----

/// Runs the determinism program in a fresh directory whose entries are created in `order`, with
/// `builder`'s settings; returns its stdout.
fn determinism_run(order: &[&str], builder: &mut WasiCtxBuilder, fuel: Option<u64>) -> String {
    let dir = tempfile::tempdir().unwrap();
    for name in order {
        if name.ends_with('/') {
            fs::create_dir(dir.path().join(name)).unwrap();
        } else {
            fs::write(dir.path().join(name), name.as_bytes()).unwrap();
        }
    }
    let stdout = OutputBuffer::new();
    builder
        .args(["determinism", "/d"])
        .unwrap()
        .preopened_dir(dir.path(), "/d", DirPerms::ReadOnly)
        .unwrap()
        .stdout(Stdio::Buffer(stdout.clone()));
    run("determinism", builder.build(), fuel).unwrap();
    String::from_utf8(stdout.contents()).unwrap()
}

#[test]
fn deterministic_runs_print_the_same_bytes_whatever_the_host() {
    let first = determinism_run(
        &["zeta", "alpha", "mid/", "beta"],
        WasiCtxBuilder::new().deterministic(1),
        Some(u64::MAX),
    );
    std::thread::sleep(Duration::from_millis(1100));
    let second = determinism_run(
        &["beta", "mid/", "alpha", "zeta"],
        WasiCtxBuilder::new().deterministic(1),
        Some(u64::MAX),
    );
    assert_eq!(first, second);
    assert!(first.starts_with("time 946684800\n"), "{first}");
    // Listed by name, with no host timestamps or inode numbers.
    let entries: Vec<&str> = first.lines().filter(|l| l.starts_with("entry ")).collect();
    let names: Vec<&str> = entries
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(names, [".", "..", "alpha", "beta", "mid", "zeta"]);
    assert!(
        first.contains("entry alpha ino=0 size=5 mtime=0 atime=0 ctime=0 nlink=1\n"),
        "{first}"
    );
    assert!(first.contains("entry mid ino=0 size=0 "), "{first}");
    // The sleep advanced virtual time by what was asked, plus the instructions and the clock read
    // around it, without waiting.
    let slept: u64 = first
        .lines()
        .find_map(|l| l.strip_prefix("slept "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!((20_000_000..20_100_000).contains(&slept), "{first}");
    // Another seed gives other random bytes, and nothing else changes.
    let reseeded = determinism_run(
        &["alpha"],
        WasiCtxBuilder::new().deterministic(2),
        Some(u64::MAX),
    );
    let random = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("random "))
            .unwrap()
            .to_string()
    };
    assert_ne!(random(&first), random(&reseeded));
    assert_eq!(first.lines().next(), reseeded.lines().next());
}

#[test]
fn the_virtual_monotonic_clock_advances_with_executed_fuel() {
    let out = determinism_run(&[], WasiCtxBuilder::new().deterministic(0), Some(u64::MAX));
    let work: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("work took "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    // 100000 loop iterations are several instructions each: far more than one read's step.
    assert!(work > 300_000, "{out}");
    // Without fuel metering only the reads advance it.
    let unmetered = determinism_run(&[], WasiCtxBuilder::new().deterministic(0), None);
    assert!(unmetered.contains("work took 1000 ns"), "{unmetered}");
}

// ---- audit log ----

/// A writer whose bytes the test reads back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

#[test]
fn the_audit_log_records_each_decision_with_its_rule() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.txt"), "input").unwrap();
    let log = Shared::default();
    let mut builder = WasiCtxBuilder::new();
    builder
        .args([
            "fsops",
            "read",
            "/ro/in.txt",
            "write",
            "/ro/new.txt",
            "x",
            "read",
            "/ro/../../etc/passwd",
            "read",
            "/ro/missing",
            "mkdir",
            "/rw/sub",
        ])
        .unwrap()
        .env("SHOWN", "1")
        .unwrap()
        .preopened_dir(dir.path(), "/ro", DirPerms::ReadOnly)
        .unwrap()
        .preopened_dir(dir.path(), "/rw", DirPerms::ReadWrite)
        .unwrap()
        .audit(log.clone());
    let ctx = builder.build();
    let result = run("fsops", ctx.share(), None);
    ctx.finish_audit(&RunEnd::of(&result)).unwrap();
    let lines = log.lines();
    let find = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no record with {needle} in {lines:#?}"))
            .clone()
    };
    assert!(
        find(r#""path":"/ro/in.txt""#)
            .ends_with(r#""mode":"read","allowed":true,"rule":"preopen \"/ro\" (read-only)"}"#),
        "{lines:#?}"
    );
    assert!(
        find(r#""path":"/ro/new.txt""#).ends_with(
            // wasi-libc asks only for the rights the read-only directory can pass on.
            r#""mode":"read+create+trunc","allowed":false,"rule":"read-only preopen \"/ro\""}"#
        ),
        "{lines:#?}"
    );
    assert!(
        find("passwd").contains(r#""allowed":false,"rule":"path leads outside preopen \"/ro\""}"#),
        "{lines:#?}"
    );
    assert!(
        find(r#""path":"/ro/missing""#)
            .ends_with(r#""allowed":true,"rule":"preopen \"/ro\" (read-only)","errno":"noent"}"#),
        "{lines:#?}"
    );
    assert!(
        find(r#""event":"mkdir""#).contains(r#""path":"/rw/sub","mode":"create","allowed":true"#),
        "{lines:#?}"
    );
    let summary = lines.last().unwrap();
    assert!(summary.contains(r#""event":"summary""#), "{summary}");
    // fsops exits 1 after its failed commands.
    assert!(
        summary.ends_with(r#""end":"exit","exit_code":1}"#),
        "{summary}"
    );
    // Records are numbered in order.
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("{{\"seq\":{i},")), "{line}");
    }
}

#[test]
fn the_audit_summary_counts_clocks_and_random_and_names_an_exhausted_limit() {
    let log = Shared::default();
    let ctx = WasiCtxBuilder::new().audit(log.clone()).build();
    let result = run("clock_random", ctx.share(), Some(20_000));
    let end = RunEnd::of(&result);
    assert!(
        matches!(&end, RunEnd::Limit { limit: "fuel", .. }),
        "{end:?}"
    );
    ctx.finish_audit(&end).unwrap();
    let lines = log.lines();
    let summary = lines.last().unwrap();
    assert!(
        summary.contains(r#""end":"limit","limit":"fuel""#),
        "{summary}"
    );
    // The program read the wall clock and then the monotonic clock many times before fuel ran out.
    assert!(
        summary.contains(r#""clock_realtime_reads":1,"#),
        "{summary}"
    );
    assert!(
        !summary.contains(r#""clock_monotonic_reads":0,"#),
        "{summary}"
    );
    // One summary, not one record per read.
    assert_eq!(lines.iter().filter(|l| l.contains("clock")).count(), 1);
}

#[test]
fn a_dropped_context_still_flushes_its_audit_log() {
    let log = Shared::default();
    let ctx = WasiCtxBuilder::new()
        .env("SHOWN", "1")
        .unwrap()
        .audit(log.clone())
        .build();
    run("hello", ctx, None).unwrap();
    let lines = log.lines();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].ends_with(
            r#""event":"env","names":["SHOWN"],"allowed":true,"rule":"granted environment"}"#
        ),
        "{lines:#?}"
    );
    assert!(lines[1].contains(r#""event":"summary""#));
}

#[test]
fn granted_listeners_are_audited_as_binds() {
    let log = Shared::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let ctx = WasiCtxBuilder::new()
        .audit(log.clone())
        .preopened_socket(listener)
        .build();
    ctx.finish_audit(&RunEnd::Returned).unwrap();
    let lines = log.lines();
    assert_eq!(
        lines[0],
        format!(
            r#"{{"seq":0,"event":"bind","address":"{address}","allowed":true,"rule":"granted listener"}}"#
        )
    );
    assert!(lines[1].ends_with(r#""end":"returned"}"#), "{lines:#?}");
}
