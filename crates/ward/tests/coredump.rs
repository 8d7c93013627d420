//! Core dumps (`Config::coredump_on_trap`, `WasmCoreDump`): what is captured at a trap, and that
//! the serialized dump is a valid Wasm module whose core dump sections wasmparser (the parser of
//! `wasm-tools`) reads back with the store's memory, globals and frames.

use ward::{
    Caller, Config, Engine, Error, Instance, Linker, Module, Store, Trap, TrapKind, WasmCoreDump,
};
use wasmparser::{
    BinaryReader, CoreDumpInstancesSection, CoreDumpModulesSection, CoreDumpSection,
    CoreDumpStackSection, DataKind, Operator, Parser, Payload, Validator, WasmFeatures,
};

const PROGRAM: &str = r#"(module $prog
    (memory (export "memory") 2)
    (global $counter (export "counter") (mut i32) (i32.const 0))
    (global $big (mut i64) (i64.const -5))
    (global $pi f64 (f64.const 3.5))
    (global $v v128 (v128.const i32x4 1 2 3 4))
    (global $f (mut funcref) (ref.func $leaf))
    (data (i32.const 100) "hello")
    (func $leaf (param i32)
        (global.set $counter (i32.add (global.get $counter) (local.get 0)))
        (i32.store (i32.const 70000) (i32.const 0xdeadbeef))
        (if (i32.gt_u (global.get $counter) (i32.const 2)) (then unreachable)))
    (func $middle (param i32)
        (call $leaf (local.get 0)))
    (func (export "run") (param i32)
        (call $middle (local.get 0))))"#;

fn engine(dumps: bool) -> Engine {
    let mut config = Config::new();
    config.coredump_on_trap(dumps);
    Engine::new(&config).unwrap()
}

/// Runs `run(3)` to its trap and returns the store and the error.
fn trap_once(dumps: bool) -> (Store<()>, Module, Error) {
    let engine = engine(dumps);
    let module = Module::new(&engine, PROGRAM).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance.get_typed_func::<i32, ()>(&store, "run").unwrap();
    let err = run.call(&mut store, 3).unwrap_err();
    (store, module, err)
}

#[test]
fn no_dump_unless_configured() {
    let (_, _, err) = trap_once(false);
    assert_eq!(
        err.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::Unreachable
    );
    assert!(err.downcast_ref::<WasmCoreDump>().is_none());
}

#[test]
fn dump_names_the_frames_and_the_store() {
    let (_, module, err) = trap_once(true);
    let trap = err.downcast_ref::<Trap>().unwrap();
    let dump = err.downcast_ref::<WasmCoreDump>().expect("dump attached");
    let indices: Vec<u32> = dump.frames().iter().map(|f| f.func_index()).collect();
    assert_eq!(indices, [0, 1, 2]);
    assert_eq!(dump.frames(), trap.backtrace().frames());
    assert_eq!(dump.instances().len(), 1);
    assert_eq!(dump.modules().len(), 1);
    assert_eq!(dump.modules()[0].name(), module.name());
    assert_eq!(dump.memories().len(), 1);
    assert_eq!(dump.globals().len(), 5);
    // Function-relative offsets: the trap is at `unreachable` inside `$leaf`'s body.
    let leaf = &dump.frames()[0];
    let (func_offset, module_offset) = (leaf.func_offset().unwrap(), leaf.module_offset().unwrap());
    assert!(func_offset > 0 && func_offset < module_offset);
}

/// Decodes the serialized dump with wasmparser, checking that it validates and that each core
/// dump section holds what the store held.
#[test]
fn serialized_dump_reads_back() {
    let (mut store, _, err) = trap_once(true);
    let dump = err.downcast_ref::<WasmCoreDump>().unwrap().clone();
    let frames = dump.frames().to_vec();
    let bytes = dump.serialize(&mut store, "prog.wasm");
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&bytes)
        .expect("the dump is a valid module");

    let memory = dump.memories()[0];
    let mut expected_memory = vec![0u8; memory.data_size(&store)];
    memory.read(&store, 0, &mut expected_memory).unwrap();
    let mut rebuilt = vec![0u8; expected_memory.len()];
    let (mut core, mut modules, mut instances, mut stack) = (None, None, None, None);
    let mut memories = Vec::new();
    let mut globals = Vec::new();
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            Payload::MemorySection(reader) => {
                memories.extend(reader.into_iter().map(|m| m.unwrap().initial))
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global.unwrap();
                    assert!(!global.ty.mutable);
                    let op = global.init_expr.get_operators_reader().read().unwrap();
                    globals.push(format!("{op:?}"));
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data.unwrap();
                    let DataKind::Active {
                        memory_index,
                        offset_expr,
                    } = data.kind
                    else {
                        panic!("passive segment in a dump")
                    };
                    assert_eq!(memory_index, 0);
                    let Operator::I32Const { value } =
                        offset_expr.get_operators_reader().read().unwrap()
                    else {
                        panic!("offset is not an i32.const")
                    };
                    let at = value as u32 as usize;
                    rebuilt[at..at + data.data.len()].copy_from_slice(data.data);
                }
            }
            Payload::CustomSection(section) => {
                let reader = BinaryReader::new(section.data(), 0);
                match section.name() {
                    "core" => core = Some(CoreDumpSection::new(reader).unwrap().name.to_string()),
                    "coremodules" => {
                        let m = CoreDumpModulesSection::new(reader).unwrap();
                        modules = Some(m.modules.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                    }
                    "coreinstances" => {
                        let i = CoreDumpInstancesSection::new(reader).unwrap();
                        instances = Some(
                            i.instances
                                .iter()
                                .map(|i| (i.module_index, i.memories.clone(), i.globals.clone()))
                                .collect::<Vec<_>>(),
                        )
                    }
                    "corestack" => {
                        let s = CoreDumpStackSection::new(reader).unwrap();
                        assert_eq!(s.name, "main");
                        stack = Some(
                            s.frames
                                .iter()
                                .map(|f| (f.instanceidx, f.funcidx, f.codeoffset))
                                .collect::<Vec<_>>(),
                        )
                    }
                    other => panic!("unexpected custom section {other}"),
                }
            }
            _ => {}
        }
    }
    assert_eq!(core.as_deref(), Some("prog.wasm"));
    assert_eq!(modules.unwrap(), ["prog"]);
    assert_eq!(instances.unwrap(), [(0, vec![0], vec![0, 1, 2, 3, 4])]);
    let expected_stack: Vec<_> = frames
        .iter()
        .map(|f| (0, f.func_index(), f.func_offset().unwrap() as u32))
        .collect();
    assert_eq!(stack.unwrap(), expected_stack);
    assert_eq!(memories, [2]);
    // The memory as the trap left it: the data segment and the store made before the trap.
    assert_eq!(&rebuilt[100..105], b"hello");
    assert_eq!(&rebuilt[70000..70004], &0xdeadbeef_u32.to_le_bytes());
    assert_eq!(rebuilt, expected_memory);
    // Globals: $counter is 3 after `run(3)`, the others as declared; the funcref becomes a null.
    assert_eq!(globals.len(), 5);
    assert_eq!(globals[0], "I32Const { value: 3 }");
    assert_eq!(globals[1], "I64Const { value: -5 }");
    assert!(globals[2].starts_with("F64Const"), "{}", globals[2]);
    assert!(globals[3].starts_with("V128Const"), "{}", globals[3]);
    assert!(globals[4].starts_with("RefNull"), "{}", globals[4]);
}

/// A trap in Wasm called by a host function called by Wasm: the dump is taken where the trap
/// happened (two frames of the inner call), and the outer call passes the same error on.
#[test]
fn nested_trap_keeps_the_innermost_dump() {
    let engine = engine(true);
    let inner = Module::new(
        &engine,
        r#"(module (func (export "boom") (i32.div_u (i32.const 1) (i32.const 0)) drop))"#,
    )
    .unwrap();
    let outer = Module::new(
        &engine,
        r#"(module (import "host" "call_inner" (func $h))
            (func $a (call $h)) (func (export "go") (call $a)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, None);
    let inner_instance = Instance::new(&mut store, &inner, &[]).unwrap();
    let boom = inner_instance.get_func(&store, "boom").unwrap();
    *store.data_mut() = Some(boom);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "call_inner",
            |mut caller: Caller<'_, Option<ward::Func>>| -> ward::Result<()> {
                let boom = caller.data().unwrap();
                boom.call(&mut caller, &[], &mut [])
            },
        )
        .unwrap();
    let outer_instance = linker.instantiate(&mut store, &outer).unwrap();
    let go = outer_instance.get_func(&store, "go").unwrap();
    let err = go.call(&mut store, &[], &mut []).unwrap_err();
    let trap = err.downcast_ref::<Trap>().unwrap();
    assert_eq!(trap.kind(), TrapKind::IntegerDivisionByZero);
    let dump = err.downcast_ref::<WasmCoreDump>().unwrap();
    assert_eq!(dump.frames().len(), 1, "{dump:?}");
    assert_eq!(dump.frames()[0].func_index(), 0);
    assert_eq!(dump.instances().len(), 2);
    let bytes = dump.serialize(&mut store, "nested");
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&bytes)
        .unwrap();
    // The store stays usable after the trap and the dump.
    let mut results = [];
    let err = boom.call(&mut store, &[], &mut results).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::IntegerDivisionByZero
    );
}

/// Fuel exhaustion is a trap too.
#[test]
fn out_of_fuel_dumps() {
    let mut config = Config::new();
    config.coredump_on_trap(true).consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (func (export "spin") (loop $l (br $l))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(10_000).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let spin = instance.get_typed_func::<(), ()>(&store, "spin").unwrap();
    let err = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::OutOfFuel
    );
    let dump = err.downcast_ref::<WasmCoreDump>().unwrap();
    assert_eq!(dump.frames().len(), 1);
    assert!(dump.memories().is_empty());
}
