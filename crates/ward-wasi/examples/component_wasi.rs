//! WASI 0.2: a Rust program built for `wasm32-wasip2` (tests/programs/wasip2/p2_tour.rs), a
//! component, run with its arguments, a read-write preopened directory and captured stdout.
//!
//!     cargo run -p ward-wasi --example component_wasi

use ward::component::{Component, Linker};
use ward::{Engine, Store};
use ward_wasi::{DirPerms, OutputBuffer, Stdio, WasiCtx, WasiCtxBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let component = Component::from_file(&engine, root.join("tests/programs/wasip2/p2_tour.wasm"))?;
    let dir = std::env::temp_dir().join(format!("ward-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let stdout = OutputBuffer::new();
    let ctx = WasiCtxBuilder::new()
        .args(["p2_tour", "files", "/work"])?
        .preopened_dir(&dir, "/work", DirPerms::ReadWrite)?
        .stdout(Stdio::Buffer(stdout.clone()))
        .build();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    ward_wasi::p2::add_to_linker(&mut linker, |ctx| ctx);
    let mut store = Store::new(&engine, ctx);
    let code = ward_wasi::p2::run(&mut store, &linker, &component)?;
    std::fs::remove_dir_all(&dir)?;
    let output = String::from_utf8(stdout.contents())?;
    assert_eq!(code, 0, "{output}");
    assert!(output.starts_with("read: hello, world\n"), "{output}");
    assert!(output.ends_with("removed: true\n"), "{output}");
    print!("{output}");
    Ok(())
}
