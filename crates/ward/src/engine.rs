//! [`Engine`] and [`Config`]: the shared, thread-safe context that modules are compiled in.
//!
//! The engine owns one wasmparser `Validator` whose type list persists across modules, so that a type's
//! canonical id ([`TypeId`]) is the same in every module of the engine: cross-module signature checks
//! (imports, `call_indirect`) are id comparisons. Used by `module` (compilation) and `store`/`instance`
//! (type checks at link and run time).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use wasmparser::types::{CoreTypeId, Types, TypesRef};
use wasmparser::{CompositeInnerType, UnpackedIndex, Validator, WasmFeatures};

use crate::memory::MemoryPool;
use crate::types::{FuncType, HeapType, RefType, TypeId, ValType};
use crate::{Error, Result};

/// Settings for an [`Engine`].
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) max_wasm_stack: usize,
    pub(crate) memory_reservation: u64,
    pub(crate) memory_pool_capacity: usize,
    pub(crate) consume_fuel: bool,
    pub(crate) epoch_interruption: bool,
    pub(crate) max_gc_heap: usize,
    pub(crate) max_translated_size: usize,
    pub(crate) max_compile_time: Option<std::time::Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_wasm_stack: 8 << 20,
            memory_reservation: 4 << 30,
            memory_pool_capacity: 64,
            consume_fuel: false,
            epoch_interruption: false,
            max_gc_heap: 256 << 20,
            max_translated_size: usize::MAX,
            max_compile_time: None,
        }
    }
}

impl Config {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of interpreter stack (value slots and call frames) one call into Wasm may use; deeper
    /// recursion traps with [`TrapKind::StackOverflow`](crate::TrapKind::StackOverflow).
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes.max(4096);
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
    /// let engine = ward::Engine::new(&config);
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

    /// Address space reserved up front for each linear memory, in bytes. Memory grows in place within
    /// the reservation; growing beyond it moves the memory.
    pub fn memory_reservation(&mut self, bytes: u64) -> &mut Self {
        self.memory_reservation = bytes;
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
    /// let engine = ward::Engine::new(&config);
    /// # let _ = engine;
    /// ```
    pub fn memory_pool_capacity(&mut self, count: usize) -> &mut Self {
        self.memory_pool_capacity = count;
        self
    }
}

/// Information the runtime needs about a canonical type.
#[derive(Debug, Clone)]
pub(crate) struct TypeInfo {
    /// The function signature, for function types.
    pub func: Option<FuncType>,
    /// Declared supertype.
    pub supertype: Option<CoreTypeId>,
    /// Object layout, for struct and array types.
    pub layout: Option<crate::gc::Layout>,
}

pub(crate) struct EngineInner {
    pub config: Config,
    pub validator: Mutex<Validator>,
    types: RwLock<HashMap<CoreTypeId, TypeInfo>>,
    host_types: Mutex<HashMap<FuncType, CoreTypeId>>,
    pub epoch: AtomicU64,
    /// Reservations of dropped stores' memories, for reuse.
    pub memory_pool: MemoryPool,
}

/// The compilation context shared by modules and stores. Cheap to clone; `Send + Sync`.
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
        Engine::new(&Config::default())
    }
}

impl Engine {
    /// An engine with the given configuration.
    pub fn new(config: &Config) -> Engine {
        Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                validator: Mutex::new(Validator::new_with_features(Self::features())),
                types: RwLock::new(HashMap::new()),
                host_types: Mutex::new(HashMap::new()),
                epoch: AtomicU64::new(0),
                memory_pool: MemoryPool::new(config.memory_pool_capacity),
            }),
        }
    }

    /// The Wasm features the validator accepts: WebAssembly 3.0.
    pub(crate) fn features() -> WasmFeatures {
        WasmFeatures::WASM3
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

    pub(crate) fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Relaxed)
    }

    /// Whether two handles refer to the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// Records the canonical types a freshly validated module defines.
    pub(crate) fn register_types(&self, types: TypesRef<'_>) {
        let count = types.core_type_count_in_module();
        let mut registry = self.inner.types.write().expect("type registry poisoned");
        for index in 0..count {
            let id = types.core_type_at_in_module(index);
            if registry.contains_key(&id) {
                continue;
            }
            let sub = &types[id];
            let func = match &sub.composite_type.inner {
                CompositeInnerType::Func(f) => Some(FuncType::new(
                    f.params().iter().map(|t| convert_valtype(types, *t, id)),
                    f.results().iter().map(|t| convert_valtype(types, *t, id)),
                )),
                _ => None,
            };
            registry.insert(
                id,
                TypeInfo {
                    func,
                    supertype: types.supertype_of(id),
                    layout: crate::gc::Layout::from_composite(&sub.composite_type.inner),
                },
            );
        }
    }

    /// Gives the types of a validated module their canonical ids: validates a module holding only the
    /// module's type section (`type_section` is the section's content) in the engine's validator and
    /// records the types. Type definitions refer to nothing outside their section, so this cannot fail
    /// for a section that was valid in its module; if it fails anyway, the engine's validator is
    /// replaced so it stays usable.
    pub(crate) fn register_type_section(&self, type_section: &[u8]) -> Result<Types> {
        let mut wasm = Vec::with_capacity(type_section.len() + 14);
        wasm.extend_from_slice(b"\0asm\x01\0\0\0");
        if !type_section.is_empty() {
            wasm.push(1);
            leb128_u32(&mut wasm, type_section.len() as u32);
            wasm.extend_from_slice(type_section);
        }
        let types = {
            let mut validator = self
                .inner
                .validator
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            validator.reset();
            validator.validate_all(&wasm).map_err(|e| {
                *validator = Validator::new_with_features(Self::features());
                Error::invalid(e)
            })?
        };
        self.register_types(types.as_ref());
        Ok(types)
    }

    pub(crate) fn type_info(&self, id: CoreTypeId) -> Option<TypeInfo> {
        self.inner
            .types
            .read()
            .expect("type registry poisoned")
            .get(&id)
            .cloned()
    }

    /// The signature of a canonical function type.
    pub(crate) fn func_type(&self, id: CoreTypeId) -> FuncType {
        self.type_info(id)
            .and_then(|info| info.func)
            .expect("function type ids are registered when their module is compiled")
    }

    /// Whether `sub` is `sup` or declares it (transitively) as a supertype.
    pub(crate) fn id_is_subtype(&self, sub: CoreTypeId, sup: CoreTypeId) -> bool {
        let mut cur = Some(sub);
        while let Some(id) = cur {
            if id == sup {
                return true;
            }
            cur = self.type_info(id).and_then(|i| i.supertype);
        }
        false
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
            (Concrete(a), Concrete(b)) => self.id_is_subtype(a.0, b.0),
            (Concrete(a), Func) => self.type_info(a.0).is_some_and(|i| i.func.is_some()),
            (Concrete(a), Any | Eq) => self.type_info(a.0).is_some_and(|i| i.func.is_none()),
            (Concrete(a), Struct) => self
                .type_info(a.0)
                .is_some_and(|i| matches!(i.layout, Some(crate::gc::Layout::Struct { .. }))),
            (Concrete(a), Array) => self
                .type_info(a.0)
                .is_some_and(|i| matches!(i.layout, Some(crate::gc::Layout::Array(_)))),
            (NoFunc, Func) => true,
            (NoFunc, Concrete(b)) => self.type_info(b.0).is_some_and(|i| i.func.is_some()),
            (NoExtern, Extern) => true,
            (NoExn, Exn) => true,
            (None, Any | Eq | I31 | Struct | Array) => true,
            (None, Concrete(b)) => self.type_info(b.0).is_some_and(|i| i.func.is_none()),
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
    /// types only), interned by validating a one-type module in the engine's validator.
    pub(crate) fn intern_host_func_type(&self, ty: &FuncType) -> Result<CoreTypeId> {
        let mut cache = self
            .inner
            .host_types
            .lock()
            .expect("host type cache poisoned");
        if let Some(id) = cache.get(ty) {
            return Ok(*id);
        }
        let mut body = vec![1u8, 0x60];
        encode_valtypes(&mut body, ty.params())?;
        encode_valtypes(&mut body, ty.results())?;
        // `body` is a type section holding the one function type.
        let types = self.register_type_section(&body)?;
        let id = types.as_ref().core_type_at_in_module(0);
        cache.insert(ty.clone(), id);
        Ok(id)
    }
}

fn leb128_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn encode_valtypes(out: &mut Vec<u8>, tys: &[ValType]) -> Result<()> {
    leb128_u32(out, tys.len() as u32);
    for ty in tys {
        let byte = match ty {
            ValType::I32 => 0x7f,
            ValType::I64 => 0x7e,
            ValType::F32 => 0x7d,
            ValType::F64 => 0x7c,
            ValType::V128 => 0x7b,
            ValType::Ref(r) => {
                let code = match r.heap {
                    HeapType::Func => 0x70,
                    HeapType::Extern => 0x6f,
                    HeapType::Any => 0x6e,
                    HeapType::Eq => 0x6d,
                    HeapType::I31 => 0x6c,
                    HeapType::Struct => 0x6b,
                    HeapType::Array => 0x6a,
                    HeapType::Exn => 0x69,
                    HeapType::NoExn => 0x74,
                    HeapType::NoFunc => 0x73,
                    HeapType::NoExtern => 0x72,
                    HeapType::None => 0x71,
                    HeapType::Concrete(_) => {
                        return Err(Error::Usage(
                            "host function signatures cannot name defined types".into(),
                        ));
                    }
                };
                if !r.nullable {
                    out.push(0x64);
                }
                code
            }
        };
        out.push(byte);
    }
    Ok(())
}

/// Converts a validated wasmparser value type into ward's, resolving rec-group-relative indices
/// against the rec group of `context`.
pub(crate) fn convert_valtype(
    types: TypesRef<'_>,
    ty: wasmparser::ValType,
    context: CoreTypeId,
) -> ValType {
    match ty {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => ValType::Ref(convert_reftype(types, r, Some(context))),
    }
}

/// Converts a validated reference type; `context` resolves rec-group-relative indices.
pub(crate) fn convert_reftype(
    types: TypesRef<'_>,
    r: wasmparser::RefType,
    context: Option<CoreTypeId>,
) -> RefType {
    use wasmparser::AbstractHeapType as A;
    let heap = match r.heap_type() {
        wasmparser::HeapType::Abstract { ty, .. } => match ty {
            A::Func => HeapType::Func,
            A::NoFunc => HeapType::NoFunc,
            A::Extern => HeapType::Extern,
            A::NoExtern => HeapType::NoExtern,
            A::Any => HeapType::Any,
            A::Eq => HeapType::Eq,
            A::I31 => HeapType::I31,
            A::Struct => HeapType::Struct,
            A::Array => HeapType::Array,
            A::None => HeapType::None,
            A::Exn => HeapType::Exn,
            A::NoExn => HeapType::NoExn,
            // Stack switching is not enabled in the validator, so these never validate.
            A::Cont | A::NoCont => HeapType::None,
        },
        wasmparser::HeapType::Concrete(idx) | wasmparser::HeapType::Exact(idx) => {
            HeapType::Concrete(TypeId(resolve_index(types, idx, context)))
        }
    };
    RefType {
        nullable: r.is_nullable(),
        heap,
    }
}

fn resolve_index(
    types: TypesRef<'_>,
    idx: UnpackedIndex,
    context: Option<CoreTypeId>,
) -> CoreTypeId {
    match idx {
        UnpackedIndex::Id(id) => id,
        UnpackedIndex::Module(i) => types.core_type_at_in_module(i),
        UnpackedIndex::RecGroup(i) => {
            let ctx = context.expect("rec-group-relative index outside a type definition");
            let group = types.rec_group_id_of(ctx);
            types
                .rec_group_elements(group)
                .nth(i as usize)
                .expect("validated rec group index is in range")
        }
    }
}
