//! Proposal switches through the public API: Wasmtime 48's defaults, a switched-off proposal
//! rejected with a message naming its switch, switches that depend on others, and the newer
//! proposals (wide arithmetic, legacy exceptions) running once switched on.

use ward::{Config, Engine, Instance, Module, Store, WasmProposal};

const WIDE: &str = r#"(module (func (export "mul") (param i64 i64) (result i64 i64)
    local.get 0 local.get 1 i64.mul_wide_s))"#;

const LEGACY: &str = r#"(module (tag $e (param i32))
    (func (export "catch") (param i32) (result i32)
      try (result i32)
        local.get 0
        throw $e
      catch $e
        i32.const 1
        i32.add
      end))"#;

const SIMD: &str = "(module (func (result i32) (i32x4.extract_lane 0 (v128.const i64x2 1 2))))";

fn engine_with(proposal: WasmProposal, enable: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_proposal(proposal, enable);
    Engine::new(&config).expect("valid engine configuration")
}

#[test]
fn defaults_follow_wasmtime_48() {
    let config = Config::new();
    let off = [
        WasmProposal::WideArithmetic,
        WasmProposal::CustomPageSizes,
        WasmProposal::LegacyExceptions,
    ];
    for proposal in WasmProposal::ALL {
        let expected = !off.contains(proposal);
        assert_eq!(proposal.enabled_by_default(), expected, "{proposal:?}");
        assert_eq!(config.proposal_enabled(*proposal), expected, "{proposal:?}");
    }
}

#[test]
fn switched_off_proposals_are_named_in_the_error() {
    let cases = [
        (WIDE, WasmProposal::WideArithmetic, true),
        (LEGACY, WasmProposal::LegacyExceptions, true),
        (SIMD, WasmProposal::Simd, false),
    ];
    for (wat, proposal, on_by_switching) in cases {
        let engine = engine_with(proposal, false);
        let err = Module::new(&engine, wat).unwrap_err().to_string();
        let flag = format!("-W {}=y", proposal.cli_name());
        assert!(err.contains(&flag), "{err}");
        assert!(err.contains(proposal.config_method()), "{err}");
        assert_eq!(
            Module::new(&engine_with(proposal, true), wat).is_ok(),
            on_by_switching || proposal.enabled_by_default()
        );
    }
}

#[test]
fn config_methods_switch_the_same_proposals() {
    let mut config = Config::new();
    config
        .wasm_wide_arithmetic(true)
        .wasm_legacy_exceptions(true)
        .wasm_custom_page_sizes(true)
        .wasm_gc(false);
    assert!(config.proposal_enabled(WasmProposal::WideArithmetic));
    assert!(config.proposal_enabled(WasmProposal::LegacyExceptions));
    assert!(config.proposal_enabled(WasmProposal::CustomPageSizes));
    assert!(!config.proposal_enabled(WasmProposal::Gc));
    for proposal in WasmProposal::ALL {
        assert_eq!(
            WasmProposal::from_cli_name(proposal.cli_name()),
            Some(*proposal)
        );
        assert!(proposal.config_method().starts_with("Config::wasm_"));
    }
}

/// Relaxed SIMD builds on SIMD: with SIMD off, `v128` is rejected even though relaxed SIMD is
/// still switched on, and the message names the SIMD switch.
#[test]
fn switching_off_a_base_proposal_switches_off_those_built_on_it() {
    assert!(
        WasmProposal::RelaxedSimd
            .requires()
            .contains(&WasmProposal::Simd)
    );
    let engine = engine_with(WasmProposal::Simd, false);
    let err = Module::new(&engine, SIMD).unwrap_err().to_string();
    assert!(err.contains("-W simd=y"), "{err}");

    let gc = "(module (type $s (struct)) (func (result (ref null $s)) (ref.null $s)))";
    let engine = engine_with(WasmProposal::ReferenceTypes, false);
    assert!(Module::new(&engine, gc).is_err());
}

#[test]
fn wide_arithmetic_runs_once_switched_on() {
    let engine = engine_with(WasmProposal::WideArithmetic, true);
    let module = Module::new(&engine, WIDE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let mul = instance
        .get_typed_func::<(i64, i64), (i64, i64)>(&store, "mul")
        .unwrap();
    assert_eq!(mul.call(&mut store, (-3, 5)).unwrap(), (-15, -1));
    assert_eq!(
        mul.call(&mut store, (i64::MIN, i64::MIN)).unwrap(),
        (0, 1 << 62)
    );
}

#[test]
fn legacy_exceptions_run_once_switched_on() {
    let engine = engine_with(WasmProposal::LegacyExceptions, true);
    let module = Module::new(&engine, LEGACY).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let catch = instance
        .get_typed_func::<i32, i32>(&store, "catch")
        .unwrap();
    assert_eq!(catch.call(&mut store, 41).unwrap(), 42);
}
