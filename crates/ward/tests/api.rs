//! Behaviour of the embedding API, through the public interface only.

use ward::{
    AnyRef, Caller, Config, Engine, Error, ExnRef, Extern, Func, FuncType, Global, GlobalType,
    Instance, Linker, Memory, MemoryType, Module, Mutability, Store, Tag, TrapKind, Val, ValType,
    WasmBacktrace,
};

fn instantiate(wat: &str) -> (Store<()>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).expect("test module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect("test module instantiates");
    (store, instance)
}

#[test]
fn engine_and_module_are_send_and_sync_and_store_is_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Engine>();
    send_sync::<Module>();
    send::<Store<()>>();
}

#[test]
fn typed_call_returns_results() {
    let (mut store, instance) = instantiate(
        r#"(module (func (export "add") (param i32 i64) (result i64)
             local.get 1 local.get 0 i64.extend_i32_s i64.add))"#,
    );
    let add = instance
        .get_typed_func::<(i32, i64), i64>(&store, "add")
        .unwrap();
    assert_eq!(add.call(&mut store, (-5, 100)).unwrap(), 95);
}

#[test]
fn typed_func_with_wrong_signature_is_rejected() {
    let (store, instance) = instantiate(r#"(module (func (export "f") (param i32)))"#);
    let err = instance
        .get_typed_func::<i64, ()>(&store, "f")
        .err()
        .expect("signature mismatch");
    assert!(err.to_string().contains("(param i32)"), "{err}");
}

#[test]
fn dynamic_call_checks_argument_types() {
    let (mut store, instance) =
        instantiate(r#"(module (func (export "f") (param i32) (result i32) local.get 0))"#);
    let f = instance.get_func(&store, "f").unwrap();
    let mut out = [Val::I32(0)];
    let err = f.call(&mut store, &[Val::I64(1)], &mut out).unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err}");
    f.call(&mut store, &[Val::I32(7)], &mut out).unwrap();
    assert_eq!(out[0], Val::I32(7));
}

#[test]
fn host_functions_receive_caller_and_state() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "bump" (func $bump (param i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "run") (result i32)
               (i32.store (i32.const 8) (i32.const 1234))
               (call $bump (i32.const 5))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "bump",
            |mut caller: Caller<'_, u32>, by: i32| -> ward::Result<i32> {
                let memory = caller
                    .get_export("memory")
                    .and_then(Extern::into_memory)
                    .expect("memory export");
                let stored = i32::from_le_bytes(memory.data(&caller)[8..12].try_into().unwrap());
                *caller.data_mut() += by as u32;
                Ok(stored + by)
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, 10u32);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<(), i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 1239);
    assert_eq!(*store.data(), 15);
}

#[test]
fn host_errors_propagate_to_the_caller() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "fail" (func $f)) (func (export "run") call $f))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("env", "fail", || -> ward::Result<()> {
            Err(Error::msg("host says no"))
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let err = instance
        .get_func(&store, "run")
        .unwrap()
        .call(&mut store, &[], &mut [])
        .unwrap_err();
    assert_eq!(err.to_string(), "host says no");
}

#[test]
fn wasm_can_call_back_into_wasm_through_the_host() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "twice" (func $twice (param i32) (result i32)))
             (func $inc (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
             (func (export "run") (param i32) (result i32) (call $twice (local.get 0))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "twice",
            |mut caller: Caller<'_, ()>, x: i32| -> ward::Result<i32> {
                let inc = caller
                    .get_export("inc")
                    .and_then(Extern::into_func)
                    .unwrap();
                let inc = inc.typed::<i32, i32>(&caller)?;
                let once = inc.call(&mut caller, x)?;
                inc.call(&mut caller, once)
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, 40).unwrap(), 42);
}

#[test]
fn trap_carries_kind_and_named_backtrace() {
    let (mut store, instance) = instantiate(
        r#"(module
             (func $inner (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
             (func $outer (export "outer") (param i32) (result i32) (call $inner (local.get 0))))"#,
    );
    let outer = instance
        .get_typed_func::<i32, i32>(&store, "outer")
        .unwrap();
    let err = outer.call(&mut store, 0).unwrap_err();
    let trap = err.as_trap().expect("a trap");
    assert_eq!(trap.kind(), TrapKind::IntegerDivisionByZero);
    let frames = &trap.backtrace().frames;
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].func_name.as_deref(), Some("inner"));
    assert_eq!(frames[0].func_index, 0);
    assert_eq!(frames[1].func_name.as_deref(), Some("outer"));
    assert!(frames[0].module_offset.is_some());
    // The store stays usable after a trap.
    assert_eq!(outer.call(&mut store, 1).unwrap(), 1);
}

#[test]
fn infinite_recursion_traps_with_stack_overflow() {
    let (mut store, instance) = instantiate(
        r#"(module (func $f (export "f") (param i64) (result i64)
             (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (i64.const 1))))"#,
    );
    let f = instance.get_typed_func::<i64, i64>(&store, "f").unwrap();
    let err = f.call(&mut store, 0).unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::StackOverflow)
    );
}

#[test]
fn stack_overflow_backtrace_is_capped_and_folds_recursion() {
    let (mut store, instance) = instantiate(
        r#"(module $m (func $f (export "f") (param i64) (result i64)
             (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (i64.const 1))))"#,
    );
    let f = instance.get_typed_func::<i64, i64>(&store, "f").unwrap();
    let err = f.call(&mut store, 0).unwrap_err();
    let trap = err.as_trap().expect("a trap");
    assert_eq!(trap.kind(), TrapKind::StackOverflow);
    let backtrace = trap.backtrace();
    let kept = WasmBacktrace::INNERMOST_FRAMES + WasmBacktrace::OUTERMOST_FRAMES;
    assert_eq!(backtrace.frames.len(), kept);
    assert!(backtrace.elided > 1000, "elided {}", backtrace.elided);
    assert_eq!(backtrace.depth(), kept + backtrace.elided);
    // Innermost first: the trap is at the call in `$f`, like every other frame here.
    assert_eq!(backtrace.frames[0].func_name.as_deref(), Some("f"));
    assert!(backtrace.frames[0].module_offset.is_some());

    let text = err.to_string();
    assert!(text.len() < 20 * 1024, "{} bytes", text.len());
    assert!(
        text.contains(&format!("{} frames elided", backtrace.elided)),
        "{text}"
    );
    assert!(text.contains("repeated"), "{text}");
    assert!(text.lines().count() < 10, "recursion folds: {text}");
}

#[test]
fn shallow_backtraces_keep_every_frame() {
    let (mut store, instance) = instantiate(
        r#"(module (func $f (export "f") (param i32)
             (if (i32.eqz (local.get 0)) (then unreachable))
             (call $f (i32.sub (local.get 0) (i32.const 1)))))"#,
    );
    let f = instance.get_typed_func::<i32, ()>(&store, "f").unwrap();
    let err = f.call(&mut store, 9).unwrap_err();
    let backtrace = err.as_trap().expect("a trap").backtrace();
    assert_eq!(backtrace.frames.len(), 10);
    assert_eq!(backtrace.elided, 0);
    assert!(!err.to_string().contains("elided"));
}

#[test]
fn recursion_without_stack_slots_still_overflows() {
    // A function with no locals or operands uses no value slots; the frame limit must still stop it.
    let (mut store, instance) = instantiate(r#"(module (func $f (export "f") call $f))"#);
    let f = instance.get_func(&store, "f").unwrap();
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::StackOverflow)
    );
}

#[test]
fn deep_recursion_within_the_limit_completes() {
    let (mut store, instance) = instantiate(
        r#"(module (func $sum (export "sum") (param i32) (result i32)
             (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
               (else (i32.add (local.get 0) (call $sum (i32.sub (local.get 0) (i32.const 1))))))))"#,
    );
    let sum = instance.get_typed_func::<i32, i32>(&store, "sum").unwrap();
    assert_eq!(sum.call(&mut store, 50_000).unwrap(), 1_250_025_000);
}

#[test]
fn memory_grows_and_is_visible_to_the_host() {
    let (mut store, instance) = instantiate(
        r#"(module (memory (export "mem") 1 3)
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
             (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#,
    );
    let memory = instance.get_memory(&store, "mem").unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    let put = instance
        .get_typed_func::<(i32, i32), ()>(&store, "store")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    put.call(&mut store, (2 * 65536 - 1, 0xab)).unwrap();
    assert_eq!(memory.data(&store)[2 * 65536 - 1], 0xab);
    assert_eq!(
        grow.call(&mut store, 2).unwrap(),
        -1,
        "growing past the maximum fails"
    );
    assert_eq!(memory.size(&store), 2);
    let err = put.call(&mut store, (2 * 65536, 1)).unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::MemoryOutOfBounds)
    );
}

#[test]
fn host_defined_memory_and_global_can_be_imported() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    memory.write(&mut store, 100, &[1, 2, 3, 4]).unwrap();
    let global = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Var),
        Val::I32(5),
    )
    .unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "m" (memory 1)) (import "h" "g" (global $g (mut i32)))
             (func (export "f") (result i32)
               (global.set $g (i32.add (global.get $g) (i32.const 1)))
               (i32.load (i32.const 100))))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[memory.into(), global.into()]).unwrap();
    let f = instance.get_typed_func::<(), i32>(&store, "f").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 0x04030201);
    assert_eq!(global.get(&store), Val::I32(6));
}

#[test]
fn missing_and_mismatched_imports_are_link_errors() {
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (import "env" "f" (func (param i32))))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        matches!(&err, Error::Link(m) if m.contains("env::f")),
        "{err}"
    );
    linker.func_wrap("env", "f", |_: i64| {}).unwrap();
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        matches!(&err, Error::Link(m) if m.contains("incompatible")),
        "{err}"
    );
}

#[test]
fn dynamic_host_function_with_func_new() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let ty = FuncType::new([ValType::I32, ValType::I32], [ValType::I32]);
    let f = Func::new(&mut store, ty, |_caller, params, results| {
        results[0] = Val::I32(params[0].i32().unwrap() * params[1].i32().unwrap());
        Ok(())
    })
    .unwrap();
    let mut out = [Val::I32(0)];
    f.call(&mut store, &[Val::I32(6), Val::I32(7)], &mut out)
        .unwrap();
    assert_eq!(out[0], Val::I32(42));
}

#[test]
fn malformed_and_invalid_modules_report_offsets() {
    let engine = Engine::default();
    let err = Module::new(&engine, b"\0asm\x01\0\0\0\x01\x05").unwrap_err();
    assert!(
        matches!(err, Error::Invalid { offset, .. } if offset > 0),
        "{err}"
    );
    let err = Module::new(&engine, "(module (func (result i32) i64.const 0))").unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { message, .. } if message.contains("type mismatch")),
        "{err}"
    );
    let err = Module::new(&engine, "(module (func").unwrap_err();
    assert!(matches!(err, Error::Parse(_)), "{err}");
    // The engine keeps working after rejected modules.
    Module::new(&engine, "(module (func (export \"ok\")))").unwrap();
}

#[test]
fn component_binaries_are_reported_as_unsupported() {
    let engine = Engine::default();
    let err = Module::from_binary(&engine, b"\0asm\x0d\x00\x01\x00").unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("unsupported"), "{err}");
}

#[test]
fn gc_allocation_far_beyond_the_heap_limit_completes_by_collecting() {
    let mut config = Config::new();
    config.max_gc_heap(1 << 20);
    let engine = Engine::new(&config).expect("valid engine configuration");
    // Each iteration allocates a 16-element i64 array (about 160 bytes) and keeps only the latest
    // one: 200 000 iterations allocate about 30 MiB through a 1 MiB heap.
    let module = Module::new(
        &engine,
        r#"(module
             (type $a (array (mut i64)))
             (type $node (struct (field i64) (field (ref null $a))))
             (func (export "churn") (param $n i32) (result i64)
               (local $keep (ref null $node))
               (loop $l
                 (local.set $keep
                   (struct.new $node (i64.extend_i32_u (local.get $n))
                     (array.new $a (i64.const 7) (i32.const 16))))
                 (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
               (i64.add (struct.get $node 0 (local.get $keep))
                 (array.get $a (struct.get $node 1 (local.get $keep)) (i32.const 15)))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let churn = instance
        .get_typed_func::<i32, i64>(&store, "churn")
        .unwrap();
    assert_eq!(churn.call(&mut store, 200_000).unwrap(), 8);
    assert!(store.gc_collections() > 10, "{}", store.gc_collections());
}

#[test]
fn live_gc_objects_beyond_the_heap_limit_trap() {
    let mut config = Config::new();
    config.max_gc_heap(1 << 20);
    let engine = Engine::new(&config).expect("valid engine configuration");
    // A linked list that stays reachable cannot be collected.
    let module = Module::new(
        &engine,
        r#"(module
             (type $node (struct (field (ref null $node))))
             (func (export "grow") (param $n i32)
               (local $list (ref null $node))
               (loop $l
                 (local.set $list (struct.new $node (local.get $list)))
                 (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow = instance.get_typed_func::<i32, ()>(&store, "grow").unwrap();
    let err = grow.call(&mut store, 1_000_000).unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::GcHeapExhausted)
    );
}

#[test]
fn gc_references_cross_the_api_and_stay_alive_while_a_host_call_collects() {
    let engine =
        Engine::new(Config::new().max_gc_heap(1 << 20)).expect("valid engine configuration");
    let module = Module::new(
        &engine,
        r#"(module
             (type $s (struct (field i32)))
             (import "env" "churn" (func $churn))
             (func $garbage (export "garbage") (param $n i32)
               (loop $l
                 (drop (struct.new $s (local.get $n)))
                 (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
             (func (export "make") (param i32) (result anyref) (struct.new $s (local.get 0)))
             (func (export "read") (param anyref) (result i32)
               (struct.get $s 0 (ref.cast (ref $s) (local.get 0))))
             (func (export "survive") (param i32) (result i32)
               (local $keep (ref $s))
               (local.set $keep (struct.new $s (local.get 0)))
               (call $churn)
               (struct.get $s 0 (local.get $keep)))
             (func (export "small") (result i31ref) (ref.i31 (i32.const -5))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "churn",
            |mut caller: Caller<'_, ()>| -> ward::Result<()> {
                let garbage = caller
                    .get_export("garbage")
                    .and_then(Extern::into_func)
                    .unwrap();
                garbage.call(&mut caller, &[Val::I32(100_000)], &mut [])
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let mut made = [Val::AnyRef(None)];
    instance
        .get_func(&store, "make")
        .unwrap()
        .call(&mut store, &[Val::I32(9)], &mut made)
        .unwrap();
    let Val::AnyRef(Some(obj)) = made[0] else {
        panic!("expected a struct, got {:?}", made[0])
    };
    assert!(obj.is_struct(&store).unwrap() && !obj.is_array(&store).unwrap());
    let mut out = [Val::I32(0)];
    instance
        .get_func(&store, "read")
        .unwrap()
        .call(&mut store, &made, &mut out)
        .unwrap();
    assert_eq!(out[0], Val::I32(9));
    // The struct held only by a local of the suspended caller survives collections in the host call.
    let survive = instance
        .get_typed_func::<i32, i32>(&store, "survive")
        .unwrap();
    assert_eq!(survive.call(&mut store, 1234).unwrap(), 1234);
    assert!(store.gc_collections() > 0);
    let mut small = [Val::AnyRef(None)];
    instance
        .get_func(&store, "small")
        .unwrap()
        .call(&mut store, &[], &mut small)
        .unwrap();
    let Val::AnyRef(Some(i31)) = small[0] else {
        panic!("expected an i31, got {:?}", small[0])
    };
    assert_eq!(i31.as_i31(&store).unwrap().map(|v| v.get_i32()), Some(-5));
    assert_eq!(i31.unwrap_i31(&store).unwrap().get_u32(), 0x7fff_fffb);
    assert_eq!(AnyRef::i31(&store, -5), i31);
}

#[test]
fn uncaught_exception_leaves_the_call_with_its_tag_and_payload() {
    let (mut store, instance) = instantiate(
        r#"(module
             (tag $e (export "e") (param i32 i64))
             (func (export "run") (throw $e (i32.const 42) (i64.const -7))))"#,
    );
    let err = instance
        .get_func(&store, "run")
        .unwrap()
        .call(&mut store, &[], &mut [])
        .unwrap_err();
    let Error::Exception(exn) = err else {
        panic!("expected an exception, got {err}")
    };
    let tag = instance
        .get_export(&store, "e")
        .and_then(Extern::into_tag)
        .unwrap();
    assert_eq!(exn.tag(&store).unwrap(), tag);
    assert_eq!(
        exn.payload(&store).unwrap(),
        vec![Val::I32(42), Val::I64(-7)]
    );
    assert_eq!(
        tag.ty(&store),
        FuncType::new([ValType::I32, ValType::I64], [])
    );
}

#[test]
fn exceptions_cross_host_functions_which_can_catch_rethrow_and_throw() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &FuncType::new([ValType::I32], [])).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "e" (tag $e (param i32)))
             (import "env" "host" (func $host (param i32)))
             (func (export "inner") (param i32) (throw $e (local.get 0)))
             (func (export "run") (param i32) (result i32)
               (block $caught (result i32)
                 (try_table (catch $e $caught) (call $host (local.get 0)))
                 (i32.const -1))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&store, "env", "e", tag).unwrap();
    linker
        .func_wrap(
            "env",
            "host",
            move |mut caller: Caller<'_, ()>, x: i32| -> ward::Result<()> {
                if x < 0 {
                    // The host throws an exception of its own.
                    let exn = ExnRef::new(&mut caller, tag, &[Val::I32(x * 10)])?;
                    return Err(Error::Exception(exn));
                }
                let inner = caller
                    .get_export("inner")
                    .and_then(Extern::into_func)
                    .unwrap();
                // Wasm throws through this host call; the host sees the exception and rethrows it.
                match inner.call(&mut caller, &[Val::I32(x + 1)], &mut []) {
                    Err(Error::Exception(exn)) => {
                        assert_eq!(exn.payload(&caller).unwrap(), vec![Val::I32(x + 1)]);
                        Err(Error::Exception(exn))
                    }
                    other => panic!("expected an exception, got {other:?}"),
                }
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, 41).unwrap(), 42);
    assert_eq!(run.call(&mut store, -3).unwrap(), -30);
}

#[test]
fn caught_exceptions_are_collected() {
    let engine =
        Engine::new(Config::new().max_gc_heap(1 << 20)).expect("valid engine configuration");
    // 200 000 exceptions with a 4-word payload each (about 12 MiB) through a 1 MiB heap.
    let module = Module::new(
        &engine,
        r#"(module
             (tag $e (param i64 i64 i64 i64))
             (func (export "run") (param $n i32) (result i64)
               (local $sum i64)
               (loop $l
                 (block $h (result i64 i64 i64 i64 exnref)
                   (try_table (catch_ref $e $h)
                     (throw $e (i64.const 1) (i64.const 2) (i64.const 3) (i64.extend_i32_u (local.get $n))))
                   (unreachable))
                 (drop)
                 (local.set $sum (i64.add (local.get $sum)))
                 (drop) (drop) (drop)
                 (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
               (local.get $sum)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let run = instance.get_typed_func::<i32, i64>(&store, "run").unwrap();
    assert_eq!(
        run.call(&mut store, 200_000).unwrap(),
        200_000 * 200_001 / 2
    );
    assert!(store.gc_collections() > 0);
}

#[test]
fn an_exception_from_a_tail_called_host_function_skips_the_replaced_frame() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &FuncType::new([ValType::I32], [])).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "e" (tag $e (param i32)))
             (import "env" "throw" (func $throw (param i32) (result i32)))
             (func $tail (param i32) (result i32)
               (block $h (result i32)
                 (try_table (result i32) (catch $e $h)
                   (return_call $throw (local.get 0))))
               (i32.add (i32.const 100)))
             (func (export "run") (param i32) (result i32)
               (block $h (result i32)
                 (try_table (result i32) (catch $e $h) (call $tail (local.get 0)))
                 (return))
               (i32.add (i32.const 1000))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&store, "env", "e", tag).unwrap();
    linker
        .func_wrap(
            "env",
            "throw",
            move |mut caller: Caller<'_, ()>, x: i32| -> ward::Result<i32> {
                Err(Error::Exception(ExnRef::new(
                    &mut caller,
                    tag,
                    &[Val::I32(x)],
                )?))
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
    // `return_call` left `$tail`'s try_table, so the handler in `run` catches.
    assert_eq!(run.call(&mut store, 5).unwrap(), 1005);
}

#[test]
fn exnref_values_cross_the_api() {
    let (mut store, instance) = instantiate(
        r#"(module
             (tag $e (param i32))
             (func (export "catch") (param i32) (result exnref)
               (block $h (result exnref)
                 (try_table (catch_all_ref $h) (throw $e (local.get 0)))
                 (unreachable)))
             (func (export "rethrow") (param exnref) (throw_ref (local.get 0))))"#,
    );
    let mut caught = [Val::ExnRef(None)];
    instance
        .get_func(&store, "catch")
        .unwrap()
        .call(&mut store, &[Val::I32(5)], &mut caught)
        .unwrap();
    let Val::ExnRef(Some(exn)) = caught[0] else {
        panic!("expected an exnref, got {:?}", caught[0])
    };
    assert_eq!(exn.payload(&store).unwrap(), vec![Val::I32(5)]);
    let err = instance
        .get_func(&store, "rethrow")
        .unwrap()
        .call(&mut store, &caught, &mut [])
        .unwrap_err();
    assert!(matches!(err, Error::Exception(e) if e == exn), "{err}");
    let err = instance
        .get_func(&store, "rethrow")
        .unwrap()
        .call(&mut store, &[Val::ExnRef(None)], &mut [])
        .unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::NullReference)
    );
}

#[test]
fn v128_arguments_and_results_cross_the_api_between_scalars() {
    let (mut store, instance) = instantiate(
        r#"(module (func (export "f") (param i32 v128 i64) (result i64 v128 i32)
             local.get 2
             local.get 1 local.get 0 i32x4.splat i32x4.add
             local.get 0))"#,
    );
    let f = instance.get_func(&store, "f").unwrap();
    let mut out = [Val::I32(0), Val::I32(0), Val::I32(0)];
    let v = 0x0000_0004_0000_0003_0000_0002_0000_0001u128;
    f.call(
        &mut store,
        &[Val::I32(10), Val::V128(v), Val::I64(-1)],
        &mut out,
    )
    .unwrap();
    assert_eq!(out[0], Val::I64(-1));
    assert_eq!(out[1], Val::V128(0x0000_000e_0000_000d_0000_000c_0000_000b));
    assert_eq!(out[2], Val::I32(10));
}

#[test]
fn host_functions_take_and_return_v128() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "swap" (func $swap (param i32 v128) (result v128 i32)))
             (func (export "run") (param v128) (result v128 i32)
               i32.const 7 local.get 0 call $swap))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let ty = FuncType::new([ValType::I32, ValType::V128], [ValType::V128, ValType::I32]);
    let swap = Func::new(&mut store, ty, |_caller, params, results| {
        let Val::V128(v) = params[1] else {
            panic!("second argument is a v128: {:?}", params[1])
        };
        results[0] = Val::V128(v.rotate_left(64));
        results[1] = params[0];
        Ok(())
    })
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "swap", swap).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_func(&store, "run").unwrap();
    let mut out = [Val::I32(0), Val::I32(0)];
    run.call(&mut store, &[Val::V128(1 | (2 << 64))], &mut out)
        .unwrap();
    assert_eq!(out, [Val::V128(2 | (1 << 64)), Val::I32(7)]);
}

#[test]
fn v128_globals_are_read_and_written_by_wasm_and_host() {
    let (mut store, instance) = instantiate(
        r#"(module (global $g (export "g") (mut v128) (v128.const i64x2 1 2))
             (func (export "bump") (result v128)
               global.get $g global.get $g i64x2.add global.set $g global.get $g))"#,
    );
    let bump = instance.get_func(&store, "bump").unwrap();
    let mut out = [Val::V128(0)];
    bump.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out[0], Val::V128(2 | (4 << 64)));
    let g = instance.get_global(&store, "g").unwrap();
    assert_eq!(g.get(&store), Val::V128(2 | (4 << 64)));
}

#[test]
fn types_are_shared_across_modules_of_an_engine() {
    let engine = Engine::default();
    let a = Module::new(
        &engine,
        r#"(module (table (export "t") 1 funcref) (type $t (func (param i32) (result i32)))
        (func $id (type $t) local.get 0) (elem (i32.const 0) $id))"#,
    )
    .unwrap();
    let b = Module::new(&engine, r#"(module (import "a" "t" (table 1 funcref)) (type $u (func (param i32) (result i32)))
        (func (export "call") (param i32) (result i32) (call_indirect (type $u) (local.get 0) (i32.const 0))))"#)
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let ia = linker.instantiate(&mut store, &a).unwrap();
    linker.instance(&mut store, "a", ia).unwrap();
    let ib = linker.instantiate(&mut store, &b).unwrap();
    let call = ib.get_typed_func::<i32, i32>(&store, "call").unwrap();
    assert_eq!(call.call(&mut store, 9).unwrap(), 9);
}

#[test]
fn defined_types_in_imports_match_across_modules_after_rejected_modules() {
    let engine = Engine::default();
    let a = Module::new(
        &engine,
        r#"(module (type $s (struct (field i32)))
        (global (export "g") (ref null $s) (ref.null $s))
        (table (export "t") 1 (ref null $s)))"#,
    )
    .unwrap();
    // Rejected at module level (duplicate export) and in a function body: neither may disturb the
    // engine's type ids.
    Module::new(
        &engine,
        r#"(module (type $s (struct (field i64))) (func (export "f")) (func (export "f")))"#,
    )
    .unwrap_err();
    Module::new(
        &engine,
        r#"(module (type $s (struct (field i32))) (func (result (ref null $s)) i32.const 0))"#,
    )
    .unwrap_err();
    let b = Module::new(
        &engine,
        r#"(module (type $f (func)) (type $s (struct (field i32)))
        (import "a" "g" (global (ref null $s)))
        (import "a" "t" (table 1 (ref null $s))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let ia = linker.instantiate(&mut store, &a).unwrap();
    linker.instance(&mut store, "a", ia).unwrap();
    linker.instantiate(&mut store, &b).unwrap();
    let c = Module::new(
        &engine,
        r#"(module (type $s (struct (field i64)))
        (import "a" "g" (global (ref null $s))))"#,
    )
    .unwrap();
    assert!(linker.instantiate(&mut store, &c).is_err());
}

/// A module whose memory gets written by a data segment, by Wasm stores and by growth.
const SCRIBBLER: &str = r#"(module (memory (export "mem") 2)
    (data (i32.const 1024) "seed")
    (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

/// Instantiates `module` in a fresh store, checks that its memory holds only the data segment, then
/// dirties it everywhere it can (Wasm stores, host writes, growth) and checks bounds.
fn scribble(engine: &Engine, module: &Module, round: u8) {
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine).instantiate(&mut store, module).unwrap();
    let memory = instance.get_memory(&store, "mem").unwrap();
    let data = memory.data(&store);
    assert_eq!(
        data.len(),
        2 * 65536,
        "round {round}: the memory has its initial size"
    );
    assert_eq!(&data[1024..1028], b"seed", "round {round}");
    assert!(
        data[..1024].iter().chain(&data[1028..]).all(|b| *b == 0),
        "round {round}: a new memory is zero apart from its data segment"
    );
    let put = instance
        .get_typed_func::<(i32, i32), ()>(&store, "store")
        .unwrap();
    let load = instance.get_typed_func::<i32, i32>(&store, "load").unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    for at in [0, 1025, 4096, 65535, 2 * 65536 - 1] {
        put.call(&mut store, (at, i32::from(round) + 1)).unwrap();
    }
    memory.data_mut(&mut store)[70_000..70_100].fill(0xee);
    if round.is_multiple_of(2) {
        // Written before growth, still there after it (the memory may move).
        assert_eq!(grow.call(&mut store, 3).unwrap(), 2);
        assert_eq!(load.call(&mut store, 65535).unwrap(), i32::from(round) + 1);
        assert_eq!(load.call(&mut store, 5 * 65536 - 1).unwrap(), 0);
        put.call(&mut store, (5 * 65536 - 1, 9)).unwrap();
    }
    let size = memory.data_size(&store) as i32;
    let err = load.call(&mut store, size).unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::MemoryOutOfBounds),
        "round {round}: the first byte past the end is out of bounds"
    );
}

#[test]
fn memories_of_dropped_stores_are_reused_zeroed() {
    let engine = Engine::default();
    let module = Module::new(&engine, SCRIBBLER).unwrap();
    for round in 0..100 {
        scribble(&engine, &module, round);
    }
}

#[test]
fn memories_are_zeroed_with_reuse_turned_off() {
    let mut config = Config::new();
    config.memory_pool_capacity(0);
    let engine = Engine::new(&config).expect("valid engine configuration");
    let module = Module::new(&engine, SCRIBBLER).unwrap();
    for round in 0..10 {
        scribble(&engine, &module, round);
    }
}

#[test]
fn many_live_memories_released_together_come_back_zeroed() {
    let engine = Engine::default();
    let module = Module::new(&engine, SCRIBBLER).unwrap();
    let memory64 = Module::new(
        &engine,
        r#"(module (memory (export "mem") i64 1)
             (func (export "store") (param i64 i32) (i32.store8 (local.get 0) (local.get 1)))
             (func (export "load") (param i64) (result i32) (i32.load8_u (local.get 0))))"#,
    )
    .unwrap();
    for _ in 0..3 {
        let mut store = Store::new(&engine, ());
        for i in 0..100 {
            let module = if i % 3 == 0 { &memory64 } else { &module };
            let instance = Linker::new(&engine)
                .instantiate(&mut store, module)
                .unwrap();
            let memory = instance.get_memory(&store, "mem").unwrap();
            let data = memory.data(&store);
            let seeded = if i % 3 == 0 { 0..0 } else { 1024..1028 };
            assert!(
                data.iter()
                    .enumerate()
                    .all(|(at, b)| *b == 0 || seeded.contains(&at)),
                "memory {i} starts zeroed apart from its data segment"
            );
            memory.data_mut(&mut store).fill(0xcc);
        }
    }
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &memory64)
        .unwrap();
    let load = instance.get_typed_func::<i64, i32>(&store, "load").unwrap();
    assert_eq!(load.call(&mut store, 65535).unwrap(), 0);
    let err = load.call(&mut store, 65536).unwrap_err();
    assert_eq!(
        err.as_trap().map(|t| t.kind()),
        Some(TrapKind::MemoryOutOfBounds)
    );
}

#[test]
fn module_from_file_names_the_file_in_text_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.wat");
    std::fs::write(&path, "(module\n  (func\n    i32.bogus))\n").unwrap();
    let err = Module::from_file(&Engine::default(), &path).unwrap_err();
    assert!(matches!(err, Error::Parse(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("{}:3:5", path.display())), "{text}");

    let good = dir.path().join("good.wat");
    std::fs::write(&good, "(module (func (export \"f\")))").unwrap();
    assert!(Module::from_file(&Engine::default(), &good).is_ok());
}
