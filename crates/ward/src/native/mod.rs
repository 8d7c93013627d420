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
mod guard;
mod metering;
pub(crate) mod tier_up;

pub(crate) use metering::plan_of as metering_plan;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
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
    /// Function index (imports first) → its code with its type's direct signature (see
    /// `ward_cranelift`): a compiled function's body, its type's direct exit for any other
    /// function. Null for a function whose type the tier does not compile (compiled code never
    /// calls it directly), and for every function until `adapters` is set.
    direct: Box<[AtomicPtr<()>]>,
    /// Function index (imports first) → its type's index in `sigs`, if the tier compiles the type.
    sig_of: Box<[Option<u32>]>,
    /// The distinct types of the module's functions that the tier compiles, in order of first use.
    sigs: Box<[FuncSig]>,
    /// Per entry of `sigs`: its adapters, placed. Set once, before the first function's code is
    /// installed (when the module is compiled, or by the first tier-up).
    adapters: OnceLock<Box<[PlacedAdapters]>>,
    /// Defined function index → compiled.
    compiled: Box<[AtomicBool]>,
    /// What compiling functions later needs, with `Strategy::Auto`.
    tier_up: Option<Box<TierUp>>,
    /// With `Strategy::Cranelift`: per defined function, then per adapter (slot entry and direct
    /// exit of each of `sigs`), where its code is in the first code memory (offset, length,
    /// alignment), to write it into a precompiled module.
    placed: Box<[Option<(usize, usize, u32)>]>,
    /// Where each function's code is and its sites, for turning a fault into a trap.
    code_map: guard::CodeMap,
}

/// The adapters of one function type, in executable memory the module keeps.
#[derive(Clone, Copy)]
struct PlacedAdapters {
    slot_entry: NativeFn,
    /// The address of the direct exit (its signature depends on the type).
    direct_exit: usize,
}

/// The distinct types of the functions of `desc` that the tier compiles, in order of first use,
/// and each function's index among them.
fn signatures(desc: &ModuleDesc) -> (Box<[FuncSig]>, Box<[Option<u32>]>) {
    let mut sigs: Vec<FuncSig> = Vec::new();
    let mut index_of: HashMap<&FuncSig, u32> = HashMap::new();
    let mut sig_of = Vec::with_capacity(desc.func_types.len());
    for ty in &desc.func_types {
        let Some(sig) = desc.types.get(*ty as usize).and_then(Option::as_ref) else {
            sig_of.push(None);
            continue;
        };
        let at = *index_of.entry(sig).or_insert_with(|| {
            sigs.push(sig.clone());
            (sigs.len() - 1) as u32
        });
        sig_of.push(Some(at));
    }
    (sigs.into(), sig_of.into())
}

/// Function tables and type adapters for a module whose functions are described by `desc`:
/// every slot entry the runtime's shim, nothing direct yet, nothing compiled.
fn empty_code(desc: &ModuleDesc, n_defined: usize, tier_up: Option<Box<TierUp>>) -> NativeCode {
    let (sigs, sig_of) = signatures(desc);
    let n_funcs = sig_of.len();
    NativeCode {
        memories: Mutex::new(Vec::new()),
        funcs: (0..n_funcs)
            .map(|_| AtomicPtr::new(abi::call_shim as *mut ()))
            .collect(),
        direct: (0..n_funcs)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect(),
        sig_of,
        sigs,
        adapters: OnceLock::new(),
        compiled: (0..n_defined).map(|_| AtomicBool::new(false)).collect(),
        tier_up,
        placed: Box::new([]),
        code_map: guard::CodeMap::default(),
    }
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

    /// The direct table of the context (one code address per function, imports first).
    fn direct_ptr(&self) -> *const *const u8 {
        self.direct.as_ptr().cast::<*const u8>()
    }

    /// Installs the adapters of `sigs`, placed in `memory` at `offsets` (slot entry and direct
    /// exit of each type in turn): every function the tier could call directly gets its type's
    /// direct exit. Nothing happens if adapters were installed already.
    ///
    /// # Safety
    /// The code at each offset is the adapter `Compiler::compile_adapters` made for that type
    /// with this runtime's context layout; the caller keeps `memory` with the module
    /// ([`NativeCode::keep`]).
    unsafe fn install_adapters(&self, memory: &CodeMemory, offsets: &[usize]) {
        let placed: Box<[PlacedAdapters]> = offsets
            .chunks_exact(2)
            .map(|pair| PlacedAdapters {
                // SAFETY: a slot entry has the slot signature `NativeFn`, in executable memory
                // the module keeps (the caller's contract).
                slot_entry: unsafe {
                    std::mem::transmute::<*const u8, NativeFn>(memory.at(pair[0]))
                },
                direct_exit: memory.at(pair[1]) as usize,
            })
            .collect();
        if self.adapters.set(placed).is_err() {
            return;
        }
        let adapters = self.adapters.get().expect("just set");
        for (entry, sig) in self.direct.iter().zip(self.sig_of.iter()) {
            if let Some(sig) = sig {
                let exit = adapters[*sig as usize].direct_exit as *mut ();
                // Only a function not compiled yet still has no direct code.
                let _ = entry.compare_exchange(
                    std::ptr::null_mut(),
                    exit,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
    }

    /// Compiles and installs the adapters of the module's function types, unless they are
    /// installed; whether they are.
    fn ensure_adapters(&self, compiler: &ward_cranelift::Compiler) -> bool {
        if self.adapters.get().is_some() {
            return true;
        }
        let layout = abi::layout();
        let Ok(adapters) = self
            .sigs
            .iter()
            .map(|sig| compiler.compile_adapters(&layout, sig))
            .collect::<Result<Vec<_>, _>>()
        else {
            return false;
        };
        let pieces: Vec<(&[u8], u32)> = adapters
            .iter()
            .flat_map(|a| [&a.slot_entry, &a.direct_exit])
            .map(|c| (c.code.as_slice(), c.alignment))
            .collect();
        let Ok((memory, offsets)) = CodeMemory::new(&pieces) else {
            return false;
        };
        // SAFETY: `offsets` are the adapters `compile_adapters` made with `abi::layout()`, in
        // order; the module keeps `memory` (below).
        unsafe { self.install_adapters(&memory, &offsets) };
        self.keep(memory);
        true
    }

    /// The machine code that enters defined function `index` at its loops, if it is compiled and
    /// can enter at the loop at module offset `loop_offset`.
    fn loop_code(&self, index: u32, loop_offset: u32) -> Option<NativeFn> {
        let loops = self.tier_up.as_ref()?.loops.lock();
        match loops.unwrap_or_else(|e| e.into_inner()).get(&index) {
            Some(LoopCode::Ready { code, loops }) if loops.binary_search(&loop_offset).is_ok() => {
                Some(*code)
            }
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
            .map(|code| match code {
                LoopCode::Ready { loops, .. } => loops.len(),
                LoopCode::Asked(_) | LoopCode::Queued | LoopCode::Refused => 0,
            })
            .sum()
    }

    /// Keeps `memory` mapped as long as the module.
    fn keep(&self, memory: CodeMemory) {
        self.memories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(memory);
    }

    /// Makes `code` (with the direct signature of the function's type, in code memory the module
    /// keeps) the machine code of defined function `index`. The adapters must be installed.
    fn set_func(&self, index: u32, func_index: u32, code: *const u8) {
        let (Some(adapters), Some(Some(sig))) =
            (self.adapters.get(), self.sig_of.get(func_index as usize))
        else {
            debug_assert!(false, "a compiled function has adapters for its type");
            return;
        };
        // Direct first: a caller that finds the slot entry calls through the direct table.
        self.direct[func_index as usize].store(code.cast_mut().cast(), Ordering::Release);
        self.funcs[func_index as usize].store(
            adapters[*sig as usize].slot_entry as *mut (),
            Ordering::Release,
        );
        self.compiled[index as usize].store(true, Ordering::Release);
    }
}

impl NativeCode {
    /// The machine code of each defined function placed when the module was compiled (eagerly),
    /// for a precompiled module (`None` for functions left interpreted), then the adapters of
    /// each function type (slot entry, direct exit).
    pub(crate) fn pieces(&self) -> Vec<Option<artifact::Piece>> {
        let memories = self.memories.lock().unwrap_or_else(|e| e.into_inner());
        self.placed
            .iter()
            .map(|placed| {
                let (offset, len, alignment) = (*placed)?;
                let memory = memories.first()?;
                Some(artifact::Piece {
                    alignment,
                    code: memory.bytes(offset, len).to_vec(),
                    // Adapters have no sites (and no range).
                    sites: self
                        .code_map
                        .sites_at(memory.at(offset) as usize)
                        .unwrap_or_default(),
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

/// Looks for on-stack-replacement code at the loops of a function before that code is queued:
/// calls still running `LOOP_ASKS * LOOP_POLL` iterations after their function was compiled are
/// worth compiling it a second time for (only calls that began before run interpreted then).
pub(crate) const LOOP_ASKS: u32 = 8;

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
    /// Per defined function: tier-up points left until it is hot (0 once it was queued); once it
    /// is compiled, loop iterations left until the next look for code that enters at a loop.
    counters: Box<[AtomicU32]>,
    /// Per defined function: queued (or compiled, or refused by the compiler) already.
    queued: Box<[AtomicBool]>,
    /// Code that enters a function at its loops (on-stack replacement), by defined function
    /// index.
    loops: Mutex<HashMap<u32, LoopCode>>,
}

/// The state of a function's code that enters at its loops.
enum LoopCode {
    /// Asked for this many times (every `LOOP_POLL` iterations of a running call), not queued
    /// yet: a call that runs for [`LOOP_ASKS`] looks is worth the compilation.
    Asked(u32),
    /// Queued on the compile thread.
    Queued,
    /// The compiler does not enter the function at any loop (or could not compile it).
    Refused,
    /// Compiled: the machine code (in `NativeCode::memories`) and the module offsets of the
    /// loops it enters at, ascending.
    Ready { code: NativeFn, loops: Box<[u32]> },
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
        let Some(tier_up) = self.tier_up.as_ref() else {
            return TierUpStep::Go;
        };
        let Some(counter) = tier_up.counters.get(index as usize) else {
            return TierUpStep::Go;
        };
        if compiled {
            // A loop of a call that began before the function was compiled (later calls run the
            // machine code): its counter (0 since the function was queued) now counts down to
            // the next look for code that enters at the loop.
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

/// What the compiler needs to know of a module of `shape` (`guard_bytes`: `Engine::memory_guard`).
pub(crate) fn describe(shape: &ModuleShape<'_>, guard_bytes: u64) -> ModuleDesc {
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
    let memories = shape
        .memory_types
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (!m.shared && m.page_size_log2 == 16).then_some(Memory0 {
                page_size_log2: 16,
                // Only a 32-bit memory 0 is accessed through the guard region.
                guard_bytes: if i == 0 && !m.memory64 {
                    guard_bytes
                } else {
                    0
                },
                memory64: m.memory64,
            })
        })
        .collect();
    ModuleDesc {
        types,
        func_types: shape.func_types.to_vec(),
        globals: shape
            .global_types
            .iter()
            .map(|g| numeric(g.content))
            .collect(),
        memories,
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
        let desc = describe(shape, engine.memory_guard());
        let bodies_kept = tier_up_bodies.ok_or_else(|| {
            crate::Error::CompilerUnavailable(
                "internal error: no function bodies kept for tier-up".into(),
            )
        })?;
        let hot = if engine.config().tier_up_at_once {
            1
        } else {
            HOT
        };
        let tier_up = TierUp::new(desc.clone(), bodies_kept, hot);
        return Ok(Some(empty_code(
            &desc,
            bodies.len(),
            Some(Box::new(tier_up)),
        )));
    }
    let Some(compiler) = engine.inner.compiler.as_ref() else {
        return Ok(None);
    };
    if !compiles(engine) {
        interpreted_count.fetch_add(bodies.len() as u64, Ordering::Relaxed);
        return Ok(None);
    }
    let desc = describe(shape, engine.memory_guard());
    let mut code = empty_code(&desc, bodies.len(), None);
    let layout = abi::layout();
    let n_adapters = 2 * code.sigs.len();
    let mut pieces = Vec::with_capacity(bodies.len());
    let mut adapters = Vec::with_capacity(n_adapters);
    if let Some(mut precompiled) = precompiled {
        // A precompiled module (`Module::deserialize`): its code was made by this configuration
        // on a compatible host (checked with its header); Cranelift does not run again.
        // A module none of whose functions was compiled has no adapters.
        let nothing_compiled =
            precompiled.len() == bodies.len() && precompiled.iter().all(Option::is_none);
        if precompiled.len() != bodies.len() + n_adapters && !nothing_compiled {
            return Err(crate::aot::ArtifactError::Corrupt(format!(
                "{} pieces of code for a module that defines {} functions of {} types",
                precompiled.len(),
                bodies.len(),
                code.sigs.len()
            ))
            .into());
        }
        let adapter_pieces = precompiled.split_off(bodies.len());
        for piece in adapter_pieces {
            let piece = piece.ok_or_else(|| {
                crate::aot::ArtifactError::Corrupt("a function type without adapters".into())
            })?;
            adapters.push(ward_cranelift::CompiledFunction {
                code: piece.code,
                alignment: piece.alignment,
                sites: piece.sites,
            });
        }
        for piece in precompiled {
            pieces.push(piece.map(|p| ward_cranelift::CompiledFunction {
                code: p.code,
                alignment: p.alignment,
                sites: p.sites,
            }));
        }
    } else {
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
            pieces.push(piece?);
        }
        if pieces.iter().any(Option::is_some) {
            for sig in code.sigs.iter() {
                let pair = compiler.compile_adapters(&layout, sig).map_err(|e| {
                    crate::Error::CompilerUnavailable(format!("compiling adapters: {e}"))
                })?;
                adapters.extend([pair.slot_entry, pair.direct_exit]);
            }
        }
    }
    let n_compiled = pieces.iter().filter(|p| p.is_some()).count();
    compiled_count.fetch_add(n_compiled as u64, Ordering::Relaxed);
    interpreted_count.fetch_add((pieces.len() - n_compiled) as u64, Ordering::Relaxed);
    if n_compiled == 0 {
        code.placed = (0..bodies.len()).map(|_| None).collect();
        return Ok(Some(code));
    }
    let placed: Vec<(&[u8], u32)> = pieces
        .iter()
        .flatten()
        .chain(&adapters)
        .map(|p| (p.code.as_slice(), p.alignment))
        .collect();
    let (memory, offsets) = CodeMemory::new(&placed).map_err(|e| {
        crate::Error::CompilerUnavailable(format!("mapping executable memory: {e}"))
    })?;
    let (func_offsets, adapter_offsets) = offsets.split_at(n_compiled);
    let mut func_offsets = func_offsets.iter();
    let mut where_placed = Vec::with_capacity(pieces.len() + adapters.len());
    let mut bodies_at = Vec::with_capacity(pieces.len());
    for piece in &pieces {
        match piece {
            Some(piece) => {
                let at = *func_offsets.next().expect("one offset per placed piece");
                where_placed.push(Some((at, piece.code.len(), piece.alignment)));
                bodies_at.push(Some(memory.at(at)));
                code.code_map.add(guard::CodeRange {
                    start: memory.at(at) as usize,
                    len: piece.code.len(),
                    func_index: shape.num_imported_funcs + bodies_at.len() as u32 - 1,
                    sites: piece.sites.clone(),
                });
            }
            None => {
                where_placed.push(None);
                bodies_at.push(None);
            }
        }
    }
    for (piece, at) in adapters.iter().zip(adapter_offsets) {
        where_placed.push(Some((*at, piece.code.len(), piece.alignment)));
    }
    code.placed = where_placed.into_boxed_slice();
    // SAFETY: the pieces at `adapter_offsets` are the adapters of `code.sigs` in order, made by
    // `compile_adapters` with `abi::layout()` (or read from an artifact this configuration made);
    // `memory` is kept with the module (below).
    unsafe { code.install_adapters(&memory, adapter_offsets) };
    for (i, body) in bodies_at.into_iter().enumerate() {
        if let Some(body) = body {
            let func_index = shape.num_imported_funcs + i as u32;
            code.set_func(i as u32, func_index, body);
        }
    }
    // The only code memory: `pieces` reads what `placed` describes from it.
    code.keep(memory);
    Ok(Some(code))
}
