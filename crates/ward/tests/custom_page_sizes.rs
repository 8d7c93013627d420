//! Memories with 1-byte pages (the custom page sizes proposal) through the public API: types,
//! sizes and growth in pages of the memory's own size, the resource limiter in bytes, imports
//! matched by page size, and the index type's limits.

use ward::{
    Config, Engine, Error, Extern, ExternType, Instance, Linker, Memory, MemoryType, Module,
    ResourceLimiter, Store,
};

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_custom_page_sizes(true);
    Engine::new(&config).expect("valid engine configuration")
}

const BYTE_PAGES: &str = r#"(module
    (memory (export "m") 3 10 (pagesize 1))
    (data (i32.const 1) "\2a")
    (func (export "size") (result i32) memory.size)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#;

#[test]
fn a_byte_page_memory_reports_its_page_size_in_its_type() {
    let engine = engine();
    let module = Module::new(&engine, BYTE_PAGES).unwrap();
    let export = module.exports().next().unwrap();
    let ExternType::Memory(ty) = export.ty() else {
        panic!("the first export is the memory")
    };
    assert_eq!(ty.page_size(), 1);
    assert_eq!(ty.page_size_log2, 0);
    assert_eq!((ty.minimum, ty.maximum), (3, Some(10)));
}

#[test]
fn size_and_growth_count_pages_of_one_byte() {
    let engine = engine();
    let module = Module::new(&engine, BYTE_PAGES).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let memory = instance.get_memory(&store, "m").unwrap();
    let size = instance.get_typed_func::<(), i32>(&store, "size").unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    let load = instance.get_typed_func::<i32, i32>(&store, "load").unwrap();

    assert_eq!(size.call(&mut store, ()).unwrap(), 3);
    assert_eq!(memory.data_size(&store), 3);
    assert_eq!(load.call(&mut store, 1).unwrap(), 42);
    assert!(load.call(&mut store, 3).is_err(), "byte 3 is out of bounds");

    assert_eq!(grow.call(&mut store, 4).unwrap(), 3);
    assert_eq!(memory.size(&store), 7);
    assert_eq!(memory.data_size(&store), 7);
    assert_eq!(load.call(&mut store, 6).unwrap(), 0);
    assert!(load.call(&mut store, 7).is_err(), "byte 7 is out of bounds");

    assert_eq!(
        grow.call(&mut store, 4).unwrap(),
        -1,
        "beyond the maximum of 10"
    );
    assert_eq!(memory.grow(&mut store, 3).unwrap(), 7);
    assert_eq!(memory.ty(&store).minimum, 10);
}

/// Records what the store asks its limiter.
#[derive(Default)]
struct Recorder {
    requests: Vec<(usize, usize, Option<usize>)>,
}

impl ResourceLimiter for Recorder {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> ward::Result<bool> {
        self.requests.push((current, desired, maximum));
        Ok(true)
    }

    fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> ward::Result<bool> {
        Ok(true)
    }
}

#[test]
fn the_resource_limiter_sees_bytes_not_pages() {
    let engine = engine();
    let module = Module::new(&engine, BYTE_PAGES).unwrap();
    let mut store = Store::new(&engine, Recorder::default());
    store.limiter(|recorder| recorder);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    grow.call(&mut store, 5).unwrap();
    assert_eq!(
        store.data().requests,
        [(0, 3, Some(10)), (3, 8, Some(10))],
        "creation, then growth by 5 one-byte pages"
    );
}

#[test]
fn host_memories_take_a_page_size() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(
        &mut store,
        MemoryType::new(2, Some(5)).with_page_size_log2(0),
    )
    .unwrap();
    assert_eq!(memory.ty(&store).page_size(), 1);
    assert_eq!(memory.data_size(&store), 2);
    assert_eq!(memory.grow(&mut store, 3).unwrap(), 2);
    assert!(memory.grow(&mut store, 1).is_err());

    let odd = Memory::new(&mut store, MemoryType::new(1, None).with_page_size_log2(12));
    assert!(
        matches!(odd, Err(Error::Usage(_))),
        "4 KiB pages are not a Wasm page size"
    );
    let huge = Memory::new(
        &mut store,
        MemoryType::new64(0, Some(1 << 49)).with_page_size_log2(16),
    );
    assert!(
        matches!(huge, Err(Error::Usage(_))),
        "maximum beyond the index type"
    );
}

#[test]
fn imports_match_only_memories_of_the_same_page_size() {
    let engine = engine();
    let importer = Module::new(
        &engine,
        r#"(module (import "host" "m" (memory 1 (pagesize 1)))
            (func (export "size") (result i32) memory.size))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());

    let bytes = Memory::new(&mut store, MemoryType::new(4, None).with_page_size_log2(0)).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .define(&store, "host", "m", Extern::Memory(bytes))
        .unwrap();
    let instance = linker.instantiate(&mut store, &importer).unwrap();
    let size = instance.get_typed_func::<(), i32>(&store, "size").unwrap();
    assert_eq!(size.call(&mut store, ()).unwrap(), 4);

    let pages = Memory::new(&mut store, MemoryType::new(4, None)).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .define(&store, "host", "m", Extern::Memory(pages))
        .unwrap();
    assert!(linker.instantiate(&mut store, &importer).is_err());
}

/// A 32-bit memory of 1-byte pages holds at most 2^32 - 1 bytes (its page count must fit an `i32`),
/// so growing to 2^32 bytes fails where 65,536 pages of 64 KiB succeed.
#[test]
fn a_32_bit_byte_page_memory_stops_one_byte_short_of_4_gib() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (memory 1 (pagesize 1))
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, -1).unwrap(), -1);

    let four_gib = MemoryType {
        maximum: Some(1 << 32),
        ..MemoryType::new(0, None).with_page_size_log2(0)
    };
    let err = Memory::new(&mut store, four_gib);
    assert!(matches!(err, Err(Error::Usage(_))));
}

#[test]
fn byte_page_memories_are_rejected_unless_enabled() {
    let mut config = Config::new();
    config.wasm_custom_page_sizes(false);
    let err = Module::new(
        &Engine::new(&config).expect("valid engine configuration"),
        BYTE_PAGES,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("wasm_custom_page_sizes"),
        "the message names the switch: {err}"
    );
}

#[test]
fn memory64_counts_byte_pages_with_64_bit_sizes() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") i64 5 (pagesize 1))
            (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
            (func (export "store") (param i64 i32) (i32.store8 (local.get 0) (local.get 1)))
            (func (export "size") (result i64) memory.size))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance.get_typed_func::<i64, i64>(&store, "grow").unwrap();
    let put = instance
        .get_typed_func::<(i64, i32), ()>(&store, "store")
        .unwrap();
    let size = instance.get_typed_func::<(), i64>(&store, "size").unwrap();
    assert_eq!(grow.call(&mut store, 3).unwrap(), 5);
    assert_eq!(size.call(&mut store, ()).unwrap(), 8);
    put.call(&mut store, (7, 9)).unwrap();
    assert!(
        put.call(&mut store, (8, 9)).is_err(),
        "byte 8 is out of bounds"
    );
    let memory = instance.get_memory(&store, "m").unwrap();
    assert!(memory.ty(&store).memory64);
    assert_eq!(memory.data(&store)[7], 9);
    assert_eq!(
        grow.call(&mut store, -1).unwrap(),
        -1,
        "beyond the index limit"
    );
}
