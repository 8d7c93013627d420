//! ward's interpreter instruction set: one enum, read by the translator (encode), the executor
//! (dispatch) and `Debug` (disassembly).
//!
//! Operands are frame-relative [`Slot`]s: a function's locals come first, then one slot per operand-stack
//! position (its "canonical" slot). Values are untyped 64-bit words; an `i32` is kept zero-extended so a
//! slot read as an address serves 32- and 64-bit memories alike. Branch targets are absolute instruction
//! indices inside the function. Every instruction fits in 16 bytes; rarely used wide immediates live in
//! side tables of the compiled module ([`MemArgIndex`], [`CallSiteIndex`]).

/// A frame-relative value slot.
pub type Slot = u32;
/// An absolute instruction index within one function.
pub type Target = u32;
/// Index into the module's table of (memory, offset) pairs for memory instructions that do not use
/// memory 0 with a 32-bit offset.
pub type MemArgIndex = u32;
/// Index into the module's table of indirect call sites (type index, table index).
pub type CallSiteIndex = u32;

macro_rules! define_instr {
    (
        binary: [$($bin:ident),* $(,)?]
        unary: [$($un:ident),* $(,)?]
        load: [$($ld:ident / $ldx:ident),* $(,)?]
        store: [$($st:ident / $stx:ident),* $(,)?]
        other: { $($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty),* $(,)? }),* $(,)? }
    ) => {
        /// One interpreter instruction.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub enum Instr {
            $(
                #[allow(missing_docs)]
                $bin { dst: Slot, a: Slot, b: Slot },
            )*
            $(
                #[allow(missing_docs)]
                $un { dst: Slot, src: Slot },
            )*
            $(
                /// Load from memory 0 at `slot[addr] + offset`.
                $ld { dst: Slot, addr: Slot, offset: u32 },
                /// Load through a side-table memarg (other memory or 64-bit offset).
                $ldx { dst: Slot, addr: Slot, memarg: MemArgIndex },
            )*
            $(
                /// Store `slot[value]` to memory 0 at `slot[addr] + offset`.
                $st { addr: Slot, value: Slot, offset: u32 },
                /// Store through a side-table memarg.
                $stx { addr: Slot, value: Slot, memarg: MemArgIndex },
            )*
            $(
                $(#[$doc])*
                $name { $($field: $ty),* },
            )*
        }

        /// Builders that let the translator name an operator's instruction without repeating the list.
        pub(crate) type BinaryCtor = fn(Slot, Slot, Slot) -> Instr;
        pub(crate) type UnaryCtor = fn(Slot, Slot) -> Instr;
        pub(crate) type LoadCtor = (fn(Slot, Slot, u32) -> Instr, fn(Slot, Slot, MemArgIndex) -> Instr);
        pub(crate) type StoreCtor = (fn(Slot, Slot, u32) -> Instr, fn(Slot, Slot, MemArgIndex) -> Instr);

        #[allow(non_snake_case, dead_code)]
        pub(crate) mod ctor {
            use super::*;
            $(pub(crate) fn $bin(dst: Slot, a: Slot, b: Slot) -> Instr { Instr::$bin { dst, a, b } })*
            $(pub(crate) fn $un(dst: Slot, src: Slot) -> Instr { Instr::$un { dst, src } })*
            $(
                pub(crate) fn $ld(dst: Slot, addr: Slot, offset: u32) -> Instr { Instr::$ld { dst, addr, offset } }
                pub(crate) fn $ldx(dst: Slot, addr: Slot, memarg: MemArgIndex) -> Instr { Instr::$ldx { dst, addr, memarg } }
            )*
            $(
                pub(crate) fn $st(addr: Slot, value: Slot, offset: u32) -> Instr { Instr::$st { addr, value, offset } }
                pub(crate) fn $stx(addr: Slot, value: Slot, memarg: MemArgIndex) -> Instr { Instr::$stx { addr, value, memarg } }
            )*
        }

        impl Instr {
            /// The slot this instruction writes its single result to, for result retargeting.
            pub(crate) fn result_slot_mut(&mut self) -> Option<&mut Slot> {
                match self {
                    $(Instr::$bin { dst, .. } => Some(dst),)*
                    $(Instr::$un { dst, .. } => Some(dst),)*
                    $(Instr::$ld { dst, .. } | Instr::$ldx { dst, .. } => Some(dst),)*
                    Instr::Copy { dst, .. }
                    | Instr::Const32 { dst, .. }
                    | Instr::Const64 { dst, .. }
                    | Instr::GlobalGet { dst, .. }
                    | Instr::MemorySize { dst, .. }
                    | Instr::TableGet { dst, .. }
                    | Instr::TableSize { dst, .. }
                    | Instr::RefFunc { dst, .. } => Some(dst),
                    _ => None,
                }
            }
        }
    };
}

define_instr! {
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
        RefIsNull,
    ]
    load: [
        I32Load / I32LoadX, I64Load / I64LoadX, F32Load / F32LoadX, F64Load / F64LoadX,
        I32Load8S / I32Load8SX, I32Load8U / I32Load8UX, I32Load16S / I32Load16SX, I32Load16U / I32Load16UX,
        I64Load8S / I64Load8SX, I64Load8U / I64Load8UX, I64Load16S / I64Load16SX, I64Load16U / I64Load16UX,
        I64Load32S / I64Load32SX, I64Load32U / I64Load32UX,
    ]
    store: [
        I32Store / I32StoreX, I64Store / I64StoreX, F32Store / F32StoreX, F64Store / F64StoreX,
        I32Store8 / I32Store8X, I32Store16 / I32Store16X,
        I64Store8 / I64Store8X, I64Store16 / I64Store16X, I64Store32 / I64Store32X,
    ]
    other: {
        /// Trap with `unreachable`.
        Unreachable {},
        /// Charge `amount` fuel for the straight-line code that follows; trap when fuel runs out.
        ConsumeFuel { amount: u32 },
        /// Trap if the epoch deadline passed or the store was interrupted.
        CheckInterrupt {},
        /// `slot[dst] = slot[src]`.
        Copy { dst: Slot, src: Slot },
        /// `slot[dst] = value` (zero-extended 32-bit constant).
        Const32 { dst: Slot, value: u32 },
        /// `slot[dst] = value`.
        Const64 { dst: Slot, value: u64 },
        /// `if slot[cond] == 0 { slot[dst] = slot[other] }`: `select` with the first operand already in `dst`.
        SelectElse { dst: Slot, other: Slot, cond: Slot },
        /// Jump.
        Br { target: Target },
        /// Jump if `slot[cond] != 0`.
        BrIfNez { cond: Slot, target: Target },
        /// Jump if `slot[cond] == 0`.
        BrIfEqz { cond: Slot, target: Target },
        /// Jump to entry `min(slot[index], len)` of the `len + 1` `Br` instructions that follow.
        BrTable { index: Slot, len: u32 },
        /// Jump if the reference in `slot[src]` is null.
        BrOnNull { src: Slot, target: Target },
        /// Jump if the reference in `slot[src]` is not null.
        BrOnNonNull { src: Slot, target: Target },
        /// Return with no results.
        Return {},
        /// Return one result from `slot[src]`.
        ReturnOne { src: Slot },
        /// Return `len` results from `src..`.
        ReturnSpan { src: Slot, len: u32 },
        /// Call function `func` (module index); arguments at `base..`, the callee's frame starts at `base`.
        Call { func: u32, base: Slot },
        /// Call through a table; the table index operand sits right after the arguments.
        CallIndirect { index: Slot, base: Slot, site: CallSiteIndex },
        /// Call the function reference in `slot[func]`.
        CallRef { func: Slot, base: Slot },
        /// Tail call: arguments at `base..`.
        ReturnCall { func: u32, base: Slot },
        /// Tail call through a table.
        ReturnCallIndirect { index: Slot, base: Slot, site: CallSiteIndex },
        /// Tail call of a function reference.
        ReturnCallRef { func: Slot, base: Slot },
        /// `slot[dst] = globals[global]`.
        GlobalGet { dst: Slot, global: u32 },
        /// `globals[global] = slot[src]`.
        GlobalSet { src: Slot, global: u32 },
        /// `slot[dst] = memory.size`.
        MemorySize { dst: Slot, memory: u32 },
        /// `slot[dst] = memory.grow(slot[delta])`.
        MemoryGrow { dst: Slot, delta: Slot, memory: u32 },
        /// `memory.fill(base[0] = dst, base[1] = value, base[2] = len)`.
        MemoryFill { memory: u32, base: Slot },
        /// `memory.copy(base[0] = dst, base[1] = src, base[2] = len)`.
        MemoryCopy { dst_memory: u32, src_memory: u32, base: Slot },
        /// `memory.init(base[0] = dst, base[1] = src, base[2] = len)`.
        MemoryInit { memory: u32, data: u32, base: Slot },
        /// `data.drop`.
        DataDrop { data: u32 },
        /// `slot[dst] = table[slot[index]]`.
        TableGet { dst: Slot, index: Slot, table: u32 },
        /// `table[base[0]] = base[1]`.
        TableSet { table: u32, base: Slot },
        /// `slot[dst] = table.size`.
        TableSize { dst: Slot, table: u32 },
        /// `base[0] = table.grow(init = base[0], delta = base[1])`.
        TableGrow { table: u32, base: Slot },
        /// `table.fill(base[0] = index, base[1] = value, base[2] = len)`.
        TableFill { table: u32, base: Slot },
        /// `table.copy(base[0] = dst, base[1] = src, base[2] = len)`.
        TableCopy { dst_table: u32, src_table: u32, base: Slot },
        /// `table.init(base[0] = dst, base[1] = src, base[2] = len)`.
        TableInit { table: u32, elem: u32, base: Slot },
        /// `elem.drop`.
        ElemDrop { elem: u32 },
        /// `slot[dst] = ref.func func` (module index).
        RefFunc { dst: Slot, func: u32 },
        /// Trap if `slot[src]` is null.
        RefAsNonNull { src: Slot },
    }
}

const _: () = assert!(std::mem::size_of::<Instr>() <= 16);
