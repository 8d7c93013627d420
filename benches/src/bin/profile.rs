//! Runs one kernel on one engine a number of times, for profilers (`valgrind --tool=callgrind`,
//! `perf record`): `profile <ward|wasmi|wasmtime|pulley> <kernel> [iterations]`.

use std::time::Instant;

use ward_benches::{KERNELS, Peer, ResultType, Runner, Ward, Wasmi, Wasmtime, module_bytes};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (engine, name) = (args[1].as_str(), args[2].as_str());
    let iterations: u32 = args.get(3).map_or(1, |n| n.parse().expect("iterations"));
    // `hostcall` (100,000 calls of an imported host function, as in the benchmark) or a kernel.
    let (result_type, arg) = match KERNELS.iter().find(|k| k.name == name) {
        Some(kernel) => (Some(kernel.result), kernel.arg),
        None if name == "hostcall" => (None, 100_000),
        None => panic!("unknown kernel {name}"),
    };
    let bytes = module_bytes(name);
    fn make<P: Peer>(e: &P, bytes: &[u8], result: Option<ResultType>) -> Box<dyn Runner> {
        let module = e.compile(bytes);
        match result {
            Some(result) => e.runner(&module, result),
            None => e.instantiate(&module),
        }
    }
    let mut runner = match engine {
        "ward" => make(&Ward::default(), &bytes, result_type),
        "wasmi" => make(&Wasmi::default(), &bytes, result_type),
        "wasmtime" => make(&Wasmtime::cranelift(), &bytes, result_type),
        "pulley" => make(
            &Wasmtime::pulley().expect("pulley available"),
            &bytes,
            result_type,
        ),
        other => panic!("unknown engine {other}"),
    };
    let start = Instant::now();
    let mut result = 0;
    for _ in 0..iterations {
        result = runner.run(arg);
    }
    println!(
        "{engine} {name}: result {result:#x}, {:?} per run",
        start.elapsed() / iterations
    );
}
