//! Runs one kernel on one engine a number of times, for profilers (`valgrind --tool=callgrind`,
//! `perf record`): `profile <ward|wasmi|wasmtime|pulley> <kernel> [iterations]`.

use std::time::Instant;

use ward_benches::{KERNELS, Peer, Ward, Wasmi, Wasmtime, module_bytes};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (engine, name) = (args[1].as_str(), args[2].as_str());
    let iterations: u32 = args.get(3).map_or(1, |n| n.parse().expect("iterations"));
    let kernel = KERNELS
        .iter()
        .find(|k| k.name == name)
        .expect("unknown kernel");
    let bytes = module_bytes(name);
    let mut runner = match engine {
        "ward" => {
            let e = Ward::default();
            e.runner(&e.compile(&bytes), kernel.result)
        }
        "wasmi" => {
            let e = Wasmi::default();
            e.runner(&e.compile(&bytes), kernel.result)
        }
        "wasmtime" => {
            let e = Wasmtime::cranelift();
            e.runner(&e.compile(&bytes), kernel.result)
        }
        "pulley" => {
            let e = Wasmtime::pulley().expect("pulley available");
            e.runner(&e.compile(&bytes), kernel.result)
        }
        other => panic!("unknown engine {other}"),
    };
    let start = Instant::now();
    let mut result = 0;
    for _ in 0..iterations {
        result = runner.run(kernel.arg);
    }
    println!(
        "{engine} {name}: result {result:#x}, {:?} per run",
        start.elapsed() / iterations
    );
}
