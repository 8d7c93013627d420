//! Async host functions and async calls, on tokio, without fibers: 1,000 calls wait on timers at
//! once, each holding only its paused Wasm stack.
//!
//!     cargo run -p ward-wasm --example async_host

use std::time::Duration;

use ward::{Config, Engine, Linker, Module, Store};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ward::Result<()> {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "sleep_ms" (func $sleep (param i32) (result i32)))
            (func (export "run") (param i32) (result i32)
              (i32.add (call $sleep (local.get 0)) (i32.const 1))))"#,
    )?;
    let mut linker: Linker<()> = Linker::new(&engine);
    linker.func_wrap_async("host", "sleep_ms", |_caller, (ms,): (i32,)| {
        Box::new(async move {
            tokio::time::sleep(Duration::from_millis(ms as u64)).await;
            Ok(ms)
        })
    })?;
    let pre = linker.instantiate_pre(&module)?;
    let calls = (0..1000).map(|i| {
        let (engine, pre) = (engine.clone(), pre.clone());
        tokio::spawn(async move {
            let mut store = Store::new(&engine, ());
            let instance = pre.instantiate_async(&mut store).await?;
            let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
            run.call_async(&mut store, 10 + i % 10).await
        })
    });
    let mut total = 0;
    for call in calls.collect::<Vec<_>>() {
        total += call.await.expect("the task runs")?;
    }
    let expected: i32 = (0..1000).map(|i| 11 + i % 10).sum();
    assert_eq!(total, expected);
    println!("1,000 async calls, each waiting on a timer, summed to {total}");
    Ok(())
}
