//! Instantiates one module on one engine a number of times, for profilers (`valgrind --tool=callgrind`,
//! `strace -c`, `perf stat`): `instantiate_profile <ward|wasmi|wasmtime|pulley> <module> [iterations]`.
//!
//! Each iteration does what the `instantiate/<module>` benchmark measures: a new store and linker,
//! instantiation, looking up `run`, and dropping it all. Compilation happens once, before the loop.

use std::time::Instant;

use ward_benches::{Peer, Ward, Wasmi, Wasmtime, module_bytes};

fn repeat<P: Peer>(peer: &P, bytes: &[u8], iterations: u32) {
    let module = peer.compile(bytes);
    for _ in 0..iterations {
        drop(std::hint::black_box(peer.instantiate(&module)));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (engine, name) = (args[1].as_str(), args[2].as_str());
    let iterations: u32 = args.get(3).map_or(1, |n| n.parse().expect("iterations"));
    let bytes = module_bytes(name);
    let start = Instant::now();
    match engine {
        "ward" => repeat(&Ward::default(), &bytes, iterations),
        "wasmi" => repeat(&Wasmi::default(), &bytes, iterations),
        "wasmtime" => repeat(&Wasmtime::cranelift(), &bytes, iterations),
        "pulley" => repeat(
            &Wasmtime::pulley().expect("pulley available"),
            &bytes,
            iterations,
        ),
        other => panic!("unknown engine {other}"),
    }
    println!(
        "{engine} {name}: {iterations} instantiations (plus one compile), {:?} per iteration",
        start.elapsed() / iterations.max(1)
    );
}
