//! Host functions that read the guest's memory through `Caller`, and a host that writes into it.
//!
//!     cargo run -p ward-wasm --example host_memory

use ward::{Caller, Engine, Extern, Linker, Module, Store};

fn main() -> ward::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "log" (func $log (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "hello from the guest")
            (func (export "run") (call $log (i32.const 16) (i32.const 20)))
            (func (export "sum") (param $ptr i32) (param $len i32) (result i32) (local $s i32)
              (block $done (loop $l
                (br_if $done (i32.eqz (local.get $len)))
                (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $ptr))))
                (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
                (local.set $len (i32.sub (local.get $len) (i32.const 1)))
                (br $l)))
              (local.get $s)))"#,
    )?;
    let mut linker: Linker<Vec<String>> = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "log",
        |mut caller: Caller<'_, Vec<String>>, ptr: i32, len: i32| -> ward::Result<()> {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                return Err(ward::Error::msg("the guest exports no memory"));
            };
            let mut bytes = vec![0; len as usize];
            memory.read(&caller, ptr as usize, &mut bytes)?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            caller.data_mut().push(text);
            Ok(())
        },
    )?;
    let mut store = Store::new(&engine, Vec::new());
    let instance = linker.instantiate(&mut store, &module)?;
    instance
        .get_typed_func::<(), ()>(&store, "run")?
        .call(&mut store, ())?;
    assert_eq!(store.data(), &["hello from the guest".to_string()]);
    println!("the guest logged: {:?}", store.data());

    // The host writes bytes into the guest's memory, and the guest sums them.
    let memory = instance.get_memory(&store, "memory").unwrap();
    memory.write(&mut store, 1024, &[1, 2, 3, 4, 5])?;
    let sum = instance
        .get_typed_func::<(i32, i32), i32>(&store, "sum")?
        .call(&mut store, (1024, 5))?;
    assert_eq!(sum, 15);
    println!("the guest summed the host's bytes: {sum}");
    Ok(())
}
