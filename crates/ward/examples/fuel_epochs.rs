//! Bounding what a guest may take: fuel (a count of executed operators) and epochs (a deadline
//! another thread moves), each ending an endless loop with a trap.
//!
//!     cargo run -p ward-wasm --example fuel_epochs

use std::time::Duration;

use ward::{Config, Engine, Instance, Module, Store, TrapKind};

const SPIN: &str = r#"(module (func (export "spin") (loop $l (br $l))))"#;

fn main() -> ward::Result<()> {
    // Fuel: the same budget always stops the loop at the same point.
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, SPIN)?;
    let mut store = Store::new(&engine, ());
    let spin = Instance::new(&mut store, &module, &[])?.get_typed_func::<(), ()>(&store, "spin")?;
    store.set_fuel(100_000)?;
    let err = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<TrapKind>(), Some(&TrapKind::OutOfFuel));
    println!("fuel: {err}");

    // Epochs: a timer thread advances the engine's epoch; the loop traps at the deadline.
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, SPIN)?;
    let mut store = Store::new(&engine, ());
    let spin = Instance::new(&mut store, &module, &[])?.get_typed_func::<(), ()>(&store, "spin")?;
    store.set_epoch_deadline(1);
    let ticker = engine.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        ticker.increment_epoch();
    });
    let err = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<TrapKind>(), Some(&TrapKind::Interrupt));
    println!("epoch: {err}");
    Ok(())
}
