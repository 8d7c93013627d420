//! The kernels under ward's tiers against Wasmtime (Cranelift), and compile speed per megabyte:
//! `cargo run --release --features cranelift --bin tiers [ROUNDS]`.
//!
//! Engines: ward's interpreter, ward's Cranelift tier compiling every function up front (`clif`),
//! ward's tier-up (`auto`: first call on a fresh instance, where the kernel starts interpreted,
//! and later calls, once it is compiled) and Wasmtime 48 with Cranelift. One call of `run(arg)` is
//! timed at a time, the engines interleaved round by round; a cell is the median. Every engine must
//! return the same result.

use std::time::{Duration, Instant};

use ward_benches::child::{self, fmt_secs as secs};
use ward_benches::{KERNELS, Peer, Runner, Ward, Wasmtime, module_bytes};

fn median(v: Vec<f64>) -> f64 {
    child::median(&v).expect("at least one round")
}

fn time(runner: &mut dyn Runner, arg: i32) -> f64 {
    let t = Instant::now();
    std::hint::black_box(runner.run(arg));
    t.elapsed().as_secs_f64()
}

fn geomean(v: &[f64]) -> f64 {
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(21);
    let interp = Ward::default();
    let clif = Ward::with_strategy(ward::Strategy::Cranelift);
    let auto = Ward::with_strategy(ward::Strategy::Auto);
    let wasmtime = Wasmtime::cranelift();
    println!(
        "Kernels, one call of `run` timed at a time, engines interleaved, median of {rounds} rounds \
         (auto first call: a fresh instance each round).\n"
    );
    println!(
        "| kernel | interpreter | clif | auto, first call | auto | wasmtime | clif/wasmtime | auto first/wasmtime | auto/wasmtime |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let (mut clif_ratios, mut auto_ratios, mut first_ratios) = (vec![], vec![], vec![]);
    for kernel in KERNELS {
        let bytes = module_bytes(kernel.name);
        let mut runners: Vec<Box<dyn Runner>> = vec![
            interp.runner(&interp.compile(&bytes), kernel.result),
            clif.runner(&clif.compile(&bytes), kernel.result),
            auto.runner(&auto.compile(&bytes), kernel.result),
            wasmtime.runner(&wasmtime.compile(&bytes), kernel.result),
        ];
        let expected = runners[3].run(kernel.arg);
        for (i, runner) in runners.iter_mut().enumerate() {
            assert_eq!(
                runner.run(kernel.arg),
                expected,
                "engine {i} on {}",
                kernel.name
            );
        }
        // Let tier-up finish: call until nothing changes for a while.
        let warm_until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < warm_until {
            runners[2].run(kernel.arg);
        }
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); 5];
        for _ in 0..rounds {
            for (i, runner) in runners.iter_mut().enumerate() {
                times[[0, 1, 3, 4][i]].push(time(&mut **runner, kernel.arg));
            }
            // A fresh module and instance: the first call starts interpreted.
            let mut fresh = auto.runner(&auto.compile(&bytes), kernel.result);
            times[2].push(time(&mut *fresh, kernel.arg));
        }
        let m: Vec<f64> = times.into_iter().map(median).collect();
        clif_ratios.push(m[1] / m[4]);
        first_ratios.push(m[2] / m[4]);
        auto_ratios.push(m[3] / m[4]);
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} |",
            kernel.name,
            secs(m[0]),
            secs(m[1]),
            secs(m[2]),
            secs(m[3]),
            secs(m[4]),
            m[1] / m[4],
            m[2] / m[4],
            m[3] / m[4]
        );
    }
    println!(
        "\nGeomean against Wasmtime: clif {:.2}, auto first call {:.2}, auto {:.2}.",
        geomean(&clif_ratios),
        geomean(&first_ratios),
        geomean(&auto_ratios)
    );

    // Compile speed: every function of the large module compiled up front.
    let bytes = module_bytes("large");
    let mb = bytes.len() as f64 / 1e6;
    let (mut ward_t, mut wasmtime_t) = (vec![], vec![]);
    for _ in 0..5 {
        let t = Instant::now();
        std::hint::black_box(clif.compile(&bytes));
        ward_t.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        std::hint::black_box(wasmtime.compile(&bytes));
        wasmtime_t.push(t.elapsed().as_secs_f64());
    }
    let (w, t) = (median(ward_t), median(wasmtime_t));
    println!(
        "\nCompiling `large.wasm` ({:.0} KB) up front, median of 5: ward clif {} ({:.2} s/MB), \
         Wasmtime {} ({:.2} s/MB), ratio {:.2}.",
        bytes.len() as f64 / 1e3,
        secs(w),
        w / mb,
        secs(t),
        t / mb,
        w / t
    );
}
