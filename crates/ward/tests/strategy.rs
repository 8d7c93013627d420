//! `Config::strategy`: which tier runs functions, and the typed error when the Cranelift tier is
//! asked for but not built in.

use ward::{Config, Engine, Instance, Module, Store, Strategy};

#[cfg(not(feature = "cranelift"))]
#[test]
fn cranelift_without_the_feature_is_a_typed_error_not_a_panic() {
    let mut config = Config::new();
    config.strategy(Strategy::Cranelift);
    let err = Engine::new(&config).expect_err("the tier is not built in");
    assert!(
        matches!(err, ward::Error::CompilerUnavailable(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("cranelift"), "{err}");
}

#[test]
fn interpreter_and_auto_strategies_run_everything_in_the_interpreter() {
    for strategy in [Strategy::Interpreter, Strategy::Auto] {
        let mut config = Config::new();
        config.strategy(strategy);
        let engine = Engine::new(&config).expect("valid engine configuration");
        let module = Module::new(
            &engine,
            r#"(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add))"#,
        )
        .unwrap();
        assert_eq!(module.compiled_function_count(), 0);
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<i32, i32>(&store, "f").unwrap();
        assert_eq!(f.call(&mut store, 41).unwrap(), 42);
    }
}
