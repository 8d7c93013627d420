//! Compiles one module on one engine a number of times, for profilers (`valgrind --tool=callgrind`
//! counts instructions deterministically, so compile-time changes show up without wall-clock noise):
//! `compile_profile <ward|wasmi|wasmtime> [module] [iterations]`, `module` defaulting to `large`.

use std::time::Instant;

use ward_benches::{Peer, Ward, Wasmi, Wasmtime, module_bytes};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let engine = args.get(1).map_or("ward", String::as_str);
    let name = args.get(2).map_or("large", String::as_str);
    let iterations: u32 = args.get(3).map_or(1, |n| n.parse().expect("iterations"));
    let bytes = module_bytes(name);
    let start = Instant::now();
    match engine {
        "ward" => {
            let e = Ward::default();
            for _ in 0..iterations {
                drop(e.compile(&bytes));
            }
        }
        "wasmi" => {
            let e = Wasmi::default();
            for _ in 0..iterations {
                drop(e.compile(&bytes));
            }
        }
        "wasmtime" => {
            let e = Wasmtime::cranelift();
            for _ in 0..iterations {
                drop(e.compile(&bytes));
            }
        }
        other => panic!("unknown engine {other}"),
    }
    println!(
        "{engine} {name}: {:?} per compile",
        start.elapsed() / iterations
    );
}
