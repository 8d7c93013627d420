//! Memory of many concurrent async calls: N calls (each in its own store) all pending in an async
//! host function at once, under ward (no fibers: a pending call is its paused Wasm stack) and under
//! Wasmtime (a fiber with its default async stack per call). Prints the process's resident memory
//! with the instances made but idle, and with every call pending, per engine, in child processes
//! so that the two do not share an allocator's state.
//!
//!   cargo run --release --bin async_memory            # both engines, 10,000 calls
//!   cargo run --release --bin async_memory -- ward 10000

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const GUEST: &str = r#"
(module
  (import "host" "wait" (func $wait (param i32) (result i32)))
  (memory 1)
  (func $deep (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (call $wait (i32.const 1)))
      (else (i32.add (call $deep (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
  (func (export "run") (param i32) (result i32) (call $deep (local.get 0))))
"#;

/// Wasm call depth below the host call: a little real stack use per call.
const DEPTH: i32 = 20;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let calls: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    match args.get(1).map(String::as_str) {
        Some("ward") => ward_child(calls),
        Some("wasmtime") => wasmtime_child(calls),
        _ => {
            for engine in ["ward", "wasmtime"] {
                let out = Command::new(&args[0])
                    .args([engine, &calls.to_string()])
                    .output()
                    .expect("child runs");
                print!("{}", String::from_utf8_lossy(&out.stdout));
                eprint!("{}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
}

fn report(engine: &str, calls: usize, idle: u64, pending: u64) {
    println!(
        "{engine:>8}: {calls} calls pending at once: RSS idle {idle} KiB, pending {pending} KiB, \
         {:.1} KiB per pending call",
        (pending.saturating_sub(idle)) as f64 / calls as f64
    );
}

fn ward_child(calls: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut config = ward::Config::new();
        config.async_support(true);
        let engine = ward::Engine::new(&config).unwrap();
        let module = ward::Module::new(&engine, GUEST).unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(calls + 1));
        let mut linker: ward::Linker<()> = ward::Linker::new(&engine);
        let b = barrier.clone();
        linker
            .func_wrap_async("host", "wait", move |_caller, (x,): (i32,)| {
                let b = b.clone();
                Box::new(async move {
                    b.wait().await;
                    b.wait().await;
                    Ok(x)
                })
            })
            .unwrap();
        let pre = linker.instantiate_pre(&module).unwrap();
        let mut stores = Vec::with_capacity(calls);
        for _ in 0..calls {
            let mut store = ward::Store::new(&engine, ());
            let instance = pre.instantiate_async(&mut store).await.unwrap();
            let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
            stores.push((store, run));
        }
        let idle = rss_kib();
        let pending = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for (mut store, run) in stores {
            tasks.push(tokio::spawn(async move {
                run.call_async(&mut store, DEPTH).await.unwrap()
            }));
        }
        barrier.wait().await;
        pending.store(rss_kib(), Ordering::SeqCst);
        barrier.wait().await;
        for task in tasks {
            assert_eq!(task.await.unwrap(), DEPTH + 1);
        }
        report("ward", calls, idle, pending.load(Ordering::SeqCst));
    });
}

fn wasmtime_child(calls: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        // Wasmtime 48 runs async calls on fibers with its default async stack size.
        let engine = wasmtime::Engine::new(&wasmtime::Config::new()).unwrap();
        let binary = wat::parse_str(GUEST).unwrap();
        let module = wasmtime::Module::new(&engine, binary).unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(calls + 1));
        let mut linker: wasmtime::Linker<()> = wasmtime::Linker::new(&engine);
        let b = barrier.clone();
        linker
            .func_wrap_async("host", "wait", move |_caller, (x,): (i32,)| {
                let b = b.clone();
                Box::new(async move {
                    b.wait().await;
                    b.wait().await;
                    x
                })
            })
            .unwrap();
        let pre = linker.instantiate_pre(&module).unwrap();
        let mut stores = Vec::with_capacity(calls);
        for _ in 0..calls {
            let mut store = wasmtime::Store::new(&engine, ());
            let instance = pre.instantiate_async(&mut store).await.unwrap();
            let run = instance
                .get_typed_func::<i32, i32>(&mut store, "run")
                .unwrap();
            stores.push((store, run));
        }
        let idle = rss_kib();
        let pending = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for (mut store, run) in stores {
            tasks.push(tokio::spawn(async move {
                run.call_async(&mut store, DEPTH).await.unwrap()
            }));
        }
        barrier.wait().await;
        pending.store(rss_kib(), Ordering::SeqCst);
        barrier.wait().await;
        for task in tasks {
            assert_eq!(task.await.unwrap(), DEPTH + 1);
        }
        report("wasmtime", calls, idle, pending.load(Ordering::SeqCst));
    });
}
