//! Translation of validated Wasm function bodies into ward bytecode.
//!
//! The translator mirrors the Wasm operand stack with a compile-time stack of [`Operand`]s. An operand is
//! either a temporary living in its canonical slot (`locals + stack position`), a reference to a local
//! (from `local.get`, no code emitted), or a constant (emitted only when an instruction needs it in a
//! slot). Instructions read their inputs straight from those slots and write their result to the canonical
//! slot of the result's position; a following `local.set` rewrites that destination to the local instead
//! of copying. At control-flow joins every value is in its canonical slot, so branches only copy when the
//! values are not already where the target expects them.
//!
//! Called by `module` for each function body after the operator was validated; knows nothing of stores.

use wasmparser::types::{CoreTypeId, TypesRef};
use wasmparser::{BlockType, MemArg, MemArgTarget, Operator};

use super::bytecode::{BinaryCtor, Instr, LoadCtor, Slot, StoreCtor, Target, UnaryCtor, ctor};
use crate::{Error, Result};

/// A translated function, ready for the executor.
#[derive(Debug)]
pub(crate) struct CompiledFunc {
    pub code: Box<[Instr]>,
    /// For each instruction, the byte offset of the Wasm operator it came from.
    pub offsets: Box<[u32]>,
    pub num_params: u32,
    /// Parameters plus declared locals.
    pub num_locals: u32,
    /// Slots the frame needs: locals plus the maximum operand stack height (at least the result count).
    pub frame_size: u32,
}

/// Module-level facts the translator needs, and the module's side tables it appends to.
pub(crate) struct ModuleEnv<'a> {
    pub types: TypesRef<'a>,
    /// Module type index → canonical id.
    pub type_ids: &'a [CoreTypeId],
    /// Function index → canonical type id.
    pub func_type_ids: &'a [CoreTypeId],
    /// (memory index, offset) pairs for memory instructions off the fast path.
    pub memargs: &'a mut Vec<(u32, u64)>,
    /// (type index, table index) pairs of indirect call sites.
    pub call_sites: &'a mut Vec<(u32, u32)>,
    /// Emit fuel metering (`Config::consume_fuel`).
    pub fuel: bool,
    /// Emit interruption checks at function entries and loop headers (`Config::epoch_interruption`).
    pub interrupts: bool,
}

impl ModuleEnv<'_> {
    fn signature_arity(&self, id: CoreTypeId) -> (u32, u32) {
        let f = self.types[id].unwrap_func();
        (f.params().len() as u32, f.results().len() as u32)
    }

    fn type_arity(&self, type_index: u32) -> (u32, u32) {
        self.signature_arity(self.type_ids[type_index as usize])
    }

    fn block_arity(&self, ty: BlockType) -> (u32, u32) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(index) => self.type_arity(index),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Operand {
    /// In the canonical slot of its stack position.
    Temp,
    /// The current value of a local.
    Local(u32),
    /// A constant not yet written anywhere.
    Const(u64),
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
    params: u32,
    results: u32,
    /// Loop header position (loops only).
    start: Target,
    /// Forward branches to this block's end, to patch.
    fixups: Vec<usize>,
    /// The `BrIfEqz` of an `if`, patched at `else` or `end`.
    else_fixup: Option<usize>,
}

impl ControlFrame {
    fn branch_arity(&self) -> u32 {
        if self.kind == FrameKind::Loop {
            self.params
        } else {
            self.results
        }
    }
}

pub(crate) struct Translator<'a, 'e> {
    env: &'a mut ModuleEnv<'e>,
    code: Vec<Instr>,
    offsets: Vec<u32>,
    num_params: u32,
    num_locals: u32,
    num_results: u32,
    stack: Vec<Operand>,
    max_height: u32,
    frames: Vec<ControlFrame>,
    reachable: bool,
    /// Nesting depth of blocks opened inside unreachable code.
    dead_depth: u32,
    /// The last instruction, when it wrote a fresh temporary that nothing has read yet.
    last_result: Option<usize>,
    offset: u32,
    /// The `ConsumeFuel` instruction charging for the current straight-line code.
    fuel_meter: Option<usize>,
}

impl<'a, 'e> Translator<'a, 'e> {
    pub fn new(env: &'a mut ModuleEnv<'e>, func_type: CoreTypeId) -> Self {
        let (num_params, num_results) = env.signature_arity(func_type);
        let mut translator = Translator {
            env,
            code: Vec::new(),
            offsets: Vec::new(),
            num_params,
            num_locals: num_params,
            num_results,
            stack: Vec::new(),
            max_height: 0,
            frames: vec![ControlFrame {
                kind: FrameKind::Func,
                height: 0,
                params: 0,
                results: num_results,
                start: 0,
                fixups: Vec::new(),
                else_fixup: None,
            }],
            reachable: true,
            dead_depth: 0,
            last_result: None,
            offset: 0,
            fuel_meter: None,
        };
        translator.begin_metering(true);
        translator
    }

    /// Starts charging a new run of straight-line code: fuel is charged per Wasm operator, up front
    /// when the run is entered, so metering costs one instruction per block. Interruption is checked
    /// where execution can repeat: function entries and loop headers. Emits nothing when both are off.
    fn begin_metering(&mut self, repeats: bool) {
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

    pub fn add_locals(&mut self, count: u32) -> Result<()> {
        self.num_locals = self
            .num_locals
            .checked_add(count)
            .ok_or_else(|| Error::Invalid {
                message: "too many locals".into(),
                offset: self.offset as usize,
            })?;
        Ok(())
    }

    pub fn finish(self) -> CompiledFunc {
        let frame_size = (self.num_locals + self.max_height).max(self.num_results);
        CompiledFunc {
            code: self.code.into_boxed_slice(),
            offsets: self.offsets.into_boxed_slice(),
            num_params: self.num_params,
            num_locals: self.num_locals,
            frame_size,
        }
    }

    // ----- emission helpers -------------------------------------------------------------------

    fn emit(&mut self, instr: Instr) -> usize {
        self.code.push(instr);
        self.offsets.push(self.offset);
        self.code.len() - 1
    }

    /// Emits an instruction whose single result is a fresh temporary.
    fn emit_result(&mut self, instr: Instr) {
        let at = self.emit(instr);
        self.last_result = Some(at);
    }

    fn pc(&self) -> Target {
        self.code.len() as Target
    }

    /// Marks the current position as a branch target: results may arrive here from elsewhere.
    fn bind_label(&mut self) {
        self.last_result = None;
    }

    fn patch(&mut self, at: usize, target: Target) {
        match &mut self.code[at] {
            Instr::Br { target: t }
            | Instr::BrIfNez { target: t, .. }
            | Instr::BrIfEqz { target: t, .. }
            | Instr::BrOnNull { target: t, .. }
            | Instr::BrOnNonNull { target: t, .. } => *t = target,
            other => unreachable!("patching a non-branch instruction {other:?}"),
        }
    }

    fn canonical(&self, position: u32) -> Slot {
        self.num_locals + position
    }

    fn height(&self) -> u32 {
        self.stack.len() as u32
    }

    fn push_temp(&mut self) -> Slot {
        self.stack.push(Operand::Temp);
        self.max_height = self.max_height.max(self.height());
        self.canonical(self.height() - 1)
    }

    fn push(&mut self, operand: Operand) {
        self.stack.push(operand);
        self.max_height = self.max_height.max(self.height());
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
        match self.stack[position as usize] {
            Operand::Temp => return,
            Operand::Local(src) => {
                self.emit(Instr::Copy { dst, src });
            }
            Operand::Const(value) => self.emit_const(dst, value),
        }
        self.stack[position as usize] = Operand::Temp;
    }

    fn materialize_top(&mut self, count: u32) {
        let h = self.height();
        for position in h - count..h {
            self.materialize(position);
        }
    }

    fn materialize_all(&mut self) {
        for position in 0..self.height() {
            self.materialize(position);
        }
    }

    /// Pops the top operand and returns a slot holding its value.
    fn pop_slot(&mut self) -> Slot {
        let position = self.height() - 1;
        let slot = match self.stack[position as usize] {
            Operand::Temp => self.canonical(position),
            Operand::Local(index) => index,
            Operand::Const(value) => {
                let dst = self.canonical(position);
                self.emit_const(dst, value);
                dst
            }
        };
        self.stack.pop();
        slot
    }

    /// Pops `count` operands that a rare instruction takes from consecutive canonical slots.
    fn pop_span(&mut self, count: u32) -> Slot {
        self.materialize_top(count);
        let base = self.canonical(self.height() - count);
        self.stack.truncate((self.height() - count) as usize);
        base
    }

    fn unary(&mut self, make: UnaryCtor) {
        let src = self.pop_slot();
        let dst = self.push_temp();
        self.emit_result(make(dst, src));
    }

    fn binary(&mut self, make: BinaryCtor) {
        let b = self.pop_slot();
        let a = self.pop_slot();
        let dst = self.push_temp();
        self.emit_result(make(dst, a, b));
    }

    fn memarg(&mut self, memarg: &MemArg) -> Result<std::result::Result<u32, u32>> {
        let memory = match memarg.target {
            MemArgTarget::Memory(m) => m,
            MemArgTarget::Array(_) => return Err(self.unsupported("GC array memory access")),
        };
        if memory == 0
            && let Ok(offset) = u32::try_from(memarg.offset)
        {
            return Ok(Ok(offset));
        }
        self.env.memargs.push((memory, memarg.offset));
        Ok(Err((self.env.memargs.len() - 1) as u32))
    }

    fn load(&mut self, memarg: &MemArg, make: LoadCtor) -> Result<()> {
        let arg = self.memarg(memarg)?;
        let addr = self.pop_slot();
        let dst = self.push_temp();
        let instr = match arg {
            Ok(offset) => (make.0)(dst, addr, offset),
            Err(index) => (make.1)(dst, addr, index),
        };
        self.emit_result(instr);
        Ok(())
    }

    fn store(&mut self, memarg: &MemArg, make: StoreCtor) -> Result<()> {
        let arg = self.memarg(memarg)?;
        let value = self.pop_slot();
        let addr = self.pop_slot();
        let instr = match arg {
            Ok(offset) => (make.0)(addr, value, offset),
            Err(index) => (make.1)(addr, value, index),
        };
        self.emit(instr);
        Ok(())
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
            self.stack[position as usize] == Operand::Temp && position == frame.height + i
        })
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
        // value that is still to be read.
        for i in 0..arity {
            let position = h - arity + i;
            let dst = self.canonical(target_height + i);
            match self.stack[position as usize] {
                Operand::Temp => {
                    let src = self.canonical(position);
                    if src != dst {
                        self.emit(Instr::Copy { dst, src });
                    }
                }
                Operand::Local(src) => {
                    self.emit(Instr::Copy { dst, src });
                }
                Operand::Const(value) => self.emit_const(dst, value),
            }
        }
        self.emit_jump(index);
    }

    /// Emits `Br` to the frame at `index`, recording a fixup for forward targets.
    fn emit_jump(&mut self, index: usize) {
        if self.frames[index].kind == FrameKind::Loop {
            let target = self.frames[index].start;
            self.emit(Instr::Br { target });
        } else {
            let at = self.emit(Instr::Br { target: 0 });
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
        let count = self.num_results;
        match count {
            0 => {
                self.emit(Instr::Return {});
            }
            1 => {
                let position = self.height() - 1;
                let src = match self.stack[position as usize] {
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
                    match self.stack[position as usize] {
                        Operand::Temp => {}
                        Operand::Local(src) => {
                            self.emit(Instr::Copy { dst, src });
                        }
                        Operand::Const(value) => self.emit_const(dst, value),
                    }
                }
                let src = self.canonical(h - count);
                self.emit(Instr::ReturnSpan { src, len: count });
            }
        }
    }

    fn enter_dead_code(&mut self) {
        self.reachable = false;
        let height = self.frames.last().expect("a frame is open").height as usize;
        self.stack.truncate(height.min(self.stack.len()));
    }

    fn push_frame(&mut self, kind: FrameKind, ty: BlockType) {
        let (params, results) = self.env.block_arity(ty);
        self.materialize_all();
        let height = self.height() - params;
        self.frames.push(ControlFrame {
            kind,
            height,
            params,
            results,
            start: self.pc(),
            fixups: Vec::new(),
            else_fixup: None,
        });
    }

    fn reset_stack(&mut self, height: u32, temps: u32) {
        self.stack.truncate(height as usize);
        for _ in 0..temps {
            self.push_temp();
        }
    }

    fn translate_else(&mut self) {
        let index = self.frames.len() - 1;
        if self.reachable {
            let results = self.frames[index].results;
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
        let (height, params) = (frame.height, frame.params);
        self.reset_stack(height, params);
        self.reachable = true;
        self.begin_metering(false);
    }

    fn translate_end(&mut self) {
        let frame = self
            .frames
            .last()
            .expect("validated: end closes an open frame");
        if frame.kind == FrameKind::Func {
            if self.reachable {
                self.emit_return();
            }
            self.frames.pop();
            return;
        }
        if self.reachable {
            let results = frame.results;
            self.materialize_top(results);
        }
        let frame = self.frames.pop().expect("checked above");
        let pc = self.pc();
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
        self.reset_stack(frame.height, frame.results);
        self.reachable = true;
        self.begin_metering(false);
    }

    fn translate_br_table(&mut self, targets: &wasmparser::BrTable<'_>) -> Result<()> {
        let index = self.pop_slot();
        let mut depths = Vec::with_capacity(targets.len() as usize + 1);
        for depth in targets.targets() {
            depths.push(depth.map_err(Error::invalid)?);
        }
        depths.push(targets.default());
        self.emit(Instr::BrTable {
            index,
            len: targets.len(),
        });
        let table_start = self.code.len();
        let mut stubs = Vec::new();
        for (entry, depth) in depths.iter().enumerate() {
            if self.branch_is_direct(*depth) {
                let frame_index = self.frames.len() - 1 - *depth as usize;
                self.emit_jump(frame_index);
            } else {
                self.emit(Instr::Br { target: 0 });
                stubs.push((table_start + entry, *depth));
            }
        }
        for (entry, depth) in stubs {
            let pc = self.pc();
            self.patch(entry, pc);
            self.emit_branch(depth);
        }
        self.enter_dead_code();
        Ok(())
    }

    fn translate_br_if(&mut self, depth: u32) {
        let cond = self.pop_slot();
        if self.branch_is_direct(depth) {
            self.emit_conditional_jump(depth, Instr::BrIfNez { cond, target: 0 });
        } else {
            let skip = self.emit(Instr::BrIfEqz { cond, target: 0 });
            self.emit_branch(depth);
            let pc = self.pc();
            self.patch(skip, pc);
            self.bind_label();
        }
    }

    fn translate_br_on_null(&mut self, depth: u32) {
        let position = self.height() - 1;
        let operand = self.stack[position as usize];
        let src = self.pop_slot();
        if self.branch_is_direct(depth) {
            self.emit_conditional_jump(depth, Instr::BrOnNull { src, target: 0 });
        } else {
            let skip = self.emit(Instr::BrOnNonNull { src, target: 0 });
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
        let position = self.height() - 1;
        if matches!(self.stack[position as usize], Operand::Const(_)) {
            self.materialize(position);
        }
        let src = match self.stack[position as usize] {
            Operand::Local(index) => index,
            _ => self.canonical(position),
        };
        if self.branch_is_direct(depth) {
            self.emit_conditional_jump(depth, Instr::BrOnNonNull { src, target: 0 });
        } else {
            let skip = self.emit(Instr::BrOnNull { src, target: 0 });
            self.emit_branch(depth);
            let pc = self.pc();
            self.patch(skip, pc);
            self.bind_label();
        }
        self.stack.pop();
    }

    fn translate_local_set(&mut self, local: u32, tee: bool) {
        let position = self.height() - 1;
        // Values on the stack that still read this local must be saved before it changes.
        for p in 0..position {
            if self.stack[p as usize] == Operand::Local(local) {
                self.materialize(p);
            }
        }
        match self.stack[position as usize] {
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
                    self.emit(Instr::Copy { dst: local, src });
                }
            }
            Operand::Local(src) => {
                if src != local {
                    self.emit(Instr::Copy { dst: local, src });
                }
            }
            Operand::Const(value) => self.emit_const(local, value),
        }
        self.last_result = None;
        self.stack.pop();
        if tee {
            self.push(Operand::Local(local));
        }
    }

    fn translate_call(&mut self, func: u32, tail: bool) {
        let (params, results) = self
            .env
            .signature_arity(self.env.func_type_ids[func as usize]);
        let base = self.pop_span(params);
        if tail {
            self.emit(Instr::ReturnCall { func, base });
            self.enter_dead_code();
        } else {
            self.emit(Instr::Call { func, base });
            for _ in 0..results {
                self.push_temp();
            }
        }
    }

    fn translate_call_indirect(&mut self, type_index: u32, table: u32, tail: bool) {
        let (params, results) = self.env.type_arity(type_index);
        let index = self.pop_slot();
        let base = self.pop_span(params);
        self.env.call_sites.push((type_index, table));
        let site = (self.env.call_sites.len() - 1) as u32;
        if tail {
            self.emit(Instr::ReturnCallIndirect { index, base, site });
            self.enter_dead_code();
        } else {
            self.emit(Instr::CallIndirect { index, base, site });
            for _ in 0..results {
                self.push_temp();
            }
        }
    }

    fn translate_call_ref(&mut self, type_index: u32, tail: bool) {
        let (params, results) = self.env.type_arity(type_index);
        let func = self.pop_slot();
        let base = self.pop_span(params);
        if tail {
            self.emit(Instr::ReturnCallRef { func, base });
            self.enter_dead_code();
        } else {
            self.emit(Instr::CallRef { func, base });
            for _ in 0..results {
                self.push_temp();
            }
        }
    }

    /// Translates one validated operator.
    pub fn translate(&mut self, op: &Operator<'_>, offset: u64) -> Result<()> {
        self.offset = offset as u32;
        if !self.reachable {
            match op {
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    self.dead_depth += 1;
                }
                Operator::Else if self.dead_depth == 0 => self.translate_else(),
                Operator::End if self.dead_depth == 0 => self.translate_end(),
                Operator::End => self.dead_depth -= 1,
                _ => {}
            }
            return Ok(());
        }
        self.charge_operator();
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
                let cond = self.pop_slot();
                self.push_frame(FrameKind::If, *blockty);
                let at = self.emit(Instr::BrIfEqz { cond, target: 0 });
                self.frames.last_mut().expect("just pushed").else_fixup = Some(at);
            }
            O::Else => self.translate_else(),
            O::End => self.translate_end(),
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
                self.stack.pop();
            }
            O::Select | O::TypedSelect { .. } => self.translate_select(),
            O::TypedSelectMulti { tys } if tys.len() == 1 => self.translate_select(),
            O::LocalGet { local_index } => self.push(Operand::Local(*local_index)),
            O::LocalSet { local_index } => self.translate_local_set(*local_index, false),
            O::LocalTee { local_index } => self.translate_local_set(*local_index, true),
            O::GlobalGet { global_index } => {
                let dst = self.push_temp();
                self.emit_result(Instr::GlobalGet {
                    dst,
                    global: *global_index,
                });
            }
            O::GlobalSet { global_index } => {
                let src = self.pop_slot();
                self.emit(Instr::GlobalSet {
                    src,
                    global: *global_index,
                });
            }
            O::I32Const { value } => self.push(Operand::Const(*value as u32 as u64)),
            O::I64Const { value } => self.push(Operand::Const(*value as u64)),
            O::F32Const { value } => self.push(Operand::Const(value.bits() as u64)),
            O::F64Const { value } => self.push(Operand::Const(value.bits())),
            O::RefNull { .. } => self.push(Operand::Const(0)),
            O::RefIsNull => self.unary(ctor::RefIsNull),
            O::RefFunc { function_index } => {
                let dst = self.push_temp();
                self.emit_result(Instr::RefFunc {
                    dst,
                    func: *function_index,
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
            _ => return self.translate_simple(op),
        }
        Ok(())
    }

    fn translate_select(&mut self) {
        let cond = self.pop_slot();
        let other = self.pop_slot();
        let position = self.height() - 1;
        self.materialize(position);
        let dst = self.canonical(position);
        self.emit(Instr::SelectElse { dst, other, cond });
    }

    /// Numeric operators and memory accesses: one table from operator to instruction.
    fn translate_simple(&mut self, op: &Operator<'_>) -> Result<()> {
        use Operator as O;
        macro_rules! simple {
            (
                binary: [$($bop:ident),* $(,)?]
                unary: [$($uop:ident),* $(,)?]
                load: [$($lop:ident => $lfast:ident / $lext:ident),* $(,)?]
                store: [$($sop:ident => $sfast:ident / $sext:ident),* $(,)?]
            ) => {
                match op {
                    $(O::$bop => self.binary(ctor::$bop),)*
                    $(O::$uop => self.unary(ctor::$uop),)*
                    $(O::$lop { memarg } => self.load(memarg, (ctor::$lfast, ctor::$lext))?,)*
                    $(O::$sop { memarg } => self.store(memarg, (ctor::$sfast, ctor::$sext))?,)*
                    other => {
                        let name = format!("{other:?}");
                        let name = name.split([' ', '{', '(']).next().unwrap_or("operator");
                        return Err(self.unsupported(&format!("instruction `{name}` is not supported yet")));
                    }
                }
            };
        }
        simple! {
            binary: [
                I32Eq, I32Ne, I32LtS, I32LtU, I32GtS, I32GtU, I32LeS, I32LeU, I32GeS, I32GeU,
                I64Eq, I64Ne, I64LtS, I64LtU, I64GtS, I64GtU, I64LeS, I64LeU, I64GeS, I64GeU,
                F32Eq, F32Ne, F32Lt, F32Gt, F32Le, F32Ge,
                F64Eq, F64Ne, F64Lt, F64Gt, F64Le, F64Ge,
                I32Add, I32Sub, I32Mul, I32DivS, I32DivU, I32RemS, I32RemU,
                I32And, I32Or, I32Xor, I32Shl, I32ShrS, I32ShrU, I32Rotl, I32Rotr,
                I64Add, I64Sub, I64Mul, I64DivS, I64DivU, I64RemS, I64RemU,
                I64And, I64Or, I64Xor, I64Shl, I64ShrS, I64ShrU, I64Rotl, I64Rotr,
                F32Add, F32Sub, F32Mul, F32Div, F32Min, F32Max, F32Copysign,
                F64Add, F64Sub, F64Mul, F64Div, F64Min, F64Max, F64Copysign,
            ]
            unary: [
                I32Eqz, I64Eqz,
                I32Clz, I32Ctz, I32Popcnt, I64Clz, I64Ctz, I64Popcnt,
                F32Abs, F32Neg, F32Ceil, F32Floor, F32Trunc, F32Nearest, F32Sqrt,
                F64Abs, F64Neg, F64Ceil, F64Floor, F64Trunc, F64Nearest, F64Sqrt,
                I32WrapI64, I32TruncF32S, I32TruncF32U, I32TruncF64S, I32TruncF64U,
                I64ExtendI32S, I64ExtendI32U, I64TruncF32S, I64TruncF32U, I64TruncF64S, I64TruncF64U,
                F32ConvertI32S, F32ConvertI32U, F32ConvertI64S, F32ConvertI64U, F32DemoteF64,
                F64ConvertI32S, F64ConvertI32U, F64ConvertI64S, F64ConvertI64U, F64PromoteF32,
                I32Extend8S, I32Extend16S, I64Extend8S, I64Extend16S, I64Extend32S,
                I32TruncSatF32S, I32TruncSatF32U, I32TruncSatF64S, I32TruncSatF64U,
                I64TruncSatF32S, I64TruncSatF32U, I64TruncSatF64S, I64TruncSatF64U,
            ]
            load: [
                I32Load => I32Load / I32LoadX, I64Load => I64Load / I64LoadX,
                F32Load => F32Load / F32LoadX, F64Load => F64Load / F64LoadX,
                I32Load8S => I32Load8S / I32Load8SX, I32Load8U => I32Load8U / I32Load8UX,
                I32Load16S => I32Load16S / I32Load16SX, I32Load16U => I32Load16U / I32Load16UX,
                I64Load8S => I64Load8S / I64Load8SX, I64Load8U => I64Load8U / I64Load8UX,
                I64Load16S => I64Load16S / I64Load16SX, I64Load16U => I64Load16U / I64Load16UX,
                I64Load32S => I64Load32S / I64Load32SX, I64Load32U => I64Load32U / I64Load32UX,
            ]
            store: [
                I32Store => I32Store / I32StoreX, I64Store => I64Store / I64StoreX,
                F32Store => F32Store / F32StoreX, F64Store => F64Store / F64StoreX,
                I32Store8 => I32Store8 / I32Store8X, I32Store16 => I32Store16 / I32Store16X,
                I64Store8 => I64Store8 / I64Store8X, I64Store16 => I64Store16 / I64Store16X,
                I64Store32 => I64Store32 / I64Store32X,
            ]
        }
        Ok(())
    }
}
