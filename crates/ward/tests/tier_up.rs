//! Tier-up (`Strategy::Auto`): modules start interpreted, hot functions are compiled in the
//! background and later calls run their machine code, with the same results and the same fuel;
//! cold functions are never compiled. Needs ward's `cranelift` feature.
#![cfg(feature = "cranelift")]

use std::time::{Duration, Instant};

use ward::{Config, Engine, Instance, Module, Store, Strategy, TrapKind};

const PROGRAM: &str = r#"(module
  (memory 1)
  (func $sum (export "sum") (param $n i32) (result i64) (local $acc i64)
    block $done
      loop $again
        local.get $n i32.eqz br_if $done
        local.get $acc local.get $n i64.extend_i32_u i64.add local.set $acc
        local.get $n i32.const 1 i32.sub local.set $n
        br $again
      end
    end
    local.get $acc)
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add
    end)
  (func (export "cold") (param i32) (result i32) local.get 0 i32.const 7 i32.mul)
  (func (export "div") (param i32) (result i32) i32.const 100 local.get 0 i32.div_u))"#;

fn engine(strategy: Strategy, fuel: bool) -> Engine {
    let mut config = Config::new();
    config.strategy(strategy).consume_fuel(fuel);
    Engine::new(&config).unwrap()
}

fn instantiate(engine: &Engine) -> (Module, Store<()>, Instance) {
    let module = Module::new(engine, PROGRAM).unwrap();
    let mut store = Store::new(engine, ());
    if engine_has_fuel(engine) {
        store.set_fuel(u64::MAX).unwrap();
    }
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (module, store, instance)
}

fn engine_has_fuel(engine: &Engine) -> bool {
    Store::new(engine, ()).get_fuel().is_ok()
}

/// Waits until `module` has `n` compiled functions (the compile thread works in the background).
fn wait_for_compiled(module: &Module, n: usize) {
    let started = Instant::now();
    while module.compiled_function_count() < n {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} of {n} functions compiled after a minute",
            module.compiled_function_count()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn hot_functions_are_compiled_in_the_background_and_cold_ones_never() {
    let auto = engine(Strategy::Auto, false);
    let (module, mut store, instance) = instantiate(&auto);
    assert_eq!(
        module.compiled_function_count(),
        0,
        "everything starts interpreted"
    );
    let (_, mut reference, expected) = instantiate(&engine(Strategy::Interpreter, false));
    let sum = instance.get_typed_func::<i32, i64>(&store, "sum").unwrap();
    let fib = instance.get_typed_func::<i32, i32>(&store, "fib").unwrap();
    let cold = instance.get_typed_func::<i32, i32>(&store, "cold").unwrap();
    let sum_ref = expected
        .get_typed_func::<i32, i64>(&reference, "sum")
        .unwrap();
    let fib_ref = expected
        .get_typed_func::<i32, i32>(&reference, "fib")
        .unwrap();
    assert_eq!(cold.call(&mut store, 6).unwrap(), 42);
    // One call of `sum` with 5,000 iterations makes it hot; `fib` gets hot by its entries.
    assert_eq!(sum.call(&mut store, 5000).unwrap(), 12_502_500);
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
    wait_for_compiled(&module, 2);
    for n in [0, 1, 7, 5000, 100_000] {
        assert_eq!(
            sum.call(&mut store, n).unwrap(),
            sum_ref.call(&mut reference, n).unwrap()
        );
    }
    for n in [0, 1, 2, 10, 24] {
        assert_eq!(
            fib.call(&mut store, n).unwrap(),
            fib_ref.call(&mut reference, n).unwrap()
        );
    }
    assert_eq!(
        module.compiled_function_count(),
        2,
        "`cold` and `div` stay interpreted"
    );
    let (compiled, interpreted) = auto.tier_function_counts();
    assert_eq!((compiled, interpreted), (2, 2));
}

#[test]
fn traps_in_tiered_up_code_keep_their_kind_and_backtrace() {
    let (module, mut store, instance) = instantiate(&engine(Strategy::Auto, false));
    let div = instance.get_typed_func::<i32, i32>(&store, "div").unwrap();
    let before = div.call(&mut store, 0).unwrap_err();
    for n in 1..2000 {
        assert_eq!(div.call(&mut store, n).unwrap(), 100 / n);
    }
    wait_for_compiled(&module, 1);
    let after = div.call(&mut store, 0).unwrap_err();
    let (before, after) = (before.as_trap().unwrap(), after.as_trap().unwrap());
    assert_eq!(before.kind(), TrapKind::IntegerDivisionByZero);
    assert_eq!(after.kind(), before.kind());
    let frames = |t: &ward::Trap| {
        t.backtrace()
            .frames
            .iter()
            .map(|f| (f.func_index, f.module_offset))
            .collect::<Vec<_>>()
    };
    assert_eq!(frames(after), frames(before));
}

#[test]
fn fuel_is_the_same_before_and_after_tier_up() {
    let (module, mut store, instance) = instantiate(&engine(Strategy::Auto, true));
    let (_, mut reference, expected) = instantiate(&engine(Strategy::Interpreter, true));
    let sum = instance.get_typed_func::<i32, i64>(&store, "sum").unwrap();
    let sum_ref = expected
        .get_typed_func::<i32, i64>(&reference, "sum")
        .unwrap();
    let spent = |n: i32, store: &mut Store<()>, f: &ward::TypedFunc<i32, i64>| {
        store.set_fuel(1 << 40).unwrap();
        let r = f.call(&mut *store, n).unwrap();
        (r, (1u64 << 40) - store.get_fuel().unwrap())
    };
    for n in [3, 5000] {
        assert_eq!(
            spent(n, &mut store, &sum),
            spent(n, &mut reference, &sum_ref)
        );
    }
    wait_for_compiled(&module, 1);
    for n in [0, 3, 5000, 77_777] {
        assert_eq!(
            spent(n, &mut store, &sum),
            spent(n, &mut reference, &sum_ref)
        );
    }
    // Running out of fuel in compiled code: the same trap point and fuel left.
    for budget in [0, 5, 100, 1001] {
        store.set_fuel(budget).unwrap();
        reference.set_fuel(budget).unwrap();
        let a = sum.call(&mut store, 1000).unwrap_err();
        let b = sum_ref.call(&mut reference, 1000).unwrap_err();
        assert_eq!(a.as_trap().unwrap().kind(), TrapKind::OutOfFuel);
        assert_eq!(a.to_string(), b.to_string());
        assert_eq!(store.get_fuel().unwrap(), reference.get_fuel().unwrap());
    }
}

#[test]
fn dropping_the_module_and_engine_while_compiling_is_harmless() {
    for _ in 0..20 {
        let auto = engine(Strategy::Auto, false);
        let (module, mut store, instance) = instantiate(&auto);
        let sum = instance.get_typed_func::<i32, i64>(&store, "sum").unwrap();
        assert_eq!(sum.call(&mut store, 3000).unwrap(), 4_501_500);
        drop((module, store, instance, sum, auto));
    }
}

/// A loop that runs in one call until the host says stop: `go_on(i)` after each iteration `i`,
/// then `extra` more iterations, then a trap if `trap` is set. `operand` runs the same loop
/// entered with a value on the operand stack (which cannot move to machine code mid-call).
const ONE_LONG_CALL: &str = r#"(module
  (import "host" "go_on" (func $go_on (param i64) (result i32)))
  (memory (export "memory") 1)
  (global $g (export "g") (mut i64) (i64.const 0))
  (func $run (export "run") (param $extra i32) (param $trap i32) (result i64)
    (local $i i64) (local $acc i64) (local $f f64)
    block $done
      loop $again
        local.get $acc i64.const 31 i64.mul local.get $i i64.add local.set $acc
        local.get $i i64.const 1 i64.add local.set $i
        local.get $f f64.const 0.5 f64.add local.set $f
        i32.const 8 local.get $acc i64.store
        global.get $g i64.const 3 i64.add global.set $g
        local.get $i call $go_on
        br_if $again
        local.get $extra i32.eqz br_if $done
        local.get $extra i32.const 1 i32.sub local.set $extra
        br $again
      end
    end
    local.get $trap if unreachable end
    local.get $acc local.get $f i64.trunc_f64_s i64.add)
  (func (export "operand") (param $extra i32) (result i64) (local $i i64)
    i64.const 1000
    loop $again (result i64)
      local.get $i i64.const 1 i64.add local.set $i
      local.get $i call $go_on
      br_if $again
      local.get $extra i32.eqz if (result i64) local.get $i
      else local.get $extra i32.const 1 i32.sub local.set $extra br $again end
    end
    i64.add))"#;

/// A trap's backtrace: function index and module offset of each frame.
type Frames = Vec<(u32, Option<usize>)>;

/// How one long call went: its result (or trap text and backtrace), the iteration the host first
/// said stop at, the fuel it spent, the memory word and global it wrote.
#[derive(Debug, PartialEq)]
struct LongCall {
    result: Result<i64, (String, Frames)>,
    iterations: i64,
    fuel: u64,
    memory: u64,
    global: i64,
}

/// Fuel a store of [`fueled`] starts with.
const FUEL: u64 = 1 << 50;

/// `wat` compiled by an engine with `strategy` and fuel, a store holding `data` with [`FUEL`],
/// and a linker.
fn fueled<T: 'static>(
    strategy: Strategy,
    wat: &str,
    data: T,
) -> (Module, Store<T>, ward::Linker<T>) {
    let engine = engine(strategy, true);
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, data);
    store.set_fuel(FUEL).unwrap();
    let linker = ward::Linker::new(&engine);
    (module, store, linker)
}

/// Runs `export` of [`ONE_LONG_CALL`] once. The host goes on until `stop_at` iterations, or
/// (with `stop_at` 0) until the module has code that enters a loop, then `extra` more.
fn long_call(strategy: Strategy, export: &str, stop_at: i64, extra: i32, trap: bool) -> LongCall {
    let (module, mut store, mut linker) = fueled(strategy, ONE_LONG_CALL, 0i64);
    let observed = module.clone();
    linker
        .func_wrap(
            "host",
            "go_on",
            move |mut caller: ward::Caller<'_, i64>, i: i64| -> i32 {
                let go_on = if stop_at > 0 {
                    i < stop_at
                } else {
                    observed.compiled_loop_entry_count() == 0 && i < 50_000_000
                };
                if !go_on && *caller.data() == 0 {
                    *caller.data_mut() = i;
                }
                go_on as i32
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let result = if export == "run" {
        let run = instance
            .get_typed_func::<(i32, i32), i64>(&store, "run")
            .unwrap();
        run.call(&mut store, (extra, trap as i32))
    } else {
        let run = instance.get_typed_func::<i32, i64>(&store, export).unwrap();
        run.call(&mut store, extra)
    };
    let result = result.map_err(|e| {
        let trap = e.as_trap().expect("a trap");
        let frames = trap
            .backtrace()
            .frames
            .iter()
            .map(|f| (f.func_index, f.module_offset))
            .collect();
        (e.to_string(), frames)
    });
    let memory = instance.get_memory(&store, "memory").unwrap();
    let word = u64::from_le_bytes(memory.data(&store)[8..16].try_into().unwrap());
    let global = instance
        .get_global(&store, "g")
        .map_or(0, |g| g.get(&mut store).i64().unwrap());
    LongCall {
        result,
        iterations: *store.data(),
        fuel: FUEL - store.get_fuel().unwrap(),
        memory: word,
        global,
    }
}

#[test]
fn a_long_running_call_moves_to_machine_code_at_a_loop_header() {
    for trap in [false, true] {
        let auto = long_call(Strategy::Auto, "run", 0, 1000, trap);
        assert!(
            auto.iterations < 50_000_000,
            "no code to enter the loop was compiled"
        );
        // The interpreter, stopped by its host at the same iteration.
        let reference = long_call(Strategy::Interpreter, "run", auto.iterations, 1000, trap);
        assert_eq!(auto, reference);
        assert_eq!(auto.result.is_err(), trap);
    }
}

#[test]
fn a_loop_entered_with_operands_stays_interpreted_and_agrees() {
    let auto = long_call(Strategy::Auto, "operand", 20_000, 100, false);
    let reference = long_call(Strategy::Interpreter, "operand", 20_000, 100, false);
    assert_eq!(auto, reference);
    assert_eq!(auto.result, Ok(1000 + 20_100));
}

/// A recursive function with two loops the calls run in (odd depths one, even depths the other)
/// and a loop entered with an operand on the stack. `nest(depth)` calls itself in its first
/// iteration, so every call but the innermost waits in a loop of its own while the innermost
/// runs until the host says stop; then each outer call goes on for `OUTER` iterations.
const NESTED_LOOPS: &str = r#"(module
  (import "host" "go_on" (func $go_on (param i32 i64) (result i32)))
  (global $g (export "g") (mut i64) (i64.const 0))
  (func $nest (export "nest") (param $depth i32) (result i64)
    (local $i i64) (local $acc i64)
    i64.const 7
    loop $with_operand (param i64) (result i64)
      i64.const 1 i64.add
    end
    local.set $acc
    local.get $depth i32.const 1 i32.and
    if
      loop $odd
        (local.set $acc (call $step (local.get $depth) (local.get $i) (local.get $acc) (i64.const 3)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br_if $odd (call $go_on (local.get $depth) (local.get $i)))
      end
    else
      loop $even
        (local.set $acc (call $step (local.get $depth) (local.get $i) (local.get $acc) (i64.const 5)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br_if $even (call $go_on (local.get $depth) (local.get $i)))
      end
    end
    local.get $acc)
  ;; One iteration of a loop of `nest`: the first calls `nest` one level deeper.
  (func $step (param $depth i32) (param $i i64) (param $acc i64) (param $k i64) (result i64)
    local.get $i i64.eqz local.get $depth i32.const 0 i32.gt_s i32.and
    if
      local.get $depth i32.const 1 i32.sub call $nest
      local.get $acc i64.add local.set $acc
    end
    global.get $g local.get $k i64.add global.set $g
    local.get $acc local.get $k i64.mul local.get $i i64.add))"#;

/// Iterations of each outer call of [`NESTED_LOOPS`] after its inner call returned.
const OUTER: i64 = 3000;

/// How `nest(4)` of [`NESTED_LOOPS`] went.
#[derive(Debug, PartialEq)]
struct Nested {
    result: i64,
    /// The iteration the innermost call stopped at.
    stopped_at: i64,
    /// The loops compiled code entered its function at when the innermost call stopped.
    loops_then: usize,
    fuel: u64,
    global: i64,
}

/// Runs `nest(4)` of [`NESTED_LOOPS`]; the innermost call stops at `stop_at` iterations, or (with
/// `stop_at` 0) once the module has code that enters a loop.
fn nested_calls(strategy: Strategy, stop_at: i64) -> Nested {
    let (module, mut store, mut linker) = fueled(strategy, NESTED_LOOPS, (0i64, 0usize));
    let observed = module.clone();
    linker
        .func_wrap(
            "host",
            "go_on",
            move |mut caller: ward::Caller<'_, (i64, usize)>, depth: i32, i: i64| -> i32 {
                if depth > 0 {
                    return (i < OUTER) as i32;
                }
                let loops = observed.compiled_loop_entry_count();
                let go_on = if stop_at > 0 {
                    i < stop_at
                } else {
                    loops == 0 && i < 50_000_000
                };
                if !go_on {
                    *caller.data_mut() = (i, loops);
                }
                go_on as i32
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let nest = instance.get_typed_func::<i32, i64>(&store, "nest").unwrap();
    let result = nest.call(&mut store, 4).unwrap();
    let global = instance.get_global(&store, "g").unwrap();
    let global = global.get(&mut store).i64().unwrap();
    let (stopped_at, loops_then) = *store.data();
    Nested {
        result,
        stopped_at,
        loops_then,
        fuel: FUEL - store.get_fuel().unwrap(),
        global,
    }
}

#[test]
fn one_compilation_enters_every_loop_a_running_call_can_be_in() {
    let auto = nested_calls(Strategy::Auto, 0);
    assert!(auto.stopped_at < 50_000_000, "no code to enter the loops");
    // When the innermost call's loop got its code, the code entered the other loop as well
    // (where the outer calls wait, which never asked), but not the one entered with an operand.
    assert_eq!(auto.loops_then, 2);
    let reference = nested_calls(Strategy::Interpreter, auto.stopped_at);
    assert_eq!(
        Nested {
            loops_then: 2,
            ..reference
        },
        auto
    );
    assert_eq!(reference.loops_then, 0);
}
