//! ward's optimizing tier: translates validated WebAssembly function bodies to Cranelift IR and
//! compiles them to machine code for the host.
//!
//! This crate knows nothing of ward's runtime (it does not depend on `ward`; `ward` depends on it
//! behind its `cranelift` feature). The runtime describes what the code may assume:
//!
//! - the module's shape ([`ModuleDesc`]: function signatures, global types, memory 0);
//! - the layout of its per-instance context ([`ContextLayout`]: where compiled code finds memory 0's
//!   base and length, the globals, the function table, the stack limit and the libcalls).
//!
//! It returns position-independent machine code ([`CompiledFunction`]) with no relocations: calls
//! go through the context's function table and libcall table. Placing the code in executable
//! memory, building the context and serving the libcalls is the runtime's part.
//!
//! ## The calling conventions
//!
//! A function is entered with one of two native signatures.
//!
//! The **slot signature**, the host's C calling convention, is the same for every function type:
//!
//! ```text
//! extern "C" fn(ctx: *mut Context, slots: *mut u64, func_index: u32) -> u32
//! ```
//!
//! `slots` holds the arguments, one after the other, and receives the results the same way: a
//! scalar takes one 64-bit slot (`i32` and `f32` zero-extended), a `v128` two consecutive slots
//! (its 16 little-endian bytes), so the slot index of a value is the sum of the widths of the
//! values before it (as in the runtime interpreter's frames). It has room for the larger of the
//! parameters' and the results' widths. `func_index` is the
//! callee's index in the module's function index space. The result is a status: 0 for a normal
//! return, anything else when the call failed (a trap or an error of the runtime's), whose details
//! the runtime keeps in its context. See [`Libcall`] for the trap protocol. The runtime enters
//! compiled code this way, and compiled code calls the runtime's entry for imports and interpreted
//! functions this way.
//!
//! The **direct signature** of a function type, Cranelift's `tail` calling convention, passes the
//! arguments and results in registers:
//!
//! ```text
//! fn(ctx, func_index: u32, params…) -> (status: u32, results…)
//! ```
//!
//! A compiled function's body has it, and compiled code calls every function this way. After a
//! non-zero status the results are zeros and mean nothing.
//!
//! The context holds two tables, each indexed by module function index (imports first): the
//! **slot table** ([`ContextLayout::funcs`]) and the **direct table**
//! ([`ContextLayout::direct_funcs`]). Two small adapters per function type, compiled by
//! [`Compiler::compile_adapters`], join them: for a compiled function the slot table holds its
//! type's *slot entry* (reads the slots, calls the direct table's entry, writes the results back)
//! and the direct table its body; for any other function the slot table holds the runtime's entry
//! and the direct table its type's *direct exit* (writes the arguments to slots, calls the slot
//! table's entry). So every caller reaches every function with the signature it knows, and a call
//! between two compiled functions passes nothing through memory.
//!
//! ## What is compiled
//!
//! [`Compiler::compile`] returns [`CompileError::Unsupported`] for a function it does not compile
//! yet; the runtime keeps such a function in its interpreter. Compiled: numeric instructions of the
//! four scalar types and of `v128` (all fixed-width SIMD instructions, and the relaxed SIMD
//! instructions with exactly the deterministic results the runtime's interpreter gives them; as
//! for every float instruction, which NaN a NaN result is may differ from the interpreter's),
//! locals, globals of those five types, all structured control flow (multi-value included), direct
//! calls, `call_indirect` (through a libcall), and memory 0 when it is a 32-bit, unshared memory
//! with 64 KiB pages (scalar and SIMD loads and stores with explicit bounds checks,
//! `memory.size`, `memory.grow`, `memory.fill`, `memory.copy`). A function with an operation
//! Cranelift would lower to a libcall, or cannot lower at all, for the host CPU (vector rounding
//! without SSE4.1, for instance) is not compiled either. Not yet: references and GC, exceptions,
//! tail calls, atomics, multi-memory and memory64, table instructions, bulk memory other than fill
//! and copy of memory 0.

mod adapters;
mod translate;

use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use wasmparser::FunctionBody;

/// The value types the tier compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `v128`: takes two consecutive slots (see the crate documentation).
    V128,
}

/// A function type whose parameters and results all have [`ValType`]s.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FuncSig {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

/// Memory 0 of a module, when the tier can compile accesses to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory0 {
    /// log2 of the page size (16 for the usual 64 KiB pages).
    pub page_size_log2: u8,
    /// When not 0: memory 0 sits at the start of a reservation of at least 4 GiB plus this many
    /// bytes in which every byte past the memory's length faults, and the runtime turns a fault
    /// at a heap access of compiled code (`CodeSites::heap_traps`) into that access's trap. An
    /// access whose static offset plus size is at most this is then compiled without an
    /// explicit bounds check (a 32-bit address cannot reach past the reservation).
    pub guard_bytes: u64,
    /// Addresses are 64-bit (memory64): every access is checked explicitly, `guard_bytes` is
    /// ignored.
    pub memory64: bool,
}

/// What the tier needs to know of a module to compile its functions.
#[derive(Debug, Clone, Default)]
pub struct ModuleDesc {
    /// Module type index → its signature, `None` for a type the tier does not compile (not a
    /// function type, or one with a non-numeric parameter or result).
    pub types: Vec<Option<FuncSig>>,
    /// Function index (imports first) → module type index.
    pub func_types: Vec<u32>,
    /// Global index (imports first) → its type, `None` when it is not a numeric type.
    pub globals: Vec<Option<ValType>>,
    /// Memory index (imports first) → its description, `None` for a memory the tier does not
    /// compile (shared, or with other than 64 KiB pages): functions that access it stay
    /// interpreted. Memory 0 has a fast path (its base and length in the context itself); the
    /// others are reached through [`ContextLayout::memories`].
    pub memories: Vec<Option<Memory0>>,
    /// Table index (imports first) → whether the table has 64-bit indices.
    pub table64: Vec<bool>,
}

impl ModuleDesc {
    /// Memory `index`, if the tier compiles accesses to it.
    pub fn memory(&self, index: u32) -> Option<Memory0> {
        self.memories.get(index as usize).copied().flatten()
    }
}

/// Byte offsets of the fields of the runtime's per-instance context that compiled code reads.
///
/// All pointers are native pointers; every field is pointer-aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextLayout {
    /// `*mut u8`: memory 0's base. Reloaded after every call and libcall.
    pub memory_base: i32,
    /// `u64`: memory 0's length in bytes. Reloaded with the base.
    pub memory_length: i32,
    /// `*const *mut u64`: for each global (imports first), a pointer to its value (the low 64 bits
    /// of its little-endian encoding; `i32` and `f32` zero-extended; a `v128` global's 16 bytes,
    /// in place).
    pub globals: i32,
    /// `*const FuncPtr`: the slot table: for each function (imports first), the native code to
    /// call it with the slot signature (see the crate documentation).
    pub funcs: i32,
    /// `*const FuncPtr`: the direct table: for each function (imports first) whose type the tier
    /// compiles, the native code to call it with its direct signature (see the crate
    /// documentation).
    pub direct_funcs: i32,
    /// `*const [*mut u8, u64]`: for each memory (imports first), its base and its length in
    /// bytes (16 bytes per memory), current whenever compiled code runs (the runtime updates them
    /// after every libcall). Accesses to memories other than memory 0 read them at each access.
    pub memories: i32,
    /// `usize`: compiled code traps with [`TrapCode::StackOverflow`] when a function is entered
    /// with the native stack pointer below this.
    pub stack_limit: i32,
    /// `[*const (); Libcall::COUNT]`: the libcalls, inline in the context, by [`Libcall`] index.
    pub libcalls: i32,
    /// `u64`: the fuel left, read and written by metered code (see [`Metering`]).
    pub fuel: i32,
    /// `*const u64`: the engine's epoch counter, read at interruption points.
    pub epoch: i32,
    /// `u64`: the epoch at which interruption points call [`Libcall::Interrupt`].
    pub epoch_deadline: i32,
    /// `*const u8`: non-zero when an interrupt was requested.
    pub interrupt_flag: i32,
    /// `u32`: interruption points left until the runtime looks at the clock; decremented at every
    /// point, [`Libcall::Interrupt`] is called when it reaches zero.
    pub clock_countdown: i32,
}

/// Where compiled code charges fuel and checks for interruption: the runtime's plan, given as
/// data so that compiled code meters exactly as the runtime's interpreter does (the same amounts at
/// the same points, so a program consumes the same fuel in every tier and runs out at the same
/// point).
///
/// Each [`MeterPoint`] begins a straight-line run of code: the function's entry, or the position
/// right after a `loop`, `else` or `end` operator (named by its offset in the module binary). At a
/// point, compiled code first charges the point's fuel (trapping with [`TrapCode::OutOfFuel`],
/// nothing charged, when less is left), then, if the point checks for interruption, tests the
/// epoch deadline, the interrupt flag and the clock countdown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metering {
    /// The point at the function's entry, if any.
    pub entry: Option<MeterPoint>,
    /// Operator offset → the point right after that operator. Operators without an entry begin
    /// no run (or a run that charges nothing and checks nothing).
    pub after: std::collections::HashMap<u32, MeterPoint>,
}

impl Metering {
    /// Whether any point charges or checks anything.
    pub fn is_empty(&self) -> bool {
        self.entry.is_none() && self.after.is_empty()
    }
}

/// One metering point of a [`Metering`] plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeterPoint {
    /// Fuel charged here, when fuel is consumed (`None` when it is not).
    pub fuel: Option<u32>,
    /// Whether the point checks for interruption.
    pub check_interrupt: bool,
    /// The offset in the module binary a trap here names in its backtrace.
    pub trap_offset: u32,
}

/// Functions of the runtime that compiled code calls through the context's libcall table. All use
/// the host's C calling convention and take the context pointer first.
///
/// The trap protocol: a compiled function that traps calls [`Libcall::Trap`] with the trap code,
/// then [`Libcall::Frame`] with its function index and the trapping operator's offset in the
/// module binary, and returns status 1. A caller that sees a non-zero status from a call or a
/// libcall calls [`Libcall::Frame`] with its own function index and the call's offset, and returns
/// the status. So the runtime collects the Wasm backtrace innermost first. A stack overflow found
/// in a function's prologue records no frame of that function (the call did not happen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Libcall {
    /// `fn(ctx, code: u32)`: a trap of [`TrapCode`] `code` happened.
    Trap = 0,
    /// `fn(ctx, func_index: u32, offset: u32)`: a frame of the trap's backtrace, innermost first.
    Frame = 1,
    /// `fn(ctx, table: u32, type_index: u32, element: u32, slots: *mut u64) -> u32`:
    /// `call_indirect` through `table` of module type `type_index`; status as for a call.
    CallIndirect = 2,
    /// `fn(ctx, memory: u32, delta_pages: u64) -> i64`: `memory.grow`: the old size in pages,
    /// -1 when it cannot grow, -2 when the call failed (a trap; the caller records its frame).
    /// Addresses, lengths and deltas of 32-bit memories are zero-extended.
    MemoryGrow = 3,
    /// `fn(ctx, memory: u32, dst: u64, value: u32, len: u64) -> u32`: `memory.fill`; status.
    MemoryFill = 4,
    /// `fn(ctx, dst_memory: u32, src_memory: u32, dst: u64, src: u64, len: u64) -> u32`:
    /// `memory.copy`; status.
    MemoryCopy = 5,
    /// `fn(ctx) -> u32`: an interruption point's inline test fired (the epoch deadline passed, an
    /// interrupt was requested, or the clock countdown reached zero); the runtime decides. Status
    /// 0 goes on, anything else failed (the trap is recorded; the caller records its frame).
    Interrupt = 6,
    /// `fn(ctx, table: u32, type_index: u32, element: u32) -> u32`: the fast path of
    /// `call_indirect`: the module function index of the element's function if it is a function
    /// of the caller's own instance whose type matches module type `type_index`, which compiled
    /// code then calls as it calls a direct callee; [`INDIRECT_MISS`] otherwise (an element out
    /// of bounds or null, another type, another instance's function or the host's), for
    /// `CallIndirect` to call or to trap. Reads the store only: no ward code runs.
    ResolveIndirect = 7,
}

impl Libcall {
    /// How many libcalls there are: the length of the context's libcall table.
    pub const COUNT: usize = 8;
}

/// What `Libcall::ResolveIndirect` returns when it does not resolve the call.
pub const INDIRECT_MISS: u32 = u32::MAX;

/// The traps compiled code raises itself (others come from libcalls and callees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum TrapCode {
    /// `unreachable`.
    Unreachable = 1,
    /// A load or store outside memory 0.
    MemoryOutOfBounds = 2,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero = 3,
    /// Signed division overflow, or a float-to-int conversion out of range.
    IntegerOverflow = 4,
    /// A float-to-int conversion of NaN.
    BadConversionToInteger = 5,
    /// The native stack reached the context's stack limit.
    StackOverflow = 6,
    /// A metering point needed more fuel than was left.
    OutOfFuel = 7,
}

impl TrapCode {
    /// The trap code of a [`Libcall::Trap`] argument.
    pub fn from_u32(code: u32) -> Option<TrapCode> {
        Some(match code {
            1 => TrapCode::Unreachable,
            2 => TrapCode::MemoryOutOfBounds,
            3 => TrapCode::IntegerDivisionByZero,
            4 => TrapCode::IntegerOverflow,
            5 => TrapCode::BadConversionToInteger,
            6 => TrapCode::StackOverflow,
            7 => TrapCode::OutOfFuel,
            _ => return None,
        })
    }
}

/// Why a function was not compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The function uses something the tier does not compile yet; it stays interpreted.
    #[error("not compiled by the Cranelift tier: {0}")]
    Unsupported(String),
    /// The host is not supported by Cranelift, or Cranelift failed.
    #[error("Cranelift: {0}")]
    Codegen(String),
    /// The function body could not be read (it was validated, so this is an internal error).
    #[error("reading the function body: {0}")]
    Read(#[from] wasmparser::BinaryReaderError),
}

/// Machine code of one function: position-independent, without relocations.
#[derive(Debug, Clone)]
pub struct CompiledFunction {
    /// The code; its entry is at offset 0.
    pub code: Vec<u8>,
    /// The alignment the code needs, in bytes.
    pub alignment: u32,
    /// Where its code meets Wasm operators, for a runtime that turns faults into traps.
    pub sites: CodeSites,
}

/// A place in a function's machine code and the Wasm operator it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSite {
    /// Offset in the function's code.
    pub code_offset: u32,
    /// Module offset of the Wasm operator.
    pub wasm_offset: u32,
}

/// The code sites of a compiled function, each list sorted by code offset. Adapters have none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeSites {
    /// Instructions that access Wasm memory 0 and may fault (a memory access whose check was
    /// left to the guard region, see [`Memory0::guard_bytes`]; checked accesses are listed too,
    /// they just never fault): the access's operator.
    pub heap_traps: Vec<CodeSite>,
    /// Return addresses of the calls the code makes: the calling operator.
    pub calls: Vec<CodeSite>,
}

impl CodeSites {
    /// The operator of the heap access at code offset `at`, if one is there.
    pub fn heap_trap_at(&self, at: u32) -> Option<u32> {
        let i = self
            .heap_traps
            .binary_search_by_key(&at, |s| s.code_offset)
            .ok()?;
        Some(self.heap_traps[i].wasm_offset)
    }

    /// The operator of the call that returns to code offset `at`, if one does.
    pub fn call_returning_to(&self, at: u32) -> Option<u32> {
        let i = self
            .calls
            .binary_search_by_key(&at, |s| s.code_offset)
            .ok()?;
        Some(self.calls[i].wasm_offset)
    }
}

/// The adapters of one function type (see the crate documentation).
#[derive(Debug, Clone)]
pub struct Adapters {
    /// Slot signature → direct signature: the slot table's entry of a compiled function.
    pub slot_entry: CompiledFunction,
    /// Direct signature → slot signature: the direct table's entry of a function that is not
    /// compiled.
    pub direct_exit: CompiledFunction,
}

/// The version of Cranelift this crate compiles with (its `cranelift-*` dependencies are pinned to
/// exactly this version in `Cargo.toml`).
pub const CRANELIFT_VERSION: &str = "0.135.8";

/// Most locals (parameters included) a compiled function may have: a bound on its native frame,
/// which the runtime's stack-limit margin must cover.
pub const MAX_LOCALS: u32 = 2000;

/// Most bytes of function body the tier compiles (a bound on the native frame's spill slots).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A Cranelift code generator for the host.
pub struct Compiler {
    isa: OwnedTargetIsa,
}

impl std::fmt::Debug for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiler")
            .field("target", &self.isa.triple().to_string())
            .finish()
    }
}

impl Compiler {
    /// A compiler for the host CPU (with the features it detects).
    pub fn new() -> Result<Compiler, CompileError> {
        if cfg!(target_endian = "big") {
            return Err(CompileError::Codegen(
                "big-endian hosts are not supported (slots are little-endian)".into(),
            ));
        }
        let codegen = |e: &dyn std::fmt::Display| CompileError::Codegen(e.to_string());
        let mut flags = settings::builder();
        flags.set("opt_level", "speed").map_err(|e| codegen(&e))?;
        // Cranelift's IR verifier costs about a fifth of compile time; it checks the translator's
        // output, which debug builds (and so the debug test runs) keep doing.
        flags
            .set(
                "enable_verifier",
                if cfg!(debug_assertions) {
                    "true"
                } else {
                    "false"
                },
            )
            .map_err(|e| codegen(&e))?;
        // Direct signatures return a status plus every result: those that do not fit in
        // registers go to a return area the caller provides (both sides are this compiler's).
        flags
            .set("enable_multi_ret_implicit_sret", "true")
            .map_err(|e| codegen(&e))?;
        // No unwind tables: compiled code never unwinds (traps return a status).
        flags.set("unwind_info", "false").map_err(|e| codegen(&e))?;
        // Every frame keeps a frame record, so the runtime can walk compiled frames from a
        // faulting heap access back to the entry (`CodeSites::calls`).
        flags
            .set("preserve_frame_pointers", "true")
            .map_err(|e| codegen(&e))?;
        // Frames larger than a page are probed inline, so a large frame cannot step over a guard
        // page (the prologue's own check bounds the depth, see `ContextLayout::stack_limit`).
        flags
            .set("enable_probestack", "true")
            .map_err(|e| codegen(&e))?;
        flags
            .set("probestack_strategy", "inline")
            .map_err(|e| codegen(&e))?;
        let isa = cranelift_native::builder()
            .map_err(|e| codegen(&e))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| codegen(&e))?;
        Ok(Compiler { isa })
    }

    /// The target's name (a target triple).
    pub fn target(&self) -> String {
        self.isa.triple().to_string()
    }

    /// The CPU features the generated code may use (Cranelift's ISA flags that are on, without
    /// their `has_` prefix, such as `avx2`), sorted. Code compiled by this compiler may not run on
    /// a CPU that lacks one of them.
    pub fn cpu_features(&self) -> Vec<String> {
        let mut features: Vec<String> = self
            .isa
            .isa_flags()
            .iter()
            .filter(|v| v.as_bool() == Some(true))
            .map(|v| v.name.strip_prefix("has_").unwrap_or(v.name).to_string())
            .collect();
        features.sort();
        features
    }

    /// Cranelift's shared code-generation settings (`name=value`, one per setting, in Cranelift's
    /// order): two compilers with the same settings, target and CPU features generate the same
    /// code.
    pub fn settings(&self) -> Vec<String> {
        self.isa.flags().iter().map(|v| v.to_string()).collect()
    }

    /// Compiles function `func_index` (in the module's function index space, imports first) of the
    /// module `module` describes, whose validated body is `body`, metered by `metering`.
    pub fn compile(
        &self,
        module: &ModuleDesc,
        layout: &ContextLayout,
        func_index: u32,
        body: &FunctionBody<'_>,
        metering: &Metering,
    ) -> Result<CompiledFunction, CompileError> {
        let isa: &dyn TargetIsa = &*self.isa;
        translate::compile(isa, module, layout, func_index, body, metering, false)
            .map(|(code, _)| code)
    }

    /// The slot entry and the direct exit of function type `sig` (see the crate documentation).
    pub fn compile_adapters(
        &self,
        layout: &ContextLayout,
        sig: &FuncSig,
    ) -> Result<Adapters, CompileError> {
        let isa: &dyn TargetIsa = &*self.isa;
        Ok(Adapters {
            slot_entry: adapters::slot_entry(isa, layout, sig)?,
            direct_exit: adapters::direct_exit(isa, layout, sig)?,
        })
    }

    /// Compiles function `func_index` for on-stack replacement at its loops: machine code, called
    /// with the native signature on the slots of an interpreter frame that is at the header of
    /// one of the function's loops, with that `loop` operator's module offset as the third
    /// argument (where the slot entry takes a function index). It reads every local from its slot
    /// (laid out as parameters are: a `v128` local takes two slots) and goes on from the loop
    /// header (its metering point first) to the function's end; it returns as the function's
    /// code does. One compilation serves every loop of the function a running call may be in.
    ///
    /// Only loops without parameters entered with an empty operand stack can be entered this
    /// way (the locals are then all the state there is); the result lists their offsets,
    /// ascending. A function without such a loop is `CompileError::Unsupported`.
    pub fn compile_loop_entry(
        &self,
        module: &ModuleDesc,
        layout: &ContextLayout,
        func_index: u32,
        body: &FunctionBody<'_>,
        metering: &Metering,
    ) -> Result<LoopEntryCode, CompileError> {
        let isa: &dyn TargetIsa = &*self.isa;
        translate::compile(isa, module, layout, func_index, body, metering, true)
            .map(|(code, loops)| LoopEntryCode { code, loops })
    }
}

/// Machine code that enters a function at its loops (`Compiler::compile_loop_entry`).
#[derive(Debug, Clone)]
pub struct LoopEntryCode {
    /// The code, with the native (slot) signature.
    pub code: CompiledFunction,
    /// Module offsets of the `loop` operators it can be entered at, ascending.
    pub loops: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::{Parser, Payload};

    pub(crate) fn layout() -> ContextLayout {
        ContextLayout {
            memory_base: 0,
            memory_length: 8,
            globals: 16,
            funcs: 24,
            direct_funcs: 32,
            stack_limit: 40,
            libcalls: 48,
            fuel: 112,
            epoch: 120,
            epoch_deadline: 128,
            interrupt_flag: 136,
            clock_countdown: 144,
            memories: 152,
        }
    }

    /// Compiles the last function of `wat` (whose types `module` describes).
    fn compile_last(wat: &str, module: &ModuleDesc) -> Result<CompiledFunction, CompileError> {
        let bytes = wat::parse_str(wat).expect("valid text");
        let mut bodies = Vec::new();
        for payload in Parser::new(0).parse_all(&bytes) {
            if let Payload::CodeSectionEntry(body) = payload.expect("valid module") {
                bodies.push(body);
            }
        }
        let body = bodies.last().expect("a function");
        let index = (bodies.len() - 1) as u32;
        Compiler::new()?.compile(module, &layout(), index, body, &Metering::default())
    }

    fn i32_to_i32() -> ModuleDesc {
        ModuleDesc {
            types: vec![Some(FuncSig {
                params: vec![ValType::I32],
                results: vec![ValType::I32],
            })],
            func_types: vec![0],
            ..ModuleDesc::default()
        }
    }

    #[test]
    fn numeric_code_compiles_to_relocation_free_machine_code() {
        let wat = r#"(module (func (param i32) (result i32)
            local.get 0 i32.const 3 i32.div_s local.get 0 i32.mul))"#;
        let compiled = compile_last(wat, &i32_to_i32()).expect("compiled");
        assert!(!compiled.code.is_empty());
        assert!(compiled.alignment.is_power_of_two());
    }

    #[test]
    fn simd_compiles() {
        let wat = r#"(module (func (param i32) (result i32)
            local.get 0 i32x4.splat local.get 0 i8x16.splat i16x8.add
            i32x4.extract_lane 0))"#;
        let compiled = compile_last(wat, &i32_to_i32()).expect("compiled");
        assert!(!compiled.code.is_empty());
    }

    #[test]
    fn an_unsupported_operator_is_named() {
        let wat = r#"(module (table 1 funcref) (func (param i32) (result i32)
            local.get 0 drop table.size 0))"#;
        match compile_last(wat, &i32_to_i32()) {
            Err(CompileError::Unsupported(what)) => assert!(what.contains("TableSize"), "{what}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn memory_access_needs_a_described_memory_0() {
        let wat = r#"(module (memory 1 1 shared) (func (param i32) (result i32)
            local.get 0 i32.load))"#;
        // A shared memory 0 is not described to the tier (`memories: [None]`).
        assert!(matches!(
            compile_last(wat, &i32_to_i32()),
            Err(CompileError::Unsupported(_))
        ));
        let mut module = i32_to_i32();
        module.memories = vec![Some(Memory0 {
            page_size_log2: 16,
            guard_bytes: 0,
            memory64: false,
        })];
        let wat = r#"(module (memory 1) (func (param i32) (result i32) local.get 0 i32.load))"#;
        assert!(compile_last(wat, &module).is_ok());
    }

    #[test]
    fn the_compiler_names_its_cpu_features_and_settings() {
        let compiler = Compiler::new().expect("a host compiler");
        let features = compiler.cpu_features();
        assert!(
            features.iter().all(|f| !f.starts_with("has_")),
            "{features:?}"
        );
        assert!(features.windows(2).all(|w| w[0] <= w[1]));
        #[cfg(target_arch = "x86_64")]
        assert!(features.iter().any(|f| f == "sse3"), "{features:?}");
        assert!(compiler.settings().iter().any(|s| s == "opt_level=speed"));
    }

    #[test]
    fn the_version_constant_is_the_pinned_one() {
        let manifest = include_str!("../Cargo.toml");
        assert!(manifest.contains(&format!("cranelift-codegen = \"={CRANELIFT_VERSION}\"")));
    }

    #[test]
    fn trap_codes_round_trip() {
        for code in [
            TrapCode::Unreachable,
            TrapCode::MemoryOutOfBounds,
            TrapCode::IntegerDivisionByZero,
            TrapCode::IntegerOverflow,
            TrapCode::BadConversionToInteger,
            TrapCode::StackOverflow,
            TrapCode::OutOfFuel,
        ] {
            assert_eq!(TrapCode::from_u32(code as u32), Some(code));
        }
        assert_eq!(TrapCode::from_u32(0), None);
    }
}
