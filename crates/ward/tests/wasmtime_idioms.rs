//! Wasmtime-style embedding programs, written the way a Wasmtime user writes them with only the
//! crate name changed (`use ward::*` for `use wasmtime::*`), asserting what they compute.

use ward::*;

#[test]
fn hello_with_a_host_function_using_caller() -> Result<()> {
    struct Log {
        calls: Vec<i32>,
    }
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "hello" (func $hello (param i32)))
             (func (export "run") (call $hello (i32.const 42))))"#,
    )?;
    let mut store = Store::new(&engine, Log { calls: Vec::new() });
    let hello = Func::wrap(&mut store, |mut caller: Caller<'_, Log>, arg: i32| {
        caller.data_mut().calls.push(arg);
    });
    let instance = Instance::new(&mut store, &module, &[hello.into()])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    run.call(&mut store, ())?;
    assert_eq!(store.data().calls, [42]);
    Ok(())
}

#[test]
fn linker_module_links_a_reactor_into_another_module() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let library = Module::new(
        &engine,
        r#"(module
             (global $base (mut i32) (i32.const 0))
             (func (export "_initialize") (global.set $base (i32.const 100)))
             (func (export "add_base") (param i32) (result i32)
               (i32.add (local.get 0) (global.get $base))))"#,
    )?;
    linker.module(&mut store, "lib", &library)?;
    let user = Module::new(
        &engine,
        r#"(module
             (import "lib" "add_base" (func $add (param i32) (result i32)))
             (func (export "run") (result i32) (call $add (i32.const 5))))"#,
    )?;
    linker.module(&mut store, "user", &user)?;
    let run = linker
        .get(&mut store, "user", "run")
        .and_then(Extern::into_func)
        .expect("user::run is defined");
    assert_eq!(run.typed::<(), i32>(&store)?.call(&mut store, ())?, 105);
    Ok(())
}

#[test]
fn linker_module_gives_each_call_of_a_command_a_fresh_instance() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let command = Module::new(
        &engine,
        r#"(module
             (global $count (mut i32) (i32.const 0))
             (func (export "_start"))
             (func (export "bump") (result i32)
               (global.set $count (i32.add (global.get $count) (i32.const 1)))
               (global.get $count)))"#,
    )?;
    linker.module(&mut store, "cmd", &command)?;
    let bump = linker
        .get_func(&mut store, "cmd", "bump")
        .expect("cmd::bump is defined");
    let bump = bump.typed::<(), i32>(&store)?;
    assert_eq!(bump.call(&mut store, ())?, 1);
    assert_eq!(bump.call(&mut store, ())?, 1);
    let start = linker.get_default(&mut store, "cmd")?;
    start.typed::<(), ()>(&store)?.call(&mut store, ())?;
    Ok(())
}

#[test]
fn get_default_without_a_start_is_a_no_op() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let linker = Linker::<()>::new(&engine);
    let func = linker.get_default(&mut store, "nothing")?;
    assert!(func.ty(&store).params().is_empty() && func.ty(&store).results().is_empty());
    func.call(&mut store, &[], &mut [])?;
    Ok(())
}

#[test]
fn instance_pre_instantiates_in_many_stores() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "seed" (func $seed (result i32)))
             (func (export "twice") (result i32) (i32.mul (call $seed) (i32.const 2))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "seed", |caller: Caller<'_, i32>| *caller.data())?;
    let pre = linker.instantiate_pre(&module)?;
    for seed in [3, 8] {
        let mut store = Store::new(&engine, seed);
        let instance = pre.instantiate(&mut store)?;
        let twice = instance.get_typed_func::<(), i32>(&mut store, "twice")?;
        assert_eq!(twice.call(&mut store, ())?, seed * 2);
    }
    Ok(())
}

#[test]
fn instantiate_pre_reports_a_missing_import() {
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (import "env" "f" (func)))"#).unwrap();
    let linker = Linker::<()>::new(&engine);
    let err = linker
        .instantiate_pre(&module)
        .err()
        .expect("env::f is missing");
    assert!(err.to_string().contains("env::f"), "{err}");
}

#[test]
fn unknown_imports_trap_only_when_called() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "missing" (func $missing (result i32)))
             (func (export "safe") (result i32) (i32.const 7))
             (func (export "unsafe") (result i32) (call $missing)))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&module)?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let safe = instance.get_typed_func::<(), i32>(&mut store, "safe")?;
    assert_eq!(safe.call(&mut store, ())?, 7);
    let unsafe_ = instance.get_typed_func::<(), i32>(&mut store, "unsafe")?;
    let err = unsafe_.call(&mut store, ()).unwrap_err();
    assert!(err.to_string().contains("env::missing"), "{err}");
    Ok(())
}

#[test]
fn unknown_imports_as_default_values_return_zero() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "missing" (func $missing (param i32) (result i64)))
             (func (export "run") (result i64) (call $missing (i32.const 1))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.define_unknown_imports_as_default_values(&module)?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<(), i64>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, ())?, 0);
    Ok(())
}

#[test]
fn aliases_define_the_same_item_under_new_names() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("a", "one", || 1i32)?;
    linker.func_wrap("a", "two", || 2i32)?;
    linker.alias("a", "one", "b", "uno")?;
    linker.alias_module("a", "c")?;
    for (module, name, want) in [("b", "uno", 1), ("c", "one", 1), ("c", "two", 2)] {
        let func = linker.get_func(&mut store, module, name).expect("defined");
        assert_eq!(func.typed::<(), i32>(&store)?.call(&mut store, ())?, want);
    }
    Ok(())
}

const MEMORY_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#;

#[test]
fn memory_is_read_and_written_from_the_host() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, MEMORY_WAT)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .expect("memory export");
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
    let store_byte = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store")?;

    memory.data_mut(&mut store)[10] = 0x2a;
    assert_eq!(load.call(&mut store, 10)?, 0x2a);
    store_byte.call(&mut store, (11, 0x17))?;
    assert_eq!(memory.data(&store)[11], 0x17);

    memory.write(&mut store, 100, b"hello")?;
    let mut buffer = [0u8; 5];
    memory.read(&store, 100, &mut buffer)?;
    assert_eq!(&buffer, b"hello");
    assert!(memory.read(&store, 65535, &mut buffer).is_err());

    // SAFETY: the memory has one 64 KiB page and nothing else borrows it while this runs.
    let byte = unsafe { *memory.data_ptr(&store).add(100) };
    assert_eq!(byte, b'h');
    assert_eq!(memory.data_size(&store), 65536);
    Ok(())
}

#[test]
fn data_and_store_mut_borrows_memory_and_host_data_together() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "take" (func $take (param i32 i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "ward")
             (func (export "run") (call $take (i32.const 16) (i32.const 4))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "take",
        |mut caller: Caller<'_, Vec<u8>>, ptr: i32, len: i32| -> Result<()> {
            let memory = caller
                .get_export("memory")
                .and_then(Extern::into_memory)
                .expect("memory export");
            let (bytes, seen) = memory.data_and_store_mut(&mut caller);
            seen.extend_from_slice(&bytes[ptr as usize..][..len as usize]);
            bytes[ptr as usize] = b'W';
            Ok(())
        },
    )?;
    let mut store = Store::new(&engine, Vec::new());
    let instance = linker.instantiate(&mut store, &module)?;
    instance
        .get_typed_func::<(), ()>(&mut store, "run")?
        .call(&mut store, ())?;
    assert_eq!(store.data(), b"ward");
    let memory = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(&memory.data(&store)[16..20], b"Ward");
    Ok(())
}

#[test]
fn host_functions_return_anyhow_results_and_use_question_mark() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "parse" (func $parse (param i32) (result i32)))
             (import "host" "open" (func $open))
             (func (export "parse") (param i32) (result i32) (call $parse (local.get 0)))
             (func (export "open") (call $open)))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "parse", |x: i32| -> anyhow::Result<i32> {
        let parsed: i32 = format!("{x}0").parse()?;
        if parsed > 1000 {
            anyhow::bail!("{parsed} is too large");
        }
        Ok(parsed)
    })?;
    linker.func_wrap("host", "open", || -> Result<()> {
        std::fs::read("/this/path/does/not/exist")?;
        Ok(())
    })?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let parse = instance.get_typed_func::<i32, i32>(&mut store, "parse")?;
    assert_eq!(parse.call(&mut store, 7)?, 70);
    let err = parse.call(&mut store, 700).unwrap_err();
    assert_eq!(err.to_string(), "7000 is too large");

    let open = instance.get_typed_func::<(), ()>(&mut store, "open")?;
    let err = open.call(&mut store, ()).unwrap_err();
    let io = err
        .downcast_ref::<std::io::Error>()
        .expect("the io::Error comes back unchanged");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    let io: std::io::Error = err.downcast()?;
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    Ok(())
}

#[test]
fn bail_format_err_and_ensure_make_ward_errors() {
    fn check(n: i32) -> Result<i32> {
        ensure!(n >= 0, "negative: {n}");
        if n > 10 {
            bail!("too big: {}", n);
        }
        if n == 5 {
            return Err(format_err!("five"));
        }
        Ok(n)
    }
    assert_eq!(check(3).unwrap(), 3);
    assert_eq!(check(-1).unwrap_err().to_string(), "negative: -1");
    assert_eq!(check(11).unwrap_err().to_string(), "too big: 11");
    assert_eq!(check(5).unwrap_err().to_string(), "five");

    fn in_anyhow() -> anyhow::Result<()> {
        bail!("from ward's bail in an anyhow function");
    }
    assert!(in_anyhow().unwrap_err().to_string().contains("ward's bail"));
}

#[test]
fn a_trap_is_found_by_downcasting_the_error() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (func (export "boom") unreachable))"#)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let boom = instance.get_typed_func::<(), ()>(&mut store, "boom")?;
    let err = boom.call(&mut store, ()).unwrap_err();
    assert!(err.is::<Trap>());
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    assert_eq!(err.downcast_ref::<TrapKind>(), Some(&TrapKind::Unreachable));
    assert!(err.downcast_ref::<WasmBacktrace>().is_some());
    assert!(
        err.to_string().starts_with("wasm trap: unreachable"),
        "{err}"
    );
    let trap = err.downcast::<Trap>()?;
    assert_eq!(trap, Trap::UnreachableCodeReached);
    assert_eq!(trap.kind(), TrapKind::Unreachable);
    let not_a_trap = format_err!("plain").downcast::<Trap>().unwrap_err();
    assert_eq!(not_a_trap.to_string(), "plain");
    Ok(())
}

#[test]
fn a_trap_passes_through_a_host_function_that_returns_anyhow() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "reenter" (func $reenter))
             (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
             (func (export "run") (call $reenter)))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "reenter",
        |mut caller: Caller<'_, ()>| -> anyhow::Result<()> {
            let div = caller
                .get_export("div")
                .and_then(Extern::into_func)
                .expect("div export");
            div.typed::<i32, i32>(&caller)?.call(&mut caller, 0)?;
            Ok(())
        },
    )?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let err = run.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::IntegerDivisionByZero)
    );
    assert!(matches!(err, Error::Trap(_)), "{err:?}");
    Ok(())
}

#[test]
fn main_returning_anyhow_result_takes_ward_errors() {
    fn main_like() -> anyhow::Result<()> {
        let engine = Engine::default();
        let module = Module::new(&engine, "(module (func (export \"f\") unreachable))")?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        instance
            .get_typed_func::<(), ()>(&mut store, "f")?
            .call(&mut store, ())?;
        Ok(())
    }
    let err = main_like().unwrap_err();
    let ward_err = err.downcast_ref::<Error>().expect("a ward error inside");
    assert_eq!(
        ward_err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
}

#[test]
fn gcd_with_engine_new_and_question_mark() -> Result<()> {
    let config = Config::new();
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
             (func $gcd (export "gcd") (param i32 i32) (result i32)
               (local i32)
               block
                 block
                   local.get 0
                   br_if 0
                   local.get 1
                   local.set 2
                   br 1
                 end
                 loop
                   local.get 1
                   local.get 0
                   local.tee 2
                   i32.rem_u
                   local.set 0
                   local.get 2
                   local.set 1
                   local.get 0
                   br_if 0
                 end
               end
               local.get 2))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let gcd = instance.get_typed_func::<(i32, i32), i32>(&mut store, "gcd")?;
    assert_eq!(gcd.call(&mut store, (6, 27))?, 3);
    Ok(())
}

#[test]
fn default_store_and_engine() -> Result<()> {
    let mut store = Store::<()>::default();
    let module = Module::new(
        store.engine(),
        r#"(module (func (export "one") (result i32) i32.const 1))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let one = instance.get_typed_func::<(), i32>(&mut store, "one")?;
    assert_eq!(one.call(&mut store, ())?, 1);
    let _engine = Engine::default();
    Ok(())
}

#[test]
fn multi_value_through_typed_functions_and_host_closures() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "" "swap" (func $swap (param i64 i32) (result i32 i64)))
             (func (export "g") (param i32 i64) (result i32 i64)
               (call $swap (local.get 1) (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let swap = Func::wrap(&mut store, |a: i64, b: i32| (b + 1, a + 1));
    let instance = Instance::new(&mut store, &module, &[swap.into()])?;
    let g = instance.get_typed_func::<(i32, i64), (i32, i64)>(&mut store, "g")?;
    assert_eq!(g.call(&mut store, (1, 3))?, (2, 4));
    Ok(())
}

#[test]
fn typed_functions_take_sixteen_parameters_and_return_sixteen_results() -> Result<()> {
    let engine = Engine::default();
    let params = "i32 ".repeat(16);
    let gets: String = (0..16).map(|i| format!("(local.get {i}) ")).collect();
    let module = Module::new(
        &engine,
        format!(
            r#"(module
                 (import "" "sum" (func $sum (param {params}) (result i32)))
                 (func (export "sum") (param {params}) (result i32) (call $sum {gets}))
                 (func (export "echo") (param {params}) (result {params}) {gets}))"#
        ),
    )?;
    let mut store = Store::new(&engine, ());
    let sum = Func::wrap(
        &mut store,
        |a: i32,
         b: i32,
         c: i32,
         d: i32,
         e: i32,
         f: i32,
         g: i32,
         h: i32,
         i: i32,
         j: i32,
         k: i32,
         l: i32,
         m: i32,
         n: i32,
         o: i32,
         p: i32| { a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p },
    );
    let instance = Instance::new(&mut store, &module, &[sum.into()])?;
    type Sixteen = (
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
    );
    let args: Sixteen = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    let sum = instance.get_typed_func::<Sixteen, i32>(&mut store, "sum")?;
    assert_eq!(sum.call(&mut store, args)?, 136);
    let echo = instance.get_typed_func::<Sixteen, Sixteen>(&mut store, "echo")?;
    let echoed = echo.call(&mut store, args)?;
    assert_eq!((echoed.0, echoed.7, echoed.15), (1, 8, 16));
    Ok(())
}

#[test]
fn v128_in_typed_functions() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (func (export "add") (param v128 v128) (result v128)
               (i32x4.add (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let add = instance.get_typed_func::<(V128, V128), V128>(&mut store, "add")?;
    let lanes = |l: [u32; 4]| {
        V128::from(
            l.iter()
                .rev()
                .fold(0u128, |acc, x| (acc << 32) | u128::from(*x)),
        )
    };
    let sum = add.call(&mut store, (lanes([1, 2, 3, 4]), lanes([10, 20, 30, 40])))?;
    assert_eq!(sum, lanes([11, 22, 33, 44]));
    assert_eq!(sum.as_u128() & 0xffff_ffff, 11);
    Ok(())
}

const FIB_WAT: &str = r#"(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2))))))))"#;

#[test]
fn fuel_runs_out_with_an_out_of_fuel_trap() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    store.set_fuel(10_000)?;
    let module = Module::new(&engine, FIB_WAT)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
    let mut computed = Vec::new();
    for n in 1.. {
        let fuel_before = store.get_fuel()?;
        match fib.call(&mut store, n) {
            Ok(result) => {
                assert!(store.get_fuel()? < fuel_before);
                computed.push(result);
            }
            Err(err) => {
                assert_eq!(err.downcast::<Trap>()?, Trap::OutOfFuel);
                break;
            }
        }
    }
    assert_eq!(&computed[..10], [1, 1, 2, 3, 5, 8, 13, 21, 34, 55]);
    assert!(
        computed.len() < 25,
        "10,000 fuel cannot compute fib({})",
        computed.len()
    );
    Ok(())
}

const SPIN_WAT: &str = r#"(module (func (export "run") (loop $l (br $l))))"#;

#[test]
fn epoch_deadline_traps_a_runaway_loop_interrupted_from_another_thread() -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(1);
    store.epoch_deadline_trap();
    let module = Module::new(&engine, SPIN_WAT)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;

    let engine_clone = engine.clone();
    let ticker = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        engine_clone.increment_epoch();
    });
    let trap = run.call(&mut store, ()).unwrap_err();
    ticker.join().expect("the ticker thread does not panic");
    assert_eq!(trap.downcast_ref::<Trap>(), Some(&Trap::Interrupt));
    Ok(())
}

#[test]
fn epoch_deadline_callback_extends_the_deadline_then_stops() -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, 0u32);
    store.set_epoch_deadline(0);
    store.epoch_deadline_callback(|store| {
        *store.data_mut() += 1;
        if *store.data() < 3 {
            Ok(UpdateDeadline::Continue(0))
        } else {
            bail!("gave up after {} deadlines", store.data())
        }
    });
    let module = Module::new(&engine, SPIN_WAT)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let err = run.call(&mut store, ()).unwrap_err();
    assert_eq!(err.to_string(), "gave up after 3 deadlines");
    assert_eq!(*store.data(), 3);
    Ok(())
}

#[test]
fn externrefs_travel_through_wasm_and_back() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (table $table (export "table") 10 externref)
             (global $global (export "global") (mut externref) (ref.null extern))
             (func (export "func") (param externref) (result externref)
               (local.get 0)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let externref = ExternRef::new(&mut store, "Hello, World!")?;
    let data = externref
        .data(&store)?
        .expect("host data")
        .downcast_ref::<&'static str>()
        .expect("a &str");
    assert_eq!(*data, "Hello, World!");

    let table = instance.get_table(&mut store, "table").expect("table");
    table.set(&mut store, 3, Val::ExternRef(Some(externref)))?;
    let Some(Val::ExternRef(Some(from_table))) = table.get(&mut store, 3) else {
        panic!("table slot 3 holds the externref");
    };
    assert_eq!(from_table, externref);

    let global = instance.get_global(&mut store, "global").expect("global");
    global.set(&mut store, Val::ExternRef(Some(externref)))?;
    assert!(matches!(global.get(&mut store), Val::ExternRef(Some(r)) if r == externref));

    let func =
        instance.get_typed_func::<Option<ExternRef>, Option<ExternRef>>(&mut store, "func")?;
    let back = func.call(&mut store, Some(externref))?.expect("not null");
    let text = back
        .data(&store)?
        .and_then(|d| d.downcast_ref::<&'static str>());
    assert_eq!(text, Some(&"Hello, World!"));
    Ok(())
}

#[test]
fn externref_example_in_wasmtime_shape() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (table $table (export "table") 10 externref)
             (global $global (export "global") (mut externref) (ref.null extern))
             (func (export "func") (param externref) (result externref) (local.get 0)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let externref = ExternRef::new(&mut store, "Hello, World!")?;

    let table = instance.get_table(&mut store, "table").unwrap();
    table.set(&mut store, 3, Some(externref).into())?;
    let elem = *table
        .get(&mut store, 3)
        .unwrap()
        .unwrap_externref()
        .unwrap();
    assert_eq!(elem, externref);

    let global = instance.get_global(&mut store, "global").unwrap();
    global.set(&mut store, Some(externref).into())?;
    let global_val = *global.get(&mut store).unwrap_externref().unwrap();
    assert_eq!(global_val, externref);

    let func = instance.get_typed_func::<Option<Rooted<ExternRef>>, Option<Rooted<ExternRef>>>(
        &mut store, "func",
    )?;
    let ret = func.call(&mut store, Some(externref))?;
    assert_eq!(ret, Some(externref));
    Ok(())
}

#[test]
fn anyref_example_in_wasmtime_shape() -> Result<()> {
    let mut config = Config::new();
    config.wasm_reference_types(true);
    config.wasm_function_references(true);
    config.wasm_gc(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
             (table $table (export "table") 10 anyref)
             (global $global (export "global") (mut anyref) (ref.null any))
             (func (export "take_anyref") (param anyref) (result anyref) (local.get 0)))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let i31ref = AnyRef::from_i31(&mut store, I31::wrapping_u32(1234));

    let table = instance.get_table(&mut store, "table").unwrap();
    table.set(&mut store, 3, i31ref.into())?;
    let elem = table
        .get(&mut store, 3)
        .unwrap()
        .unwrap_any()
        .cloned()
        .unwrap();
    assert!(elem.is_i31(&store)?);
    assert_eq!(elem.unwrap_i31(&store)?.get_u32(), 1234);

    let global = instance.get_global(&mut store, "global").unwrap();
    global.set(&mut store, i31ref.into())?;
    let global_val = global.get(&mut store).unwrap_anyref().cloned().unwrap();
    assert_eq!(global_val.unwrap_i31(&store)?.get_i32(), 1234);

    let func = instance.get_typed_func::<Option<Rooted<AnyRef>>, Option<Rooted<AnyRef>>>(
        &mut store,
        "take_anyref",
    )?;
    let ret = func.call(&mut store, Some(i31ref))?.unwrap();
    assert_eq!(ret.as_i31(&store)?, Some(I31::wrapping_u32(1234)));
    store.gc(None)?;
    Ok(())
}

#[test]
fn gc_structs_survive_explicit_collections_while_the_host_holds_them() -> Result<()> {
    let mut config = Config::new();
    config.wasm_gc(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
             (type $point (struct (field i32) (field i32)))
             (func (export "point") (param i32 i32) (result anyref)
               (struct.new $point (local.get 0) (local.get 1)))
             (func (export "sum") (param anyref) (result i32)
               (local $p (ref $point))
               (local.set $p (ref.cast (ref $point) (local.get 0)))
               (i32.add (struct.get $point 0 (local.get $p)) (struct.get $point 1 (local.get $p)))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let point =
        instance.get_typed_func::<(i32, i32), Option<Rooted<AnyRef>>>(&mut store, "point")?;
    let sum = instance.get_typed_func::<Option<Rooted<AnyRef>>, i32>(&mut store, "sum")?;
    let p = point.call(&mut store, (3, 4))?;
    store.gc(None)?;
    assert!(p.unwrap().is_struct(&store)?);
    assert_eq!(sum.call(&mut store, p)?, 7);
    Ok(())
}

#[test]
fn multi_memory_example_in_wasmtime_shape() -> Result<()> {
    let mut config = Config::new();
    config.wasm_multi_memory(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
             (memory (export "memory0") 2 3)
             (memory (export "memory1") 2 4)
             (data (memory 0) (i32.const 0x1000) "\01\02\03\04")
             (data (memory 1) (i32.const 0x1000) "\04\03\02\01")
             (func (export "size0") (result i32) (memory.size 0))
             (func (export "load0") (param i32) (result i32) (i32.load8_s 0 (local.get 0)))
             (func (export "store0") (param i32 i32) (i32.store8 0 (local.get 0) (local.get 1)))
             (func (export "size1") (result i32) (memory.size 1))
             (func (export "load1") (param i32) (result i32) (i32.load8_s 1 (local.get 0)))
             (func (export "store1") (param i32 i32) (i32.store8 1 (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let memory0 = instance.get_memory(&mut store, "memory0").unwrap();
    let size0 = instance.get_typed_func::<(), i32>(&mut store, "size0")?;
    let load0 = instance.get_typed_func::<i32, i32>(&mut store, "load0")?;
    let store0 = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store0")?;
    let memory1 = instance.get_memory(&mut store, "memory1").unwrap();
    let size1 = instance.get_typed_func::<(), i32>(&mut store, "size1")?;
    let load1 = instance.get_typed_func::<i32, i32>(&mut store, "load1")?;
    let store1 = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store1")?;

    assert_eq!(memory0.size(&store), 2);
    assert_eq!(memory0.data_size(&store), 0x20000);
    assert_eq!(memory0.data(&store)[0x1000..0x1004], [1, 2, 3, 4]);
    assert_eq!(memory1.data(&store)[0x1000..0x1004], [4, 3, 2, 1]);
    assert_eq!(load0.call(&mut store, 0x1002)?, 3);
    assert_eq!(load1.call(&mut store, 0x1002)?, 2);
    store0.call(&mut store, (0x1003, 5))?;
    store1.call(&mut store, (0x1003, 6))?;
    assert_eq!(memory0.data(&store)[0x1003], 5);
    assert_eq!(memory1.data(&store)[0x1003], 6);
    assert!(load0.call(&mut store, 0x20000).is_err());
    assert_eq!(memory0.grow(&mut store, 1)?, 2);
    assert_eq!(size0.call(&mut store, ())?, 3);
    assert!(memory0.grow(&mut store, 1).is_err());
    assert_eq!(memory1.grow(&mut store, 2)?, 2);
    assert_eq!(size1.call(&mut store, ())?, 4);
    Ok(())
}

#[test]
fn threads_example_in_wasmtime_shape() -> Result<()> {
    const N_THREADS: i32 = 10;
    const N_REPS: i32 = 3;
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (func $hello (import "global" "hello") (param i32))
             (global $id (import "global" "id") i32)
             (func (export "run") (call $hello (global.get $id))))"#,
    )?;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..N_THREADS)
        .map(|id| {
            let engine = engine.clone();
            let module = module.clone();
            let seen = seen.clone();
            std::thread::spawn(move || -> Result<()> {
                for _ in 0..N_REPS {
                    let mut store = Store::new(&engine, ());
                    let seen = seen.clone();
                    let hello = Func::wrap(&mut store, move |id: i32| {
                        seen.lock().unwrap().push(id);
                    });
                    let ty = GlobalType::new(ValType::I32, Mutability::Const);
                    let id = Global::new(&mut store, ty, Val::I32(id))?;
                    let instance = Instance::new(&mut store, &module, &[hello.into(), id.into()])?;
                    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
                    run.call(&mut store, ())?;
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap()?;
    }
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_unstable();
    let expected: Vec<i32> = (0..N_THREADS)
        .flat_map(|id| std::iter::repeat_n(id, N_REPS as usize))
        .collect();
    assert_eq!(seen, expected);
    Ok(())
}

#[test]
fn interrupt_example_in_wasmtime_shape() -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(1);
    let module = Module::new(
        &engine,
        r#"(module (func (export "run") (loop $l (br $l))))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let engine_clone = engine.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        engine_clone.increment_epoch();
    });
    let trap = run.call(&mut store, ()).unwrap_err();
    assert_eq!(trap.downcast::<Trap>()?, Trap::Interrupt);
    Ok(())
}

#[test]
fn coredump_on_trap_in_wasmtime_shape() -> Result<()> {
    let mut config = Config::new();
    config.coredump_on_trap(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module (memory (export "memory") 1)
             (func $inner (unreachable))
             (func (export "run") (call $inner)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let err = run.call(&mut store, ()).unwrap_err();
    let dump = err.downcast_ref::<WasmCoreDump>().unwrap();
    assert_eq!(dump.frames().len(), 2);
    assert_eq!(dump.frames()[0].func_name(), Some("inner"));
    let bytes = dump.serialize(&mut store, "run.wasm");
    assert_eq!(&bytes[..4], b"\0asm");
    let imports: Vec<(&str, &str)> = module.imports().map(|i| (i.module(), i.name())).collect();
    assert!(imports.is_empty(), "{imports:?}");
    let exports: Vec<&str> = module.exports().map(|e| e.name()).collect();
    assert_eq!(exports, ["memory", "run"]);
    Ok(())
}
