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
mod code_memory;
pub(crate) mod context;
mod metering;

use std::sync::atomic::Ordering;
use ward_cranelift::{CompileError, FuncSig, Memory0, ModuleDesc};

use wasmparser::FunctionBody;

use crate::engine::{Engine, Strategy};
use crate::interp::code::FuncCode;
use crate::types::{FuncType, GlobalType, MemoryType, TableType, ValType};
use abi::NativeFn;
use code_memory::CodeMemory;

/// A module's machine code.
pub(crate) struct NativeCode {
    /// Keeps the code mapped (the pointers in `funcs` point into it).
    _memory: CodeMemory,
    /// Function index (imports first) → the native entry compiled code calls it through: its
    /// machine code, or the shim that calls it through the store (imports, interpreted functions).
    funcs: Box<[NativeFn]>,
    /// Defined function index → compiled.
    compiled: Box<[bool]>,
}

impl NativeCode {
    /// Whether defined function `index` has machine code.
    pub fn is_compiled(&self, index: u32) -> bool {
        self.compiled.get(index as usize).copied().unwrap_or(false)
    }

    /// How many defined functions have machine code.
    pub fn compiled_count(&self) -> usize {
        self.compiled.iter().filter(|c| **c).count()
    }

    /// The function table of the context (one entry per function, imports first).
    fn funcs(&self) -> &[NativeFn] {
        &self.funcs
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
fn compiles(engine: &Engine) -> bool {
    let config = engine.config();
    config.strategy == Strategy::Cranelift
        && !config.deterministic
        && !config.async_support
        && !config.lazy_translation
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
        ValType::V128 | ValType::Ref(_) => return None,
    })
}

fn describe(shape: &ModuleShape<'_>) -> ModuleDesc {
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
    if engine.inner.compiler.is_some() {
        engine.inner.tier_counts[1].fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Compiles the defined functions of a module whose validated bodies are `bodies` and whose
/// interpreter code (which gives the metering plan) is `interp`, if the engine compiles with
/// Cranelift; `None` otherwise, or when no function could be compiled. A function the tier does
/// not compile stays interpreted (its `compiled` entry is false).
pub(crate) fn compile_module(
    engine: &Engine,
    shape: &ModuleShape<'_>,
    bodies: &[FunctionBody<'_>],
    interp: &[FuncCode],
) -> crate::Result<Option<NativeCode>> {
    let Some(compiler) = engine.inner.compiler.as_ref() else {
        return Ok(None);
    };
    let [compiled_count, interpreted_count] = &engine.inner.tier_counts;
    if !compiles(engine) {
        interpreted_count.fetch_add(bodies.len() as u64, Ordering::Relaxed);
        return Ok(None);
    }
    let desc = describe(shape);
    let layout = abi::layout();
    let mut pieces = Vec::with_capacity(bodies.len());
    let mut compiled = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.iter().enumerate() {
        let index = shape.num_imported_funcs + i as u32;
        if skipped(engine, index) {
            pieces.push(None);
            compiled.push(false);
            continue;
        }
        let plan = interp
            .get(i)
            .and_then(FuncCode::get)
            .map(metering::plan_of)
            .unwrap_or_default();
        match compiler.compile(&desc, &layout, index, body, &plan) {
            Ok(code) => {
                pieces.push(Some(code));
                compiled.push(true);
            }
            Err(CompileError::Unsupported(_)) => {
                pieces.push(None);
                compiled.push(false);
            }
            Err(e) => {
                return Err(crate::Error::CompilerUnavailable(format!(
                    "compiling function {index}: {e}"
                )));
            }
        }
    }
    let n_compiled = compiled.iter().filter(|c| **c).count();
    compiled_count.fetch_add(n_compiled as u64, Ordering::Relaxed);
    interpreted_count.fetch_add((compiled.len() - n_compiled) as u64, Ordering::Relaxed);
    if n_compiled == 0 {
        return Ok(None);
    }
    let placed: Vec<(&[u8], u32)> = pieces
        .iter()
        .flatten()
        .map(|p| (p.code.as_slice(), p.alignment))
        .collect();
    let (memory, offsets) = CodeMemory::new(&placed).map_err(|e| {
        crate::Error::CompilerUnavailable(format!("mapping executable memory: {e}"))
    })?;
    let mut offsets = offsets.into_iter();
    let mut funcs: Vec<NativeFn> = vec![abi::call_shim; shape.num_imported_funcs as usize];
    for piece in &pieces {
        funcs.push(match piece {
            Some(_) => {
                let at = offsets.next().expect("one offset per placed piece");
                // SAFETY: the code at `at` is a complete function compiled for the host with the
                // signature `NativeFn` (the native signature every compiled function has, see
                // `ward_cranelift`), in executable memory that lives as long as the table.
                unsafe { std::mem::transmute::<*const u8, NativeFn>(memory.at(at)) }
            }
            None => abi::call_shim,
        });
    }
    Ok(Some(NativeCode {
        _memory: memory,
        funcs: funcs.into_boxed_slice(),
        compiled: compiled.into_boxed_slice(),
    }))
}
