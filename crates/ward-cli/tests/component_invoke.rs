//! `ward run --invoke 'name(args)'` on a component: arguments parsed and results printed in WAVE,
//! functions found by name among the component's exports and inside its exported instances (as
//! Wasmtime does), and one-line errors for bad calls. The component is
//! tests/components/invoke.wat.

mod support;

use support::{repo, stderr, stdout, ward};

fn invoke(call: &str) -> std::process::Output {
    ward(&[
        "run",
        "--invoke",
        call,
        &repo("tests/components/invoke.wat"),
    ])
}

/// `call` succeeds and prints `expected` (and a newline), nothing on stderr.
#[track_caller]
fn prints(call: &str, expected: &str) {
    let out = invoke(call);
    assert_eq!(out.status.code(), Some(0), "{call}: {}", stderr(&out));
    assert_eq!(stdout(&out), format!("{expected}\n"), "{call}");
    assert_eq!(stderr(&out), "", "{call}");
}

/// `call` fails with exit code 1, no output, and the one-line error `expected`.
#[track_caller]
fn fails(call: &str, expected: &str) {
    let out = invoke(call);
    assert_eq!(out.status.code(), Some(1), "{call}: {}", stdout(&out));
    assert_eq!(stdout(&out), "", "{call}");
    assert_eq!(stderr(&out), format!("error: {expected}\n"), "{call}");
}

#[test]
fn scalars() {
    prints("add(1, 2)", "3");
    prints("add(4294967295, 1)", "0");
    prints("half(3)", "1.5");
    prints("half(-5)", "-2.5");
    prints("half(nan)", "nan");
    prints("half(-inf)", "-inf");
    prints("negate(-9223372036854775807)", "9223372036854775807");
    prints("nothing()", "()");
}

#[test]
fn strings() {
    prints(r#"greet("ward")"#, r#""hello, ward""#);
    prints(r#"greet("\u{e9}t\u{e9} \"x\"")"#, r#""hello, été \"x\"""#);
    prints(r#"echo-strings(["a", "b\n", ""])"#, r#"["a", "b\n", ""]"#);
    prints("echo-strings([])", "[]");
}

#[test]
fn records_tuples_enums_and_flags() {
    // Fields in any order; printed in the type's order.
    prints(
        r#"echo-points([{x: 1, y: -2, label: "a"}, {label: "b", y: 4, x: 3}])"#,
        r#"[{x: 1, y: -2, label: "a"}, {x: 3, y: 4, label: "b"}]"#,
    );
    prints(
        "echo-tuples([('x', true, 18446744073709551615), ('\\u{1f600}', false, 0)])",
        "[('x', true, 18446744073709551615), ('😀', false, 0)]",
    );
    prints("same-color(blue)", "blue");
    prints("same-perms({exec, read})", "{read, exec}");
    prints("same-perms({})", "{}");
}

#[test]
fn variants_options_and_results() {
    prints(
        "echo-shapes([circle(1.5), square(4), empty])",
        "[circle(1.5), square(4), empty]",
    );
    prints("echo-options([some(-3), none])", "[some(-3), none]");
    prints(
        r#"echo-results([ok(1), err("no")])"#,
        r#"[ok(1), err("no")]"#,
    );
    prints("halve(8)", "some(4)");
    prints("halve(7)", "none");
    prints("check(5)", "ok(5)");
    prints("check(500)", r#"err("too big")"#);
}

#[test]
fn functions_inside_exported_instances_are_found_by_their_own_name() {
    prints("mul(6, 7)", "42");
    fails(
        "twice(1, 2)",
        &format!(
            "component \"{}\" exports 2 functions named `twice`: `my:calc/one#twice`, `my:calc/two#twice`",
            repo("tests/components/invoke.wat")
        ),
    );
}

#[test]
fn unknown_functions_and_wrong_arguments() {
    fails(
        "nope()",
        &format!(
            "component \"{}\" exports no function named `nope`",
            repo("tests/components/invoke.wat")
        ),
    );
    fails(
        "add(1)",
        "invalid arguments in --invoke `add(1)`: invalid params: missing required param(s) at 5..6",
    );
    fails(
        "add(1, 2, 3)",
        "invalid arguments in --invoke `add(1, 2, 3)`: invalid params: more param(s) than expected at 10..11",
    );
    fails(
        r#"add(1, "x")"#,
        r#"invalid arguments in --invoke `add(1, "x")`: invalid value type at 7..10"#,
    );
    fails(
        "add(-1, 2)",
        "invalid arguments in --invoke `add(-1, 2)`: invalid value at 4..6",
    );
    fails(
        "same-perms({bogus})",
        "invalid arguments in --invoke `same-perms({bogus})`: error converting Wasm value: unknown case \"bogus\" at 11..18",
    );
    fails(
        "echo-points([{x: 1}])",
        "invalid arguments in --invoke `echo-points([{x: 1}])`: error converting Wasm value: missing field \"y\" at 13..19",
    );
    fails(
        "echo-shapes([circle])",
        "invalid arguments in --invoke `echo-shapes([circle])`: error converting Wasm value: missing payload for \"circle\" case at 13..19",
    );
}

#[test]
fn wave_syntax_errors_give_the_position() {
    fails(
        "add(1, 2",
        "invalid --invoke `add(1, 2`: unexpected end of input at 8..8",
    );
    fails(
        "add",
        "invalid --invoke `add`: unexpected end of input at 3..3",
    );
    fails(")(", "invalid --invoke `)(`: invalid token at 0..1");
    fails("", "invalid --invoke ``: unexpected end of input at 0..0");
    let deep = format!("echo-strings({})", "[".repeat(200));
    fails(
        &deep,
        &format!("invalid --invoke `{deep}`: value nesting too deep at 112..113"),
    );
}

#[test]
fn hostile_invoke_strings_never_panic() {
    for call in [
        "add(1, 2))",
        "add(,)",
        "add(1 2)",
        "greet(\"\\u{d800}\")",
        "greet('x')",
        "echo-points([{x: 1, y: 2, label: \"a\", label: \"b\"}])",
        "echo-points([{x: 1, y: 2, label: \"a\", z: 0}])",
        "same-color(purple)",
        "same-perms({read, read})",
        "echo-tuples([('x', true)])",
        "check(ok(1))",
        "a:b/c.d@1.0.0()",
        "\u{7f}(\u{1})",
    ] {
        let out = invoke(call);
        assert_eq!(out.status.code(), Some(1), "{call}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("error: ") && err.lines().count() == 1,
            "{call}: {err}"
        );
    }
}

#[test]
fn a_trap_is_reported_as_for_modules() {
    let out = invoke("boom()");
    assert_eq!(out.status.code(), Some(134));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: failed to run `boom` in \"{}\": wasm trap: unreachable\n",
            repo("tests/components/invoke.wat")
        )),
        "{err}"
    );
}

#[test]
fn arguments_after_the_component_are_refused() {
    let out = ward(&[
        "run",
        "--invoke",
        "add(1, 2)",
        &repo("tests/components/invoke.wat"),
        "3",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: a component's --invoke takes its arguments in the call, as in --invoke 'add(1, 2)', not after the component\n"
    );
}

#[test]
fn a_wasi_command_export_is_called_with_the_wasi_host() {
    // The Rust wasip2 tour's `wasi:cli/run` `run`, found by its own name: with no command in its
    // argv it writes an error to stderr and returns `err`, which is printed (exit 0, as Wasmtime).
    let out = ward(&[
        "run",
        "--invoke",
        "run()",
        &repo("tests/programs/wasip2/p2_tour.wasm"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "err\n");
    assert_eq!(stderr(&out), "Error: \"unknown command \\\"\\\"\"\n");
}
