//! Criterion benchmarks: every workload through ward, wasmi, Wasmtime (Cranelift) and Pulley.
//!
//! Groups: `kernel/<name>` (one call of `run`), `compile/large` (validate + translate a large module),
//! `instantiate/<name>`, `hostcall` (many tiny calls from Wasm into the host) and `component/echo-*`
//! (host→guest component calls with a string and a `list<u32>`; ward and Wasmtime only). Run through
//! `benches/compare.sh`, which prints the comparison table.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ward_benches::{KERNELS, Peer, Ward, Wasmi, Wasmtime, component, module_bytes};

fn engines() -> (Ward, Wasmi, Wasmtime, Option<Wasmtime>) {
    (
        Ward::default(),
        Wasmi::default(),
        Wasmtime::cranelift(),
        Wasmtime::pulley(),
    )
}

fn kernels(c: &mut Criterion) {
    let (ward, wasmi, wasmtime, pulley) = engines();
    for kernel in KERNELS {
        let bytes = module_bytes(kernel.name);
        let mut runners = vec![
            ("ward", ward.runner(&ward.compile(&bytes), kernel.result)),
            ("wasmi", wasmi.runner(&wasmi.compile(&bytes), kernel.result)),
            (
                "wasmtime",
                wasmtime.runner(&wasmtime.compile(&bytes), kernel.result),
            ),
        ];
        if let Some(pulley) = &pulley {
            runners.push((
                "pulley",
                pulley.runner(&pulley.compile(&bytes), kernel.result),
            ));
        }
        // Every engine must compute the same result before any is timed.
        let expected = runners[2].1.run(kernel.arg);
        for (name, runner) in &mut runners {
            assert_eq!(
                runner.run(kernel.arg),
                expected,
                "{name} disagrees on {}",
                kernel.name
            );
        }
        let mut group = c.benchmark_group(format!("kernel/{}", kernel.name));
        for (name, runner) in &mut runners {
            group.bench_function(*name, |b| b.iter(|| runner.run(kernel.arg)));
        }
        group.finish();
    }
}

fn compile(c: &mut Criterion) {
    let (ward, wasmi, wasmtime, pulley) = engines();
    let bytes = module_bytes("large");
    let mut group = c.benchmark_group("compile/large");
    group.bench_function("ward", |b| b.iter(|| ward.compile(&bytes)));
    group.bench_function("wasmi", |b| b.iter(|| wasmi.compile(&bytes)));
    group.bench_function("wasmtime", |b| b.iter(|| wasmtime.compile(&bytes)));
    if let Some(pulley) = &pulley {
        group.bench_function("pulley", |b| b.iter(|| pulley.compile(&bytes)));
    }
    group.finish();
}

fn instantiate(c: &mut Criterion) {
    let (ward, wasmi, wasmtime, pulley) = engines();
    for name in ["large", "sha256"] {
        let bytes = module_bytes(name);
        let mut group = c.benchmark_group(format!("instantiate/{name}"));
        let m = ward.compile(&bytes);
        group.bench_function("ward", |b| b.iter(|| ward.instantiate(&m)));
        let m = wasmi.compile(&bytes);
        group.bench_function("wasmi", |b| b.iter(|| wasmi.instantiate(&m)));
        let m = wasmtime.compile(&bytes);
        group.bench_function("wasmtime", |b| b.iter(|| wasmtime.instantiate(&m)));
        if let Some(pulley) = &pulley {
            let m = pulley.compile(&bytes);
            group.bench_function("pulley", |b| b.iter(|| pulley.instantiate(&m)));
        }
        group.finish();
    }
}

fn hostcall(c: &mut Criterion) {
    let (ward, wasmi, wasmtime, pulley) = engines();
    let bytes = module_bytes("hostcall");
    const CALLS: i32 = 100_000;
    let mut runners = vec![
        ("ward", ward.instantiate(&ward.compile(&bytes))),
        ("wasmi", wasmi.instantiate(&wasmi.compile(&bytes))),
        ("wasmtime", wasmtime.instantiate(&wasmtime.compile(&bytes))),
    ];
    if let Some(pulley) = &pulley {
        runners.push(("pulley", pulley.instantiate(&pulley.compile(&bytes))));
    }
    let mut group = c.benchmark_group("hostcall");
    for (name, runner) in &mut runners {
        assert_eq!(
            runner.run(CALLS),
            (0..CALLS).fold(0i32, |a, i| a.wrapping_add(i)) as u32 as u64
        );
        group.bench_function(*name, |b| b.iter(|| runner.run(CALLS)));
    }
    group.finish();
}

/// Host→guest calls of a component function taking and returning a string and a `list<u32>`
/// (`ward_benches::component`), small and large arguments.
fn component(c: &mut Criterion) {
    let (ward, _, wasmtime, pulley) = engines();
    let mut runners = vec![
        ("ward", component::ward_echo(&ward)),
        ("wasmtime", component::wasmtime_echo(&wasmtime)),
    ];
    if let Some(pulley) = &pulley {
        runners.push(("pulley", component::wasmtime_echo(pulley)));
    }
    let small = (
        "small",
        "héllo, wörld".to_string(),
        (0..4).collect::<Vec<u32>>(),
    );
    let large = (
        "large",
        "héllo, wörld ".repeat(80),
        (0..1024).collect::<Vec<u32>>(),
    );
    for (size, s, xs) in [small, large] {
        let mut group = c.benchmark_group(format!("component/echo-{size}"));
        for (name, runner) in &mut runners {
            assert_eq!(runner.echo(&s, &xs), (s.clone(), xs.clone()), "{name} echo");
            group.bench_function(*name, |b| b.iter(|| runner.echo(&s, &xs)));
        }
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
}

criterion_group! { name = benches; config = config(); targets = kernels, compile, instantiate, hostcall, component }
criterion_main!(benches);
