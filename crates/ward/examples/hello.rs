//! The smallest embedding: compile a module, instantiate it, call an export.
//!
//!     cargo run -p ward-wasm --example hello

fn main() -> ward::Result<()> {
    let engine = ward::Engine::default();
    let module = ward::Module::new(
        &engine,
        r#"(module (func (export "add") (param i32 i32) (result i32)
              (i32.add (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = ward::Store::new(&engine, ());
    let instance = ward::Instance::new(&mut store, &module, &[])?;
    let add = instance.get_typed_func::<(i32, i32), i32>(&store, "add")?;
    let sum = add.call(&mut store, (40, 2))?;
    assert_eq!(sum, 42);
    println!("40 + 2 = {sum}");
    Ok(())
}
