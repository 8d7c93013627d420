//! Translation of validated Wasm function bodies into ward bytecode.
//!
//! The translator mirrors the Wasm operand stack with a compile-time stack of [`Operand`]s. An operand is
//! either a temporary living in its canonical slot (`local slots + slots of the values below it`; a `v128`
//! takes two slots, every other value one), a reference to a local
//! (from `local.get`, no code emitted), or a constant (emitted only when an instruction needs it in a
//! slot). Instructions read their inputs straight from those slots and write their result to the canonical
//! slot of the result's position; a following `local.set` rewrites that destination to the local instead
//! of copying. At control-flow joins every value is in its canonical slot, so branches only copy when the
//! values are not already where the target expects them.
//!
//! A `try_table` is translated as a jump over one landing pad per catch clause followed by its body as
//! a block; the body's instruction range and clauses are recorded in the function's handler table.
//! GC instructions take their immediates from side tables of the function (`GcSite`, cast types).
//!
//! Called by `module` for each function body after the operator was validated; knows nothing of stores.

use std::collections::HashMap;
use std::rc::Rc;

use wasmparser::types::CoreTypeId;
use wasmparser::{BlockType, MemArg, MemArgTarget, Operator};

use super::bytecode::{
    self, BinaryCtor, BinaryImmCtor, BranchOffset, CallSiteIndex, CatchClause, FuncIndex, GcSite,
    Handler, Instr, LaneWidth, LoadCtor, MemArgIndex, Pc, Slot, StoreCtor, StoreImmCtor, UnaryCtor,
    V128BinaryOp, V128ConstIndex, V128ExtractOp, V128LoadOp, V128ReplaceOp, V128ShiftOp,
    V128SplatOp, V128TernaryOp, V128TestOp, V128UnaryOp, ctor,
};
use crate::module::types::CanonicalTypes;
use crate::types::{GlobalType, ValType};

mod gc;
mod nan;
#[cfg(test)]
mod tests;
mod threads;
use crate::{Error, Result};

/// How many slots a value of a Wasm type takes: `v128` two, everything else one.
pub(crate) fn is_wide(ty: wasmparser::ValType) -> bool {
    matches!(ty, wasmparser::ValType::V128)
}

fn widths(types: &[wasmparser::ValType]) -> Rc<[bool]> {
    types.iter().map(|t| is_wide(*t)).collect()
}

fn slot_count(widths: &[bool]) -> u32 {
    widths.iter().map(|w| 1 + *w as u32).sum()
}

/// A translated function, ready for the executor.
#[derive(Debug)]
pub(crate) struct CompiledFunc {
    pub code: Box<[Instr]>,
    /// For each instruction, the byte offset of the Wasm operator it came from.
    pub offsets: Box<[u32]>,
    /// Slots taken by the parameters.
    pub num_params: u32,
    /// Slots taken by the parameters plus the declared locals.
    pub num_locals: u32,
    /// Slots the frame needs: locals plus the maximum operand stack height (at least the result slots).
    pub frame_size: u32,
    /// Exception handlers of the function's `try_table`s, innermost first.
    pub handlers: Box<[Handler]>,
    /// Immediates too large for an instruction (`None` when the function has none: most do not).
    side_tables: Option<Box<SideTables>>,
}

impl CompiledFunc {
    /// The interpreter code of a function the compiler tier compiled: one `EnterNative`, which
    /// runs the machine code on this frame (`params` argument slots, `results` result slots).
    /// `offset` is the function body's offset in the module binary.
    #[cfg_attr(not(feature = "cranelift"), allow(dead_code))]
    pub(crate) fn native_stub(params: u32, results: u32, offset: u32) -> CompiledFunc {
        CompiledFunc {
            code: Box::new([Instr::EnterNative {}]),
            offsets: Box::new([offset]),
            num_params: params,
            num_locals: params,
            frame_size: params.max(results),
            handlers: Box::new([]),
            side_tables: None,
        }
    }
}

/// A function's immediates that do not fit in an instruction, indexed from its instructions.
///
/// They belong to the function rather than the module so that a function can be translated on its
/// own, at its first call, with nothing of the module to update (see `module`'s lazy translation).
#[derive(Debug, Default)]
pub(crate) struct SideTables {
    /// (memory index, offset) pairs for memory instructions off the fast path.
    pub memargs: Vec<(u32, u64)>,
    /// (type index, table index) pairs of indirect call sites.
    pub call_sites: Vec<(u32, u32)>,
    /// Immediates of GC instructions.
    pub gc_sites: Vec<GcSite>,
    /// Immediates of atomic and shared-memory instructions.
    pub atomic_sites: Vec<crate::interp::bytecode::AtomicSite>,
    /// Layouts of the structs that `struct.new` makes (from `GcSite::layout`).
    pub layouts: Vec<crate::gc_repr::Layout>,
    /// Target types of casts.
    pub casts: Vec<crate::types::RefType>,
    /// 128-bit immediates: `v128.const` values and shuffle masks.
    pub v128_consts: Vec<u128>,
}

impl SideTables {
    const EMPTY: SideTables = SideTables {
        memargs: Vec::new(),
        call_sites: Vec::new(),
        gc_sites: Vec::new(),
        atomic_sites: Vec::new(),
        layouts: Vec::new(),
        casts: Vec::new(),
        v128_consts: Vec::new(),
    };

    fn is_empty(&self) -> bool {
        self.memargs.is_empty()
            && self.call_sites.is_empty()
            && self.gc_sites.is_empty()
            && self.atomic_sites.is_empty()
            && self.casts.is_empty()
            && self.v128_consts.is_empty()
    }
}

impl CompiledFunc {
    /// The function's side tables.
    #[inline]
    pub fn side_tables(&self) -> &SideTables {
        static EMPTY: SideTables = SideTables::EMPTY;
        self.side_tables.as_deref().unwrap_or(&EMPTY)
    }
}

/// Module-level facts the translator needs, and the side tables of the function being translated.
pub(crate) struct ModuleEnv<'a> {
    /// The module's types (with module-local ids) and their canonical ids.
    pub types: &'a CanonicalTypes<'a>,
    /// Module type index → module-local id.
    pub type_ids: &'a [CoreTypeId],
    /// Function index → module-local type id.
    pub func_type_ids: &'a [CoreTypeId],
    /// Emit fuel metering (`Config::consume_fuel`).
    pub fuel: bool,
    /// Emit interruption checks at function entries and loop headers (`Config::epoch_interruption`).
    pub interrupts: bool,
    /// Emit tier-up points at function entries and loop headers (`Strategy::Auto`).
    pub tier_up: bool,
    /// Make every NaN result canonical (`Config::deterministic`).
    pub canonical_nans: bool,
    /// Types of all globals, imports first.
    pub global_types: &'a [GlobalType],
    /// Module-local function type id of every tag, imports first.
    pub tag_types: &'a [CoreTypeId],
    /// Memory 0 (imported or defined) is a 64-bit memory.
    pub memory0_is_64: bool,
    /// Which memories (imports first) are shared: their accesses become `Instr::Atomic`.
    pub shared_memories: &'a [bool],
    /// Buffers reused from one function's translation to the next.
    pub scratch: TranslatorScratch,
    /// Side tables of the function being translated (moved into its `CompiledFunc` at the end).
    pub side_tables: SideTables,
}

/// Growable buffers of a translation, kept across the functions of a module, and the module's
/// signature widths. Growing fresh vectors for every function was 9% of translating a large module;
/// allocating the locals, frames, branch fixups and signature widths of each function and block
/// afresh was another 5% (callgrind, `benches/wasm/large.wasm`).
pub(crate) struct TranslatorScratch {
    code: Vec<Instr>,
    offsets: Vec<u32>,
    stack: Vec<StackEntry>,
    local_slots: Vec<Slot>,
    local_wide: Vec<bool>,
    frames: Vec<ControlFrame>,
    /// Emptied fixup lists of closed frames, for the next frames to fill.
    spare_fixups: Vec<Vec<usize>>,
    /// Widths of every function type seen so far.
    signatures: HashMap<CoreTypeId, Widths>,
    /// The results of `[] -> []` and of `[] -> [t]` for a one-slot and a two-slot `t`.
    empty: Rc<[bool]>,
    single: [Rc<[bool]>; 2],
}

impl Default for TranslatorScratch {
    fn default() -> Self {
        TranslatorScratch {
            code: Vec::new(),
            offsets: Vec::new(),
            stack: Vec::new(),
            local_slots: Vec::new(),
            local_wide: Vec::new(),
            frames: Vec::new(),
            spare_fixups: Vec::new(),
            signatures: HashMap::new(),
            empty: Rc::new([]),
            single: [Rc::new([false]), Rc::new([true])],
        }
    }
}

/// The slot widths (`true` = two slots) of a signature's parameters and results, shared by every
/// frame and call of that signature.
#[derive(Clone)]
struct Widths {
    params: Rc<[bool]>,
    results: Rc<[bool]>,
}

impl ModuleEnv<'_> {
    fn signature_widths(&mut self, id: CoreTypeId) -> Widths {
        let types = self.types.types;
        self.scratch
            .signatures
            .entry(id)
            .or_insert_with(|| {
                let f = types[id].unwrap_func();
                Widths {
                    params: widths(f.params()),
                    results: widths(f.results()),
                }
            })
            .clone()
    }

    fn type_widths(&mut self, type_index: u32) -> Widths {
        self.signature_widths(self.type_ids[type_index as usize])
    }

    fn block_widths(&mut self, ty: BlockType) -> Widths {
        match ty {
            BlockType::Empty => Widths {
                params: self.scratch.empty.clone(),
                results: self.scratch.empty.clone(),
            },
            BlockType::Type(t) => Widths {
                params: self.scratch.empty.clone(),
                results: self.scratch.single[is_wide(t) as usize].clone(),
            },
            BlockType::FuncType(index) => self.type_widths(index),
        }
    }

    fn global_is_wide(&self, global: u32) -> bool {
        matches!(self.global_types[global as usize].content, ValType::V128)
    }

    fn v128_const(&mut self, value: u128) -> V128ConstIndex {
        self.side_tables.v128_consts.push(value);
        V128ConstIndex((self.side_tables.v128_consts.len() - 1) as u32)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Operand {
    /// In the canonical slot of its stack position.
    Temp,
    /// The current value of the local whose (first) slot this is.
    Local(Slot),
    /// A constant not yet written anywhere (one-slot values only; `v128.const` is emitted eagerly).
    Const(u64),
}

/// One entry of the translator's operand stack.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StackEntry {
    operand: Operand,
    /// Takes two slots (`v128`).
    wide: bool,
    /// Its canonical slot relative to the first temporary slot (sum of the widths below it).
    offset: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FrameKind {
    Func,
    Block,
    Loop,
    If,
    Else,
}

#[derive(Debug)]
struct ControlFrame {
    kind: FrameKind,
    /// Operand stack height below the block's parameters.
    height: u32,
    /// Widths of the block's parameters and results.
    params: Rc<[bool]>,
    results: Rc<[bool]>,
    /// Loop header position (loops only).
    start: Pc,
    /// Forward branches to this block's end, to patch.
    fixups: Vec<usize>,
    /// The `BrIfEqz` of an `if`, patched at `else` or `end`.
    else_fixup: Option<usize>,
    /// For a `try_table`: its handler, whose `end` is set when the block ends.
    handler: Option<Handler>,
}

impl ControlFrame {
    /// Widths of the values a branch to this frame carries.
    fn branch_widths(&self) -> &[bool] {
        if self.kind == FrameKind::Loop {
            &self.params
        } else {
            &self.results
        }
    }

    fn branch_arity(&self) -> u32 {
        self.branch_widths().len() as u32
    }
}

pub(crate) struct Translator<'a, 'e> {
    env: &'a mut ModuleEnv<'e>,
    code: Vec<Instr>,
    offsets: Vec<u32>,
    /// Slots of the parameters and of all locals.
    num_params: u32,
    num_locals: u32,
    /// First slot and width of each local.
    local_slots: Vec<Slot>,
    local_wide: Vec<bool>,
    /// Widths of the function's results.
    results: Rc<[bool]>,
    stack: Vec<StackEntry>,
    /// Most temporary slots in use at once.
    max_height: u32,
    frames: Vec<ControlFrame>,
    reachable: bool,
    /// Nesting depth of blocks opened inside unreachable code.
    dead_depth: u32,
    /// The last instruction, when it wrote a fresh temporary that nothing has read yet.
    last_result: Option<usize>,
    /// Where the last branch target was bound: instructions from here on are straight-line code
    /// that only fall-through reaches.
    label_at: usize,
    /// The Wasm offset for the next emitted instruction when it is a fusion whose first part can
    /// trap (a load fused with a branch): traps then point at the load.
    fused_offset: Option<u32>,
    offset: u32,
    /// The `ConsumeFuel` instruction charging for the current straight-line code.
    fuel_meter: Option<usize>,
    /// Handlers of the `try_table`s closed so far.
    handlers: Vec<Handler>,
    /// Emptied fixup lists, reused by the next frames.
    spare_fixups: Vec<Vec<usize>>,
    /// Every stack entry below this position is a `Temp` (see `materialize_all`): materializing the
    /// whole stack at each block then costs only the entries pushed since, keeping translation linear.
    temps_below: u32,
    /// Positions of the stack entries that are `Operand::Local`, ascending; at most
    /// `MAX_LOCAL_OPERANDS` of them. `local.set` scans these, not the whole stack.
    local_operands: Vec<u32>,
    /// The open legacy `try` blocks, innermost last.
    legacy_tries: Vec<LegacyTry>,
}

/// An open legacy `try` block (see `Translator::translate_legacy_try`).
#[derive(Debug)]
struct LegacyTry {
    /// Index of its control frame.
    frame: usize,
    /// Where its body's code starts.
    body_start: Pc,
    /// Its handler in `Translator::handlers`, once the body has ended at the first `catch`.
    handler: Option<usize>,
    /// The slot below the catch blocks' operands that keeps the caught `exnref` for `rethrow`.
    exn_slot: Slot,
}

/// Most stack entries that may stand for a local's value at once; pushing one more materializes the
/// oldest. Bounds the scan each `local.set` makes (a long run of `local.set` under a deep operand stack
/// would otherwise translate in quadratic time), while ordinary code stays well below it.
const MAX_LOCAL_OPERANDS: usize = 32;

/// Branch values from this many on are moved as one span: the branch's operands are materialized once
/// where the branch is taken, and every branch to the label then costs one `CopySpan` instead of one copy
/// per value (100,000 branches carrying 1,000 values each would otherwise emit 100 million copies).
const SPAN_BRANCH_ARITY: u32 = 8;

impl<'a, 'e> Translator<'a, 'e> {
    pub fn new(env: &'a mut ModuleEnv<'e>, func_type: CoreTypeId) -> Self {
        let Widths { params, results } = env.signature_widths(func_type);
        // Left over if the previous function's translation failed.
        env.side_tables = SideTables::default();
        let scratch = &mut env.scratch;
        let mut code = std::mem::take(&mut scratch.code);
        let mut offsets = std::mem::take(&mut scratch.offsets);
        let mut stack = std::mem::take(&mut scratch.stack);
        let mut local_slots = std::mem::take(&mut scratch.local_slots);
        let mut local_wide = std::mem::take(&mut scratch.local_wide);
        let mut frames = std::mem::take(&mut scratch.frames);
        let mut spare_fixups = std::mem::take(&mut scratch.spare_fixups);
        code.clear();
        offsets.clear();
        stack.clear();
        local_slots.clear();
        local_wide.clear();
        frames.clear();
        let mut next = 0;
        for wide in params.iter() {
            local_slots.push(Slot(next));
            next += 1 + *wide as u32;
        }
        local_wide.extend_from_slice(&params);
        frames.push(ControlFrame {
            kind: FrameKind::Func,
            height: 0,
            params: scratch.empty.clone(),
            results: results.clone(),
            start: Pc(0),
            fixups: spare_fixups.pop().unwrap_or_default(),
            else_fixup: None,
            handler: None,
        });
        let mut translator = Translator {
            env,
            code,
            offsets,
            num_params: next,
            num_locals: next,
            local_slots,
            local_wide,
            results,
            stack,
            max_height: 0,
            frames,
            reachable: true,
            dead_depth: 0,
            last_result: None,
            label_at: 0,
            fused_offset: None,
            offset: 0,
            fuel_meter: None,
            handlers: Vec::new(),
            spare_fixups,
            temps_below: 0,
            local_operands: Vec::new(),
            legacy_tries: Vec::new(),
        };
        translator.begin_metering(true);
        translator
    }

    /// Starts charging a new run of straight-line code: fuel is charged per Wasm operator, up front
    /// when the run is entered, so metering costs one instruction per block. Interruption is checked
    /// where execution can repeat: function entries and loop headers. Emits nothing when both are off.
    fn begin_metering(&mut self, repeats: bool) {
        // First, so that a function entered in machine code charges its entry's fuel there.
        if repeats && self.env.tier_up {
            if self.code.is_empty() {
                self.emit(Instr::TierUpEntry {});
            } else {
                self.emit(Instr::TierUpLoop {});
            }
        }
        if self.env.fuel {
            let at = self.emit(Instr::ConsumeFuel { amount: 0 });
            self.fuel_meter = Some(at);
        }
        if repeats && self.env.interrupts {
            self.emit(Instr::CheckInterrupt {});
        }
    }

    fn charge_operator(&mut self) {
        if let Some(at) = self.fuel_meter
            && let Instr::ConsumeFuel { amount } = &mut self.code[at]
        {
            *amount = amount.saturating_add(1);
        }
    }

    /// Declares `count` more locals of type `ty` (the validator has bounded the total).
    pub fn add_locals(&mut self, count: u32, ty: wasmparser::ValType) -> Result<()> {
        let wide = is_wide(ty);
        let slots = count
            .checked_mul(1 + wide as u32)
            .and_then(|n| n.checked_add(self.num_locals))
            .ok_or_else(|| Error::Invalid {
                message: "too many locals".into(),
                offset: self.offset as usize,
            })?;
        self.local_slots.reserve(count as usize);
        self.local_wide.reserve(count as usize);
        for i in 0..count {
            self.local_slots
                .push(Slot(self.num_locals + i * (1 + wide as u32)));
            self.local_wide.push(wide);
        }
        self.num_locals = slots;
        Ok(())
    }

    /// Instructions emitted so far (for the compilation budget).
    pub fn code_len(&self) -> usize {
        self.code.len()
    }

    pub fn finish(self) -> CompiledFunc {
        let frame_size = (self.num_locals + self.max_height).max(slot_count(&self.results));
        let compiled = CompiledFunc {
            code: self.code.as_slice().into(),
            offsets: self.offsets.as_slice().into(),
            num_params: self.num_params,
            num_locals: self.num_locals,
            frame_size,
            handlers: self.handlers.into_boxed_slice(),
            side_tables: {
                let side_tables = std::mem::take(&mut self.env.side_tables);
                (!side_tables.is_empty()).then(|| Box::new(side_tables))
            },
        };
        let scratch = &mut self.env.scratch;
        scratch.code = self.code;
        scratch.offsets = self.offsets;
        scratch.stack = self.stack;
        scratch.local_slots = self.local_slots;
        scratch.local_wide = self.local_wide;
        scratch.frames = self.frames;
        scratch.spare_fixups = self.spare_fixups;
        compiled
    }

    // ----- emission helpers -------------------------------------------------------------------

    fn emit(&mut self, instr: Instr) -> usize {
        self.code.push(instr);
        let offset = self.fused_offset.take().unwrap_or(self.offset);
        self.offsets.push(offset);
        self.code.len() - 1
    }

    /// Emits an instruction whose single result is a fresh temporary.
    fn emit_result(&mut self, instr: Instr) {
        let at = self.emit(instr);
        self.last_result = Some(at);
    }

    /// The index of the last emitted instruction if it wrote a fresh temporary (nothing emitted
    /// since, no label bound since): the producer a fusion may absorb.
    fn adjacent_result(&self) -> Option<usize> {
        self.last_result.filter(|at| at + 1 == self.code.len())
    }

    fn pc(&self) -> Pc {
        Pc(self.code.len() as u32)
    }

    /// Marks the current position as a branch target: results may arrive here from elsewhere.
    fn bind_label(&mut self) {
        self.last_result = None;
        self.label_at = self.code.len();
    }

    fn patch(&mut self, at: usize, target: Pc) {
        let instr = &mut self.code[at];
        match instr.branch_target_mut() {
            Some(t) => *t = BranchOffset::between(at, target),
            None => unreachable!("patching a non-branch instruction {instr:?}"),
        }
    }

    /// Removes the instruction just emitted (with its offset): a fusion absorbs it into the
    /// instruction it returns, so it is no longer a result a later fusion may take.
    fn absorb_last(&mut self) {
        self.code.pop();
        self.offsets.pop();
        self.last_result = None;
    }

    /// Compare+branch fusion: when the condition a branch consumes (a temporary at `cond`) was just
    /// computed by an integer comparison (or `i32.eqz`), removes that comparison and returns the fused
    /// branch that jumps when the condition is true (or, with `negate`, false). Loops in compiled code
    /// end in such a pair, so this saves a dispatch and a slot write per iteration.
    fn take_fused_condition(&mut self, cond: Slot, negate: bool) -> Option<Instr> {
        let at = self.adjacent_result()?;
        let fused = self.code[at].fuse_compare_branch(cond, negate)?;
        self.absorb_last();
        Some(self.fuse_flag_test(fused, at))
    }

    /// `br_if (i32.eqz (i32.and a b))`: the branch on the `eqz` (now `fused`, a `BrIfEqz` or
    /// `BrIfNez` on the mask's result) absorbs the `i32.and` emitted just before it, at `at - 1`,
    /// when that wrote an operand-stack temporary (which only the `eqz` read: it was popped), and
    /// no label lies between.
    fn fuse_flag_test(&mut self, fused: Instr, at: usize) -> Instr {
        let (cond, jump_if_zero) = match fused {
            Instr::BrIfEqz { cond, .. } => (cond, true),
            Instr::BrIfNez { cond, .. } => (cond, false),
            _ => return fused,
        };
        let Some(prev) = at.checked_sub(1) else {
            return fused;
        };
        if prev < self.label_at || prev + 1 != self.code.len() || cond.0 < self.num_locals {
            return fused;
        }
        let target = BranchOffset::default();
        let flag_test = match self.code[prev] {
            Instr::I32And { dst, a, b } if dst == cond => {
                if jump_if_zero {
                    Instr::BrI32AndEqz { a, b, target }
                } else {
                    Instr::BrI32AndNez { a, b, target }
                }
            }
            Instr::I32AndImm { dst, a, imm } if dst == cond => {
                if jump_if_zero {
                    Instr::BrI32AndImmEqz { a, imm, target }
                } else {
                    Instr::BrI32AndImmNez { a, imm, target }
                }
            }
            _ => return fused,
        };
        self.absorb_last();
        flag_test
    }

    /// Add+branch fusion: a conditional branch that compares the sum computed by the instruction just
    /// before it (in the same straight-line code) becomes one instruction doing both, as loop
    /// counters end in (see `Instr::fuse_add_branch`).
    fn fuse_add_branch(&mut self, branch: Instr) -> Instr {
        let Some(prev) = self.code.len().checked_sub(1) else {
            return branch;
        };
        if prev < self.label_at {
            return branch;
        }
        match branch.fuse_add_branch(&self.code[prev]) {
            Some(fused) => {
                self.code.pop();
                self.fused_offset = self.offsets.pop();
                self.last_result = None;
                fused
            }
            None => branch,
        }
    }

    /// Pops a branch condition; returns its slot and whether it is a temporary that nothing else reads.
    fn pop_condition(&mut self) -> (Slot, bool) {
        let is_temp = self.operand(self.height() - 1) == Operand::Temp;
        (self.pop_slot(), is_temp)
    }

    /// Offset (from the first temporary slot) of a value at `position`, given the values below it;
    /// `position` may be one past the top.
    fn offset_at(&self, position: u32) -> u32 {
        match position.checked_sub(1) {
            None => 0,
            Some(below) => {
                let e = &self.stack[below as usize];
                e.offset + 1 + e.wide as u32
            }
        }
    }

    /// The canonical slot of stack position `position` (at most one past the top).
    fn canonical(&self, position: u32) -> Slot {
        Slot(self.num_locals + self.offset_at(position))
    }

    fn height(&self) -> u32 {
        self.stack.len() as u32
    }

    fn operand(&self, position: u32) -> Operand {
        self.stack[position as usize].operand
    }

    fn is_wide_at(&self, position: u32) -> bool {
        self.stack[position as usize].wide
    }

    #[inline]
    fn push_entry(&mut self, operand: Operand, wide: bool) -> Slot {
        if let Operand::Local(_) = operand {
            if self.local_operands.len() >= MAX_LOCAL_OPERANDS {
                self.materialize_oldest_local();
            }
            self.local_operands.push(self.height());
        }
        let offset = self.offset_at(self.height());
        self.stack.push(StackEntry {
            operand,
            wide,
            offset,
        });
        self.max_height = self.max_height.max(offset + 1 + wide as u32);
        Slot(self.num_locals + offset)
    }

    /// Makes room in `local_operands` by materializing the oldest entry that stands for a local.
    #[cold]
    #[inline(never)]
    fn materialize_oldest_local(&mut self) {
        let oldest = self.local_operands[0];
        self.materialize(oldest);
    }

    /// Removes the top entry.
    #[inline]
    fn pop_entry(&mut self) {
        self.truncate_stack(self.height().saturating_sub(1));
    }

    /// Removes the entries at `height` and above, keeping the per-entry bookkeeping in step.
    #[inline]
    fn truncate_stack(&mut self, height: u32) {
        self.stack.truncate(height as usize);
        self.temps_below = self.temps_below.min(height);
        while self.local_operands.last().is_some_and(|&p| p >= height) {
            self.local_operands.pop();
        }
    }

    /// Pushes a one-slot temporary and returns its slot.
    fn push_temp(&mut self) -> Slot {
        self.push_entry(Operand::Temp, false)
    }

    /// Pushes a two-slot (`v128`) temporary and returns its first slot.
    fn push_temp_wide(&mut self) -> Slot {
        self.push_entry(Operand::Temp, true)
    }

    fn push(&mut self, operand: Operand) {
        self.push_entry(operand, false);
    }

    fn push_local(&mut self, local: u32) {
        let (slot, wide) = (
            self.local_slots[local as usize],
            self.local_wide[local as usize],
        );
        self.push_entry(Operand::Local(slot), wide);
    }

    /// Emits a copy of a one- or two-slot value.
    fn emit_copy(&mut self, dst: Slot, src: Slot, wide: bool) {
        if wide {
            self.emit(Instr::Copy2 { dst, src });
        } else if let Some(pair) = self.fuse_copy_pair(dst, src) {
            let at = self.code.len() - 1;
            self.code[at] = pair;
        } else {
            self.emit(Instr::Copy { dst, src });
        }
    }

    /// Copy-pair fusion: a copy right after another one (no label between, all four slots below
    /// 65,536) joins it in one `CopyPair`, which does the two in order. Moving a block's results
    /// and a call's arguments into place are runs of copies.
    fn fuse_copy_pair(&self, d2: Slot, s2: Slot) -> Option<Instr> {
        let prev = self.code.len().checked_sub(1)?;
        if prev < self.label_at {
            return None;
        }
        let Instr::Copy { dst: d1, src: s1 } = self.code[prev] else {
            return None;
        };
        Some(Instr::CopyPair {
            d1: d1.try_into().ok()?,
            s1: s1.try_into().ok()?,
            d2: d2.try_into().ok()?,
            s2: s2.try_into().ok()?,
        })
    }

    fn emit_const(&mut self, dst: Slot, value: u64) {
        match u32::try_from(value) {
            Ok(value) => self.emit(Instr::Const32 { dst, value }),
            Err(_) => self.emit(Instr::Const64 { dst, value }),
        };
    }

    /// Moves the operand at `position` into its canonical slot.
    fn materialize(&mut self, position: u32) {
        let dst = self.canonical(position);
        match self.operand(position) {
            Operand::Temp => return,
            Operand::Local(src) => {
                self.emit_copy(dst, src, self.is_wide_at(position));
                // Usually the newest such entry (materializing goes upwards from the top's base).
                if self.local_operands.last() == Some(&position) {
                    self.local_operands.pop();
                } else if let Ok(at) = self.local_operands.binary_search(&position) {
                    self.local_operands.remove(at);
                }
            }
            Operand::Const(value) => self.emit_const(dst, value),
        }
        self.stack[position as usize].operand = Operand::Temp;
    }

    fn materialize_top(&mut self, count: u32) {
        let h = self.height();
        for position in h - count..h {
            self.materialize(position);
        }
    }

    fn materialize_all(&mut self) {
        for position in self.temps_below..self.height() {
            self.materialize(position);
        }
        self.temps_below = self.height();
    }

    /// Pops the top operand and returns a slot holding its value.
    fn pop_slot(&mut self) -> Slot {
        let position = self.height() - 1;
        let slot = match self.operand(position) {
            Operand::Temp => self.canonical(position),
            Operand::Local(index) => index,
            Operand::Const(value) => {
                let dst = self.canonical(position);
                self.emit_const(dst, value);
                dst
            }
        };
        self.pop_entry();
        slot
    }

    /// Pops `count` operands that a rare instruction takes from consecutive canonical slots.
    fn pop_span(&mut self, count: u32) -> Slot {
        self.materialize_top(count);
        let base = self.canonical(self.height() - count);
        self.truncate_stack(self.height() - count);
        base
    }

    fn unary(&mut self, make: UnaryCtor) {
        let src = self.pop_slot();
        let dst = self.push_temp();
        self.emit_result(make(dst, src));
    }

    /// A binary operator with a register-immediate form: uses it when the right operand is a constant
    /// that fits (32-bit operators always; 64-bit ones when the constant is a sign-extended `i32`).
    /// `negate` turns `x - c` into `x + (-c)`.
    fn binary_imm(&mut self, make: BinaryCtor, make_imm: BinaryImmCtor, is_64: bool, negate: bool) {
        if let Operand::Const(value) = self.operand(self.height() - 1) {
            let imm = if negate { value.wrapping_neg() } else { value };
            if !is_64 || imm as i64 == imm as i32 as i64 {
                self.pop_entry();
                let a_is_temp = self.operand(self.height() - 1) == Operand::Temp;
                let mut a = self.pop_slot();
                if a_is_temp && !is_64 {
                    a = self.skip_wrap(a);
                }
                let dst = self.push_temp();
                let instr = make_imm(dst, a, imm as u32);
                let instr = if a_is_temp {
                    self.fold_add_imm(instr)
                } else {
                    instr
                };
                self.emit_result(instr);
                return;
            }
        }
        self.binary(make)
    }

    fn binary(&mut self, make: BinaryCtor) {
        let b_is_temp = self.operand(self.height() - 1) == Operand::Temp;
        let a_is_temp = self.operand(self.height() - 2) == Operand::Temp;
        let b = self.pop_slot();
        let a = self.pop_slot();
        let dst = self.push_temp();
        let instr = self.fuse_f64_pair(make(dst, a, b), a_is_temp, b_is_temp);
        let instr = self.fuse_add_shl(instr, a_is_temp, b_is_temp);
        self.emit_result(instr);
    }

    /// An `i64` comparison or mask whose right operand is a constant with a zero low half (after
    /// `x >u c` becomes `x >=u c + 1` and `x <=u c` becomes `x <u c + 1`) becomes its `…Hi` form,
    /// which carries the high half as an immediate: one dispatch instead of a `Const64` and the
    /// operator. NaN-boxed values (QuickJS's `JSValue`) are tested against such tags. True if it
    /// emitted the instruction.
    fn high_half_constant(&mut self, op: &Operator<'_>) -> bool {
        type HiCtor = fn(Slot, Slot, u32) -> Instr;
        // The form, and whether it compares with `c + 1` (`x >u c` is `x >=u c + 1`).
        let (make, plus_one): (HiCtor, bool) = match op {
            Operator::I64LtU => (|dst, a, hi| Instr::I64LtUHi { dst, a, hi }, false),
            Operator::I64GeU => (|dst, a, hi| Instr::I64GeUHi { dst, a, hi }, false),
            Operator::I64Eq => (|dst, a, hi| Instr::I64EqHi { dst, a, hi }, false),
            Operator::I64Ne => (|dst, a, hi| Instr::I64NeHi { dst, a, hi }, false),
            Operator::I64And => (|dst, a, hi| Instr::I64AndHi { dst, a, hi }, false),
            Operator::I64GtU => (|dst, a, hi| Instr::I64GeUHi { dst, a, hi }, true),
            Operator::I64LeU => (|dst, a, hi| Instr::I64LtUHi { dst, a, hi }, true),
            _ => return false,
        };
        // A binary operator: the validator guarantees two operands.
        let Operand::Const(c) = self.operand(self.height() - 1) else {
            return false;
        };
        let c = if plus_one {
            match c.checked_add(1) {
                Some(c) => c,
                None => return false,
            }
        } else {
            c
        };
        // Constants that fit a sign-extended immediate keep the `…Imm` forms.
        if c as u32 != 0 || c as i64 == c as i32 as i64 {
            return false;
        }
        self.pop_entry();
        let a = self.pop_slot();
        let dst = self.push_temp();
        self.emit_result(make(dst, a, (c >> 32) as u32));
        true
    }

    /// The `i64` operand of an `i32.wrap_i64` that just computed temporary `t`, dropping the wrap,
    /// for an `i32` register-immediate operator reading `t` (or `t` itself if it came otherwise).
    /// Those operators read only the low 32 bits of their operand (`i32_imm!` in `fast`), so the
    /// wrap does nothing for them; their result is still written zero-extended.
    fn skip_wrap(&mut self, t: Slot) -> Slot {
        let Some(at) = self.adjacent_result() else {
            return t;
        };
        let Instr::I32WrapI64 { dst, src } = self.code[at] else {
            return t;
        };
        if dst != t {
            return t;
        }
        self.absorb_last();
        src
    }

    /// Constant folding of `(x + c1) + c2`: an `I32AddImm` on the temporary the `I32AddImm` just
    /// before wrote becomes one `I32AddImm` of `c1 + c2` (addition modulo 2^32 is associative).
    fn fold_add_imm(&mut self, second: Instr) -> Instr {
        let Instr::I32AddImm { dst, a: t, imm: c2 } = second else {
            return second;
        };
        let Some(at) = self.adjacent_result() else {
            return second;
        };
        let Instr::I32AddImm {
            dst: t1,
            a,
            imm: c1,
        } = self.code[at]
        else {
            return second;
        };
        if t1 != t {
            return second;
        }
        self.absorb_last();
        Instr::I32AddImm {
            dst,
            a,
            imm: c1.wrapping_add(c2),
        }
    }

    /// Global-update fusion for `global.set global` of `slot[src]`: when `src` was just computed by
    /// an `I32AddImm` (no label between), the set absorbs it. If the sum's operand is a temporary
    /// the `GlobalGet` of the same global just before wrote, all three become one `GlobalAddImm`
    /// (the sum stays in `src`, which may be a local: `local.tee`); otherwise, if the sum is a
    /// temporary (only the set reads it: it was popped), the two become a `GlobalSetAddImm`.
    fn fuse_global_update(&mut self, src: Slot, global: u32) -> Instr {
        let set = Instr::GlobalSet { src, global };
        let Some(last) = self.code.len().checked_sub(1) else {
            return set;
        };
        if last < self.label_at {
            return set;
        }
        let Instr::I32AddImm { dst, a, imm } = self.code[last] else {
            return set;
        };
        if dst != src {
            return set;
        }
        if let Some(prev) = last.checked_sub(1)
            && prev >= self.label_at
            && let Instr::GlobalGet { dst: t, global: g } = self.code[prev]
            && t == a
            && g == global
            && t.0 >= self.num_locals
        {
            self.absorb_last();
            self.absorb_last();
            return Instr::GlobalAddImm { global, dst, imm };
        }
        if dst.0 >= self.num_locals {
            self.absorb_last();
            return Instr::GlobalSetAddImm { global, a, imm };
        }
        set
    }

    /// Scaled-index fusion: an `i32.add` one of whose operands is a temporary the `I32ShlImm` just
    /// before computed becomes one `I32AddShl` (`base + (index << k)`, array indexing).
    fn fuse_add_shl(&mut self, add: Instr, a_is_temp: bool, b_is_temp: bool) -> Instr {
        let Instr::I32Add { dst, a, b } = add else {
            return add;
        };
        let Some(at) = self.adjacent_result() else {
            return add;
        };
        let Instr::I32ShlImm { dst: t, a: x, imm } = self.code[at] else {
            return add;
        };
        let other = if a_is_temp && a == t && b != t {
            b
        } else if b_is_temp && b == t && a != t {
            a
        } else {
            return add;
        };
        self.absorb_last();
        Instr::I32AddShl {
            dst,
            a: x,
            b: other,
            shift: (imm & 31) as u8,
        }
    }

    /// Pair fusion: when one operand of an `f64` add, sub or mul (`second`) is a temporary just
    /// computed by the instruction before it, itself an `f64` add, sub or mul, removes that
    /// instruction and returns the pair instruction doing both (see `Instr::f64_pair`).
    fn fuse_f64_pair(&mut self, second: Instr, a_is_temp: bool, b_is_temp: bool) -> Instr {
        let Some((op2, dst, a2, b2)) = second.f64_pair_op() else {
            return second;
        };
        let Some(at) = self.adjacent_result() else {
            return second;
        };
        let Some((op1, t, a1, b1)) = self.code[at].f64_pair_op() else {
            return second;
        };
        let (t_left, c) = if a_is_temp && a2 == t && b2 != t {
            (true, b2)
        } else if b_is_temp && b2 == t && a2 != t {
            (false, a2)
        } else {
            return second;
        };
        let (Ok(a), Ok(b), Ok(c)) = (a1.try_into(), b1.try_into(), c.try_into()) else {
            return second;
        };
        self.absorb_last();
        Instr::f64_pair(op1, op2, t_left, dst, (a, b, c))
    }

    fn memarg(&mut self, memarg: &MemArg) -> Result<std::result::Result<u32, MemArgIndex>> {
        let memory = match memarg.target {
            MemArgTarget::Memory(m) => m,
            MemArgTarget::Array(_) => return Err(self.unsupported("GC array memory access")),
        };
        // The memory-0 forms take a 32-bit memory and offset: the threaded executor then bounds-checks
        // `address + offset + size` with one comparison that cannot overflow.
        if memory == 0
            && !self.env.memory0_is_64
            && let Ok(offset) = u32::try_from(memarg.offset)
        {
            return Ok(Ok(offset));
        }
        Ok(Err(self.side_memarg(memory, memarg.offset)))
    }

    /// The memarg of an access of `width` bytes whose memory-0 form takes `end`, the offset plus
    /// the width (so its bounds check adds once): that end, or a side-table memarg when the
    /// access is not to a 32-bit memory 0 or the sum does not fit 32 bits.
    fn memarg_end(
        &mut self,
        memarg: &MemArg,
        width: u32,
    ) -> Result<std::result::Result<u32, MemArgIndex>> {
        Ok(match self.memarg(memarg)? {
            Ok(offset) => match offset.checked_add(width) {
                Some(end) => Ok(end),
                None => Err(self.side_memarg(0, offset as u64)),
            },
            Err(index) => Err(index),
        })
    }

    /// A new side-table memarg: `memory` and `offset`.
    fn side_memarg(&mut self, memory: u32, offset: u64) -> MemArgIndex {
        self.env.side_tables.memargs.push((memory, offset));
        MemArgIndex((self.env.side_tables.memargs.len() - 1) as u32)
    }

    fn load(&mut self, memarg: &MemArg, make: LoadCtor) -> Result<()> {
        // (A plain load's natural alignment is its width.)
        let arg = self.memarg_end(memarg, 1 << memarg.max_align)?;
        let addr_is_temp = self.operand(self.height() - 1) == Operand::Temp;
        let addr = self.pop_slot();
        let dst = self.push_temp();
        let instr = match arg {
            Ok(end) => (make.0)(dst, addr, end),
            Err(index) => (make.1)(dst, addr, index),
        };
        let instr = if addr_is_temp {
            self.fuse_address(instr, addr)
        } else {
            instr
        };
        self.emit_result(instr);
        Ok(())
    }

    /// Address fusion: when the address (a temporary at `addr`, read only by `access`) was computed
    /// by the instruction just emitted, an `I32AddImm` (or an `I32ShlImm` for an `i32.load`),
    /// removes it and returns the fused access.
    fn fuse_address(&mut self, access: Instr, addr: Slot) -> Instr {
        let Some(at) = self.adjacent_result() else {
            return access;
        };
        // A scaled index: `i32.load` at `(x << k) + offset`.
        if let (Instr::I32ShlImm { dst: t, a, imm }, Instr::I32Load { dst, addr: x, end }) =
            (self.code[at], access)
            && t == addr
            && x == addr
        {
            self.absorb_last();
            return Instr::I32LoadShl {
                shift: (imm & 31) as u8,
                dst,
                a,
                end,
            };
        }
        let Instr::I32AddImm { dst, a, imm } = self.code[at] else {
            return access;
        };
        if dst != addr {
            return access;
        }
        match access.fuse_address_add(addr, a, imm) {
            Some(fused) => {
                self.absorb_last();
                fused
            }
            None => access,
        }
    }

    /// A store whose value operand may be a constant: with memory 0 and a 32-bit offset, stores
    /// `Const(c)` through `make_imm` when `c` fits it (`wide`: only sign-extended 32-bit values).
    fn store_or_imm(
        &mut self,
        memarg: &MemArg,
        make: StoreCtor,
        make_imm: StoreImmCtor,
        wide: bool,
    ) -> Result<()> {
        if let Operand::Const(value) = self.operand(self.height() - 1)
            && (!wide || value as i64 == value as i32 as i64)
            && let Ok(end) = self.memarg_end(memarg, 1 << memarg.max_align)?
        {
            self.pop_entry();
            let addr_is_temp = self.operand(self.height() - 1) == Operand::Temp;
            let addr = self.pop_slot();
            let instr = make_imm(addr, value as u32, end);
            let instr = if addr_is_temp {
                self.fuse_address(instr, addr)
            } else {
                instr
            };
            self.emit(instr);
            return Ok(());
        }
        self.store(memarg, make)
    }

    fn store(&mut self, memarg: &MemArg, make: StoreCtor) -> Result<()> {
        let arg = self.memarg_end(memarg, 1 << memarg.max_align)?;
        // Only a value that needs no code (a local) keeps the address computation adjacent.
        let value_is_local = matches!(self.operand(self.height() - 1), Operand::Local(_));
        let value_is_temp = self.operand(self.height() - 1) == Operand::Temp;
        let value = self.pop_slot();
        let addr_is_temp = self.operand(self.height() - 1) == Operand::Temp;
        let addr = self.pop_slot();
        let instr = match arg {
            Ok(end) => (make.0)(addr, value, end),
            Err(index) => (make.1)(addr, value, index),
        };
        let instr = if value_is_local && addr_is_temp {
            self.fuse_address(instr, addr)
        } else if value_is_temp {
            self.fuse_f64_store(instr)
        } else {
            instr
        };
        self.emit(instr);
        Ok(())
    }

    /// Store fusion: an `f64.store` of a temporary just computed by an `f64` add, sub or mul becomes
    /// one instruction that stores the result straight from a register.
    fn fuse_f64_store(&mut self, store: Instr) -> Instr {
        let Instr::F64Store { addr, value, end } = store else {
            return store;
        };
        let Some(at) = self.adjacent_result() else {
            return store;
        };
        let Some((op, t, a, b)) = self.code[at].f64_pair_op() else {
            return store;
        };
        let (true, Ok(a), Ok(b), Ok(addr)) =
            (t == value, a.try_into(), b.try_into(), addr.try_into())
        else {
            return store;
        };
        self.absorb_last();
        Instr::f64_op_store(op, a, b, addr, end)
    }

    fn unsupported(&self, what: &str) -> Error {
        Error::Unsupported {
            feature: what.to_string(),
            offset: self.offset as usize,
        }
    }

    // ----- control flow -----------------------------------------------------------------------

    fn frame_at_depth(&self, depth: u32) -> &ControlFrame {
        &self.frames[self.frames.len() - 1 - depth as usize]
    }

    /// Whether branching to the frame at `depth` is a plain jump: a block or loop whose values are
    /// already in place.
    fn branch_is_direct(&self, depth: u32) -> bool {
        let frame = self.frame_at_depth(depth);
        if frame.kind == FrameKind::Func {
            // Branching out of the function is a return, never a plain jump.
            return false;
        }
        let arity = frame.branch_arity();
        let h = self.height();
        (0..arity).all(|i| {
            let position = h - arity + i;
            self.operand(position) == Operand::Temp && position == frame.height + i
        })
    }

    /// Before a branch that may be taken many times: materializes the values it carries when there
    /// are many, so that `emit_branch` moves them as one span (see `SPAN_BRANCH_ARITY`). The values
    /// sit below the top `above` stack entries (a `br_if`'s condition).
    fn prepare_wide_branch(&mut self, depth: u32, above: u32) {
        let arity = self.frame_at_depth(depth).branch_arity();
        if arity >= SPAN_BRANCH_ARITY {
            let top = self.height() - above;
            for position in top - arity..top {
                self.materialize(position);
            }
        }
    }

    /// Emits the value moves and the jump of a branch to the frame at `depth`.
    fn emit_branch(&mut self, depth: u32) {
        let index = self.frames.len() - 1 - depth as usize;
        if self.frames[index].kind == FrameKind::Func {
            self.emit_return();
            return;
        }
        let arity = self.frames[index].branch_arity();
        let target_height = self.frames[index].height;
        let h = self.height();
        // Sources sit at or above their destinations, so moving in ascending order never clobbers a
        // value that is still to be read (a two-slot copy reads both slots before writing).
        let mut dst = self.canonical(target_height);
        let mut i = 0;
        while i < arity {
            let position = h - arity + i;
            let wide = self.is_wide_at(position);
            match self.operand(position) {
                Operand::Temp => {
                    // A run of temporaries moves as one span (their canonical slots are contiguous).
                    let run = (i..arity)
                        .take_while(|&j| self.operand(h - arity + j) == Operand::Temp)
                        .count() as u32;
                    let src = self.canonical(position);
                    let len = self.canonical(position + run) - src;
                    if src != dst {
                        match len {
                            1 | 2 => self.emit_copy(dst, src, len == 2),
                            _ => {
                                self.emit(Instr::CopySpan { dst, src, len });
                            }
                        }
                    }
                    dst += len;
                    i += run;
                    continue;
                }
                Operand::Local(src) => self.emit_copy(dst, src, wide),
                Operand::Const(value) => self.emit_const(dst, value),
            }
            dst += 1 + wide as u32;
            i += 1;
        }
        self.emit_jump(index);
    }

    /// Emits `Br` to the frame at `index`, recording a fixup for forward targets.
    fn emit_jump(&mut self, index: usize) {
        if self.frames[index].kind == FrameKind::Loop {
            let target = self.frames[index].start;
            let at = self.code.len();
            self.emit(Instr::Br {
                target: BranchOffset::between(at, target),
            });
        } else {
            let at = self.emit(Instr::Br {
                target: BranchOffset(0),
            });
            self.frames[index].fixups.push(at);
        }
    }

    /// Emits a conditional jump (already built, target unpatched) towards the frame at `depth`.
    fn emit_conditional_jump(&mut self, depth: u32, instr: Instr) {
        let index = self.frames.len() - 1 - depth as usize;
        let at = self.emit(instr);
        if self.frames[index].kind == FrameKind::Loop {
            let target = self.frames[index].start;
            self.patch(at, target);
        } else {
            self.frames[index].fixups.push(at);
        }
    }

    fn emit_return(&mut self) {
        let count = self.results.len() as u32;
        let single_narrow = count == 1 && !self.results[0];
        match count {
            0 => {
                self.emit(Instr::Return {});
            }
            1 if single_narrow => {
                let position = self.height() - 1;
                let src = match self.operand(position) {
                    Operand::Temp => self.canonical(position),
                    Operand::Local(index) => index,
                    Operand::Const(value) => {
                        let dst = self.canonical(position);
                        self.emit_const(dst, value);
                        dst
                    }
                };
                self.emit(Instr::ReturnOne { src });
            }
            _ => {
                // Gather the results in their canonical slots first (sources may be locals that the
                // result slots overlap). This may sit on a conditional path, so the operands keep their
                // state: a canonical slot of a non-temporary operand holds nothing else.
                let h = self.height();
                for position in h - count..h {
                    let dst = self.canonical(position);
                    match self.operand(position) {
                        Operand::Temp => {}
                        Operand::Local(src) => self.emit_copy(dst, src, self.is_wide_at(position)),
                        Operand::Const(value) => self.emit_const(dst, value),
                    }
                }
                let src = self.canonical(h - count);
                let len = slot_count(&self.results);
                self.emit(Instr::ReturnSpan { src, len });
            }
        }
    }

    fn enter_dead_code(&mut self) {
        self.reachable = false;
        let height = self.frames.last().expect("a frame is open").height as usize;
        self.truncate_stack(height.min(self.stack.len()) as u32);
    }

    fn push_frame(&mut self, kind: FrameKind, ty: BlockType) {
        let Widths { params, results } = self.env.block_widths(ty);
        self.materialize_all();
        let height = self.height() - params.len() as u32;
        self.frames.push(ControlFrame {
            kind,
            height,
            params,
            results,
            start: self.pc(),
            fixups: self.spare_fixups.pop().unwrap_or_default(),
            else_fixup: None,
            handler: None,
        });
    }

    fn reset_stack(&mut self, height: u32, temps: &[bool]) {
        self.truncate_stack(height);
        for wide in temps {
            self.push_entry(Operand::Temp, *wide);
        }
    }

    fn translate_else(&mut self) {
        let index = self.frames.len() - 1;
        if self.reachable {
            let results = self.frames[index].results.len() as u32;
            self.materialize_top(results);
            self.emit_jump(index);
        }
        let pc = self.pc();
        if let Some(at) = self.frames[index].else_fixup.take() {
            self.patch(at, pc);
        }
        self.bind_label();
        let frame = &mut self.frames[index];
        frame.kind = FrameKind::Else;
        let height = frame.height;
        let params = frame.params.clone();
        self.reset_stack(height, &params);
        self.reachable = true;
        self.begin_metering(false);
    }

    fn translate_end(&mut self) {
        if self
            .legacy_tries
            .last()
            .is_some_and(|t| t.frame == self.frames.len() - 1)
        {
            self.end_legacy_try();
        }
        let frame = self
            .frames
            .last()
            .expect("validated: end closes an open frame");
        if frame.kind == FrameKind::Func {
            if self.reachable {
                self.emit_return();
            }
            let frame = self.frames.pop().expect("checked above");
            self.recycle_fixups(frame.fixups);
            return;
        }
        if self.reachable {
            let results = frame.results.len() as u32;
            self.materialize_top(results);
        }
        let mut frame = self.frames.pop().expect("checked above");
        let pc = self.pc();
        if let Some(mut handler) = frame.handler.take() {
            handler.end = pc;
            self.handlers.push(handler);
        }
        let mut bound = false;
        if let Some(at) = frame.else_fixup {
            self.patch(at, pc);
            bound = true;
        }
        for at in &frame.fixups {
            self.patch(*at, pc);
            bound = true;
        }
        if bound {
            self.bind_label();
        }
        self.reset_stack(frame.height, &frame.results);
        self.recycle_fixups(frame.fixups);
        self.reachable = true;
        self.begin_metering(false);
    }

    fn recycle_fixups(&mut self, mut fixups: Vec<usize>) {
        fixups.clear();
        self.spare_fixups.push(fixups);
    }

    fn translate_br_table(&mut self, targets: &wasmparser::BrTable<'_>) -> Result<()> {
        let index = self.pop_slot();
        let mut depths = Vec::with_capacity(targets.len() as usize + 1);
        for depth in targets.targets() {
            depths.push(depth.map_err(Error::invalid)?);
        }
        depths.push(targets.default());
        let before = self.code.len();
        self.prepare_wide_branch(targets.default(), 0);
        // An index computed as `x + c` just before (a dispatch loop's `opcode - first`) becomes the
        // table's bias, unless moves for the branch came in between (they may overwrite `x`).
        let (index, bias) = match self.adjacent_result() {
            Some(at) if self.code.len() == before => match self.code[at] {
                Instr::I32AddImm { dst, a, imm } if dst == index => {
                    self.absorb_last();
                    (a, imm)
                }
                _ => (index, 0),
            },
            _ => (index, 0),
        };
        self.emit(Instr::BrTable {
            index,
            len: targets.len(),
            bias,
        });
        let table_start = self.code.len();
        // One stub per distinct target depth, shared by all the entries that go there: the code is
        // linear in the table's length whatever the branch arity.
        let mut stubs: Vec<(u32, Vec<usize>)> = Vec::new();
        let mut stub_of_depth: HashMap<u32, usize> = HashMap::new();
        let mut direct: HashMap<u32, bool> = HashMap::new();
        for (entry, depth) in depths.iter().enumerate() {
            let is_direct = *direct
                .entry(*depth)
                .or_insert_with(|| self.branch_is_direct(*depth));
            if is_direct {
                let frame_index = self.frames.len() - 1 - *depth as usize;
                self.emit_jump(frame_index);
            } else {
                self.emit(Instr::Br {
                    target: BranchOffset(0),
                });
                let stub = *stub_of_depth.entry(*depth).or_insert_with(|| {
                    stubs.push((*depth, Vec::new()));
                    stubs.len() - 1
                });
                stubs[stub].1.push(table_start + entry);
            }
        }
        for (depth, entries) in stubs {
            let pc = self.pc();
            for entry in entries {
                self.patch(entry, pc);
            }
            self.emit_branch(depth);
        }
        self.enter_dead_code();
        Ok(())
    }

    /// `try_table`: landing pads for the catch clauses go first (skipped by a jump), then the body is a
    /// block whose instruction range the handler covers. A pad sees the stack as it is at the
    /// `try_table` minus the block's parameters, plus the caught values in their canonical slots, and
    /// branches to the clause's label (labels count from outside the `try_table`).
    fn translate_try_table(&mut self, try_table: &wasmparser::TryTable) {
        let params = self.env.block_widths(try_table.ty).params;
        self.materialize_all();
        let entry_height = self.height() - params.len() as u32;
        let dst = self.canonical(entry_height);
        let skip = self.emit(Instr::Br {
            target: BranchOffset(0),
        });
        // Every entry is a temporary now, so the stack after each pad is rebuilt from the widths alone
        // (a copy of the whole stack per `try_table` made many of them under a deep stack quadratic).
        let mut catches = Vec::with_capacity(try_table.catches.len());
        for catch in &try_table.catches {
            use wasmparser::Catch;
            let (tag, with_ref, label) = match *catch {
                Catch::One { tag, label } => (Some(tag), false, label),
                Catch::OneRef { tag, label } => (Some(tag), true, label),
                Catch::All { label } => (None, false, label),
                Catch::AllRef { label } => (None, true, label),
            };
            let mut values = match tag {
                Some(t) => self
                    .env
                    .signature_widths(self.env.tag_types[t as usize])
                    .params
                    .to_vec(),
                None => Vec::new(),
            };
            if with_ref {
                values.push(false);
            }
            let pad = self.pc();
            self.reset_stack(entry_height, &values);
            self.emit_branch(label);
            self.reset_stack(entry_height, &params);
            catches.push(CatchClause {
                tag,
                with_ref,
                pad,
                exn_below: false,
            });
        }
        let pc = self.pc();
        self.patch(skip, pc);
        self.bind_label();
        self.push_frame(FrameKind::Block, try_table.ty);
        let depth = (self.frames.len() - 1) as u32;
        self.frames.last_mut().expect("just pushed").handler = Some(Handler {
            start: self.pc(),
            end: self.pc(),
            dst,
            catches: catches.into(),
            depth,
            delegate: None,
        });
    }

    /// Legacy `try`: a block whose body's range gets a handler when the first `catch` (or
    /// `catch_all`) ends it. Each catch block starts with a landing pad: the stack is the `try`'s
    /// minus its parameters, plus one hidden slot keeping the caught `exnref` (for `rethrow`), plus
    /// the payload. Code that does not use legacy exceptions runs as before.
    fn translate_legacy_try(&mut self, ty: BlockType) {
        self.push_frame(FrameKind::Block, ty);
        let frame = self.frames.len() - 1;
        let exn_slot = self.canonical(self.frames[frame].height);
        self.legacy_tries.push(LegacyTry {
            frame,
            body_start: self.pc(),
            handler: None,
            exn_slot,
        });
    }

    /// Legacy `catch tag` / `catch_all`: ends the body (or the previous catch block) with a jump to
    /// the end, and starts a catch block whose landing pad is the next instruction.
    fn translate_legacy_catch(&mut self, tag: Option<u32>) {
        let index = self.frames.len() - 1;
        if self.reachable {
            // In the body the results are at the frame's height; in a catch block one slot higher.
            self.emit_branch(0);
        }
        let pc = self.pc();
        let try_index = self.legacy_tries.len() - 1;
        let handler = match self.legacy_tries[try_index].handler {
            Some(handler) => handler,
            None => {
                let body_start = self.legacy_tries[try_index].body_start;
                let exn_slot = self.legacy_tries[try_index].exn_slot;
                self.handlers.push(Handler {
                    start: body_start,
                    end: pc,
                    dst: exn_slot + 1,
                    catches: Box::new([]),
                    depth: index as u32,
                    delegate: None,
                });
                self.legacy_tries[try_index].handler = Some(self.handlers.len() - 1);
                self.handlers.len() - 1
            }
        };
        let clause = CatchClause {
            tag,
            with_ref: false,
            pad: pc,
            exn_below: true,
        };
        let mut catches = std::mem::take(&mut self.handlers[handler].catches).into_vec();
        catches.push(clause);
        self.handlers[handler].catches = catches.into();

        self.bind_label();
        let height = self.frames[index].height;
        let mut values = vec![false];
        if let Some(t) = tag {
            let params = self
                .env
                .signature_widths(self.env.tag_types[t as usize])
                .params;
            values.extend_from_slice(&params);
        }
        self.reset_stack(height, &values);
        self.temps_below = self.height();
        self.reachable = true;
        self.begin_metering(false);
    }

    /// Closes a legacy `try` at `end`. A catch block's results sit one slot above the frame's
    /// (over the kept `exnref`), so they are moved down like a branch's.
    fn end_legacy_try(&mut self) {
        let legacy = self.legacy_tries.pop().expect("checked by the caller");
        if legacy.handler.is_some() && self.reachable {
            self.emit_branch(0);
            self.reachable = false;
        }
    }

    /// Legacy `try … delegate label`: the body's exceptions are searched for again from `label`
    /// (counted from outside the `try`), skipping the handlers in between.
    fn translate_legacy_delegate(&mut self, relative_depth: u32) {
        let legacy = self
            .legacy_tries
            .pop()
            .expect("validated: delegate closes a try");
        let depth = self.frames.len() - 1;
        let target = depth - 1 - relative_depth as usize;
        if self.reachable {
            let results = self.frames[depth].results.len() as u32;
            self.materialize_top(results);
        }
        // The range ends before anything `translate_end` emits: that code is outside the body.
        let end = self.pc();
        let start = legacy.body_start;
        self.translate_end();
        self.handlers.push(Handler {
            start,
            end: end.max(start),
            dst: Slot(0),
            catches: Box::new([]),
            depth: depth as u32,
            delegate: Some(target as u32),
        });
    }

    fn translate_br_if(&mut self, depth: u32) {
        // Below the condition. (Copies it emits come between the compare and the branch, so the two
        // are not fused; such wide branches are rare.)
        self.prepare_wide_branch(depth, 1);
        let (cond, is_temp) = self.pop_condition();
        let direct = self.branch_is_direct(depth);
        let fused = if is_temp {
            self.take_fused_condition(cond, !direct)
        } else {
            None
        };
        if direct {
            let instr = fused.unwrap_or(Instr::BrIfNez {
                cond,
                target: BranchOffset(0),
            });
            let instr = self.fuse_add_branch(instr);
            self.emit_conditional_jump(depth, instr);
        } else {
            let skip = self.emit(fused.unwrap_or(Instr::BrIfEqz {
                cond,
                target: BranchOffset(0),
            }));
            self.emit_branch(depth);
            let pc = self.pc();
            self.patch(skip, pc);
            self.bind_label();
        }
    }

    fn translate_br_on_null(&mut self, depth: u32) {
        let position = self.height() - 1;
        let operand = self.operand(position);
        let src = self.pop_slot();
        self.prepare_wide_branch(depth, 0);
        if self.branch_is_direct(depth) {
            self.emit_conditional_jump(
                depth,
                Instr::BrOnNull {
                    src,
                    target: BranchOffset(0),
                },
            );
        } else {
            let skip = self.emit(Instr::BrOnNonNull {
                src,
                target: BranchOffset(0),
            });
            self.emit_branch(depth);
            let pc = self.pc();
            self.patch(skip, pc);
            self.bind_label();
        }
        // A constant operand was written to its canonical slot by `pop_slot`.
        let operand = if matches!(operand, Operand::Const(_)) {
            Operand::Temp
        } else {
            operand
        };
        self.push(operand);
    }

    fn translate_br_on_non_null(&mut self, depth: u32) {
        self.prepare_wide_branch(depth, 0);
        let position = self.height() - 1;
        if matches!(self.operand(position), Operand::Const(_)) {
            self.materialize(position);
        }
        let src = match self.operand(position) {
            Operand::Local(index) => index,
            _ => self.canonical(position),
        };
        if self.branch_is_direct(depth) {
            self.emit_conditional_jump(
                depth,
                Instr::BrOnNonNull {
                    src,
                    target: BranchOffset(0),
                },
            );
        } else {
            let skip = self.emit(Instr::BrOnNull {
                src,
                target: BranchOffset(0),
            });
            self.emit_branch(depth);
            let pc = self.pc();
            self.patch(skip, pc);
            self.bind_label();
        }
        self.pop_entry();
    }

    fn translate_local_set(&mut self, local_index: u32, tee: bool) {
        let local = self.local_slots[local_index as usize];
        let wide = self.local_wide[local_index as usize];
        let position = self.height() - 1;
        // Values on the stack that still read this local must be saved before it changes.
        let mut i = 0;
        while let Some(&p) = self.local_operands.get(i) {
            if p < position && self.operand(p) == Operand::Local(local) {
                // Removes `p` from `local_operands`: the next candidate moves to index `i`.
                self.materialize(p);
            } else {
                i += 1;
            }
        }
        match self.operand(position) {
            Operand::Temp => {
                let src = self.canonical(position);
                let retargeted = match self.last_result {
                    Some(at) if at + 1 == self.code.len() => {
                        match self.code[at].result_slot_mut() {
                            Some(dst) if *dst == src => {
                                *dst = local;
                                true
                            }
                            _ => false,
                        }
                    }
                    _ => false,
                };
                if !retargeted {
                    self.emit_copy(local, src, wide);
                }
            }
            Operand::Local(src) => {
                if src != local {
                    self.emit_copy(local, src, wide);
                }
            }
            Operand::Const(value) => self.emit_const(local, value),
        }
        self.last_result = None;
        self.pop_entry();
        if tee {
            self.push_entry(Operand::Local(local), wide);
        }
    }

    fn push_results(&mut self, results: &[bool]) {
        for wide in results {
            self.push_entry(Operand::Temp, *wide);
        }
    }

    fn translate_call(&mut self, func: u32, tail: bool) {
        let Widths { params, results } = self
            .env
            .signature_widths(self.env.func_type_ids[func as usize]);
        let base = self.pop_span(params.len() as u32);
        if tail {
            self.emit(Instr::ReturnCall {
                func: FuncIndex(func),
                base,
            });
            self.enter_dead_code();
        } else {
            self.emit(Instr::Call {
                func: FuncIndex(func),
                base,
            });
            self.push_results(&results);
        }
    }

    fn translate_call_indirect(&mut self, type_index: u32, table: u32, tail: bool) {
        let Widths { params, results } = self.env.type_widths(type_index);
        let index = self.pop_slot();
        let base = self.pop_span(params.len() as u32);
        self.env.side_tables.call_sites.push((type_index, table));
        let site = CallSiteIndex((self.env.side_tables.call_sites.len() - 1) as u32);
        if tail {
            self.emit(Instr::ReturnCallIndirect { index, base, site });
            self.enter_dead_code();
        } else {
            self.emit(Instr::CallIndirect { index, base, site });
            self.push_results(&results);
        }
    }

    fn translate_call_ref(&mut self, type_index: u32, tail: bool) {
        let Widths { params, results } = self.env.type_widths(type_index);
        let func = self.pop_slot();
        let base = self.pop_span(params.len() as u32);
        if tail {
            self.emit(Instr::ReturnCallRef { func, base });
            self.enter_dead_code();
        } else {
            self.emit(Instr::CallRef { func, base });
            self.push_results(&results);
        }
    }

    /// Translates one validated operator.
    pub fn translate(&mut self, op: &Operator<'_>, offset: u64) -> Result<()> {
        self.offset = offset as u32;
        if !self.reachable {
            match op {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::TryTable { .. }
                | Operator::Try { .. } => {
                    self.dead_depth += 1;
                }
                Operator::Else if self.dead_depth == 0 => self.translate_else(),
                Operator::End if self.dead_depth == 0 => self.translate_end(),
                Operator::Catch { tag_index } if self.dead_depth == 0 => {
                    self.translate_legacy_catch(Some(*tag_index))
                }
                Operator::CatchAll if self.dead_depth == 0 => self.translate_legacy_catch(None),
                Operator::Delegate { relative_depth } if self.dead_depth == 0 => {
                    self.translate_legacy_delegate(*relative_depth)
                }
                Operator::End | Operator::Delegate { .. } => self.dead_depth -= 1,
                _ => {}
            }
            return Ok(());
        }
        self.charge_operator();
        self.translate_reachable(op)?;
        if self.env.canonical_nans
            && let Some(shape) = nan::result_shape(op)
        {
            self.canonicalize_nan(shape);
        }
        Ok(())
    }

    /// Translates one validated operator in reachable code.
    fn translate_reachable(&mut self, op: &Operator<'_>) -> Result<()> {
        if self.translate_threads(op)? {
            return Ok(());
        }
        use Operator as O;
        match op {
            O::Nop => {}
            O::Unreachable => {
                self.emit(Instr::Unreachable {});
                self.enter_dead_code();
            }
            O::Block { blockty } => self.push_frame(FrameKind::Block, *blockty),
            O::Loop { blockty } => {
                self.push_frame(FrameKind::Loop, *blockty);
                self.bind_label();
                self.begin_metering(true);
            }
            O::If { blockty } => {
                let (cond, is_temp) = self.pop_condition();
                let fused = if is_temp {
                    self.take_fused_condition(cond, true)
                } else {
                    None
                };
                // Materialising the stack below cannot clobber the fused comparison's operands: it
                // writes only canonical slots of positions below the (popped) condition.
                self.push_frame(FrameKind::If, *blockty);
                let at = self.emit(fused.unwrap_or(Instr::BrIfEqz {
                    cond,
                    target: BranchOffset(0),
                }));
                self.frames.last_mut().expect("just pushed").else_fixup = Some(at);
            }
            O::Else => self.translate_else(),
            O::End => self.translate_end(),
            O::Try { blockty } => self.translate_legacy_try(*blockty),
            O::Catch { tag_index } => self.translate_legacy_catch(Some(*tag_index)),
            O::CatchAll => self.translate_legacy_catch(None),
            O::Delegate { relative_depth } => self.translate_legacy_delegate(*relative_depth),
            O::Rethrow { relative_depth } => {
                let frame = self.frames.len() - 1 - *relative_depth as usize;
                let src = self
                    .legacy_tries
                    .iter()
                    .rev()
                    .find(|t| t.frame == frame)
                    .expect("validated: rethrow names a catch block")
                    .exn_slot;
                self.emit(Instr::ThrowRef { src });
                self.enter_dead_code();
            }
            O::TryTable { try_table } => self.translate_try_table(try_table),
            O::Throw { tag_index } => {
                let params = self
                    .env
                    .signature_widths(self.env.tag_types[*tag_index as usize])
                    .params;
                let base = self.pop_span(params.len() as u32);
                self.emit(Instr::Throw {
                    tag: *tag_index,
                    base,
                });
                self.enter_dead_code();
            }
            O::ThrowRef => {
                let src = self.pop_slot();
                self.emit(Instr::ThrowRef { src });
                self.enter_dead_code();
            }
            O::Br { relative_depth } => {
                self.emit_branch(*relative_depth);
                self.enter_dead_code();
            }
            O::BrIf { relative_depth } => self.translate_br_if(*relative_depth),
            O::BrTable { targets } => self.translate_br_table(targets)?,
            O::BrOnNull { relative_depth } => self.translate_br_on_null(*relative_depth),
            O::BrOnNonNull { relative_depth } => self.translate_br_on_non_null(*relative_depth),
            O::Return => {
                self.emit_return();
                self.enter_dead_code();
            }
            O::Call { function_index } => self.translate_call(*function_index, false),
            O::ReturnCall { function_index } => self.translate_call(*function_index, true),
            O::CallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(*type_index, *table_index, false),
            O::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(*type_index, *table_index, true),
            O::CallRef { type_index } => self.translate_call_ref(*type_index, false),
            O::ReturnCallRef { type_index } => self.translate_call_ref(*type_index, true),
            // Slots are untyped: reinterpreting bits is free.
            O::I32ReinterpretF32
            | O::I64ReinterpretF64
            | O::F32ReinterpretI32
            | O::F64ReinterpretI64 => {}
            O::Drop => {
                self.pop_entry();
            }
            O::Select | O::TypedSelect { .. } => self.translate_select(),
            O::TypedSelectMulti { tys } if tys.len() == 1 => self.translate_select(),
            O::LocalGet { local_index } => self.push_local(*local_index),
            O::LocalSet { local_index } => self.translate_local_set(*local_index, false),
            O::LocalTee { local_index } => self.translate_local_set(*local_index, true),
            O::GlobalGet { global_index } => {
                let global = *global_index;
                if self.env.global_is_wide(global) {
                    let dst = self.push_temp_wide();
                    self.emit_result(Instr::GlobalGet2 { dst, global });
                } else {
                    let dst = self.push_temp();
                    self.emit_result(Instr::GlobalGet { dst, global });
                }
            }
            O::GlobalSet { global_index } => {
                let global = *global_index;
                let src = self.pop_slot();
                if self.env.global_is_wide(global) {
                    self.emit(Instr::GlobalSet2 { src, global });
                } else {
                    let set = self.fuse_global_update(src, global);
                    self.emit(set);
                }
            }
            O::I32Const { value } => self.push(Operand::Const(*value as u32 as u64)),
            O::I64Const { value } => self.push(Operand::Const(*value as u64)),
            O::F32Const { value } => self.push(Operand::Const(value.bits() as u64)),
            O::F64Const { value } => self.push(Operand::Const(value.bits())),
            O::RefNull { .. } => self.push(Operand::Const(0)),
            O::RefFunc { function_index } => {
                let dst = self.push_temp();
                self.emit_result(Instr::RefFunc {
                    dst,
                    func: FuncIndex(*function_index),
                });
            }
            O::RefAsNonNull => {
                let position = self.height() - 1;
                self.materialize(position);
                let src = self.canonical(position);
                self.emit(Instr::RefAsNonNull { src });
            }
            O::MemorySize { mem } => {
                let dst = self.push_temp();
                self.emit_result(Instr::MemorySize { dst, memory: *mem });
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop_slot();
                let dst = self.push_temp();
                self.emit(Instr::MemoryGrow {
                    dst,
                    delta,
                    memory: *mem,
                });
            }
            O::MemoryFill { mem } => {
                let base = self.pop_span(3);
                self.emit(Instr::MemoryFill { memory: *mem, base });
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let base = self.pop_span(3);
                self.emit(Instr::MemoryCopy {
                    dst_memory: *dst_mem,
                    src_memory: *src_mem,
                    base,
                });
            }
            O::MemoryInit { data_index, mem } => {
                let base = self.pop_span(3);
                self.emit(Instr::MemoryInit {
                    memory: *mem,
                    data: *data_index,
                    base,
                });
            }
            O::DataDrop { data_index } => {
                self.emit(Instr::DataDrop { data: *data_index });
            }
            O::TableGet { table } => {
                let index = self.pop_slot();
                let dst = self.push_temp();
                self.emit_result(Instr::TableGet {
                    dst,
                    index,
                    table: *table,
                });
            }
            O::TableSet { table } => {
                let base = self.pop_span(2);
                self.emit(Instr::TableSet {
                    table: *table,
                    base,
                });
            }
            O::TableSize { table } => {
                let dst = self.push_temp();
                self.emit_result(Instr::TableSize { dst, table: *table });
            }
            O::TableGrow { table } => {
                let base = self.pop_span(2);
                self.push_temp();
                self.emit(Instr::TableGrow {
                    table: *table,
                    base,
                });
            }
            O::TableFill { table } => {
                let base = self.pop_span(3);
                self.emit(Instr::TableFill {
                    table: *table,
                    base,
                });
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let base = self.pop_span(3);
                self.emit(Instr::TableCopy {
                    dst_table: *dst_table,
                    src_table: *src_table,
                    base,
                });
            }
            O::TableInit { elem_index, table } => {
                let base = self.pop_span(3);
                self.emit(Instr::TableInit {
                    table: *table,
                    elem: *elem_index,
                    base,
                });
            }
            O::ElemDrop { elem_index } => {
                self.emit(Instr::ElemDrop { elem: *elem_index });
            }
            O::I64Add128 => self.wide_arithmetic(4, |base| Instr::I64Add128 { base }),
            O::I64Sub128 => self.wide_arithmetic(4, |base| Instr::I64Sub128 { base }),
            O::I64MulWideS => self.wide_arithmetic(2, |base| Instr::I64MulWideS { base }),
            O::I64MulWideU => self.wide_arithmetic(2, |base| Instr::I64MulWideU { base }),
            _ => return self.translate_simple(op),
        }
        Ok(())
    }

    /// A wide-arithmetic operator: its `operands` sit in consecutive slots from `base`, and its two
    /// `i64` results (low half first) replace the first two.
    fn wide_arithmetic(&mut self, operands: u32, make: fn(Slot) -> Instr) {
        let base = self.pop_span(operands);
        self.push_temp();
        self.push_temp();
        self.emit(make(base));
    }

    fn translate_select(&mut self) {
        let cond = self.pop_slot();
        let other = self.pop_slot();
        let position = self.height() - 1;
        self.materialize(position);
        let dst = self.canonical(position);
        if self.is_wide_at(position) {
            self.emit(Instr::SelectElse2 { dst, other, cond });
        } else {
            self.emit(Instr::SelectElse { dst, other, cond });
        }
    }

    /// SIMD operators: the shapes of `bytecode::define_simd_ops!`, then the ones with immediates.
    fn translate_simd(&mut self, op: &Operator<'_>) -> Result<()> {
        use Operator as O;
        if let Some(op) = V128BinaryOp::from_operator(op) {
            let b = self.pop_slot();
            let a = self.pop_slot();
            let dst = self.push_temp_wide();
            let dedicated = bytecode::simd_binary_of(op);
            match dedicated {
                Some(make) => self.emit_result(make(dst, a, b)),
                None => self.emit_result(Instr::V128Binary { op, dst, a, b }),
            }
        } else if let Some(op) = V128UnaryOp::from_operator(op) {
            let src = self.pop_slot();
            let dst = self.push_temp_wide();
            self.emit_result(Instr::V128Unary { op, dst, src });
        } else if let Some(op) = V128TestOp::from_operator(op) {
            let src = self.pop_slot();
            let dst = self.push_temp();
            self.emit_result(Instr::V128Test { op, dst, src });
        } else if let Some(op) = V128ShiftOp::from_operator(op) {
            // A constant count (the usual case) becomes an immediate.
            if let Operand::Const(count) = self.operand(self.height() - 1) {
                self.pop_entry();
                let a = self.pop_slot();
                let dst = self.push_temp_wide();
                self.emit_result(Instr::V128ShiftImm {
                    op,
                    dst,
                    a,
                    count: count as u32,
                });
                return Ok(());
            }
            let b = self.pop_slot();
            let a = self.pop_slot();
            let dst = self.push_temp_wide();
            self.emit_result(Instr::V128Shift { op, dst, a, b });
        } else if let Some(op) = V128SplatOp::from_operator(op) {
            let src = self.pop_slot();
            let dst = self.push_temp_wide();
            self.emit_result(Instr::V128Splat { op, dst, src });
        } else if let Some(op) = V128TernaryOp::from_operator(op) {
            // Three operands do not fit an instruction: they go to consecutive canonical slots.
            let base = self.pop_span(3);
            let dst = self.push_temp_wide();
            self.emit_result(Instr::V128Ternary { op, dst, base });
        } else {
            match op {
                O::V128Const { value } => {
                    let index = self.env.v128_const(value.i128() as u128);
                    let dst = self.push_temp_wide();
                    self.emit_result(Instr::V128Const { dst, index });
                }
                O::I8x16Shuffle { lanes } => {
                    let mask = self.env.v128_const(u128::from_le_bytes(*lanes));
                    let base = self.pop_span(2);
                    let dst = self.push_temp_wide();
                    self.emit_result(Instr::V128Shuffle { dst, base, mask });
                }
                O::I8x16ExtractLaneS { lane } => self.extract_lane(V128ExtractOp::I8x16S, *lane),
                O::I8x16ExtractLaneU { lane } => self.extract_lane(V128ExtractOp::I8x16U, *lane),
                O::I16x8ExtractLaneS { lane } => self.extract_lane(V128ExtractOp::I16x8S, *lane),
                O::I16x8ExtractLaneU { lane } => self.extract_lane(V128ExtractOp::I16x8U, *lane),
                O::I32x4ExtractLane { lane } | O::F32x4ExtractLane { lane } => {
                    self.extract_lane(V128ExtractOp::I32x4, *lane)
                }
                O::I64x2ExtractLane { lane } | O::F64x2ExtractLane { lane } => {
                    self.extract_lane(V128ExtractOp::I64x2, *lane)
                }
                O::I8x16ReplaceLane { lane } => self.replace_lane(V128ReplaceOp::I8x16, *lane),
                O::I16x8ReplaceLane { lane } => self.replace_lane(V128ReplaceOp::I16x8, *lane),
                O::I32x4ReplaceLane { lane } | O::F32x4ReplaceLane { lane } => {
                    self.replace_lane(V128ReplaceOp::I32x4, *lane)
                }
                O::I64x2ReplaceLane { lane } | O::F64x2ReplaceLane { lane } => {
                    self.replace_lane(V128ReplaceOp::I64x2, *lane)
                }
                O::V128Load { memarg } => self.load_v128(memarg, V128LoadOp::V128Load)?,
                O::V128Load8x8S { memarg } => self.load_v128(memarg, V128LoadOp::V128Load8x8S)?,
                O::V128Load8x8U { memarg } => self.load_v128(memarg, V128LoadOp::V128Load8x8U)?,
                O::V128Load16x4S { memarg } => self.load_v128(memarg, V128LoadOp::V128Load16x4S)?,
                O::V128Load16x4U { memarg } => self.load_v128(memarg, V128LoadOp::V128Load16x4U)?,
                O::V128Load32x2S { memarg } => self.load_v128(memarg, V128LoadOp::V128Load32x2S)?,
                O::V128Load32x2U { memarg } => self.load_v128(memarg, V128LoadOp::V128Load32x2U)?,
                O::V128Load8Splat { memarg } => {
                    self.load_v128(memarg, V128LoadOp::V128Load8Splat)?
                }
                O::V128Load16Splat { memarg } => {
                    self.load_v128(memarg, V128LoadOp::V128Load16Splat)?
                }
                O::V128Load32Splat { memarg } => {
                    self.load_v128(memarg, V128LoadOp::V128Load32Splat)?
                }
                O::V128Load64Splat { memarg } => {
                    self.load_v128(memarg, V128LoadOp::V128Load64Splat)?
                }
                O::V128Load32Zero { memarg } => {
                    self.load_v128(memarg, V128LoadOp::V128Load32Zero)?
                }
                O::V128Load64Zero { memarg } => {
                    self.load_v128(memarg, V128LoadOp::V128Load64Zero)?
                }
                O::V128Store { memarg } => {
                    let arg = self.memarg_end(memarg, 16)?;
                    // As in `store`: only a value that needs no code keeps the address adjacent.
                    let value_is_local =
                        matches!(self.operand(self.height() - 1), Operand::Local(_));
                    let value = self.pop_slot();
                    let addr_is_temp = self.operand(self.height() - 1) == Operand::Temp;
                    let addr = self.pop_slot();
                    let instr = match arg {
                        Ok(end) if value_is_local && addr_is_temp => {
                            self.fuse_address(Instr::V128Store { addr, value, end }, addr)
                        }
                        Ok(end) => Instr::V128Store { addr, value, end },
                        Err(memarg) => Instr::V128StoreX {
                            addr,
                            value,
                            memarg,
                        },
                    };
                    self.emit(instr);
                }
                O::V128Load8Lane { memarg, lane } => {
                    self.lane_access(memarg, LaneWidth::B8, *lane, true)?
                }
                O::V128Load16Lane { memarg, lane } => {
                    self.lane_access(memarg, LaneWidth::B16, *lane, true)?
                }
                O::V128Load32Lane { memarg, lane } => {
                    self.lane_access(memarg, LaneWidth::B32, *lane, true)?
                }
                O::V128Load64Lane { memarg, lane } => {
                    self.lane_access(memarg, LaneWidth::B64, *lane, true)?
                }
                O::V128Store8Lane { memarg, lane } => {
                    self.lane_access(memarg, LaneWidth::B8, *lane, false)?
                }
                O::V128Store16Lane { memarg, lane } => {
                    self.lane_access(memarg, LaneWidth::B16, *lane, false)?
                }
                O::V128Store32Lane { memarg, lane } => {
                    self.lane_access(memarg, LaneWidth::B32, *lane, false)?
                }
                O::V128Store64Lane { memarg, lane } => {
                    self.lane_access(memarg, LaneWidth::B64, *lane, false)?
                }
                other => {
                    return Err(self.unsupported(&format!(
                        "instruction `{}` (from the {} proposal) is not supported yet",
                        super::operator_names::text_name(other),
                        super::operator_names::proposal(other)
                    )));
                }
            }
        }
        Ok(())
    }

    fn extract_lane(&mut self, op: V128ExtractOp, lane: u8) {
        let src = self.pop_slot();
        let dst = self.push_temp();
        self.emit_result(Instr::V128ExtractLane { op, dst, src, lane });
    }

    fn replace_lane(&mut self, op: V128ReplaceOp, lane: u8) {
        let b = self.pop_slot();
        let a = self.pop_slot();
        let dst = self.push_temp_wide();
        self.emit_result(Instr::V128ReplaceLane {
            op,
            dst,
            a,
            b,
            lane,
        });
    }

    fn load_v128(&mut self, memarg: &MemArg, op: V128LoadOp) -> Result<()> {
        // A plain `v128.load` has an instruction of its own, which takes the end (offset + 16).
        let plain = op == V128LoadOp::V128Load;
        let arg = if plain {
            self.memarg_end(memarg, 16)?
        } else {
            self.memarg(memarg)?
        };
        let addr_is_temp = self.operand(self.height() - 1) == Operand::Temp;
        let addr = self.pop_slot();
        let dst = self.push_temp_wide();
        if let Ok(end) = arg
            && plain
        {
            let instr = Instr::V128LoadPlain { dst, addr, end };
            let instr = if addr_is_temp {
                self.fuse_address(instr, addr)
            } else {
                instr
            };
            self.emit_result(instr);
            return Ok(());
        }
        self.emit_result(match arg {
            Ok(offset) => Instr::V128Load {
                op,
                dst,
                addr,
                offset,
            },
            Err(memarg) => Instr::V128LoadX {
                op,
                dst,
                addr,
                memarg,
            },
        });
        Ok(())
    }

    /// `v128.loadN_lane` / `v128.storeN_lane`: address and vector go to consecutive slots, the memarg
    /// always to the side table (rare instructions with many immediates).
    fn lane_access(
        &mut self,
        memarg: &MemArg,
        width: LaneWidth,
        lane: u8,
        load: bool,
    ) -> Result<()> {
        let memarg = match self.memarg(memarg)? {
            Err(index) => index,
            Ok(offset) => self.side_memarg(0, offset as u64),
        };
        let base = self.pop_span(2);
        if load {
            let dst = self.push_temp_wide();
            self.emit_result(Instr::V128LoadLane {
                width,
                dst,
                base,
                memarg,
                lane,
            });
        } else {
            self.emit(Instr::V128StoreLane {
                width,
                base,
                memarg,
                lane,
            });
        }
        Ok(())
    }

    /// Numeric operators and memory accesses: the 1:1 mappings generated from the instruction table
    /// (`bytecode::define_instr!`), with the register-immediate and constant-store forms.
    fn translate_simple(&mut self, op: &Operator<'_>) -> Result<()> {
        if self.high_half_constant(op) {
            return Ok(());
        }
        if let Some((make, make_imm, is_64)) = bytecode::binary_imm_of(op) {
            self.binary_imm(make, make_imm, is_64, false);
        } else if let Operator::I32Sub = op {
            self.binary_imm(ctor::I32Sub, ctor::I32AddImm, false, true);
        } else if let Operator::I64Sub = op {
            self.binary_imm(ctor::I64Sub, ctor::I64AddImm, true, true);
        } else if let Some(make) = bytecode::binary_of(op) {
            self.binary(make);
        } else if let Some(make) = bytecode::unary_of(op) {
            self.unary(make);
        } else if let Some((memarg, make)) = bytecode::load_of(op) {
            self.load(memarg, make)?;
        } else if let Some((memarg, make, make_imm, wide)) = bytecode::store_of(op) {
            self.store_or_imm(memarg, make, make_imm, wide)?;
        } else {
            return self.translate_gc(op);
        }
        Ok(())
    }
}
