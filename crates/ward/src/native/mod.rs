//! The runtime side of the Cranelift tier (`ward-cranelift`, behind the `cranelift` feature): which
//! functions of a module are compiled ([`compile_module`]), the executable memory their code lives
//! in (`code_memory`), and running it (`context`: the per-call context compiled code reads, the
//! libcalls it makes back into ward, and the entry from the interpreter).
//!
//! A compiled function keeps an interpreter stub (one `Instr::EnterNative`), so every caller — the
//! interpreter, `Func::call`, the host — calls it exactly as it calls an interpreted function; the
//! executor's driver then runs the machine code on the stub's frame (`exec::run`,
//! `Request::RunNative`). Compiled code calls compiled functions of its module directly, and
//! everything else (imports, interpreted functions, `call_indirect`) through libcalls. See
//! `docs/CRANELIFT.md`.
//!
//! Depends on `ward-cranelift`, the module's types and the executor (`interp::exec`); used by
//! `module` (compilation) and `interp::exec` (entry).

mod abi;
pub(crate) mod artifact;
pub(crate) mod cache;
mod code_memory;
pub(crate) mod compile_thread;
pub(crate) mod context;
mod metering;
pub(crate) mod tier_up;

pub(crate) use metering::plan_of as metering_plan;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use ward_cranelift::{CompileError, FuncSig, Memory0, ModuleDesc};

use wasmparser::FunctionBody;

use crate::engine::{Engine, Strategy};
use crate::types::{FuncType, GlobalType, MemoryType, TableType, ValType};
use abi::NativeFn;
use code_memory::CodeMemory;

/// A module's machine code.
///
/// With `Strategy::Cranelift` it is complete when the module is compiled; with `Strategy::Auto`
/// functions are added as they get hot (`tier_up`): an entry of `funcs` changes once, from the
/// shim to the machine code, and `compiled` is set after it, so a thread that sees a function
/// compiled sees its code.
pub(crate) struct NativeCode {
    /// Keeps the code mapped (the pointers in `funcs` point into it).
    memories: Mutex<Vec<CodeMemory>>,
    /// Function index (imports first) → the native entry compiled code calls it through: its
    /// machine code, or the shim that calls it through the store (imports, interpreted functions).
    /// Each entry is a `NativeFn` (an `AtomicPtr` has the layout of a pointer, which compiled code
    /// loads from the table).
    funcs: Box<[AtomicPtr<()>]>,
    /// Defined function index → compiled.
    compiled: Box<[AtomicBool]>,
    /// What compiling functions later needs, with `Strategy::Auto`.
    tier_up: Option<Box<TierUp>>,
    /// With `Strategy::Cranelift`: per defined function, where its code is in the first code
    /// memory (offset, length, alignment), to write it into a precompiled module.
    placed: Box<[Option<(usize, usize, u32)>]>,
}

impl NativeCode {
    /// Whether defined function `index` has machine code.
    pub fn is_compiled(&self, index: u32) -> bool {
        self.compiled
            .get(index as usize)
            .is_some_and(|c| c.load(Ordering::Acquire))
    }

    /// How many defined functions have machine code.
    pub fn compiled_count(&self) -> usize {
        self.compiled
            .iter()
            .filter(|c| c.load(Ordering::Acquire))
            .count()
    }

    /// The native entry of function `func_index` (imports first).
    fn func(&self, func_index: u32) -> NativeFn {
        let entry = self.funcs[func_index as usize].load(Ordering::Acquire);
        // SAFETY: every entry holds a `NativeFn`: the shim, or machine code with that signature
        // placed in `memories`, which lives as long as the table (see `set_func`).
        unsafe { std::mem::transmute::<*mut (), NativeFn>(entry) }
    }

    /// The function table of the context (one `NativeFn` per function, imports first).
    fn funcs_ptr(&self) -> *const NativeFn {
        self.funcs.as_ptr().cast::<NativeFn>()
    }

    /// The machine code that enters defined function `index` at the loop at module offset
    /// `loop_offset`, if it is compiled.
    fn loop_code(&self, index: u32, loop_offset: u32) -> Option<NativeFn> {
        let loops = self.tier_up.as_ref()?.loops.lock();
        match loops
            .unwrap_or_else(|e| e.into_inner())
            .get(&(index, loop_offset))
        {
            Some(LoopCode::Ready(code)) => Some(*code),
            _ => None,
        }
    }

    /// How many loops have code that enters their function there.
    pub fn loop_entry_count(&self) -> usize {
        let Some(tier_up) = &self.tier_up else {
            return 0;
        };
        let loops = tier_up.loops.lock().unwrap_or_else(|e| e.into_inner());
        loops
            .values()
            .filter(|code| matches!(code, LoopCode::Ready(_)))
            .count()
    }

    /// Keeps `memory` mapped as long as the module.
    fn keep(&self, memory: CodeMemory) {
        self.memories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(memory);
    }

    /// Makes `code`, placed in `memory`, the machine code of defined function `index`.
    fn set_func(&self, index: u32, func_index: u32, code: NativeFn, memory: CodeMemory) {
        self.keep(memory);
        self.funcs[func_index as usize].store(code as *mut (), Ordering::Release);
        self.compiled[index as usize].store(true, Ordering::Release);
    }
}

impl NativeCode {
    /// The machine code of each defined function placed when the module was compiled (eagerly),
    /// for a precompiled module; `None` for functions left interpreted.
    pub(crate) fn pieces(&self) -> Vec<Option<artifact::Piece>> {
        let memories = self.memories.lock().unwrap_or_else(|e| e.into_inner());
        self.placed
            .iter()
            .map(|placed| {
                let (offset, len, alignment) = (*placed)?;
                Some(artifact::Piece {
                    alignment,
                    code: memories.first()?.bytes(offset, len).to_vec(),
                })
            })
            .collect()
    }
}

impl crate::tier::TierCode for NativeCode {
    fn functions(&self) -> usize {
        self.compiled.len()
    }

    fn has_code(&self, index: u32) -> bool {
        self.is_compiled(index)
    }
}

/// Whether modules of this engine start interpreted and compile hot functions
/// (`Strategy::Auto` with the compiler available and nothing on it does not honour).
pub(crate) fn tiers_up(engine: &Engine) -> bool {
    // The hosts `ward_cranelift::Compiler` supports (elsewhere `Engine::new` refuses Cranelift).
    cfg!(all(target_arch = "x86_64", target_endian = "little"))
        && engine.config().strategy == Strategy::Auto
        && honoured(engine)
}

/// Tier-up points a function passes (entries plus loop iterations) before it is compiled.
pub(crate) const HOT: u32 = 1000;

/// What a tier-up point does.
pub(crate) enum TierUpStep {
    /// Run the function's machine code (at an entry, once it is compiled).
    Run,
    /// The function just got hot: queue it.
    Compile,
    /// At a loop header of a compiled function (polled every [`LOOP_POLL`] iterations): enter
    /// the machine code at this loop, or have it compiled (`tier_up::loop_entry`).
    Loop,
    /// Go on interpreting.
    Go,
}

/// Iterations between two looks for on-stack-replacement code at the loops of a call that
/// started interpreted and whose function has been compiled since.
pub(crate) const LOOP_POLL: u32 = 64;

/// A module's function bodies, copied from its binary for compiling them later.
pub(crate) struct Bodies {
    /// From the first body's start to the last one's end.
    pub bytes: Box<[u8]>,
    /// Offset of `bytes` in the module binary (compiled code's trap offsets are module offsets).
    pub offset: usize,
    /// Each defined function's body, as a range of `bytes`.
    pub ranges: Box<[Range<usize>]>,
}

/// A module's tier-up state.
pub(crate) struct TierUp {
    desc: ModuleDesc,
    bodies: Bodies,
    /// Tier-up points a function passes before it is compiled ([`HOT`], or 1 with
    /// `Config::tier_up_at_once`).
    hot: u32,
    /// Per defined function: tier-up points left until it is hot (0 once it was queued).
    counters: Box<[AtomicU32]>,
    /// Per defined function: queued (or compiled, or refused by the compiler) already.
    queued: Box<[AtomicBool]>,
    /// Code that enters a function at a loop (on-stack replacement), by defined function index
    /// and the loop's module offset.
    loops: Mutex<HashMap<(u32, u32), LoopCode>>,
}

/// The state of a function's code that enters at one of its loops.
#[derive(Clone, Copy)]
enum LoopCode {
    /// Queued on the compile thread.
    Queued,
    /// The compiler does not enter there (or the queue was full: the loop is not asked for again).
    Refused,
    /// Compiled: the machine code, in `NativeCode::memories`.
    Ready(NativeFn),
}

impl TierUp {
    /// `hot`: the tier-up points a function passes before it is compiled.
    pub(crate) fn new(desc: ModuleDesc, bodies: Bodies, hot: u32) -> TierUp {
        let n = bodies.ranges.len();
        TierUp {
            desc,
            bodies,
            hot,
            counters: (0..n).map(|_| AtomicU32::new(hot)).collect(),
            queued: (0..n).map(|_| AtomicBool::new(false)).collect(),
            loops: Mutex::new(HashMap::new()),
        }
    }
}

impl NativeCode {
    /// A tier-up point of defined function `index`, at its entry or a loop header.
    ///
    /// The count is a relaxed load and store, not a read-modify-write: racing threads may lose a
    /// count or both see the function get hot (the queue takes it once), and this stays as cheap
    /// as the interpreter's other check points.
    pub(crate) fn tier_up_point(&self, index: u32, entry: bool) -> TierUpStep {
        let compiled = self.is_compiled(index);
        if entry && compiled {
            return TierUpStep::Run;
        }
        let Some(counter) = self
            .tier_up
            .as_ref()
            .and_then(|t| t.counters.get(index as usize))
        else {
            return TierUpStep::Go;
        };
        if compiled {
            // A loop of a call that began before the function was compiled: its counter (0
            // since the function was queued) now counts down to the next look for code that
            // enters at the loop.
            return match counter.load(Ordering::Relaxed) {
                0 | 1 => {
                    counter.store(LOOP_POLL, Ordering::Relaxed);
                    TierUpStep::Loop
                }
                n => {
                    counter.store(n - 1, Ordering::Relaxed);
                    TierUpStep::Go
                }
            };
        }
        match counter.load(Ordering::Relaxed) {
            0 => TierUpStep::Go,
            1 => {
                counter.store(0, Ordering::Relaxed);
                TierUpStep::Compile
            }
            n => {
                counter.store(n - 1, Ordering::Relaxed);
                TierUpStep::Go
            }
        }
    }
}

/// What `compile_module` reads of a module being compiled.
pub(crate) struct ModuleShape<'a> {
    /// Module type index → its signature, if it is a function type.
    pub signatures: &'a [Option<FuncType>],
    /// Function index (imports first) → module type index.
    pub func_types: &'a [u32],
    pub num_imported_funcs: u32,
    pub global_types: &'a [GlobalType],
    pub memory_types: &'a [MemoryType],
    pub table_types: &'a [TableType],
}

/// Whether the engine compiles functions with Cranelift: the strategy asks for it, and nothing is
/// on that compiled code does not honour yet (deterministic NaNs, async calls, which pause
/// activations, and lazy translation). Everything stays interpreted otherwise. Fuel and epoch
/// interruption are honoured: compiled code meters by the interpreter's plan (`metering`).
pub(crate) fn compiles(engine: &Engine) -> bool {
    engine.config().strategy == Strategy::Cranelift && honoured(engine)
}

/// Whether compiled code honours everything the configuration turns on.
fn honoured(engine: &Engine) -> bool {
    let config = engine.config();
    !config.deterministic && !config.async_support && !config.lazy_translation
}

/// Whether the configuration keeps function `index` interpreted although the tier could compile it
/// (`Config::cranelift_skip_functions`, for tests that mix tiers).
fn skipped(engine: &Engine, index: u32) -> bool {
    engine
        .config()
        .cranelift_skip
        .is_some_and(|seed| mix(seed ^ index as u64) & 1 == 1)
}

/// SplitMix64's finaliser: a well-spread hash of a function index and the seed.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn numeric(ty: ValType) -> Option<ward_cranelift::ValType> {
    Some(match ty {
        ValType::I32 => ward_cranelift::ValType::I32,
        ValType::I64 => ward_cranelift::ValType::I64,
        ValType::F32 => ward_cranelift::ValType::F32,
        ValType::F64 => ward_cranelift::ValType::F64,
        ValType::V128 => ward_cranelift::ValType::V128,
        ValType::Ref(_) => return None,
    })
}

pub(crate) fn describe(shape: &ModuleShape<'_>) -> ModuleDesc {
    let types = shape
        .signatures
        .iter()
        .map(|sig| {
            let sig = sig.as_ref()?;
            Some(FuncSig {
                params: sig
                    .params()
                    .iter()
                    .map(|t| numeric(*t))
                    .collect::<Option<_>>()?,
                results: sig
                    .results()
                    .iter()
                    .map(|t| numeric(*t))
                    .collect::<Option<_>>()?,
            })
        })
        .collect();
    let memory0 = match shape.memory_types {
        [] => None,
        [m] if !m.memory64 && !m.shared && m.page_size_log2 == 16 => {
            Some(Memory0 { page_size_log2: 16 })
        }
        _ => None,
    };
    ModuleDesc {
        types,
        func_types: shape.func_types.to_vec(),
        globals: shape
            .global_types
            .iter()
            .map(|g| numeric(g.content))
            .collect(),
        memory0,
        has_unsupported_memory: memory0.is_none() && !shape.memory_types.is_empty(),
        table64: shape.table_types.iter().map(|t| t.table64).collect(),
    }
}

/// Counts `n` functions of a module the engine does not give to the compiler at all (a lazily
/// translated module) as interpreted.
pub(crate) fn count_interpreted(engine: &Engine, n: usize) {
    if engine.inner.compiler.is_some() || engine.config().strategy == Strategy::Auto {
        engine.inner.tier_counts[1].fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// `f(0)`, …, `f(n - 1)`, computed on as many threads as the host has cores (at most 8; the
/// calling thread is one of them), each taking the next index as it becomes free, so that one large
/// function does not hold the others up. In index order.
fn in_parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(n);
    if threads <= 1 {
        return (0..n).map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                return done;
            }
            done.push((i, f(i)));
        }
    };
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        // A helper thread that cannot be started leaves its share to the others.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut all = work();
        for helper in helpers {
            match helper.join() {
                Ok(done) => all.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, t)| t).collect()
}

/// Compiles the defined functions of a module whose validated bodies are `bodies` and whose
/// metering plans (from their interpreter code, `metering_plan`) `plan_of` gives, if the engine compiles with
/// Cranelift; `None` otherwise, or when no function could be compiled. A function the tier does
/// not compile stays interpreted (its `compiled` entry is false).
pub(crate) fn compile_module(
    engine: &Engine,
    shape: &ModuleShape<'_>,
    bodies: &[FunctionBody<'_>],
    plan_of: &(dyn Fn(usize) -> ward_cranelift::Metering + Sync),
    tier_up_bodies: Option<Bodies>,
    precompiled: Option<Vec<Option<artifact::Piece>>>,
) -> crate::Result<Option<NativeCode>> {
    let [compiled_count, interpreted_count] = &engine.inner.tier_counts;
    if tiers_up(engine) {
        interpreted_count.fetch_add(bodies.len() as u64, Ordering::Relaxed);
        let n_funcs = shape.num_imported_funcs as usize + bodies.len();
        return Ok(Some(NativeCode {
            memories: Mutex::new(Vec::new()),
            funcs: (0..n_funcs)
                .map(|_| AtomicPtr::new(abi::call_shim as *mut ()))
                .collect(),
            compiled: (0..bodies.len()).map(|_| AtomicBool::new(false)).collect(),
            tier_up: Some(Box::new(TierUp::new(
                describe(shape),
                tier_up_bodies.ok_or_else(|| {
                    crate::Error::CompilerUnavailable(
                        "internal error: no function bodies kept for tier-up".into(),
                    )
                })?,
                if engine.config().tier_up_at_once {
                    1
                } else {
                    HOT
                },
            ))),
            placed: Box::new([]),
        }));
    }
    let Some(compiler) = engine.inner.compiler.as_ref() else {
        return Ok(None);
    };
    if !compiles(engine) {
        interpreted_count.fetch_add(bodies.len() as u64, Ordering::Relaxed);
        return Ok(None);
    }
    let desc = describe(shape);
    let layout = abi::layout();
    let mut pieces = Vec::with_capacity(bodies.len());
    let mut compiled = Vec::with_capacity(bodies.len());
    if let Some(precompiled) = precompiled {
        // A precompiled module (`Module::deserialize`): its code was made by this configuration
        // on a compatible host (checked with its header); Cranelift does not run again.
        if precompiled.len() != bodies.len() {
            return Err(crate::aot::ArtifactError::Corrupt(format!(
                "{} functions of code for a module that defines {}",
                precompiled.len(),
                bodies.len()
            ))
            .into());
        }
        for piece in precompiled {
            compiled.push(piece.is_some());
            pieces.push(piece.map(|p| ward_cranelift::CompiledFunction {
                code: p.code,
                alignment: p.alignment,
            }));
        }
    }
    if pieces.is_empty() {
        let compile = |i: usize| {
            let index = shape.num_imported_funcs + i as u32;
            if skipped(engine, index) {
                return Ok(None);
            }
            match compiler.compile(&desc, &layout, index, &bodies[i], &plan_of(i)) {
                Ok(code) => Ok(Some(code)),
                Err(CompileError::Unsupported(_)) => Ok(None),
                Err(e) => Err(crate::Error::CompilerUnavailable(format!(
                    "compiling function {index}: {e}"
                ))),
            }
        };
        for piece in in_parallel(bodies.len(), compile) {
            let piece = piece?;
            compiled.push(piece.is_some());
            pieces.push(piece);
        }
    }
    let n_compiled = compiled.iter().filter(|c| **c).count();
    compiled_count.fetch_add(n_compiled as u64, Ordering::Relaxed);
    interpreted_count.fetch_add((compiled.len() - n_compiled) as u64, Ordering::Relaxed);
    if n_compiled == 0 {
        return Ok(Some(NativeCode {
            memories: Mutex::new(Vec::new()),
            funcs: (0..shape.num_imported_funcs as usize + bodies.len())
                .map(|_| AtomicPtr::new(abi::call_shim as *mut ()))
                .collect(),
            compiled: (0..bodies.len()).map(|_| AtomicBool::new(false)).collect(),
            tier_up: None,
            placed: (0..bodies.len()).map(|_| None).collect(),
        }));
    }
    let placed: Vec<(&[u8], u32)> = pieces
        .iter()
        .flatten()
        .map(|p| (p.code.as_slice(), p.alignment))
        .collect();
    let (memory, offsets) = CodeMemory::new(&placed).map_err(|e| {
        crate::Error::CompilerUnavailable(format!("mapping executable memory: {e}"))
    })?;
    let mut placed = Vec::with_capacity(pieces.len());
    let mut offsets = offsets.into_iter();
    let mut funcs: Vec<AtomicPtr<()>> = (0..shape.num_imported_funcs)
        .map(|_| AtomicPtr::new(abi::call_shim as *mut ()))
        .collect();
    for piece in &pieces {
        let code: NativeFn = match piece {
            Some(piece) => {
                let at = offsets.next().expect("one offset per placed piece");
                placed.push(Some((at, piece.code.len(), piece.alignment)));
                // SAFETY: the code at `at` is a complete function compiled for the host with the
                // signature `NativeFn` (the native signature every compiled function has, see
                // `ward_cranelift`), in executable memory that lives as long as the table.
                unsafe { std::mem::transmute::<*const u8, NativeFn>(memory.at(at)) }
            }
            None => {
                placed.push(None);
                abi::call_shim
            }
        };
        funcs.push(AtomicPtr::new(code as *mut ()));
    }
    Ok(Some(NativeCode {
        memories: Mutex::new(vec![memory]),
        funcs: funcs.into_boxed_slice(),
        compiled: compiled.into_iter().map(AtomicBool::new).collect(),
        tier_up: None,
        placed: placed.into_boxed_slice(),
    }))
}
