//! WASI: a C program (tests/programs/determinism.c) with one read-only preopened directory, its
//! arguments and captured stdout, run deterministically (virtual clocks, seeded random numbers).
//!
//!     cargo run -p ward-wasi --example wasi

use ward::{Engine, Linker, Module, Store};
use ward_wasi::{DirPerms, OutputBuffer, Stdio, WasiCtx, WasiCtxBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let module = Module::from_file(&engine, root.join("tests/programs/determinism.wasm"))?;
    let stdout = OutputBuffer::new();
    let ctx = WasiCtxBuilder::new()
        .args(["determinism", "/d"])?
        .preopened_dir(root.join("examples"), "/d", DirPerms::ReadOnly)?
        .stdout(Stdio::Buffer(stdout.clone()))
        .deterministic(7)
        .build();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    ward_wasi::add_to_linker(&mut linker, |ctx| ctx)?;
    let mut store = Store::new(&engine, ctx);
    let instance = linker.instantiate(&mut store, &module)?;
    match instance
        .get_typed_func::<(), ()>(&store, "_start")?
        .call(&mut store, ())
    {
        Ok(()) | Err(ward::Error::Exit(0)) => {}
        Err(e) => return Err(e.into()),
    }
    let output = String::from_utf8(stdout.contents())?;
    // The virtual wall clock starts at 2000-01-01, and the listing shows the preopen's files.
    assert!(output.starts_with("time 946684800\n"), "{output}");
    assert!(output.contains("entry hello.wat "), "{output}");
    print!("{output}");
    Ok(())
}
