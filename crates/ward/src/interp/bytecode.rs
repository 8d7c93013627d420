//! ward's interpreter instruction set: one enum, read by the translator (encode), the executor
//! (dispatch) and `Debug` (disassembly).
//!
//! Operands are frame-relative [`Slot`]s: a function's locals come first, then one slot per operand-stack
//! position (its "canonical" slot). Values are untyped 64-bit words; an `i32` is kept zero-extended so a
//! slot read as an address serves 32- and 64-bit memories alike. Branch targets are absolute instruction
//! indices inside the function. Every instruction fits in 16 bytes; rarely used wide immediates live in
//! side tables of the compiled function ([`MemArgIndex`], [`CallSiteIndex`], [`V128ConstIndex`]).
//!
//! A `v128` value takes two consecutive slots (low 64 bits first); its instructions name the first.
//! The SIMD operators are grouped by shape (binary, unary, shift, …) into small op enums declared once
//! below by [`define_simd_ops!`]; each shape is one [`Instr`] variant carrying its op, and `interp::simd`
//! holds the lane arithmetic. This keeps the main dispatch at one arm per shape and every instruction
//! within 16 bytes.

/// A frame-relative value slot: the index of a 64-bit word from the start of the function's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct Slot(pub u32);

impl Slot {
    /// The slot's index in the frame.
    #[inline(always)]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::ops::Add<u32> for Slot {
    type Output = Slot;
    #[inline(always)]
    fn add(self, n: u32) -> Slot {
        Slot(self.0 + n)
    }
}

impl std::ops::AddAssign<u32> for Slot {
    #[inline(always)]
    fn add_assign(&mut self, n: u32) {
        self.0 += n;
    }
}

/// The distance from one slot up to another, in slots.
impl std::ops::Sub for Slot {
    type Output = u32;
    #[inline(always)]
    fn sub(self, from: Slot) -> u32 {
        self.0 - from.0
    }
}

/// The slot a fused instruction's 16-bit operand names.
impl From<PairSlot> for Slot {
    #[inline(always)]
    fn from(slot: PairSlot) -> Slot {
        Slot(slot as u32)
    }
}

/// A slot as the 16-bit operand of a fused instruction, if it fits.
impl TryFrom<Slot> for PairSlot {
    type Error = std::num::TryFromIntError;
    fn try_from(slot: Slot) -> Result<PairSlot, Self::Error> {
        PairSlot::try_from(slot.0)
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
/// An absolute instruction index within one function: what the translator binds labels to, and
/// what exception-handler tables and return addresses hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pc(pub u32);

/// A function index of the module (imported functions first), as `call` and `ref.func` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FuncIndex(pub u32);

impl std::fmt::Display for FuncIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The side-table index types: what `index()` of each reads.
macro_rules! side_table_indices {
    ($($name:ident),*) => {$(
        impl $name {
            /// The entry's position in its side table.
            #[inline(always)]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

side_table_indices!(
    MemArgIndex,
    CallSiteIndex,
    AtomicSiteIndex,
    GcSiteIndex,
    CastIndex,
    V128ConstIndex
);

/// A branch target as an instruction's operand: the offset from the branch to the instruction it
/// jumps to (negative for loops). Relative, so that the executor needs no register for the start
/// of the function's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BranchOffset(pub i32);

impl BranchOffset {
    /// The offset of a branch at index `at` to the instruction at `target`.
    pub fn between(at: usize, target: Pc) -> BranchOffset {
        BranchOffset((target.0 as i64 - at as i64) as i32)
    }

    /// The absolute index a branch at `at` jumps to.
    pub fn target_of(self, at: usize) -> i64 {
        at as i64 + self.0 as i64
    }
}
/// Index into the function's table of (memory, offset) pairs for memory instructions that do not use
/// memory 0 with a 32-bit offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemArgIndex(pub u32);
/// Index into the function's table of indirect call sites (type index, table index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallSiteIndex(pub u32);
/// Index into the function's table of atomic and shared-memory access sites ([`AtomicSite`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AtomicSiteIndex(pub u32);

/// Index into the function's table of GC instruction sites ([`GcSite`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GcSiteIndex(pub u32);
/// Index into the function's table of cast target types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CastIndex(pub u32);
/// A slot operand of a fused pair instruction (slots below 65,536; the translator fuses only those).
pub type PairSlot = u16;
/// Index into the function's table of 128-bit immediates (`v128.const` values and shuffle masks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct V128ConstIndex(pub u32);

/// The type of an operand of kind `$kind` (see [`define_instr!`]).
macro_rules! operand_type {
    (ret) => {
        Slot
    };
    (out) => {
        Slot
    };
    (slot) => {
        Slot
    };
    (pair) => {
        PairSlot
    };
    (pair_out) => {
        PairSlot
    };
    (target) => {
        BranchOffset
    };
    (imm($t:ty)) => {
        $t
    };
    (index($t:ty)) => {
        $t
    };
    (side($t:ty)) => {
        $t
    };
    (op($t:ty)) => {
        $t
    };
}

/// `return Some(field)` from an accessor if the operand is of the kind the accessor looks for.
macro_rules! operand_if {
    (ret, ret, $f:ident) => {
        return Some($f)
    };
    (target, target, $f:ident) => {
        return Some($f)
    };
    ($want:ident, $kind:ident $(($t:ty))?, $f:ident) => {
        let _ = $f;
    };
}

/// Writes one operand for the disassembler: slots as `s12`, branch targets as the absolute
/// instruction index `@34` (the field holds an offset from the branch at `$at`), the rest as numbers
/// or op names.
macro_rules! operand_fmt {
    ($out:ident, $at:ident, target, $f:ident) => {
        write!($out, " {}=@{}", stringify!($f), $f.target_of($at))
    };
    ($out:ident, $at:ident, ret, $f:ident) => {
        write!($out, " {}=s{}", stringify!($f), $f)
    };
    ($out:ident, $at:ident, out, $f:ident) => {
        write!($out, " {}=s{}", stringify!($f), $f)
    };
    ($out:ident, $at:ident, slot, $f:ident) => {
        write!($out, " {}=s{}", stringify!($f), $f)
    };
    ($out:ident, $at:ident, pair, $f:ident) => {
        write!($out, " {}=s{}", stringify!($f), $f)
    };
    ($out:ident, $at:ident, pair_out, $f:ident) => {
        write!($out, " {}=s{}", stringify!($f), $f)
    };
    ($out:ident, $at:ident, side($t:ty), $f:ident) => {
        write!($out, " {}=#{}", stringify!($f), $f)
    };
    ($out:ident, $at:ident, index($t:ty), $f:ident) => {
        write!($out, " {}={}", stringify!($f), $f)
    };
    ($out:ident, $at:ident, imm($t:ty), $f:ident) => {
        write!($out, " {}={}", stringify!($f), $f)
    };
    ($out:ident, $at:ident, op($t:ty), $f:ident) => {
        write!($out, " {}={:?}", stringify!($f), $f)
    };
}

/// The instruction table: every instruction is declared here once, and everything else about it is
/// generated from that declaration.
///
/// Instructions of a common shape are listed by name in a group whose shape fixes their operands
/// (`binary` is `{ dst: ret, a: slot, b: slot }`, …); the rest (`other`) list their operands with
/// a kind each:
///
/// | kind | type | meaning |
/// |---|---|---|
/// | `ret` | [`Slot`] | the single result, written after every input is read: the translator may retarget it |
/// | `out` | [`Slot`] | a slot written (not retargetable) |
/// | `slot` | [`Slot`] | a slot read (or the first of a span, `base`) |
/// | `pair` / `pair_out` | [`PairSlot`] | a slot below 65,536 of a fused instruction, read / written |
/// | `target` | [`BranchOffset`] | a branch target |
/// | `imm(T)` | `T` | an immediate |
/// | `index(T)` | `T` | a module index (function, global, memory, table, segment, tag) |
/// | `side(T)` | `T` | an index into the function's side tables |
/// | `op(T)` | `T` | a sub-operation (the op of a SIMD or GC shape) |
///
/// Generated from the table:
/// - the [`Instr`] enum and, for the groups, constructors (`ctor::*`);
/// - the accessors [`Instr::result_slot_mut`] and [`Instr::branch_target_mut`];
/// - [`Instr::name`] and the disassembler [`Instr::display_at`];
/// - the 1:1 part of the translator: [`binary_of`], [`binary_imm_of`], [`simd_binary_of`],
///   [`unary_of`], [`load_of`] and [`store_of`], from Wasm operators named like the instruction
///   (the group entries `X = Y` name the Wasm operator `Y` an instruction `X` stands for);
/// - [`InstrTable`], a trait with one associated item per instruction: an executor implements it to
///   build its handler table ([`handler_table`]), so an instruction without a handler does not
///   compile.
macro_rules! define_instr {
    (
        binary: [$($bin:ident),* $(,)?]
        simd_binary: [$($sb:ident = $sbop:ident),* $(,)?]
        binary_imm: [$($bi:ident = $biop:ident : $bibits:literal),* $(,)?]
        branch_cmp: [$($bc:ident),* $(,)?]
        branch_cmp_imm: [$($bci:ident),* $(,)?]
        unary: [$($un:ident),* $(,)?]
        load: [$($ld:ident / $ldx:ident),* $(,)?]
        store: [$($st:ident / $stx:ident / $stimm:ident : $stbits:literal),* $(,)?]
        pair: [$($pair:ident),* $(,)?]
        other: {
            $(
                $(#[$doc:meta])*
                $name:ident { $($field:ident : $kind:ident $(($kty:ty))?),* $(,)? }
            ),* $(,)?
        }
    ) => {
        /// One interpreter instruction.
        ///
        /// `repr(u16)` fixes the layout: a `u16` tag (the variant's declaration index) followed by the
        /// fields, so the threaded executor (`interp::fast`) can read the tag to index its handler table.
        #[derive(Debug, Clone, Copy, PartialEq)]
        #[repr(u16)]
        pub enum Instr {
            $(
                /// `slot[dst] = slot[a] op slot[b]` (the Wasm operator of the same name).
                $bin { dst: Slot, a: Slot, b: Slot },
            )*
            $(
                /// `slot[dst..+2] = slot[a..+2] op slot[b..+2]`: a common `v128` operator with its
                /// own instruction (no second dispatch on a [`V128BinaryOp`]).
                $sb { dst: Slot, a: Slot, b: Slot },
            )*
            $(
                /// `slot[dst] = slot[a] op imm` (an `i64` op sign-extends `imm`).
                $bi { dst: Slot, a: Slot, imm: u32 },
            )*
            $(
                /// Jump to `target` if `slot[a] cmp slot[b]` (fused compare and branch).
                $bc { a: Slot, b: Slot, target: BranchOffset },
            )*
            $(
                /// Jump to `target` if `slot[a] cmp imm` (an `i64` compare sign-extends `imm`).
                $bci { a: Slot, imm: u32, target: BranchOffset },
            )*
            $(
                /// `slot[dst] = op slot[src]` (the Wasm operator of the same name).
                $un { dst: Slot, src: Slot },
            )*
            $(
                /// Load `n` bytes from memory 0 at `slot[addr] + end - n`: `end` is the memarg's
                /// offset plus the access width `n` (the translator checks the sum fits), so the
                /// bounds check adds once.
                $ld { dst: Slot, addr: Slot, end: u32 },
                /// Load through a side-table memarg (other memory or 64-bit offset).
                $ldx { dst: Slot, addr: Slot, memarg: MemArgIndex },
            )*
            $(
                /// Store `n` bytes of `slot[value]` to memory 0 at `slot[addr] + end - n` (`end` as
                /// for a load).
                $st { addr: Slot, value: Slot, end: u32 },
                /// Store through a side-table memarg.
                $stx { addr: Slot, value: Slot, memarg: MemArgIndex },
            )*
            $(
                /// Two fused `f64` operators (see [`Instr::f64_pair`]).
                $pair { dst: Slot, a: PairSlot, b: PairSlot, c: PairSlot },
            )*
            $(
                $(#[$doc])*
                $name { $($field: operand_type!($kind $(($kty))?)),* },
            )*
        }

        /// The number of [`Instr`] variants (one more than the largest tag).
        pub(crate) const INSTR_COUNT: usize = [
            $(stringify!($bin),)* $(stringify!($sb),)* $(stringify!($bi),)* $(stringify!($bc),)*
            $(stringify!($bci),)* $(stringify!($un),)* $(stringify!($ld), stringify!($ldx),)*
            $(stringify!($st), stringify!($stx),)* $(stringify!($pair),)* $(stringify!($name),)*
        ].len();

        /// Builders that let the translator name an operator's instruction without repeating the list.
        pub(crate) type BinaryCtor = fn(Slot, Slot, Slot) -> Instr;
        pub(crate) type UnaryCtor = fn(Slot, Slot) -> Instr;
        pub(crate) type BinaryImmCtor = fn(Slot, Slot, u32) -> Instr;
        pub(crate) type LoadCtor = (fn(Slot, Slot, u32) -> Instr, fn(Slot, Slot, MemArgIndex) -> Instr);
        pub(crate) type StoreCtor = (fn(Slot, Slot, u32) -> Instr, fn(Slot, Slot, MemArgIndex) -> Instr);
        /// Builds a store of the constant `imm` to memory 0: `(addr, imm, end)`.
        pub(crate) type StoreImmCtor = fn(Slot, u32, u32) -> Instr;

        #[allow(non_snake_case, dead_code)]
        pub(crate) mod ctor {
            use super::*;
            $(pub(crate) fn $bin(dst: Slot, a: Slot, b: Slot) -> Instr { Instr::$bin { dst, a, b } })*
            $(pub(crate) fn $sb(dst: Slot, a: Slot, b: Slot) -> Instr { Instr::$sb { dst, a, b } })*
            $(pub(crate) fn $bi(dst: Slot, a: Slot, imm: u32) -> Instr { Instr::$bi { dst, a, imm } })*
            $(pub(crate) fn $un(dst: Slot, src: Slot) -> Instr { Instr::$un { dst, src } })*
            $(
                pub(crate) fn $ld(dst: Slot, addr: Slot, end: u32) -> Instr { Instr::$ld { dst, addr, end } }
                pub(crate) fn $ldx(dst: Slot, addr: Slot, memarg: MemArgIndex) -> Instr { Instr::$ldx { dst, addr, memarg } }
            )*
            $(
                pub(crate) fn $st(addr: Slot, value: Slot, end: u32) -> Instr { Instr::$st { addr, value, end } }
                pub(crate) fn $stx(addr: Slot, value: Slot, memarg: MemArgIndex) -> Instr { Instr::$stx { addr, value, memarg } }
            )*
        }

        /// The instruction of a binary Wasm operator (both operands in slots).
        pub(crate) fn binary_of(op: &wasmparser::Operator<'_>) -> Option<BinaryCtor> {
            match op {
                $(wasmparser::Operator::$bin => Some(ctor::$bin),)*
                _ => None,
            }
        }

        /// The register-immediate form of a binary Wasm operator, with its plain form and whether it
        /// is a 64-bit operator (whose immediate must fit a sign-extended `i32`).
        pub(crate) fn binary_imm_of(op: &wasmparser::Operator<'_>) -> Option<(BinaryCtor, BinaryImmCtor, bool)> {
            match op {
                $(wasmparser::Operator::$biop => Some((ctor::$biop, ctor::$bi, $bibits == 64)),)*
                _ => None,
            }
        }

        /// The dedicated instruction of a `v128` binary operator, if it has one.
        pub(crate) fn simd_binary_of(op: V128BinaryOp) -> Option<BinaryCtor> {
            match op {
                $(V128BinaryOp::$sbop => Some(ctor::$sb),)*
                _ => None,
            }
        }

        /// The instruction of a unary Wasm operator.
        pub(crate) fn unary_of(op: &wasmparser::Operator<'_>) -> Option<UnaryCtor> {
            match op {
                $(wasmparser::Operator::$un => Some(ctor::$un),)*
                _ => None,
            }
        }

        /// The instructions of a Wasm load: memory 0 with a 32-bit offset, and through a memarg.
        pub(crate) fn load_of<'a>(op: &'a wasmparser::Operator<'_>) -> Option<(&'a wasmparser::MemArg, LoadCtor)> {
            match op {
                $(wasmparser::Operator::$ld { memarg } => Some((memarg, (ctor::$ld, ctor::$ldx))),)*
                _ => None,
            }
        }

        /// The instructions of a Wasm store, the instruction storing a constant instead, and
        /// whether that constant is a 64-bit one (it must fit a sign-extended `i32`).
        pub(crate) fn store_of<'a>(
            op: &'a wasmparser::Operator<'_>,
        ) -> Option<(&'a wasmparser::MemArg, StoreCtor, StoreImmCtor, bool)> {
            match op {
                $(
                    wasmparser::Operator::$st { memarg } => Some((
                        memarg,
                        (ctor::$st, ctor::$stx),
                        |addr, imm, end| Instr::$stimm { addr, imm, end },
                        $stbits == 64,
                    )),
                )*
                _ => None,
            }
        }

        /// One item per instruction, named like it: an executor implements this trait with its
        /// handler for each instruction, and [`handler_table`] lays them out by tag. An instruction
        /// added to the table without a handler is a compile error ("not all trait items
        /// implemented").
        #[allow(non_upper_case_globals, dead_code)]
        pub(crate) trait InstrTable {
            /// A handler table entry.
            type Entry: Copy;
            $(const $bin: Self::Entry;)*
            $(const $sb: Self::Entry;)*
            $(const $bi: Self::Entry;)*
            $(const $bc: Self::Entry;)*
            $(const $bci: Self::Entry;)*
            $(const $un: Self::Entry;)*
            $(const $ld: Self::Entry; const $ldx: Self::Entry;)*
            $(const $st: Self::Entry; const $stx: Self::Entry;)*
            $(const $pair: Self::Entry;)*
            $(const $name: Self::Entry;)*
        }

        /// The handlers of `T`, indexed by instruction tag.
        pub(crate) const fn handler_table<T: InstrTable>() -> [T::Entry; INSTR_COUNT] {
            [
                $(T::$bin,)* $(T::$sb,)* $(T::$bi,)* $(T::$bc,)* $(T::$bci,)* $(T::$un,)*
                $(T::$ld, T::$ldx,)* $(T::$st, T::$stx,)* $(T::$pair,)* $(T::$name,)*
            ]
        }

        impl Instr {
            /// The slot this instruction writes its single result to, for result retargeting
            /// (operands of kind `ret`).
            #[allow(unreachable_code, unused_variables)]
            pub(crate) fn result_slot_mut(&mut self) -> Option<&mut Slot> {
                match self {
                    $(Instr::$bin { dst, .. })|* => Some(dst),
                    $(Instr::$sb { dst, .. })|* => Some(dst),
                    $(Instr::$bi { dst, .. })|* => Some(dst),
                    $(Instr::$un { dst, .. })|* => Some(dst),
                    $(Instr::$ld { dst, .. } | Instr::$ldx { dst, .. })|* => Some(dst),
                    $(Instr::$pair { dst, .. })|* => Some(dst),
                    $(Instr::$bc { .. })|* | $(Instr::$bci { .. })|* => None,
                    $(Instr::$st { .. } | Instr::$stx { .. })|* => None,
                    $(Instr::$name { $($field),* } => { $(operand_if!(ret, $kind $(($kty))?, $field);)* None })*
                }
            }

            /// The branch target of a branch instruction, for patching (operands of kind `target`).
            #[allow(unreachable_code, unused_variables)]
            pub(crate) fn branch_target_mut(&mut self) -> Option<&mut BranchOffset> {
                match self {
                    $(Instr::$bc { target, .. })|* => Some(target),
                    $(Instr::$bci { target, .. })|* => Some(target),
                    $(Instr::$bin { .. })|* | $(Instr::$sb { .. })|* | $(Instr::$bi { .. })|* => None,
                    $(Instr::$un { .. })|* | $(Instr::$pair { .. })|* => None,
                    $(Instr::$ld { .. } | Instr::$ldx { .. })|* => None,
                    $(Instr::$st { .. } | Instr::$stx { .. })|* => None,
                    $(Instr::$name { $($field),* } => { $(operand_if!(target, $kind $(($kty))?, $field);)* None })*
                }
            }

            /// This instruction with the immediate of a register-immediate form (`binary_imm`) set
            /// to 1: samples for handler tests, whose zeroed immediates would divide by zero.
            #[cfg(test)]
            pub(crate) fn with_unit_immediate(self) -> Instr {
                match self {
                    $(Instr::$bi { dst, a, .. } => Instr::$bi { dst, a, imm: 1 },)*
                    other => other,
                }
            }

            /// The instruction's name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Instr::$bin { .. } => stringify!($bin),)*
                    $(Instr::$sb { .. } => stringify!($sb),)*
                    $(Instr::$bi { .. } => stringify!($bi),)*
                    $(Instr::$bc { .. } => stringify!($bc),)*
                    $(Instr::$bci { .. } => stringify!($bci),)*
                    $(Instr::$un { .. } => stringify!($un),)*
                    $(Instr::$ld { .. } => stringify!($ld), Instr::$ldx { .. } => stringify!($ldx),)*
                    $(Instr::$st { .. } => stringify!($st), Instr::$stx { .. } => stringify!($stx),)*
                    $(Instr::$pair { .. } => stringify!($pair),)*
                    $(Instr::$name { .. } => stringify!($name),)*
                }
            }

            /// Writes this instruction, found at index `at` of its function's finished code, as
            /// `Name operand=value …`: slots `s3`, side-table entries `#2`, branch targets as the
            /// absolute index `@17` they jump to.
            pub fn display_at(&self, at: usize, out: &mut impl std::fmt::Write) -> std::fmt::Result {
                out.write_str(self.name())?;
                match self {
                    $(Instr::$bin { dst, a, b })|* | $(Instr::$sb { dst, a, b })|* => {
                        operand_fmt!(out, at, ret, dst)?;
                        operand_fmt!(out, at, slot, a)?;
                        operand_fmt!(out, at, slot, b)
                    }
                    $(Instr::$bi { dst, a, imm })|* => {
                        operand_fmt!(out, at, ret, dst)?;
                        operand_fmt!(out, at, slot, a)?;
                        operand_fmt!(out, at, imm(u32), imm)
                    }
                    $(Instr::$bc { a, b, target })|* => {
                        operand_fmt!(out, at, slot, a)?;
                        operand_fmt!(out, at, slot, b)?;
                        operand_fmt!(out, at, target, target)
                    }
                    $(Instr::$bci { a, imm, target })|* => {
                        operand_fmt!(out, at, slot, a)?;
                        operand_fmt!(out, at, imm(u32), imm)?;
                        operand_fmt!(out, at, target, target)
                    }
                    $(Instr::$un { dst, src })|* => {
                        operand_fmt!(out, at, ret, dst)?;
                        operand_fmt!(out, at, slot, src)
                    }
                    $(Instr::$ld { dst, addr, end })|* => {
                        operand_fmt!(out, at, ret, dst)?;
                        operand_fmt!(out, at, slot, addr)?;
                        operand_fmt!(out, at, imm(u32), end)
                    }
                    $(Instr::$ldx { dst, addr, memarg })|* => {
                        operand_fmt!(out, at, ret, dst)?;
                        operand_fmt!(out, at, slot, addr)?;
                        operand_fmt!(out, at, side(u32), memarg)
                    }
                    $(Instr::$st { addr, value, end })|* => {
                        operand_fmt!(out, at, slot, addr)?;
                        operand_fmt!(out, at, slot, value)?;
                        operand_fmt!(out, at, imm(u32), end)
                    }
                    $(Instr::$stx { addr, value, memarg })|* => {
                        operand_fmt!(out, at, slot, addr)?;
                        operand_fmt!(out, at, slot, value)?;
                        operand_fmt!(out, at, side(u32), memarg)
                    }
                    $(Instr::$pair { dst, a, b, c })|* => {
                        operand_fmt!(out, at, ret, dst)?;
                        operand_fmt!(out, at, pair, a)?;
                        operand_fmt!(out, at, pair, b)?;
                        operand_fmt!(out, at, pair, c)
                    }
                    $(
                        #[allow(unused_variables)]
                        Instr::$name { $($field),* } => {
                            $(operand_fmt!(out, at, $kind $(($kty))?, $field)?;)*
                            Ok(())
                        }
                    )*
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
        RefEq,
    ]
    // The most common `v128` binary operators get their own instructions (operands name the first
    // of two slots), saving `V128Binary`'s second dispatch on its op: 2.9x slower than wasmi on
    // the `simd` benchmark before.
    simd_binary: [
        SimdV128And = V128And, SimdV128Or = V128Or, SimdV128Xor = V128Xor,
        SimdI32x4Add = I32x4Add, SimdI32x4Sub = I32x4Sub,
        SimdF32x4Add = F32x4Add, SimdF32x4Sub = F32x4Sub, SimdF32x4Mul = F32x4Mul,
        SimdF64x2Add = F64x2Add, SimdF64x2Sub = F64x2Sub, SimdF64x2Mul = F64x2Mul,
    ]
    // Register-immediate forms of the operators whose constant operand is most often an immediate in
    // compiled code (loop counters, masks, shifts, address arithmetic): one dispatch instead of a
    // `Const` plus the operator.
    binary_imm: [
        I32AddImm = I32Add: 32, I32MulImm = I32Mul: 32, I32AndImm = I32And: 32,
        I32OrImm = I32Or: 32, I32XorImm = I32Xor: 32, I32ShlImm = I32Shl: 32,
        I32ShrSImm = I32ShrS: 32, I32ShrUImm = I32ShrU: 32, I32RotlImm = I32Rotl: 32,
        I32RotrImm = I32Rotr: 32, I64RotlImm = I64Rotl: 64, I64RotrImm = I64Rotr: 64,
        I32EqImm = I32Eq: 32, I32NeImm = I32Ne: 32, I32LtSImm = I32LtS: 32, I32LtUImm = I32LtU: 32,
        I32GtSImm = I32GtS: 32, I32GtUImm = I32GtU: 32, I32LeSImm = I32LeS: 32,
        I32LeUImm = I32LeU: 32, I32GeSImm = I32GeS: 32, I32GeUImm = I32GeU: 32,
        I64AddImm = I64Add: 64, I64MulImm = I64Mul: 64, I64AndImm = I64And: 64,
        I64OrImm = I64Or: 64, I64XorImm = I64Xor: 64, I64ShlImm = I64Shl: 64,
        I64ShrSImm = I64ShrS: 64, I64ShrUImm = I64ShrU: 64, I64EqImm = I64Eq: 64,
        I64NeImm = I64Ne: 64, I64LtSImm = I64LtS: 64, I64LtUImm = I64LtU: 64,
        I64GtSImm = I64GtS: 64, I64GtUImm = I64GtU: 64, I64LeSImm = I64LeS: 64,
        I64LeUImm = I64LeU: 64, I64GeSImm = I64GeS: 64, I64GeUImm = I64GeU: 64,
        I32DivUImm = I32DivU: 32, I32RemUImm = I32RemU: 32,
    ]
    // Integer comparisons fused with the `br_if` / `if` that consumes them.
    branch_cmp: [
        BrI32Eq, BrI32Ne, BrI32LtS, BrI32LtU, BrI32GtS, BrI32GtU, BrI32LeS, BrI32LeU, BrI32GeS, BrI32GeU,
        BrI64Eq, BrI64Ne, BrI64LtS, BrI64LtU, BrI64GtS, BrI64GtU, BrI64LeS, BrI64LeU, BrI64GeS, BrI64GeU,
    ]
    branch_cmp_imm: [
        BrI32EqImm, BrI32NeImm, BrI32LtSImm, BrI32LtUImm, BrI32GtSImm, BrI32GtUImm, BrI32LeSImm,
        BrI32LeUImm, BrI32GeSImm, BrI32GeUImm,
        BrI64EqImm, BrI64NeImm, BrI64LtSImm, BrI64LtUImm, BrI64GtSImm, BrI64GtUImm, BrI64LeSImm,
        BrI64LeUImm, BrI64GeSImm, BrI64GeUImm,
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
        RefI31, I31GetS, I31GetU, AnyConvertExtern, ExternConvertAny, ArrayLen,
    ]
    load: [
        I32Load / I32LoadX, I64Load / I64LoadX, F32Load / F32LoadX, F64Load / F64LoadX,
        I32Load8S / I32Load8SX, I32Load8U / I32Load8UX, I32Load16S / I32Load16SX, I32Load16U / I32Load16UX,
        I64Load8S / I64Load8SX, I64Load8U / I64Load8UX, I64Load16S / I64Load16SX, I64Load16U / I64Load16UX,
        I64Load32S / I64Load32SX, I64Load32U / I64Load32UX,
    ]
    // A store, its side-table form, and the store of a constant it becomes when its value is one.
    store: [
        I32Store / I32StoreX / StoreImm32: 32,
        I64Store / I64StoreX / StoreImm64: 64,
        F32Store / F32StoreX / StoreImm32: 32,
        F64Store / F64StoreX / StoreImm64: 64,
        I32Store8 / I32Store8X / StoreImm8: 32,
        I32Store16 / I32Store16X / StoreImm16: 32,
        I64Store8 / I64Store8X / StoreImm8: 32,
        I64Store16 / I64Store16X / StoreImm16: 32,
        I64Store32 / I64Store32X / StoreImm32: 32,
    ]
    // `f64` operator pairs, `t = slot[a] op1 slot[b]` then `slot[dst] = t op2 slot[c]` (`L`) or
    // `slot[c] op2 t` (`R`), for `op1, op2` in add, sub, mul: the value passed between them stays in a
    // register instead of a slot write and read (which put a store-to-load forwarding delay on the
    // critical path of float code such as the `nbody` benchmark), and one dispatch is saved.
    pair: [
        F64AddAddL, F64AddAddR, F64AddSubL, F64AddSubR, F64AddMulL, F64AddMulR,
        F64SubAddL, F64SubAddR, F64SubSubL, F64SubSubR, F64SubMulL, F64SubMulR,
        F64MulAddL, F64MulAddR, F64MulSubL, F64MulSubR, F64MulMulL, F64MulMulR,
    ]
    other: {
        // ----- `i32.add` fused with the compare-and-branch after it (loop counters; operands are
        // slots below 65,536): the sum is written to its slot and compared from a register. -----
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `slot[c]`.
        I32AddBrEq { d: pair_out, a: pair, b: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `slot[c]`.
        I32AddBrNe { d: pair_out, a: pair, b: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `slot[c]`.
        I32AddBrLtS { d: pair_out, a: pair, b: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `slot[c]`.
        I32AddBrLtU { d: pair_out, a: pair, b: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `slot[c]`.
        I32AddBrGtS { d: pair_out, a: pair, b: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `slot[c]`.
        I32AddBrGtU { d: pair_out, a: pair, b: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `slot[c]`.
        I32AddBrLeS { d: pair_out, a: pair, b: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `slot[c]`.
        I32AddBrLeU { d: pair_out, a: pair, b: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `slot[c]`.
        I32AddBrGeS { d: pair_out, a: pair, b: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `slot[c]`.
        I32AddBrGeU { d: pair_out, a: pair, b: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + imm`, then jump if it compares true against `slot[c]`.
        I32AddImmBrEq { d: pair_out, imm: imm(u32), a: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + imm`, then jump if it compares true against `slot[c]`.
        I32AddImmBrNe { d: pair_out, imm: imm(u32), a: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + imm`, then jump if it compares true against `slot[c]`.
        I32AddImmBrLtS { d: pair_out, imm: imm(u32), a: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + imm`, then jump if it compares true against `slot[c]`.
        I32AddImmBrLtU { d: pair_out, imm: imm(u32), a: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + imm`, then jump if it compares true against `slot[c]`.
        I32AddImmBrGtS { d: pair_out, imm: imm(u32), a: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + imm`, then jump if it compares true against `slot[c]`.
        I32AddImmBrGtU { d: pair_out, imm: imm(u32), a: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + imm`, then jump if it compares true against `slot[c]`.
        I32AddImmBrLeS { d: pair_out, imm: imm(u32), a: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + imm`, then jump if it compares true against `slot[c]`.
        I32AddImmBrLeU { d: pair_out, imm: imm(u32), a: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + imm`, then jump if it compares true against `slot[c]`.
        I32AddImmBrGeS { d: pair_out, imm: imm(u32), a: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + imm`, then jump if it compares true against `slot[c]`.
        I32AddImmBrGeU { d: pair_out, imm: imm(u32), a: pair, c: pair, target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `cmp`.
        I32AddBrEqImm { d: pair_out, a: pair, b: pair, cmp: imm(u32), target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `cmp`.
        I32AddBrNeImm { d: pair_out, a: pair, b: pair, cmp: imm(u32), target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `cmp`.
        I32AddBrLtSImm { d: pair_out, a: pair, b: pair, cmp: imm(u32), target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `cmp`.
        I32AddBrLtUImm { d: pair_out, a: pair, b: pair, cmp: imm(u32), target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `cmp`.
        I32AddBrGtSImm { d: pair_out, a: pair, b: pair, cmp: imm(u32), target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `cmp`.
        I32AddBrGtUImm { d: pair_out, a: pair, b: pair, cmp: imm(u32), target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `cmp`.
        I32AddBrLeSImm { d: pair_out, a: pair, b: pair, cmp: imm(u32), target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `cmp`.
        I32AddBrLeUImm { d: pair_out, a: pair, b: pair, cmp: imm(u32), target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `cmp`.
        I32AddBrGeSImm { d: pair_out, a: pair, b: pair, cmp: imm(u32), target: target },
        /// `slot[d] = slot[a] + slot[b]`, then jump if it compares true against `cmp`.
        I32AddBrGeUImm { d: pair_out, a: pair, b: pair, cmp: imm(u32), target: target },
        /// `slot[s] = slot[s] + imm`, then jump if it compares true against `cmp`.
        I32AddImmBrEqImm { s: pair_out, imm: imm(u32), cmp: imm(u32), target: target },
        /// `slot[s] = slot[s] + imm`, then jump if it compares true against `cmp`.
        I32AddImmBrNeImm { s: pair_out, imm: imm(u32), cmp: imm(u32), target: target },
        /// `slot[s] = slot[s] + imm`, then jump if it compares true against `cmp`.
        I32AddImmBrLtSImm { s: pair_out, imm: imm(u32), cmp: imm(u32), target: target },
        /// `slot[s] = slot[s] + imm`, then jump if it compares true against `cmp`.
        I32AddImmBrLtUImm { s: pair_out, imm: imm(u32), cmp: imm(u32), target: target },
        /// `slot[s] = slot[s] + imm`, then jump if it compares true against `cmp`.
        I32AddImmBrGtSImm { s: pair_out, imm: imm(u32), cmp: imm(u32), target: target },
        /// `slot[s] = slot[s] + imm`, then jump if it compares true against `cmp`.
        I32AddImmBrGtUImm { s: pair_out, imm: imm(u32), cmp: imm(u32), target: target },
        /// `slot[s] = slot[s] + imm`, then jump if it compares true against `cmp`.
        I32AddImmBrLeSImm { s: pair_out, imm: imm(u32), cmp: imm(u32), target: target },
        /// `slot[s] = slot[s] + imm`, then jump if it compares true against `cmp`.
        I32AddImmBrLeUImm { s: pair_out, imm: imm(u32), cmp: imm(u32), target: target },
        /// `slot[s] = slot[s] + imm`, then jump if it compares true against `cmp`.
        I32AddImmBrGeSImm { s: pair_out, imm: imm(u32), cmp: imm(u32), target: target },
        /// `slot[s] = slot[s] + imm`, then jump if it compares true against `cmp`.
        I32AddImmBrGeUImm { s: pair_out, imm: imm(u32), cmp: imm(u32), target: target },
        // ----- a load of memory 0 fused with the compare-and-branch on the loaded value -----
        // (`end` is the memarg offset plus the access width, as for `I32Load`.)
        /// `i32.load` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32LoadBrEq { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value is zero.
        I32LoadBrEqz { d: pair_out, addr: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32LoadBrNe { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value is not zero.
        I32LoadBrNez { d: pair_out, addr: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32LoadBrLtS { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32LoadBrLtU { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32LoadBrGtS { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32LoadBrGtU { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32LoadBrLeS { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32LoadBrLeU { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32LoadBrGeS { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32LoadBrGeU { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32Load8UBrEq { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value is zero.
        I32Load8UBrEqz { d: pair_out, addr: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32Load8UBrNe { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value is not zero.
        I32Load8UBrNez { d: pair_out, addr: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32Load8UBrLtS { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32Load8UBrLtU { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32Load8UBrGtS { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32Load8UBrGtU { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32Load8UBrLeS { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32Load8UBrLeU { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32Load8UBrGeS { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// `i32.load8u` into `slot[d]`, then jump if the value compares true against `slot[c]`.
        I32Load8UBrGeU { d: pair_out, addr: pair, c: pair, end: imm(u32), target: target },
        /// Trap with `unreachable`.
        Unreachable {},
        // Memory-0 accesses whose address is `(slot[a] + imm) mod 2^32` — an `i32.add` of a constant
        // fused into an access with offset 0, the usual shape of clang's global-array and inlined
        // `memcpy` code. (Folding the constant into the offset instead would be wrong: the offset
        // addition does not wrap.)
        /// 32-bit load at `slot[a] + imm` (also `f32.load`).
        I32LoadAt { dst: ret, a: slot, imm: imm(u32) },
        /// 64-bit load at `slot[a] + imm` (also `f64.load`).
        I64LoadAt { dst: ret, a: slot, imm: imm(u32) },
        /// `i32.load8_u` at `slot[a] + imm`.
        I32Load8UAt { dst: ret, a: slot, imm: imm(u32) },
        /// `i32.load8_s` at `slot[a] + imm`.
        I32Load8SAt { dst: ret, a: slot, imm: imm(u32) },
        /// `i32.load16_u` at `slot[a] + imm`.
        I32Load16UAt { dst: ret, a: slot, imm: imm(u32) },
        /// `i32.load16_s` at `slot[a] + imm`.
        I32Load16SAt { dst: ret, a: slot, imm: imm(u32) },
        /// 32-bit store of `slot[value]` at `slot[a] + imm`.
        I32StoreAt { a: slot, value: slot, imm: imm(u32) },
        /// 64-bit store of `slot[value]` at `slot[a] + imm`.
        I64StoreAt { a: slot, value: slot, imm: imm(u32) },
        /// 8-bit store of `slot[value]` at `slot[a] + imm`.
        I32Store8At { a: slot, value: slot, imm: imm(u32) },
        /// `v128.load` (16 bytes) at `slot[a] + imm`.
        V128LoadAt { dst: ret, a: slot, imm: imm(u32) },
        /// `v128.store` of `slot[value..+2]` at `slot[a] + imm`.
        V128StoreAt { a: slot, value: slot, imm: imm(u32) },
        /// 16-bit store of `slot[value]` at `slot[a] + imm`.
        I32Store16At { a: slot, value: slot, imm: imm(u32) },
        /// Store `slot[a] + slot[b]` (`f64`) to memory 0 at `slot[addr] + end - 8`.
        F64AddStore { a: pair, b: pair, addr: pair, end: imm(u32) },
        /// Store `slot[a] - slot[b]` (`f64`) to memory 0 at `slot[addr] + end - 8`.
        F64SubStore { a: pair, b: pair, addr: pair, end: imm(u32) },
        /// Store `slot[a] * slot[b]` (`f64`) to memory 0 at `slot[addr] + end - 8`.
        F64MulStore { a: pair, b: pair, addr: pair, end: imm(u32) },
        /// Store the low byte of `value` at `slot[a] + imm` (a constant stored to a fused address).
        StoreImm8At { a: slot, value: imm(u32), imm: imm(u32) },
        /// Store the low 16 bits of `value` at `slot[a] + imm`.
        StoreImm16At { a: slot, value: imm(u32), imm: imm(u32) },
        /// Store the low 32 bits of `value` at `slot[a] + imm`.
        StoreImm32At { a: slot, value: imm(u32), imm: imm(u32) },
        /// Store `value` sign-extended to 64 bits at `slot[a] + imm`.
        StoreImm64At { a: slot, value: imm(u32), imm: imm(u32) },
        /// Store the low 32 bits of `imm` to memory 0 at `slot[addr] + end - 4` (a constant
        /// stored: one dispatch instead of a `Const` and a store; `end` as for a store).
        StoreImm32 { addr: slot, imm: imm(u32), end: imm(u32) },
        /// Store the low byte of `imm` to memory 0 at `slot[addr] + end - 1`.
        StoreImm8 { addr: slot, imm: imm(u32), end: imm(u32) },
        /// Store the low 16 bits of `imm` to memory 0 at `slot[addr] + end - 2`.
        StoreImm16 { addr: slot, imm: imm(u32), end: imm(u32) },
        /// Store `imm` sign-extended to 64 bits to memory 0 at `slot[addr] + end - 8`.
        StoreImm64 { addr: slot, imm: imm(u32), end: imm(u32) },
        /// Charge `amount` fuel for the straight-line code that follows; trap when fuel runs out.
        ConsumeFuel { amount: imm(u32) },
        /// Trap if the epoch deadline passed or the store was interrupted.
        CheckInterrupt {},
        /// Run the current function's machine code from the compiler tier (the whole body of a
        /// compiled function's interpreter stub): its arguments are in the frame's first slots,
        /// where its results go, and then the function returns.
        EnterNative {},
        /// Tier-up (`Strategy::Auto`) at a function's entry: run the function's machine code if
        /// the compiler tier has compiled it since (as `EnterNative`), else count the entry toward
        /// compiling it.
        TierUpEntry {},
        /// Tier-up at a loop header: count the iteration toward compiling the function.
        TierUpLoop {},
        /// `slot[dst] = slot[src]`.
        Copy { dst: ret, src: slot },
        /// `slot[d1] = slot[s1]`, then `slot[d2] = slot[s2]`: two adjacent copies (fused).
        CopyPair { d1: pair_out, s1: pair, d2: pair_out, s2: pair },
        /// `i32.load` from memory 0 at `(slot[a] << shift) mod 2^32 + end - 4` (fused `i32.shl` by
        /// a constant and the load: a lookup in a table of 32-bit entries, as dispatch loops do;
        /// `end` as for `I32Load`).
        I32LoadShl { shift: imm(u8), dst: ret, a: slot, end: imm(u32) },
        /// `slot[dst] = (slot[a] << shift) + slot[b]` in 32 bits (fused `i32.shl` by a constant and
        /// `i32.add`: indexing an array of elements of `1 << shift` bytes).
        I32AddShl { shift: imm(u8), dst: ret, a: slot, b: slot },
        /// `slot[dst..dst + len] = slot[src..src + len]`, in ascending order (branch values move down
        /// the stack, `dst <= src`, so no source slot is overwritten before it is read).
        CopySpan { dst: out, src: slot, len: imm(u32) },
        /// `slot[dst] = value` (zero-extended 32-bit constant).
        Const32 { dst: ret, value: imm(u32) },
        /// `slot[dst] = value`.
        Const64 { dst: ret, value: imm(u64) },
        /// `if slot[cond] == 0 { slot[dst] = slot[other] }`: `select` with the first operand already in `dst`.
        SelectElse { dst: out, other: slot, cond: slot },
        /// Jump.
        Br { target: target },
        /// Jump if `slot[cond] != 0`.
        BrIfNez { cond: slot, target: target },
        /// Jump if `slot[cond] == 0`.
        BrIfEqz { cond: slot, target: target },
        /// `slot[dst] = slot[a] <u hi << 32`: an `i64` comparison with a constant whose low half is
        /// zero (a type tag in the high half, as NaN-boxing interpreters test), without a `Const64`.
        I64LtUHi { dst: ret, a: slot, hi: imm(u32) },
        /// `slot[dst] = slot[a] >=u hi << 32`.
        I64GeUHi { dst: ret, a: slot, hi: imm(u32) },
        /// `slot[dst] = slot[a] == hi << 32`.
        I64EqHi { dst: ret, a: slot, hi: imm(u32) },
        /// `slot[dst] = slot[a] != hi << 32`.
        I64NeHi { dst: ret, a: slot, hi: imm(u32) },
        /// `slot[dst] = slot[a] & hi << 32`.
        I64AndHi { dst: ret, a: slot, hi: imm(u32) },
        /// Jump if `slot[a] <u hi << 32` (fused `I64LtUHi` and branch).
        BrI64LtUHi { a: slot, hi: imm(u32), target: target },
        /// Jump if `slot[a] >=u hi << 32`.
        BrI64GeUHi { a: slot, hi: imm(u32), target: target },
        /// Jump if `slot[a] == hi << 32`.
        BrI64EqHi { a: slot, hi: imm(u32), target: target },
        /// Jump if `slot[a] != hi << 32`.
        BrI64NeHi { a: slot, hi: imm(u32), target: target },
        /// Jump if `slot[a] & slot[b] != 0` (fused `i32.and` and `br_if`: a flag test).
        BrI32AndNez { a: slot, b: slot, target: target },
        /// Jump if `slot[a] & slot[b] == 0` (fused `i32.and` and `if`, or `br_if` on its `eqz`).
        BrI32AndEqz { a: slot, b: slot, target: target },
        /// Jump if `slot[a] & imm != 0` (fused `i32.and` with a mask and `br_if`).
        BrI32AndImmNez { a: slot, imm: imm(u32), target: target },
        /// Jump if `slot[a] & imm == 0` (fused `i32.and` with a mask and `if`).
        BrI32AndImmEqz { a: slot, imm: imm(u32), target: target },
        /// Jump to entry `min(slot[index] + bias, len)` (the sum in 32 bits) of the `len + 1` `Br`
        /// instructions that follow; `bias` is the constant an `i32.add` just before added to the index.
        BrTable { index: slot, len: imm(u32), bias: imm(u32) },
        /// Jump if the reference in `slot[src]` is null.
        BrOnNull { src: slot, target: target },
        /// Jump if the reference in `slot[src]` is not null.
        BrOnNonNull { src: slot, target: target },
        /// Return with no results.
        Return {},
        /// Return one result from `slot[src]`.
        ReturnOne { src: slot },
        /// Return `len` results from `src..`.
        ReturnSpan { src: slot, len: imm(u32) },
        /// Call function `func` (module index); arguments at `base..`, the callee's frame starts at `base`.
        Call { func: index(FuncIndex), base: slot },
        /// Call through a table; the table index operand sits right after the arguments.
        CallIndirect { index: slot, base: slot, site: side(CallSiteIndex) },
        /// Call the function reference in `slot[func]`.
        CallRef { func: slot, base: slot },
        /// Tail call: arguments at `base..`.
        ReturnCall { func: index(FuncIndex), base: slot },
        /// Tail call through a table.
        ReturnCallIndirect { index: slot, base: slot, site: side(CallSiteIndex) },
        /// Tail call of a function reference.
        ReturnCallRef { func: slot, base: slot },
        /// `slot[dst] = globals[global]`.
        GlobalGet { dst: ret, global: index(u32) },
        /// `globals[global] = slot[src]`.
        GlobalSet { src: slot, global: index(u32) },
        /// `slot[dst] = memory.size`.
        MemorySize { dst: ret, memory: index(u32) },
        /// `slot[dst] = memory.grow(slot[delta])`.
        MemoryGrow { dst: out, delta: slot, memory: index(u32) },
        /// `memory.fill(base[0] = dst, base[1] = value, base[2] = len)`.
        MemoryFill { memory: index(u32), base: slot },
        /// `memory.copy(base[0] = dst, base[1] = src, base[2] = len)`.
        MemoryCopy { dst_memory: index(u32), src_memory: index(u32), base: slot },
        /// `memory.init(base[0] = dst, base[1] = src, base[2] = len)`.
        MemoryInit { memory: index(u32), data: index(u32), base: slot },
        /// `data.drop`.
        DataDrop { data: index(u32) },
        /// `slot[dst] = table[slot[index]]`.
        TableGet { dst: ret, index: slot, table: index(u32) },
        /// `table[base[0]] = base[1]`.
        TableSet { table: index(u32), base: slot },
        /// `slot[dst] = table.size`.
        TableSize { dst: ret, table: index(u32) },
        /// `base[0] = table.grow(init = base[0], delta = base[1])`.
        TableGrow { table: index(u32), base: slot },
        /// `table.fill(base[0] = index, base[1] = value, base[2] = len)`.
        TableFill { table: index(u32), base: slot },
        /// `table.copy(base[0] = dst, base[1] = src, base[2] = len)`.
        TableCopy { dst_table: index(u32), src_table: index(u32), base: slot },
        /// `table.init(base[0] = dst, base[1] = src, base[2] = len)`.
        TableInit { table: index(u32), elem: index(u32), base: slot },
        /// `elem.drop`.
        ElemDrop { elem: index(u32) },
        /// `slot[dst] = ref.func func` (module index).
        RefFunc { dst: ret, func: index(FuncIndex) },
        /// Trap if `slot[src]` is null.
        RefAsNonNull { src: slot },
        /// Throw a new exception of tag `tag` (module index) with the payload at `base..`.
        Throw { tag: index(u32), base: slot },
        /// Throw the exception referenced by `slot[src]`; trap if it is null.
        ThrowRef { src: slot },

        // ----- threads -----
        /// An access to a shared memory, or an atomic instruction on any memory (one arm for all of
        /// them, off the fast path): operands at `base..` in Wasm operand order (address first),
        /// result in `dst` when there is one; see [`AtomicSite`].
        Atomic { dst: out, base: slot, site: side(AtomicSiteIndex) },
        /// `atomic.fence`.
        AtomicFence {},

        // ----- wide arithmetic (128-bit integers as two `i64` halves, low half first) -----
        /// `slot[base..+2] = slot[base..+2] + slot[base + 2..+2]` (128-bit, wrapping).
        I64Add128 { base: slot },
        /// `slot[base..+2] = slot[base..+2] - slot[base + 2..+2]` (128-bit, wrapping).
        I64Sub128 { base: slot },
        /// `slot[base..+2] = slot[base] * slot[base + 1]`, both sign-extended to 128 bits.
        I64MulWideS { base: slot },
        /// `slot[base..+2] = slot[base] * slot[base + 1]`, both zero-extended to 128 bits.
        I64MulWideU { base: slot },

        // ----- GC -----
        /// A GC instruction that allocates or accesses a heap object (one arm for all of them keeps
        /// the dispatch `match` small): operands at `base..` in Wasm operand order (`struct.get`'s
        /// struct, `array.new_default`'s length, …), result in `dst` when it has one; see [`GcOp`].
        Gc { op: op(GcOp), dst: out, base: slot, site: side(GcSiteIndex) },
        /// `slot[dst] = slot[src] is of cast type `cast``.
        RefTest { dst: out, src: slot, cast: side(CastIndex) },
        /// Trap with a cast failure unless `slot[src]` is of cast type `cast`.
        RefCast { src: slot, cast: side(CastIndex) },
        /// Jump if `slot[src]` is of cast type `cast`.
        BrOnCast { src: slot, cast: side(CastIndex), target: target },
        /// Jump if `slot[src]` is not of cast type `cast`.
        BrOnCastFail { src: slot, cast: side(CastIndex), target: target },

        // ----- two-slot (v128) values -----
        /// `slot[dst..dst + 2] = slot[src..src + 2]` (both slots read before either is written).
        Copy2 { dst: ret, src: slot },
        /// `select` of two-slot values: `if slot[cond] == 0 { slot[dst..+2] = slot[other..+2] }`.
        SelectElse2 { dst: out, other: slot, cond: slot },
        /// `slot[dst..+2] = globals[global]` (a v128 global).
        GlobalGet2 { dst: ret, global: index(u32) },
        /// `globals[global] = slot[src..+2]`.
        GlobalSet2 { src: slot, global: index(u32) },
        /// `slot[dst] = globals[global] + imm` in 32 bits, then `globals[global] = slot[dst]`
        /// (fused `global.get`, `i32.add` of a constant, `local.tee`, `global.set` of the same
        /// global: the stack-pointer update in a C function's prologue).
        GlobalAddImm { global: index(u32), dst: ret, imm: imm(u32) },
        /// `globals[global] = slot[a] + imm` in 32 bits (fused `i32.add` of a constant whose sum
        /// only the `global.set` reads: the stack pointer restored in an epilogue).
        GlobalSetAddImm { global: index(u32), a: slot, imm: imm(u32) },
        /// `slot[dst..+2] = v128_consts[index]`.
        V128Const { dst: ret, index: side(V128ConstIndex) },
        /// `v128 × v128 → v128` lane operation.
        V128Binary { op: op(V128BinaryOp), dst: ret, a: slot, b: slot },
        /// `v128 → v128` lane operation.
        V128Unary { op: op(V128UnaryOp), dst: ret, src: slot },
        /// `v128 → i32` reduction (`any_true`, `all_true`, `bitmask`).
        V128Test { op: op(V128TestOp), dst: ret, src: slot },
        /// `v128 × i32 → v128` lane shift.
        V128Shift { op: op(V128ShiftOp), dst: ret, a: slot, b: slot },
        /// `v128 × i32 → v128` lane shift by the constant `count`.
        V128ShiftImm { op: op(V128ShiftOp), dst: ret, a: slot, count: imm(u32) },
        /// Scalar → v128 splat.
        V128Splat { op: op(V128SplatOp), dst: ret, src: slot },
        /// Three v128 operands at `base`, `base + 2`, `base + 4` → v128.
        V128Ternary { op: op(V128TernaryOp), dst: ret, base: slot },
        /// `slot[dst] = slot[src]` with a NaN `f32` made the canonical NaN (`Config::deterministic`:
        /// placed after each operator that may produce a NaN).
        F32CanonNan { dst: ret, src: slot },
        /// `slot[dst] = slot[src]` with a NaN `f64` made the canonical NaN.
        F64CanonNan { dst: ret, src: slot },
        /// `slot[dst..+2] = slot[src..+2]` with each NaN `f32` lane made the canonical NaN.
        F32x4CanonNan { dst: ret, src: slot },
        /// `slot[dst..+2] = slot[src..+2]` with each NaN `f64` lane made the canonical NaN.
        F64x2CanonNan { dst: ret, src: slot },
        /// `slot[dst] = lane `lane` of slot[src..+2]`.
        V128ExtractLane { op: op(V128ExtractOp), dst: ret, src: slot, lane: imm(u8) },
        /// `slot[dst..+2] = slot[a..+2] with lane `lane` replaced by slot[b]`.
        V128ReplaceLane { op: op(V128ReplaceOp), lane: imm(u8), dst: ret, a: slot, b: slot },
        /// `i8x16.shuffle` of the operands at `base` and `base + 2` with mask `v128_consts[mask]`.
        V128Shuffle { dst: ret, base: slot, mask: side(V128ConstIndex) },
        /// Load (plain, extending, splatting or zero-filling) from memory 0 at `slot[addr] + offset`.
        V128Load { op: op(V128LoadOp), dst: ret, addr: slot, offset: imm(u32) },
        /// `v128.load` (16 bytes, no lane work) from memory 0 at `slot[addr] + end - 16`: the
        /// common case of `V128Load`, with a handler of its own (`end` as for `I32Load`).
        V128LoadPlain { dst: ret, addr: slot, end: imm(u32) },
        /// As `V128Load`, through a side-table memarg.
        V128LoadX { op: op(V128LoadOp), dst: ret, addr: slot, memarg: side(MemArgIndex) },
        /// Store `slot[value..+2]` to memory 0 at `slot[addr] + end - 16` (`end` as for a store).
        V128Store { addr: slot, value: slot, end: imm(u32) },
        /// As `V128Store`, through a side-table memarg.
        V128StoreX { addr: slot, value: slot, memarg: side(MemArgIndex) },
        /// Load one lane: address at `base`, vector at `base + 1..+2`.
        V128LoadLane { width: op(LaneWidth), lane: imm(u8), dst: ret, base: slot, memarg: side(MemArgIndex) },
        /// Store one lane: address at `base`, vector at `base + 1..+2`.
        V128StoreLane { width: op(LaneWidth), base: slot, memarg: side(MemArgIndex), lane: imm(u8) },
    }
}

/// The heap-object GC instructions carried by [`Instr::Gc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum GcOp {
    StructNew,
    StructNewDefault,
    StructGet,
    StructSet,
    ArrayNew,
    ArrayNewDefault,
    ArrayNewFixed,
    ArrayNewData,
    ArrayNewElem,
    ArrayGet,
    ArraySet,
    ArrayFill,
    ArrayCopy,
    ArrayInitData,
    ArrayInitElem,
}

/// Immediates of an [`Instr::Atomic`]: the memory, the static offset and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AtomicSite {
    pub memory: u32,
    pub offset: u64,
    pub op: AtomicOp,
}

/// How a loaded value of fewer than 8 bytes becomes a slot value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extend {
    /// Zero-extended (`_u` loads, and full-width `i32`/`f32`).
    Zero,
    /// Sign-extended to 32 bits (`i32.load8_s`, `i32.load16_s`).
    Signed32,
    /// Sign-extended to 64 bits (`i64.load8_s` …).
    Signed64,
}

/// The read-modify-write operations of `*.atomic.rmw*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RmwOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Xchg,
}

/// What an [`Instr::Atomic`] does; `size` is in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AtomicOp {
    /// An ordinary load from a shared memory (`Relaxed`): `[addr] -> dst`.
    Load { size: u8, extend: Extend },
    /// An ordinary store to a shared memory (`Relaxed`): `[addr, value]`.
    Store { size: u8 },
    /// `v128.load` from a shared memory: `[addr] -> dst, dst + 1`.
    LoadV128,
    /// `v128.store` to a shared memory: `[addr, lo, hi]`.
    StoreV128,
    /// `*.atomic.load*`: `[addr] -> dst`.
    AtomicLoad { size: u8 },
    /// `*.atomic.store*`: `[addr, value]`.
    AtomicStore { size: u8 },
    /// `*.atomic.rmw*`: `[addr, value] -> dst` (the old value).
    Rmw { size: u8, op: RmwOp },
    /// `*.atomic.rmw*.cmpxchg*`: `[addr, expected, replacement] -> dst` (the old value).
    Cmpxchg { size: u8 },
    /// `memory.atomic.wait32/64`: `[addr, expected, timeout] -> dst`.
    Wait { size: u8 },
    /// `memory.atomic.notify`: `[addr, count] -> dst`.
    Notify,
}

impl AtomicOp {
    /// Whether this is an ordinary load or store (of a shared memory) rather than one of the
    /// threads proposal's atomic instructions.
    pub fn is_ordinary(self) -> bool {
        matches!(
            self,
            AtomicOp::Load { .. }
                | AtomicOp::Store { .. }
                | AtomicOp::LoadV128
                | AtomicOp::StoreV128
        )
    }
}

/// Immediates of a GC instruction: the canonical struct or array type it names and, depending on
/// the instruction, a field, a sign extension, a segment or an element count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GcSite {
    pub ty: crate::types::TypeId,
    /// Struct field index.
    pub field: u32,
    /// Sign-extend a packed field (`_s` forms).
    pub signed: bool,
    /// Data or element segment index.
    pub segment: u32,
    /// Element count of `array.new_fixed`; slots of the field values of `struct.new`.
    pub count: u32,
    /// Storage of the accessed field, or of the array's elements.
    pub storage: crate::gc_repr::Storage,
    /// Byte offset of the accessed field (structs).
    pub offset: u32,
    /// Words of a struct object.
    pub words: u32,
    /// Words of a struct object that hold references.
    pub trace: crate::gc_repr::TraceMask,
    /// The struct's layout in the function's side tables (`struct.new`).
    pub layout: u32,
}

/// One `try_table` of a function: while an instruction in `start..end` throws, its catch clauses are
/// tried in order. Handlers are listed innermost first (in the order their `try_table`s end), so the
/// first range that contains the throwing instruction and has a matching clause wins.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Handler {
    pub start: Pc,
    pub end: Pc,
    /// Where the caught values go: the payload from `dst`, then the `exnref` for `_ref` clauses.
    pub dst: Slot,
    pub catches: Box<[CatchClause]>,
    /// Nesting depth of the handler's block (the function body is 0): a search delegated to an
    /// outer label (`delegate`) only considers handlers at most that deep.
    pub depth: u32,
    /// For a legacy `try … delegate label`: every exception in the range is caught and searched
    /// for again from the label, whose block is at this depth (0: the caller's handlers).
    pub delegate: Option<u32>,
}

/// One catch clause of a [`Handler`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CatchClause {
    /// The module tag index to match, or `None` for `catch_all`/`catch_all_ref`.
    pub tag: Option<u32>,
    /// Also deliver the `exnref` (after the payload).
    pub with_ref: bool,
    /// The landing pad: code that moves the caught values to the label's slots and branches there.
    pub pad: Pc,
    /// Also write the `exnref` to the slot below `dst`: a legacy `catch` keeps it there for the
    /// catch block's `rethrow`.
    pub exn_below: bool,
}

/// Declares the op enums of the SIMD instruction shapes; every op is named exactly like its wasmparser
/// `Operator` so that `from_operator` (used by the translator) is derived from the same list.
macro_rules! define_simd_ops {
    ($($(#[$doc:meta])* $name:ident: [$($op:ident),* $(,)?])*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs, clippy::enum_variant_names)]
        pub enum $name { $($op),* }

        impl $name {
            /// The op for a Wasm operator of this shape.
            pub(crate) fn from_operator(op: &wasmparser::Operator<'_>) -> Option<Self> {
                match op {
                    $(wasmparser::Operator::$op => Some(Self::$op),)*
                    _ => None,
                }
            }
        }
    )*};
}

define_simd_ops! {
    /// `v128 × v128 → v128` operators.
    V128BinaryOp: [
        V128And, V128AndNot, V128Or, V128Xor,
        I8x16Eq, I8x16Ne, I8x16LtS, I8x16LtU, I8x16GtS, I8x16GtU, I8x16LeS, I8x16LeU, I8x16GeS, I8x16GeU,
        I16x8Eq, I16x8Ne, I16x8LtS, I16x8LtU, I16x8GtS, I16x8GtU, I16x8LeS, I16x8LeU, I16x8GeS, I16x8GeU,
        I32x4Eq, I32x4Ne, I32x4LtS, I32x4LtU, I32x4GtS, I32x4GtU, I32x4LeS, I32x4LeU, I32x4GeS, I32x4GeU,
        I64x2Eq, I64x2Ne, I64x2LtS, I64x2GtS, I64x2LeS, I64x2GeS,
        F32x4Eq, F32x4Ne, F32x4Lt, F32x4Gt, F32x4Le, F32x4Ge,
        F64x2Eq, F64x2Ne, F64x2Lt, F64x2Gt, F64x2Le, F64x2Ge,
        I8x16Swizzle, I8x16NarrowI16x8S, I8x16NarrowI16x8U,
        I8x16Add, I8x16AddSatS, I8x16AddSatU, I8x16Sub, I8x16SubSatS, I8x16SubSatU,
        I8x16MinS, I8x16MinU, I8x16MaxS, I8x16MaxU, I8x16AvgrU,
        I16x8Q15MulrSatS, I16x8NarrowI32x4S, I16x8NarrowI32x4U,
        I16x8Add, I16x8AddSatS, I16x8AddSatU, I16x8Sub, I16x8SubSatS, I16x8SubSatU, I16x8Mul,
        I16x8MinS, I16x8MinU, I16x8MaxS, I16x8MaxU, I16x8AvgrU,
        I16x8ExtMulLowI8x16S, I16x8ExtMulHighI8x16S, I16x8ExtMulLowI8x16U, I16x8ExtMulHighI8x16U,
        I32x4Add, I32x4Sub, I32x4Mul, I32x4MinS, I32x4MinU, I32x4MaxS, I32x4MaxU, I32x4DotI16x8S,
        I32x4ExtMulLowI16x8S, I32x4ExtMulHighI16x8S, I32x4ExtMulLowI16x8U, I32x4ExtMulHighI16x8U,
        I64x2Add, I64x2Sub, I64x2Mul,
        I64x2ExtMulLowI32x4S, I64x2ExtMulHighI32x4S, I64x2ExtMulLowI32x4U, I64x2ExtMulHighI32x4U,
        F32x4Add, F32x4Sub, F32x4Mul, F32x4Div, F32x4Min, F32x4Max, F32x4PMin, F32x4PMax,
        F64x2Add, F64x2Sub, F64x2Mul, F64x2Div, F64x2Min, F64x2Max, F64x2PMin, F64x2PMax,
        I8x16RelaxedSwizzle, F32x4RelaxedMin, F32x4RelaxedMax, F64x2RelaxedMin, F64x2RelaxedMax,
        I16x8RelaxedQ15mulrS, I16x8RelaxedDotI8x16I7x16S,
    ]
    /// `v128 → v128` operators.
    V128UnaryOp: [
        V128Not, I8x16Abs, I8x16Neg, I8x16Popcnt,
        I16x8ExtAddPairwiseI8x16S, I16x8ExtAddPairwiseI8x16U, I16x8Abs, I16x8Neg,
        I16x8ExtendLowI8x16S, I16x8ExtendHighI8x16S, I16x8ExtendLowI8x16U, I16x8ExtendHighI8x16U,
        I32x4ExtAddPairwiseI16x8S, I32x4ExtAddPairwiseI16x8U, I32x4Abs, I32x4Neg,
        I32x4ExtendLowI16x8S, I32x4ExtendHighI16x8S, I32x4ExtendLowI16x8U, I32x4ExtendHighI16x8U,
        I64x2Abs, I64x2Neg,
        I64x2ExtendLowI32x4S, I64x2ExtendHighI32x4S, I64x2ExtendLowI32x4U, I64x2ExtendHighI32x4U,
        F32x4Ceil, F32x4Floor, F32x4Trunc, F32x4Nearest, F32x4Abs, F32x4Neg, F32x4Sqrt,
        F64x2Ceil, F64x2Floor, F64x2Trunc, F64x2Nearest, F64x2Abs, F64x2Neg, F64x2Sqrt,
        I32x4TruncSatF32x4S, I32x4TruncSatF32x4U, F32x4ConvertI32x4S, F32x4ConvertI32x4U,
        I32x4TruncSatF64x2SZero, I32x4TruncSatF64x2UZero, F64x2ConvertLowI32x4S, F64x2ConvertLowI32x4U,
        F32x4DemoteF64x2Zero, F64x2PromoteLowF32x4,
        I32x4RelaxedTruncF32x4S, I32x4RelaxedTruncF32x4U,
        I32x4RelaxedTruncF64x2SZero, I32x4RelaxedTruncF64x2UZero,
    ]
    /// `v128 → i32` operators.
    V128TestOp: [
        V128AnyTrue, I8x16AllTrue, I16x8AllTrue, I32x4AllTrue, I64x2AllTrue,
        I8x16Bitmask, I16x8Bitmask, I32x4Bitmask, I64x2Bitmask,
    ]
    /// `v128 × i32 → v128` shifts.
    V128ShiftOp: [
        I8x16Shl, I8x16ShrS, I8x16ShrU, I16x8Shl, I16x8ShrS, I16x8ShrU,
        I32x4Shl, I32x4ShrS, I32x4ShrU, I64x2Shl, I64x2ShrS, I64x2ShrU,
    ]
    /// Scalar → v128 splats.
    V128SplatOp: [I8x16Splat, I16x8Splat, I32x4Splat, I64x2Splat, F32x4Splat, F64x2Splat]
    /// `v128 × v128 × v128 → v128` operators.
    V128TernaryOp: [
        V128Bitselect, F32x4RelaxedMadd, F32x4RelaxedNmadd, F64x2RelaxedMadd, F64x2RelaxedNmadd,
        I8x16RelaxedLaneselect, I16x8RelaxedLaneselect, I32x4RelaxedLaneselect, I64x2RelaxedLaneselect,
        I32x4RelaxedDotI8x16I7x16AddS,
    ]
}

/// Lane extraction, by lane type (the lane index is an immediate of the instruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum V128ExtractOp {
    I8x16S,
    I8x16U,
    I16x8S,
    I16x8U,
    I32x4,
    I64x2,
}

/// Lane replacement, by lane width (float lanes replace by their bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum V128ReplaceOp {
    I8x16,
    I16x8,
    I32x4,
    I64x2,
}

/// Width of the lane a `v128.loadN_lane` / `v128.storeN_lane` accesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum LaneWidth {
    B8,
    B16,
    B32,
    B64,
}

impl LaneWidth {
    /// Bytes accessed.
    pub(crate) fn bytes(self) -> usize {
        match self {
            LaneWidth::B8 => 1,
            LaneWidth::B16 => 2,
            LaneWidth::B32 => 4,
            LaneWidth::B64 => 8,
        }
    }
}

/// The loads producing a v128 from memory (the operator names of wasmparser).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, clippy::enum_variant_names)]
pub enum V128LoadOp {
    V128Load,
    V128Load8x8S,
    V128Load8x8U,
    V128Load16x4S,
    V128Load16x4U,
    V128Load32x2S,
    V128Load32x2U,
    V128Load8Splat,
    V128Load16Splat,
    V128Load32Splat,
    V128Load64Splat,
    V128Load32Zero,
    V128Load64Zero,
}

impl V128LoadOp {
    /// Bytes read from memory.
    pub(crate) fn bytes(self) -> usize {
        use V128LoadOp as L;
        match self {
            L::V128Load => 16,
            L::V128Load8x8S
            | L::V128Load8x8U
            | L::V128Load16x4S
            | L::V128Load16x4U
            | L::V128Load32x2S
            | L::V128Load32x2U
            | L::V128Load64Splat
            | L::V128Load64Zero => 8,
            L::V128Load8Splat => 1,
            L::V128Load16Splat => 2,
            L::V128Load32Splat | L::V128Load32Zero => 4,
        }
    }
}

const _: () = assert!(std::mem::size_of::<Instr>() <= 16);
