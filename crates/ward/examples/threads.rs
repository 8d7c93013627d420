//! Many instances in threads: one compiled module, a store per thread.
//!
//!     cargo run -p ward-wasm --example threads

use ward::{Engine, Instance, Module, Store};

fn main() -> ward::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "fib") (param i32) (result i32)
              (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
                (then (local.get 0))
                (else (i32.add (call 0 (i32.sub (local.get 0) (i32.const 1)))
                               (call 0 (i32.sub (local.get 0) (i32.const 2))))))))"#,
    )?;
    let handles: Vec<_> = (0..8)
        .map(|n| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::spawn(move || -> ward::Result<i32> {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[])?;
                let fib = instance.get_typed_func::<i32, i32>(&store, "fib")?;
                fib.call(&mut store, 15 + n)
            })
        })
        .collect();
    let results: Vec<i32> = handles
        .into_iter()
        .map(|h| h.join().expect("the thread runs to its end"))
        .collect::<ward::Result<_>>()?;
    assert_eq!(results, [610, 987, 1597, 2584, 4181, 6765, 10946, 17711]);
    println!("fib(15..23) in 8 threads: {results:?}");
    Ok(())
}
