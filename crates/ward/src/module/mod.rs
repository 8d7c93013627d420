//! [`Module`]: a validated and translated WebAssembly module, ready to be instantiated in any store of
//! its engine.
//!
//! Compilation parses the binary with wasmparser, validating it once in a validator of its own, gives
//! its types canonical ids in the engine's type registry (`types`), records what instantiation needs (imports,
//! exports, segments, initialisers), and validates and translates every function body into interpreter
//! bytecode in one pass (`func_body`; eagerly, so unsupported instructions are reported at compile
//! time). With `Config::lazy_translation` it validates the bodies only and translates each at its
//! first call (`interp::code`, which holds the interpreter tier's code behind `tier::TierCode`). Depends
//! on `engine` and `interp::translate`; used by `instance` and `linker`.

mod aot;
mod const_expr;
pub(crate) mod func_body;
pub(crate) mod types;

use std::collections::HashMap;
use std::sync::Arc;

use wasmparser::types::CoreTypeId;
use wasmparser::{
    DataKind, ElementItems, ElementKind, Encoding, ExternalKind, FuncToValidate, FunctionBody,
    KnownCustom, Name, Parser, Payload, TableInit, TypeRef, ValidPayload, Validator,
    ValidatorResources,
};

pub(crate) use const_expr::{ConstAlloc, ConstExpr};
use func_body::{CompileBudget, ReaderScratch, validate_and_translate};
use types::CanonicalTypes;

use crate::engine::Engine;
use crate::interp::code::{FuncCode, InterpCode, LazyCode};
use crate::interp::translate::{ModuleEnv, Translator};
use crate::tier::TierCode;
use crate::type_registry::RegisteredTypes;
use crate::types::{ExternType, FuncType, GlobalType, MemoryType, Mutability, TableType, TypeId};
use crate::{Error, Result};

/// What an import expects.
#[derive(Debug, Clone)]
pub(crate) enum ImportKind {
    Func(TypeId),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
    Tag(TypeId),
}

#[derive(Debug, Clone)]
pub(crate) struct ImportDef {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

/// An index into one of a module's index spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntityIndex {
    Func(u32),
    Table(u32),
    Memory(u32),
    Global(u32),
    Tag(u32),
}

pub(crate) enum ElemItems {
    Funcs(Box<[u32]>),
    Exprs(Box<[ConstExpr]>),
}

pub(crate) enum ElemMode {
    Passive,
    Declared,
    Active { table: u32, offset: ConstExpr },
}

pub(crate) struct ElemSegment {
    pub mode: ElemMode,
    pub items: ElemItems,
}

pub(crate) enum DataMode {
    Passive,
    Active { memory: u32, offset: ConstExpr },
}

pub(crate) struct DataSegment {
    pub mode: DataMode,
    pub bytes: Arc<[u8]>,
}

pub(crate) struct TableDef {
    pub ty: TableType,
    /// Initial element for defined tables (`None` means null).
    pub init: Option<ConstExpr>,
}

pub(crate) struct GlobalDef {
    pub ty: GlobalType,
    pub init: ConstExpr,
}

pub(crate) struct ModuleInner {
    pub engine: Engine,
    pub name: Option<String>,
    /// SHA-256 of the module binary: a snapshot names its modules by it.
    pub hash: [u8; 32],
    /// Defined function → offset of its body in the module binary (for function-relative
    /// offsets in backtraces and core dumps).
    pub body_starts: Box<[u32]>,
    /// Keeps the module's types registered in the engine while the module lives.
    pub _registered_types: RegisteredTypes,
    /// Module type index → canonical id.
    pub type_ids: Vec<TypeId>,
    /// Function index → canonical signature id (imports first).
    pub func_type_ids: Vec<TypeId>,
    /// Function index → signature (imports first), looked up once here so that instantiation does not
    /// ask the engine's type registry (a lock and a hash lookup) for every function.
    pub func_sigs: Vec<FuncType>,
    pub imports: Vec<ImportDef>,
    pub num_imported_funcs: u32,
    /// Defined tables, memories and globals (imports excluded).
    pub tables: Vec<TableDef>,
    pub memories: Vec<MemoryType>,
    pub globals: Vec<GlobalDef>,
    /// All tables' and memories' and globals' types, imports included, for export descriptions.
    pub table_types: Vec<TableType>,
    pub memory_types: Vec<MemoryType>,
    pub global_types: Vec<GlobalType>,
    /// Every tag's canonical function type id, imports first.
    pub tag_types: Vec<TypeId>,
    pub num_imported_tags: u32,
    pub exports: Vec<(String, EntityIndex)>,
    pub export_map: HashMap<String, usize>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub data: Vec<DataSegment>,
    /// The code of the defined functions in each tier, behind the tier interface
    /// (`crate::tier::TierCode`): the interpreter's bytecode today.
    pub interp: InterpCode,
    /// The Cranelift tier's machine code, when the engine compiles with it and some function was
    /// compiled (those functions' interpreter code is a stub that enters it).
    #[cfg(feature = "cranelift")]
    pub native: Option<crate::native::NativeCode>,
    /// The binary, kept for `Module::serialize` when the module was compiled with Cranelift.
    #[cfg(feature = "cranelift")]
    pub wasm: Option<Box<[u8]>>,
    pub func_names: HashMap<u32, String>,
}

/// The binary form of `bytes`: themselves, or (with the `wat` feature) the text form converted.
/// Shared by modules and components.
pub(crate) fn binary_of(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    #[cfg(feature = "wat")]
    return wat::parse_bytes(bytes).map_err(|e| Error::Parse(e.to_string()));
    #[cfg(not(feature = "wat"))]
    Ok(std::borrow::Cow::Borrowed(bytes))
}

/// The binary form of the file at `path`; errors in a text form name the file (`hello.wat:4:5`).
pub(crate) fn read_binary(path: &std::path::Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Usage(format!("failed to read {}: {e}", path.display())))?;
    #[cfg(feature = "wat")]
    let bytes = wat::parse_bytes(&bytes)
        .map_err(|mut e| {
            e.set_path(path);
            Error::Parse(e.to_string())
        })?
        .into_owned();
    Ok(bytes)
}

/// One import of a [`Module`]: where it comes from and its type.
#[derive(Debug, Clone)]
pub struct ImportType<'module> {
    module: &'module str,
    name: &'module str,
    ty: ExternType,
}

impl<'module> ImportType<'module> {
    /// The module name the import names (the first of its two names).
    pub fn module(&self) -> &'module str {
        self.module
    }

    /// The item name within that module.
    pub fn name(&self) -> &'module str {
        self.name
    }

    /// The type the import must have.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// One export of a [`Module`]: its name and type.
#[derive(Debug, Clone)]
pub struct ExportType<'module> {
    name: &'module str,
    ty: ExternType,
}

impl<'module> ExportType<'module> {
    /// The export's name.
    pub fn name(&self) -> &'module str {
        self.name
    }

    /// The export's type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// A compiled WebAssembly module. Cheap to clone; `Send + Sync`.
///
/// ```
/// use ward::{Engine, ExternType, Module};
///
/// let engine = Engine::default();
/// // Text or binary; the module is validated and translated once, then instantiated many times.
/// let module = Module::new(&engine, r#"
///     (module (import "env" "log" (func (param i32)))
///       (memory (export "mem") 1)
///       (func (export "add") (param i32 i32) (result i32)
///         (i32.add (local.get 0) (local.get 1))))"#)?;
/// let imports: Vec<_> = module.imports().map(|i| (i.module().to_string(), i.name().to_string())).collect();
/// assert_eq!(imports, [("env".to_string(), "log".to_string())]);
/// assert!(matches!(module.get_export("mem"), Some(ExternType::Memory(_))));
/// assert!(Module::new(&engine, "(module (func (result i32)))").is_err()); // fails validation
/// # Ok::<(), ward::Error>(())
/// ```
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Module {
    /// Compiles a module from its binary or (with the `wat` feature) text form.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        Module::from_binary(engine, &binary_of(bytes.as_ref())?)
    }

    /// Compiles a module from a file holding the binary or text form; errors in the text form name
    /// the file (`hello.wat:4:5`).
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Module> {
        Module::from_binary(engine, &read_binary(path.as_ref())?)
    }

    /// Checks that `bytes` is a valid module binary ward can run, without keeping the result.
    pub fn validate(engine: &Engine, bytes: &[u8]) -> Result<()> {
        Module::from_binary(engine, bytes).map(drop)
    }

    /// Compiles a module from its binary form.
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        #[cfg(feature = "cranelift")]
        if let Some(cache) = crate::native::cache::Cache::open(engine) {
            if let Some(funcs) = cache.lookup(engine, bytes) {
                // A verified entry (HMAC, header, same Wasm): place its code; if that fails for
                // any reason, compile as usual.
                if let Ok(parsed) = parse(engine, bytes, Some(funcs)) {
                    return Ok(Module {
                        inner: Arc::new(parsed),
                    });
                }
            }
            let module = Module::from_binary_with(engine, bytes, None)?;
            if let Some(native) = &module.inner.native {
                cache.store(engine, bytes, native.pieces());
            }
            return Ok(module);
        }
        Module::from_binary_with(engine, bytes, None)
    }

    /// [`Module::from_binary`], with the functions' machine code already made (a precompiled
    /// module) instead of compiled.
    fn from_binary_with(
        engine: &Engine,
        bytes: &[u8],
        precompiled: Option<Precompiled>,
    ) -> Result<Module> {
        let parsed = parse(engine, bytes, precompiled)
            .map_err(|e| crate::proposals::name_the_switch(bytes, engine.config().proposals, e))?;
        Ok(Module {
            inner: Arc::new(parsed),
        })
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The engine the module was compiled in.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The imports, in the order the module declares them.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> + '_ {
        self.inner.imports.iter().map(|import| {
            let ty = match &import.kind {
                ImportKind::Func(id) => ExternType::Func(self.inner.engine.func_type(*id)),
                ImportKind::Table(t) => ExternType::Table(*t),
                ImportKind::Memory(m) => ExternType::Memory(*m),
                ImportKind::Global(g) => ExternType::Global(*g),
                ImportKind::Tag(id) => ExternType::Tag(self.inner.engine.func_type(*id)),
            };
            ImportType {
                module: import.module.as_str(),
                name: import.name.as_str(),
                ty,
            }
        })
    }

    /// The exports, in the order the module declares them.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> + '_ {
        self.inner.exports.iter().map(|(name, index)| ExportType {
            name: name.as_str(),
            ty: self.inner.entity_type(*index),
        })
    }

    /// The type of the export `name`, if there is one.
    pub fn get_export(&self, name: &str) -> Option<ExternType> {
        let at = *self.inner.export_map.get(name)?;
        Some(self.inner.entity_type(self.inner.exports[at].1))
    }

    /// How many of the module's defined functions are translated: all of them once compiled,
    /// unless the engine translates lazily (`Config::lazy_translation`). For tests and tooling.
    #[doc(hidden)]
    pub fn translated_function_count(&self) -> usize {
        (0..self.inner.interp.functions() as u32)
            .filter(|&i| self.inner.interp.has_code(i))
            .count()
    }

    /// How many of the module's defined functions were compiled to machine code by the Cranelift
    /// tier ([`Strategy::Cranelift`](crate::Strategy::Cranelift)), or so far by tier-up
    /// ([`Strategy::Auto`](crate::Strategy::Auto): this grows as functions get hot); the others
    /// run in the interpreter. Always 0 without ward's `cranelift` feature.
    ///
    /// ```
    /// let engine = ward::Engine::default();
    /// let module = ward::Module::new(&engine, "(module (func))")?;
    /// assert_eq!(module.compiled_function_count(), 0); // the default strategy interprets
    /// # Ok::<(), ward::Error>(())
    /// ```
    pub fn compiled_function_count(&self) -> usize {
        #[cfg(feature = "cranelift")]
        if let Some(native) = &self.inner.native {
            return native.compiled_count();
        }
        0
    }

    /// How many loops of the module's functions have machine code that a call already running
    /// in the interpreter moves to at the loop's header (on-stack replacement, made by tier-up
    /// under [`Strategy::Auto`](crate::Strategy::Auto) for calls that began before their function
    /// was compiled). Always 0 without ward's `cranelift` feature.
    pub fn compiled_loop_entry_count(&self) -> usize {
        #[cfg(feature = "cranelift")]
        if let Some(native) = &self.inner.native {
            return native.loop_entry_count();
        }
        0
    }
}

impl ModuleInner {
    pub(crate) fn entity_type(&self, index: EntityIndex) -> ExternType {
        match index {
            EntityIndex::Func(i) => ExternType::Func(self.func_sigs[i as usize].clone()),
            EntityIndex::Table(i) => ExternType::Table(self.table_types[i as usize]),
            EntityIndex::Memory(i) => ExternType::Memory(self.memory_types[i as usize]),
            EntityIndex::Global(i) => ExternType::Global(self.global_types[i as usize]),
            EntityIndex::Tag(i) => {
                ExternType::Tag(self.engine.func_type(self.tag_types[i as usize]))
            }
        }
    }

    /// The name of function `index` (module index space), from the name section.
    pub(crate) fn func_name(&self, index: u32) -> Option<&str> {
        self.func_names.get(&index).map(String::as_str)
    }
}

fn unsupported(feature: &str, offset: u64) -> Error {
    Error::Unsupported {
        feature: feature.to_string(),
        offset: offset as usize,
    }
}

pub(crate) fn convert_table_type(
    types: &CanonicalTypes<'_>,
    t: &wasmparser::TableType,
) -> TableType {
    TableType {
        element: types.ref_type(t.element_type),
        table64: t.table64,
        minimum: t.initial,
        maximum: t.maximum,
    }
}

pub(crate) fn convert_memory_type(m: &wasmparser::MemoryType) -> MemoryType {
    MemoryType {
        memory64: m.memory64,
        minimum: m.initial,
        maximum: m.maximum,
        page_size_log2: m.page_size_log2.unwrap_or(16),
        shared: m.shared,
    }
}

pub(crate) fn convert_global_type(
    types: &CanonicalTypes<'_>,
    g: &wasmparser::GlobalType,
) -> GlobalType {
    GlobalType {
        content: types.val_type(g.content_type),
        mutability: if g.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        },
    }
}

/// Everything gathered while the validator walks the sections; types are resolved after validation.
/// Entity types are kept as written (type indices relative to the module), imports first.
#[derive(Default)]
struct Sections<'a> {
    imports: Vec<(String, String, TypeRef)>,
    /// Type index of every function.
    func_types: Vec<u32>,
    tables: Vec<wasmparser::TableType>,
    memories: Vec<wasmparser::MemoryType>,
    globals: Vec<wasmparser::GlobalType>,
    /// Function type index of every tag.
    tags: Vec<u32>,
    table_inits: Vec<Option<ConstExpr>>,
    global_inits: Vec<ConstExpr>,
    exports: Vec<(String, EntityIndex)>,
    start: Option<u32>,
    elems: Vec<ElemSegment>,
    data: Vec<DataSegment>,
    bodies: Vec<(FuncToValidate<ValidatorResources>, FunctionBody<'a>)>,
    name: Option<String>,
    func_names: HashMap<u32, String>,
}

/// Per defined function of a precompiled module: its machine code, or `None` if it stays
/// interpreted.
#[cfg(feature = "cranelift")]
type Precompiled = Vec<Option<crate::native::artifact::Piece>>;
#[cfg(not(feature = "cranelift"))]
type Precompiled = std::convert::Infallible;

fn parse(engine: &Engine, bytes: &[u8], precompiled: Option<Precompiled>) -> Result<ModuleInner> {
    #[cfg(not(feature = "cranelift"))]
    let _ = precompiled;
    let started = std::time::Instant::now();
    let mut sections = Sections::default();
    // The module is validated once, by a validator of its own; its types get their engine-wide
    // canonical ids afterwards, from the types this validator found.
    let mut validator = Validator::new_with_features(engine.features());
    let mut collected = Ok(());
    let mut module_types = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(Error::invalid)?;
        if let Payload::Version {
            encoding: Encoding::Component,
            range,
            ..
        } = &payload
        {
            return Err(unsupported(
                "the component model (this is a component: load it with \
                 `ward::component::Component::new`)",
                range.start,
            ));
        }
        match validator.payload(&payload).map_err(Error::invalid)? {
            ValidPayload::Func(to_validate, body) => sections.bodies.push((to_validate, body)),
            ValidPayload::End(types) => module_types = Some(types),
            _ => {}
        }
        // An unsupported construct is reported only once the whole module is known to be valid.
        if collected.is_ok() {
            collected = collect_section(&mut sections, payload);
        }
    }
    drop(validator);
    collected?;
    let Some(module_types) = module_types else {
        return Err(Error::Invalid {
            message: "unexpected end of module".into(),
            offset: bytes.len(),
        });
    };
    let types::RegisteredModuleTypes {
        canonical,
        registration,
        local_ids,
        type_ids,
        signatures,
    } = types::register(engine, module_types.as_ref())?;

    let func_type_ids: Vec<TypeId> = sections
        .func_types
        .iter()
        .map(|t| type_ids[*t as usize])
        .collect();
    let local_func_type_ids: Vec<CoreTypeId> = sections
        .func_types
        .iter()
        .map(|t| local_ids[*t as usize])
        .collect();
    let func_sigs: Vec<FuncType> = sections
        .func_types
        .iter()
        .map(|t| {
            signatures[*t as usize]
                .clone()
                .ok_or_else(|| Error::Invalid {
                    message: format!("internal error: function type {t} is not a function type"),
                    offset: 0,
                })
        })
        .collect::<Result<_>>()?;
    let table_types: Vec<TableType> = sections
        .tables
        .iter()
        .map(|t| convert_table_type(&canonical, t))
        .collect();
    let memory_types: Vec<MemoryType> = sections.memories.iter().map(convert_memory_type).collect();
    let global_types: Vec<GlobalType> = sections
        .globals
        .iter()
        .map(|g| convert_global_type(&canonical, g))
        .collect();
    let tag_types: Vec<TypeId> = sections
        .tags
        .iter()
        .map(|t| type_ids[*t as usize])
        .collect();
    let local_tag_types: Vec<CoreTypeId> = sections
        .tags
        .iter()
        .map(|t| local_ids[*t as usize])
        .collect();

    let mut n_tags = 0u32;
    let mut imports = Vec::new();
    let (mut n_funcs, mut n_tables, mut n_memories, mut n_globals) = (0u32, 0u32, 0u32, 0u32);
    for (module, name, ty) in sections.imports {
        let kind = match ty {
            TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                n_funcs += 1;
                ImportKind::Func(func_type_ids[n_funcs as usize - 1])
            }
            TypeRef::Table(_) => {
                n_tables += 1;
                ImportKind::Table(table_types[n_tables as usize - 1])
            }
            TypeRef::Memory(_) => {
                n_memories += 1;
                ImportKind::Memory(memory_types[n_memories as usize - 1])
            }
            TypeRef::Global(_) => {
                n_globals += 1;
                ImportKind::Global(global_types[n_globals as usize - 1])
            }
            TypeRef::Tag(_) => {
                n_tags += 1;
                ImportKind::Tag(tag_types[n_tags as usize - 1])
            }
        };
        imports.push(ImportDef { module, name, kind });
    }

    let tables = sections
        .table_inits
        .into_iter()
        .enumerate()
        .map(|(i, init)| TableDef {
            ty: table_types[n_tables as usize + i],
            init,
        })
        .collect();
    let globals = sections
        .global_inits
        .into_iter()
        .enumerate()
        .map(|(i, init)| GlobalDef {
            ty: global_types[n_globals as usize + i],
            init,
        })
        .collect();
    let memories = memory_types[n_memories as usize..].to_vec();
    let body_starts = sections
        .bodies
        .iter()
        .map(|(_, body)| u32::try_from(body.range().start).unwrap_or(u32::MAX))
        .collect();

    let memory0_is_64 = sections.memories.first().is_some_and(|m| m.memory64);
    let shared_memories: Vec<bool> = sections.memories.iter().map(|m| m.shared).collect();
    let deadline = engine
        .config()
        .max_compile_time
        .and_then(|limit| started.checked_add(limit));
    #[cfg(feature = "cranelift")]
    let mut native = None;
    let (code, lazy) = if engine.config().lazy_translation {
        let copied = copy_bodies(bytes, &sections.bodies)?;
        let code = sections
            .bodies
            .iter()
            .map(|_| FuncCode::untranslated())
            .collect();
        #[cfg(feature = "cranelift")]
        crate::native::count_interpreted(engine, sections.bodies.len());
        validate_bodies(sections.bodies, deadline)?;
        let canonical_ids = canonical.canonical_ids();
        // Ends the borrow of the module's types, which the module keeps for translating later.
        drop(canonical);
        let lazy = LazyCode {
            bodies_bytes: copied.bytes,
            bodies_offset: copied.offset,
            bodies: copied.ranges,
            types: module_types,
            canonical_ids,
            local_ids,
            local_func_type_ids,
            local_tag_types,
            memory0_is_64,
            shared_memories,
            translated_bytes: Default::default(),
        };
        (code, Some(Box::new(lazy)))
    } else {
        let mut code = Vec::with_capacity(sections.bodies.len());
        let mut env = ModuleEnv {
            types: &canonical,
            type_ids: &local_ids,
            func_type_ids: &local_func_type_ids,
            fuel: engine.config().consume_fuel,
            interrupts: engine.config().epoch_interruption,
            #[cfg(feature = "cranelift")]
            tier_up: crate::native::tiers_up(engine),
            #[cfg(not(feature = "cranelift"))]
            tier_up: false,
            canonical_nans: engine.config().deterministic,
            global_types: &global_types,
            tag_types: &local_tag_types,
            memory0_is_64,
            shared_memories: &shared_memories,
            scratch: Default::default(),
            side_tables: Default::default(),
        };
        let mut allocations = Default::default();
        let mut reader_scratch = ReaderScratch::default();
        let mut budget = CompileBudget {
            translated: 0,
            max_translated: engine.config().max_translated_size,
            deadline,
        };
        #[cfg(feature = "cranelift")]
        let bodies: Vec<FunctionBody<'_>> =
            sections.bodies.iter().map(|(_, b)| b.clone()).collect();
        #[cfg(feature = "cranelift")]
        let tier_up_bodies = if crate::native::tiers_up(engine) {
            let copied = copy_bodies(bytes, &sections.bodies)?;
            Some(crate::native::Bodies {
                bytes: copied.bytes,
                offset: copied.offset,
                ranges: copied.ranges,
            })
        } else {
            None
        };
        for (to_validate, body) in sections.bodies {
            let func_type = local_func_type_ids[to_validate.index as usize];
            let mut validator = to_validate.into_validator(allocations);
            let mut translator = Translator::new(&mut env, func_type);
            validate_and_translate(
                &mut validator,
                &mut translator,
                &body,
                &mut reader_scratch,
                &budget,
            )?;
            let compiled = translator.finish();
            budget.add_function(compiled.code.len())?;
            code.push(FuncCode::translated(compiled));
            allocations = validator.into_allocations();
        }
        #[cfg(feature = "cranelift")]
        {
            let shape = crate::native::ModuleShape {
                signatures: &signatures,
                func_types: &sections.func_types,
                num_imported_funcs: n_funcs,
                global_types: &global_types,
                memory_types: &memory_types,
                table_types: &table_types,
            };
            let plan_of = |i: usize| {
                code.get(i)
                    .and_then(FuncCode::get)
                    .map(crate::native::metering_plan)
                    .unwrap_or_default()
            };
            native = crate::native::compile_module(
                engine,
                &shape,
                &bodies,
                &plan_of,
                tier_up_bodies,
                precompiled,
            )?;
            if let Some(native) = &native {
                for (i, body) in bodies.iter().enumerate() {
                    if native.is_compiled(i as u32) {
                        let sig = &func_sigs[n_funcs as usize + i];
                        code[i] = FuncCode::translated(
                            crate::interp::translate::CompiledFunc::native_stub(
                                sig.params().len() as u32,
                                sig.results().len() as u32,
                                body.range().start as u32,
                            ),
                        );
                    }
                }
            }
        }
        (code.into_boxed_slice(), None)
    };

    let export_map = sections
        .exports
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.clone(), i))
        .collect();
    Ok(ModuleInner {
        engine: engine.clone(),
        name: sections.name,
        hash: <sha2::Sha256 as sha2::Digest>::digest(bytes).into(),
        #[cfg(feature = "cranelift")]
        wasm: crate::native::compiles(engine).then(|| bytes.into()),
        body_starts,
        _registered_types: registration,
        type_ids,
        func_type_ids,
        func_sigs,
        imports,
        num_imported_funcs: n_funcs,
        tables,
        memories,
        globals,
        table_types,
        memory_types,
        global_types,
        tag_types,
        num_imported_tags: n_tags,
        exports: sections.exports,
        export_map,
        start: sections.start,
        elems: sections.elems,
        data: sections.data,
        interp: InterpCode { funcs: code, lazy },
        #[cfg(feature = "cranelift")]
        native,
        func_names: sections.func_names,
    })
}

/// Validates every function body without translating it (lazy translation), checking the
/// `Config::max_compile_time` deadline after each.
fn validate_bodies(
    bodies: Vec<(FuncToValidate<ValidatorResources>, FunctionBody<'_>)>,
    deadline: Option<std::time::Instant>,
) -> Result<()> {
    let mut allocations = Default::default();
    for (to_validate, body) in bodies {
        let mut validator = to_validate.into_validator(allocations);
        validator.validate(&body).map_err(Error::invalid)?;
        if deadline.is_some_and(|deadline| std::time::Instant::now() > deadline) {
            return Err(Error::CompileLimit(
                "compiling the module took longer than allowed (Config::max_compile_time)".into(),
            ));
        }
        allocations = validator.into_allocations();
    }
    Ok(())
}

/// Function bodies copied from a module binary for translating them later.
struct CopiedBodies {
    /// Offset of the copy in the binary.
    offset: usize,
    /// From the first body's start to the last one's end.
    bytes: Box<[u8]>,
    /// Each body's range in `bytes`.
    ranges: Box<[std::ops::Range<usize>]>,
}

/// The function bodies of module `bytes`, copied for translating them later.
fn copy_bodies(
    bytes: &[u8],
    bodies: &[(FuncToValidate<ValidatorResources>, FunctionBody<'_>)],
) -> Result<CopiedBodies> {
    let start = bodies
        .first()
        .map_or(0, |(_, body)| body.range().start as usize);
    let end = bodies
        .last()
        .map_or(0, |(_, body)| body.range().end as usize);
    let copy: Box<[u8]> = bytes
        .get(start..end)
        .ok_or_else(|| Error::Invalid {
            message: "internal error: function bodies outside the module".into(),
            offset: start,
        })?
        .into();
    let relative = |offset: u64| offset as usize - start;
    let ranges = bodies
        .iter()
        .map(|(_, body)| relative(body.range().start)..relative(body.range().end))
        .collect();
    Ok(CopiedBodies {
        offset: start,
        bytes: copy,
        ranges,
    })
}

fn collect_section<'a>(sections: &mut Sections<'a>, payload: Payload<'a>) -> Result<()> {
    match payload {
        Payload::ImportSection(reader) => {
            for import in reader.into_imports() {
                let import = import.map_err(Error::invalid)?;
                match import.ty {
                    TypeRef::Func(t) | TypeRef::FuncExact(t) => sections.func_types.push(t),
                    TypeRef::Table(t) => sections.tables.push(t),
                    TypeRef::Memory(m) => sections.memories.push(m),
                    TypeRef::Global(g) => sections.globals.push(g),
                    TypeRef::Tag(t) => sections.tags.push(t.func_type_idx),
                }
                sections.imports.push((
                    import.module.to_string(),
                    import.name.to_string(),
                    import.ty,
                ));
            }
        }
        Payload::FunctionSection(reader) => {
            for ty in reader {
                sections.func_types.push(ty.map_err(Error::invalid)?);
            }
        }
        Payload::MemorySection(reader) => {
            for memory in reader {
                sections.memories.push(memory.map_err(Error::invalid)?);
            }
        }
        Payload::TagSection(reader) => {
            for tag in reader {
                sections
                    .tags
                    .push(tag.map_err(Error::invalid)?.func_type_idx);
            }
        }
        Payload::TableSection(reader) => {
            for table in reader {
                let table = table.map_err(Error::invalid)?;
                sections.tables.push(table.ty);
                let init = match table.init {
                    TableInit::RefNull => None,
                    TableInit::Expr(expr) => Some(ConstExpr::parse(&expr)?),
                };
                sections.table_inits.push(init);
            }
        }
        Payload::GlobalSection(reader) => {
            for global in reader {
                let global = global.map_err(Error::invalid)?;
                sections.globals.push(global.ty);
                sections
                    .global_inits
                    .push(ConstExpr::parse(&global.init_expr)?);
            }
        }
        Payload::ExportSection(reader) => {
            for export in reader {
                let export = export.map_err(Error::invalid)?;
                let index = match export.kind {
                    ExternalKind::Func | ExternalKind::FuncExact => EntityIndex::Func(export.index),
                    ExternalKind::Table => EntityIndex::Table(export.index),
                    ExternalKind::Memory => EntityIndex::Memory(export.index),
                    ExternalKind::Global => EntityIndex::Global(export.index),
                    ExternalKind::Tag => EntityIndex::Tag(export.index),
                };
                sections.exports.push((export.name.to_string(), index));
            }
        }
        Payload::StartSection { func, .. } => sections.start = Some(func),
        Payload::ElementSection(reader) => {
            for elem in reader {
                let elem = elem.map_err(Error::invalid)?;
                let mode = match elem.kind {
                    ElementKind::Passive => ElemMode::Passive,
                    ElementKind::Declared => ElemMode::Declared,
                    ElementKind::Active {
                        table_index,
                        offset_expr,
                    } => ElemMode::Active {
                        table: table_index.unwrap_or(0),
                        offset: ConstExpr::parse(&offset_expr)?,
                    },
                };
                let items = match elem.items {
                    ElementItems::Functions(funcs) => ElemItems::Funcs(
                        funcs
                            .into_iter()
                            .collect::<std::result::Result<_, _>>()
                            .map_err(Error::invalid)?,
                    ),
                    ElementItems::Expressions(_, exprs) => {
                        let mut items = Vec::new();
                        for expr in exprs {
                            items.push(ConstExpr::parse(&expr.map_err(Error::invalid)?)?);
                        }
                        ElemItems::Exprs(items.into())
                    }
                };
                sections.elems.push(ElemSegment { mode, items });
            }
        }
        Payload::DataSection(reader) => {
            for data in reader {
                let data = data.map_err(Error::invalid)?;
                let mode = match data.kind {
                    DataKind::Passive => DataMode::Passive,
                    DataKind::Active {
                        memory_index,
                        offset_expr,
                    } => DataMode::Active {
                        memory: memory_index,
                        offset: ConstExpr::parse(&offset_expr)?,
                    },
                };
                sections.data.push(DataSegment {
                    mode,
                    bytes: data.data.into(),
                });
            }
        }
        Payload::CustomSection(reader) => {
            if let KnownCustom::Name(names) = reader.as_known() {
                // A malformed name section does not make the module invalid; keep what parses.
                for name in names.into_iter().map_while(|n| n.ok()) {
                    match name {
                        Name::Module { name, .. } => sections.name = Some(name.to_string()),
                        Name::Function(map) => {
                            for naming in map.into_iter().map_while(|n| n.ok()) {
                                sections
                                    .func_names
                                    .insert(naming.index, naming.name.to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}
