//! Runs the vendored WebAssembly spec test suite (`tests/wasm-testsuite`) through `ward-wast`.
//!
//! Every top-level file belongs to one group — core (no SIMD, GC or exception handling), SIMD,
//! exception handling, GC — and every group must pass completely.

use std::path::PathBuf;
use std::thread;

use ward::{Config, WasmProposal};

/// Spec files that use no `v128`, no GC types or instructions and no exception handling.
const CORE: &[&str] = &[
    "address",
    "address0",
    "address1",
    "address64",
    "align",
    "align0",
    "align64",
    "annotations",
    "binary-gc",
    "binary-leb128",
    "binary",
    "binary0",
    "binary_leb128_64",
    "block",
    "br",
    "br_if",
    "br_on_non_null",
    "br_on_null",
    "bulk",
    "bulk64",
    "call",
    "call_indirect",
    "call_indirect64",
    "call_ref",
    "comments",
    "const",
    "conversions",
    "custom",
    "data",
    "data0",
    "data1",
    "data_drop0",
    "elem",
    "endianness",
    "endianness64",
    "exports0",
    "f32",
    "f32_bitwise",
    "f32_cmp",
    "f64",
    "f64_bitwise",
    "f64_cmp",
    "fac",
    "float_exprs",
    "float_exprs0",
    "float_exprs1",
    "float_literals",
    "float_memory",
    "float_memory0",
    "float_memory64",
    "float_misc",
    "forward",
    "func",
    "func_ptrs",
    "global",
    "i32",
    "i64",
    "id",
    "if",
    "imports0",
    "imports1",
    "imports2",
    "imports3",
    "imports4",
    "inline-module",
    "int_exprs",
    "int_literals",
    "labels",
    "left-to-right",
    "linking",
    "linking0",
    "linking1",
    "linking2",
    "linking3",
    "load",
    "load0",
    "load1",
    "load2",
    "load64",
    "local_get",
    "local_init",
    "local_set",
    "local_tee",
    "loop",
    "memory-multi",
    "memory",
    "memory64-imports",
    "memory64",
    "memory_copy",
    "memory_copy0",
    "memory_copy1",
    "memory_copy64",
    "memory_fill",
    "memory_fill0",
    "memory_fill64",
    "memory_grow",
    "memory_grow64",
    "memory_init",
    "memory_init0",
    "memory_init64",
    "memory_redundancy",
    "memory_redundancy64",
    "memory_size",
    "memory_size0",
    "memory_size1",
    "memory_size2",
    "memory_size3",
    "memory_size_import",
    "memory_trap",
    "memory_trap0",
    "memory_trap1",
    "memory_trap64",
    "names",
    "nop",
    "ref",
    "ref_as_non_null",
    "ref_func",
    "ref_is_null",
    "return",
    "return_call",
    "return_call_indirect",
    "return_call_ref",
    "select",
    "skip-stack-guard-page",
    "stack",
    "start",
    "start0",
    "store",
    "store0",
    "store1",
    "store2",
    "switch",
    "table-sub",
    "table",
    "table64",
    "table_copy",
    "table_copy64",
    "table_copy_mixed",
    "table_fill",
    "table_fill64",
    "table_get",
    "table_get64",
    "table_grow",
    "table_grow64",
    "table_set",
    "table_set64",
    "table_size",
    "table_size64",
    "token",
    "traps",
    "traps0",
    "type",
    "unreachable",
    "unreached-invalid",
    "unreached-valid",
    "unwind",
    "utf8-custom-section-id",
    "utf8-import-field",
    "utf8-import-module",
    "utf8-invalid-encoding",
];

/// Spec files that use exception handling (tags, `throw`, `throw_ref`, `try_table`, `exnref`).
const EXCEPTIONS: &[&str] = &[
    "exports",
    "imports",
    "instance",
    "tag",
    "throw",
    "throw_ref",
    "try_table",
];

/// Spec files that use GC types or instructions (structs, arrays, `i31`, casts, the `any` hierarchy).
const GC: &[&str] = &[
    "array",
    "array_copy",
    "array_fill",
    "array_init_data",
    "array_init_elem",
    "array_new_data",
    "array_new_elem",
    "br_on_cast",
    "br_on_cast_fail",
    "br_table",
    "extern",
    "i31",
    "ref_cast",
    "ref_eq",
    "ref_null",
    "ref_test",
    "struct",
    "table_init",
    "table_init64",
    "type-canon",
    "type-equivalence",
    "type-rec",
    "type-subtyping",
];

/// Spec files that use `v128` (fixed-width and relaxed SIMD): every top-level file mentioning it.
const SIMD: &[&str] = &[
    "i16x8_relaxed_q15mulr_s",
    "i32x4_relaxed_trunc",
    "i8x16_relaxed_swizzle",
    "obsolete-keywords",
    "relaxed_dot_product",
    "relaxed_laneselect",
    "relaxed_madd_nmadd",
    "relaxed_min_max",
    "simd_address",
    "simd_align",
    "simd_bit_shift",
    "simd_bitwise",
    "simd_boolean",
    "simd_const",
    "simd_conversions",
    "simd_f32x4",
    "simd_f32x4_arith",
    "simd_f32x4_cmp",
    "simd_f32x4_pmin_pmax",
    "simd_f32x4_rounding",
    "simd_f64x2",
    "simd_f64x2_arith",
    "simd_f64x2_cmp",
    "simd_f64x2_pmin_pmax",
    "simd_f64x2_rounding",
    "simd_i16x8_arith",
    "simd_i16x8_arith2",
    "simd_i16x8_cmp",
    "simd_i16x8_extadd_pairwise_i8x16",
    "simd_i16x8_extmul_i8x16",
    "simd_i16x8_q15mulr_sat_s",
    "simd_i16x8_sat_arith",
    "simd_i32x4_arith",
    "simd_i32x4_arith2",
    "simd_i32x4_cmp",
    "simd_i32x4_dot_i16x8",
    "simd_i32x4_extadd_pairwise_i16x8",
    "simd_i32x4_extmul_i16x8",
    "simd_i32x4_trunc_sat_f32x4",
    "simd_i32x4_trunc_sat_f64x2",
    "simd_i64x2_arith",
    "simd_i64x2_arith2",
    "simd_i64x2_cmp",
    "simd_i64x2_extmul_i32x4",
    "simd_i8x16_arith",
    "simd_i8x16_arith2",
    "simd_i8x16_cmp",
    "simd_i8x16_sat_arith",
    "simd_int_to_int_extend",
    "simd_lane",
    "simd_linking",
    "simd_load",
    "simd_load16_lane",
    "simd_load32_lane",
    "simd_load64_lane",
    "simd_load8_lane",
    "simd_load_extend",
    "simd_load_splat",
    "simd_load_zero",
    "simd_memory-multi",
    "simd_select",
    "simd_splat",
    "simd_store",
    "simd_store16_lane",
    "simd_store32_lane",
    "simd_store64_lane",
    "simd_store8_lane",
];

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/wasm-testsuite")
}

/// Runs `files` on two threads and returns (file, report or error) in order.
fn run_all_with(
    files: Vec<String>,
    config: &Config,
) -> Vec<(String, Result<ward_wast::Report, String>)> {
    let dir = suite_dir();
    let mut chunks: Vec<Vec<String>> = vec![Vec::new(), Vec::new()];
    for (i, file) in files.into_iter().enumerate() {
        chunks[i % 2].push(file);
    }
    thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let dir = dir.clone();
                // Deep recursion tests run in the interpreter, not on the host stack, but the runner
                // itself is given room like a main thread has.
                thread::Builder::new()
                    .stack_size(8 << 20)
                    .spawn_scoped(scope, move || {
                        chunk
                            .into_iter()
                            .map(|file| {
                                let report =
                                    ward_wast::run_file_with_config(&dir.join(&file), config)
                                        .map_err(|e| e.to_string());
                                (file, report)
                            })
                            .collect::<Vec<_>>()
                    })
                    .expect("spawn spec runner thread")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("spec runner thread panicked"))
            .collect()
    })
}

/// Runs a group of files and fails with the first failures of each file that does not pass completely.
fn assert_group_passes(group: &str, files: &[&str], config: &Config) {
    let results = run_all_with(files.iter().map(|f| format!("{f}.wast")).collect(), config);
    let mut problems = Vec::new();
    let mut passed = 0;
    for (file, result) in &results {
        match result {
            Ok(report) => {
                passed += report.passed;
                if report.failed > 0 || report.skipped > 0 || report.passed == 0 {
                    problems.push(format!(
                        "{file}: {} passed, {} failed, {} skipped",
                        report.passed, report.failed, report.skipped
                    ));
                    for failure in report.failures.iter().take(5) {
                        problems.push(format!("  {file}:{}: {}", failure.line, failure.message));
                    }
                }
            }
            Err(e) => problems.push(format!("{file}: {e}")),
        }
    }
    assert!(
        problems.is_empty(),
        "spec failures:\n{}",
        problems.join("\n")
    );
    eprintln!(
        "{group} spec: {} files, {passed} directives passed",
        results.len()
    );
}

fn metered() -> Config {
    let mut config = Config::new();
    config.consume_fuel(true).epoch_interruption(true);
    config
}

#[test]
fn core_spec_files_pass_completely() {
    assert_eq!(CORE.len(), 160);
    assert_group_passes("core", CORE, &Config::new());
}

/// Metering instructions are inserted into the code; they must not change what it computes.
#[test]
fn core_spec_files_pass_with_fuel_and_interruption_enabled() {
    assert_group_passes("core (metered)", CORE, &metered());
}

/// `Config::deterministic` makes every NaN result canonical: that satisfies both `nan:canonical`
/// and `nan:arithmetic`, and operators whose NaN bits the scripts check exactly (`abs`, `neg`,
/// `copysign`, loads, `reinterpret`) are left alone, so every script still passes.
#[test]
fn core_and_simd_spec_files_pass_with_deterministic_nans() {
    let mut config = Config::new();
    config.deterministic(true);
    assert_group_passes("core (deterministic)", CORE, &config);
    assert_group_passes("simd (deterministic)", SIMD, &config);
}

#[test]
fn simd_spec_files_pass_completely() {
    assert_eq!(SIMD.len(), 67);
    let dir = suite_dir();
    for file in SIMD {
        let text = std::fs::read_to_string(dir.join(format!("{file}.wast"))).expect("SIMD file");
        assert!(text.contains("v128"), "{file}.wast does not use v128");
    }
    assert_group_passes("simd", SIMD, &Config::new());
}

#[test]
fn simd_spec_files_pass_with_fuel_and_interruption_enabled() {
    assert_group_passes("simd (metered)", SIMD, &metered());
}

#[test]
fn exception_handling_spec_files_pass_completely() {
    assert_group_passes("exception handling", EXCEPTIONS, &Config::new());
}

#[test]
fn exception_handling_spec_files_pass_with_fuel_and_interruption_enabled() {
    assert_group_passes("exception handling (metered)", EXCEPTIONS, &metered());
}

#[test]
fn gc_spec_files_pass_completely() {
    assert_group_passes("gc", GC, &Config::new());
}

#[test]
fn gc_spec_files_pass_with_fuel_and_interruption_enabled() {
    assert_group_passes("gc (metered)", GC, &metered());
}

fn lazy() -> Config {
    let mut config = Config::new();
    config.lazy_translation(true);
    config
}

/// Lazy translation validates as eagerly as eager translation and runs the same code: every group
/// passes with it (invalid modules rejected at compile time, traps where expected).
#[test]
fn all_spec_files_pass_with_lazy_translation() {
    assert_group_passes("core (lazy)", CORE, &lazy());
    assert_group_passes("simd (lazy)", SIMD, &lazy());
    assert_group_passes("exception handling (lazy)", EXCEPTIONS, &lazy());
    assert_group_passes("gc (lazy)", GC, &lazy());
}

/// The `.wast` files of a directory of the suite (a proposal's or the legacy scripts), sorted.
fn files_in(directory: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(suite_dir().join(directory))
        .unwrap_or_else(|e| panic!("{directory} is vendored: {e}"))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".wast"))
        .map(|name| format!("{directory}/{}", name.trim_end_matches(".wast")))
        .collect();
    files.sort();
    files
}

fn assert_directory_passes(directory: &str, expected_files: usize, config: &Config) {
    let files = files_in(directory);
    assert_eq!(
        files.len(),
        expected_files,
        "{directory} has {expected_files} scripts"
    );
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    assert_group_passes(directory, &files, config);
}

/// The configuration for a proposal's scripts: the default one with the proposal switched on.
fn with(proposal: WasmProposal, mut config: Config) -> Config {
    config.wasm_proposal(proposal, true);
    config
}

#[test]
fn wide_arithmetic_proposal_files_pass_completely() {
    let proposal = WasmProposal::WideArithmetic;
    assert_directory_passes(
        "proposals/wide-arithmetic",
        1,
        &with(proposal, Config::new()),
    );
    assert_directory_passes("proposals/wide-arithmetic", 1, &with(proposal, metered()));
    assert_directory_passes("proposals/wide-arithmetic", 1, &with(proposal, lazy()));
}

#[test]
fn custom_page_sizes_proposal_files_pass_completely() {
    let proposal = WasmProposal::CustomPageSizes;
    assert_directory_passes(
        "proposals/custom-page-sizes",
        5,
        &with(proposal, Config::new()),
    );
    assert_directory_passes("proposals/custom-page-sizes", 5, &with(proposal, metered()));
    assert_directory_passes("proposals/custom-page-sizes", 5, &with(proposal, lazy()));
}

/// The legacy exception-handling scripts (`try`, `catch`, `delegate`, `rethrow`), written in the
/// folded form that `ward-wast` unfolds before parsing.
#[test]
fn legacy_exception_handling_files_pass_completely() {
    let proposal = WasmProposal::LegacyExceptions;
    assert_directory_passes("legacy", 4, &with(proposal, Config::new()));
    assert_directory_passes("legacy", 4, &with(proposal, metered()));
    assert_directory_passes("legacy", 4, &with(proposal, lazy()));
}

/// Every top-level file of the suite is in exactly one group, so every one must pass.
#[test]
fn every_spec_file_belongs_to_a_group() {
    let mut files: Vec<String> = std::fs::read_dir(suite_dir())
        .expect("vendored spec suite is present")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".wast"))
        .map(|name| name.trim_end_matches(".wast").to_string())
        .collect();
    files.sort();
    assert_eq!(files.len(), 257, "the suite has 257 top-level files");
    for file in &files {
        let groups = [CORE, SIMD, EXCEPTIONS, GC]
            .iter()
            .filter(|g| g.contains(&file.as_str()))
            .count();
        assert_eq!(groups, 1, "{file}.wast is in {groups} groups");
    }
    assert_eq!(CORE.len() + SIMD.len() + EXCEPTIONS.len() + GC.len(), 257);
}

/// The threads proposal's scripts (run with multi-memory and reference types off, which
/// `run_file_with_config` does for them).
#[test]
fn threads_proposal_files_pass_completely() {
    assert_group_passes(
        "threads",
        &[
            "proposals/threads/atomic",
            "proposals/threads/exports",
            "proposals/threads/imports",
            "proposals/threads/memory",
        ],
        &ward_wast::spec_config(),
    );
}

/// ward's own scripts with `thread` and `wait` directives (`tests/threads`), each run 20 times:
/// their threads really run at once, so a lost wake-up or a torn publication shows as a failure.
#[test]
fn thread_scripts_pass_every_time() {
    let files: Vec<&str> = vec!["../threads/message-passing"; 20];
    assert_group_passes("thread scripts", &files, &ward_wast::spec_config());
}

/// Scripts distilled from bugs found by fuzzing and differential testing (`tests/regressions`).
#[test]
fn regression_scripts_pass() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/regressions");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/regressions exists")
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "wast"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty());
    for script in scripts {
        let report = ward_wast::run_file(&script).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            report.failed == 0 && report.skipped == 0 && report.passed > 0,
            "{}: {report:?}",
            script.display()
        );
    }
}

/// Every group under the Cranelift tier: functions it compiles run as machine code, the others in
/// the interpreter, and every script passes as it does interpreted.
#[cfg(feature = "cranelift")]
#[test]
fn all_spec_files_pass_under_the_cranelift_tier() {
    let mut config = Config::new();
    config.strategy(ward::Strategy::Cranelift);
    let mut compiled = 0;
    for (group, files) in [
        ("core (cranelift)", CORE),
        ("simd (cranelift)", SIMD),
        ("exception handling (cranelift)", EXCEPTIONS),
        ("gc (cranelift)", GC),
    ] {
        assert_group_passes(group, files, &config);
        let results = run_all_with(files.iter().map(|f| format!("{f}.wast")).collect(), &config);
        let (c, i) = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .fold((0, 0), |(c, i), r| {
                (c + r.compiled_functions, i + r.interpreted_functions)
            });
        eprintln!("{group}: {c} functions compiled, {i} interpreted");
        compiled += c;
    }
    assert!(
        compiled > 3000,
        "the tier compiled only {compiled} functions"
    );
}

/// Fuel does not depend on the tier: every script passes metered (fuel and epoch interruption) under
/// the Cranelift tier, and each `invoke` consumes exactly the fuel it consumes interpreted (except
/// those that exhaust the stack, whose depth differs between tiers).
#[cfg(feature = "cranelift")]
#[test]
fn spec_files_consume_the_same_fuel_in_both_tiers() {
    let interpreted = metered();
    let mut compiled = metered();
    compiled.strategy(ward::Strategy::Cranelift);
    let (mut invokes, mut fuel, mut functions) = (0usize, 0u64, 0u64);
    for (group, files) in [
        ("core", CORE),
        ("simd", SIMD),
        ("exception handling", EXCEPTIONS),
        ("gc", GC),
    ] {
        let names: Vec<String> = files.iter().map(|f| format!("{f}.wast")).collect();
        assert_group_passes(&format!("{group} (cranelift, metered)"), files, &compiled);
        let expected: std::collections::HashMap<String, Vec<Option<u64>>> =
            run_all_with(names.clone(), &interpreted)
                .into_iter()
                .map(|(file, r)| (file, r.expect("the script runs").fuel_consumed))
                .collect();
        for (file, report) in run_all_with(names, &compiled) {
            let report = report.expect("the script runs");
            functions += report.compiled_functions;
            let expected = &expected[&file];
            assert_eq!(report.fuel_consumed.len(), expected.len(), "{file}");
            for (i, (got, want)) in report.fuel_consumed.iter().zip(expected).enumerate() {
                if let (Some(got), Some(want)) = (got, want) {
                    assert_eq!(got, want, "{file}: fuel of invoke #{i}");
                    invokes += 1;
                    fuel += got;
                }
            }
        }
    }
    eprintln!(
        "{invokes} invokes consumed the same fuel ({fuel} in all) in both tiers; {functions} functions compiled"
    );
    assert!(
        invokes > 20_000 && functions > 3000,
        "{invokes} invokes, {functions} functions"
    );
}
