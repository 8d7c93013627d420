//! Wasm operators → Cranelift IR, one pass over a validated function body, and compilation of the
//! result. The operand stack of the body is a stack of SSA values; locals are Cranelift variables;
//! each Wasm block, loop and `if` becomes Cranelift blocks whose parameters carry the Wasm block's
//! results (or, for a loop, its parameters). Code after an unconditional branch is skipped until
//! the `else` or `end` that makes it reachable again. The numeric operators are in `numeric`.

use cranelift_codegen::Context;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, AbiParam, BlockArg, InstBuilder, JumpTableData, MemFlagsData, StackSlotData,
    StackSlotKind, Type, Value, types,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch, Variable};
use std::collections::HashMap;
use wasmparser::{BlockType, FunctionBody, Operator};

mod numeric;
mod simd;

use crate::{
    CodeSite, CodeSites, CompileError, CompiledFunction, ContextLayout, FuncSig, INDIRECT_MISS,
    Libcall, MAX_BODY_BYTES, MAX_LOCALS, Memory0, MeterPoint, Metering, ModuleDesc, TrapCode,
    ValType,
};

fn unsupported(what: impl Into<String>) -> CompileError {
    CompileError::Unsupported(what.into())
}

pub(crate) fn clif_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        // The canonical type of a `v128` (see `simd`).
        ValType::V128 => types::I8X16,
    }
}

/// How many 8-byte slots a value of Cranelift type `ty` takes: two for a `v128`, one for the rest
/// (as in the interpreter's frames).
fn slot_width(ty: Type) -> usize {
    if ty.is_vector() { 2 } else { 1 }
}

/// The slot index of each value of `tys` when they are laid out one after the other.
pub(crate) fn slot_indices(tys: impl IntoIterator<Item = Type>) -> Vec<usize> {
    let mut at = 0;
    tys.into_iter()
        .map(|ty| {
            let i = at;
            at += slot_width(ty);
            i
        })
        .collect()
}

/// How many slots the values of `tys` take.
pub(crate) fn slots_of(tys: &[ValType]) -> usize {
    tys.iter().map(|t| slot_width(clif_type(*t))).sum()
}

fn val_type(ty: wasmparser::ValType) -> Result<ValType, CompileError> {
    Ok(match ty {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        other => return Err(unsupported(format!("values of type {other:?}"))),
    })
}

/// The slot signature: how the runtime enters compiled code, and how compiled code calls the
/// runtime's entry for a function (see the crate documentation).
pub(crate) fn wasm_signature(isa: &dyn TargetIsa) -> ir::Signature {
    let ptr = isa.pointer_type();
    let mut sig = ir::Signature::new(isa.default_call_conv());
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(types::I32));
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

/// The direct signature of a function of type `sig`: how compiled code calls a function's body
/// (see the crate documentation), with arguments and results in registers.
pub(crate) fn direct_signature(isa: &dyn TargetIsa, sig: &FuncSig) -> ir::Signature {
    let mut s = ir::Signature::new(CallConv::Tail);
    s.params.push(AbiParam::new(isa.pointer_type()));
    s.params.push(AbiParam::new(types::I32));
    s.params
        .extend(sig.params.iter().map(|t| AbiParam::new(clif_type(*t))));
    s.returns.push(AbiParam::new(types::I32));
    s.returns
        .extend(sig.results.iter().map(|t| AbiParam::new(clif_type(*t))));
    s
}

/// Stores `v` at slot index `i` of `slots` as a 64-bit slot (32-bit values zero-extended; a
/// `v128` fills slots `i` and `i + 1`).
pub(crate) fn store_slot(builder: &mut FunctionBuilder<'_>, slots: Value, i: usize, v: Value) {
    let ty = builder.func.dfg.value_type(v);
    let wide = match ty {
        types::I32 => builder.ins().uextend(types::I64, v),
        types::F32 => {
            let bits = builder.ins().bitcast(types::I32, MemFlagsData::new(), v);
            builder.ins().uextend(types::I64, bits)
        }
        _ => v,
    };
    builder
        .ins()
        .store(slot_flags(), wide, slots, (i * 8) as i32);
}

/// Loads the value of type `ty` at slot index `i` of `slots`.
pub(crate) fn load_slot(
    builder: &mut FunctionBuilder<'_>,
    slots: Value,
    i: usize,
    ty: ValType,
) -> Value {
    builder
        .ins()
        .load(clif_type(ty), slot_flags(), slots, (i * 8) as i32)
}

/// Flags of accesses to memory the runtime keeps valid (the context, slots, globals) or to
/// memory 0 after an explicit bounds check: none traps.
pub(crate) fn slot_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// Compiles a finished Cranelift function to relocation-free machine code.
pub(crate) fn finish(
    isa: &dyn TargetIsa,
    func: ir::Function,
) -> Result<CompiledFunction, CompileError> {
    let mut context = Context::for_function(func);
    let compiled = context
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| match e.inner {
            // An operation this CPU's lowering lacks (some vector operations need SSE4.1 or
            // more): the function stays interpreted.
            cranelift_codegen::CodegenError::Unsupported(what) => {
                unsupported(format!("an operation Cranelift cannot lower here: {what}"))
            }
            other => CompileError::Codegen(format!("{other:?}")),
        })?;
    // Code that needs relocations (a libcall Cranelift chose for an operation the CPU lacks) is not
    // placed: the function stays interpreted.
    if !compiled.buffer.relocs().is_empty() {
        return Err(unsupported(
            "an operation Cranelift lowers to a call on this CPU",
        ));
    }
    let buffer = &compiled.buffer;
    let srclocs = buffer.get_srclocs_sorted();
    // The Wasm offset of the operator whose code covers `at` (a code offset), if any.
    let wasm_offset = |at: u32| -> Option<u32> {
        let i = srclocs.partition_point(|s| s.end <= at);
        srclocs
            .get(i)
            .filter(|s| s.start <= at && !s.loc.is_default())
            .map(|s| s.loc.bits())
    };
    let mut heap_traps: Vec<CodeSite> = buffer
        .traps()
        .iter()
        .filter(|t| t.code == ir::TrapCode::HEAP_OUT_OF_BOUNDS)
        .filter_map(|t| {
            Some(CodeSite {
                code_offset: t.offset,
                wasm_offset: wasm_offset(t.offset)?,
            })
        })
        .collect();
    heap_traps.sort_by_key(|s| s.code_offset);
    // A return address is just past its call: the call's own last byte names the operator.
    let mut calls: Vec<CodeSite> = buffer
        .call_sites()
        .filter_map(|c| {
            Some(CodeSite {
                code_offset: c.ret_addr,
                wasm_offset: wasm_offset(c.ret_addr.checked_sub(1)?)?,
            })
        })
        .collect();
    calls.sort_by_key(|s| s.code_offset);
    Ok(CompiledFunction {
        code: compiled.code_buffer().to_vec(),
        alignment: buffer.alignment.max(16),
        sites: CodeSites { heap_traps, calls },
    })
}

fn libcall_signature(isa: &dyn TargetIsa, libcall: Libcall) -> ir::Signature {
    let ptr = isa.pointer_type();
    let mut sig = ir::Signature::new(isa.default_call_conv());
    sig.params.push(AbiParam::new(ptr));
    let (params, ret): (&[Type], Option<Type>) = match libcall {
        Libcall::Trap => (&[types::I32], None),
        Libcall::Frame => (&[types::I32, types::I32], None),
        Libcall::CallIndirect => (&[types::I32, types::I32, types::I32], Some(types::I32)),
        // The memory index first; addresses, lengths and deltas are 64-bit (a 32-bit memory's
        // are zero-extended).
        Libcall::MemoryGrow => (&[types::I32, types::I64], Some(types::I64)),
        Libcall::MemoryFill => (
            &[types::I32, types::I64, types::I32, types::I64],
            Some(types::I32),
        ),
        Libcall::MemoryCopy => (
            &[types::I32, types::I32, types::I64, types::I64, types::I64],
            Some(types::I32),
        ),
        Libcall::Interrupt => (&[], Some(types::I32)),
        Libcall::ResolveIndirect => (&[types::I32, types::I32, types::I32], Some(types::I32)),
    };
    for p in params {
        sig.params.push(AbiParam::new(*p));
    }
    if libcall == Libcall::CallIndirect {
        sig.params.push(AbiParam::new(ptr));
    }
    if let Some(r) = ret {
        sig.returns.push(AbiParam::new(r));
    }
    sig
}

/// Compiles one function: its code with the direct signature (`Compiler::compile`), or with
/// `at_loops` the code that enters it at its loops (`Compiler::compile_loop_entry`) and the
/// module offsets of those loops, ascending.
pub(crate) fn compile(
    isa: &dyn TargetIsa,
    module: &ModuleDesc,
    layout: &ContextLayout,
    func_index: u32,
    body: &FunctionBody<'_>,
    metering: &Metering,
    at_loops: bool,
) -> Result<(CompiledFunction, Vec<u32>), CompileError> {
    if body.range().end - body.range().start > MAX_BODY_BYTES as u64 {
        return Err(unsupported("a function body over the size limit"));
    }
    let sig = module
        .func_types
        .get(func_index as usize)
        .and_then(|t| module.types.get(*t as usize))
        .and_then(|s| s.clone())
        .ok_or_else(|| unsupported("a non-numeric signature"))?;
    // Code entered at a loop is called by the runtime only, with the slot signature.
    let signature = match at_loops {
        false => direct_signature(isa, &sig),
        true => wasm_signature(isa),
    };
    let mut func =
        ir::Function::with_name_signature(ir::UserFuncName::user(0, func_index), signature);
    let mut builder_context = FunctionBuilderContext::new();
    let builder = FunctionBuilder::new(&mut func, &mut builder_context);
    let mut translator =
        FuncTranslator::new(isa, module, layout, metering, func_index, builder, &sig);
    translator.direct = !at_loops;
    if at_loops {
        let dispatch = translator.builder.create_block();
        translator.loop_entry = Some(LoopEntries {
            dispatch,
            headers: Vec::new(),
        });
    }
    translator.translate_body(body, &sig)?;
    let mut loops = Vec::new();
    if let Some(entries) = translator.loop_entry.take() {
        if entries.headers.is_empty() {
            return Err(unsupported("no loop on-stack replacement can enter"));
        }
        translator.dispatch_loop_entries(&entries);
        loops = entries.headers.iter().map(|(offset, _)| *offset).collect();
        loops.sort_unstable();
    }
    translator.fill_fail_block();
    translator.builder.seal_all_blocks();
    translator.builder.finalize(isa.frontend_config());
    Ok((finish(isa, func)?, loops))
}

/// An indirect call split by `FuncTranslator::resolve_indirect`: its operands, the resolved
/// callee (`INDIRECT_MISS` or a module function index) and the blocks of its two paths.
struct IndirectCall {
    sig: FuncSig,
    args: Vec<Value>,
    table: Value,
    ty: Value,
    element: Value,
    callee: Value,
    direct: ir::Block,
    through_store: ir::Block,
}

/// Whether `op` reads memory 0's base or length in compiled code (an access or `memory.size`).
fn reads_memory(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::I32Load { .. }
            | O::I64Load { .. }
            | O::F32Load { .. }
            | O::F64Load { .. }
            | O::I32Load8S { .. }
            | O::I32Load8U { .. }
            | O::I32Load16S { .. }
            | O::I32Load16U { .. }
            | O::I64Load8S { .. }
            | O::I64Load8U { .. }
            | O::I64Load16S { .. }
            | O::I64Load16U { .. }
            | O::I64Load32S { .. }
            | O::I64Load32U { .. }
            | O::I32Store { .. }
            | O::I64Store { .. }
            | O::F32Store { .. }
            | O::F64Store { .. }
            | O::I32Store8 { .. }
            | O::I32Store16 { .. }
            | O::I64Store8 { .. }
            | O::I64Store16 { .. }
            | O::I64Store32 { .. }
            | O::MemorySize { .. }
            | O::V128Load { .. }
            | O::V128Load8x8S { .. }
            | O::V128Load8x8U { .. }
            | O::V128Load16x4S { .. }
            | O::V128Load16x4U { .. }
            | O::V128Load32x2S { .. }
            | O::V128Load32x2U { .. }
            | O::V128Load8Splat { .. }
            | O::V128Load16Splat { .. }
            | O::V128Load32Splat { .. }
            | O::V128Load64Splat { .. }
            | O::V128Load32Zero { .. }
            | O::V128Load64Zero { .. }
            | O::V128Store { .. }
            | O::V128Load8Lane { .. }
            | O::V128Load16Lane { .. }
            | O::V128Load32Lane { .. }
            | O::V128Load64Lane { .. }
            | O::V128Store8Lane { .. }
            | O::V128Store16Lane { .. }
            | O::V128Store32Lane { .. }
            | O::V128Store64Lane { .. }
    )
}

/// What a Wasm block, loop or `if` left open.
struct Frame {
    kind: FrameKind,
    /// Where the construct's `end` goes on; its parameters are the construct's results.
    next: ir::Block,
    /// Operand stack height below the construct's parameters.
    height: usize,
    n_params: usize,
    n_results: usize,
    /// Whether some branch to `next` came with memory 0's base and length stale (see
    /// `FuncTranslator::memory_stale`).
    stale_in: bool,
}

enum FrameKind {
    Block,
    /// A branch to a loop goes to its header, whose parameters are the loop's parameters.
    Loop {
        header: ir::Block,
    },
    /// `else_block` is taken when the condition is false (its parameters are the `if`'s
    /// parameters); `has_else` once the `else` was seen.
    If {
        else_block: ir::Block,
        has_else: bool,
        /// Whether memory 0's base and length were stale at the `if` (so at the `else`).
        stale_at_if: bool,
    },
}

/// The loops a function compiled for on-stack replacement can be entered at
/// (`Compiler::compile_loop_entry`).
struct LoopEntries {
    /// Where the entry block goes once it has read every local from its slot: chooses the header
    /// by the loop offset the runtime passes (filled in once every loop is known,
    /// `FuncTranslator::dispatch_loop_entries`).
    dispatch: ir::Block,
    /// Each loop that can be entered (no parameters, an empty operand stack at its header): its
    /// `loop` operator's module offset and its header.
    headers: Vec<(u32, ir::Block)>,
}

struct FuncTranslator<'a, 'b> {
    isa: &'a dyn TargetIsa,
    module: &'a ModuleDesc,
    layout: &'a ContextLayout,
    metering: &'a Metering,
    func_index: u32,
    builder: FunctionBuilder<'b>,
    ptr: Type,
    vmctx: Value,
    /// Each local's variable and type.
    locals: Vec<(Variable, Type)>,
    stack: Vec<Value>,
    control: Vec<Frame>,
    /// Whether the current position is reachable; when not, `dead_depth` counts the constructs
    /// opened in the unreachable code.
    reachable: bool,
    dead_depth: u32,
    mem_base: Variable,
    mem_len: Variable,
    /// Whether `mem_base` and `mem_len` may be out of date (after a call): the next access
    /// reloads them from the context, and so does a branch to a loop header (so that every loop
    /// header sees them fresh). Reloading lazily spares the loads after calls whose caller does
    /// not touch memory before it returns or calls again.
    memory_stale: bool,
    /// Whether the body has an operator that reads memory 0's base or length.
    reads_memory: bool,
    /// Bounds checks that dominate the current position: address value → the largest access end
    /// (offset plus width) checked for it. A later access at that address ending no further needs
    /// no check, since memory never shrinks. Emptied where control flow merges (`else`, `end`, a
    /// loop header), kept into blocks the current position dominates.
    checked_ends: HashMap<Value, u64>,
    /// The last memory access had no explicit check (the guard region catches it).
    unchecked_access: bool,
    /// Argument and result slots of outgoing calls (sized for the module's widest signature).
    call_slots: ir::StackSlot,
    libcall_sigs: [Option<ir::SigRef>; Libcall::COUNT],
    /// Offset in the module binary of the operator being translated.
    offset: u32,
    /// With on-stack replacement: the loops the code can be entered at.
    loop_entry: Option<LoopEntries>,
    /// The function's result types (a failing return returns zeros of them after the status).
    results: Vec<ValType>,
    /// Whether the function has the direct signature (arguments and results in registers); the
    /// code entered at a loop has the slot signature.
    direct: bool,
    /// Direct signatures imported for calls, by callee type.
    direct_sigs: HashMap<FuncSig, ir::SigRef>,
    /// Where every failure that records this function's frame goes, made at the first
    /// ([`FuncTranslator::fail_with_frame`]); filled once the body is translated
    /// ([`FuncTranslator::fill_fail_block`]).
    fail_block: Option<ir::Block>,
}

/// The trap code argument of the shared failure block for a failure whose trap a callee or a
/// libcall has recorded already.
const NO_TRAP: i64 = -1;

impl<'a, 'b> FuncTranslator<'a, 'b> {
    fn new(
        isa: &'a dyn TargetIsa,
        module: &'a ModuleDesc,
        layout: &'a ContextLayout,
        metering: &'a Metering,
        func_index: u32,
        mut builder: FunctionBuilder<'b>,
        sig: &FuncSig,
    ) -> Self {
        let ptr = isa.pointer_type();
        let widest = module
            .types
            .iter()
            .flatten()
            .map(|s| slots_of(&s.params).max(slots_of(&s.results)))
            .max()
            .unwrap_or(0)
            .max(slots_of(&sig.results))
            .max(1);
        let call_slots = builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (widest * 8) as u32,
            3,
        ));
        let mem_base = builder.declare_var(ptr);
        let mem_len = builder.declare_var(types::I64);
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        let vmctx = builder.block_params(entry)[0];
        FuncTranslator {
            isa,
            module,
            layout,
            metering,
            func_index,
            builder,
            ptr,
            vmctx,
            locals: Vec::new(),
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            dead_depth: 0,
            mem_base,
            mem_len,
            memory_stale: true,
            reads_memory: true,
            checked_ends: HashMap::new(),
            unchecked_access: false,
            call_slots,
            libcall_sigs: [None; Libcall::COUNT],
            offset: 0,
            loop_entry: None,
            results: sig.results.clone(),
            direct: true,
            direct_sigs: HashMap::new(),
            fail_block: None,
        }
    }

    fn flags() -> MemFlagsData {
        slot_flags()
    }

    /// The flags of a Wasm memory access: it may fault (past the memory's length, when the
    /// explicit check was left to the guard region; see `Memory0::guard_bytes`), and the fault
    /// is a heap trap whose site Cranelift records.
    pub(crate) fn heap() -> MemFlagsData {
        MemFlagsData::new().with_trap_code(Some(ir::TrapCode::HEAP_OUT_OF_BOUNDS))
    }

    fn load_ctx(&mut self, ty: Type, offset: i32) -> Value {
        self.builder
            .ins()
            .load(ty, Self::flags(), self.vmctx, offset)
    }

    /// Reloads memory 0's base and length if they may be out of date (and the function reads
    /// them at all).
    fn fresh_memory(&mut self) {
        if self.memory_stale && self.reads_memory {
            self.reload_memory();
            self.memory_stale = false;
        }
    }

    /// Before a branch to the construct `depth` levels out: a loop header gets memory 0 fresh;
    /// any other target learns whether it comes stale.
    fn before_branch(&mut self, depth: u32) {
        let at = self.control.len() - 1 - depth as usize;
        if matches!(self.control[at].kind, FrameKind::Loop { .. }) {
            self.fresh_memory();
        } else {
            self.control[at].stale_in |= self.memory_stale;
        }
    }

    fn reload_memory(&mut self) {
        if self.module.memory(0).is_none() || !self.reads_memory {
            return;
        }
        let base = self.load_ctx(self.ptr, self.layout.memory_base);
        let len = self.load_ctx(types::I64, self.layout.memory_length);
        self.builder.def_var(self.mem_base, base);
        self.builder.def_var(self.mem_len, len);
    }

    /// Fills the dispatch block of code entered at a loop: a switch on the loop offset the
    /// runtime passes (the slot signature's third parameter) to that loop's header. Any other
    /// offset traps (the runtime passes only offsets the compiler listed).
    fn dispatch_loop_entries(&mut self, entries: &LoopEntries) {
        self.builder.switch_to_block(entries.dispatch);
        let entry = self.builder.func.layout.entry_block().expect("compiled");
        let selector = self.builder.block_params(entry)[2];
        let mut switch = Switch::new();
        for (offset, header) in &entries.headers {
            switch.set_entry(u128::from(*offset), *header);
        }
        let unknown = self.builder.create_block();
        switch.emit(&mut self.builder, selector, unknown);
        self.builder.switch_to_block(unknown);
        self.trap(TrapCode::Unreachable);
    }

    fn translate_body(
        &mut self,
        body: &FunctionBody<'_>,
        sig: &FuncSig,
    ) -> Result<(), CompileError> {
        self.reads_memory = {
            let mut reader = body.get_operators_reader()?;
            let mut found = false;
            while !reader.eof() && !found {
                found = reads_memory(&reader.read()?);
            }
            found
        };
        let entry_params: Vec<Value> = {
            let entry = self.builder.current_block().expect("in the entry block");
            self.builder.block_params(entry).to_vec()
        };
        // With the slot signature, the slots; with the direct one, the arguments follow the
        // context and the function index.
        let slots = entry_params[1];

        // The stack check: the prologue has reserved this function's frame already; the
        // runtime's margin below the limit covers it (see `MAX_LOCALS`, `MAX_BODY_BYTES`).
        let sp = self.builder.ins().get_stack_pointer(self.ptr);
        let limit = self.load_ctx(self.ptr, self.layout.stack_limit);
        let overflow = self.builder.ins().icmp(IntCC::UnsignedLessThan, sp, limit);
        self.trap_if(overflow, TrapCode::StackOverflow, false);

        let mut types: Vec<Type> = sig.params.iter().map(|ty| clif_type(*ty)).collect();
        let mut locals_reader = body.get_locals_reader()?;
        for _ in 0..locals_reader.get_count() {
            let (count, ty) = locals_reader.read()?;
            if types.len() as u64 + count as u64 > MAX_LOCALS as u64 {
                return Err(unsupported("more locals than the tier's limit"));
            }
            let ty = clif_type(val_type(ty)?);
            types.extend(std::iter::repeat_n(ty, count as usize));
        }
        for ty in &types {
            let var = self.builder.declare_var(*ty);
            self.locals.push((var, *ty));
        }
        if let Some(dispatch) = self.loop_entry.as_ref().map(|e| e.dispatch) {
            // Entered at a loop header: every local is in its slot. The function's own entry
            // below is then never reached (Cranelift removes it).
            let at = slot_indices(self.locals.iter().map(|(_, ty)| *ty));
            for (i, (var, ty)) in self.locals.clone().into_iter().enumerate() {
                let v = self
                    .builder
                    .ins()
                    .load(ty, Self::flags(), slots, (at[i] * 8) as i32);
                self.builder.def_var(var, v);
            }
            self.reload_memory();
            self.memory_stale = false;
            self.builder.ins().jump(dispatch, &[]);
            let unreached = self.builder.create_block();
            self.builder.switch_to_block(unreached);
        }
        let at = slot_indices(self.locals.iter().map(|(_, ty)| *ty));
        for (i, (var, ty)) in self.locals.clone().into_iter().enumerate() {
            let v = if i < sig.params.len() && self.direct {
                entry_params[2 + i]
            } else if i < sig.params.len() {
                self.builder
                    .ins()
                    .load(ty, Self::flags(), slots, (at[i] * 8) as i32)
            } else {
                self.zero(ty)
            };
            self.builder.def_var(var, v);
        }
        // Memory 0's base and length are loaded where first needed.
        self.memory_stale = true;
        if let Some(point) = self.metering.entry {
            self.meter(point);
        }

        // The function body is a block whose end returns.
        let ret = self.builder.create_block();
        for ty in &sig.results {
            self.builder.append_block_param(ret, clif_type(*ty));
        }
        self.control.push(Frame {
            kind: FrameKind::Block,
            next: ret,
            height: 0,
            n_params: 0,
            n_results: sig.results.len(),
            stale_in: false,
        });

        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            self.offset = reader.original_position() as u32;
            // The operator's offset names the machine code it becomes: a heap access that
            // faults and a call on the stack map back to it (`CompiledFunction::sites`).
            self.builder.set_srcloc(ir::SourceLoc::new(self.offset));
            let op = reader.read()?;
            self.translate_operator(&op)?;
            if self.control.is_empty() {
                break;
            }
        }
        // After the body's `end`, the builder is in `ret`, the results on the stack.
        let results = std::mem::take(&mut self.stack);
        let ok = self.builder.ins().iconst(types::I32, 0);
        if self.direct {
            let mut values = vec![ok];
            values.extend(results);
            self.builder.ins().return_(&values);
        } else {
            let at = slot_indices(sig.results.iter().map(|t| clif_type(*t)));
            for (i, v) in results.iter().enumerate() {
                store_slot(&mut self.builder, slots, at[i], *v);
            }
            self.builder.ins().return_(&[ok]);
        }
        Ok(())
    }

    /// Returns status 1 (a failure), with zeros for the results under the direct signature.
    fn return_failure(&mut self) {
        let one = self.builder.ins().iconst(types::I32, 1);
        let mut values = vec![one];
        if self.direct {
            for ty in self.results.clone() {
                let zero = self.zero(clif_type(ty));
                values.push(zero);
            }
        }
        self.builder.ins().return_(&values);
    }

    fn zero(&mut self, ty: Type) -> Value {
        match ty {
            types::F32 => self.builder.ins().f32const(0.0),
            types::F64 => self.builder.ins().f64const(0.0),
            types::I8X16 => self.v128_const(0),
            _ => self.builder.ins().iconst(ty, 0),
        }
    }

    fn direct_sig(&mut self, sig: &FuncSig) -> ir::SigRef {
        if let Some(s) = self.direct_sigs.get(sig) {
            return *s;
        }
        let s = self
            .builder
            .import_signature(direct_signature(self.isa, sig));
        self.direct_sigs.insert(sig.clone(), s);
        s
    }

    fn call_libcall(&mut self, libcall: Libcall, args: &[Value]) -> Option<Value> {
        let sig = match self.libcall_sigs[libcall as usize] {
            Some(s) => s,
            None => {
                let s = self
                    .builder
                    .import_signature(libcall_signature(self.isa, libcall));
                self.libcall_sigs[libcall as usize] = Some(s);
                s
            }
        };
        let ptr_size = self.ptr.bytes() as i32;
        let f = self.load_ctx(self.ptr, self.layout.libcalls + libcall as i32 * ptr_size);
        let mut all = vec![self.vmctx];
        all.extend_from_slice(args);
        let call = self.builder.ins().call_indirect(sig, f, &all);
        self.builder.inst_results(call).first().copied()
    }

    /// Leaves the function with status 1 when `failed` is non-zero: after recording a trap of
    /// `code` (if any; none when a callee or libcall recorded it already) and this function's
    /// frame at the current operator (if `frame`).
    fn fail_if(&mut self, failed: Value, code: Option<TrapCode>, frame: bool) {
        let next = self.builder.create_block();
        // A cold block of its own (laid out after the hot code, which falls through to `next`),
        // which passes the failure on to the shared block.
        let fail = self.builder.create_block();
        self.builder.set_cold_block(fail);
        self.builder.ins().brif(failed, fail, &[], next, &[]);
        self.builder.switch_to_block(fail);
        if frame {
            let (block, args) = self.fail_with_frame(code);
            self.builder.ins().jump(block, &args);
        } else {
            if let Some(code) = code {
                let code = self.builder.ins().iconst(types::I32, code as i64);
                self.call_libcall(Libcall::Trap, &[code]);
            }
            self.return_failure();
        }
        self.builder.switch_to_block(next);
    }

    /// The shared failure block and its arguments for a failure at the current operator that
    /// records trap `code` (if any) and this function's frame. One block with the libcalls and
    /// the return per function, not per check: a large function has thousands of checks (every
    /// call's status, every metering point's fuel), and each had two libcalls and a return of
    /// its own (compiled QuickJS and SQLite are 11–12% smaller without).
    fn fail_with_frame(&mut self, code: Option<TrapCode>) -> (ir::Block, [ir::BlockArg; 2]) {
        let block = match self.fail_block {
            Some(block) => block,
            None => {
                let block = self.builder.create_block();
                self.builder.append_block_param(block, types::I32);
                self.builder.append_block_param(block, types::I32);
                self.builder.set_cold_block(block);
                self.fail_block = Some(block);
                block
            }
        };
        let code = self
            .builder
            .ins()
            .iconst(types::I32, code.map_or(NO_TRAP, |c| c as i64));
        let offset = self.builder.ins().iconst(types::I32, self.offset as i64);
        (block, [code.into(), offset.into()])
    }

    /// Fills the shared failure block, if any check uses it: records the trap its code names
    /// (unless [`NO_TRAP`]) and the function's frame at its offset, and fails.
    fn fill_fail_block(&mut self) {
        let Some(block) = self.fail_block else {
            return;
        };
        self.builder.switch_to_block(block);
        let (code, offset) = match self.builder.block_params(block) {
            [code, offset] => (*code, *offset),
            _ => unreachable!("the failure block has two parameters"),
        };
        let record = self.builder.create_block();
        let frame = self.builder.create_block();
        let none = self.builder.ins().icmp_imm_s(IntCC::Equal, code, NO_TRAP);
        self.builder.ins().brif(none, frame, &[], record, &[]);
        self.builder.switch_to_block(record);
        self.call_libcall(Libcall::Trap, &[code]);
        self.builder.ins().jump(frame, &[]);
        self.builder.switch_to_block(frame);
        let f = self
            .builder
            .ins()
            .iconst(types::I32, self.func_index as i64);
        self.call_libcall(Libcall::Frame, &[f, offset]);
        self.return_failure();
    }

    /// The metering point that begins the run after the current operator, if the plan has one.
    fn meter_after_operator(&mut self) {
        if let Some(point) = self.metering.after.get(&self.offset).copied() {
            self.meter(point);
        }
    }

    /// A metering point (see [`Metering`]): charge its fuel, then check for interruption. A trap
    /// here names the point's offset, as the interpreter's metering instructions do.
    fn meter(&mut self, point: MeterPoint) {
        let operator_offset = std::mem::replace(&mut self.offset, point.trap_offset);
        if let Some(fuel) = point.fuel.filter(|f| *f > 0) {
            let left = self.load_ctx(types::I64, self.layout.fuel);
            let short = self
                .builder
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThan, left, fuel as i64);
            self.trap_if(short, TrapCode::OutOfFuel, true);
            let amount = self.builder.ins().iconst(types::I64, fuel as i64);
            let rest = self.builder.ins().isub(left, amount);
            self.builder
                .ins()
                .store(Self::flags(), rest, self.vmctx, self.layout.fuel);
        }
        if point.check_interrupt {
            let epoch_at = self.load_ctx(self.ptr, self.layout.epoch);
            let epoch = self
                .builder
                .ins()
                .load(types::I64, Self::flags(), epoch_at, 0);
            let deadline = self.load_ctx(types::I64, self.layout.epoch_deadline);
            let past = self
                .builder
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
            let flag_at = self.load_ctx(self.ptr, self.layout.interrupt_flag);
            let flag = self
                .builder
                .ins()
                .uload8(types::I32, Self::flags(), flag_at, 0);
            let requested = self.builder.ins().icmp_imm_u(IntCC::NotEqual, flag, 0);
            let countdown = self.load_ctx(types::I32, self.layout.clock_countdown);
            let countdown = self.builder.ins().iadd_imm_s(countdown, -1);
            self.builder.ins().store(
                Self::flags(),
                countdown,
                self.vmctx,
                self.layout.clock_countdown,
            );
            let due = self.builder.ins().icmp_imm_u(IntCC::Equal, countdown, 0);
            let fire = self.builder.ins().bor(past, requested);
            let fire = self.builder.ins().bor(fire, due);
            let decide = self.builder.create_block();
            let next = self.builder.create_block();
            self.builder.set_cold_block(decide);
            self.builder.ins().brif(fire, decide, &[], next, &[]);
            self.builder.switch_to_block(decide);
            let status = self
                .call_libcall(Libcall::Interrupt, &[])
                .expect("the interrupt libcall returns a status");
            self.fail_if(status, None, true);
            // The epoch callback may have run code that grew memory 0.
            self.reload_memory();
            self.builder.ins().jump(next, &[]);
            self.builder.switch_to_block(next);
        }
        self.offset = operator_offset;
    }

    fn trap_if(&mut self, cond: Value, code: TrapCode, frame: bool) {
        self.fail_if(cond, Some(code), frame);
    }

    /// An unconditional trap; the rest of the construct is unreachable.
    fn trap(&mut self, code: TrapCode) {
        let (block, args) = self.fail_with_frame(Some(code));
        self.builder.ins().jump(block, &args);
        self.reachable = false;
    }

    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: the operand stack has a value")
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn pop_n(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    fn peek_n(&self, n: usize) -> Vec<Value> {
        self.stack[self.stack.len() - n..].to_vec()
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    fn block_sig(&self, ty: BlockType) -> Result<FuncSig, CompileError> {
        Ok(match ty {
            BlockType::Empty => FuncSig::default(),
            BlockType::Type(t) => FuncSig {
                params: vec![],
                results: vec![val_type(t)?],
            },
            BlockType::FuncType(index) => self
                .module
                .types
                .get(index as usize)
                .cloned()
                .flatten()
                .ok_or_else(|| unsupported("a block type with non-numeric values"))?,
        })
    }

    fn new_block_with(&mut self, tys: &[ValType]) -> ir::Block {
        let block = self.builder.create_block();
        for ty in tys {
            self.builder.append_block_param(block, clif_type(*ty));
        }
        block
    }

    /// The block a branch of relative depth `depth` goes to, and how many values it carries.
    fn branch_target(&self, depth: u32) -> (ir::Block, usize) {
        let frame = &self.control[self.control.len() - 1 - depth as usize];
        match frame.kind {
            FrameKind::Loop { header } => (header, frame.n_params),
            _ => (frame.next, frame.n_results),
        }
    }

    fn jump_args(values: &[Value]) -> Vec<BlockArg> {
        values.iter().map(|v| BlockArg::Value(*v)).collect()
    }

    /// Memory `index`'s description, if the tier compiles accesses to it.
    fn memory(&self, index: u32) -> Result<Memory0, CompileError> {
        self.module
            .memory(index)
            .ok_or_else(|| unsupported("an access to a memory the tier does not compile"))
    }

    /// An address, length or page delta of memory `index` as the runtime's 64-bit value.
    fn address64(&mut self, index: u32, v: Value) -> Value {
        if self.module.memory(index).is_some_and(|m| m.memory64) {
            v
        } else {
            self.builder.ins().uextend(types::I64, v)
        }
    }

    /// Memory `index`'s entry in the context's memory table: its base and its length.
    fn memory_view(&mut self, index: u32) -> (Value, Value) {
        let views = self.load_ctx(self.ptr, self.layout.memories);
        let at = (index as i32) * 16;
        let base = self.builder.ins().load(self.ptr, Self::flags(), views, at);
        let len = self
            .builder
            .ins()
            .load(types::I64, Self::flags(), views, at + 8);
        (base, len)
    }

    /// The memory index a memory access names (atomics are not compiled).
    fn memory_of(memarg: &wasmparser::MemArg) -> Result<u32, CompileError> {
        match memarg.target {
            wasmparser::MemArgTarget::Memory(m) if memarg.ordering.is_none() => Ok(m),
            _ => Err(unsupported("an atomic or shared-everything memory access")),
        }
    }

    /// The address of a `size`-byte access at `addr + offset` in memory `index`, after the
    /// bounds check. Memory 0's base and length are kept in variables (reloaded lazily after
    /// calls); another memory's are read from the context's memory table at each access.
    fn memory_address(
        &mut self,
        index: u32,
        offset: u64,
        size: u32,
    ) -> Result<Value, CompileError> {
        let memory = self.memory(index)?;
        let wasm_addr = self.pop();
        let addr = self.address64(index, wasm_addr);
        let (base, len) = if index == 0 {
            self.fresh_memory();
            (
                self.builder.use_var(self.mem_base),
                self.builder.use_var(self.mem_len),
            )
        } else {
            self.memory_view(index)
        };
        // A 32-bit address plus a 32-bit offset plus the size does not overflow 64 bits; a
        // 64-bit one may, and then the access is out of bounds.
        let end_offset = offset.checked_add(size as u64);
        let checked = self.checked_ends.get(&wasm_addr).copied();
        // Every address past the length up to 4 GiB + guard faults: a short enough access needs
        // no check (the fault is the trap, see the runtime's `native::guard`).
        // (Only memory 0 has its faults turned into traps.)
        let guarded =
            index == 0 && !memory.memory64 && end_offset.is_some_and(|e| e <= memory.guard_bytes);
        self.unchecked_access = guarded;
        // Checked ends are remembered for memory 0 only.
        let checked = checked.filter(|_| index == 0);
        let needs_check = match (end_offset, checked) {
            (Some(end), Some(checked)) => checked < end,
            _ => true,
        };
        if !guarded && needs_check {
            let oob = match end_offset {
                Some(end_offset) if !memory.memory64 => {
                    let end = self.builder.ins().iadd_imm_u(addr, end_offset as i64);
                    self.builder
                        .ins()
                        .icmp(IntCC::UnsignedGreaterThan, end, len)
                }
                Some(end_offset) => {
                    let k = self.builder.ins().iconst(types::I64, end_offset as i64);
                    let (end, carry) = self.builder.ins().uadd_overflow(addr, k);
                    let past = self
                        .builder
                        .ins()
                        .icmp(IntCC::UnsignedGreaterThan, end, len);
                    self.builder.ins().bor(past, carry)
                }
                // The offset and size alone overflow: always out of bounds.
                None => self.builder.ins().iconst(types::I8, 1),
            };
            self.trap_if(oob, TrapCode::MemoryOutOfBounds, true);
            if let Some(end) = end_offset.filter(|_| index == 0) {
                self.checked_ends.insert(wasm_addr, end);
            }
        }
        let at = self.builder.ins().iadd(base, addr);
        Ok(self.builder.ins().iadd_imm_u(at, offset as i64))
    }

    fn load(
        &mut self,
        memarg: &wasmparser::MemArg,
        size: u32,
        f: impl FnOnce(&mut FunctionBuilder<'b>, Value) -> Value,
    ) -> Result<(), CompileError> {
        let memory = Self::memory_of(memarg)?;
        let p = self.memory_address(memory, memarg.offset, size)?;
        let v = f(&mut self.builder, p);
        self.after_load();
        self.push(v);
        Ok(())
    }

    /// After a load from memory 0: one that may fault (its check left to the guard region) is
    /// fenced off from later operators' code (a `sequence_point`, which emits nothing), so that
    /// Cranelift cannot merge it into an instruction of a later operator, which would give the
    /// faulting instruction that operator's offset.
    pub(crate) fn after_load(&mut self) {
        if self.unchecked_access {
            self.builder.ins().sequence_point();
        }
    }

    fn store(
        &mut self,
        memarg: &wasmparser::MemArg,
        size: u32,
        f: impl FnOnce(&mut FunctionBuilder<'b>, Value, Value),
    ) -> Result<(), CompileError> {
        let memory = Self::memory_of(memarg)?;
        let value = self.pop();
        let p = self.memory_address(memory, memarg.offset, size)?;
        f(&mut self.builder, value, p);
        Ok(())
    }

    /// The body of the function whose module function index is `index` (an `i32` value), as its
    /// entry in the context's direct table.
    fn direct_code(&mut self, index: Value) -> Value {
        crate::adapters::table_entry(
            &mut self.builder,
            self.ptr,
            self.vmctx,
            self.layout.direct_funcs,
            index,
        )
    }

    /// Calls `code` with the direct signature of `sig`: the status, then the results.
    fn call_direct(
        &mut self,
        sig: &FuncSig,
        code: Value,
        index: Value,
        args: &[Value],
    ) -> Vec<Value> {
        let sig_ref = self.direct_sig(sig);
        let mut all = vec![self.vmctx, index];
        all.extend_from_slice(args);
        let call = self.builder.ins().call_indirect(sig_ref, code, &all);
        self.builder.inst_results(call).to_vec()
    }

    /// The signature of `call_indirect`'s type `type_index` through table `table_index`, if the
    /// tier compiles the call.
    fn indirect_sig(&self, type_index: u32, table_index: u32) -> Result<FuncSig, CompileError> {
        let sig = self
            .module
            .types
            .get(type_index as usize)
            .cloned()
            .flatten()
            .ok_or_else(|| unsupported("call_indirect of a non-numeric signature"))?;
        if self.module.table64.get(table_index as usize) != Some(&false) {
            return Err(unsupported("call_indirect through a 64-bit table"));
        }
        Ok(sig)
    }

    /// Pops the operands of a `call_indirect` (or `return_call_indirect`) of type `sig` and asks
    /// `Libcall::ResolveIndirect` for the callee: a function of the same instance with the right
    /// type is called as a direct callee is, through the direct table (`direct`); anything else,
    /// and every trap, goes through the store (`through_store`, cold). The builder is left in
    /// neither block.
    fn resolve_indirect(
        &mut self,
        sig: FuncSig,
        type_index: u32,
        table_index: u32,
    ) -> IndirectCall {
        let element = self.pop();
        let args = self.pop_n(sig.params.len());
        let table = self.builder.ins().iconst(types::I32, table_index as i64);
        let ty = self.builder.ins().iconst(types::I32, type_index as i64);
        let callee = self
            .call_libcall(Libcall::ResolveIndirect, &[table, ty, element])
            .expect("the resolution returns an index");
        let (direct, through_store) = (self.builder.create_block(), self.builder.create_block());
        let miss = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::Equal, callee, i64::from(INDIRECT_MISS));
        self.builder.set_cold_block(through_store);
        self.builder
            .ins()
            .brif(miss, through_store, &[], direct, &[]);
        IndirectCall {
            sig,
            args,
            table,
            ty,
            element,
            callee,
            direct,
            through_store,
        }
    }

    /// `call_indirect`'s path through the store (`Libcall::CallIndirect`: bounds, null and type
    /// checks in ward, then the callee): the status, then the results.
    fn call_through_store(&mut self, call: &IndirectCall) -> Vec<Value> {
        let slots = self.builder.ins().stack_addr(self.ptr, self.call_slots, 0);
        let at = slot_indices(call.sig.params.iter().map(|t| clif_type(*t)));
        for (i, v) in call.args.iter().enumerate() {
            store_slot(&mut self.builder, slots, at[i], *v);
        }
        let status = self
            .call_libcall(
                Libcall::CallIndirect,
                &[call.table, call.ty, call.element, slots],
            )
            .expect("call_indirect returns a status");
        let mut returned = vec![status];
        let at = slot_indices(call.sig.results.iter().map(|t| clif_type(*t)));
        for (i, ty) in call.sig.results.iter().enumerate() {
            returned.push(load_slot(&mut self.builder, slots, at[i], *ty));
        }
        returned
    }

    /// Whether a tail call to a function of type `sig` can be compiled: only in a function's own
    /// code (code entered at a loop has the slot signature), and only when the callee's status
    /// and results all come back in registers (no return area, which the callee would have to
    /// take over from this frame's caller).
    fn tail_callable(&self, sig: &FuncSig) -> Result<(), CompileError> {
        if !self.direct {
            return Err(unsupported("a tail call in code entered at a loop"));
        }
        let ints = sig
            .results
            .iter()
            .filter(|t| matches!(t, ValType::I32 | ValType::I64))
            .count();
        let floats = sig.results.len() - ints;
        if ints > 1 || floats > 2 {
            return Err(unsupported("a tail call whose results need a return area"));
        }
        Ok(())
    }

    /// A tail call of `code` (the direct table's entry of function `index`) with the direct
    /// signature of `sig`: this frame is gone, and the callee's status and results are this
    /// function's. The rest of the construct is unreachable.
    fn tail_call(&mut self, sig: &FuncSig, code: Value, index: Value, args: &[Value]) {
        let sig_ref = self.direct_sig(sig);
        let mut all = vec![self.vmctx, index];
        all.extend_from_slice(args);
        self.builder.ins().return_call_indirect(sig_ref, code, &all);
        self.reachable = false;
    }

    /// After a call that returned `returned` (the status, then the results): leaves the function
    /// if it failed, else pushes the results.
    fn finish_call(&mut self, returned: &[Value]) {
        self.fail_if(returned[0], None, true);
        // The callee may have grown memory 0.
        self.memory_stale = true;
        for v in &returned[1..] {
            self.push(*v);
        }
    }

    fn func_sig(&self, func_index: u32) -> Result<FuncSig, CompileError> {
        self.module
            .func_types
            .get(func_index as usize)
            .and_then(|t| self.module.types.get(*t as usize))
            .cloned()
            .flatten()
            .ok_or_else(|| unsupported("a call of a function with a non-numeric signature"))
    }

    fn global_pointer(&mut self, index: u32) -> Result<(Value, Type), CompileError> {
        let ty = self
            .module
            .globals
            .get(index as usize)
            .copied()
            .flatten()
            .ok_or_else(|| unsupported("a non-numeric global"))?;
        let table = self.load_ctx(self.ptr, self.layout.globals);
        let at = (index as usize * self.ptr.bytes() as usize) as i32;
        let p = self.builder.ins().load(self.ptr, Self::flags(), table, at);
        Ok((p, clif_type(ty)))
    }

    fn translate_operator(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        if !self.reachable {
            return self.translate_unreachable(op);
        }
        use Operator as O;
        match op {
            O::Nop => {}
            O::Unreachable => self.trap(TrapCode::Unreachable),
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                if let O::TypedSelect { ty } = op {
                    val_type(*ty)?;
                }
                let c = self.pop();
                let (a, b) = self.pop2();
                let r = self.builder.ins().select(c, a, b);
                self.push(r);
            }
            O::Block { blockty } => {
                let sig = self.block_sig(*blockty)?;
                let next = self.new_block_with(&sig.results);
                self.control.push(Frame {
                    kind: FrameKind::Block,
                    next,
                    height: self.stack.len() - sig.params.len(),
                    n_params: sig.params.len(),
                    n_results: sig.results.len(),
                    stale_in: false,
                });
            }
            O::Loop { blockty } => {
                let sig = self.block_sig(*blockty)?;
                let header = self.new_block_with(&sig.params);
                // A loop without parameters, entered with an empty operand stack, holds no state
                // but the locals at its header: on-stack replacement can enter there.
                if sig.params.is_empty()
                    && self.stack.is_empty()
                    && let Some(entries) = self.loop_entry.as_mut()
                {
                    entries.headers.push((self.offset, header));
                }
                let next = self.new_block_with(&sig.results);
                let params = self.pop_n(sig.params.len());
                self.fresh_memory();
                self.builder.ins().jump(header, &Self::jump_args(&params));
                self.builder.switch_to_block(header);
                self.checked_ends.clear();
                let params = self.builder.block_params(header).to_vec();
                let height = self.stack.len();
                self.stack.extend(params);
                self.control.push(Frame {
                    kind: FrameKind::Loop { header },
                    next,
                    height,
                    n_params: sig.params.len(),
                    n_results: sig.results.len(),
                    stale_in: false,
                });
                self.meter_after_operator();
            }
            O::If { blockty } => {
                let sig = self.block_sig(*blockty)?;
                let cond = self.pop();
                let then_block = self.new_block_with(&sig.params);
                let else_block = self.new_block_with(&sig.params);
                let next = self.new_block_with(&sig.results);
                let params = self.pop_n(sig.params.len());
                let args = Self::jump_args(&params);
                self.builder
                    .ins()
                    .brif(cond, then_block, &args, else_block, &args);
                self.builder.switch_to_block(then_block);
                let height = self.stack.len();
                let params = self.builder.block_params(then_block).to_vec();
                self.stack.extend(params);
                self.control.push(Frame {
                    kind: FrameKind::If {
                        else_block,
                        has_else: false,
                        stale_at_if: self.memory_stale,
                    },
                    next,
                    height,
                    n_params: sig.params.len(),
                    n_results: sig.results.len(),
                    stale_in: false,
                });
            }
            O::Else => self.translate_else(),
            O::End => self.translate_end(),
            O::Br { relative_depth } => {
                self.before_branch(*relative_depth);
                let (target, n) = self.branch_target(*relative_depth);
                let args = self.peek_n(n);
                self.builder.ins().jump(target, &Self::jump_args(&args));
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                let cond = self.pop();
                self.before_branch(*relative_depth);
                let (target, n) = self.branch_target(*relative_depth);
                let args = self.peek_n(n);
                let next = self.builder.create_block();
                self.builder
                    .ins()
                    .brif(cond, target, &Self::jump_args(&args), next, &[]);
                self.builder.switch_to_block(next);
            }
            O::BrTable { targets } => {
                let index = self.pop();
                let default = targets.default();
                let depths = targets
                    .targets()
                    .collect::<Result<Vec<u32>, _>>()
                    .map_err(CompileError::Read)?;
                for depth in depths.iter().chain([&default]) {
                    self.before_branch(*depth);
                }
                // Branches that carry values go through an edge block each (one per depth).
                let mut edges: std::collections::HashMap<u32, ir::Block> = Default::default();
                let mut block_of = |this: &mut Self, depth: u32| -> ir::Block {
                    let (target, n) = this.branch_target(depth);
                    if n == 0 {
                        return target;
                    }
                    *edges
                        .entry(depth)
                        .or_insert_with(|| this.builder.create_block())
                };
                let default_block = block_of(self, default);
                let blocks: Vec<ir::Block> = depths.iter().map(|d| block_of(self, *d)).collect();
                let default_call = self.builder.func.dfg.block_call(default_block, &[]);
                let calls: Vec<ir::BlockCall> = blocks
                    .iter()
                    .map(|b| self.builder.func.dfg.block_call(*b, &[]))
                    .collect();
                let table = self
                    .builder
                    .create_jump_table(JumpTableData::new(default_call, &calls));
                self.builder.ins().br_table(index, table);
                let mut edge_list: Vec<(u32, ir::Block)> = edges.into_iter().collect();
                edge_list.sort_by_key(|(d, _)| *d);
                for (depth, edge) in edge_list {
                    self.builder.switch_to_block(edge);
                    let (target, n) = self.branch_target(depth);
                    let args = self.peek_n(n);
                    self.builder.ins().jump(target, &Self::jump_args(&args));
                }
                self.reachable = false;
            }
            O::Return => {
                let (target, n) = (self.control[0].next, self.control[0].n_results);
                let args = self.peek_n(n);
                self.builder.ins().jump(target, &Self::jump_args(&args));
                self.reachable = false;
            }
            O::Call { function_index } => {
                let sig = self.func_sig(*function_index)?;
                let args = self.pop_n(sig.params.len());
                let index = self
                    .builder
                    .ins()
                    .iconst(types::I32, *function_index as i64);
                let code = self.direct_code(index);
                let returned = self.call_direct(&sig, code, index, &args);
                self.finish_call(&returned);
            }
            O::ReturnCall { function_index } => {
                let sig = self.func_sig(*function_index)?;
                self.tail_callable(&sig)?;
                let args = self.pop_n(sig.params.len());
                let index = self
                    .builder
                    .ins()
                    .iconst(types::I32, *function_index as i64);
                let code = self.direct_code(index);
                self.tail_call(&sig, code, index, &args);
            }
            O::ReturnCallIndirect {
                type_index,
                table_index,
            } => {
                let sig = self.indirect_sig(*type_index, *table_index)?;
                self.tail_callable(&sig)?;
                let call = self.resolve_indirect(sig, *type_index, *table_index);
                self.builder.switch_to_block(call.direct);
                let code = self.direct_code(call.callee);
                self.tail_call(&call.sig, code, call.callee, &call.args);

                // A callee of another instance or the host's runs through the store, as a call
                // followed by a return (one frame more while it runs).
                self.builder.switch_to_block(call.through_store);
                let returned = self.call_through_store(&call);
                self.finish_call(&returned);
                let results = self.pop_n(call.sig.results.len());
                let target = self.control[0].next;
                self.builder.ins().jump(target, &Self::jump_args(&results));
                self.reachable = false;
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                let sig = self.indirect_sig(*type_index, *table_index)?;
                let call = self.resolve_indirect(sig, *type_index, *table_index);
                let done = self.builder.create_block();
                self.builder.append_block_param(done, types::I32);
                for ty in &call.sig.results {
                    self.builder.append_block_param(done, clif_type(*ty));
                }
                self.builder.switch_to_block(call.direct);
                let code = self.direct_code(call.callee);
                let returned = self.call_direct(&call.sig, code, call.callee, &call.args);
                self.builder.ins().jump(done, &Self::jump_args(&returned));

                self.builder.switch_to_block(call.through_store);
                let returned = self.call_through_store(&call);
                self.builder.ins().jump(done, &Self::jump_args(&returned));

                self.builder.switch_to_block(done);
                let returned = self.builder.block_params(done).to_vec();
                self.finish_call(&returned);
            }
            O::LocalGet { local_index } => {
                let (var, _) = self.locals[*local_index as usize];
                let v = self.builder.use_var(var);
                self.push(v);
            }
            O::LocalSet { local_index } => {
                let (var, _) = self.locals[*local_index as usize];
                let v = self.pop();
                self.builder.def_var(var, v);
            }
            O::LocalTee { local_index } => {
                let (var, _) = self.locals[*local_index as usize];
                let v = *self.stack.last().expect("validated");
                self.builder.def_var(var, v);
            }
            O::GlobalGet { global_index } => {
                let (p, ty) = self.global_pointer(*global_index)?;
                let v = self.builder.ins().load(ty, Self::flags(), p, 0);
                self.push(v);
            }
            O::GlobalSet { global_index } => {
                let (p, _) = self.global_pointer(*global_index)?;
                let v = self.pop();
                // Stored as a 64-bit slot value, so the encoding's upper bytes stay zero.
                store_slot(&mut self.builder, p, 0, v);
            }

            O::I32Load { memarg } => self.load(memarg, 4, |b, p| {
                b.ins().load(types::I32, Self::heap(), p, 0)
            })?,
            O::I64Load { memarg } => self.load(memarg, 8, |b, p| {
                b.ins().load(types::I64, Self::heap(), p, 0)
            })?,
            O::F32Load { memarg } => self.load(memarg, 4, |b, p| {
                b.ins().load(types::F32, Self::heap(), p, 0)
            })?,
            O::F64Load { memarg } => self.load(memarg, 8, |b, p| {
                b.ins().load(types::F64, Self::heap(), p, 0)
            })?,
            O::I32Load8S { memarg } => self.load(memarg, 1, |b, p| {
                b.ins().sload8(types::I32, Self::heap(), p, 0)
            })?,
            O::I32Load8U { memarg } => self.load(memarg, 1, |b, p| {
                b.ins().uload8(types::I32, Self::heap(), p, 0)
            })?,
            O::I32Load16S { memarg } => self.load(memarg, 2, |b, p| {
                b.ins().sload16(types::I32, Self::heap(), p, 0)
            })?,
            O::I32Load16U { memarg } => self.load(memarg, 2, |b, p| {
                b.ins().uload16(types::I32, Self::heap(), p, 0)
            })?,
            O::I64Load8S { memarg } => self.load(memarg, 1, |b, p| {
                b.ins().sload8(types::I64, Self::heap(), p, 0)
            })?,
            O::I64Load8U { memarg } => self.load(memarg, 1, |b, p| {
                b.ins().uload8(types::I64, Self::heap(), p, 0)
            })?,
            O::I64Load16S { memarg } => self.load(memarg, 2, |b, p| {
                b.ins().sload16(types::I64, Self::heap(), p, 0)
            })?,
            O::I64Load16U { memarg } => self.load(memarg, 2, |b, p| {
                b.ins().uload16(types::I64, Self::heap(), p, 0)
            })?,
            O::I64Load32S { memarg } => {
                self.load(memarg, 4, |b, p| b.ins().sload32(Self::heap(), p, 0))?
            }
            O::I64Load32U { memarg } => {
                self.load(memarg, 4, |b, p| b.ins().uload32(Self::heap(), p, 0))?
            }
            O::I32Store { memarg } | O::F32Store { memarg } => {
                self.store(memarg, 4, |b, v, p| {
                    b.ins().store(Self::heap(), v, p, 0);
                })?
            }
            O::I64Store { memarg } | O::F64Store { memarg } => {
                self.store(memarg, 8, |b, v, p| {
                    b.ins().store(Self::heap(), v, p, 0);
                })?
            }
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.store(memarg, 1, |b, v, p| {
                    b.ins().istore8(Self::heap(), v, p, 0);
                })?
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.store(memarg, 2, |b, v, p| {
                    b.ins().istore16(Self::heap(), v, p, 0);
                })?
            }
            O::I64Store32 { memarg } => self.store(memarg, 4, |b, v, p| {
                b.ins().istore32(Self::heap(), v, p, 0);
            })?,
            O::MemorySize { mem } => {
                let memory = self.memory(*mem)?;
                let len = if *mem == 0 {
                    self.fresh_memory();
                    self.builder.use_var(self.mem_len)
                } else {
                    self.memory_view(*mem).1
                };
                let pages = self
                    .builder
                    .ins()
                    .ushr_imm_u(len, memory.page_size_log2 as i64);
                let pages = if memory.memory64 {
                    pages
                } else {
                    self.builder.ins().ireduce(types::I32, pages)
                };
                self.push(pages);
            }
            O::MemoryGrow { mem } => {
                let memory = self.memory(*mem)?;
                let delta = self.pop();
                let delta = self.address64(*mem, delta);
                let index = self.builder.ins().iconst(types::I32, *mem as i64);
                let r = self
                    .call_libcall(Libcall::MemoryGrow, &[index, delta])
                    .expect("memory.grow returns a value");
                let failed = self.builder.ins().icmp_imm_s(IntCC::Equal, r, -2);
                self.fail_if(failed, None, true);
                self.memory_stale = true;
                let r = if memory.memory64 {
                    r
                } else {
                    self.builder.ins().ireduce(types::I32, r)
                };
                self.push(r);
            }
            O::MemoryFill { mem } => {
                self.memory(*mem)?;
                let n = self.pop();
                let (d, value) = self.pop2();
                let n = self.address64(*mem, n);
                let d = self.address64(*mem, d);
                let index = self.builder.ins().iconst(types::I32, *mem as i64);
                let status = self
                    .call_libcall(Libcall::MemoryFill, &[index, d, value, n])
                    .expect("memory.fill returns a status");
                self.fail_if(status, None, true);
                // As after any call into the runtime.
                self.memory_stale = true;
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let (dst, src) = (self.memory(*dst_mem)?, self.memory(*src_mem)?);
                let n = self.pop();
                let (d, s) = self.pop2();
                // The length is 64-bit only between two 64-bit memories.
                let n = if dst.memory64 && src.memory64 {
                    n
                } else {
                    self.builder.ins().uextend(types::I64, n)
                };
                let d = self.address64(*dst_mem, d);
                let s = self.address64(*src_mem, s);
                let dst_index = self.builder.ins().iconst(types::I32, *dst_mem as i64);
                let src_index = self.builder.ins().iconst(types::I32, *src_mem as i64);
                let status = self
                    .call_libcall(Libcall::MemoryCopy, &[dst_index, src_index, d, s, n])
                    .expect("memory.copy returns a status");
                self.fail_if(status, None, true);
                self.memory_stale = true;
            }

            other => return self.translate_numeric(other),
        }
        Ok(())
    }

    /// An operator in unreachable code: only the nesting matters, until the `else` or `end` of
    /// the construct the unreachable code is in.
    fn translate_unreachable(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.dead_depth += 1;
            }
            Operator::Else if self.dead_depth == 0 => self.translate_else(),
            Operator::End if self.dead_depth == 0 => self.translate_end(),
            Operator::End => self.dead_depth -= 1,
            _ => {}
        }
        Ok(())
    }

    fn translate_else(&mut self) {
        let frame = self
            .control
            .last_mut()
            .expect("validated: `else` in an `if`");
        let FrameKind::If {
            else_block,
            has_else,
            stale_at_if,
        } = &mut frame.kind
        else {
            unreachable!("validated: `else` in an `if`")
        };
        *has_else = true;
        let (else_block, next, height, n_results) =
            (*else_block, frame.next, frame.height, frame.n_results);
        let stale_at_if = *stale_at_if;
        if self.reachable {
            frame.stale_in |= self.memory_stale;
            let results = self.peek_n(n_results);
            self.builder.ins().jump(next, &Self::jump_args(&results));
        }
        self.stack.truncate(height);
        self.builder.switch_to_block(else_block);
        self.checked_ends.clear();
        let params = self.builder.block_params(else_block).to_vec();
        self.stack.extend(params);
        self.reachable = true;
        self.memory_stale = stale_at_if;
        self.meter_after_operator();
    }

    fn translate_end(&mut self) {
        let mut frame = self
            .control
            .pop()
            .expect("validated: `end` closes a construct");
        if self.reachable {
            frame.stale_in |= self.memory_stale;
            let results = self.peek_n(frame.n_results);
            self.builder
                .ins()
                .jump(frame.next, &Self::jump_args(&results));
        }
        if let FrameKind::If {
            else_block,
            has_else: false,
            stale_at_if,
        } = frame.kind
        {
            frame.stale_in |= stale_at_if;
            // An `if` without `else` passes its parameters (its results) on when false.
            self.builder.switch_to_block(else_block);
            let params = self.builder.block_params(else_block).to_vec();
            self.builder
                .ins()
                .jump(frame.next, &Self::jump_args(&params));
        }
        self.stack.truncate(frame.height);
        self.builder.switch_to_block(frame.next);
        self.checked_ends.clear();
        let results = self.builder.block_params(frame.next).to_vec();
        self.stack.extend(results);
        self.reachable = true;
        self.memory_stale = frame.stale_in;
        // The function's own `end` begins no run (the interpreter's plan has no point for it).
        if !self.control.is_empty() {
            self.meter_after_operator();
        }
    }
}
