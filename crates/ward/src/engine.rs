//! [`Engine`] and [`Config`]: the shared, thread-safe context that modules are compiled in.
//!
//! The engine owns the registry of canonical types (`type_registry`), so that a type's id
//! ([`TypeId`]) is the same in every module of the engine: cross-module signature checks (imports,
//! `call_indirect`) are id comparisons, and casts walk declared supertypes by id. Used by `module`
//! (compilation) and `store`/`instance` (type checks at link and run time).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmparser::WasmFeatures;

use crate::Result;
use crate::proposals::ProposalSet;
use crate::reservation::MemoryPool;
use crate::type_registry::{RecGroupKey, RegisteredTypes, TypeInfo, TypeRegistry};
use crate::types::{FuncType, HeapType, RefType, TypeId, ValType};

/// Settings for an [`Engine`].
///
/// ```
/// use ward::{Config, Engine, Module, Store};
///
/// let mut config = Config::new();
/// config.consume_fuel(true).max_wasm_stack(256 * 1024).wasm_simd(false);
/// let engine = Engine::new(&config)?;
/// // SIMD is switched off, so a module using `v128` does not compile.
/// let err = Module::new(&engine, "(module (func (result v128) v128.const i64x2 0 0))");
/// assert!(err.is_err());
/// let mut store = Store::new(&engine, ());
/// store.set_fuel(1_000)?;
/// assert_eq!(store.get_fuel()?, 1_000);
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) max_wasm_stack: usize,
    pub(crate) memory_reservation: u64,
    pub(crate) memory_guard_size: u64,
    pub(crate) memory_pool_capacity: usize,
    pub(crate) consume_fuel: bool,
    pub(crate) epoch_interruption: bool,
    pub(crate) max_gc_heap: usize,
    pub(crate) max_translated_size: usize,
    pub(crate) max_compile_time: Option<std::time::Duration>,
    pub(crate) lazy_translation: bool,
    pub(crate) deterministic: bool,
    pub(crate) coredump_on_trap: bool,
    pub(crate) async_support: bool,
    pub(crate) strategy: Strategy,
    pub(crate) cranelift_skip: Option<u64>,
    pub(crate) tier_up_at_once: bool,
    pub(crate) proposals: ProposalSet,
    pub(crate) cache: bool,
    pub(crate) cache_directory: Option<std::path::PathBuf>,
}

/// Which tier runs a module's functions (see [`Config::strategy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// Every function runs in the interpreter (the default).
    #[default]
    Interpreter,
    /// Functions are compiled to machine code with Cranelift when the module is compiled; a
    /// function the tier does not compile yet stays interpreted. Needs ward's `cranelift` feature.
    Cranelift,
    /// Tier-up: every function starts in the interpreter, which counts its entries and loop
    /// iterations; a hot function is compiled with Cranelift on a background thread and its later
    /// calls run the machine code, while a call already running moves to it at a loop header
    /// (on-stack replacement). Cold code never pays compile time. Without ward's `cranelift`
    /// feature (or on a host Cranelift does not support), the interpreter alone.
    Auto,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_wasm_stack: 8 << 20,
            memory_reservation: 4 << 30,
            memory_guard_size: 32 << 20,
            memory_pool_capacity: 64,
            consume_fuel: false,
            epoch_interruption: false,
            max_gc_heap: 256 << 20,
            max_translated_size: usize::MAX,
            max_compile_time: None,
            lazy_translation: false,
            deterministic: false,
            coredump_on_trap: false,
            async_support: false,
            strategy: Strategy::Interpreter,
            cranelift_skip: None,
            tier_up_at_once: false,
            proposals: ProposalSet::default(),
            cache: false,
            cache_directory: None,
        }
    }
}

impl Config {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of interpreter stack (value slots and call frames) one call into Wasm may use (at most
    /// 8 GiB); deeper recursion traps with [`TrapKind::StackOverflow`](crate::TrapKind::StackOverflow).
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        // At most 8 GiB (2^30 slots) on 64-bit targets: lazy translation relies on a bound (see
        // `interp::code::CallEntry::UNTRANSLATED`). A 32-bit target cannot allocate more anyway.
        const MAX: usize = if usize::BITS > 32 {
            (8u64 << 30) as usize
        } else {
            usize::MAX
        };
        self.max_wasm_stack = bytes.clamp(4096, MAX);
        self
    }

    /// Meter execution with fuel: each store starts with 0 fuel (see
    /// [`Store::set_fuel`](crate::Store::set_fuel)) and running out traps with
    /// [`TrapKind::OutOfFuel`](crate::TrapKind::OutOfFuel).
    ///
    /// Cost model: every Wasm operator costs 1 unit, charged when the straight-line run of code it
    /// belongs to is entered (function entry, loop header, after `else`/`end`). A run that is left
    /// early by a branch or trap has still paid for all of its operators. Modules are translated
    /// without metering when this is off, so it costs nothing then.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.consume_fuel = enable;
        self
    }

    /// Check for interruption at every function entry and loop header: the store's epoch deadline
    /// (see [`Engine::increment_epoch`] and [`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline))
    /// and its [`InterruptHandle`](crate::InterruptHandle) (used by wall-clock deadlines). An infinite
    /// loop without calls is interrupted too.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.epoch_interruption = enable;
        self
    }

    /// Most bytes of GC objects (structs and arrays) a store may hold. Allocation collects garbage
    /// before the heap would grow past this, and traps with
    /// [`TrapKind::GcHeapExhausted`](crate::TrapKind::GcHeapExhausted) if live objects still do not
    /// fit.
    pub fn max_gc_heap(&mut self, bytes: usize) -> &mut Self {
        self.max_gc_heap = bytes;
        self
    }

    /// Most bytes of interpreter code one module may translate to (its bytecode and the table mapping
    /// it back to Wasm offsets, 20 bytes per instruction); default unlimited. A module that would
    /// exceed it fails to compile with [`Error::CompileLimit`](crate::Error::CompileLimit), checked as
    /// translation goes, so an embedder compiling untrusted modules bounds the memory compilation takes.
    /// Translation is linear in the module's size, so this mostly bounds huge modules.
    ///
    /// ```
    /// let mut config = ward::Config::new();
    /// config.max_translated_size(1 << 10);
    /// let engine = ward::Engine::new(&config).expect("valid engine configuration");
    /// let big = format!("(module (func {}))", "(drop (i32.add (i32.const 1) (i32.const 2)))".repeat(1000));
    /// assert!(matches!(ward::Module::new(&engine, &big), Err(ward::Error::CompileLimit(_))));
    /// ```
    pub fn max_translated_size(&mut self, bytes: usize) -> &mut Self {
        self.max_translated_size = bytes;
        self
    }

    /// Longest time compiling one module may take (validation and translation), checked as
    /// translation goes; default unlimited. Exceeding it fails with
    /// [`Error::CompileLimit`](crate::Error::CompileLimit).
    pub fn max_compile_time(&mut self, limit: std::time::Duration) -> &mut Self {
        self.max_compile_time = Some(limit);
        self
    }

    /// Translate each function at its first call instead of when the module is compiled (default
    /// off: eager translation).
    ///
    /// Validation stays eager: [`Module::new`](crate::Module::new) rejects an invalid module with
    /// the same error either way. A module whose functions are mostly never called then costs
    /// little more than its validation, and keeps a copy of its function bodies until it is
    /// dropped. A function is translated once per module, whichever stores or threads call it.
    ///
    /// The compile limits apply to the translation at a call: a call whose translation exceeds
    /// [`Config::max_translated_size`] (counted over the module's functions translated so far) or
    /// [`Config::max_compile_time`] (for that function's translation; `Module::new` checks it
    /// after each validated body) returns [`Error::CompileLimit`](crate::Error::CompileLimit)
    /// instead of a trap, and the function stays untranslated.
    ///
    /// ```
    /// let mut config = ward::Config::new();
    /// config.lazy_translation(true);
    /// let engine = ward::Engine::new(&config).expect("valid engine configuration");
    /// let module = ward::Module::new(&engine, r#"(module (func (export "f") (result i32) i32.const 7))"#)?;
    /// let mut store = ward::Store::new(&engine, ());
    /// let instance = ward::Instance::new(&mut store, &module, &[])?;
    /// let f = instance.get_typed_func::<(), i32>(&store, "f")?;
    /// assert_eq!(f.call(&mut store, ())?, 7);
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn lazy_translation(&mut self, enable: bool) -> &mut Self {
        self.lazy_translation = enable;
        self
    }

    /// Make every float operation's result independent of the host: an operator whose result is a
    /// NaN (arithmetic, `min`/`max`, rounding, `sqrt`, promotion and demotion, scalar and SIMD,
    /// relaxed SIMD included) gives the canonical NaN with a clear sign bit (`0x7fc0_0000` for
    /// `f32`, `0x7ff8_0000_0000_0000` for `f64`) instead of whatever payload and sign the host CPU
    /// propagates. Operators that only move bits (`abs`, `neg`, `copysign`, loads, stores,
    /// `reinterpret`, `select`, `pmin`/`pmax`) keep their operands' bits, as the Wasm specification
    /// requires. This is Wasm 3.0's deterministic profile for NaNs; the rest of ward's execution is
    /// already deterministic (relaxed SIMD has one fixed behaviour). Default off: the check costs an
    /// instruction after each such operator. WASI-level determinism (clocks, random, directory order)
    /// is `ward-wasi`'s part of the switch.
    ///
    /// ```
    /// let mut config = ward::Config::new();
    /// config.deterministic(true);
    /// let engine = ward::Engine::new(&config)?;
    /// let wat = r#"(module (func (export "nan") (result i32)
    ///     (i32.reinterpret_f32 (f32.div (f32.const 0) (f32.const 0)))))"#;
    /// let module = ward::Module::new(&engine, wat)?;
    /// let mut store = ward::Store::new(&engine, ());
    /// let instance = ward::Instance::new(&mut store, &module, &[])?;
    /// let nan = instance.get_typed_func::<(), i32>(&store, "nan")?;
    /// assert_eq!(nan.call(&mut store, ())? as u32, 0x7fc0_0000);
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn deterministic(&mut self, enable: bool) -> &mut Self {
        self.deterministic = enable;
        self
    }

    /// Attach a [`WasmCoreDump`](crate::WasmCoreDump) to every trap that ends a call into Wasm,
    /// as Wasmtime's option of the same name does: `err.downcast_ref::<WasmCoreDump>()` gets it,
    /// and [`WasmCoreDump::serialize`](crate::WasmCoreDump::serialize) writes the standard Wasm
    /// core dump format (a module with `core`, `coremodules`, `coreinstances` and `corestack`
    /// custom sections) that `wasm-tools` and `wasmgdb` read. Off by default.
    pub fn coredump_on_trap(&mut self, enable: bool) -> &mut Self {
        self.coredump_on_trap = enable;
        self
    }

    /// Allow async host functions ([`Linker::func_wrap_async`](crate::Linker::func_wrap_async),
    /// [`Linker::func_new_async`](crate::Linker::func_new_async)) and the async yields of
    /// [`Store::fuel_async_yield_interval`](crate::Store::fuel_async_yield_interval) and
    /// [`Store::epoch_deadline_async_yield_and_update`](crate::Store::epoch_deadline_async_yield_and_update).
    /// Calls that may reach an async host function go through
    /// [`Func::call_async`](crate::Func::call_async); a synchronous call that reaches one fails.
    ///
    /// ward's interpreter keeps Wasm frames off the host stack, so an async call needs no fiber or
    /// separate native stack: while a host future is pending, the call is a paused activation
    /// (its value stack and frame records) held by the call's future.
    pub fn async_support(&mut self, enable: bool) -> &mut Self {
        self.async_support = enable;
        self
    }

    /// Which tier runs the functions of modules compiled in this engine (default
    /// [`Strategy::Interpreter`]).
    ///
    /// With [`Strategy::Cranelift`] (which needs ward's `cranelift` feature; without it
    /// [`Engine::new`] fails with [`Error::CompilerUnavailable`](crate::Error::CompilerUnavailable)),
    /// each function is compiled to machine code when its module is compiled, unless it uses
    /// something the Cranelift tier does not compile yet: such a function stays interpreted, and
    /// compiled and interpreted functions call each other. Compiled code charges fuel and checks
    /// the epoch deadline exactly where and as much as the interpreter does, so a program
    /// consumes the same fuel in every tier. While deterministic NaNs, async support or lazy
    /// translation is on, every function stays interpreted (the compiled tier does not honour
    /// them yet). [`Module::compiled_function_count`](crate::Module::compiled_function_count)
    /// tells how many were compiled.
    ///
    /// [`Func::call_resumable`](crate::Func::call_resumable) pauses only in interpreted code: in
    /// compiled code, running out of fuel or an interruption traps.
    pub fn strategy(&mut self, strategy: Strategy) -> &mut Self {
        self.strategy = strategy;
        self
    }

    /// Keep the machine code of compiled modules in an on-disk cache and load it from there
    /// instead of running Cranelift again (with [`Strategy::Cranelift`]; off by default; `ward
    /// run -C cache=y`). The cache is a directory ([`Config::cache_directory`], by default
    /// `$XDG_CACHE_HOME/ward` or `~/.cache/ward`) of precompiled modules keyed by the SHA-256 of
    /// the Wasm, the configuration and the versions, each authenticated with an HMAC-SHA256
    /// under a key made for this host on first use (`hmac-key`, mode 0600, in the directory). An
    /// entry that fails any check is never run: the module is compiled again and the entry
    /// replaced ([`Engine::take_cache_warnings`] says why). Cache errors never fail
    /// `Module::new`.
    pub fn cache(&mut self, enable: bool) -> &mut Self {
        self.cache = enable;
        self
    }

    /// The directory of the code cache ([`Config::cache`]); created if missing.
    pub fn cache_directory(&mut self, dir: impl Into<std::path::PathBuf>) -> &mut Self {
        self.cache_directory = Some(dir.into());
        self
    }

    /// For tests that mix tiers: with [`Strategy::Cranelift`], keep about half of each module's
    /// functions interpreted although the tier could compile them, chosen by a hash of `seed` and
    /// the function index (`None`, the default, compiles every function it can).
    #[doc(hidden)]
    pub fn cranelift_skip_functions(&mut self, seed: Option<u64>) -> &mut Self {
        self.cranelift_skip = seed;
        self
    }

    /// For tests of tier-up: with [`Strategy::Auto`], a function is hot at its first tier-up point
    /// (its first entry or loop iteration), and the call that made it hot waits while it is
    /// compiled; so does a call that asks for code entering a loop it runs. Tier-up then happens
    /// at the same points on every run.
    #[doc(hidden)]
    pub fn tier_up_at_once(&mut self, at_once: bool) -> &mut Self {
        self.tier_up_at_once = at_once;
        self
    }

    /// Address space reserved up front for each linear memory, in bytes. Memory grows in place within
    /// the reservation; growing beyond it moves the memory.
    pub fn memory_reservation(&mut self, bytes: u64) -> &mut Self {
        self.memory_reservation = bytes;
        self
    }

    /// Bytes of inaccessible address space reserved after each linear memory's reservation (default
    /// 32 MiB; 0 turns guard regions off).
    ///
    /// With a compiled tier ([`Strategy::Cranelift`] or [`Strategy::Auto`] with ward's `cranelift`
    /// feature, on x86-64 Linux) and a reservation of at least 4 GiB, a 32-bit memory's
    /// reservation covers every address a 32-bit index plus a static offset up to this size can
    /// reach, and everything past the memory's length faults: compiled code then accesses memory
    /// without an explicit bounds check, and the fault becomes the `MemoryOutOfBounds` trap with
    /// the same backtrace. Accesses with larger offsets keep their explicit check.
    pub fn memory_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.memory_guard_size = bytes;
        self
    }

    /// How many released linear memories the engine keeps for reuse (default 64; 0 turns reuse off).
    ///
    /// When a store is dropped, its memories' address-space reservations are zeroed and kept by the
    /// engine, and later memories reuse them instead of mapping new ones. Pages the memory wrote are
    /// returned to the kernel while pooled (except those written by data segments, which the next
    /// instance of a module is likely to write again), so pooling adds no resident memory per
    /// instance. Each pooled reservation keeps up to [`Config::memory_reservation`] bytes of address
    /// space.
    ///
    /// ```
    /// let mut config = ward::Config::new();
    /// config.memory_pool_capacity(0); // map and unmap every memory
    /// let engine = ward::Engine::new(&config).expect("valid engine configuration");
    /// # let _ = engine;
    /// ```
    pub fn memory_pool_capacity(&mut self, count: usize) -> &mut Self {
        self.memory_pool_capacity = count;
        self
    }
}

pub(crate) struct EngineInner {
    pub config: Config,
    /// Canonical types of the engine's modules and host signatures.
    pub types: Arc<TypeRegistry>,
    pub epoch: AtomicU64,
    /// Reservations of dropped stores' memories, for reuse.
    pub memory_pool: MemoryPool,
    /// The Cranelift code generator, with [`Strategy::Cranelift`].
    #[cfg(feature = "cranelift")]
    pub compiler: Option<Arc<ward_cranelift::Compiler>>,
    /// Defined functions of this engine's modules compiled by the Cranelift tier, and left
    /// interpreted, with [`Strategy::Cranelift`].
    #[cfg(feature = "cranelift")]
    pub tier_counts: [AtomicU64; 2],
    /// The background compilation thread of [`Strategy::Auto`].
    #[cfg(feature = "cranelift")]
    pub tier_up: crate::native::compile_thread::CompileThread,
    /// What the code cache did ([`Config::cache`]).
    pub cache_stats: std::sync::Mutex<CacheStatistics>,
}

/// What the code cache ([`Config::cache`]) of an engine did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStatistics {
    /// Modules loaded from the cache (Cranelift did not run).
    pub hits: u64,
    /// Modules compiled because the cache had no entry for them.
    pub misses: u64,
    /// Entries refused (bad HMAC, truncated, foreign, corrupt): the module was compiled again.
    pub refused: u64,
    /// Entries written.
    pub stored: u64,
    /// Why entries were refused or could not be written, not yet taken by
    /// [`Engine::take_cache_warnings`].
    pub(crate) warnings: Vec<String>,
}

/// The compilation context shared by modules and stores. Cheap to clone; `Send + Sync`.
///
/// ```
/// use ward::{Config, Engine, Module};
///
/// let mut config = Config::new();
/// config.consume_fuel(true);
/// let engine = Engine::new(&config)?;
/// // Modules compiled for one engine run in any store of that engine.
/// let module = Module::new(&engine, "(module (func (export \"f\")))")?;
/// assert!(module.get_export("f").is_some());
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the default configuration is valid")
    }
}

impl Engine {
    /// What the code cache ([`Config::cache`]) did so far.
    pub fn cache_statistics(&self) -> CacheStatistics {
        let mut stats = self
            .inner
            .cache_stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        stats.warnings.clear();
        stats
    }

    /// The code cache's warnings since the last call: why an entry was refused (and the module
    /// compiled again) or could not be written. `ward run` prints them on stderr.
    pub fn take_cache_warnings(&self) -> Vec<String> {
        std::mem::take(
            &mut self
                .inner
                .cache_stats
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .warnings,
        )
    }

    /// An engine with the given configuration.
    ///
    /// Returns a `Result`, as Wasmtime's does, so `Engine::new(&config)?` ports unchanged. The one
    /// configuration rejected is [`Strategy::Cranelift`] where the Cranelift tier is not built in
    /// or cannot compile for the host ([`Error::CompilerUnavailable`](crate::Error::CompilerUnavailable)):
    /// the setters clamp out-of-range values, and a proposal whose base proposal is off is off too
    /// rather than an error (see [`Config::wasm_proposal`]).
    ///
    /// ```
    /// let mut config = ward::Config::new();
    /// config.consume_fuel(true);
    /// let engine = ward::Engine::new(&config)?;
    /// # let _ = engine;
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn new(config: &Config) -> Result<Engine> {
        #[cfg(feature = "cranelift")]
        let compiler = match config.strategy {
            Strategy::Cranelift => {
                Some(Arc::new(ward_cranelift::Compiler::new().map_err(|e| {
                    crate::Error::CompilerUnavailable(format!(
                        "Cranelift cannot compile for this host: {e}"
                    ))
                })?))
            }
            // Tier-up makes its compiler on its own thread, when a function first gets hot, so
            // that start-up does not pay for it (`native::tier_up`).
            _ => None,
        };
        #[cfg(not(feature = "cranelift"))]
        if config.strategy == Strategy::Cranelift {
            return Err(crate::Error::CompilerUnavailable(
                "the Cranelift compiler is not built into this ward (enable its `cranelift` feature)"
                    .into(),
            ));
        }
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                types: Arc::default(),
                epoch: AtomicU64::new(0),
                memory_pool: MemoryPool::new(config.memory_pool_capacity),
                #[cfg(feature = "cranelift")]
                compiler,
                #[cfg(feature = "cranelift")]
                tier_counts: Default::default(),
                #[cfg(feature = "cranelift")]
                tier_up: Default::default(),
                cache_stats: Default::default(),
            }),
        })
    }

    /// The guard region compiled code may rely on after a 32-bit memory's first 4 GiB (see
    /// [`Config::memory_guard_size`]), in bytes; 0 when accesses keep explicit checks: without a
    /// compiled tier, on hosts where faults are not turned into traps, or with a reservation
    /// under 4 GiB. Memories of this engine are created to match (`runtime::memory`).
    pub(crate) fn memory_guard(&self) -> u64 {
        let config = self.config();
        let compiled_tier = cfg!(feature = "cranelift")
            && matches!(config.strategy, Strategy::Cranelift | Strategy::Auto);
        let faults_trap = cfg!(all(target_arch = "x86_64", target_os = "linux", not(miri)));
        if compiled_tier && faults_trap && config.memory_reservation >= 4 << 30 {
            config.memory_guard_size.min(1 << 32)
        } else {
            0
        }
    }

    /// The Wasm features the validator accepts: the base set and the proposals the configuration
    /// switched on (see `proposals`).
    pub(crate) fn features(&self) -> WasmFeatures {
        self.inner.config.proposals.features()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Advances the engine's epoch by one; stores whose epoch deadline is reached trap with
    /// [`TrapKind::Interrupt`](crate::TrapKind::Interrupt) at their next check. Cheap; callable from
    /// any thread.
    pub fn increment_epoch(&self) {
        self.inner.epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// How many defined functions of the modules compiled in this engine so far were compiled to
    /// machine code by the Cranelift tier, and how many were left to the interpreter, with
    /// [`Strategy::Cranelift`], or, with [`Strategy::Auto`], how many were compiled by tier-up so
    /// far and how many are still interpreted; `(0, 0)` with the interpreter. For tests and
    /// tooling.
    #[doc(hidden)]
    pub fn tier_function_counts(&self) -> (u64, u64) {
        #[cfg(feature = "cranelift")]
        {
            let [compiled, interpreted] = &self.inner.tier_counts;
            (
                compiled.load(Ordering::Relaxed),
                interpreted.load(Ordering::Relaxed),
            )
        }
        #[cfg(not(feature = "cranelift"))]
        (0, 0)
    }

    pub(crate) fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Relaxed)
    }

    /// Whether two handles refer to the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    pub(crate) fn type_info(&self, id: TypeId) -> Option<TypeInfo> {
        self.inner.types.with_info(id, TypeInfo::clone)
    }

    /// The signature of a canonical function type.
    pub(crate) fn func_type(&self, id: TypeId) -> FuncType {
        self.inner
            .types
            .with_info(id, |info| info.func.clone())
            .flatten()
            .expect("function type ids are registered while their module or store lives")
    }

    /// Whether `sub` is `sup` or declares it (transitively) as a supertype.
    pub(crate) fn id_is_subtype(&self, sub: TypeId, sup: TypeId) -> bool {
        self.inner.types.is_subtype(sub, sup)
    }

    /// Whether `id` names a registered type that satisfies `test`.
    pub(crate) fn type_is(&self, id: TypeId, test: impl FnOnce(&TypeInfo) -> bool) -> bool {
        self.inner.types.with_info(id, test).unwrap_or(false)
    }

    /// Reference subtyping over abstract and defined heap types.
    pub(crate) fn ref_is_subtype(&self, sub: RefType, sup: RefType) -> bool {
        if sub.nullable && !sup.nullable {
            return false;
        }
        self.heap_is_subtype(sub.heap, sup.heap)
    }

    pub(crate) fn heap_is_subtype(&self, sub: HeapType, sup: HeapType) -> bool {
        use HeapType::*;
        if sub == sup {
            return true;
        }
        match (sub, sup) {
            (Concrete(a), Concrete(b)) => self.id_is_subtype(a, b),
            (Concrete(a), Func) => self.type_is(a, |i| i.func.is_some()),
            (Concrete(a), Any | Eq) => self.type_is(a, |i| i.func.is_none()),
            (Concrete(a), Struct) => self.type_is(a, |i| {
                matches!(i.layout, Some(crate::gc_repr::Layout::Struct { .. }))
            }),
            (Concrete(a), Array) => self.type_is(a, |i| {
                matches!(i.layout, Some(crate::gc_repr::Layout::Array(_)))
            }),
            (NoFunc, Func) => true,
            (NoFunc, Concrete(b)) => self.type_is(b, |i| i.func.is_some()),
            (NoExtern, Extern) => true,
            (NoExn, Exn) => true,
            (None, Any | Eq | I31 | Struct | Array) => true,
            (None, Concrete(b)) => self.type_is(b, |i| i.func.is_none()),
            (Eq | I31 | Struct | Array, Any) => true,
            (I31 | Struct | Array, Eq) => true,
            _ => false,
        }
    }

    pub(crate) fn valtype_is_subtype(&self, sub: ValType, sup: ValType) -> bool {
        match (sub, sup) {
            (ValType::Ref(a), ValType::Ref(b)) => self.ref_is_subtype(a, b),
            (a, b) => a == b,
        }
    }

    /// The canonical id of a function signature made by the host (numeric and abstract reference
    /// types only), and the registration that keeps it: the id stays valid while that is held.
    pub(crate) fn register_host_func_type(
        &self,
        ty: &FuncType,
    ) -> Result<(TypeId, RegisteredTypes)> {
        let (ids, registered) = self.inner.types.register(RecGroupKey::host_func(ty)?)?;
        Ok((ids[0], registered))
    }
}
