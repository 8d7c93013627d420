//! The interpreter tier's code of a module ([`InterpCode`], held by `ModuleInner` behind the
//! tier interface `crate::tier::TierCode`): each defined function's bytecode, translated eagerly
//! when the module is compiled or lazily at its first call.
//!
//! Lazy translation: a module compiled with `Config::lazy_translation` validates every function
//! body when it is compiled but translates each only at its first call.
//!
//! [`LazyCode`] keeps what a later translation needs: the bytes of the function bodies and the
//! module's types as its own validator left them. Translated code is set in the function's
//! `OnceLock` ([`FuncCode`]), so a module shared by stores on several threads translates a function
//! once (two threads calling it first at the same time may both translate it; one result is kept,
//! and both are the same), and then published in its [`CallEntry`] for threaded calls. Each
//! function's immediates live in its own side tables (`translate::SideTables`), so translating
//! one touches nothing else of the module. An eagerly compiled module uses the same structures,
//! set and published when it is compiled.
//!
//! Used by `module` (compilation) and, through [`ModuleInner::compiled`], by the executor.

use std::ops::Range;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use wasmparser::types::{CoreTypeId, Types};
use wasmparser::{BinaryReader, FunctionBody};

use super::bytecode::Instr;
use super::translate::{CompiledFunc, ModuleEnv, Translator};
use crate::Result;
use crate::engine::Engine;
use crate::module::ModuleInner;
use crate::module::func_body::{
    CompileBudget, ReaderScratch, translate_validated, translated_size,
};
use crate::module::types::CanonicalTypes;
use crate::types::TypeId;

/// The interpreter's code of one module's defined functions.
pub(crate) struct InterpCode {
    /// Each defined function's code: all translated when the module is compiled eagerly, each at
    /// its first call when lazily ([`ModuleInner::compiled`] translates).
    pub funcs: Box<[FuncCode]>,
    /// What translating a function later needs, with `Config::lazy_translation`.
    pub lazy: Option<Box<LazyCode>>,
}

impl crate::tier::TierCode for InterpCode {
    fn functions(&self) -> usize {
        self.funcs.len()
    }

    fn has_code(&self, index: u32) -> bool {
        self.funcs
            .get(index as usize)
            .is_some_and(|f| f.get().is_some())
    }
}

/// A defined function's code, translated once, and a copy of what the threaded `call` reads of it.
pub(crate) struct FuncCode {
    compiled: OnceLock<CompiledFunc>,
    /// Published after `compiled` is set.
    pub call: CallEntry,
}

/// What a call from threaded code needs of its callee, readable without a check of whether the
/// callee is translated: that check would cost every call (a `OnceLock::get` made `fib` 1.6%
/// more instructions). Until the callee is translated, the frame size reads as
/// [`CallEntry::UNTRANSLATED`], which fails the call's stack check, and the call goes to
/// `exec::run`, which translates the callee. The other fields are stored before the frame size
/// (release) and read after it (acquire), so a reader that sees the frame size sees them.
pub(crate) struct CallEntry {
    pub frame_size: AtomicU32,
    pub num_params: AtomicU32,
    pub num_locals: AtomicU32,
    /// The first instruction of the code.
    pub code: AtomicPtr<Instr>,
    /// The function's `v128` constants (null if it has none), for threaded `v128.const`: one load
    /// from here rather than a check of the `OnceLock` and a walk to the side tables, which cost
    /// the `simd` kernel 6% more instructions.
    pub v128_consts: AtomicPtr<u128>,
}

impl CallEntry {
    /// The frame size of an untranslated function: larger than any stack (`Config::max_wasm_stack`
    /// is at most 8 GiB, 2^30 slots) and small enough that adding a frame pointer to it does not
    /// overflow a 32-bit `usize` (where a stack has fewer than 2^28 slots).
    pub const UNTRANSLATED: u32 = 1 << 31;

    fn untranslated() -> Self {
        CallEntry {
            frame_size: AtomicU32::new(Self::UNTRANSLATED),
            num_params: AtomicU32::new(0),
            num_locals: AtomicU32::new(0),
            code: AtomicPtr::new(std::ptr::null_mut()),
            v128_consts: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Publishes `compiled`, which lives as long as this entry (both are in one `FuncCode`).
    /// Publishing the same code again stores the same values, so racing threads may all publish.
    fn publish(&self, compiled: &CompiledFunc) {
        self.num_params
            .store(compiled.num_params, Ordering::Relaxed);
        self.num_locals
            .store(compiled.num_locals, Ordering::Relaxed);
        self.code
            .store(compiled.code.as_ptr().cast_mut(), Ordering::Relaxed);
        let v128_consts = &compiled.side_tables().v128_consts;
        let v128_consts = if v128_consts.is_empty() {
            std::ptr::null_mut()
        } else {
            v128_consts.as_ptr().cast_mut()
        };
        self.v128_consts.store(v128_consts, Ordering::Relaxed);
        self.frame_size
            .store(compiled.frame_size, Ordering::Release);
    }
}

impl FuncCode {
    /// A function to translate at its first call.
    pub fn untranslated() -> Self {
        FuncCode {
            compiled: OnceLock::new(),
            call: CallEntry::untranslated(),
        }
    }

    /// A function translated already.
    pub fn translated(compiled: CompiledFunc) -> Self {
        let code = FuncCode::untranslated();
        code.set(compiled);
        code
    }

    /// The translated code, if the function is translated.
    #[inline]
    pub fn get(&self) -> Option<&CompiledFunc> {
        self.compiled.get()
    }

    /// Sets the translated code unless another thread did first, and publishes it (again, if
    /// that thread did not yet); true if this call set it.
    fn set(&self, compiled: CompiledFunc) -> bool {
        let set = self.compiled.set(compiled).is_ok();
        self.call
            .publish(self.compiled.get().expect("the code was set above"));
        set
    }

    /// Whether the code is published: a thread that sees it published (which this load orders)
    /// sees every field of `call`. Every function runs only after its thread saw this (here or in
    /// the threaded call) or published the code itself, which threaded code relies on.
    #[inline]
    fn is_published(&self) -> bool {
        self.call.frame_size.load(Ordering::Acquire) != CallEntry::UNTRANSLATED
    }
}

/// What translating a lazily compiled module's functions needs.
pub(crate) struct LazyCode {
    /// The module's function bodies, copied from the binary: from the first body's start to the
    /// last body's end.
    pub bodies_bytes: Box<[u8]>,
    /// Offset of `bodies_bytes` in the module binary (translated code maps back to it).
    pub bodies_offset: usize,
    /// Each defined function's body, as a range of `bodies_bytes`.
    pub bodies: Box<[Range<usize>]>,
    /// The module's types, from its validator, and their canonical ids.
    pub types: Types,
    pub canonical_ids: Arc<[Option<TypeId>]>,
    /// Module type index → module-local id.
    pub local_ids: Vec<CoreTypeId>,
    /// Function index → module-local type id (imports first).
    pub local_func_type_ids: Vec<CoreTypeId>,
    /// Module-local function type id of every tag (imports first).
    pub local_tag_types: Vec<CoreTypeId>,
    /// Memory 0 (imported or defined) is a 64-bit memory.
    pub memory0_is_64: bool,
    /// Which memories (imports first) are shared.
    pub shared_memories: Vec<bool>,
    /// Bytes of code translated so far, counted against `Config::max_translated_size`.
    pub translated_bytes: AtomicUsize,
}

impl LazyCode {
    /// Translates defined function `index` of `module`.
    ///
    /// The compile budget applies as in eager translation, with two differences: the translated
    /// size counts every function of the module translated so far (racing translations may each
    /// see the total before the other's), and `Config::max_compile_time` bounds each function's
    /// translation, from its start.
    fn translate(&self, module: &ModuleInner, engine: &Engine, index: u32) -> Result<CompiledFunc> {
        let config = engine.config();
        let started = std::time::Instant::now();
        let budget = CompileBudget {
            translated: self.translated_bytes.load(Ordering::Relaxed),
            max_translated: config.max_translated_size,
            deadline: config
                .max_compile_time
                .and_then(|limit| started.checked_add(limit)),
        };
        let types = CanonicalTypes::with_ids(self.types.as_ref(), self.canonical_ids.clone());
        let mut env = ModuleEnv {
            types: &types,
            type_ids: &self.local_ids,
            func_type_ids: &self.local_func_type_ids,
            fuel: config.consume_fuel,
            interrupts: config.epoch_interruption,
            tier_up: false,
            canonical_nans: config.deterministic,
            global_types: &module.global_types,
            tag_types: &self.local_tag_types,
            memory0_is_64: self.memory0_is_64,
            shared_memories: &self.shared_memories,
            scratch: Default::default(),
            side_tables: Default::default(),
        };
        let range = self.bodies[index as usize].clone();
        let reader = BinaryReader::new_features(
            &self.bodies_bytes[range.clone()],
            (self.bodies_offset + range.start) as u64,
            module.engine.features(),
        );
        let body = FunctionBody::new(reader);
        let func_type = self.local_func_type_ids[(module.num_imported_funcs + index) as usize];
        let mut translator = Translator::new(&mut env, func_type);
        translate_validated(
            &mut translator,
            &body,
            &mut ReaderScratch::default(),
            &budget,
        )?;
        let compiled = translator.finish();
        budget.check(compiled.code.len())?;
        Ok(compiled)
    }
}

impl ModuleInner {
    /// The code of defined function `index`, translated now if it was not yet.
    ///
    /// Fails only in a lazily translated module, with [`Error::CompileLimit`](crate::Error::CompileLimit) when translating the
    /// function exceeds the compile budget (a function that failed is translated again at its next
    /// call, and fails again unless it was the time limit).
    #[inline]
    pub(crate) fn compiled(&self, index: u32) -> Result<&CompiledFunc> {
        let func = &self.interp.funcs[index as usize];
        match func.get() {
            Some(compiled) if func.is_published() => Ok(compiled),
            _ => self.translate_lazily(index),
        }
    }

    #[cold]
    #[inline(never)]
    fn translate_lazily(&self, index: u32) -> Result<&CompiledFunc> {
        let func = &self.interp.funcs[index as usize];
        if let Some(compiled) = func.get() {
            // Another thread set the code and has not published it yet.
            func.call.publish(compiled);
            return Ok(compiled);
        }
        let lazy = self
            .interp
            .lazy
            .as_deref()
            .expect("an eagerly compiled module translated all its functions");
        let compiled = lazy.translate(self, &self.engine, index)?;
        let bytes = translated_size(compiled.code.len());
        // Another thread may have published its translation first; both are the same.
        if func.set(compiled) {
            lazy.translated_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        Ok(func.get().expect("the function's code was published above"))
    }

    /// The code of defined function `index`, which has run or is running, so is translated.
    #[inline]
    pub(crate) fn translated(&self, index: u32) -> &CompiledFunc {
        self.interp.funcs[index as usize]
            .get()
            .expect("a function is translated before it runs")
    }
}
