//! Runs the same benchmark modules through ward, wasmi, Wasmtime (Cranelift) and Wasmtime's Pulley
//! interpreter behind one small trait, so every benchmark measures each engine the same way.
//!
//! Used by `benches/engines.rs`; the modules come from `wasm/` (built from `kernels/` by `build.sh`).

use anyhow::Context;

pub mod child;
pub mod component;
pub mod shim;

/// A compute kernel: a module exporting `run(i32) -> R` and the argument to run it with.
pub struct Kernel {
    /// Benchmark name (also the file stem in `wasm/`).
    pub name: &'static str,
    /// The argument passed to `run`.
    pub arg: i32,
    /// Result type of `run`.
    pub result: ResultType,
}

/// The result type of a kernel's `run` export.
#[derive(Clone, Copy)]
pub enum ResultType {
    /// `i32`
    I32,
    /// `f32`
    F32,
    /// `f64`
    F64,
}

/// The compute kernels, with arguments sized so that one run takes a few milliseconds in an
/// interpreter.
pub const KERNELS: &[Kernel] = &[
    Kernel {
        name: "fib",
        arg: 25,
        result: ResultType::I32,
    },
    Kernel {
        name: "sieve",
        arg: 400_000,
        result: ResultType::I32,
    },
    Kernel {
        name: "matmul",
        arg: 48,
        result: ResultType::F64,
    },
    Kernel {
        name: "sha256",
        arg: 32_768,
        result: ResultType::I32,
    },
    Kernel {
        name: "nbody",
        arg: 5_000,
        result: ResultType::F64,
    },
    Kernel {
        name: "quicksort",
        arg: 20_000,
        result: ResultType::I32,
    },
    Kernel {
        name: "hashmap",
        arg: 20_000,
        result: ResultType::I32,
    },
    Kernel {
        name: "lz",
        arg: 32_768,
        result: ResultType::I32,
    },
    Kernel {
        name: "memops",
        arg: 20,
        result: ResultType::I32,
    },
    Kernel {
        name: "simd",
        arg: 40,
        result: ResultType::F32,
    },
];

/// Reads `wasm/<name>.wasm`.
pub fn module_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/wasm/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path)
        .with_context(|| format!("failed to read {path} (run benches/build.sh)"))
        .unwrap()
}

/// The engines compared.
pub const ENGINES: &[&str] = &["ward", "wasmi", "wasmtime", "pulley"];

/// An instantiated module whose `run` export can be called repeatedly. Results are returned as raw
/// bits so the harness can check that all engines agree.
pub trait Runner {
    /// Calls `run(arg)`.
    fn run(&mut self, arg: i32) -> u64;
}

/// An engine able to compile and instantiate modules.
pub trait Peer {
    /// The compiled module type.
    type Module;
    /// Compiles (validates and translates) `bytes`.
    fn compile(&self, bytes: &[u8]) -> Self::Module;
    /// Instantiates with the `host.add` import available.
    fn instantiate(&self, module: &Self::Module) -> Box<dyn Runner>;
    /// Instantiates and returns a runner of `run` with the given result type.
    fn runner(&self, module: &Self::Module, result: ResultType) -> Box<dyn Runner>;
}

// ----- ward -----------------------------------------------------------------------------------------

/// ward's interpreter.
#[derive(Default)]
pub struct Ward {
    engine: ward::Engine,
}

struct WardRunner<R: ward::WasmResults> {
    store: ward::Store<()>,
    func: ward::TypedFunc<i32, R>,
    bits: fn(R) -> u64,
}

impl<R: ward::WasmResults> Runner for WardRunner<R> {
    fn run(&mut self, arg: i32) -> u64 {
        (self.bits)(self.func.call(&mut self.store, arg).expect("ward run"))
    }
}

impl Ward {
    /// ward with `strategy` (the interpreter is the default; the other tiers need ward's
    /// `cranelift` feature).
    pub fn with_strategy(strategy: ward::Strategy) -> Self {
        let mut config = ward::Config::new();
        config.strategy(strategy);
        Ward {
            engine: ward::Engine::new(&config).expect("ward engine"),
        }
    }

    fn instance(&self, module: &ward::Module) -> (ward::Store<()>, ward::Instance) {
        let mut linker = ward::Linker::new(&self.engine);
        linker
            .func_wrap("host", "add", |a: i32, b: i32| a.wrapping_add(b))
            .unwrap();
        let mut store = ward::Store::new(&self.engine, ());
        let instance = linker
            .instantiate(&mut store, module)
            .expect("ward instantiate");
        (store, instance)
    }

    fn typed<R: ward::WasmResults + 'static>(
        &self,
        module: &ward::Module,
        bits: fn(R) -> u64,
    ) -> Box<dyn Runner> {
        let (store, instance) = self.instance(module);
        let func = instance
            .get_typed_func::<i32, R>(&store, "run")
            .expect("ward run export");
        Box::new(WardRunner { store, func, bits })
    }
}

impl Peer for Ward {
    type Module = ward::Module;
    fn compile(&self, bytes: &[u8]) -> ward::Module {
        ward::Module::new(&self.engine, bytes).expect("ward compile")
    }
    fn instantiate(&self, module: &ward::Module) -> Box<dyn Runner> {
        self.typed::<i32>(module, |r| r as u32 as u64)
    }
    fn runner(&self, module: &ward::Module, result: ResultType) -> Box<dyn Runner> {
        match result {
            ResultType::I32 => self.typed::<i32>(module, |r| r as u32 as u64),
            ResultType::F32 => self.typed::<f32>(module, |r| r.to_bits() as u64),
            ResultType::F64 => self.typed::<f64>(module, f64::to_bits),
        }
    }
}

// ----- wasmi ----------------------------------------------------------------------------------------

/// wasmi with eager translation (comparable to ward, which translates every function up front).
pub struct Wasmi {
    engine: wasmi::Engine,
}

impl Default for Wasmi {
    fn default() -> Self {
        let mut config = wasmi::Config::default();
        config.compilation_mode(wasmi::CompilationMode::Eager);
        Wasmi {
            engine: wasmi::Engine::new(&config),
        }
    }
}

struct WasmiRunner<R: wasmi::WasmResults> {
    store: wasmi::Store<()>,
    func: wasmi::TypedFunc<i32, R>,
    bits: fn(R) -> u64,
}

impl<R: wasmi::WasmResults> Runner for WasmiRunner<R> {
    fn run(&mut self, arg: i32) -> u64 {
        (self.bits)(self.func.call(&mut self.store, arg).expect("wasmi run"))
    }
}

impl Wasmi {
    fn typed<R: wasmi::WasmResults + 'static>(
        &self,
        module: &wasmi::Module,
        bits: fn(R) -> u64,
    ) -> Box<dyn Runner> {
        let mut linker = wasmi::Linker::<()>::new(&self.engine);
        linker
            .func_wrap("host", "add", |a: i32, b: i32| a.wrapping_add(b))
            .unwrap();
        let mut store = wasmi::Store::new(&self.engine, ());
        let instance = linker
            .instantiate_and_start(&mut store, module)
            .expect("wasmi instantiate");
        let func = instance
            .get_typed_func::<i32, R>(&store, "run")
            .expect("wasmi run export");
        Box::new(WasmiRunner { store, func, bits })
    }
}

impl Peer for Wasmi {
    type Module = wasmi::Module;
    fn compile(&self, bytes: &[u8]) -> wasmi::Module {
        wasmi::Module::new(&self.engine, bytes).expect("wasmi compile")
    }
    fn instantiate(&self, module: &wasmi::Module) -> Box<dyn Runner> {
        self.typed::<i32>(module, |r| r as u32 as u64)
    }
    fn runner(&self, module: &wasmi::Module, result: ResultType) -> Box<dyn Runner> {
        match result {
            ResultType::I32 => self.typed::<i32>(module, |r| r as u32 as u64),
            ResultType::F32 => self.typed::<f32>(module, |r| r.to_bits() as u64),
            ResultType::F64 => self.typed::<f64>(module, f64::to_bits),
        }
    }
}

// ----- Wasmtime -------------------------------------------------------------------------------------

/// Wasmtime with Cranelift (native code) or with its Pulley interpreter.
pub struct Wasmtime {
    engine: wasmtime::Engine,
}

impl Wasmtime {
    /// Cranelift compiling to the host.
    pub fn cranelift() -> Self {
        let config = wasmtime::Config::new();
        Wasmtime {
            engine: wasmtime::Engine::new(&config).expect("wasmtime engine"),
        }
    }

    /// Cranelift compiling to Pulley bytecode, run by Pulley's interpreter; `None` if unavailable.
    pub fn pulley() -> Option<Self> {
        let mut config = wasmtime::Config::new();
        config.target("pulley64").ok()?;
        wasmtime::Engine::new(&config)
            .ok()
            .map(|engine| Wasmtime { engine })
    }

    fn typed<R: wasmtime::WasmResults + 'static>(
        &self,
        module: &wasmtime::Module,
        bits: fn(R) -> u64,
    ) -> Box<dyn Runner> {
        let mut linker = wasmtime::Linker::<()>::new(&self.engine);
        linker
            .func_wrap("host", "add", |a: i32, b: i32| a.wrapping_add(b))
            .unwrap();
        let mut store = wasmtime::Store::new(&self.engine, ());
        let instance = linker
            .instantiate(&mut store, module)
            .expect("wasmtime instantiate");
        let func = instance
            .get_typed_func::<i32, R>(&mut store, "run")
            .expect("wasmtime run export");
        Box::new(WasmtimeRunner { store, func, bits })
    }
}

struct WasmtimeRunner<R: wasmtime::WasmResults> {
    store: wasmtime::Store<()>,
    func: wasmtime::TypedFunc<i32, R>,
    bits: fn(R) -> u64,
}

impl<R: wasmtime::WasmResults> Runner for WasmtimeRunner<R> {
    fn run(&mut self, arg: i32) -> u64 {
        (self.bits)(self.func.call(&mut self.store, arg).expect("wasmtime run"))
    }
}

impl Peer for Wasmtime {
    type Module = wasmtime::Module;
    fn compile(&self, bytes: &[u8]) -> wasmtime::Module {
        wasmtime::Module::new(&self.engine, bytes).expect("wasmtime compile")
    }
    fn instantiate(&self, module: &wasmtime::Module) -> Box<dyn Runner> {
        self.typed::<i32>(module, |r| r as u32 as u64)
    }
    fn runner(&self, module: &wasmtime::Module, result: ResultType) -> Box<dyn Runner> {
        match result {
            ResultType::I32 => self.typed::<i32>(module, |r| r as u32 as u64),
            ResultType::F32 => self.typed::<f32>(module, |r| r.to_bits() as u64),
            ResultType::F64 => self.typed::<f64>(module, f64::to_bits),
        }
    }
}
